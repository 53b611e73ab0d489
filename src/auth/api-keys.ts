// Merchant credentials: secret keys (`sk_test_...`, every merchant permission), restricted keys
// (`rk_test_...`, their own permissions), sent as `Authorization: Bearer <key>` or HTTP Basic
// (`curl -u sk_test_...:`); and seed 003's application credentials, `X-Application-Id` with
// `X-Access-Token`. Only SHA-256 hashes are stored; lookups are cached briefly in the isolate by
// that hash, never by the secret.
import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { authenticationFailed, permissionDenied } from "../core/errors";
import { sha256Hex, timingSafeEqual } from "../core/ids";
import { apiKeys } from "../db/schema";
import { isPermission, permissionsFor, ROLE_PERMISSIONS, type Permission, type Principal } from "./permissions";
import type { CredentialCheck } from "./authenticate";

const KEY_PATTERN = /^(sk|rk)_(test|live)_[A-Za-z0-9_]{1,200}$/;
const POSITIVE_TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;
const LAST_USED_EVERY_MS = 60_000;
const CACHE_LIMIT = 10_000;

type KeyRow = typeof apiKeys.$inferSelect;
const cache = new Map<string, { row: KeyRow | null; expires: number }>();
const lastUsedWritten = new Map<string, number>();

export function redactKey(key: string): string {
  return key.length <= 12 ? `${key.slice(0, 3)}***` : `${key.slice(0, 8)}***${key.slice(-4)}`;
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

/**
 * A key's own permissions as stored: null for a secret key (it has every merchant permission); a
 * restricted or application key has exactly its list (none when the list is missing), names this
 * version does not know dropped. The one reader of the column, for authorizing, showing and rolling.
 */
export function storedPermissions(row: Pick<KeyRow, "kind" | "permissions">): Permission[] | null {
  if (row.kind === "secret") return null;
  return (JSON.parse(row.permissions ?? "[]") as string[]).filter((p): p is Permission => isPermission(p));
}

/** A key's own rate limit as stored (an admin's grant), or null for the deployment's default. */
export function storedRateLimit(row: Pick<KeyRow, "rateLimit">): { rate: number; burst: number } | null {
  return row.rateLimit ? (JSON.parse(row.rateLimit) as { rate: number; burst: number }) : null;
}

function principalOf(row: KeyRow, kind: Principal["kind"], actor: string): Principal {
  const explicit = storedPermissions(row);
  const permissions = explicit ? permissionsFor(["merchant"], explicit) : new Set(ROLE_PERMISSIONS.merchant);
  // A rolled key in its overlap works on for the clients moving off it, but makes no credentials: a
  // leaked key rolled with an overlap could otherwise mint a lasting one before it expires.
  if (row.expiresAt !== null) permissions.delete("keys.manage");
  return {
    kind,
    actor,
    keyId: row.id,
    merchantId: row.merchantId,
    livemode: row.livemode,
    roles: ["merchant"],
    permissions,
    customerId: null,
    crossMerchant: false,
    rateLimit: storedRateLimit(row),
  };
}

/** Whether a rolled key's overlap is over (its expiry is set once, when it is rolled, so a cached row stays right). */
export function keyExpired(row: { expiresAt: number | null }, now = Date.now()): boolean {
  return row.expiresAt !== null && row.expiresAt <= now;
}

/** The key's row, from this isolate's cache or else from `load`; without `lookup`, from the cache only (null when not there). */
async function cached(hash: string, load: () => Promise<KeyRow | undefined>, lookup: boolean): Promise<KeyRow | null> {
  const hit = cache.get(hash);
  if (hit && hit.expires > Date.now()) return hit.row;
  if (!lookup) return null;
  const row = (await load()) ?? null;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(hash, { row, expires: Date.now() + (row ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) });
  return row;
}

/** Records when a key was last used, at most once a minute per key and isolate. */
function touch(d1: D1Database, row: KeyRow, waitUntil: (p: Promise<unknown>) => void): void {
  const now = Date.now();
  if ((lastUsedWritten.get(row.id) ?? 0) > now - LAST_USED_EVERY_MS) return;
  lastUsedWritten.set(row.id, now);
  waitUntil(drizzle(d1).update(apiKeys).set({ lastUsed: now }).where(eq(apiKeys.id, row.id)).run().catch(() => undefined));
}

export async function principalFromKey(d1: D1Database, key: string, waitUntil: (p: Promise<unknown>) => void, mode: CredentialCheck = { lookup: true }): Promise<Principal> {
  if (!KEY_PATTERN.test(key)) throw authenticationFailed(`Invalid API Key provided: ${redactKey(key)}`);
  const hash = await sha256Hex(key);
  const row = await cached(hash, async () =>
    (await drizzle(d1).select().from(apiKeys).where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt))).limit(1))[0],
    mode.lookup,
  );
  if (!row || row.kind === "application" || keyExpired(row)) throw authenticationFailed(`Invalid API Key provided: ${redactKey(key)}`);
  touch(d1, row, waitUntil);
  return principalOf(row, "api_key", `api_key:${row.id}`);
}

