// Seed 003: iCliGo's /payments, a thin translator onto the same intents as /v1. Application
// credentials in X-Application-Id + X-Access-Token (400 when one is missing or the application id is
// malformed, 401 for a wrong pair, 403 for another application's payment); decimal amounts converted
// exactly; statuses in this surface's words, the core's errors too; every error as {timestamp,
// status, error, message, path}. The customer pays on the hosted payment page; the application hears
// AUTHORIZED / COMPLETED / CONFIRMED / CANCELED / REFUNDED through its webhook endpoints (events
// icligo.payment.*, src/core/surface-events.ts).
import { Hono } from "hono";
import { z } from "zod";
import { ApiError, authenticationFailed, invalidRequest, resourceMissing, type ApiErrorData } from "../../core/errors";
import { derivedId, hasPrefix, randomId } from "../../core/ids";
import { findCustomer } from "../../billing/store";
import { settlementUnknown } from "../../core/intent";
import { decimalToMinor, normalizeCurrency } from "../../core/money";
import { icligoFieldsOf } from "../../core/icligo-fields";
import { ICLIGO_FIELD_NAMES, type IntentRecord, type LineItem, type Metadata, type Scope } from "../../core/types";
import { principalFromApplication } from "../../auth/api-keys";
import { limitFailures } from "../../auth/authenticate";
import { useMerchantShard } from "../common/surface-auth";
import { directoryDb } from "../../db/shards";
import { authorize, type Permission, type Principal } from "../../auth/permissions";
import { limitCredential } from "../../auth/rate-limit";
import { allocateIntentNumber, intentByNumber, numberOfIntent } from "../../db/numbers";
import { merchantSettings } from "../../db/merchants";
import { readBodyText } from "../../http/body";
import { createParams, type OpOutcome, type RequestContext } from "../../intents/params";
import { hostedPaymentPageUrl } from "../../pages/urls";
import { intentStub, publicBase } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { JsonNumber, parseRequestJson, readExactJson, stringifyExact } from "../common/exact-json";
import { surfaceErrors } from "../common/errors";
import { NO_IDEMPOTENCY, surfaceIdempotency, surfaceRequest, type SurfaceIdempotency } from "../common/idempotency";
import { icligoError, icligoStatusCode, inSurfaceWords, INVALID_ACCESS_TOKEN, INVALID_APPLICATION_ID, MISSING_HEADERS, type PaymentAction } from "./errors";
import { renderCapture, renderPayment, renderPendingRefund } from "./render";

export const PREFIX = "/payments";

// ---- answers ---------------------------------------------------------------------------------------

/** An answer; an idempotent replay says so (`Idempotent-Replayed: true`), as on /v1. */
function send(body: unknown, status = 200, replayed = false): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (replayed) headers["Idempotent-Replayed"] = "true";
  return new Response(stringifyExact(body), { status, headers });
}

/** `answeredAt`: the time of an answer kept for an Idempotency-Key, so that its replay is the same body. */
function sendError(c: Ctx, err: ApiErrorData, replayed = false, answeredAt = Date.now()): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (err.retryAfterSeconds !== undefined) headers["Retry-After"] = String(err.retryAfterSeconds);
  if (replayed) headers["Idempotent-Replayed"] = "true";
  return new Response(JSON.stringify(icligoError(err, new URL(c.req.url).pathname, answeredAt)), { status: icligoStatusCode(err), headers });
}

function badRequest(message: string): ApiError {
  return invalidRequest(message);
}

/**
 * The hosted page where the customer pays: its address carries the payment's client secret, with
 * which anyone who has it may pay. Answered only to an application that may make payments itself; one
 * that may only read (or cancel, refund) gets null, as /v1 and seed 000 answer such readers.
 */
function paymentUrl(c: Ctx, principal: Principal, intent: IntentRecord): string | null {
  return principal.permissions.has("payments.transactions.create") ? hostedPaymentPageUrl(publicBase(c), intent.id, intent.clientSecret) : null;
}

// ---- who is calling ----------------------------------------------------------------------------------

