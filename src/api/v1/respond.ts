// Shared answers of /v1: reaching an intent's Durable Object, rendering an operation's outcome (with
// its replay header), and Stripe's list object.
import { hasPrefix } from "../../core/ids";
import { renderChargeRefunds, renderIntent, type ChargeJson, type PaymentIntentJson, type RenderOptions } from "../../core/objects";
import { resourceMissing } from "../../core/errors";
import type { IntentRecord } from "../../core/types";
import { config, type Env } from "../../env";
import type { OpOutcome } from "../../intents/params";
import type { Page, PageRequest } from "../../db/queries";
import { invalidRequest } from "../../core/errors";
import { v1Error, v1ErrorBody } from "./errors";
import type { Ctx } from "./route";
import type { AuditContext } from "../../audit/log";

/** Where the gateway's own pages and callbacks are: PUBLIC_BASE_URL, or else the request's origin. */
export function publicBase(c: Ctx): string {
  return config(c.env).publicBaseUrl ?? new URL(c.req.url).origin;
}

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
  // The latest charge's own expansions (latest_charge.payment_intent, latest_charge.refunds; expandPaths lets them through).
  const charge = rendered.latest_charge;
  if (charge === null || typeof charge === "string" || !options.expand?.some((p) => NESTED_EXPANSIONS.includes(p))) return rendered;
  const expanded: Record<string, unknown> = { ...charge };
  if (options.expand.includes("latest_charge.payment_intent")) expanded.payment_intent = renderIntent(intent, { apiVersion: c.get("apiVersion") });
  if (options.expand.includes("latest_charge.refunds")) expanded.refunds = renderChargeRefunds(intent, charge.id);
  // The charge with Stripe's expanded fields in place of their ids (what the client asked for).
  return { ...rendered, latest_charge: expanded as unknown as ChargeJson };
}

/** `errorIntent`: the intent an error carries, when the caller rendered it (with its saved card); else rendered here. */
export function respondOutcome(c: Ctx, outcome: OpOutcome, render: (intent: IntentRecord) => unknown, errorIntent?: PaymentIntentJson): Response {
  const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
  if (outcome.error) {
    // As Stripe's: an error on a request about an intent carries the intent as it now is.
    const withIntent = errorIntent ?? (outcome.intent ? intentJson(c, outcome.intent) : undefined);
    const error = v1Error(outcome.error, c.get("pathParams") ?? []);
    return json(c, v1ErrorBody(error, { paymentIntent: withIntent }), error.status, headers);
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

/** Expansions within an expanded latest_charge that intentJson renders (src/api/v1/expand.ts checks them). */
const NESTED_EXPANSIONS: readonly string[] = ["latest_charge.payment_intent", "latest_charge.refunds"];

/** The audit context of a request. */
export function auditContext(c: Ctx): AuditContext {
  return { env: c.env, requestId: c.get("requestId"), idempotencyKey: c.req.header("idempotency-key") ?? null, waitUntil: (p) => c.executionCtx.waitUntil(p) };
}
