// Seed 000: /api/v1/PaymentIntents, a thin translator onto the same intents as /v1. JWT bearer
// tokens (the existing jose verification); reads need the role admin or support, which read across
// merchants; create, confirm and cancel need any authenticated user allowed to pay. Integer ids (the
// intent's stable number, the gateway's number), decimal amounts converted exactly, PascalCase
// statuses, and RFC 9457 problem details for every error under the prefix.
import { Hono } from "hono";
import { liveCustomer } from "../../billing/store";
import { hasPrefix } from "../../core/ids";
import { z } from "zod";
import { ApiError, authenticationFailed, BEARER_CHALLENGE, invalidRequest, resourceMissing, unexpectedState, type ApiErrorData } from "../../core/errors";
import { assertOperationAllowed } from "../../core/intent";
import { derivedId, randomId } from "../../core/ids";
import { decimalToMinor, normalizeCurrency } from "../../core/money";
import type { IntentRecord, Scope } from "../../core/types";
import { keyFromHeader } from "../../auth/api-keys";
import { ipRateLimit } from "../../auth/ip-limit";
import { knownMerchant, limitFailures } from "../../auth/authenticate";
import { useMerchantShard } from "../common/surface-auth";
import { directoryDb, everyShard, findOnShards, newestFirst, shardFor } from "../../db/shards";
import { looksLikeJwt, principalFromJwt } from "../../auth/jwt";
import { authorize, requireRoles, type Principal } from "../../auth/permissions";
import { limitCredential } from "../../auth/rate-limit";
import { loadAccounts, type AccountRow } from "../../connectors/routing";
import { accountOfGateway, allocateIntentNumber, ensureIntentNumber, gatewayNumberOf, intentByNumber, listNumberedIntents, listPositionOf, SANDBOX_ACCOUNT } from "../../db/numbers";
import { summaryOf, type IntentSummary } from "../../db/intent-row";
import { connectorAccounts } from "../../db/schema";
import { config } from "../../env";
import { readBodyText } from "../../http/body";
import { createParams, type OpOutcome, type RequestContext } from "../../intents/params";
import { db } from "../../webhooks/store";
import { eq } from "drizzle-orm";
import { resolvePaymentMethodFor } from "../v1/payment_intents";
import { applyPspEvents, verifyPspWebhook } from "../v1/psp_webhooks";
import { intentStub, publicBase } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { JsonNumber, parseExactJson, readExactJson, stringifyExact } from "../common/exact-json";
import { surfaceErrors } from "../common/errors";
import { NO_IDEMPOTENCY, surfaceIdempotency, surfaceRequest, type SurfaceIdempotency } from "../common/idempotency";
import { problem, problemStatus } from "./problem";
import { renderSeedIntent, type SeedIntentJson } from "./render";
import { isHttpUrl } from "../../core/urls";

export const PREFIX = "/api/v1/PaymentIntents";
const MAX_LIST = 1000;
// The document's list "retrieves all payment intents" as one bare array: a client written from it
// reads one answer, so the default page is the largest one (as a customer's list), and only a
// merchant with more than 1,000 payments needs the Link header's next page.
const DEFAULT_LIST = MAX_LIST;

// ---- answers ---------------------------------------------------------------------------------------

