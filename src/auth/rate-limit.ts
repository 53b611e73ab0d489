// Token buckets, one Durable Object per bucket (a credential; a client IP on the routes without
// credentials; a client IP's failed authentications). Over the limit: 429 with Retry-After and
// Stripe's rate_limit_error. The object reads the time through a clock that tests can install per
// bucket.
// A request that finds no token in its isolate asks the bucket's object for a lease: as many tokens
// as this isolate saw requests for that bucket in the last LEASE_TTL_MS (one for a key it rarely
// sees), at most what the bucket refills in LEASE_WINDOW_MS, MAX_LEASE and a tenth of the burst. It
// keeps one and leaves the rest for the next requests with the same key, for at most LEASE_TTL_MS;
// tokens left over then are dropped, never returned. So no request gets through without a token the
// object granted (the count never goes above the limit), a hot key costs one object call per lease
// instead of one per request (in production the object may be a continent away), and what an
// isolate can strand is about what it used in its last window, never a lease per request: a key
// spread thin over many isolates leases one token at a time, as before, and is not refused early.
// A bucket that is also peeked (`exact`: failed authentications) always takes one token per call,
// since its object must hold every token not spent. Concurrent misses each take a lease and add it
// to the isolate's tokens (never overwrite them), then take their one token from there: 200
// requests on a burst of 120 get exactly 120 through.
// The count lives in the object's memory and is saved to its storage at most every SAVE_EVERY_MS:
// the takes in between are saved together. One storage write per request made the bucket's object
// (one per credential, serializing its calls) the slowest step of a create under load. An idle
// object is evicted long after its last save, so eviction never refills a bucket; a crash of the
// object can forget at most the last SAVE_EVERY_MS of takes (the bucket comes back that much fuller).
import { DurableObject } from "cloudflare:workers";
import { ApiError } from "../core/errors";
import { config, type Env } from "../env";
import type { Principal } from "./permissions";

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

/** The most a lease asks for: the tokens its bucket refills in this long. */
export const LEASE_WINDOW_MS = 100;
/** Leased tokens not spent this long after the last lease are dropped; demand is counted over windows this long. */
export const LEASE_TTL_MS = 200;
const MAX_LEASE = 50;
/** Above this many keys, idle ones are swept from the isolate (all of them, if most are busy). */
const LEASE_KEYS_SWEPT_ABOVE = 10_000;

/** What this isolate knows of one bucket: the tokens it holds, and how many requests it saw lately. */
interface Lease {
  tokens: number;
  /** When the tokens held are dropped (in the bucket's clock). */
  expires: number;
  /** The bucket's clock (a test's, when it installed one), so leases and windows go by the bucket's time. */
  clock: () => number;
  windowStart: number;
  /** Requests seen in the current window. */
  seen: number;
  /** Requests seen in the window before it: the size of the next lease. */
  lastSeen: number;
}

const leases = new Map<string, Lease>();

/** The most tokens one call to the bucket's object asks for. */
export function leaseSize(bucket: Bucket): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor((bucket.rate * LEASE_WINDOW_MS) / 1000), Math.floor(bucket.burst / 10)));
}

function leaseOf(env: Env, key: string): Lease {
  let lease = leases.get(key);
  if (!lease) {
    if (leases.size > LEASE_KEYS_SWEPT_ABOVE) {
      for (const [k, l] of leases) if (l.clock() - l.windowStart > 2 * LEASE_TTL_MS && (l.tokens < 1 || l.expires <= l.clock())) leases.delete(k);
      // Still mostly busy keys (many client IPs at once): start over rather than scan again on the
      // next new key. Dropped leases only make the limit stricter for a moment.
      if (leases.size > LEASE_KEYS_SWEPT_ABOVE / 2) leases.clear();
    }
    const clock = RateLimiterObject.clocks.get(env.RATE_LIMITER.idFromName(key).toString()) ?? Date.now;
    lease = { tokens: 0, expires: 0, clock, windowStart: clock(), seen: 0, lastSeen: 0 };
    leases.set(key, lease);
  }
  return lease;
}

