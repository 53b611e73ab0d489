// Merchant API keys (`sk_test_...`, `sk_live_...`), sent as `Authorization: Bearer <key>` or as the
// user of HTTP Basic auth (`curl -u sk_test_...:`). Only the SHA-256 of a key is stored; lookups are
// cached briefly in the isolate by that hash, never by the key itself.
import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { authenticationFailed } from "../core/errors";
import { sha256Hex } from "../core/ids";
import type { Scope } from "../core/types";
import { apiKeys } from "../db/schema";

export interface Principal extends Scope {
  keyId: string;
}

const KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9_]{1,200}$/;
const POSITIVE_TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;
const CACHE_LIMIT = 10_000;
const cache = new Map<string, { principal: Principal | null; expires: number }>();

export function redactKey(key: string): string {
  return key.length <= 12 ? "sk_***" : `${key.slice(0, 8)}***${key.slice(-4)}`;
}

export function keyFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return null;
  if (scheme.toLowerCase() === "bearer") return value;
  if (scheme.toLowerCase() === "basic") {
    try {
      return atob(value).split(":")[0] ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

export async function authenticateApiKey(d1: D1Database, header: string | undefined): Promise<Principal> {
  const key = keyFromHeader(header);
  if (!key) {
    throw authenticationFailed(
      "You did not provide an API key. Provide your secret key in the Authorization header, using Bearer auth (Authorization: Bearer sk_test_...).",
    );
  }
  if (!KEY_PATTERN.test(key)) throw authenticationFailed(`Invalid API Key provided: ${redactKey(key)}`);
  const hash = await sha256Hex(key);
  const now = Date.now();
  const hit = cache.get(hash);
  let principal: Principal | null;
  if (hit && hit.expires > now) {
    principal = hit.principal;
  } else {
    const rows = await drizzle(d1)
      .select({ id: apiKeys.id, merchantId: apiKeys.merchantId, livemode: apiKeys.livemode })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
      .limit(1);
    const row = rows[0];
    principal = row ? { keyId: row.id, merchantId: row.merchantId, livemode: row.livemode } : null;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(hash, { principal, expires: now + (principal ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) });
  }
  if (!principal) throw authenticationFailed(`Invalid API Key provided: ${redactKey(key)}`);
  return principal;
}

/** Clears the lookup cache (tests that revoke keys). */
export function clearKeyCache(): void {
  cache.clear();
}
