// Shared answers of /v1: reaching an intent's Durable Object, rendering an operation's outcome (with
// its replay header), and Stripe's list object.
import { hasPrefix } from "../../core/ids";
import { renderIntent, renderRefund, type ChargeJson, type PaymentIntentJson, type RenderOptions } from "../../core/objects";
import { resourceMissing } from "../../core/errors";
import type { IntentRecord } from "../../core/types";
import type { Env } from "../../env";
import type { OpOutcome } from "../../intents/params";
import type { Page, PageRequest } from "../../db/queries";
import { invalidRequest } from "../../core/errors";
import { v1ErrorBody } from "./errors";
import type { Ctx } from "./route";
import type { AuditContext } from "../../audit/log";

export function intentStub(env: Env, id: string) {
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
}

/** An id that cannot be ours is a 404 at once, without waking a Durable Object. */
export function assertIntentId(id: string, resource = "payment_intent", prefix = "pi", param?: string): void {
  if (!hasPrefix(id, prefix)) throw resourceMissing(resource, id.slice(0, 80), param);
}

export function json(c: Ctx, body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return c.json(body as object, status as 200, headers);
}

/** The intent as the request's Stripe-Version shows it (its `apiVersion`: the header's, else the merchant's default). */
export function intentJson(c: Ctx, intent: IntentRecord, options: Omit<RenderOptions, "apiVersion"> = {}): PaymentIntentJson {
  const rendered = renderIntent(intent, { ...options, apiVersion: c.get("apiVersion") });
  // The latest charge's own expansions (latest_charge.payment_intent, latest_charge.refunds; checkExpandable lets them through).
  const charge = rendered.latest_charge;
  if (charge === null || typeof charge === "string" || !options.expand?.some((p) => NESTED_EXPANSIONS.includes(p))) return rendered;
  const expanded: Record<string, unknown> = { ...charge };
  if (options.expand.includes("latest_charge.payment_intent")) expanded.payment_intent = renderIntent(intent, { apiVersion: c.get("apiVersion") });
  if (options.expand.includes("latest_charge.refunds")) expanded.refunds = chargeRefunds(intent, charge.id);
  // The charge with Stripe's expanded fields in place of their ids (what the client asked for).
  return { ...rendered, latest_charge: expanded as unknown as ChargeJson };
}

/** Stripe's expandable `refunds` of a charge: a list object of its refunds, newest first. */
export function chargeRefunds(intent: IntentRecord, chargeId: string) {
  const data = intent.refunds
    .filter((r) => r.chargeId === chargeId)
    .sort((a, b) => b.created - a.created)
    .map(renderRefund);
  return { object: "list" as const, data, has_more: false, total_count: data.length, url: `/v1/charges/${chargeId}/refunds` };
}

export function respondOutcome(c: Ctx, outcome: OpOutcome, render: (intent: IntentRecord) => unknown): Response {
  const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
  if (outcome.error) {
    // As Stripe's: an error on a request about an intent carries the intent as it now is.
    const withIntent = outcome.intent ? intentJson(c, outcome.intent) : undefined;
    return json(c, v1ErrorBody(outcome.error, { paymentIntent: withIntent }), outcome.error.status, headers);
  }
  if (!outcome.intent) throw new Error("an operation succeeded without an intent");
  return json(c, render(outcome.intent), 200, headers);
}

export function listObject<T>(url: string, page: Page<T>, render: (item: T) => unknown) {
  return { object: "list" as const, data: page.items.map(render), has_more: page.hasMore, url };
}

/** Stripe's list parameters: `limit` (default 10) and one of `starting_after` / `ending_before`. */
export function pageRequest(query: { limit?: number; starting_after?: string; ending_before?: string }): PageRequest {
  if (query.starting_after && query.ending_before) throw invalidRequest("Pass only one of starting_after and ending_before.", "ending_before");
  return { limit: query.limit ?? 10, startingAfter: query.starting_after, endingBefore: query.ending_before };
}