async function application(c: Ctx, permission: Permission): Promise<Principal> {
  // A header value's surrounding blanks are not part of it (RFC 9110, 5.5).
  const appId = c.req.header("x-application-id")?.trim();
  const token = c.req.header("x-access-token")?.trim();
  if (!appId || !token) throw new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_missing", message: MISSING_HEADERS });
  // The document: a 400 when the headers are "missing or invalid", a 401 for an "unauthorised or
  // incorrect Application ID". An id that is not one at all (not app_ and its letters and digits) is
  // invalid: a 400, before any lookup; a well-formed id that names no application (or a token that
  // does not match it) is incorrect: a 401.
  if (!hasPrefix(appId, "app")) throw new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_invalid", message: INVALID_APPLICATION_ID });
  if (!/^tok_[A-Za-z0-9]{1,200}$/.test(token)) throw new ApiError({ status: 400, type: "invalid_request_error", code: "parameter_invalid", message: INVALID_ACCESS_TOKEN });
  // Failed authentications count against the client IP's limit, as on /v1.
  const principal = await limitFailures(c.env, { header: (name) => c.req.header(name) }, (mode) =>
    principalFromApplication(c.env.DB, appId, token, (p) => c.executionCtx.waitUntil(p), mode).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 401) throw authenticationFailed("No valid pair of X-Application-Id and X-Access-Token headers was provided.");
      throw err;
    }),
  );
  await limitCredential(c.env, principal);
  authorize(principal, permission, { needsMerchant: true });
  useMerchantShard(c, principal);
  return principal;
}

// ---- finding a payment -------------------------------------------------------------------------------

interface Found {
  number: number;
  scope: Scope;
  intent: IntentRecord;
}

/** A payment by its id (the number this surface gave it) or our pi_ id; another application's is a 403. */
async function findPayment(c: Ctx, principal: Principal, idText: string): Promise<Found> {
  const missing = () => resourceMissing("payment", idText.slice(0, 64));
  const row = /^[1-9]\d{0,14}$/.test(idText) ? await intentByNumber(c.env.DB, Number(idText)) : hasPrefix(idText, "pi") ? await numberOfIntent(c.env.DB, idText) : null;
  if (!row) throw missing();
  if (row.merchantId !== principal.merchantId || row.livemode !== principal.livemode) {
    throw new ApiError({ status: 403, type: "permission_error", message: `Payment ${idText.slice(0, 64)} belongs to another application.` });
  }
  const scope = { merchantId: row.merchantId, livemode: row.livemode };
  const intent = await intentStub(c.env, row.intentId).retrieve(scope, row.intentId);
  if (!intent) throw missing();
  return { number: row.number, scope, intent };
}

function requestOf(c: Ctx, principal: Principal, scope: Scope, action: string | null, idem: SurfaceIdempotency = NO_IDEMPOTENCY): RequestContext {
  return surfaceRequest(c, principal, scope, idem, action, "icligo");
}

function intentOf(outcome: OpOutcome, number: number): IntentRecord {
  if (outcome.error?.code === "resource_already_exists") {
    throw new ApiError({ ...outcome.error, message: "A payment was already created with this Idempotency-Key: repeat the same request to read it, or send another key." });
  }
  if (outcome.error) throw new ApiError(outcome.error);
  if (!outcome.intent) throw resourceMissing("payment", String(number));
  return outcome.intent;
}

/**
 * The payment after a capture, cancel or refund, or the core's refusal as this surface words it (for
 * the payment's state, as refusalOf words it, on the state the core saw). Whether the payment's state
 * allows the operation is decided by its object alone, never by a check here: the object keeps a
 * refusal as the Idempotency-Key's answer, as it keeps a success, so the same request sent again is
 * answered the same refusal (Idempotent-Replayed) and never runs later, once the state would allow it.
 */
function paymentAfter(c: Ctx, outcome: OpOutcome, action: PaymentAction, found: Found, amount?: number): IntentRecord | Response {
  if (outcome.error) return sendError(c, inSurfaceWords(outcome.error, action, found.number, outcome.intent ?? found.intent, amount), outcome.replayed, outcome.answer?.at);
  if (!outcome.intent) throw resourceMissing("payment", String(found.number));
  return outcome.intent;
}

const UNKNOWN_WORDS: Record<"capture" | "cancel", { noun: string; verb: string; then: string }> = {
  capture: { noun: "capture", verb: "capture", then: "Confirmed once captured, with a CONFIRMED webhook" },
  cancel: { noun: "cancellation", verb: "cancel", then: "Canceled once released, with a CANCELED webhook" },
};