function send(c: Ctx, body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(stringifyExact(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

/** `traceId`: by default the request's; a replay's is the first answer's, so that its body is the same. */
function sendProblem(c: Ctx, err: ApiErrorData, extra: Record<string, string> = {}, traceId: string = c.get("requestId")): Response {
  const headers: Record<string, string> = { "content-type": "application/problem+json; charset=utf-8", ...extra };
  if (err.retryAfterSeconds !== undefined) headers["Retry-After"] = String(err.retryAfterSeconds);
  if (err.status === 401) headers["WWW-Authenticate"] = BEARER_CHALLENGE;
  return new Response(JSON.stringify(problem(err, traceId)), { status: problemStatus(err), headers });
}

const accountOf = (intent: Pick<IntentSummary, "gatewayAccount" | "connectorAccount">) => intent.gatewayAccount ?? intent.connectorAccount ?? SANDBOX_ACCOUNT;

/**
 * Whether an answer to `principal` shows the client secret (and nextActionUrl, which carries it). The
 * secret is a credential: with it the hosted payment page confirms the payment. A token that may make
 * payments gets it, as the document's create answer shows; a reader that may not (support, a token
 * narrowed to viewing) gets `clientSecret: null`, else support could pay through the page what its
 * role may not confirm here (403), and its lists would hand it every merchant's secrets.
 */
function showsSecrets(principal: Principal): boolean {
  return principal.permissions.has("payments.transactions.create");
}

async function rendered(c: Ctx, principal: Principal, intent: IntentRecord, number?: number): Promise<SeedIntentJson> {
  const n = number ?? (await ensureIntentNumber(shardFor(c.env, intent.merchantId), intent));
  const summary = summaryOf(intent);
  return renderSeedIntent(summary, n, await gatewayNumberOf(directoryDb(c.env), accountOf(summary)), publicBase(c), showsSecrets(principal));
}

/** A page of numbered intents: each account's gateway number is looked up once, then every row renders without waiting. */
async function renderedList(c: Ctx, principal: Principal, rows: { number: number; intent: IntentSummary }[]): Promise<SeedIntentJson[]> {
  const accounts = [...new Set(rows.map((r) => accountOf(r.intent)))];
  const numbers = new Map(await Promise.all(accounts.map(async (a) => [a, await gatewayNumberOf(directoryDb(c.env), a)] as const)));
  const base = publicBase(c);
  const secrets = showsSecrets(principal);
  return rows.map((r) => renderSeedIntent(r.intent, r.number, numbers.get(accountOf(r.intent)) ?? null, base, secrets));
}

/** A list's page: `limit` (1 to 1,000) and `beforeId` (the payments after it in the list: numbered below it, or for a customer's list created before it), from the query. */
function pageOf(c: Ctx, fallback = DEFAULT_LIST): { take: number; before: number | undefined } {
  const limitText = c.req.query("limit");
  const beforeText = c.req.query("beforeId");
  const take = limitText === undefined ? fallback : /^\d{1,4}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= MAX_LIST ? Number(limitText) : null;
  if (take === null) throw invalidRequest(`The query parameter limit must be a whole number from 1 to ${MAX_LIST}.`, "limit");
  if (beforeText !== undefined && !/^[1-9]\d{0,14}$/.test(beforeText)) throw invalidRequest("The query parameter beforeId must be a payment intent id.", "beforeId");
  return { take, before: beforeText === undefined ? undefined : Number(beforeText) };
}

/**
 * A list, as the API's bare array. When more payments follow, the answer says so without changing the
 * body: `Link: <...?limit=N&beforeId=M>; rel="next"` (RFC 8288) and `X-Has-More: true`. The link holds
 * only the two parameters a list reads: other query parameters are ignored, as the API's GETs (which
 * answer no 400) ignore them, and are not echoed (a thousand of them made a header clients refuse).
 */
function sendPage(c: Ctx, list: SeedIntentJson[], take: number, more: boolean): Response {
  const last = list.at(-1);
  if (!more || !last) return send(c, list);
  const next = new URLSearchParams({ limit: String(take), beforeId: String(last.id) });
  return send(c, list, 200, { Link: `<${new URL(c.req.url).pathname}?${next.toString()}>; rel="next"`, "X-Has-More": "true" });
}

// ---- who is calling ----------------------------------------------------------------------------------

async function caller(c: Ctx): Promise<Principal> {
  // Failed authentications count against the client IP's limit, as on /v1.
  const principal = await limitFailures(c.env, { header: (name) => c.req.header(name) }, async () => {
    const token = keyFromHeader(c.req.header("authorization"));
    if (!token || !looksLikeJwt(token)) {
      throw authenticationFailed("Authentication required: send a JWT as 'Authorization: Bearer <token>'.");
    }
    // Create, confirm and cancel are any authenticated user's (the document): a token naming no role
    // of ours, but a merchant, pays as that merchant's customer (its customer_id claim, else its subject).
    return principalFromJwt(token, config(c.env), c.req.header("merchant-id") ?? null, { rolelessAsCustomer: true });
  });
  await knownMerchant(c.env, principal);
  await limitCredential(c.env, principal);
  useMerchantShard(c, principal);
  return principal;
}

/** The customer a user's payments belong to: the token's customer claim, else its subject. */
function customerOf(principal: Principal): string | null {
  if (principal.customerId) return principal.customerId;
  const sub = principal.actor.replace(/^jwt:/, "");
  return sub && sub !== "anonymous" ? sub : null;
}

const READERS = ["admin", "support"] as const;

/** Seed 000's readers are admin and support, holding the permission to read payments (a token narrowed to another permission does not). */
function requireReader(principal: Principal, what: string): void {
  requireRoles(principal, [...READERS], what);
  authorize(principal, "payments.transactions.view", { needsMerchant: false });
}

/** The merchant a reader's list is limited to: none for admin and support (all merchants), unless Merchant-Id picks one. */
function readScope(principal: Principal): string | null {
  return principal.crossMerchant ? principal.merchantId || null : principal.merchantId;
}

// ---- finding an intent by its number -------------------------------------------------------------------

interface Found {
  number: number;
  scope: Scope;
  intent: IntentRecord;
}

function parseNumber(text: string, resource: string): number {
  if (!/^[1-9]\d{0,14}$/.test(text)) throw resourceMissing(resource, text.slice(0, 40));
  return Number(text);
}

type NumberedRow = Awaited<ReturnType<typeof listNumberedIntents>>[number];

/**
 * A reader's list: the request's database, or for admin and support across merchants every database
 * (src/db/shards.ts), each asked for `take` rows and merged in the list's order. One query without D1_SHARDS.
 */
async function numberedAcrossShards(c: Ctx, filter: Parameters<typeof listNumberedIntents>[1], take: number, order: (a: NumberedRow, b: NumberedRow) => number): Promise<NumberedRow[]> {
  const dbs = filter.merchantId === null ? everyShard(c.env).map((shard) => shard.DB) : [c.env.DB];
  const pages = await Promise.all(dbs.map((d1) => listNumberedIntents(d1, filter, take)));
  return pages.length === 1 ? (pages[0] ?? []) : pages.flat().sort(order).slice(0, take);
}

async function findIntent(c: Ctx, principal: Principal, idText: string): Promise<Found> {
  const number = parseNumber(idText, "payment intent");
  const missing = () => resourceMissing("payment intent", String(number));
  // A reader across merchants may name any database's payment (numbers are unique when each shard has its own range).
  const row = readScope(principal) === null ? await findOnShards(c.env, (d1) => intentByNumber(d1, number)) : await intentByNumber(c.env.DB, number);
  if (!row || row.livemode !== principal.livemode) throw missing();
  if (principal.crossMerchant ? principal.merchantId !== "" && principal.merchantId !== row.merchantId : principal.merchantId !== row.merchantId) throw missing();
  const scope = { merchantId: row.merchantId, livemode: row.livemode };
  const intent = await intentStub(c.env, row.intentId).retrieve(scope, row.intentId);
  if (!intent) throw missing();
  if (principal.customerId && intent.customer !== principal.customerId) throw missing();
  return { number, scope, intent };
}

function requestOf(c: Ctx, principal: Principal, scope: Scope, action: string | null, idem: SurfaceIdempotency = NO_IDEMPOTENCY): RequestContext {
  return surfaceRequest(c, principal, scope, idem, action, "paymentintents");
}

/**
 * A customer's token cancels only a payment not confirmed yet; the core refuses any other with a
 * permission error (403). Here, as for a merchant, a payment that cannot be canceled in its status is
 * a 400 naming the status: the merchant's very message when no one may cancel it (Succeeded,
 * Canceled, ...), else the statuses a customer may cancel from. A customer never reaches another
 * customer's payment (404, findIntent).
 */
function customerCancelRefusal(err: ApiErrorData, intent: IntentRecord | null): ApiErrorData {
  if (err.status !== 403 || err.type !== "permission_error" || !intent) return err;
  try {
    assertOperationAllowed("cancel", intent);
  } catch (refused) {
    if (refused instanceof ApiError) return refused.data;
    throw refused;
  }
  return unexpectedState(
    `You cannot cancel this PaymentIntent with a customer's token because it has a status of ${intent.status}. ` +
      "Only a PaymentIntent with one of the following statuses may be canceled by its customer: requires_payment_method, requires_confirmation.",
  ).data;
}

/** An operation's answer; one replayed for its Idempotency-Key (a refusal as a success) says so, as on /v1. */
async function outcomeResponse(c: Ctx, principal: Principal, outcome: OpOutcome, number: number, status = 200): Promise<Response> {
  const headers: Record<string, string> = outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
  if (outcome.error) return sendProblem(c, outcome.error, headers, outcome.answer?.requestId ?? c.get("requestId"));
  if (!outcome.intent) throw resourceMissing("payment intent", String(number));
  return send(c, await rendered(c, principal, outcome.intent, number), status, headers);
}

// ---- create -------------------------------------------------------------------------------------------

interface CreateInput {
  invoiceId: string | null;
  orderId: string | null;
  amount: number;
  currency: string;
  gateway: number;
  returnUrl: string | null;
  cancelUrl: string | null;
  description: string | null;
}

function fieldError(field: string, message: string): ApiError {
  return invalidRequest(message, field, "invalid_field");
}

const MAX_REFERENCE = 999_999_999_999_999;

function optionalInteger(body: Record<string, unknown>, field: string): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  const n = v instanceof JsonNumber ? v.integer() : null;
  // Up to 15 digits: every such number is exact in a double (JSON.parse, JavaScript clients), and an
  // answer writes it back as the same digits. A 16-digit id is a whole number too: the message says
  // what is wrong with it (the range), not that it is not one.
  if (n === null || n < 0) throw fieldError(field, `The field ${field} must be a whole number from 0 to ${MAX_REFERENCE}, or null.`);
  return String(n);
}

function optionalText(body: Record<string, unknown>, field: string, max: number): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw fieldError(field, `The field ${field} must be a string or null.`);
  if (v.length > max) throw fieldError(field, `The field ${field} must be a string with a maximum length of ${max}.`);
  return v;
}

function optionalUrl(body: Record<string, unknown>, field: string): string | null {
  const v = optionalText(body, field, 2048);
  if (v === null || v === "") return null;
  if (!isHttpUrl(v)) throw fieldError(field, `The field ${field} must be an absolute http(s) URL, without spaces or control characters.`);
  return v;
}

const CREATE_FIELDS = ["invoiceId", "orderId", "amount", "currency", "paymentGatewayId", "returnUrl", "cancelUrl", "description"] as const;
const NUMERIC_FIELDS = new Set<string>(["amount", "paymentGatewayId", "invoiceId", "orderId"]);
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The body as the document's ASP.NET controller binds it (System.Text.Json's web defaults):
 * property names in any case (`Amount`, `CURRENCY`), and numbers also written as JSON strings
 * (`"amount": "10.00"`, no spaces around the digits), read exactly as the same digits unquoted would
 * be. A field named twice in different cases (`amount` and `Amount`) is refused, as a field named
 * twice in the same case is: System.Text.Json would bind the last, and a proxy or a log reading the
 * first would see another amount than the one charged.
 */
