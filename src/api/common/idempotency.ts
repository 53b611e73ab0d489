// Idempotency-Key for the surfaces that route requests themselves (not through /v1's route()): the
// key is bound merchant-wide to this route, target and body before anything runs, and handed to the
// intent's Durable Object, which replays the first answer, a refusal as a success. So once the key is
// bound, a refusal for the intent's state must come from the object (which keeps it as the key's
// answer), never from a check in the surface: such a refusal is kept nowhere, and the same request
// sent again, once the state allows it, would run for real instead of being refused again.
import { invalidRequest } from "../../core/errors";
import type { Scope } from "../../core/types";
import type { Env } from "../../env";
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
