// Schema-first routes. A route is declared once: its zod schemas validate the request (JSON or
// Stripe's form encoding, parsed by qs rather than Hono's flat parseBody) and are registered in the
// OpenAPI document served at /openapi.json. Handlers receive validated input and a principal.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { ApiError, invalidRequest, permissionDenied } from "../../core/errors";
import { canonicalJson } from "../../core/canonical-json";
import { hmacBase62 } from "../../core/ids";
import { bindIdempotencyKey } from "../idempotency-binding";
import { authenticate } from "../../auth/authenticate";
import { authorize, requireRoles, type Permission, type Principal, type Role } from "../../auth/permissions";
import { limitCredential } from "../../auth/rate-limit";
import { merchantSettings } from "../../db/merchants";
import { directoryDb } from "../../db/shards";
import { useMerchantShard } from "../common/surface-auth";
import { config, type Env } from "../../env";
import { queryParams, readBodyParams } from "../../http/body";
import type { RequestAudit, RequestContext } from "../../intents/params";
import { parse } from "./validation";
import { v1Error } from "./errors";
import { withoutForeignSecrets } from "./secrets";

export interface AppEnv {
  Bindings: Env;
  /** apiVersion: the Stripe-Version the response is rendered with (src/api/v1/stripe-version.ts). */
  Variables: { requestId: string; apiVersion: string | undefined; pathParams: readonly string[] };
}
export type App = OpenAPIHono<AppEnv>;
export type Ctx = Context<AppEnv>;

type Schema = z.ZodType;
type Output<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteSpec<B extends Schema | undefined, Q extends Schema | undefined> {
  method: "get" | "post" | "delete";
  /** OpenAPI style: /v1/payment_intents/{id} */
  path: string;
  summary: string;
  tag: string;
  body?: B;
  query?: Q;
  response: Schema;
  /** The permission this route needs (null: any authenticated caller). */
  permission: Permission | null;
  /** Routes that act for one merchant need one (admin and support pick it with Merchant-Id). */
  merchant?: boolean;
  /** Only these roles (admin routes). */
  roles?: Role[];
  /** Whether a customer's token may call it (it then sees only its own objects). */
  customers?: boolean;
  /** The permission a customer's token needs here instead of `permission` (its handler narrows what it may do). */
  customerPermission?: Permission;
  /**
   * A check of who may call, beyond `permission` and `roles`, that needs nothing of the body or query
   * (a credential that must hold every permission, a person's token): run with them, before the body is
   * read, so a caller without the right is told 403, never a 400 that shows the route's body schema.
   */
  guard?: (principal: Principal, params: Record<string, string>) => void;
}

export interface RouteInput<B, Q> {
  body: Output<B>;
  query: Output<Q>;
  params: Record<string, string>;
  principal: Principal;
}

export const ErrorSchema = z
  .object({
    error: z.object({
      type: z.string(),
      message: z.string(),
      code: z.string().optional(),
      doc_url: z.string().optional().describe("Stripe's page about the code: https://stripe.com/docs/error-codes/<code, _ as ->"),
      param: z.string().optional(),
      decline_code: z.string().optional(),
    }),
  })
  .meta({ id: "Error" });

const EMPTY = z.object({}).strict();

