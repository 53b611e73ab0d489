// Token buckets, one Durable Object per bucket (a credential; a client IP on the routes without
// credentials; a client IP's failed authentications). Every request asks its bucket's object for
// exactly one token, so the count is exact: no token is taken for a request that does not get it,
// and none is left stranded in an isolate. (Leasing tokens to isolates saved calls but lost tokens:
// concurrent lease misses each took a lease and overwrote one another's. Requests cannot share one
// call either: a Worker request cannot wait on a promise that another request settles.) Over the
// limit: 429 with Retry-After and Stripe's rate_limit_error. The object reads the time through a
// clock that tests can install per bucket.
// The count lives in the object's memory and is saved to its storage at most every SAVE_EVERY_MS:
// the takes in between are saved together. One storage write per request made the bucket's object
// (one per credential, serializing its calls) the slowest step of a create under load. An idle
// object is evicted long after its last save, so eviction never refills a bucket; a crash of the
// object can forget at most the last SAVE_EVERY_MS of takes (the bucket comes back that much fuller).
import { DurableObject } from "cloudflare:workers";
import { ApiError } from "../core/errors";
import type { Env } from "../env";

/** How long takes may wait in memory before they are saved (all of them in one write). */
export const SAVE_EVERY_MS = 100;

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
  /**
   * Clocks installed by tests, per bucket object id (`idFromName(key).toString()`), to freeze or
   * step time. Kept on the class rather than the instance so that they outlive an instance the
   * runtime evicts while idle. Nothing else sets them: every other bucket reads Date.now().
   */
  static readonly clocks = new Map<string, () => number>();
  /** The bucket, loaded from storage on first use and saved SAVE_EVERY_MS after a take (see save). */
  private tokens: number | null = null;
  private last = 0;
  private saveScheduled = false;

  private clock(): number {
    return (RateLimiterObject.clocks.get(this.ctx.id.toString()) ?? Date.now)();
  }

  /** Takes up to `want` tokens, first come first served; says how long until one more is there. */
  take(bucket: Bucket, want: number): Taken {
    const tokens = this.refill(bucket);
    const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(tokens)));
    this.tokens = tokens - granted;
    this.save();
    return { granted, retryAfterMs: granted < want ? this.untilNext(bucket) : 0 };
  }

  /** The whole tokens there now, taking none, and (with none) how long until one is there. */
  peek(bucket: Bucket): { tokens: number; retryAfterMs: number } {
    const tokens = Math.floor(this.refill(bucket));
    return { tokens, retryAfterMs: tokens >= 1 ? 0 : this.untilNext(bucket) };
  }

  private refill(bucket: Bucket): number {
    const now = this.clock();
    if (this.tokens === null) {
      // A bucket outlives its object's instance (evicted when idle): a fresh burst only the first time.
      const saved = this.ctx.storage.kv.get<{ tokens: number; last: number }>("bucket");
      this.tokens = saved?.tokens ?? bucket.burst;
      this.last = saved?.last ?? now;
    }
    const elapsed = Math.max(0, now - this.last);
    this.tokens = Math.min(bucket.burst, this.tokens + (elapsed / 1000) * bucket.rate);
    this.last = now;
    return this.tokens;
  }

  private save(): void {
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    setTimeout(() => this.persist(), SAVE_EVERY_MS);
  }

  /** The scheduled save: the bucket as it is now, all takes since the last save in one write. */
  private persist(): void {
    this.saveScheduled = false;
    if (this.tokens !== null) this.ctx.storage.kv.put("bucket", { tokens: this.tokens, last: this.last });
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

/** The Durable Object of a bucket. */
export function bucketObject(env: Env, key: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/** Spends one token of `key`'s bucket, or throws a 429 (with `what` as its first sentence). */
export async function limit(env: Env, key: string, bucket: Bucket, what?: string): Promise<void> {
  const { granted, retryAfterMs } = await bucketObject(env, key).take(bucket, 1);
  if (granted < 1) throw rateLimited(retryAfterMs, what);
}
