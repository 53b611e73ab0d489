// Stripe's charge search (GET /v1/charges/search) on the payment intents' search index. A charge is
// its intent's successful authorization or one of its declined authorizations (a failed charge), so
// a charge query is mapped onto the intent search's clauses (src/db/search.ts: one parser, one
// planner) and run by searchCharges (src/db/queries.ts) over the intents that have such a charge:
// payment_intents_charged for successful charges, payment_intents_declined for failed ones.
import { invalidRequest } from "../core/errors";
import { renderIntentCharges, type ChargeJson } from "../core/objects";
import type { IntentRecord, Scope } from "../core/types";
import { searchCharges, type Cursor } from "./queries";
import { parseSearch, searchPlan, type Clause, type Joiner, type SearchFields, type SearchPlan } from "./search";

/** The Stripe fields this search serves, as Stripe names them. */
export const CHARGE_SEARCH_SERVED = ["amount", "created", "currency", "customer", "metadata", "payment_method_details.card.last4", "status"] as const;

/** Stripe's other charge search fields, each refused with the reason. */
const NOT_SERVED: Record<string, string> = {
  "billing_details.address.postal_code": "billing details are kept with the card, in no index",
  disputed: "disputes are not kept here",
  refunded: "whether a charge is wholly refunded has no index (its refunds: GET /v1/refunds?charge=...)",
  "payment_method_details.card.brand": "a card's brand has no index",
  "payment_method_details.card.exp_month": "a card's expiry has no index",
  "payment_method_details.card.exp_year": "a card's expiry has no index",
  "payment_method_details.card.fingerprint": "a card's fingerprint has no index",
};

const CHARGE_SEARCH: SearchFields = { resource: "charges", fields: [...CHARGE_SEARCH_SERVED, ...Object.keys(NOT_SERVED)] };

const SERVED_TEXT = "amount, created, currency, customer, metadata['key'], payment_method_details.card.last4 and status ('succeeded' or 'failed')";

function refuse(message: string): never {
  throw invalidRequest(`Invalid search query: ${message}`, "query", "search_query_invalid");
}

/** A clause with an index of its own, as an OR needs: a positive equality on one of these. */
const OR_FIELDS = ["customer", "amount", "metadata", "card_last4"];

/** The charge statuses served: a card charge here is succeeded or failed, never pending. */
export type ChargeStatus = "succeeded" | "failed";

export interface ChargeSearch {
  /** The intent search's plan: run it with searchCharges once per status, which keeps only intents with such a charge. */
  plan: SearchPlan;
  /** The query as intent clauses, for chargeMatches. */
  clauses: Clause[];
  joiner: Joiner;
  /** The statuses the query can find (none: `status:'pending'`, which no card charge here has). */
  statuses: ChargeStatus[];
}

/**
 * The charge query as an intent search. Status clauses pick which charges (succeeded, failed, or both
 * without one) and so which index; they join the other clauses with AND only. `created` compares the
 * intent's creation, which its charges follow. Anything else, or a query no index serves, is a 400
 * naming it.
 */
export function chargeSearch(query: string, scope: Scope): ChargeSearch {
  const parsed = parseSearch(query, CHARGE_SEARCH);
  let statuses: ChargeStatus[] = ["succeeded", "failed"];
  const clauses: Clause[] = [];
  for (const c of parsed.clauses) {
    const reason = NOT_SERVED[c.field];
    if (reason !== undefined) refuse(`the charge field \`${c.field}\` cannot be searched here: ${reason}. Searchable: ${SERVED_TEXT}.`);
    if (c.field === "status") {
      if (c.value !== "succeeded" && c.value !== "failed" && c.value !== "pending") refuse(`unknown charge status '${c.value.slice(0, 40)}' (succeeded, pending, failed).`);
      if (c.operator !== ":") refuse("status supports only ':'.");
      if (parsed.joiner === "OR" && parsed.clauses.length > 1) refuse("a status clause joins the others with AND, not OR.");
      const named = c.value === "pending" ? [] : [c.value];
      statuses = statuses.filter((s) => named.includes(s) !== c.negated);
      continue;
    }
    if (c.field === "payment_method_details.card.last4") {
      if (c.operator !== ":") refuse("payment_method_details.card.last4 supports only ':'.");
      clauses.push({ ...c, field: "card_last4", label: c.field });
      continue;
    }
    clauses.push(c);
  }
  if (parsed.joiner === "OR" && clauses.length > 1) {
    const other = clauses.find((c) => c.negated || c.operator !== ":" || !OR_FIELDS.includes(c.field));
    if (other)
      refuse(
        `an OR query can only join clauses that have an index (customer:, amount:, metadata['key']:, payment_method_details.card.last4:); '${other.negated ? "-" : ""}${other.label ?? (other.field === "metadata" ? `metadata['${other.metadataKey ?? ""}']` : other.field)}${other.operator}' has none.`,
      );
  }
  const joiner: Joiner = clauses.length > 1 ? parsed.joiner : "AND";
  return { plan: searchPlan(clauses, joiner, scope), clauses, joiner, statuses };
}