/**
 * Spends one token of `key`'s bucket, or throws a 429 (with `what` as its first sentence). A token
 * this isolate holds is spent without a call; otherwise the call asks for as many as this isolate saw
 * requests for the bucket in the last window (one for a key it rarely sees), at most `leaseSize`.
 * `exact`: one token per call, never held (a bucket that is also peeked, as the failed
 * authentications', must hold every token it has not spent).
 */
export async function limit(env: Env, key: string, bucket: Bucket, what?: string, options: { exact?: boolean } = {}): Promise<void> {
  if (options.exact) {
    const { granted, retryAfterMs } = await bucketObject(env, key).take(bucket, 1);
    if (granted < 1) throw rateLimited(retryAfterMs, what);
    return;
  }
  const lease = leaseOf(env, key);
  const now = lease.clock();
  if (now - lease.windowStart >= LEASE_TTL_MS) {
    // A window with no request in between counts as none.
    lease.lastSeen = now - lease.windowStart < 2 * LEASE_TTL_MS ? lease.seen : 0;
    lease.seen = 0;
    lease.windowStart = now;
  }
  lease.seen += 1;
  if (lease.tokens >= 1 && lease.expires > now) {
    lease.tokens -= 1;
    return;
  }
  const want = Math.min(leaseSize(bucket), Math.max(1, lease.lastSeen));
  const { granted, retryAfterMs } = await bucketObject(env, key).take(bucket, want);
  const after = lease.clock();
  if (lease.expires <= after) lease.tokens = 0; // left over from an expired lease: dropped
  // Added, never overwritten: concurrent misses each bring their lease.
  lease.tokens += granted;
  if (granted > 0) lease.expires = after + LEASE_TTL_MS;
  if (lease.tokens >= 1) {
    lease.tokens -= 1;
    return;
  }
  throw rateLimited(retryAfterMs, what);
}

/**
 * The bucket of a credential. A key or an application has its own. A token is counted within what it
 * acts for: its merchant (or every merchant, for admin and support), its mode and its customer, then
 * its subject; two merchants' tokens with one `sub`, or with none, never share a bucket.
 */
export function credentialBucket(principal: Principal): string {
  if (principal.kind !== "jwt") return `credential:${principal.actor}`;
  const scope = `${principal.crossMerchant ? "*" : principal.merchantId}:${principal.livemode ? "live" : "test"}${principal.customerId ? `:${principal.customerId}` : ""}`;
  return `credential:${scope}:${principal.actor}`;
}

/**
 * The bucket every API key and application of one merchant share (per mode), or null for a credential
 * that is not one a merchant makes for itself (tokens are minted by the deployment's issuer). Without
 * it a merchant could multiply its limit by creating keys.
 */
export function merchantBucket(principal: Principal): string | null {
  if (principal.kind === "jwt" || !principal.merchantId) return null;
  return `merchant:${principal.merchantId}:${principal.livemode ? "live" : "test"}`;
}

/**
 * Spends one token of the credential's bucket (its own limit, or the deployment's default), then one
 * of its merchant's (at least the credential's own limit, so a limit an admin raised still holds), or
 * throws the 429.
 */
export async function limitCredential(env: Env, principal: Principal): Promise<void> {
  const cfg = config(env);
  const own = principal.rateLimit ?? { rate: cfg.rateLimitPerKey, burst: cfg.rateLimitBurstPerKey };
  await limit(env, credentialBucket(principal), own);
  const merchant = merchantBucket(principal);
  if (merchant) {
    const shared = { rate: Math.max(cfg.rateLimitPerMerchant, own.rate), burst: Math.max(cfg.rateLimitBurstPerMerchant, own.burst) };
    await limit(env, merchant, shared, "Too many requests for this merchant, across all of its API keys.");
  }
}
