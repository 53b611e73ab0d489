// /v1/api_keys: a merchant's credentials. Secret keys (sk_) have every merchant permission;
// restricted keys (rk_) and applications (seed 003's X-Application-Id + X-Access-Token) have the
// permissions they are given, never more than their creator's. The secret is shown once; only its
// SHA-256 is stored. Revoking takes effect at once in this isolate, within a minute everywhere.
// Rolling mints a new credential like the old one and lets the old one work on for an overlap (up to
// 7 days), so clients move to the new secret without a moment when neither works.
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { audit } from "../../audit/log";
import { clearKeyCache, storedPermissions, storedRateLimit } from "../../auth/api-keys";
import { hasRole, holdsEveryPermission, PERMISSIONS, type Permission, type Principal } from "../../auth/permissions";
import { invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { hasPrefix, randomId, randomToken, sha256Hex } from "../../core/ids";
import { apiKeys } from "../../db/schema";
import { config, type Config, type Env } from "../../env";
import { db } from "../../webhooks/store";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { listable, pageOf } from "../../db/queries";
import { auditContext, json, listObject, pageRequest } from "./respond";
import { route, type App, type Ctx } from "./route";
import { directoryDb } from "../../db/shards";

const CreateBody = z
  .object({
    type: z.enum(["secret", "restricted", "application"]).optional().describe("secret (default): every permission; restricted and application: `permissions`."),
    name: f.text(100).optional(),
    permissions: z.array(z.enum(PERMISSIONS)).min(1).max(PERMISSIONS.length).optional(),
    rate_limit: z
      .object({ per_second: f.integer.pipe(z.number().min(1).max(100_000)), burst: f.integer.pipe(z.number().min(1).max(200_000)) })
      .strict()
      .optional()
      .describe("This credential's own token bucket instead of the configured default."),
  })
  .strict();

/** The longest overlap a rolled key may keep working for: Stripe's Dashboard offers up to 7 days. */
const MAX_ROLL_OVERLAP_S = 7 * 24 * 3600;

const RollBody = z
  .object({
    expires_in: f.integer
      .pipe(z.number().min(0).max(MAX_ROLL_OVERLAP_S))
      .optional()
      .describe("Seconds the old credential keeps working after the roll, 0 (the default: it stops at once) to 604800 (7 days)."),
  })
  .strict();

export interface ApiKeyJson {
  id: string;
  object: "api_key";
  type: string;
  name: string | null;
  redacted: string;
  application_id: string | null;
  permissions: string[] | null;
  rate_limit: { per_second: number; burst: number } | null;
  livemode: boolean;
  created: number;
  last_used: number | null;
  revoked: boolean;
  expires_at: number | null;
  secret?: string;
  access_token?: string;
  rolled_from?: { id: string; expires_at: number | null; revoked: boolean };
}

const ApiKeySchema: z.ZodType<ApiKeyJson> = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    type: z.string(),
    name: z.string().nullable(),
    redacted: z.string(),
    application_id: z.string().nullable(),
    permissions: z.array(z.string()).nullable(),
    rate_limit: z.object({ per_second: z.number(), burst: z.number() }).nullable(),
    livemode: z.boolean(),
    created: z.number().int(),
    last_used: z.number().int().nullable(),
    revoked: z.boolean(),
    expires_at: z.number().int().nullable().describe("Unix seconds after which a rolled credential no longer works; null: no expiry."),
    secret: z.string().optional().describe("Only in the answer that creates (or rolls to) a secret or restricted key."),
    access_token: z.string().optional().describe("Only in the answer that creates (or rolls to) an application."),
    rolled_from: z
      .object({ id: z.string(), expires_at: z.number().int().nullable(), revoked: z.boolean() })
      .optional()
      .describe("Only in a roll's answer: the credential this one replaces, and until when it works."),
  })
  .meta({ id: "ApiKey" });

