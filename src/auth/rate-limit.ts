// Token buckets, one Durable Object per bucket (a credential; a client IP on the routes without
// credentials; a client IP's failed authentications). Every request asks its bucket's object for
// exactly one token, so the count is exact: no token is taken for a request that does not get it,
// and none is left stranded in an isolate. (Leasing tokens to isolates saved calls but lost tokens:
// concurrent lease misses each took a lease and overwrote one another's. Requests cannot share one
// call either: a Worker request cannot wait on a promise that another request settles.) Over the
// limit: 429 with Retry-After and Stripe's rate_limit_error. The object reads the time through
// `clock`, which tests replace.
import { DurableObject } from "cloudflare:workers";
import { ApiError } from "../core/errors";
import type { Env } from "../env";

export interface Bucket {
  /** Tokens added per second. */
  rate: number;
  /** Most tokens held at once. */
  burst: number;
}

export interface Taken {
  granted: number;
  /** When fewer than wanted were granted: how long until the next token is there. */
  retryAfterMs: number;
}

export class RateLimiterObject extends DurableObject<Env> {
  /** Where the bucket reads the time. Tests set it (runInDurableObject) to freeze or step time. */
  clock: () => number = () => Date.now();
  private tokens: number | null = null;
  private last = 0;

  /** Takes up to `want` tokens, first come first served; says how long until one more is there. */
  take(bucket: Bucket, want: number): Taken {
    const tokens = this.refill(bucket);
    const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(tokens)));
    this.tokens = tokens - granted;
    return { granted, retryAfterMs: granted < want ? this.untilNext(bucket) : 0 };
  }

  /** The whole tokens there now, taking none, and (with none) how long until one is there. */
  peek(bucket: Bucket): { tokens: number; retryAfterMs: number } {
    const tokens = Math.floor(this.refill(bucket));
    return { tokens, retryAfterMs: tokens >= 1 ? 0 : this.untilNext(bucket) };
  }

  private refill(bucket: Bucket): number {
    const now = this.clock();
    const before = this.tokens ?? bucket.burst;
    const elapsed = this.tokens === null ? 0 : Math.max(0, now - this.last);
    this.tokens = Math.min(bucket.burst, before + (elapsed / 1000) * bucket.rate);
    this.last = now;
    return this.tokens;
  }

  private untilNext(bucket: Bucket): number {
    return Math.ceil(((1 - (this.tokens ?? 0)) / bucket.rate) * 1000);
  }
}

export function rateLimited(retryAfterMs: number, what = "Too many requests hit the API too quickly."): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError({
    status: 429,
    type: "rate_limit_error",
    code: "rate_limit",
    message: `${what} Retry after ${seconds} second${seconds === 1 ? "" : "s"}.`,
    retryAfterSeconds: seconds,
  });
}

/** The Durable Object of a bucket (tests set its clock). */
export function bucketObject(env: Env, key: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/** Spends one token of `key`'s bucket, or throws a 429 (with `what` as its first sentence). */
export async function limit(env: Env, key: string, bucket: Bucket, what?: string): Promise<void> {
  const { granted, retryAfterMs } = await bucketObject(env, key).take(bucket, 1);
  if (granted < 1) throw rateLimited(retryAfterMs, what);
}