/**
 * A capture or cancel sent to the processor whose answer was lost (or is still pending there, as PayPal
 * may answer): its outcome is reconciled later.
 * Not a 200, which would say it was done: the document's 500, saying what happened and what to do
 * (the payment is Processing meanwhile, and refuses the same operation). The key's replay of the same
 * outcome is the same answer.
 */
function outcomeUnknown(c: Ctx, outcome: OpOutcome, action: "capture" | "cancel", number: number): Response {
  const w = UNKNOWN_WORDS[action];
  const message = `The processor has not confirmed the ${w.noun} of payment ${number} (no answer in time, or one still pending there): its outcome is not known yet and is being reconciled. Do not ${w.verb} it again; read it with GET /payments/${number} (${w.then}).`;
  return sendError(c, { status: 504, type: "api_error", code: "provider_timeout", message }, outcome.replayed, outcome.answer?.at);
}

// ---- request bodies ----------------------------------------------------------------------------------

/** `raw` as an object; `field` names it in the message when it is not the body itself (products[0].price). */
function objectBody(raw: unknown, field?: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof JsonNumber) {
    throw badRequest(field ? `Invalid request: '${field}' must be a JSON object.` : "Invalid request: the body must be a JSON object.");
  }
  return raw as Record<string, unknown>;
}

/** An optional JSON body: none (or an empty one) is {}. */
async function optionalBody(c: Ctx): Promise<Record<string, unknown>> {
  const hasBody = (c.req.header("content-length") ?? "") !== "0" && c.req.raw.body !== null;
  if (!hasBody) return {};
  const type = c.req.header("content-type");
  if (!type) {
    const text = await readBodyText(c.req.raw);
    if (text.trim() === "") return {};
    return objectBody(parseRequestJson(text));
  }
  return objectBody(await readExactJson(c.req.raw));
}

/** `body[field]` as a string; `label` is how the message names it (with its place: products[0].name). */
function text(body: Record<string, unknown>, field: string, max: number, required = false, label = field): string | null {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw badRequest(`Invalid request: missing required field '${label}'.`);
    return null;
  }
  if (typeof v !== "string") throw badRequest(`Invalid request: '${label}' must be a string.`);
  if (v.length > max) throw badRequest(`Invalid request: '${label}' must be at most ${max} characters.`);
  if (required && v.trim() === "") throw badRequest(`Invalid request: '${label}' must not be empty.`);
  return v;
}

function decimal(value: unknown, currency: string, field: string): number {
  if (!(value instanceof JsonNumber)) throw badRequest(`Invalid request: '${field}' must be a number.`);
  if (value.source.startsWith("-") || value.value <= 0) throw badRequest(`Invalid request: '${field}' must be greater than 0.`);
  try {
    // Exponent notation (a Java client's double of 10^7 or more: 1.5E7) expanded exactly.
    return decimalToMinor(value.decimalText(), currency, field);
  } catch (err) {
    if (err instanceof ApiError) throw badRequest(`Invalid request: '${field}': ${err.message}`);
    throw err;
  }
}

function currencyOf(value: unknown, field: string): string {
  if (value === undefined || value === null) throw badRequest(`Invalid request: missing required field '${field}'.`);
  if (typeof value !== "string") throw badRequest(`Invalid request: '${field}' must be a string: an ISO 4217 code such as 'EUR'.`);
  try {
    return normalizeCurrency(value, field);
  } catch {
    throw badRequest(`Invalid request: '${field}' is not a supported ISO 4217 currency: ${value.slice(0, 16)}.`);
  }
}

/** A currency sent with a capture's or refund's amount must be the payment's (1.00 JPY is not 1.00 EUR). */
function samePaymentCurrency(body: Record<string, unknown>, intent: IntentRecord): void {
  if (body.currency === undefined || body.currency === null) return;
  const sent = currencyOf(body.currency, "currency");
  if (sent !== intent.currency) throw badRequest(`Invalid request: 'currency' must be the payment's (${intent.currency.toUpperCase()}), not ${sent.toUpperCase()}.`);
}

interface CreateInput {
  userId: string;
  currency: string;
  amount: number;
  manualCapture: boolean;
  metadata: Metadata;
  lineItems: LineItem[];
}

