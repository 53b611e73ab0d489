// The subset of Stripe's search query language we support for payment intents:
//   status:"succeeded" AND currency:"usd" AND amount>1000 AND metadata['order']:"42" AND -customer:"cus_1"
// Clauses are joined by AND or by OR (not both in one query, as at Stripe); fields: status, currency,
// customer, order_id, amount, created, metadata['key']. The charge search (src/db/charge-search.ts)
// parses with its own field names and maps them onto these (and card_last4, which only it names).
// Each clause becomes a bound SQL condition: values are never spliced into SQL text.
import { and, eq, gt, gte, inArray, lt, lte, not, notInArray, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { invalidRequest } from "../core/errors";
import { INTENT_STATUSES, type Scope } from "../core/types";
import type { Cursor } from "./queries";
import { paymentIntentMetadata, paymentIntents } from "./schema";

type Operator = ":" | ">" | "<" | ">=" | "<=";

export interface Clause {
  field: string;
  metadataKey: string | null;
  operator: Operator;
  value: string;
  negated: boolean;
  /** The field as the query named it, where another search maps it onto ours (for messages). */
  label?: string;
}

// A field is a name, dotted for nested ones (payment_method_details.card.last4), or metadata['key'].
const CLAUSE = /^(-)?(metadata\[(?:'([^'\]]{1,40})'|"([^"\]]{1,40})")\]|[a-z][a-z0-9_]{0,39}(?:\.[a-z0-9_]{1,40}){0,3})(>=|<=|:|>|<)(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']+))/;

/** The fields of the payment intent search (Stripe's, and order_id). */
export const INTENT_SEARCH_FIELDS = ["status", "currency", "customer", "order_id", "amount", "created", "metadata"] as const;

/** What a search serves: the resource's name (for messages) and the field names its queries may use. */
export interface SearchFields {
  resource: string;
  fields: readonly string[];
}

const INTENT_SEARCH: SearchFields = { resource: "payment_intents", fields: INTENT_SEARCH_FIELDS };

function bad(message: string): never {
  throw invalidRequest(`Invalid search query: ${message}`, "query", "search_query_invalid");
}

export type Joiner = "AND" | "OR";

/** The clauses of a query; with OR, the query holds when any clause does. */
export function parseSearchQuery(query: string): Clause[] {
  return parseSearch(query).clauses;
}

/** Parses a query of `searched`'s fields (the payment intents' by default); another field is a 400 naming it. */
export function parseSearch(query: string, searched: SearchFields = INTENT_SEARCH): { clauses: Clause[]; joiner: Joiner } {
  let joined: Joiner | null = null;
  const text = query.trim();
  if (!text) bad("the query is empty.");
  if (text.length > 1000) bad("the query is longer than 1000 characters.");
  const clauses: Clause[] = [];
  let rest = text;
  for (;;) {
    const m = CLAUSE.exec(rest);
    if (!m) bad(`could not parse '${rest.slice(0, 40)}'. Expected field:value, for example status:'succeeded'.`);
    const [whole, minus, fieldText, key1, key2, operator, dq, sq, bare] = m;
    const metadataKey = key1 ?? key2 ?? null;
    const field = metadataKey !== null ? "metadata" : (fieldText ?? "");
    if (!searched.fields.includes(field))
      bad(`\`${field}\` is an unsupported search field for ${searched.resource}. Supported: ${searched.fields.map((f) => (f === "metadata" ? "metadata['key']" : f)).join(", ")}.`);
    const value = (dq ?? sq ?? bare ?? "").replace(/\\(.)/g, "$1");
    clauses.push({
      field,
      metadataKey,
      operator: operator as Operator,
      value,
      negated: minus === "-",
    });
    const after = rest.slice(whole.length);
    rest = after.trim();
    if (!rest) break;
    const joiner = /^(AND|OR)\s+/i.exec(rest);
    // Clauses separated by a space alone are ANDed, as at Stripe (`status:'succeeded' currency:'usd'`).
    if (!joiner && !/^\s/.test(after)) bad(`expected a space, AND or OR between clauses, found '${rest.slice(0, 20)}'.`);
    const word: Joiner = joiner?.[1]?.toUpperCase() === "OR" ? "OR" : "AND";
    if (joined && joined !== word) bad("a query cannot mix AND and OR (as at Stripe; clauses separated by a space are ANDed): use one of them.");
    joined = word;
    rest = joiner ? rest.slice(joiner[0].length) : rest;
  }
  if (clauses.length > 10) bad("at most 10 clauses are supported.");
  return { clauses, joiner: joined ?? "AND" };
}

function integerValue(c: Clause): number {
  if (!/^\d{1,15}$/.test(c.value)) bad(`${c.field} must be compared with an integer.`);
  return Number(c.value);
}