function aspNetBinding(body: Record<string, unknown>): Record<string, unknown> {
  const bound: Record<string, unknown> = {};
  for (const field of CREATE_FIELDS) {
    const keys = Object.keys(body).filter((k) => k.toLowerCase() === field.toLowerCase());
    const [key, twice] = keys;
    if (twice !== undefined) throw invalidRequest(`The JSON request body names the field ${field} twice ('${key}' and '${twice}'): send each field once.`, field, "invalid_json");
    if (key === undefined) continue;
    const value = body[key];
    bound[field] = NUMERIC_FIELDS.has(field) && typeof value === "string" && JSON_NUMBER.test(value) ? new JsonNumber(value, Number(value)) : value;
  }
  return bound;
}

export function parseCreate(raw: unknown): CreateInput {
  // A number is read as a JsonNumber (an object of ours): it is no more a JSON object than a string is.
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof JsonNumber) throw invalidRequest("The request body must be a JSON object.", "body", "invalid_json");
  const body = aspNetBinding(raw as Record<string, unknown>);
  if (body.currency === undefined || body.currency === null) throw fieldError("currency", "The currency field is required.");
  if (typeof body.currency !== "string") throw fieldError("currency", "The field currency must be a string: an ISO 4217 code such as \"EUR\".");
  // Named as this API writes currencies (EUR), not as /v1 does (eur).
  let currency: string;
  try {
    currency = normalizeCurrency(body.currency, "currency");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    throw invalidRequest(`The field currency must be a supported ISO 4217 code such as "EUR" or "USD", not "${body.currency.slice(0, 16)}".`, "currency", "invalid_currency");
  }
  const amount = body.amount;
  if (!(amount instanceof JsonNumber)) throw fieldError("amount", "The amount field is required and must be a number.");
  if (/^-/.test(amount.source) || amount.value <= 0) throw fieldError("amount", "The field amount must be greater than 0.");
  // Exponent notation (1e2, or 1.5E7 as a .NET or Java double prints) expanded exactly.
  const minor = decimalToMinor(amount.decimalText(), currency, "amount");
  const gatewayRaw = body.paymentGatewayId;
  let gateway = 1;
  if (gatewayRaw !== undefined && gatewayRaw !== null) {
    const n = gatewayRaw instanceof JsonNumber ? gatewayRaw.integer() : null;
    if (n === null || n < 1) throw fieldError("paymentGatewayId", "The field paymentGatewayId must be a positive whole number.");
    gateway = n;
  }
  return {
    invoiceId: optionalInteger(body, "invoiceId"),
    orderId: optionalInteger(body, "orderId"),
    amount: minor,
    currency,
    gateway,
    returnUrl: optionalUrl(body, "returnUrl"),
    cancelUrl: optionalUrl(body, "cancelUrl"),
    description: optionalText(body, "description", 1000),
  };
}

