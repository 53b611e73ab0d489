// Seed 004's plumbing: a Hono sub-app under /api/v1/payments/{stripe,paypal,webhooks}, each path with
// and without its trailing slash, `Authorization: Bearer` (API key or JWT) on every route but the
// webhooks, JSON bodies read with exact decimals, and every error, unknown paths included, rendered
// exactly as {"error": "<description>"}.
import type { Hono } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import type { Permission, Principal } from "../../auth/permissions";
import { ApiError, BEARER_CHALLENGE } from "../../core/errors";
import { decimalMessage, decimalToMinor } from "../../core/money";
import { log } from "../../log";
import { nullsAsAbsent } from "../../http/body";
import { JsonNumber, readExactJson } from "../common/exact-json";
import { surfacePrincipal } from "../common/surface-auth";
import { routeMiss } from "../common/allowed-methods";
import type { App, AppEnv, Ctx } from "../v1/route";
import { innermost, valueAt } from "../v1/validation";
import { redactCardNumbersQuoted } from "../../core/card-number";

export const BACKEND_BASE = "/api/v1/payments";
const TAG = "Stripe and PayPal endpoints (seed 004)";

export class BackendError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    // A message may quote what the client sent: never a card number.
    super(redactCardNumbersQuoted(message));
    this.name = "BackendError";
  }
}

export const bad = (message: string) => new BackendError(400, message);
export const missing = (message: string) => new BackendError(404, message);

/** CORS for the Stripe and PayPal routes (browsers on the merchant's pages): any origin, no credentials. */
export const backendCors = cors({
  origin: "*",
  allowMethods: ["GET", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "PayPal-Request-Id"],
  exposeHeaders: ["Idempotent-Replayed", "Request-Id", "Retry-After"],
  maxAge: 600,
});

export const BackendErrorSchema = z.object({ error: z.string() }).meta({ id: "BackendError" });

/**
 * The answer to a request whose Idempotency-Key another request, still running, holds: after waiting
 * for it (as long as IDEMPOTENCY_WAIT_MS), a 500 (the seed has no 409) that says to send it again.
 */
export function stillInProgress(key: string): BackendError {
  return new BackendError(
    500,
    `Another request with the Idempotency-Key '${key.slice(0, 255)}' is still in progress and did not finish in time. Retry with the same Idempotency-Key: it will be answered with that request's result, never carried out twice.`,
  );
}

/**
 * The seed's statuses: 400 for whatever the request got wrong (a declined card too), 401, 403, 404, and
 * 500 for every failure on the server's side (a provider's error, 502, or timeout, 504, included: the
 * seed lists no other server error; the message says whether the request may be sent again).
 */
function statusOf(data: ApiError["data"]): number {
  if (data.status === 402 || data.status === 422) return 400;
  return serverSide(data.status);
}

/** Any 5xx is the seed's 500. */
const serverSide = (status: number): number => (status >= 500 ? 500 : status);

export function backendError(c: Ctx, err: unknown): Response {
  let status = 500;
  let message = "Internal server error. Whether the request took effect is not known: read it back before sending it again, or send it again with the same Idempotency-Key.";
  const headers: Record<string, string> = { "Request-Id": c.get("requestId") };
  if (err instanceof BackendError) {
    status = serverSide(err.status);
    message = err.message;
  } else if (err instanceof ApiError && err.data.code === "idempotency_key_in_use") {
    // The intent's object waited for the first request with the key and it has not finished yet.
    const key = /Idempotency-Key '(.*)'/.exec(err.data.message)?.[1] ?? c.req.header("idempotency-key") ?? c.req.header("paypal-request-id") ?? "";
    const busy = stillInProgress(key);
    status = busy.status;
    message = busy.message;
  } else if (err instanceof ApiError) {
    status = statusOf(err.data);
    message = decimalMessage(err.data);
    if (err.data.retryAfterSeconds !== undefined) headers["Retry-After"] = String(err.data.retryAfterSeconds);
  } else {
    log("error", "unhandled error (seed 004 surface)", { request_id: c.get("requestId"), error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
  if (status === 401) headers["WWW-Authenticate"] = BEARER_CHALLENGE;
  return c.json({ error: message }, status as 400, headers);
}

/**
 * The body with its JSON numbers in the shape the schemas read: an `amount` as decimal text (it
 * converts from it exactly, exponent notation expanded), a metadata value as text (Stripe keeps
 * metadata as strings), any other number as a number, so that a number where the surface takes an id
 * or a name (`"order_id": 5`) is a 400, not a lookup of "5".
 */
function plain(value: unknown, key = "", inMetadata = false): unknown {
  if (value instanceof JsonNumber) return key === "amount" || inMetadata ? value.decimalText() : value.value;
  if (Array.isArray(value)) return value.map((v) => plain(v, key, inMetadata));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, k, inMetadata || k === "metadata")]));
  return value;
}