export function parseCreate(raw: unknown): CreateInput {
  const body = objectBody(raw);
  const userId = text(body, "userId", 255, true) ?? "";
  const currency = currencyOf(body.currency, "currency");
  if (body.amount === undefined || body.amount === null) throw badRequest("Invalid request: missing required field 'amount'.");
  const amount = decimal(body.amount, currency, "amount");
  const manual = body.manualCapture;
  if (manual !== undefined && manual !== null && typeof manual !== "boolean") throw badRequest("Invalid request: 'manualCapture' must be true or false.");
  const metadata: Metadata = {};
  for (const field of ICLIGO_FIELD_NAMES) {
    const value = text(body, field, 500);
    if (value !== null) metadata[field] = value;
  }
  if (metadata.country !== undefined && !/^[A-Za-z]{2}$/.test(metadata.country)) throw badRequest("Invalid request: 'country' must be an ISO 3166-1 alpha-2 code such as 'PT'.");
  const products = body.products;
  const lineItems: LineItem[] = [];
  if (products !== undefined && products !== null) {
    if (!Array.isArray(products)) throw badRequest("Invalid request: 'products' must be an array.");
    if (products.length > 100) throw badRequest("Invalid request: at most 100 products.");
    products.forEach((p: unknown, i) => {
      const product = objectBody(p, `products[${i}]`);
      const name = text(product, "name", 255, true, `products[${i}].name`) ?? "";
      const q = product.quantity;
      const quantity = q === undefined || q === null ? 1 : q instanceof JsonNumber ? q.integer() : null;
      if (quantity === null || quantity < 1 || quantity > 1_000_000) throw badRequest(`Invalid request: 'products[${i}].quantity' must be a whole number of at least 1.`);
      if (product.price === undefined || product.price === null) throw badRequest(`Invalid request: missing required field 'products[${i}].price'.`);
      const price = objectBody(product.price, `products[${i}].price`);
      const priceCurrency = currencyOf(price.currency, `products[${i}].price.currency`);
      lineItems.push({
        name,
        quantity,
        unitAmount: decimal(price.value, priceCurrency, `products[${i}].price.value`),
        reference: text(product, "id", 255, false, `products[${i}].id`),
        currency: priceCurrency,
      });
    });
  }
  return { userId, currency, amount, manualCapture: manual === true, metadata, lineItems };
}

/** The methods of a known path under /payments (a 405 names them), or null for an unknown path. */
function allowedMethods(rest: string): string[] | null {
  if (rest === "/create-payment-intent") return ["POST"];
  if (/^\/[^/]+\/capture$/.test(rest)) return ["PUT"];
  if (/^\/[^/]+\/cancel$/.test(rest)) return ["PUT", "POST"];
  if (/^\/[^/]+\/refund$/.test(rest)) return ["PUT", "POST"];
  if (/^\/[^/]+$/.test(rest)) return ["GET"];
  return null;
}

/** 405, naming the methods the path takes (also in `Allow`). */
function methodNotAllowed(c: Ctx, allowed: string[]): Response {
  const path = new URL(c.req.url).pathname;
  const res = sendError(c, { status: 405, type: "invalid_request_error", code: "method_not_allowed", message: `Request method '${c.req.method.slice(0, 16)}' is not supported on ${path}; use ${allowed.join(" or ")}.` });
  res.headers.set("Allow", allowed.join(", "));
  return res;
}

// ---- routes -------------------------------------------------------------------------------------------

/**
 * A route's path, and the same with a trailing slash: the document's paths have none, and a Spring
 * application (its error payload is Spring Boot's, with `path`) matched one too until Spring 6; a
 * client that adds it reaches the same route rather than a 404.
 */
const withSlash = (path: string): string[] => [path, `${path}/`];

