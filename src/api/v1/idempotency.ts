// Idempotency-Key for POSTs that touch no payment intent (webhook endpoints, replays): the record
// lives in D1 under a unique (merchant, mode, key). The first request inserts it "in flight"; the same
// request sent meanwhile waits for its answer (409 past IDEMPOTENCY_WAIT_MS); a later one gets the
// stored answer, or 400 if its parameters differ.
// An unexpected failure removes the record so the request can be retried; a record left in flight by
// a request that died before it could (IN_FLIGHT_LEASE_MS) is taken over by the same request sent again.
// Stored answers are sealed (AES-GCM under ENCRYPTION_KEY, like webhook secrets and credentials):
// some carry a secret shown once (a new API key, an endpoint's signing secret), and none may rest in
// plaintext. A replay opens the answer and returns it as it was first given.
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ApiError, idempotencyInFlight, idempotencyMismatch } from "../../core/errors";
import { hmacBase62 } from "../../core/ids";
import { seal, unseal } from "../../core/sealed";
import { config, type Env } from "../../env";
import { idempotencyKeys } from "../../db/schema";
import { IDEMPOTENCY_TTL_MS } from "../../intents/object";
import type { Principal } from "../../auth/permissions";
import { idempotencyKeyAtRest } from "../../core/idempotency-key";
import { v1Error, v1ErrorBody } from "./errors";
import { json } from "./respond";
import { requestContext, type Ctx } from "./route";

/**
 * How long a request may hold its key in flight before the same request sent again may take it
 * over: far beyond any request's own work here (the slowest, a subscription's first payment, waits on
 * the provider's timeout of seconds), so two runs of one request never overlap in practice.
 */
export const IN_FLIGHT_LEASE_MS = 5 * 60 * 1000;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The waits between two looks at a key the same request holds: 20 ms, doubling up to 250 ms. */
const lookAgainAfter = (look: number): number => Math.min(20 * 2 ** look, 250);

export interface StoredAnswer {
  status: number;
  body: unknown;
}

const SEALED = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** An answer as it rests in D1: sealed JSON. */
export function sealAnswer(env: Env, body: unknown): Promise<string> {
  return seal(JSON.stringify(body), config(env).encryptionKey);
}

/** The stored answer's JSON text (records from before sealing are plain JSON, and expire within 24 h). */
export async function openAnswer(env: Env, stored: string | null): Promise<string> {
  if (stored === null) return "{}";
  return SEALED.test(stored) ? unseal(stored, config(env).encryptionKey) : stored;
}

export async function idempotentD1(
  c: Ctx,
  principal: Principal,
  operation: string,
  target: string,
  params: unknown,
  run: () => Promise<StoredAnswer>,
): Promise<Response> {
  const req = await requestContext(c, principal, operation, target, params);
  if (!req.idempotencyKey || !req.fingerprint) {
    const answer = await run();
    return json(c, answer.body, answer.status);
  }
  const key = req.idempotencyKey;
  // A stored answer here may hold a secret shown once (a new key's, an endpoint's signing secret): it
  // is replayed only to the credential that made the request, never to another one of the merchant
  // that reuses the key (which would read a secret it could not create).
  const fingerprint = await hmacBase62(config(c.env).fingerprintKey, `${req.fingerprint}|${principal.actor}`, 32);
  const db = drizzle(c.env.DB);
  const atRest = await idempotencyKeyAtRest(config(c.env).fingerprintKey, key);
  const where = and(eq(idempotencyKeys.merchantId, principal.merchantId), eq(idempotencyKeys.livemode, principal.livemode), eq(idempotencyKeys.key, atRest));
  const claim = (now: number) =>
    db
      .insert(idempotencyKeys)
      .values({ merchantId: principal.merchantId, livemode: principal.livemode, key: atRest, fingerprint, state: "in_flight", created: now })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });

  // The same request still running with the key: waited for (up to IDEMPOTENCY_WAIT_MS, looking again
  // with backoff), then its answer is replayed; should it fail (nothing kept, the record removed), this
  // request claims the key and runs. Still running after the wait: 409 idempotency_key_in_use.
  const until = Date.now() + config(c.env).idempotencyWaitMs;
  for (let look = 0; ; look++) {
    const now = Date.now();
    if ((await claim(now)).length > 0) break;
    const [existing] = await db.select().from(idempotencyKeys).where(where).limit(1);
    if (existing) {
      const expired = now - existing.created >= IDEMPOTENCY_TTL_MS;
      // A request that died between its claim and its answer (its isolate evicted, its CPU limit hit)
      // never removes its record: past the lease, the same request sent again takes the key over
      // rather than meeting 409 for a day. Another request's parameters are still refused.
      const abandoned = existing.state !== "done" && existing.fingerprint === fingerprint && now - existing.created >= IN_FLIGHT_LEASE_MS;
      if (expired || abandoned) {
        await db.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.created, existing.created), eq(idempotencyKeys.state, existing.state)));
        continue;
      }
      if (existing.fingerprint !== fingerprint) throw idempotencyMismatch(key);
      if (existing.state === "done") {
        return c.body(await openAnswer(c.env, existing.responseBody), existing.responseStatus as 200, { "content-type": "application/json", "Idempotent-Replayed": "true" });
      }
    }
    // In flight, or removed since the claim failed (its request failed): look again shortly.
    const left = until - Date.now();
    if (left <= 0) throw idempotencyInFlight(key);
    await pause(Math.min(left, lookAgainAfter(look)));
  }

  let answer: StoredAnswer;
  try {
    answer = await run();
  } catch (err) {
    // A 5xx, or a 429 (busy: nothing was done), is not the key's answer: the retry runs again.
    if (!(err instanceof ApiError) || err.status >= 500 || err.status === 429) {
      await db.delete(idempotencyKeys).where(where);
      throw err;
    }
    const error = v1Error(err.data, c.get("pathParams") ?? []);
    // As every other /v1 error: the request's id (a replay shows the first request's, as its body is the first's).
    answer = { status: error.status, body: v1ErrorBody(error, { requestId: c.get("requestId") }) };
  }
  await db.update(idempotencyKeys).set({ state: "done", responseStatus: answer.status, responseBody: await sealAnswer(c.env, answer.body) }).where(where);
  return json(c, answer.body, answer.status);
}

/**
 * The cron's retention: stored answers past their 24 hours are never replayed (a new request with the
 * key takes its record over), so they go. Deletes up to `batch` of them, oldest first (a range of
 * idempotency_keys_created); answers how many.
 */
export async function pruneIdempotencyKeys(env: Env, now = Date.now(), batch = 1000): Promise<number> {
  const res = await env.DB.prepare("DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created <= ?1 ORDER BY created LIMIT ?2)")
    .bind(now - IDEMPOTENCY_TTL_MS, batch)
    .run();
  return res.meta.changes;
}
