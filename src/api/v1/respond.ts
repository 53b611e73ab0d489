// Shared answers of /v1: reaching an intent's Durable Object, rendering an operation's outcome (with
// its replay header), and Stripe's list object.
import { hasPrefix } from "../../core/ids";
import { renderIntent, type PaymentIntentJson, type RenderOptions } from "../../core/objects";
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
  return renderIntent(intent, { ...options, apiVersion: c.get("apiVersion") });
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

/** Checks `expand[]` against what a route can expand (a 400 naming what it can). */
export function checkExpandable(expand: string[] | undefined, allowed: readonly string[]): string[] {
  for (const path of expand ?? []) {
    if (!allowed.includes(path)) throw invalidRequest(`This property cannot be expanded (${path.slice(0, 60)}). Expandable: ${allowed.join(", ")}.`, "expand");
  }
  return expand ?? [];
}

/** The audit context of a request. */
export function auditContext(c: Ctx): AuditContext {
  return { env: c.env, requestId: c.get("requestId"), idempotencyKey: c.req.header("idempotency-key") ?? null, waitUntil: (p) => c.executionCtx.waitUntil(p) };
}