function compare(column: SQL, op: Operator, value: number): SQL {
  switch (op) {
    case ":":
      return eq(column, value);
    case ">":
      return gt(column, value);
    case "<":
      return lt(column, value);
    case ">=":
      return gte(column, value);
    case "<=":
      return lte(column, value);
  }
}

function clauseCondition(c: Clause, scope: Scope): SQL {
  const textField = (column: SQLiteColumn, value: string) => {
    if (c.operator !== ":") bad(`${c.field} supports only ':'.`);
    // A negated clause also matches rows where the field is empty, as Stripe's does.
    return c.negated ? sql`coalesce(${column} != ${value}, 1)` : eq(column, value);
  };
  switch (c.field) {
    case "status":
      if (!(INTENT_STATUSES as readonly string[]).includes(c.value)) bad(`unknown status '${c.value.slice(0, 40)}'.`);
      return textField(paymentIntents.status, c.value);
    case "currency":
      return textField(paymentIntents.currency, c.value.toLowerCase());
    case "customer":
      return textField(paymentIntents.customer, c.value);
    case "order_id":
      return textField(paymentIntents.orderId, c.value);
    case "card_last4":
      // Only the charge search names it (payment_method_details.card.last4): the charge's card is the
      // intent's once authorized.
      if (!/^\d{4}$/.test(c.value)) bad("payment_method_details.card.last4 must be four digits.");
      return textField(paymentIntents.cardLast4, c.value);
    case "amount": {
      // An equality is a range of payment_intents_amount (which ends in created, id). A range of
      // amounts is not written as one (`+amount` keeps the planner off that index): sorting every
      // amount above a bound by created would read them all, where the list index, walked in order,
      // stops at the page's end.
      const cond = compare(c.operator === ":" ? sql`${paymentIntents.amount}` : sql`+${paymentIntents.amount}`, c.operator, integerValue(c));
      return c.negated ? not(cond) : cond;
    }
    case "created": {
      // Seconds in the query, milliseconds in the table.
      const seconds = integerValue(c);
      const ms = seconds * 1000;
      const cond =
        c.operator === ":"
          ? and(gte(paymentIntents.created, ms), lt(paymentIntents.created, ms + 1000))!
          : c.operator === ">"
            ? gte(paymentIntents.created, ms + 1000)
            : c.operator === ">="
              ? gte(paymentIntents.created, ms)
              : c.operator === "<"
                ? lt(paymentIntents.created, ms)
                : lt(paymentIntents.created, ms + 1000);
      return c.negated ? not(cond) : cond;
    }
    case "metadata": {
      if (c.operator !== ":") bad("metadata supports only ':'.");
      // The side table's index (merchant, mode, key, value, ...) gives the matching intents' ids; a
      // negated clause keeps every intent outside them (the key missing, or another value), as Stripe's.
      const matches = sql`(select ${paymentIntentMetadata.intentId} from ${paymentIntentMetadata} where ${and(
        eq(paymentIntentMetadata.merchantId, scope.merchantId),
        eq(paymentIntentMetadata.livemode, scope.livemode),
        eq(paymentIntentMetadata.key, c.metadataKey ?? ""),
        eq(paymentIntentMetadata.value, c.value),
      )})`;
      return c.negated ? notInArray(paymentIntents.id, matches) : inArray(paymentIntents.id, matches);
    }
    default:
      return bad(`unsupported field '${c.field}'.`);
  }
}

/** The conditions to AND together: each clause, or with OR one condition holding any of them. */
export function searchConditions(clauses: Clause[], joiner: Joiner, scope: Scope): SQL[] {
  const conditions = clauses.map((c) => clauseCondition(c, scope));
  if (joiner === "AND" || conditions.length < 2) return conditions;
  const any = or(...conditions);
  return any ? [any] : [];
}

/** A positive `metadata['k']:'v'` clause that can drive the search from the metadata side table. */
export interface MetadataDriver {
  key: string;
  value: string;
}

export interface SearchPlan {
  conditions: SQL[];
  metadata: MetadataDriver | null;
  /**
   * An OR query: one plan per clause, each a range of its own index read to the page's end; the page
   * is the newest of their rows (each branch also takes `conditions`).
   */
  any?: SearchPlan[];
}

/** The widest `created` window a search or filter with no index of its own may read (31 days). */
export const MAX_WINDOW_DAYS = 31;
export const MAX_WINDOW_MS = MAX_WINDOW_DAYS * 86_400_000;

/** An equality on a column with many distinct values and an index ending in (created, id). */
function selective(c: Clause): boolean {
  return !c.negated && c.operator === ":" && ["customer", "order_id", "amount", "metadata", "card_last4"].includes(c.field);
}

/** A range of an index of its own, in (created, id) order: the selective fields and status. */
function indexed(c: Clause): boolean {
  return selective(c) || (!c.negated && c.operator === ":" && c.field === "status");
}