export function route<B extends Schema | undefined = undefined, Q extends Schema | undefined = undefined>(
  app: App,
  spec: RouteSpec<B, Q>,
  handler: (c: Ctx, input: RouteInput<B, Q>) => Promise<Response>,
): void {
  const pathParams = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "");
  const content = spec.body ? { "application/x-www-form-urlencoded": { schema: spec.body }, "application/json": { schema: spec.body } } : undefined;
  const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    description: `Needs ${spec.roles ? `the role ${spec.roles.join(" or ")}` : spec.permission ? `the permission \`${spec.permission}\`` : "an authenticated caller"}.`,
    tags: [spec.tag],
    security: [{ bearerAuth: [] }],
    request: {
      ...(pathParams.length ? { params: z.object(Object.fromEntries(pathParams.map((p) => [p, z.string()]))) } : {}),
      ...(spec.query instanceof z.ZodObject ? { query: spec.query } : {}),
      ...(content ? { body: { content, required: true } } : {}),
    },
    responses: {
      200: { description: "OK", content: { "application/json": { schema: spec.response } } },
      400: errorResponse("Invalid request"),
      401: errorResponse("No valid API key or token"),
      402: errorResponse("Card declined"),
      403: errorResponse("Missing permission"),
      404: errorResponse("No such object for this merchant"),
      409: errorResponse("Idempotency key in use"),
      429: errorResponse("Rate limited (see Retry-After)"),
      502: errorResponse("Payment provider error"),
    },
  });

  const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
  app.on(spec.method.toUpperCase(), honoPath, async (c) => {
    c.set("pathParams", pathParams);
    try {
      return await handle(c);
    } catch (err) {
      // A missing object a parameter names is a 400 here, as at Stripe (only one in the path is a 404).
      if (err instanceof ApiError) {
        const data = v1Error(err.data, pathParams);
        if (data !== err.data) throw new ApiError(data);
      }
      throw err;
    }
  });

  async function handle(c: Ctx): Promise<Response> {
    const principal = await authenticate(c.env, { header: (name) => c.req.header(name) }, (p) => c.executionCtx.waitUntil(p));
    await limitCredential(c.env, principal);
    if (spec.roles) requireRoles(principal, spec.roles, `use ${spec.method.toUpperCase()} ${spec.path}`);
    // Stripe Connect's Stripe-Account (stripe-node's `stripeAccount`) acts for a connected account; there
    // are none here, so naming any account but the caller's own is refused rather than ignored (the
    // request would have read or written the platform's own data).
    const connected = c.req.header("stripe-account");
    if (connected !== undefined && connected !== principal.merchantId) {
      throw invalidRequest(`Stripe-Account is not supported: there are no connected accounts here (got '${connected.slice(0, 80)}'). Call with the account's own key, without the header.`, undefined, "stripe_account_not_supported");
    }
    if (principal.customerId && !spec.customers) throw permissionDenied("A customer's token may only use the payment intent routes.");
    authorize(principal, principal.customerId && spec.customerPermission ? spec.customerPermission : spec.permission, { needsMerchant: spec.merchant ?? true });
    const params: Record<string, string> = {};
    for (const name of pathParams) params[name] = c.req.param(name) ?? "";
    spec.guard?.(principal, params);
    useMerchantShard(c, principal);
    // No Stripe-Version on the request: the merchant's default version, if it set one.
    if (!c.get("apiVersion") && principal.merchantId) c.set("apiVersion", (await merchantSettings(directoryDb(c.env), principal.merchantId)).api_version ?? undefined);
    const rawBody = spec.method === "post" ? await readBodyParams(c.req.raw) : {};
    let rawQuery = queryParams(c.req.url);
    // A DELETE's parameters come in the query string (stripe-node) or, from curl -X DELETE -d, in the
    // body: read both, so a parameter in the body is honoured or refused, never ignored.
    if (spec.method === "delete") {
      const sent = await readBodyParams(c.req.raw);
      if (Object.keys(sent).length > 0) rawQuery = { ...rawQuery, ...sent };
    }
    const body = parse(spec.body ?? EMPTY, rawBody) as Output<B>;
    const query = parse(spec.query ?? EMPTY, rawQuery) as Output<Q>;
    if (spec.method === "post") {
      // The key is bound merchant-wide to this route, target and body before anything runs.
      const key = idempotencyKeyOf(c);
      if (key) await bindIdempotencyKey(c.env, principal, key, { route: `POST ${spec.path}`, target: canonicalJson(params), params: body });
    }
    // A reader that may not make a payment (or save a card) is not handed the client secrets that would (src/api/v1/secrets.ts).
    return withoutForeignSecrets(principal, await handler(c, { body, query, params, principal }));
  }
}

const MAX_IDEMPOTENCY_KEY = 255;

/** The request's Idempotency-Key, checked for length (null when it has none). */
function idempotencyKeyOf(c: Ctx): string | null {
  const key = c.req.header("idempotency-key") ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY)) {
    throw invalidRequest(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters long.`, undefined, "idempotency_key_invalid");
  }
  return key;
}

/**
 * The context of a request aimed at an intent: scope, request id, and the Idempotency-Key with a keyed
 * fingerprint of what it was used for (operation, target and validated parameters). The fingerprint
 * is an HMAC, so a card number among the parameters cannot be recovered from it.
 */
export async function requestContext(
  c: Ctx,
  principal: Principal,
  operation: string,
  target: string,
  params: unknown,
  audit?: { action?: string; details?: RequestAudit["details"] },
): Promise<RequestContext> {
  const key = idempotencyKeyOf(c);
  // A shopper's token binds its customer too: another customer's request with the same key is refused, not answered.
  const request = principal.customerId ? { operation, target, params, customer: principal.customerId } : { operation, target, params };
  const fingerprint = key ? await hmacBase62(config(c.env).fingerprintKey, canonicalJson(request), 32) : null;
  return {
    scope: { merchantId: principal.merchantId, livemode: principal.livemode },
    requestId: c.get("requestId"),
    idempotencyKey: key,
    fingerprint,
    origin: new URL(c.req.url).origin,
    audit: audit ? { action: audit.action ?? operation, actor: principal.actor, roles: principal.roles, details: audit.details ?? {} } : null,
  };
}

export function assertNoConflict(condition: boolean, message: string, param?: string): void {
  if (condition) throw new ApiError({ status: 400, type: "invalid_request_error", message, param });
}
