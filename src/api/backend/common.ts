// What seed 004's Stripe and PayPal endpoints share: the request context of an operation on an intent
// (an Idempotency-Key, when sent, bound merchant-wide and replayed by the intent's object), and the
// intent a request names, for this caller.
import type { Principal } from "../../auth/permissions";
import { hasPrefix } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import type { OpOutcome, RequestContext } from "../../intents/params";
import { bindIdempotencyKey, bindingFingerprint, callerBinding } from "../idempotency-binding";
import { surfaceRequest } from "../common/idempotency";
import { intentStub } from "../v1/respond";
import type { Ctx } from "../v1/route";
import { bad, BackendError, missing } from "./surface";
import { ApiError } from "../../core/errors";

export async function backendRequest(c: Ctx, principal: Principal, route: string, target: string, params: unknown, action: string): Promise<RequestContext> {
  // PayPal's own idempotency header is honoured on the PayPal routes, as PayPal honours it.
  const paypalRequestId = new URL(c.req.url).pathname.includes("/paypal/") ? (c.req.header("paypal-request-id") ?? null) : null;
  const given = c.req.header("idempotency-key") ?? null;
  if (given !== null && paypalRequestId !== null && given !== paypalRequestId) throw bad("Idempotency-Key and PayPal-Request-Id differ: send one of them.");
  const key = given ?? paypalRequestId;
  if (key !== null && (key.length === 0 || key.length > 255)) throw bad(`${given !== null ? "Idempotency-Key" : "PayPal-Request-Id"} must be 1 to 255 characters long.`);
  let fingerprint: string | null = null;
  if (key) {
    const binding = { route, target, params };
    try {
      await bindIdempotencyKey(c.env, principal, key, binding);
    } catch (err) {
      if (err instanceof ApiError && err.data.type === "idempotency_error") throw new BackendError(409, "This Idempotency-Key was already used for a different request.");
      throw err;
    }
    fingerprint = await bindingFingerprint(c.env, callerBinding(principal, binding));
  }
  return surfaceRequest(c, principal, principal, { key, fingerprint }, action, "seed004");
}

/**
 * The intent named by the request, visible to this caller (a customer sees only its own). `shown`: the
 * id the client sent, when it named the intent through another (a capture's ch_...).
 */
export async function visibleIntent(c: Ctx, principal: Principal, id: string, what = "Payment intent", shown = id): Promise<IntentRecord> {
  if (!hasPrefix(id, "pi")) throw missing(`${what} not found: ${shown.slice(0, 80)}`);
  const intent = await intentStub(c.env, id).retrieve(principal, id);
  if (!intent || (principal.customerId && intent.customer !== principal.customerId)) throw missing(`${what} not found: ${shown}`);
  return intent;
}

/**
 * An operation's outcome: its error (in this surface's words) or the intent (`what`: as the route names
 * it). An error replayed for its Idempotency-Key (the object keeps a refusal as the key's answer, as a
 * success) says so, as a replayed success does.
 */
export function outcomeIntent(c: Ctx, outcome: OpOutcome, id: string, what = "Payment intent"): IntentRecord {
  if (outcome.error) {
    markReplay(c, outcome);
    throw new ApiError(outcome.error);
  }
  if (!outcome.intent) throw missing(`${what} not found: ${id}`);
  return outcome.intent;
}

/** `Idempotent-Replayed: true` on the answer, error or not, of an outcome the object replayed. */
export function markReplay(c: Ctx, outcome: OpOutcome): void {
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
}