/** Seed 003: both headers are required (400 without one of them); a wrong pair is a 401. */
export async function principalFromApplication(d1: D1Database, appId: string, token: string, waitUntil: (p: Promise<unknown>) => void, mode: CredentialCheck = { lookup: true }): Promise<Principal> {
  const hash = await sha256Hex(token);
  const row = await cached(`app:${appId}:${hash}`, async () =>
    (await drizzle(d1).select().from(apiKeys).where(and(eq(apiKeys.appId, appId.slice(0, 100)), isNull(apiKeys.revokedAt))).limit(1))[0],
    mode.lookup,
  );
  if (!row || row.kind !== "application" || keyExpired(row) || !timingSafeEqual(row.keyHash, hash)) throw authenticationFailed("Invalid X-Application-Id or X-Access-Token.");
  touch(d1, row, waitUntil);
  return principalOf(row, "application", `application:${appId}`);
}

/** Forgets this isolate's cached lookups (after a key is revoked). */
export function clearKeyCache(): void {
  cache.clear();
}

/**
 * How many credentials behind one are followed (a key made by a key made by a person...). A chain
 * longer than this is not cut short (its root, the person, would go unseen: one could make key after
 * key from their own until the approval no longer reached them): the makers are then unknown, and
 * credentialMakers refuses, so nobody approves what such a credential asked for.
 */
export const MAKERS_DEPTH = 32;

/**
 * The actors behind a credential `actor` (api_key:key_..., application:app_...): who created it, who
 * created that one if it was a key too, and so on, nearest first (revoked keys included: the person
 * stays the same); for a key rolled by another credential, the makers of the key it replaced as well
 * (inherits_makers_of). Empty for a person's token, for `system`, and for keys whose maker is not on
 * record (made before migration 0062, or seeded). Four eyes: whoever made the key that asked for a
 * refund asked for it. A 403 when more than MAKERS_DEPTH credentials stand behind it.
 */
export async function credentialMakers(d1: D1Database, actor: string): Promise<string[]> {
  const makers: string[] = [];
  const queue = [actor];
  let read = 0;
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    const [kind, id] = [current.slice(0, current.indexOf(":")), current.slice(current.indexOf(":") + 1)];
    const where = kind === "api_key" ? eq(apiKeys.id, id) : kind === "application" ? eq(apiKeys.appId, id) : null;
    // A person's token, `system`: nothing behind it.
    if (!where || !id) continue;
    // Still credentials behind credentials: whoever is behind them is not known, so no one may approve.
    if (read >= MAKERS_DEPTH) {
      throw permissionDenied(
        `${actor} was made through more than ${MAKERS_DEPTH} credentials; who is behind it cannot be told, so what it asked for cannot be approved. Reject it, and ask again with a credential made by a person.`,
      );
    }
    read += 1;
    const [row] = await drizzle(d1).select({ createdBy: apiKeys.createdBy, inheritsMakersOf: apiKeys.inheritsMakersOf }).from(apiKeys).where(where).limit(1);
    for (const next of [row?.createdBy ?? null, row?.inheritsMakersOf ?? null]) {
      if (!next || next === actor || makers.includes(next)) continue;
      makers.push(next);
      queue.push(next);
    }
  }
  return makers;
}