function holds(c: Clause, charge: ChargeJson, intentCreated: number): boolean {
  const number = (actual: number, value: number) => {
    switch (c.operator) {
      case ":":
        return actual === value;
      case ">":
        return actual > value;
      case "<":
        return actual < value;
      case ">=":
        return actual >= value;
      case "<=":
        return actual <= value;
    }
  };
  switch (c.field) {
    case "amount":
      return number(charge.amount, Number(c.value));
    case "created":
      // As the SQL compares it: the intent's creation, in whole seconds.
      return number(Math.floor(intentCreated / 1000), Number(c.value));
    case "currency":
      return charge.currency === c.value.toLowerCase();
    case "customer":
      return charge.customer === c.value;
    case "card_last4":
      return charge.payment_method_details.card?.last4 === c.value;
    case "metadata":
      return charge.metadata[c.metadataKey ?? ""] === c.value;
    default:
      return false;
  }
}

/**
 * Whether the charge as rendered satisfies the query's clauses. The index holds the intent's fields;
 * a charge given its own metadata by POST /v1/charges/{id} can differ from them, and is then left out.
 */
export function chargeMatches(search: Pick<ChargeSearch, "clauses" | "joiner" | "statuses">, charge: ChargeJson, intentCreated: number): boolean {
  if (!(search.statuses as string[]).includes(charge.status)) return false;
  if (search.clauses.length === 0) return true;
  const each = search.clauses.map((c) => holds(c, charge, intentCreated) !== c.negated);
  return search.joiner === "OR" ? each.some(Boolean) : each.every(Boolean);
}

/** Where a page of the charge search ends: its last charge (or, with `charge` null, after its last intent). */
export interface ChargePageToken extends Cursor {
  /** The last charge returned: the next page goes on with this intent's older charges. */
  charge: string | null;
}

export function encodeChargePageToken(token: ChargePageToken): string {
  return btoa(JSON.stringify(token.charge === null ? [token.created, token.id] : [token.created, token.id, token.charge])).replace(/=+$/, "");
}

export function decodeChargePageToken(token: string): ChargePageToken {
  try {
    const [created, id, charge, ...rest] = JSON.parse(atob(token)) as unknown[];
    const chargeOk = charge === undefined || (typeof charge === "string" && /^ch_[A-Za-z0-9]{8,120}$/.test(charge));
    if (rest.length === 0 && typeof created === "number" && Number.isSafeInteger(created) && typeof id === "string" && /^pi_[A-Za-z0-9]{8,64}$/.test(id) && chargeOk) {
      return { created, id, charge: typeof charge === "string" ? charge : null };
    }
  } catch {
    // fall through to the error below
  }
  throw invalidRequest("Invalid page token. Use the next_page value of a previous search result.", "page", "search_page_invalid");
}

function newerFirst(a: Cursor, b: Cursor): number {
  return b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * A page of `limit` charges, newest intent first and each intent's charges newest first. Each status
 * asked for is one range of its index; the two are merged by (created, id), and where one of them has
 * more the page stops at its last intent, since the other may hold older intents it has not read yet.
 * A page can end inside an intent (a declined charge and the successful one): its token names the last
 * charge, and the next page reads that intent again from there.
 */
export async function searchChargePage(
  d1: D1Database,
  scope: Scope,
  search: ChargeSearch,
  limit: number,
  token: ChargePageToken | null,
): Promise<{ items: { charge: ChargeJson; intent: IntentRecord }[]; hasMore: boolean; next: ChargePageToken | null }> {
  if (search.statuses.length === 0) return { items: [], hasMore: false, next: null };
  // After the token's intent, or from it again ("~" sorts after every character of an id) when the page ended inside it.
  const after = token ? { created: token.created, id: token.charge ? `${token.id}~` : token.id } : null;
  const pages = await Promise.all(search.statuses.map((status) => searchCharges(d1, scope, search.plan, status, limit, after)));
  const intents = [...new Map(pages.flatMap((p) => p.items).map((i) => [i.id, i])).values()].sort(newerFirst);
  const stops = pages.flatMap((p) => (p.hasMore && p.items.length > 0 ? [p.items[p.items.length - 1] as IntentRecord] : [])).sort(newerFirst);
  const stop = stops[0];
  const read = stop ? intents.filter((i) => newerFirst(i, stop) <= 0) : intents;
  const found: { charge: ChargeJson; intent: IntentRecord }[] = [];
  for (const intent of read) {
    let charges = renderIntentCharges(intent);
    if (token?.charge && intent.id === token.id) charges = charges.slice(charges.findIndex((c) => c.id === token.charge) + 1);
    for (const charge of charges) if (chargeMatches(search, charge, intent.created)) found.push({ charge, intent });
  }
  const items = found.slice(0, limit);
  const last = items[items.length - 1];
  if (found.length > limit && last) return { items, hasMore: true, next: { created: last.intent.created, id: last.intent.id, charge: last.charge.id } };
  const lastRead = read[read.length - 1];
  return stop && lastRead ? { items, hasMore: true, next: { created: lastRead.created, id: lastRead.id, charge: null } } : { items, hasMore: false, next: null };
}