/** The [from, to) milliseconds the positive `created` clauses allow (null: unbounded on that side). */
function createdWindow(clauses: Clause[]): { from: number | null; to: number | null } {
  let from: number | null = null;
  let to: number | null = null;
  for (const c of clauses) {
    if (c.field !== "created" || c.negated || !/^\d{1,15}$/.test(c.value)) continue;
    const ms = Number(c.value) * 1000;
    const lower = c.operator === ":" || c.operator === ">=" ? ms : c.operator === ">" ? ms + 1000 : null;
    const upper = c.operator === ":" || c.operator === "<=" ? ms + 1000 : c.operator === "<" ? ms : null;
    if (lower !== null) from = from === null ? lower : Math.max(from, lower);
    if (upper !== null) to = to === null ? upper : Math.min(to, upper);
  }
  return { from, to };
}

/**
 * Whether filters with no index of their own are bounded: by a selective filter (an equality on an
 * indexed column with many values), or by a created window [from, to) of at most MAX_WINDOW_DAYS
 * (`to` defaults to now: nothing is created in the future).
 */
export function bounded(residual: boolean, selectiveFilter: boolean, from: number | null | undefined, to: number | null | undefined, now = Date.now()): boolean {
  if (!residual || selectiveFilter) return true;
  if (from === null || from === undefined) return false;
  return (to ?? now + 1000) - from <= MAX_WINDOW_MS;
}

/** The message of a 400 for a query that no index serves: what it lacks and what to add. */
export function unboundedMessage(what: string, add: string): string {
  return `${what} cannot be served from an index on its own: add ${add} (at most ${MAX_WINDOW_DAYS} days apart), or a filter on an indexed field.`;
}

/**
 * Refuses, with a 400 naming what to add, a query that only a walk of the merchant's whole history
 * could answer: clauses with no index of their own (currency, amount ranges, negations) need a
 * selective clause (customer, order_id, amount:, metadata) or a created window of at most 31 days;
 * an OR query joins only clauses with an index (status, customer, order_id, amount:, metadata).
 */
export function requireIndexable(clauses: Clause[], joiner: Joiner): void {
  if (joiner === "OR" && clauses.length > 1) {
    const other = clauses.find((c) => !indexed(c));
    if (other)
      bad(
        `an OR query can only join clauses that have an index (status:, customer:, order_id:, amount:, metadata['key']:); '${other.negated ? "-" : ""}${other.label ?? other.field}${other.operator}' has none. Run separate searches with a created window (created>=... AND created<..., at most ${MAX_WINDOW_DAYS} days apart) instead.`,
      );
    return;
  }
  const residual = clauses.filter((c) => !indexed(c) && !(c.field === "created" && !c.negated));
  const { from, to } = createdWindow(clauses);
  if (bounded(residual.length > 0, clauses.some(selective), from, to)) return;
  const names = residual.map((c) => `${c.negated ? "-" : ""}${c.field === "metadata" ? `metadata['${c.metadataKey ?? ""}']` : (c.label ?? c.field)}${c.operator}`).join(", ");
  throw invalidRequest(
    `Invalid search query: ${unboundedMessage(names, "a created window, for example created>=1735689600 AND created<1738368000 (the end defaults to now)")}`,
    "query",
    "search_query_unbounded",
  );
}

/**
 * The search as SQL: with AND (or one clause), the first positive metadata clause drives the query
 * from payment_intent_metadata's index, in (created, id) order, and the other clauses filter the
 * intents it finds; otherwise every clause is a condition on payment_intents. With OR, each clause
 * is a plan of its own (see `any`). Queries no index serves are refused (requireIndexable).
 */
export function searchPlan(clauses: Clause[], joiner: Joiner, scope: Scope): SearchPlan {
  requireIndexable(clauses, joiner);
  if (joiner === "OR" && clauses.length > 1) return { conditions: [], metadata: null, any: clauses.map((c) => searchPlan([c], "AND", scope)) };
  const driver = clauses.find((c) => c.field === "metadata" && !c.negated && c.operator === ":");
  if (!driver) return { conditions: searchConditions(clauses, joiner, scope), metadata: null };
  return {
    conditions: searchConditions(
      clauses.filter((c) => c !== driver),
      "AND",
      scope,
    ),
    metadata: { key: driver.metadataKey ?? "", value: driver.value },
  };
}

/** Search pages are chained by an opaque token holding the last row's position. */
export function encodePageToken(cursor: Cursor): string {
  return btoa(JSON.stringify([cursor.created, cursor.id])).replace(/=+$/, "");
}

export function decodePageToken(token: string): Cursor {
  try {
    const [created, id] = JSON.parse(atob(token)) as [unknown, unknown];
    if (typeof created === "number" && Number.isSafeInteger(created) && typeof id === "string" && /^pi_[A-Za-z0-9]{8,64}$/.test(id)) return { created, id };
  } catch {
    // fall through to the error below
  }
  throw invalidRequest("Invalid page token. Use the next_page value of a previous search result.", "page", "search_page_invalid");
}
