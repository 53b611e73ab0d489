// Token buckets in a Durable Object per bucket (a credential, or an IP on unauthenticated routes).
// To keep the object off the hot path, each isolate leases a few tokens at a time (a twentieth of
// the rate) and spends them locally; a lease lasts a second. Over the limit: 429 with Retry-After
// and Stripe's rate_limit_error.
import { DurableObject } from "cloudflare:workers";
import { ApiError } from "../core/errors";
import type { Env } from "../env";

export interface Bucket {
  /** Tokens added per second. */
  rate: number;
  /** Most tokens held at once. */
  burst: number;
}

export class RateLimiterObject extends DurableObject<Env> {
  private tokens: number | null = null;
  private last = 0;

  /** Takes up to `want` tokens; with none to give, says how long until one is there. */
  async take(bucket: Bucket, want: number, now = Date.now()): Promise<{ granted: number; retryAfterMs: number }> {
    if (this.tokens === null) this.tokens = bucket.burst;
    this.tokens = Math.min(bucket.burst, this.tokens + ((now - this.last) / 1000) * bucket.rate);
    this.last = now;
    const granted = Math.min(want, Math.floor(this.tokens));
    this.tokens -= granted;
    return { granted, retryAfterMs: granted > 0 ? 0 : Math.ceil(((1 - this.tokens) / bucket.rate) * 1000) };
  }
}

const LEASE_MS = 1_000;
const leases = new Map<string, { tokens: number; expires: number }>();

export function rateLimited(retryAfterMs: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError({
    status: 429,
    type: "rate_limit_error",
    code: "rate_limit",
    message: `Too many requests hit the API too quickly. Retry after ${seconds} second${seconds === 1 ? "" : "s"}.`,
    retryAfterSeconds: seconds,
  });
}

/** Spends one token of `key`'s bucket, or throws a 429. */
export async function limit(env: Env, key: string, bucket: Bucket): Promise<void> {
  const now = Date.now();
  const lease = leases.get(key);
  if (lease && lease.expires > now && lease.tokens >= 1) {
    lease.tokens -= 1;
    return;
  }
  const want = Math.max(1, Math.floor(bucket.rate / 20));
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
  const { granted, retryAfterMs } = await stub.take(bucket, want);
  if (granted < 1) throw rateLimited(retryAfterMs);
  if (leases.size > 10_000) leases.clear();
  leases.set(key, { tokens: granted - 1, expires: now + LEASE_MS });
}

/** Forgets local leases (tests that change limits). */
export function clearLeases(): void {
  leases.clear();
}
