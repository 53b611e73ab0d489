// The plumbing of seed 002's surface: a Hono sub-app whose every route authenticates (API key or JWT),
// checks the seed's permission and the merchant's `payments` entitlement, validates with zod, and
// renders every error, unknown paths included, in the seed's format. Routes are also registered in
// the OpenAPI document.
import type { Hono } from "hono";
import { z } from "zod";
import type { Permission, Principal } from "../../auth/permissions";
import { nullsAsAbsent, readBodyParams, queryParams } from "../../http/body";
import type { Env } from "../../env";
import { surfacePrincipal } from "../common/surface-auth";
import { routeMiss } from "../common/allowed-methods";
import type { App, AppEnv, Ctx } from "../v1/route";
import { forbidden, parsePos, PosError, renderPosError, validation } from "./errors";
import { directoryDb } from "../../db/shards";

export const PosErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.array(z.record(z.string(), z.unknown())) }) })
  .meta({ id: "PosError" });

export interface PosRouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  method: "get" | "post" | "delete";
  /** Relative to /api/v1, OpenAPI style: /payments/transactions/{id}. */
  path: string;
  permission: Permission;
  summary: string;
  body?: B;
  query?: Q;
  response: z.ZodType;
  successStatus?: 200 | 201;
  /** A customer's token may call it (it then acts only on its own payments and cards). */
  customers?: boolean;
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface PosInput<B, Q> {
  principal: Principal;
  body: Out<B>;
  query: Out<Q>;
  params: Record<string, string>;
}

const TAG = "POS gateway (seed 002)";
export const BASE = "/api/v1";

const entitlementCache = new Map<string, { on: boolean; expires: number }>();
const ENTITLEMENT_TTL_MS = 5_000;

/** The merchant's `payments` entitlement (on unless turned off; a merchant without a row is on). */
export async function paymentsEntitled(env: Env, merchantId: string): Promise<boolean> {
  const hit = entitlementCache.get(merchantId);
  if (hit && hit.expires > Date.now()) return hit.on;
  const row = await directoryDb(env).prepare("SELECT payments_entitlement AS on_ FROM merchants WHERE id = ?").bind(merchantId).first<{ on_: number }>();
  const on = row ? row.on_ !== 0 : true;
  if (entitlementCache.size > 10_000) entitlementCache.clear();
  entitlementCache.set(merchantId, { on, expires: Date.now() + ENTITLEMENT_TTL_MS });
  return on;
}

export function posError(c: Ctx, err: unknown): Response {
  const r = renderPosError(err, c.get("requestId"));
  return c.json(r.body, r.status as 400, r.headers);
}

export function posRoute<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  app: App,
  sub: Hono<AppEnv>,
  spec: PosRouteSpec<B, Q>,
  handler: (c: Ctx, input: PosInput<B, Q>) => Promise<Response>,
): void {
  const pathParams = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
  const err = (description: string) => ({ description, content: { "application/json": { schema: PosErrorSchema } } });
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path: BASE + spec.path,
    summary: spec.summary,
    description: `Needs the permission \`${spec.permission}\` and the merchant's \`payments\` entitlement. Errors: {"error": {"code", "message", "details"}}.`,
    tags: [TAG],
    security: [{ bearerAuth: [] }],
    request: {
      ...(pathParams.length ? { params: z.object(Object.fromEntries(pathParams.map((p) => [p, z.string()]))) } : {}),
      ...(spec.query instanceof z.ZodObject ? { query: spec.query } : {}),
      ...(spec.body ? { body: { content: { "application/json": { schema: spec.body } }, required: true } } : {}),
    },
    responses: {
      [spec.successStatus ?? 200]: { description: "OK", content: { "application/json": { schema: spec.response } } },
      400: err("VALIDATION_ERROR"),
      401: err("UNAUTHORIZED"),
      403: err("FORBIDDEN: missing permission or entitlement"),
      404: err("NOT_FOUND"),
      409: err("INVALID_STATE or DUPLICATE_REQUEST"),
      502: err("PROVIDER_ERROR"),
      504: err("PROVIDER_TIMEOUT"),
    },
  });
  const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
  // Also with a trailing slash: the API's framework (a Next.js app, `withMiddleware`) answers
  // /api/v1/payments/sale/ with a 308 to /api/v1/payments/sale, which clients follow with the same
  // method and body, so a client that writes the slash works there; served here as it is.
  sub.on(spec.method.toUpperCase(), [honoPath, `${honoPath}/`], async (c) => {
    try {
      const principal = await surfacePrincipal(c, spec.permission);
      if (principal.customerId && !spec.customers) throw forbidden("A customer's token cannot use this route.");
      if (!(await paymentsEntitled(c.env, principal.merchantId))) throw forbidden("This merchant does not have the payments entitlement.");
      const rawBody = spec.method === "post" ? nullsAsAbsent(await readBodyParams(c.req.raw, { jsonOnly: true })) : {};
      // The standard Idempotency-Key header is this surface's clientRequestId too (every POST takes one):
      // a client that sends the header alone is deduplicated as one that sends the field; both and different: 400.
      const headerKey = c.req.header("idempotency-key");
      if (spec.method === "post" && headerKey !== undefined) {
        if (rawBody.clientRequestId !== undefined && rawBody.clientRequestId !== headerKey) throw validation("Idempotency-Key and clientRequestId differ: send one of them.", "clientRequestId");
        rawBody.clientRequestId = headerKey;
      }
      const body = (spec.body ? parsePos(spec.body, rawBody) : {}) as Out<B>;
      const query = (spec.query ? parsePos(spec.query, queryParams(c.req.url)) : {}) as Out<Q>;
      const params: Record<string, string> = {};
      for (const name of pathParams) params[name] = c.req.param(name) ?? "";
      return await handler(c, { principal, body, query, params });
    } catch (e) {
      return posError(c, e);
    }
  });
}

/** Anything else under the surface's paths: a 405 naming the methods of a path it serves, else a 404, in its format. */
export function posCatchAll(sub: Hono<AppEnv>, paths: string[]): void {
  for (const path of paths) {
    sub.all(path, (c) =>
      routeMiss(sub, BASE, c, {
        notFound: (pathname) => posError(c, new PosError(404, "NOT_FOUND", `No route ${c.req.method} ${pathname}.`)),
        notAllowed: (pathname, method, use) => posError(c, new PosError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${pathname}; use ${use}.`)),
      }),
    );
  }
}
