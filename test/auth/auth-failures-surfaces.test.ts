// The failed-authentication limit per client IP holds on every surface that reads credentials, not
// only /v1: seed 000's /api/v1/PaymentIntents (JWTs) and seed 003's /payments (application id and
// token). The bucket's clock is frozen and the bucket drained to its last token, so the counts are exact.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authFailureBucket } from "../../src/auth/ip-limit";
import { bucketObject, type RateLimiterObject } from "../../src/auth/rate-limit";
import { config } from "../../src/env";
import { call, type CallOptions } from "../helpers";

/** Freezes the bucket's clock and leaves it exactly one failure. */
async function oneFailureLeft(ip: string): Promise<void> {
  const cfg = config(env);
  const bucket = { rate: cfg.rateLimitAuthFailuresPerMinute / 60, burst: cfg.rateLimitAuthFailuresBurst };
  const object = bucketObject(env, authFailureBucket(ip));
  const now = Date.UTC(2030, 0, 1);
  await runInDurableObject(object, (instance) => {
    const limiter = instance as unknown as RateLimiterObject;
    (limiter.constructor as typeof RateLimiterObject).clocks.set(object.id.toString(), () => now);
    expect(limiter.take(bucket, bucket.burst - 1).granted).toBe(bucket.burst - 1);
  });
}

const surfaces: Record<string, (ip: string) => [string, string, CallOptions]> = {
  "seed 000 /api/v1/PaymentIntents (JWT)": (ip) => ["GET", "/api/v1/PaymentIntents", { key: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlcyI6WyJhZG1pbiJdfQ.c2lnbmF0dXJl", headers: { "cf-connecting-ip": ip } }],
  "seed 000 without a credential": (ip) => ["GET", "/api/v1/PaymentIntents", { key: null, headers: { "cf-connecting-ip": ip } }],
  "seed 003 /payments (application)": (ip) => ["GET", "/payments/1", { key: null, headers: { "cf-connecting-ip": ip, "x-application-id": "app_guessGuessGuessGuess1", "x-access-token": "tok_guess" } }],
  "/v1 (API key)": (ip) => ["GET", "/v1/payment_intents", { key: "sk_test_guess", headers: { "cf-connecting-ip": ip } }],
};

describe("failed authentication on every surface", () => {
  let n = 0;
  for (const [name, request] of Object.entries(surfaces)) {
    it(`${name}: the last failure is a 401, the next a 429 with Retry-After`, async () => {
      n += 1;
      const ip = `192.0.2.${n}`;
      await oneFailureLeft(ip);
      const [method, path, options] = request(ip);
      expect((await call(method, path, options)).status).toBe(401);
      const limited = await call(method, path, options);
      expect(limited.status, JSON.stringify(limited.body)).toBe(429);
      expect(limited.headers.get("retry-after")).toBeTruthy();
      // Another IP is unaffected.
      const [m2, p2, o2] = request(`192.0.2.${n + 100}`);
      expect((await call(m2, p2, o2)).status).toBe(401);
    });
  }
});