export function icligoSurface(): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.onError(surfaceErrors("icligo", sendError));

  api.on("POST", withSlash("/create-payment-intent"), async (c) => {
    const principal = await application(c, "payments.transactions.create");
    const input = parseCreate(await readExactJson(c.req.raw));
    const scope = { merchantId: principal.merchantId, livemode: principal.livemode };
    // userId is the application's own user id, opaque, kept as the payment's customer. One that names
    // a customer of this merchant (cus_...) is that customer; an unknown cus_... or another merchant's
    // is an opaque id like any other (never looked up further, answered as an unknown one is). Only
    // this merchant's customer deleted since is refused, as for new work everywhere.
    if (hasPrefix(input.userId, "cus")) {
      const own = await findCustomer(c.env.DB, scope, input.userId, "userId").catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      });
      if (own?.deleted) throw resourceMissing("customer", input.userId.slice(0, 80), "userId");
    }
    // With an Idempotency-Key the intent's id derives from it, so a retry lands on the same object.
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), scope, { route: "POST /payments/create-payment-intent", target: "", params: input });
    const id = idem.key ? await derivedId("pi", scope.merchantId, String(scope.livemode), idem.key) : randomId("pi");
    const number = await allocateIntentNumber(c.env.DB, id, scope, Date.now());
    const outcome = await intentStub(c.env, id).create(requestOf(c, principal, scope, null, idem), createParams({
      id,
      amount: input.amount,
      currency: input.currency,
      captureMethod: input.manualCapture ? "manual" : "automatic",
      customer: input.userId,
      // A copy in the metadata (for /v1 and its search); seed 003 answers its own, which no metadata
      // update reaches (IntentRecord.icligo).
      metadata: input.metadata,
      icligo: icligoFieldsOf(input.metadata),
      lineItems: input.lineItems,
      number,
      createdVia: "icligo",
    }));
    const intent = intentOf(outcome, number);
    return send(renderPayment(intent, number, paymentUrl(c, principal, intent)), 200, outcome.replayed);
  });

  api.on("GET", withSlash("/:payment_id"), async (c) => {
    // Not a payment number: the create route, read with another method (a 405 naming POST, not "no such payment").
    if (c.req.param("payment_id") === "create-payment-intent") return methodNotAllowed(c, ["POST"]);
    const principal = await application(c, "payments.transactions.view");
    const found = await findPayment(c, principal, c.req.param("payment_id") ?? "");
    return send(renderPayment(found.intent, found.number, paymentUrl(c, principal, found.intent)));
  });

  api.on("PUT", withSlash("/:payment_id/capture"), async (c) => {
    const principal = await application(c, "payments.transactions.create");
    const found = await findPayment(c, principal, c.req.param("payment_id") ?? "");
    const body = await optionalBody(c);
    const description = text(body, "description", 500);
    samePaymentCurrency(body, found.intent);
    // "The request specifies the amount to be captured" (seed 003): a capture without one is refused,
    // not taken as the whole authorization.
    if (body.amount === undefined || body.amount === null) throw badRequest("Invalid request: missing required field 'amount'.");
    const amount = decimal(body.amount, found.intent.currency, "amount");
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), found.scope, { route: "PUT /payments/{payment_id}/capture", target: found.intent.id, params: { amount, description } });
    const outcome = await intentStub(c.env, found.intent.id).capture(requestOf(c, principal, found.scope, "payment_intents.capture", idem), found.intent.id, { amountToCapture: amount });
    const intent = paymentAfter(c, outcome, "capture", found);
    if (intent instanceof Response) return intent;
    // The processor's answer was lost: nobody knows yet whether money moved, so no capture is
    // reported (its date and amount would say it was made).
    if (settlementUnknown(intent, "capture")) return outcomeUnknown(c, outcome, "capture", found.number);
    const capture = intent.attempts.filter((a) => a.type === "capture").at(-1);
    if (!capture) throw new Error(`capture of ${intent.id} left no capture attempt`);
    return send(await renderCapture(intent, capture, description), 200, outcome.replayed);
  });

  const cancel = async (c: Ctx): Promise<Response> => {
    const principal = await application(c, "payments.transactions.void");
    const found = await findPayment(c, principal, c.req.param("payment_id") ?? "");
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), found.scope, { route: "POST /payments/{payment_id}/cancel", target: found.intent.id, params: {} });
    const outcome = await intentStub(c.env, found.intent.id).cancel(requestOf(c, principal, found.scope, "payment_intents.cancel", idem), found.intent.id, { cancellationReason: "requested_by_customer" });
    const intent = paymentAfter(c, outcome, "cancel", found);
    if (intent instanceof Response) return intent;
    // The void's answer was lost: the hold may still be on the card, so the cancel is not reported as done.
    if (settlementUnknown(intent, "void")) return outcomeUnknown(c, outcome, "cancel", found.number);
    return send(renderPayment(intent, found.number, paymentUrl(c, principal, intent)), 200, outcome.replayed);
  };
  api.on(["PUT", "POST"], withSlash("/:payment_id/cancel"), cancel);

  // Refund, as cancel, takes PUT (the document's verb for capture) or POST.
  const refund = async (c: Ctx): Promise<Response> => {
    const principal = await application(c, "payments.transactions.void");
    const found = await findPayment(c, principal, c.req.param("payment_id") ?? "");
    const body = await optionalBody(c);
    samePaymentCurrency(body, found.intent);
    const amount = body.amount === undefined || body.amount === null ? undefined : decimal(body.amount, found.intent.currency, "amount");
    const idem = await surfaceIdempotency(c.env, c.req.header("idempotency-key"), found.scope, { route: "POST /payments/{payment_id}/refund", target: found.intent.id, params: { amount } });
    // Its state, and what is left to refund (refunds waiting for an approver hold their amount too),
    // are the object's to check: a refusal is the key's answer (paymentAfter).
    const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
    const outcome = await intentStub(c.env, found.intent.id).refund(requestOf(c, principal, found.scope, "refunds.create", idem), found.intent.id, {
      amount,
      reason: "requested_by_customer",
      metadata: {},
      approvalThresholds: thresholds,
    });
    const intent = paymentAfter(c, outcome, "refund", found, amount);
    if (intent instanceof Response) return intent;
    const payment = renderPayment(intent, found.number, paymentUrl(c, principal, intent));
    const made = intent.refunds.find((r) => r.id === outcome.refundId && r.status === "pending");
    if (made?.requiresApproval && !made.approval) return send({ ...payment, refund: renderPendingRefund(made, "PENDING_APPROVAL") }, 202, outcome.replayed);
    // Sent, but the processor's answer was lost: not refunded yet, and not failed either (a 2xx, so
    // that no client retries it as a new refund, which would refund twice once this one settles).
    if (made) return send({ ...payment, refund: renderPendingRefund(made, "PENDING") }, 202, outcome.replayed);
    return send(payment, 200, outcome.replayed);
  };
  api.on(["PUT", "POST"], withSlash("/:payment_id/refund"), refund);

  api.all("*", (c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(path.slice(PREFIX.length).replace(/(?<=.)\/$/, ""));
    if (allowed && !allowed.includes(c.req.method)) return methodNotAllowed(c, allowed);
    throw new ApiError({ status: 404, type: "invalid_request_error", code: "route_missing", message: `No route ${c.req.method} ${path}.` });
  });
  return api;
}