/**
 * What is wrong with a field, in words: a union's failure is told by the branch that took the value's
 * type (metadata with 51 keys: "must have at most 50 keys"), and metadata of the wrong shape says the
 * shape it must have, never the schema library's bare "Invalid input".
 */
function issueDetail(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_union" && issue.path[0] === "metadata") {
    return issue.path.length > 1 ? "must be a string or a number" : "must be an object of string values";
  }
  return issue.message;
}

export function parseBackend<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const issue = first ? innermost(first) : undefined;
  const field = issue?.path.map(String).join(".") ?? "";
  // A field not sent is "<field> is required", whatever its schema (a union's "Invalid input" too).
  const missingField = issue !== undefined && issue.path.length > 0 && valueAt(input, issue.path) === undefined;
  throw bad(missingField ? `${field} is required` : `Invalid ${field || "request"}: ${(issue ? issueDetail(issue) : "invalid").slice(0, 200)}`);
}

/** A currency code: any text is read by the core's check, which names a wrong one ("Invalid currency: us. Use a supported ISO 4217 code ..."). */
export const currencyCode = z.string().min(1, "must be an ISO 4217 code such as usd").max(64, "must be an ISO 4217 code such as usd");

/** A decimal amount in major units, as the seed sends it: a JSON number, or the same as text ("29.99"). Any length: amountInMinor tells how it is wrong. */
export const decimalAmount = z.union([z.string().min(1), z.number()], { error: "must be a number or a decimal string, such as 29.99" }).transform(String);

/**
 * A decimal amount in minor units of `currency`, exactly. Text that is no decimal number ("10.", "1,5")
 * is told as the other invalid fields are, the text quoted; a decimal number of any length that is
 * too large, too small or too precise for the currency is told as such by the core (1e40 written out,
 * 1e-39), as a short one is.
 */
export function amountInMinor(given: string, currency: string, field = "amount"): number {
  // Exponent notation in text ("1e2") reads as the same JSON number does, expanded exactly.
  const trimmed = given.trim();
  const text = (/^-?\d+(?:\.\d+)?[eE][+-]?\d{1,3}$/.test(trimmed) ? new JsonNumber(trimmed, Number(trimmed)).decimalText() : given).trim();
  // A negative decimal is a decimal number: it is refused as too small, as 0 is, not as unreadable.
  if (/^-\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) return decimalToMinor("0", currency, field);
  // Exponent notation too far out to write out ("1e308"): the core tells it as too large or too precise.
  if (/^\d+(?:\.\d+)?[eE][+-]?\d+$/.test(text)) return decimalToMinor(text, currency, field);
  if (!/^\d+(?:\.\d+)?$/.test(text)) throw bad(`Invalid ${field}: ${JSON.stringify(text.slice(0, 32))} is not a decimal number, such as 29.99.`);
  return decimalToMinor(text, currency, field);
}

export interface BackendSpec<B extends z.ZodType> {
  /** Relative to /api/v1/payments, without the trailing slash: /stripe/create-payment-intent. */
  path: string;
  /** null: no credentials (webhooks, authenticated by the provider's signature). */
  permission: Permission | null;
  /** A customer's token may call it (it then acts only on its own payments). */
  customers?: boolean;
  summary: string;
  body: B;
  response: z.ZodType;
  /** Also answered to a GET whose query carries the body's fields (a read that a link can point at). */
  get?: boolean;
}

/**
 * The request's fields: its JSON body, or, when it has none, its query string (so that the links an
 * answer gives, `...?order_id=...`, can be followed as they are: a GET, or a POST without a body).
 */
async function requestFields(c: Ctx): Promise<{ fields: unknown; json: boolean }> {
  const query = new URL(c.req.url).searchParams;
  // A GET's fields are its query (none: the validation names the missing field, not a body).
  if (c.req.method === "GET") return { fields: Object.fromEntries(query), json: false };
  const bodyless = c.req.raw.body === null || c.req.header("content-length") === "0";
  if (bodyless && [...query.keys()].length > 0) return { fields: Object.fromEntries(query), json: false };
  return { fields: nullsAsAbsent(plain(await readExactJson(c.req.raw))), json: true };
}

