// Stripe's charge search (GET /v1/charges/search) on the payment intents' search index. A charge is
// its intent's successful authorization, so a charge query is mapped onto the intent search's clauses
// (src/db/search.ts: one parser, one planner) and run by searchCharges (src/db/queries.ts) over the
// intents that have such a charge. Failed charges (declined attempts) have no index of their own and
// are not found: only `status:'succeeded'` is served.
import { invalidRequest } from "../core/errors";
import type { ChargeJson } from "../core/objects";
import type { Scope } from "../core/types";
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

const SERVED_TEXT = "amount, created, currency, customer, metadata['key'], payment_method_details.card.last4 and status:'succeeded'";

function refuse(message: string): never {
  throw invalidRequest(`Invalid search query: ${message}`, "query", "search_query_invalid");
}

/** A clause with an index of its own, as an OR needs: a positive equality on one of these. */
const OR_FIELDS = ["customer", "amount", "metadata", "card_last4"];

export interface ChargeSearch {
  /** The intent search's plan: run it with searchCharges, which keeps only intents with a charge. */
  plan: SearchPlan;
  /** The query as intent clauses, for chargeMatches. */
  clauses: Clause[];
  joiner: Joiner;
}

/**
 * The charge query as an intent search. `status:'succeeded'` is every charge found (each is its
 * intent's successful one), so it adds no condition; `created` compares the intent's creation, which
 * the charge follows. Anything else, or a query no index serves, is a 400 naming it.
 */
export function chargeSearch(query: string, scope: Scope): ChargeSearch {
  const parsed = parseSearch(query, CHARGE_SEARCH);
  let universal = false;
  const clauses: Clause[] = [];
  for (const c of parsed.clauses) {
    const reason = NOT_SERVED[c.field];
    if (reason !== undefined) refuse(`the charge field \`${c.field}\` cannot be searched here: ${reason}. Searchable: ${SERVED_TEXT}.`);
    if (c.field === "status") {
      if (c.value !== "succeeded" && c.value !== "failed" && c.value !== "pending") refuse(`unknown charge status '${c.value.slice(0, 40)}' (succeeded, pending, failed).`);
      if (c.negated || c.operator !== ":" || c.value !== "succeeded")
        refuse(
          "this search finds successful charges only: the one status clause it takes is status:'succeeded'. A payment's failed charges are listed by GET /v1/charges?payment_intent=... (or ?customer=...).",
        );
      universal = true;
      continue;
    }
    if (c.field === "payment_method_details.card.last4") {
      if (c.operator !== ":") refuse("payment_method_details.card.last4 supports only ':'.");
      clauses.push({ ...c, field: "card_last4", label: c.field });
      continue;
    }
    clauses.push(c);
  }
  // With OR, status:'succeeded' holds for every charge found: the query is all of them.
  const served = parsed.joiner === "OR" && universal ? [] : clauses;
  if (parsed.joiner === "OR" && served.length > 1) {
    const other = served.find((c) => c.negated || c.operator !== ":" || !OR_FIELDS.includes(c.field));
    if (other)
      refuse(
        `an OR query can only join clauses that have an index (customer:, amount:, metadata['key']:, payment_method_details.card.last4:); '${other.negated ? "-" : ""}${other.label ?? (other.field === "metadata" ? `metadata['${other.metadataKey ?? ""}']` : other.field)}${other.operator}' has none.`,
      );
  }
  const joiner: Joiner = served.length > 1 ? parsed.joiner : "AND";
  return { plan: searchPlan(served, joiner, scope), clauses: served, joiner };
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
export function chargeMatches(search: Pick<ChargeSearch, "clauses" | "joiner">, charge: ChargeJson, intentCreated: number): boolean {
  if (search.clauses.length === 0) return true;
  const each = search.clauses.map((c) => holds(c, charge, intentCreated) !== c.negated);
  return search.joiner === "OR" ? each.some(Boolean) : each.every(Boolean);
}
