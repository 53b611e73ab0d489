// The merchant-wide binding of idempotency keys, shared by every surface. A key belongs to one
// merchant and mode and, for 24 hours, to the first request that used it: its route, its target and
// a keyed fingerprint of its parameters. Any other use of the key is refused before anything runs.
// The answers are replayed where they were recorded (the intent's Durable Object, which stays the
// serializer of its own operations, or D1 for requests that touch no intent); this claim is what
// stops one key from acting on two intents, or on an intent and then a customer.
//
// The claim is one statement: insert, or take over a claim older than the TTL. D1 runs statements one
// at a time, so of two requests racing with the same key exactly one claims it; the other finds the
// claim and is refused unless it is the very same request (then it reaches the replay).
import { idempotencyKeyAtRest } from "../core/idempotency-key";
import { canonicalJson } from "../core/canonical-json";
import { idempotencyMismatch } from "../core/errors";
import { hmacBase62 } from "../core/ids";
import type { Scope } from "../core/types";
import { config, type Env } from "../env";

/** Keys are bound for 24 hours, like Stripe's. */
export const IDEMPOTENCY_BINDING_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyBinding {
  /** The surface's route, e.g. "POST /v1/payment_intents/{id}/capture". */
  route: string;
  /** What the request acts on (path parameters), "" when nothing yet exists. */
  target: string;
  /** The validated parameters. */
  params: unknown;
  /**
   * A shopper's token: its customer. Two customers of one merchant share the merchant's keys space, so
   * one's key must not replay (and hand over) the other's answer. Left out for everyone else, whose
   * fingerprints are as they were.
   */
  customer?: string | null;
}

/** The binding of a request made by `caller` (a shopper's token binds its customer too). */
export function callerBinding(caller: { customerId?: string | null }, binding: IdempotencyBinding): IdempotencyBinding {
  return caller.customerId ? { ...binding, customer: caller.customerId } : binding;
}

export async function bindingFingerprint(env: Env, binding: IdempotencyBinding): Promise<string> {
  const request = { route: binding.route, target: binding.target, params: binding.params, ...(binding.customer ? { customer: binding.customer } : {}) };
  return hmacBase62(config(env).fingerprintKey, canonicalJson(request), 32);
}

/**
 * Claims `key` for this merchant and mode, bound to this request. Resolves "claimed" when the key is new
 * (or its claim expired), "same_request" when it is already bound to this very request (a retry, to be
 * answered by the replay); throws a 400 idempotency_error otherwise.
 */
export async function bindIdempotencyKey(env: Env, scope: Scope & { customerId?: string | null }, key: string, request: IdempotencyBinding, now = Date.now()): Promise<"claimed" | "same_request"> {
  const binding = callerBinding(scope, request);
  const fingerprint = await bindingFingerprint(env, binding);
  const atRest = await idempotencyKeyAtRest(config(env).fingerprintKey, key);
  const livemode = scope.livemode ? 1 : 0;
  const claimed = await env.DB.prepare(
    `INSERT INTO idempotency_claims (merchant_id, livemode, key, route, target, fingerprint, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (merchant_id, livemode, key) DO UPDATE SET route = excluded.route, target = excluded.target, fingerprint = excluded.fingerprint, created = excluded.created
     WHERE idempotency_claims.created <= ?8
     RETURNING fingerprint`,
  )
    .bind(scope.merchantId, livemode, atRest, binding.route.slice(0, 200), binding.target.slice(0, 500), fingerprint, now, now - IDEMPOTENCY_BINDING_TTL_MS)
    .first<{ fingerprint: string }>();
  if (claimed) return "claimed";
  const existing = await env.DB.prepare(`SELECT fingerprint FROM idempotency_claims WHERE merchant_id = ?1 AND livemode = ?2 AND key = ?3`)
    .bind(scope.merchantId, livemode, atRest)
    .first<{ fingerprint: string }>();
  if (existing && existing.fingerprint === fingerprint) return "same_request";
  throw idempotencyMismatch(key);
}

/**
 * The cron's retention: claims past their TTL are dead weight (a new request takes one over anyway).
 * Deletes up to `batch` of them, oldest first (a range of idempotency_claims_created); answers how many.
 */
export async function pruneIdempotencyClaims(env: Env, now = Date.now(), batch = 1000): Promise<number> {
  const res = await env.DB.prepare(`DELETE FROM idempotency_claims WHERE rowid IN (SELECT rowid FROM idempotency_claims WHERE created <= ?1 ORDER BY created LIMIT ?2)`)
    .bind(now - IDEMPOTENCY_BINDING_TTL_MS, batch)
    .run();
  return res.meta.changes;
}