/**
 * A JSON body's fields the endpoint does not take are refused, named, as Stripe refuses an unknown
 * parameter: ignored, `capture_method: "manual"` would have charged at once a payment meant to be
 * authorized only, and `intent: "AUTHORIZE"` made a CAPTURE order. A link's query string (a GET, or a
 * POST without a body) may carry more (a cache buster, PayPal's return parameters): only its fields are read.
 */
function refuseUnknownFields(schema: z.ZodType, fields: unknown): void {
  if (!(schema instanceof z.ZodObject) || !fields || typeof fields !== "object" || Array.isArray(fields)) return;
  const known = Object.keys(schema.shape as Record<string, unknown>);
  const unknown = Object.keys(fields).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const names = unknown.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40))).join(", ");
  throw bad(`Unknown field${unknown.length > 1 ? "s" : ""} ${names}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""}: this endpoint takes ${known.join(", ")}.`);
}

export function backendRoute<B extends z.ZodType>(app: App, sub: Hono<AppEnv>, spec: BackendSpec<B>, handler: (c: Ctx, input: { principal: Principal; body: z.output<B> }) => Promise<Response>): void {
  for (const path of [`${spec.path}/`, spec.path]) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path: BACKEND_BASE + path,
      summary: spec.summary,
      description: `${spec.permission ? `Needs \`Authorization: Bearer\` and the permission \`${spec.permission}\`.` : "Authenticated by the provider's signature."} Errors: {"error": "<description>"}.`,
      tags: [TAG],
      ...(spec.permission ? { security: [{ bearerAuth: [] }] } : {}),
      request: { body: { content: { "application/json": { schema: spec.body } }, required: true } },
      responses: {
        200: { description: "OK", content: { "application/json": { schema: spec.response } } },
        400: { description: "Invalid request data", content: { "application/json": { schema: BackendErrorSchema } } },
        401: { description: "Authentication required", content: { "application/json": { schema: BackendErrorSchema } } },
        403: { description: "Insufficient permissions", content: { "application/json": { schema: BackendErrorSchema } } },
        404: { description: "Resource not found", content: { "application/json": { schema: BackendErrorSchema } } },
        500: { description: "Server error (a payment provider's failure too); the message says whether to send the request again", content: { "application/json": { schema: BackendErrorSchema } } },
      },
    });
    if (spec.get) {
      app.openAPIRegistry.registerPath({
        method: "get",
        path: BACKEND_BASE + path,
        summary: spec.summary,
        description: `The same as the POST, its fields in the query string (the link an answer gives). Needs \`Authorization: Bearer\`${spec.permission ? ` and the permission \`${spec.permission}\`` : ""}. Errors: {"error": "<description>"}.`,
        tags: [TAG],
        security: [{ bearerAuth: [] }],
        request: { query: spec.body instanceof z.ZodObject ? spec.body : z.object({}) },
        responses: {
          200: { description: "OK", content: { "application/json": { schema: spec.response } } },
          400: { description: "Invalid request data", content: { "application/json": { schema: BackendErrorSchema } } },
          401: { description: "Authentication required", content: { "application/json": { schema: BackendErrorSchema } } },
          404: { description: "Resource not found", content: { "application/json": { schema: BackendErrorSchema } } },
          500: { description: "Server error", content: { "application/json": { schema: BackendErrorSchema } } },
        },
      });
    }
    const answer = async (c: Ctx) => {
      try {
        const principal = await surfacePrincipal(c, spec.permission);
        if (principal.customerId && !spec.customers) throw new BackendError(403, "A customer's token cannot use this endpoint.");
        const { fields, json } = await requestFields(c);
        if (json) refuseUnknownFields(spec.body, fields);
        const body = parseBackend(spec.body, fields);
        return await handler(c, { principal, body });
      } catch (e) {
        return backendError(c, e);
      }
    };
    sub.post(path, answer);
    if (spec.get) sub.get(path, answer);
  }
}

/** Anything else under the surface's prefixes: a 405 naming the methods of a path it serves, else a 404, in its format. */
export function backendCatchAll(sub: Hono<AppEnv>, prefixes: string[]): void {
  for (const prefix of prefixes) {
    for (const path of [prefix, `${prefix}/*`]) {
      sub.all(path, (c) =>
        routeMiss(sub, BACKEND_BASE, c, {
          notFound: (pathname) => backendError(c, missing(`Not found: ${c.req.method} ${pathname}`)),
          notAllowed: (pathname, method, use) => backendError(c, new BackendError(405, `Method "${method}" not allowed on ${pathname}; use ${use}.`)),
        }),
      );
    }
  }
}