type KeyRow = typeof apiKeys.$inferSelect;
const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function renderKey(row: KeyRow, shown: { secret?: string; access_token?: string } = {}): ApiKeyJson {
  const limit = storedRateLimit(row);
  return {
    id: row.id,
    object: "api_key",
    type: row.kind,
    name: row.name,
    redacted: row.redacted,
    application_id: row.appId,
    permissions: storedPermissions(row),
    rate_limit: limit ? { per_second: limit.rate, burst: limit.burst } : null,
    livemode: row.livemode,
    created: seconds(row.created) ?? 0,
    last_used: seconds(row.lastUsed),
    revoked: row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= Date.now()),
    expires_at: seconds(row.expiresAt),
    ...shown,
  };
}

/** Mints a credential for a merchant; the secret is returned, only its hash is stored. */
export async function mintKey(
  d1: D1Database,
  merchantId: string,
  livemode: boolean,
  type: "secret" | "restricted" | "application",
  options: { name?: string; permissions?: Permission[]; rateLimit?: { rate: number; burst: number }; createdBy?: string; inheritsMakersOf?: string } = {},
): Promise<{ row: KeyRow; shown: { secret?: string; access_token?: string } }> {
  const mode = livemode ? "live" : "test";
  const secret = type === "application" ? `tok_${randomToken(40)}` : `${type === "secret" ? "sk" : "rk"}_${mode}_${randomToken(40)}`;
  const appId = type === "application" ? randomId("app") : null;
  const row: KeyRow = {
    id: randomId("key"),
    merchantId,
    keyHash: await sha256Hex(secret),
    redacted: type === "application" ? `${appId} tok_***${secret.slice(-4)}` : `${secret.slice(0, 8)}***${secret.slice(-4)}`,
    livemode,
    kind: type,
    name: options.name ?? null,
    permissions: type === "secret" ? null : JSON.stringify(options.permissions ?? []),
    appId,
    rateLimit: options.rateLimit ? JSON.stringify(options.rateLimit) : null,
    created: Date.now(),
    lastUsed: null,
    revokedAt: null,
    createdBy: options.createdBy ?? null,
    expiresAt: null,
    inheritsMakersOf: options.inheritsMakersOf ?? null,
  };
  await db(d1).insert(apiKeys).values(row);
  return { row, shown: type === "application" ? { access_token: secret } : { secret } };
}

function assertCanGrant(principal: Principal, type: string, permissions: readonly Permission[] | undefined): void {
  if (type === "secret" && !holdsEveryPermission(principal)) throw permissionDenied("Only a credential with every permission can create a secret key.");
  for (const p of permissions ?? []) if (!principal.permissions.has(p)) throw permissionDenied(`You cannot grant a permission you do not hold: '${p}'.`);
}

/** Revoking is managing: the key's permissions must all be the caller's. */
function assertCanManage(principal: Principal, row: KeyRow): void {
  const held = storedPermissions(row) ?? PERMISSIONS;
  const beyond = held.filter((p) => !principal.permissions.has(p));
  if (beyond.length > 0) throw permissionDenied(`You cannot manage a key that holds permissions you do not: ${beyond.join(", ")}.`);
}

/** A credential's own rate above the deployment's default needs an admin (below it, anyone may slow a key down). */
function assertCanSetRate(principal: Principal, cfg: Config, rate: { per_second: number; burst: number } | undefined): void {
  if (!rate || hasRole(principal, "admin")) return;
  if (rate.per_second > cfg.rateLimitPerKey || rate.burst > cfg.rateLimitBurstPerKey) {
    throw permissionDenied(
      `Only an admin can give a credential a rate limit above the default (${cfg.rateLimitPerKey} per second, burst ${cfg.rateLimitBurstPerKey}).`,
    );
  }
}

const TAG = "API keys";
const KEYS = listable(apiKeys, "api_key");
const ListQuery = z.object(f.pageFields).strict();

