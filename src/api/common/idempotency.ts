// Idempotency-Key for the surfaces that route requests themselves (not through /v1's route()): the
// key is bound merchant-wide to this route, target and body before anything runs, and handed to the
// intent's Durable Object, which replays the first answer, a refusal as a success. So once the key is
// bound, a refusal for the intent's state must come from the object (which keeps it as the key's
// answer), never from a check in the surface: such a refusal is kept nowhere, and the same request
// sent again, once the state allows it, would run for real instead of being refused again.
import type { Principal } from "../../auth/permissions";
import { invalidRequest } from "../../core/errors";
import type { Scope } from "../../core/types";
import type { Env } from "../../env";
import type { RequestContext } from "../../intents/params";
import type { Ctx } from "../v1/route";
import { bindIdempotencyKey, bindingFingerprint, callerBinding, type IdempotencyBinding } from "../idempotency-binding";

const MAX_KEY = 255;

export interface SurfaceIdempotency {
  key: string | null;
  fingerprint: string | null;
}

export const NO_IDEMPOTENCY: SurfaceIdempotency = { key: null, fingerprint: null };

export async function surfaceIdempotency(env: Env, header: string | undefined, scope: Scope & { customerId?: string | null }, binding: IdempotencyBinding): Promise<SurfaceIdempotency> {
  if (header === undefined) return NO_IDEMPOTENCY;
  if (header.length === 0 || header.length > MAX_KEY) {
    throw invalidRequest(`Idempotency-Key must be 1 to ${MAX_KEY} characters long.`, "Idempotency-Key", "idempotency_key_invalid");
  }
  await bindIdempotencyKey(env, scope, header, binding);
  return { key: header, fingerprint: await bindingFingerprint(env, callerBinding(scope, binding)) };
}

/**
 * What a surface hands the intent's object for one operation: the scope, the bound key and its
 * fingerprint, where the shopper's browser reaches us, and the audit entry (`action` null: not audited)
 * naming the surface it came through.
 */
export function surfaceRequest(c: Ctx, principal: Principal, scope: Scope, idem: SurfaceIdempotency, action: string | null, surface: string): RequestContext {
  return {
    scope: { merchantId: scope.merchantId, livemode: scope.livemode },
    requestId: c.get("requestId"),
    idempotencyKey: idem.key,
    fingerprint: idem.fingerprint,
    origin: new URL(c.req.url).origin,
    audit: action ? { action, actor: principal.actor, roles: principal.roles, details: { surface } } : null,
  };
}