/** The connector account of a gateway number, for this merchant and mode (a 400 otherwise). */
async function gatewayAccount(c: Ctx, scope: Scope, gateway: number): Promise<string> {
  const unknown = () => fieldError("paymentGatewayId", `Payment gateway ${gateway} does not exist for this merchant.`);
  const account = await accountOfGateway(directoryDb(c.env), gateway);
  if (account === null) throw unknown();
  if (account === SANDBOX_ACCOUNT) {
    if (scope.livemode) throw fieldError("paymentGatewayId", "Payment gateway 1 (the built-in sandbox) takes only test-mode payments.");
    return account;
  }
  const rows: AccountRow[] = await loadAccounts(c.env, scope);
  const row = rows.find((r) => r.id === account);
  if (!row) throw unknown();
  if (row.status !== "enabled") throw fieldError("paymentGatewayId", `Payment gateway ${gateway} is disabled.`);
  return account;
}

// ---- routes -------------------------------------------------------------------------------------------

/** The methods of a known path under the prefix (a 405 names them), or null for an unknown path. */
function allowedMethods(rest: string): string[] | null {
  if (rest === "" || rest === "/") return ["GET", "POST"];
  if (/^\/customer\/[^/]+$/.test(rest)) return ["GET"];
  if (/^\/webhook\/[^/]+$/.test(rest)) return ["POST"];
  if (/^\/[^/]+\/(confirm|cancel)$/.test(rest)) return ["POST"];
  if (/^\/[^/]+$/.test(rest)) return ["GET"];
  return null;
}


