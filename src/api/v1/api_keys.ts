// /v1/api_keys: a merchant's credentials. Secret keys (sk_) have every merchant permission;
// restricted keys (rk_) and applications (seed 003's X-Application-Id + X-Access-Token) have the
// permissions they are given, never more than their creator's. The secret is shown once; only its
// SHA-256 is stored. Revoking takes effect at once in this isolate, within a minute everywhere.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { audit } from "../../audit/log";
import { clearKeyCache } from "../../auth/api-keys";
import { hasRole, holdsEveryPermission, PERMISSIONS, type Permission, type Principal } from "../../auth/permissions";
import { invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { hasPrefix, randomId, randomToken, sha256Hex } from "../../core/ids";
import { apiKeys } from "../../db/schema";
import { config, type Config } from "../../env";
import { db } from "../../webhooks/store";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { listable, pageOf } from "../../db/queries";
import { auditContext, json, listObject, pageRequest } from "./respond";
import { route, type App } from "./route";
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
  secret?: string;
  access_token?: string;
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
    secret: z.string().optional().describe("Only in the answer that creates a secret or restricted key."),
    access_token: z.string().optional().describe("Only in the answer that creates an application."),
  })
  .meta({ id: "ApiKey" });

type KeyRow = typeof apiKeys.$inferSelect;
const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function renderKey(row: KeyRow, shown: { secret?: string; access_token?: string } = {}): ApiKeyJson {
  const limit = row.rateLimit ? (JSON.parse(row.rateLimit) as { rate: number; burst: number }) : null;
  return {
    id: row.id,
    object: "api_key",
    type: row.kind,
    name: row.name,
    redacted: row.redacted,
    application_id: row.appId,
    permissions: row.permissions ? (JSON.parse(row.permissions) as string[]) : null,
    rate_limit: limit ? { per_second: limit.rate, burst: limit.burst } : null,
    livemode: row.livemode,
    created: seconds(row.created) ?? 0,
    last_used: seconds(row.lastUsed),
    revoked: row.revokedAt !== null,
    ...shown,
  };
}

/** Mints a credential for a merchant; the secret is returned, only its hash is stored. */
export async function mintKey(
  d1: D1Database,
  merchantId: string,
  livemode: boolean,
  type: "secret" | "restricted" | "application",
  options: { name?: string; permissions?: Permission[]; rateLimit?: { rate: number; burst: number }; createdBy?: string } = {},
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
  const held = row.kind === "secret" || row.permissions === null ? [...PERMISSIONS] : (JSON.parse(row.permissions) as string[]);
  const beyond = held.filter((p) => !principal.permissions.has(p as Permission));
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
const ListQuery = z.object({ limit: f.limit.optional(), starting_after: f.text(100).optional(), ending_before: f.text(100).optional() }).strict();

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
      const id = params.id ?? "";
      const [row] = hasPrefix(id, "key")
        ? await db(directoryDb(c.env))
            .select()
            .from(apiKeys)
            .where(and(eq(apiKeys.id, id), eq(apiKeys.merchantId, principal.merchantId), eq(apiKeys.livemode, principal.livemode)))
            .limit(1)
        : [];
      if (!row) throw resourceMissing("api_key", id.slice(0, 80), "id");
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
}