// ---- OpenAPI ------------------------------------------------------------------------------------------

const ErrorPayload = z.object({ timestamp: z.number().int(), status: z.number().int(), error: z.string(), message: z.string(), path: z.string() }).meta({ id: "IcligoError" });
const Money = z.object({ currency: z.string(), value: z.number() }).meta({ id: "IcligoMoney" });
const Product = z.object({ id: z.string().nullable(), name: z.string(), quantity: z.number().int(), price: Money }).meta({ id: "IcligoProduct" });
const CreateIntentRequest = z
  .object({
    userId: z.string(),
    productId: z.string().optional(),
    productType: z.string().optional(),
    products: z.array(Product).optional(),
    company: z.string().optional(),
    currency: z.string().length(3),
    microsite: z.string().optional(),
    country: z.string().length(2).optional(),
    amount: z.number().positive().describe("Major units; no more decimals than the currency has (EUR 2, JPY 0, KWD 3)."),
    manualCapture: z.boolean().optional(),
  })
  .meta({ id: "IcligoCreateIntentRequest" });
// The answer writes every field of the request, null when the payment has none (a payment made
// through another surface may have no userId, no product, no company): present, and nullable.
const nullableText = z.string().nullable();
const PaymentDto = CreateIntentRequest.extend({
  userId: nullableText.describe("The application's user id (the payment's customer); null when the payment has none (made through another surface)."),
  productId: nullableText,
  productType: nullableText,
  products: z.array(Product),
  company: nullableText,
  currency: z.string().length(3),
  microsite: nullableText,
  country: nullableText,
  amount: z.number().positive().describe("Major units, with the currency's digits (25.00 EUR, 1000 JPY, 1.250 KWD)."),
  manualCapture: z.boolean(),
  id: z.number().int().describe("The payment's id in this surface's paths (the same number as seed 000's)."),
  paymentIntentId: z.string().describe("Our pi_... id (/v1)."),
  status: z.enum(["Created", "Processing", "Authorized", "Completed", "Confirmed", "Canceled", "Refunded", "Failed"]),
  capturedAmount: Money,
  refundedAmount: Money,
  paymentUrl: z.string().nullable().describe("The hosted payment page where the customer pays (it carries the client secret); null to an application that may not make payments."),
  createdAt: z.number().int(),
}).meta({ id: "IcligoPaymentDto" });
const SameCurrency = z.string().length(3).optional().describe("Optional; when sent, the payment's currency (another one is a 400).");
const CaptureRequest = z.object({ amount: z.number().positive().describe("The amount to capture, at most the authorized amount."), description: z.string().optional(), currency: SameCurrency }).meta({ id: "IcligoExternalConfirmPaymentRequest" });
const ConfirmPaymentResponse = z
  .object({ date: z.number().int(), capturedAmountInfo: Money, captures: z.array(z.object({ id: z.string(), description: z.string(), captureTime: z.number().int(), amount: Money })).length(1) })
  .meta({ id: "IcligoConfirmPaymentResponse" });