const ANY_CASE_PREFIX = /^\/api\/v1\/paymentintents(?=\/|$)/i;
const ACTIONS = new Set(["customer", "webhook", "confirm", "cancel"]);

/** This surface's path as its routes spell it (prefix and action words), or null for another surface's. */
export function canonicalPath(path: string): string | null {
  const match = ANY_CASE_PREFIX.exec(path);
  if (!match) return null;
  // Trailing slashes cut by a loop: /\/+$/ tried every slash of a long run as a start, and this runs on
  // every request under the prefix, before any credential is read (15,000 slashes took 0.8 s of CPU).
  let end = path.length;
  while (end > match[0].length && path.charCodeAt(end - 1) === 0x2f) end--;
  const rest = path.slice(match[0].length, end);
  const segments = rest.split("/").map((segment) => (ACTIONS.has(segment.toLowerCase()) ? segment.toLowerCase() : segment));
  return PREFIX + segments.join("/");
}

export function paymentIntentsSurface(): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.onError(surfaceErrors("paymentintents", sendProblem));

  api.get("/", async (c) => {
    const principal = await caller(c);
    requireReader(principal, "list payment intents");
    const { take, before } = pageOf(c);
    const filter = { merchantId: readScope(principal), livemode: principal.livemode, before };
    const rows = await numberedAcrossShards(c, filter, take + 1, (a, b) => b.number - a.number);
    return sendPage(c, await renderedList(c, principal, rows.slice(0, take)), take, rows.length > take);
  });

  api.get("/customer/:customerId", async (c) => {
    const principal = await caller(c);
    requireReader(principal, "list a customer's payment intents");
    const customer = c.req.param("customerId");
    if (customer.length > 255) throw invalidRequest("The customer id is too long.", "customerId");
    // All of the customer's payments, as the API says, up to 1,000 at a time (limit and beforeId page on).
    const { take, before } = pageOf(c, MAX_LIST);
    // The list is newest first by creation time, which the numbers need not follow (a number is allocated
    // before its payment is created): the next page goes on after beforeId's place in that order. A
    // number no payment has pages by number, as the list of all payments does.
    const after = before === undefined ? undefined : ((await findOnShards(c.env, (d1) => listPositionOf(d1, before))) ?? undefined);
    const rows = await numberedAcrossShards(c, { merchantId: readScope(principal), livemode: principal.livemode, customer, before, after }, take + 1, (a, b) => newestFirst(a.intent, b.intent));
    return sendPage(c, await renderedList(c, principal, rows.slice(0, take)), take, rows.length > take);
  });

  api.get("/:id", async (c) => {
    const principal = await caller(c);
    requireReader(principal, "read payment intents");
    // /customer/ with no id (its slash dropped): the customer's list missing its id, not a payment named "customer".
    if (c.req.param("id") === "customer") throw invalidRequest("The customer id is missing: GET /api/v1/PaymentIntents/customer/{customerId}.", "customerId", "parameter_missing");
    const found = await findIntent(c, principal, c.req.param("id"));
    return send(c, await rendered(c, principal, found.intent, found.number));
  });

  api.post("/", async (c) => {
    const principal = await caller(c);
    authorize(principal, "payments.transactions.create", { needsMerchant: true });
    const input = parseCreate(await readExactJson(c.req.raw));
    const scope = { merchantId: principal.merchantId, livemode: principal.livemode };
    const account = await gatewayAccount(c, scope, input.gateway);
    // The payment's customer comes from the token: when it names one of our customers (cus_...), it
    // must be this merchant's, as every other surface checks.
    const customer = customerOf(principal);
    if (customer !== null && hasPrefix(customer, "cus")) await liveCustomer(c.env.DB, scope, customer, "customerId");
    // With an Idempotency-Key the intent's id derives from it, so a retry lands on the same object.
    // The key is bound to the payment's customer too: another user's token sending the same key and
    // body gets no replay of this user's payment (and its client secret).
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), { ...scope, customerId: customer }, { route: `POST ${PREFIX}`, target: "", params: input });
    const id = idem.key ? await derivedId("pi", scope.merchantId, String(scope.livemode), idem.key) : randomId("pi");
    const number = await allocateIntentNumber(c.env.DB, id, scope, Date.now());
    const outcome = await intentStub(c.env, id).create(requestOf(c, principal, scope, null, idem), createParams({
      id,
      amount: input.amount,
      currency: input.currency,
      customer,
      description: input.description,
      orderId: input.orderId,
      invoiceId: input.invoiceId,
      returnUrl: input.returnUrl,
      cancelUrl: input.cancelUrl,
      number,
      createdVia: "paymentintents",
      gatewayAccount: account,
    }));
    const res = await outcomeResponse(c, principal, outcome, number, 201);
    if (res.status === 201) res.headers.set("Location", `${PREFIX}/${number}`);
    return res;
  });

  api.post("/:id/confirm", async (c) => {
    const principal = await caller(c);
    authorize(principal, "payments.transactions.create", { needsMerchant: false });
    const found = await findIntent(c, principal, c.req.param("id"));
    const body = await readExactJson(c.req.raw);
    if (typeof body !== "string" || body.trim() === "" || body.length > 255) {
      throw invalidRequest('The body must be a JSON string: the payment method id or test token, e.g. "pm_card_visa".', "paymentMethodId", "invalid_field");
    }
    // An unknown payment method is invalid data (400): this route's 404 means an unknown payment intent.
    // A saved payment method pays only for the customer it is attached to.
    const paymentMethod = await resolvePaymentMethodFor(c, { ...principal, merchantId: found.scope.merchantId }, { payment_method: body.trim() }, found.intent.customer).catch((err: unknown) => {
      // In this API's words: "payment method", not /v1's parameter name (payment_method).
      if (err instanceof ApiError && err.status === 404) throw invalidRequest(err.message.replace(/^No such payment_method\b/, "No such payment method"), "paymentMethodId", "payment_method_unknown");
      // The core names /v1's parameter; this surface's error names its own field.
      if (err instanceof ApiError && err.data.param === "payment_method") throw new ApiError({ ...err.data, param: "paymentMethodId" });
      throw err;
    });
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), { ...found.scope, customerId: principal.customerId }, { route: `POST ${PREFIX}/{id}/confirm`, target: found.intent.id, params: body.trim() });
    const outcome = await intentStub(c.env, found.intent.id).confirm(requestOf(c, principal, found.scope, "payment_intents.confirm", idem), found.intent.id, { paymentMethod });
    return outcomeResponse(c, principal, outcome, found.number);
  });

  api.post("/:id/cancel", async (c) => {
    const principal = await caller(c);
    // The shopper's cancel needs what /v1's does of a customer token: the permission to make payments
    // (a customer token narrowed to viewing cancels nothing). Checked before the payment is looked up,
    // as confirm's is: a token that may cancel nothing (support) gets the same 403 for every id, never
    // a 404 for a number that has no payment and a 403 for one that has.
    authorize(principal, principal.customerId ? "payments.transactions.create" : "payments.transactions.void", { needsMerchant: false });
    // A shopper cancels only its own payment (findIntent), and only before it is confirmed (the object
    // checks; its refusal is a 400 as a merchant's is, customerCancelRefusal).
    const found = await findIntent(c, principal, c.req.param("id"));
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), { ...found.scope, customerId: principal.customerId }, { route: `POST ${PREFIX}/{id}/cancel`, target: found.intent.id, params: {} });
    const outcome = await intentStub(c.env, found.intent.id).cancel(requestOf(c, principal, found.scope, "payment_intents.cancel", idem), found.intent.id, {
      cancellationReason: "requested_by_customer",
      onlyUnconfirmed: principal.customerId !== null,
    });
    if (outcome.error && principal.customerId !== null) return outcomeResponse(c, principal, { ...outcome, error: customerCancelRefusal(outcome.error, outcome.intent) }, found.number);
    return outcomeResponse(c, principal, outcome, found.number);
  });

  api.use("/webhook/*", ipRateLimit);
  api.post("/webhook/:gatewayId", async (c) => {
    // The document answers this route 200, 400 or 500 only: a gateway id that names no gateway makes
    // the payload one that cannot be processed, a 400 (as an unsigned one is), not a 404.
    const idText = c.req.param("gatewayId");
    const unknownGateway = () => invalidRequest(`Payment gateway ${idText.slice(0, 40)} does not exist: the webhook cannot be processed.`, "gatewayId", "invalid_payload");
    if (!/^[1-9]\d{0,14}$/.test(idText)) throw unknownGateway();
    const gateway = Number(idText);
    const accountId = await accountOfGateway(directoryDb(c.env), gateway);
    if (accountId === null) throw unknownGateway();
    let account: AccountRow | null = null;
    if (accountId !== SANDBOX_ACCOUNT) {
      const [row] = await db(directoryDb(c.env)).select().from(connectorAccounts).where(eq(connectorAccounts.id, accountId)).limit(1);
      if (!row) throw unknownGateway();
      account = row;
    }
    // The body is a JSON string holding the provider's payload (a provider posting its JSON directly works too).
    const text = await readBodyText(c.req.raw);
    const parsed = text.trim() === "" ? null : parseExactJson(text);
    const payload = typeof parsed === "string" ? parsed : parsed !== null && typeof parsed === "object" ? text : null;
    if (payload === null) throw invalidRequest("The body must be a JSON string holding the payment provider's webhook payload.", "payload", "invalid_payload");
    const events = await verifyPspWebhook(c, account, payload);
    return send(c, await applyPspEvents(c, accountId, account, events));
  });

  api.all("*", (c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(path.slice(PREFIX.length));
    if (allowed && !allowed.includes(c.req.method)) {
      const res = sendProblem(c, { status: 405, type: "invalid_request_error", code: "method_not_allowed", message: `${c.req.method} is not allowed on ${path}; use ${allowed.join(" or ")}.` });
      res.headers.set("Allow", allowed.join(", "));
      return res;
    }
    throw new ApiError({ status: 404, type: "invalid_request_error", code: "route_missing", message: `No route ${c.req.method} ${path}.` });
  });
  return api;
}