/** One of the caller's merchant's keys, in the caller's mode; a 404 otherwise. */
async function ownKey(env: Env, principal: Principal, id: string): Promise<KeyRow> {
  const [row] = hasPrefix(id, "key")
    ? await db(directoryDb(env))
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.merchantId, principal.merchantId), eq(apiKeys.livemode, principal.livemode)))
        .limit(1)
    : [];
  if (!row) throw resourceMissing("api_key", id.slice(0, 80), "id");
  return row;
}

/**
 * Rolls a credential: a new one of the same kind, name, permissions and rate limit (a new secret; an
 * application gets a new application id too), and the old one stops after `expiresIn` seconds (at once
 * for 0). The old key is claimed first, by a conditional update, so two rolls of one key make one new
 * key: the second finds it already rolled. If minting then fails, the claim is undone.
 */
async function rollKey(c: Ctx, principal: Principal, row: KeyRow, expiresIn: number): Promise<{ status: number; body: ApiKeyJson }> {
  const d1 = directoryDb(c.env);
  const now = Date.now();
  const expiresAt = now + expiresIn * 1000;
  const claim = { expiresAt, ...(expiresIn === 0 ? { revokedAt: now } : {}) };
  const [claimed] = await db(d1)
    .update(apiKeys)
    .set(claim)
    .where(and(eq(apiKeys.id, row.id), isNull(apiKeys.revokedAt), isNull(apiKeys.expiresAt)))
    .returning();
  if (!claimed) {
    throw invalidRequest(
      row.revokedAt !== null ? "This API key is revoked; it cannot be rolled." : "This API key was already rolled; roll the key that replaced it, or revoke this one to end its overlap now.",
      "id",
      "api_key_not_rollable",
    );
  }
  let minted: Awaited<ReturnType<typeof mintKey>>;
  try {
    const limit = storedRateLimit(row) ?? undefined;
    const kind = row.kind === "restricted" || row.kind === "application" ? row.kind : "secret";
    const permissions = storedPermissions(row) ?? undefined;
    // Four eyes follows a key's makers back to a person (credentialMakers). A key rolling itself is the
    // same credential going on: the new one has the old one's makers, so rotating routinely never puts
    // the person who made the first key further away (past the depth the makers are followed to).
    // Rolled by another credential, the new secret is that one's holder's, who is its maker; and the
    // old key's makers stay behind it (inherits_makers_of): a person cannot approve what a key they
    // made asks for once someone else rolled it for them.
    const self = principal.keyId === row.id;
    const createdBy = self ? (row.createdBy ?? principal.actor) : principal.actor;
    const inheritsMakersOf = self ? row.inheritsMakersOf : row.kind === "application" && row.appId ? `application:${row.appId}` : `api_key:${row.id}`;
    minted = await mintKey(d1, row.merchantId, row.livemode, kind, { name: row.name ?? undefined, permissions, rateLimit: limit, createdBy, inheritsMakersOf: inheritsMakersOf ?? undefined });
  } catch (err) {
    // Only our claim is undone: a revocation (DELETE) that came in meanwhile stands.
    await db(d1)
      .update(apiKeys)
      .set({ expiresAt: null, revokedAt: null })
      .where(and(eq(apiKeys.id, row.id), eq(apiKeys.expiresAt, expiresAt), expiresIn === 0 ? eq(apiKeys.revokedAt, now) : isNull(apiKeys.revokedAt)));
    throw err;
  }
  clearKeyCache();
  const old = renderKey(claimed);
  audit(auditContext(c), principal, { action: "api_keys.create", objectType: "api_key", objectId: minted.row.id, statusAfter: "active", httpStatus: 200, details: { type: minted.row.kind, name: minted.row.name, rolled_from: row.id } });
  audit(auditContext(c), principal, { action: "api_keys.roll", objectType: "api_key", objectId: row.id, statusBefore: "active", statusAfter: expiresIn === 0 ? "revoked" : "expiring", httpStatus: 200, details: { replaced_by: minted.row.id, expires_at: String(old.expires_at) } });
  return { status: 200, body: { ...renderKey(minted.row, minted.shown), rolled_from: { id: old.id, expires_at: old.expires_at, revoked: old.revoked } } };
}