/**
 * Renders a page of rows, each with one field's id replaced by its object when `expand` asks for it.
 * The objects of the page are fetched in one query (`fetch` answers them by id); an id not found stays an id.
 */
export async function renderExpanded<R, O>(
  rows: R[],
  render: (row: R) => Record<string, unknown>,
  expand: boolean,
  idOf: (row: R) => string | null,
  fetch: (ids: string[]) => Promise<Map<string, O>>,
  place: (rendered: Record<string, unknown>, object: O) => Record<string, unknown>,
): Promise<Record<string, unknown>[]> {
  const ids = [...new Set(rows.map(idOf).filter((id): id is string => id !== null))];
  if (!expand || ids.length === 0) return rows.map(render);
  const objects = await fetch(ids);
  return rows.map((row) => {
    const id = idOf(row);
    const object = id === null ? undefined : objects.get(id);
    return object === undefined ? render(row) : place(render(row), object);
  });
}

/**
 * Fields Stripe expands that are always null here (no balance transactions, reviews, legacy sources,
 * Connect transfers or application fees), by the object that has them: expanding one is accepted and
 * it stays null, as an expanded null does at Stripe (`latest_charge.balance_transaction`, the fees
 * example of Stripe's docs; a customer's `default_source`).
 */
const NULL_EXPANSIONS: Record<string, readonly string[]> = {
  charge: ["balance_transaction", "failure_balance_transaction", "review", "application", "application_fee", "on_behalf_of", "source_transfer", "transfer"],
  payment_intent: ["application", "on_behalf_of", "review"],
  customer: ["default_source"],
  refund: ["balance_transaction", "failure_balance_transaction", "source_transfer_reversal", "transfer_reversal"],
};

/** The object an expandable path leads to, by its last segment (for what may be expanded within it). */
const EXPANDS_TO: Record<string, string> = { latest_charge: "charge", charge: "charge", payment_intent: "payment_intent", customer: "customer" };

/** Expansions within an expanded latest_charge that intentJson renders. */
const NESTED_EXPANSIONS: readonly string[] = ["latest_charge.payment_intent", "latest_charge.refunds"];

/**
 * Checks `expand[]` against what a route can expand (a 400 naming what it can), and answers what to
 * expand: the allowed paths asked for, and the one a nested path goes through (`latest_charge` for
 * `latest_charge.balance_transaction`). A field that is always null here is accepted and changes
 * nothing: on the route's own object (`object`; without it, any object's), or within an allowed path.
 */
export function checkExpandable(expand: string[] | undefined, allowed: readonly string[], object?: string): string[] {
  const out: string[] = [];
  const list = allowed.some((p) => p.startsWith("data."));
  const ownNulls = object ? (NULL_EXPANSIONS[object] ?? []) : Object.values(NULL_EXPANSIONS).flat();
  for (const path of expand ?? []) {
    if (allowed.includes(path)) {
      out.push(path);
      continue;
    }
    const dot = path.lastIndexOf(".");
    const prefix = dot > 0 ? path.slice(0, dot) : "";
    const field = path.slice(dot + 1);
    const within = allowed.includes(prefix) ? NULL_EXPANSIONS[EXPANDS_TO[prefix.split(".").pop() ?? ""] ?? ""] : undefined;
    if (within?.includes(field)) {
      out.push(prefix);
      continue;
    }
    if (allowed.includes(prefix) && NESTED_EXPANSIONS.includes(path)) {
      out.push(prefix, path);
      continue;
    }
    if ((prefix === "" || (list && prefix === "data")) && ownNulls.includes(field)) continue;
    throw invalidRequest(`This property cannot be expanded (${path.slice(0, 60)}). Expandable: ${allowed.join(", ")}.`, "expand");
  }
  return [...new Set(out)];
}

/** The audit context of a request. */
export function auditContext(c: Ctx): AuditContext {
  return { env: c.env, requestId: c.get("requestId"), idempotencyKey: c.req.header("idempotency-key") ?? null, waitUntil: (p) => c.executionCtx.waitUntil(p) };
}