// ---- OpenAPI ------------------------------------------------------------------------------------------

const Problem = z
  .object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), traceId: z.string(), errors: z.record(z.string(), z.array(z.string())).optional(), code: z.string().optional() })
  .meta({ id: "SeedProblemDetails" });

const SeedIntent = z
  .object({
    id: z.number().int(),
    invoiceId: z.number().int().nullable().describe("An integer; null when none, or when it was set through another surface and is not an integer (see the payment on /v1 by gatewayIntentId)."),
    orderId: z.number().int().nullable().describe("An integer; null when none, or when it was set through another surface and is not an integer (see the payment on /v1 by gatewayIntentId)."),
    customerId: z.number().int().nullable().describe("An integer; null when none, or when it was set through another surface and is not an integer (see the payment on /v1 by gatewayIntentId)."),
    amount: z.number().describe("Major units, exactly the currency's digits (99.99 EUR, 1000 JPY, 1.250 KWD)."),
    currency: z.string(),
    status: z.enum(["RequiresPaymentMethod", "RequiresConfirmation", "RequiresAction", "Processing", "RequiresCapture", "Succeeded", "Canceled", "Failed"]),
    paymentGatewayId: z.number().int().nullable(),
    gatewayIntentId: z.string(),
    clientSecret: z.string().nullable().describe("The payment's client secret, to a token that may make payments; null to one that may only read (support)."),
    description: z.string().nullable(),
    authorizedAt: z.string().nullable(),
    capturedAt: z.string().nullable(),
    failedAt: z.string().nullable(),
    failureReason: z.string(),
    createdAt: z.string(),
    nextActionUrl: z.string().optional().describe("Ours, only while RequiresAction (3D Secure): the page where the customer takes that step."),
  })
  .meta({ id: "SeedPaymentIntent" });

