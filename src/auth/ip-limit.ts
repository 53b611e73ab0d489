// Limits per client IP: one token bucket per IP on the routes that take no credential (PSP webhooks,
// the pages customers' browsers open), and one per IP for failed authentications on /v1. An IPv6
// client is counted by its /64, the block one subscriber usually holds.
import type { MiddlewareHandler } from "hono";
import ipaddr from "ipaddr.js";
import { config, type Env } from "../env";
import type { ApiError } from "../core/errors";
import { bucketObject, limit, rateLimited } from "./rate-limit";

/**
 * The client's address as a bucket name: IPv4 as is, IPv6 as its /64 ("unknown" without one). Only
 * CF-Connecting-IP, which Cloudflare's edge sets itself (a client's own is replaced); a header any
 * client can send, such as X-Real-IP, would let it pick a fresh bucket for every request.
 */
export function clientIp(header: (name: string) => string | undefined): string {
  const raw = (header("cf-connecting-ip") ?? "").trim();
  if (!raw) return "unknown";
  if (!ipaddr.isValid(raw)) return raw.slice(0, 64);
  const addr = ipaddr.process(raw);
  if (addr.kind() === "ipv4") return addr.toString();
  const groups = addr.toNormalizedString().split(":").slice(0, 4);
  return `${ipaddr.IPv6.parse(`${groups.join(":")}::`).toString()}/64`;
}

export const ipRateLimit: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  await limitClientIp(c.env, (n) => c.req.header(n));
  await next();
};

/** Takes one request from the client IP's budget; over it, throws the 429 (a surface renders it in its own format). */
export async function limitClientIp(env: Env, header: (name: string) => string | undefined): Promise<void> {
  const cfg = config(env);
  await limit(env, `ip:${clientIp(header)}`, { rate: cfg.rateLimitPerIp, burst: cfg.rateLimitBurstPerIp });
}

/** The bucket of an IP's failed authentications. */
export function authFailureBucket(ip: string): string {
  return `auth-failures:${ip}`;
}

/** IPs whose authentication failed lately in this isolate, and when (ms). Only they pay for the check. */
const suspects = new Map<string, number>();
const SUSPECT_MS = 15 * 60_000;
const TOO_MANY_FAILURES = "Too many failed authentications from this address.";

function failureBucket(env: Env) {
  const cfg = config(env);
  return { rate: cfg.rateLimitAuthFailuresPerMinute / 60, burst: cfg.rateLimitAuthFailuresBurst };
}

/**
 * Before any credential is looked up: the 429 to answer when this IP has used up its failed
 * authentications, else null. Only an IP that failed lately in this isolate is checked, so the other
 * requests make no call for it.
 */
export async function authFailuresExhausted(env: Env, ip: string): Promise<ApiError | null> {
  const since = suspects.get(ip);
  if (since === undefined) return null;
  if (Date.now() - since > SUSPECT_MS) {
    suspects.delete(ip);
    return null;
  }
  const bucket = failureBucket(env);
  const { tokens, retryAfterMs } = await bucketObject(env, authFailureBucket(ip)).peek(bucket);
  if (tokens < 1) return rateLimited(retryAfterMs, TOO_MANY_FAILURES);
  if (tokens >= bucket.burst && suspects.get(ip) === since) suspects.delete(ip); // refilled: no longer a suspect
  return null;
}

/** Counts one failed authentication of `ip`: returns within the limit (the caller answers 401), else throws a 429. */
export async function countAuthFailure(env: Env, ip: string): Promise<void> {
  if (suspects.size >= 10_000) suspects.clear();
  suspects.set(ip, Date.now());
  // Exact (no lease): assertAuthAllowed peeks this bucket's object, which must hold every unspent token.
  await limit(env, authFailureBucket(ip), failureBucket(env), TOO_MANY_FAILURES, { exact: true });
}