const HeldRefund = PaymentDto.extend({
  refund: z.object({ id: z.string(), status: z.enum(["PENDING_APPROVAL", "PENDING"]).describe("PENDING_APPROVAL: held for an approver; PENDING: sent, the processor's answer not known yet (reconciled; REFUNDED webhook once refunded)."), amount: Money }),
}).meta({ id: "IcligoHeldRefund" });
const RefundRequest = z.object({ amount: z.number().positive().optional().describe("Default: all that is left to refund."), currency: SameCurrency }).meta({ id: "IcligoRefundRequest" });

export function registerIcligoSurface(app: App): void {
  const reg = app.openAPIRegistry;
  reg.registerComponent("securitySchemes", "icligoApplicationId", { type: "apiKey", in: "header", name: "X-Application-Id" });
  reg.registerComponent("securitySchemes", "icligoAccessToken", { type: "apiKey", in: "header", name: "X-Access-Token" });
  const security = [{ icligoApplicationId: [], icligoAccessToken: [] }];
  const tags = ["Seed 003: iCliGo /payments"];
  const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorPayload } } });
  const errors = { 400: err("Bad request (also: a missing auth header)"), 401: err("No valid pair of auth headers"), 403: err("Another application's payment"), 404: err("No such payment"), 500: err("Server error") };
  const params = z.object({ payment_id: z.string() });
  const json = <S extends z.ZodType>(schema: S) => ({ content: { "application/json": { schema } } });
  reg.registerPath({ method: "post", path: `${PREFIX}/create-payment-intent`, summary: "Create a payment intent", tags, security, request: { body: { required: true, ...json(CreateIntentRequest) } }, responses: { 200: { description: "The payment", ...json(PaymentDto) }, ...errors } });
  reg.registerPath({ method: "get", path: `${PREFIX}/{payment_id}`, summary: "A payment", tags, security, request: { params }, responses: { 200: { description: "The payment", ...json(PaymentDto) }, ...errors } });
  reg.registerPath({ method: "put", path: `${PREFIX}/{payment_id}/capture`, summary: "Capture an Authorized payment (once)", tags, security, request: { params, body: { required: true, ...json(CaptureRequest) } }, responses: { 200: { description: "The capture", ...json(ConfirmPaymentResponse) }, ...errors } });
  for (const method of ["put", "post"] as const) {
    reg.registerPath({ method, path: `${PREFIX}/{payment_id}/cancel`, summary: "Cancel a Created or Authorized payment", tags, security, request: { params }, responses: { 200: { description: "The payment", ...json(PaymentDto) }, ...errors } });
  }
  for (const method of ["put", "post"] as const)
    reg.registerPath({ method, path: `${PREFIX}/{payment_id}/refund`, summary: "Refund all or part of a Completed or Confirmed payment (repeatable up to the captured amount)", tags, security, request: { params, body: { required: false, ...json(RefundRequest) } }, responses: { 200: { description: "The payment", ...json(PaymentDto) }, 202: { description: "The refund is held for an approver (above the merchant's threshold), or sent and its outcome at the processor not known yet: the payment, not refunded yet, and the refund", ...json(HeldRefund) }, ...errors } });
  app.route(PREFIX, icligoSurface());
}
