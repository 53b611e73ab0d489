// Idempotency-Key for the surfaces that route requests themselves (not through /v1's route()): the
// key is bound merchant-wide to this route, target and body before anything runs, and handed to the
// intent's Durable Object, which replays the first answer. A retry of the same request skips the
// surface's own state checks so that it reaches the replay instead of a "wrong state" error.
import { invalidRequest } from "../../core/errors";
import type { Scope } from "../../core/types";
import type { Env } from "../../env";
import { bindIdempotencyKey, bindingFingerprint, callerBinding, type IdempotencyBinding } from "../idempotency-binding";

const MAX_KEY = 255;

export interface SurfaceIdempotency {
  key: string | null;
  fingerprint: string | null;
  /** The same request was made before with this key: its answer is replayed by the object. */
  replay: boolean;
}

export const NO_IDEMPOTENCY: SurfaceIdempotency = { key: null, fingerprint: null, replay: false };

export async function surfaceIdempotency(env: Env, header: string | undefined, scope: Scope & { customerId?: string | null }, binding: IdempotencyBinding): Promise<SurfaceIdempotency> {
  if (header === undefined) return NO_IDEMPOTENCY;
  if (header.length === 0 || header.length > MAX_KEY) {
    throw invalidRequest(`Idempotency-Key must be 1 to ${MAX_KEY} characters long.`, "Idempotency-Key", "idempotency_key_invalid");
  }
  const bound = await bindIdempotencyKey(env, scope, header, binding);
  return { key: header, fingerprint: await bindingFingerprint(env, callerBinding(scope, binding)), replay: bound === "same_request" };
}