export function registerApiKeys(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/api_keys", permission: "keys.manage", summary: "Create an API key (secret, restricted) or an application credential; the secret is shown once", tag: TAG, body: CreateBody, response: ApiKeySchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "api_keys.create", "", body, async () => {
        const type = body.type ?? "secret";
        if (type !== "secret" && !body.permissions) throw invalidRequest(`A ${type} credential needs permissions.`, "permissions", "parameter_missing");
        if (type === "secret" && body.permissions) throw invalidRequest("A secret key has every permission; use type=restricted to choose them.", "permissions");
        assertCanGrant(principal, type, body.permissions);
        assertCanSetRate(principal, config(c.env), body.rate_limit);
        const { row, shown } = await mintKey(directoryDb(c.env), principal.merchantId, principal.livemode, type, {
          name: body.name,
          permissions: body.permissions,
          rateLimit: body.rate_limit ? { rate: body.rate_limit.per_second, burst: body.rate_limit.burst } : undefined,
          createdBy: principal.actor,
        });
        audit(auditContext(c), principal, { action: "api_keys.create", objectType: "api_key", objectId: row.id, statusAfter: "active", httpStatus: 200, details: { type, name: row.name } });
        return { status: 200, body: renderKey(row, shown) };
      }),
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/api_keys",
      permission: "keys.manage",
      summary: "The merchant's API keys, newest first: redacted, with permissions, creation and last use",
      tag: TAG,
      query: ListQuery,
      response: z.object({ object: z.literal("list"), data: z.array(ApiKeySchema), has_more: z.boolean(), url: z.string() }).meta({ id: "ApiKeyList" }),
    },
    async (c, { query, principal }) => {
      const d1 = directoryDb(c.env);
      const page = await pageOf(d1, KEYS, principal, [], pageRequest(query), (where, order, limit) => db(d1).select().from(apiKeys).where(where).orderBy(...order).limit(limit));
      return json(c, listObject("/v1/api_keys", page, (row) => renderKey(row)));
    },
  );

  route(
    app,
    { method: "delete", path: "/v1/api_keys/{id}", permission: "keys.manage", summary: "Revoke an API key", tag: TAG, response: ApiKeySchema },
    async (c, { params, principal }) => {
      const row = await ownKey(c.env, principal, params.id ?? "");
      // A credential manages only credentials with at most its own permissions: a restricted key with
      // keys.manage cannot revoke a secret key (nor one that holds anything it lacks).
      assertCanManage(principal, row);
      const revokedAt = row.revokedAt ?? Date.now();
      await db(directoryDb(c.env)).update(apiKeys).set({ revokedAt }).where(eq(apiKeys.id, row.id));
      clearKeyCache();
      audit(auditContext(c), principal, { action: "api_keys.revoke", objectType: "api_key", objectId: row.id, statusBefore: row.revokedAt ? "revoked" : "active", statusAfter: "revoked", httpStatus: 200 });
      return json(c, renderKey({ ...row, revokedAt }));
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/api_keys/{id}/roll",
      permission: "keys.manage",
      summary: "Roll an API key: a new secret with the same permissions (shown once); the old one works on for `expires_in` seconds (at most 7 days)",
      tag: TAG,
      body: RollBody,
      response: ApiKeySchema,
    },
    async (c, { params, body, principal }) => {
      const row = await ownKey(c.env, principal, params.id ?? "");
      // As revoking: only a credential holding every permission of the key may roll it (the new
      // secret carries them all).
      assertCanManage(principal, row);
      return idempotentD1(c, principal, "api_keys.roll", row.id, body, () => rollKey(c, principal, row, body.expires_in ?? 0));
    },
  );
}
