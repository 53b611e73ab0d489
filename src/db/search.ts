// The subset of Stripe's search query language we support for payment intents:
//   status:"succeeded" AND currency:"usd" AND amount>1000 AND metadata['order']:"42" AND -customer:"cus_1"
// Clauses are joined by AND or by OR (not both in one query, as at Stripe); fields: status, currency,
// customer, order_id, amount, created, metadata['key'].
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
}

const CLAUSE = /^(-)?(status|currency|customer|order_id|amount|created|metadata\[(?:'([^'\]]{1,40})'|"([^"\]]{1,40})")\])(>=|<=|:|>|<)(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']+))/;

function bad(message: string): never {
  throw invalidRequest(`Invalid search query: ${message}`, "query", "search_query_invalid");
}

export type Joiner = "AND" | "OR";

/** The clauses of a query; with OR, the query holds when any clause does. */
export function parseSearchQuery(query: string): Clause[] {
  return parseSearch(query).clauses;
}

export function parseSearch(query: string): { clauses: Clause[]; joiner: Joiner } {
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
    const value = (dq ?? sq ?? bare ?? "").replace(/\\(.)/g, "$1");
    clauses.push({
      field: metadataKey !== null ? "metadata" : (fieldText ?? ""),
      metadataKey,
      operator: operator as Operator,
      value,
      negated: minus === "-",
    });
    rest = rest.slice(whole.length).trim();
    if (!rest) break;
    const joiner = /^(AND|OR)\s+/i.exec(rest);
    if (!joiner) bad(`expected AND or OR between clauses, found '${rest.slice(0, 20)}'.`);
    const word: Joiner = joiner[1]?.toUpperCase() === "OR" ? "OR" : "AND";
    if (joined && joined !== word) bad("a query cannot mix AND and OR (as at Stripe): use one of them.");
    joined = word;
    rest = rest.slice(joiner[0].length);
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
}

/**
 * The search as SQL: with AND (or one clause), the first positive metadata clause drives the query
 * from payment_intent_metadata's index, in (created, id) order, and the other clauses filter the
 * intents it finds; otherwise every clause is a condition on payment_intents.
 */
export function searchPlan(clauses: Clause[], joiner: Joiner, scope: Scope): SearchPlan {
  const driver = joiner === "AND" || clauses.length < 2 ? clauses.find((c) => c.field === "metadata" && !c.negated && c.operator === ":") : undefined;
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