const SeedCreate = z
  .object({
    invoiceId: z.number().int().nullable().optional(),
    orderId: z.number().int().nullable().optional(),
    amount: z.number().positive(),
    currency: z.string().length(3),
    paymentGatewayId: z.number().int().optional().describe("1: the built-in sandbox; 2, 3, ...: the merchant's connector accounts. Default 1."),
    returnUrl: z.string().nullable().optional(),
    cancelUrl: z.string().nullable().optional(),
    description: z.string().nullable().optional(),
  })
  .meta({ id: "SeedPaymentIntentCreate" });

export function registerPaymentIntentsSurface(app: App): void {
  const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });
  const common = { 401: problemResponse("Not authenticated"), 500: problemResponse("Internal error") };
  // Open to any authenticated user allowed to pay: a token whose permissions do not include it (support, a narrowed key) is a 403.
  const notAllowedToPay = problemResponse("This token may not make, confirm or cancel payments (support, or a token narrowed to other permissions)");
  const tags = ["Seed 000: /api/v1/PaymentIntents"];
  const security = [{ bearerAuth: [] }];
  const idParam = { params: z.object({ id: z.string().regex(/^\d+$/) }) };
  const one = { description: "The payment intent", content: { "application/json": { schema: SeedIntent } } };
  const many = { description: "The payment intents", content: { "application/json": { schema: z.array(SeedIntent) } } };
  const reg = app.openAPIRegistry;
  reg.registerPath({ method: "get", path: PREFIX, summary: "All payment intents (roles admin, support), newest first", tags, security, request: { query: z.object({ limit: z.string().optional(), beforeId: z.string().optional() }) }, responses: { 200: many, 403: problemResponse("Not admin or support"), ...common } });
  reg.registerPath({ method: "get", path: `${PREFIX}/{id}`, summary: "A payment intent (roles admin, support)", tags, security, request: idParam, responses: { 200: one, 403: problemResponse("Not admin or support"), 404: problemResponse("No such payment intent"), ...common } });
  reg.registerPath({ method: "get", path: `${PREFIX}/customer/{customerId}`, summary: "A customer's payment intents (roles admin, support)", tags, security, request: { params: z.object({ customerId: z.string() }) }, responses: { 200: many, 403: problemResponse("Not admin or support"), ...common } });
  reg.registerPath({ method: "post", path: PREFIX, summary: "Create a payment intent (any authenticated user)", tags, security, request: { body: { required: true, content: { "application/json": { schema: SeedCreate } } } }, responses: { 201: { ...one, description: "Created" }, 400: problemResponse("Invalid data"), 403: notAllowedToPay, 404: problemResponse("The token's customer (cus_...) is not one of this merchant's"), ...common } });
  reg.registerPath({ method: "post", path: `${PREFIX}/{id}/confirm`, summary: "Confirm with a payment method (body: a JSON string such as \"pm_card_visa\")", tags, security, request: { ...idParam, body: { required: true, content: { "application/json": { schema: z.string() } } } }, responses: { 200: one, 400: problemResponse("Invalid payment method or declined"), 403: notAllowedToPay, 404: problemResponse("No such payment intent"), ...common } });
  reg.registerPath({ method: "post", path: `${PREFIX}/{id}/cancel`, summary: "Cancel a payment intent", tags, security, request: idParam, responses: { 200: one, 400: problemResponse("The payment intent cannot be canceled in its status"), 403: notAllowedToPay, 404: problemResponse("No such payment intent"), ...common } });
  reg.registerPath({ method: "post", path: `${PREFIX}/webhook/{gatewayId}`, summary: "A payment provider's webhook for a gateway (body: a JSON string holding the provider's payload, signed as for /v1/psp_webhooks)", tags, request: { params: z.object({ gatewayId: z.string() }), body: { required: true, content: { "application/json": { schema: z.string() } } } }, responses: { 200: { description: "Processed", content: { "application/json": { schema: z.object({ received: z.boolean(), applied: z.number().int(), duplicates: z.number().int() }) } } }, 400: problemResponse("Invalid or unsigned payload, or no such payment gateway"), 500: problemResponse("Internal error") } });
  // ASP.NET's routing, which the document's controller runs on, ignores case and a trailing slash:
  // /api/v1/paymentintents/1/Confirm and /api/v1/PaymentIntents/ reach the same actions here.
  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    const canonical = canonicalPath(url.pathname);
    if (canonical === null || canonical === url.pathname) return next();
    url.pathname = canonical;
    // The same request under its canonical path keeps its request id: the answer's Request-Id header
    // (this request's) and a problem's traceId (the inner one's) are then the same id.
    const inner = new Request(url, c.req.raw);
    inner.headers.set("x-request-id", c.get("requestId"));
    return app.fetch(inner, c.env, c.executionCtx);
  });
  app.route(PREFIX, paymentIntentsSurface());
}
