// Test helpers: call the Worker like a merchant would, and seed merchants and keys.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/index";
import { expect } from "vitest";
import { sha256Hex } from "../src/core/ids";
import type { ChargeJson, PaymentIntentJson, RefundJson, TransactionJson } from "../src/core/objects";
import type { V1ErrorBody } from "../src/api/v1/errors";
import Stripe from "stripe";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { asc } from "drizzle-orm";
import { intentFromRow, intentRow } from "../src/db/intent-row";
import { eventFromRow, eventRow } from "../src/db/event-row";
import { events, paymentIntents } from "../src/db/schema";
import type { EventRecord, IntentRecord } from "../src/core/types";

export type { ChargeJson, PaymentIntentJson, RefundJson, TransactionJson, V1ErrorBody };
export interface ListJson<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  url: string;
}
export type ErrorJson = V1ErrorBody["error"] & { payment_intent?: PaymentIntentJson };

export const KEY_A = "sk_test_merchant_a";
export const KEY_B = "sk_test_merchant_b";
export const MERCHANT_A = "acct_merchant_a";
export const MERCHANT_B = "acct_merchant_b";

export async function seedMerchant(id: string, name: string, keyId: string, secret: string, livemode: boolean): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("INSERT OR IGNORE INTO merchants (id, name, created) VALUES (?, ?, ?)").bind(id, name, Date.now()),
    env.DB.prepare("INSERT OR IGNORE INTO api_keys (id, merchant_id, key_hash, redacted, livemode, created) VALUES (?, ?, ?, ?, ?, ?)").bind(
      keyId,
      id,
      await sha256Hex(secret),
      `${secret.slice(0, 8)}***${secret.slice(-4)}`,
      livemode ? 1 : 0,
      Date.now(),
    ),
  ]);
}

/** A customer with a chosen id (intents may name only customers of their own merchant). */
export async function seedCustomer(merchantId: string, id: string, livemode = false): Promise<void> {
  await env.DB.prepare("INSERT OR IGNORE INTO customers (id, merchant_id, livemode, created) VALUES (?, ?, ?, ?)").bind(id, merchantId, livemode ? 1 : 0, Date.now()).run();
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** Send the body form-encoded as a raw string (as the stripe client does). */
  form?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

/**
 * The official stripe client, talking to the Worker in this test's workerd (its fetch is the Worker's
 * own): what a merchant's integration sends and expects, without a wrangler dev.
 */
export function stripeClient(key: string = KEY_A, config: Stripe.StripeConfig = {}): Stripe {
  const fetchFn = ((input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init))) as typeof fetch;
  return new Stripe(key, { httpClient: Stripe.createFetchHttpClient(fetchFn), host: "gateway.test", protocol: "http", maxNetworkRetries: 0, ...config });
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = Record<string, unknown>>(method: string, path: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const key = options.key === undefined ? KEY_A : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
  let body: string | undefined;
  if (options.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = options.form;
  } else if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** The body of a request that must answer 200 (the status and the body are the failure's message otherwise). */
export async function ok<T>(res: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

export const post = <T = Record<string, unknown>>(path: string, body?: unknown, options: CallOptions = {}) => call<T>("POST", path, { ...options, body: body ?? {} });
export const get = <T = Record<string, unknown>>(path: string, options: CallOptions = {}) => call<T>("GET", path, options);

/** An intent as the D1 read model holds it (its row's columns and `data`, put back together). */
export async function readModelIntent(id: string, d1: D1Database = env.DB): Promise<IntentRecord | null> {
  const [row] = await drizzle(d1).select(intentRow).from(paymentIntents).where(eq(paymentIntents.id, id)).limit(1);
  return row ? intentFromRow(row) : null;
}

/** Events as D1 holds them (their rows' columns and `data`, put back together): one by id, or an intent's, oldest first. */
export async function storedEventRecords(by: { id: string } | { paymentIntent: string }, d1: D1Database = env.DB): Promise<EventRecord[]> {
  const where = "id" in by ? eq(events.id, by.id) : eq(events.paymentIntent, by.paymentIntent);
  return (await drizzle(d1).select(eventRow).from(events).where(where).orderBy(asc(events.created), asc(events.id))).map(eventFromRow);
}

let counter = 0;
export function uniqueKey(label = "key"): string {
  counter += 1;
  return `${label}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}`;
}

/** Creates an intent and returns its JSON. */
export function createIntent(body: Record<string, unknown> = {}, options: CallOptions = {}) {
  return post<PaymentIntentJson>("/v1/payment_intents", { amount: 2000, currency: "usd", ...body }, options);
}

export async function succeededIntent(amount = 5000, options: CallOptions = {}): Promise<PaymentIntentJson> {
  const res = await createIntent({ amount, payment_method: "pm_card_visa", confirm: true }, options);
  if (res.body.status !== "succeeded") throw new Error(`expected succeeded, got ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function authorizedIntent(amount = 5000, options: CallOptions = {}): Promise<PaymentIntentJson> {
  const res = await createIntent({ amount, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, options);
  if (res.body.status !== "requires_capture") throw new Error(`expected requires_capture, got ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Asserts a /v1 error answer and returns its error object. */
export function expectError(res: CallResult<unknown>, status: number, code?: string): ErrorJson {
  const body = res.body as { error?: ErrorJson };
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(body.error, "error body").toBeDefined();
  const error = body.error as ErrorJson;
  expect(typeof error.message).toBe("string");
  expect(typeof error.type).toBe("string");
  if (code !== undefined) expect(error.code).toBe(code);
  return error;
}

/** Polls `check` until it returns a value (not undefined/false) or the time runs out. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000, label = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ReceivedRequest {
  at: number;
  headers: Record<string, string>;
  body: string;
  answered: number;
}

/** A fresh receiver path on the loopback receiver; `query` picks its behaviour (see test/receiver.ts). */
export function receiverHook(label: string, query = ""): { name: string; url: string } {
  const name = uniqueKey(label).replace(/[^A-Za-z0-9-]/g, "");
  return { name, url: `${env.RECEIVER_URL}/hooks/${name}${query ? `?${query}` : ""}` };
}

export async function receivedBy(name: string): Promise<ReceivedRequest[]> {
  const res = await fetch(`${env.RECEIVER_URL}/__received/${name}`);
  return (await res.json()) as ReceivedRequest[];
}

export interface EndpointJson {
  id: string;
  secret?: string;
  status: string;
  url: string;
  enabled_events: string[];
  delivery_stats?: { attempts: number; succeeded: number; failed: number; success_rate: number | null };
}

export async function createEndpoint(url: string, enabledEvents: string[] = ["*"], options: CallOptions = {}): Promise<EndpointJson> {
  const res = await post<EndpointJson>("/v1/webhook_endpoints", { url, enabled_events: enabledEvents }, options);
  if (res.status !== 200) throw new Error(`endpoint creation failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A merchant of its own with a test key, for tests that must see only their own objects. */
export async function newMerchant(label: string): Promise<{ id: string; key: string; opts: CallOptions }> {
  const suffix = uniqueKey(label).replace(/[^A-Za-z0-9]/g, "");
  const id = `acct_${suffix}`;
  const key = `sk_test_${suffix}`;
  await seedMerchant(id, label, `key_${suffix}`, key, false);
  return { id, key, opts: { key } };
}

export interface ConnectorAccountJson {
  id: string;
  connector: string;
  priority: number;
  status: string;
  credentials_last4: string | null;
  webhook_url: string;
}

export async function addConnector(opts: CallOptions, body: Record<string, unknown>): Promise<ConnectorAccountJson> {
  const res = await post<ConnectorAccountJson>("/v1/connector_accounts", body, opts);
  if (res.status !== 200) throw new Error(`connector account creation failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function stripeFakeStats(): Promise<{ createdByAttempt: Record<string, number>; intents: number; refunds: number }> {
  return (await (await fetch(`${env.STRIPE_API_BASE}/__stats`)).json()) as { createdByAttempt: Record<string, number>; intents: number; refunds: number };
}

export async function paypalFakeStats(): Promise<{ tokenRequests: Record<string, number>; calls: Record<string, number> }> {
  return (await (await fetch(`${env.PAYPAL_API_BASE}/__stats`)).json()) as { tokenRequests: Record<string, number>; calls: Record<string, number> };
}

export const JWT_TEST_SECRET = "test-jwt-secret-for-the-suite-only";

export interface TokenOptions {
  roles?: string[];
  merchant?: string | null;
  permissions?: string[];
  customer?: string;
  issuer?: string;
  audience?: string;
  expiresIn?: number;
  notBefore?: number;
  secret?: string;
  /** The token's subject ("user-1" unless given); null leaves the claim out. */
  sub?: string | null;
  /** A live-mode token (the `livemode` claim); test mode otherwise. */
  livemode?: boolean;
}

/** An HS256 token as the gateway's configured issuer would sign it (override anything to forge). */
export async function hsToken(options: TokenOptions = {}): Promise<string> {
  const { SignJWT } = await import("jose");
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    roles: options.roles ?? ["merchant"],
    ...(options.merchant === null ? {} : { merchant_id: options.merchant ?? MERCHANT_A }),
    ...(options.permissions ? { permissions: options.permissions } : {}),
    ...(options.customer ? { customer_id: options.customer } : {}),
    ...(options.livemode ? { livemode: true } : {}),
  })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(options.issuer ?? "edge-gateway")
    .setAudience(options.audience ?? "edge-gateway-api")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 600));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  if (options.sub !== null) jwt.setSubject(options.sub ?? "user-1");
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_TEST_SECRET));
}

export const bearer = (token: string): CallOptions => ({ key: token });

/** A queue binding that keeps the bodies sent to it in `out`, in order (for code that sends, checked without a consumer). */
export function recordingQueue<T>(out: unknown[]): Queue<T> {
  return {
    metrics: async () => ({ backlogCount: out.length, backlogBytes: 0 }),
    send: async (body: T) => void out.push(body),
    sendBatch: async (batch: Iterable<MessageSendRequest<T>>) => void out.push(...[...batch].map((m) => m.body)),
  } as unknown as Queue<T>;
}

/**
 * A person of the merchant whose key `opts` holds, allowed to change the refund approval thresholds
 * (keys.manage and refunds.approve, in a user's token: an API key may not change them).
 */
export async function approverOf(opts: CallOptions): Promise<CallOptions> {
  const id = (await get<{ id: string }>("/v1/account", opts)).body.id;
  return bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["keys.manage", "refunds.approve"], sub: "finance-lead" }));
}

/** The payer's decision on the sandbox's PayPal page (the POST its form sends), for an order's approval_url: a 303 back to the gateway. */
export async function decidePayPal(approvalUrl: string, decision: "approve" | "cancel" = "approve"): Promise<Response> {
  const url = new URL(approvalUrl);
  return exports.default.fetch(
    new Request("http://gateway.test/sandbox/paypal/checkoutnow", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${url.searchParams.get("token") ?? ""}&decision=${decision}`,
    }),
  );
}

/** A surface's answer as sent: status, headers, text and its JSON (null when it is not JSON). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  json: unknown;
  text: string;
}

/** An iCliGo application's credentials (seed 003's X-Application-Id and X-Access-Token). */
export interface AppCredentials {
  appId: string;
  token: string;
}

/** A new application of the merchant of `opts`, allowed to create, view and void payments. */
export async function newApplication(opts: CallOptions): Promise<AppCredentials> {
  const res = await post<{ application_id: string; access_token: string }>(
    "/v1/api_keys",
    { type: "application", permissions: ["payments.transactions.create", "payments.transactions.view", "payments.transactions.void"] },
    opts,
  );
  if (res.status !== 200) throw new Error(`application not created: ${JSON.stringify(res.body)}`);
  return { appId: res.body.application_id, token: res.body.access_token };
}

/** A request to any surface with exactly these headers (a JSON body gets its Content-Type). */
export async function rawCall(method: string, path: string, headers: Record<string, string>, body?: string, key?: string): Promise<RawAnswer> {
  const sent: Record<string, string> = { ...headers };
  if (body !== undefined) sent["content-type"] = "application/json";
  if (key !== undefined) sent["idempotency-key"] = key;
  const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers: sent, body }));
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null; // not JSON: the text says what it is
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** An answer to a POST sent with an Idempotency-Key: its status, JSON body, and Idempotent-Replayed header. */
export interface KeyedAnswer {
  status: number;
  body: Record<string, unknown>;
  replayed: string | null;
  /** The Stripe-Should-Retry header, when the answer carries one. */
  shouldRetry: string | null;
}

/**
 * A POST with an Idempotency-Key through the Worker, its env's IDEMPOTENCY_WAIT_MS set to `waitMs`
 * (a long wait where the first request must be waited for, a short one where the key is held by a
 * request that never finishes: no outcome depends on the machine's speed). `body`: JSON, or form
 * parameters when `form` is set.
 */
export async function sendWithWait(path: string, body: { json: unknown } | { form: Record<string, string> }, apiKey: string, idempotencyKey: string, waitMs: number): Promise<KeyedAnswer> {
  const ctx = createExecutionContext();
  const [contentType, text] = "json" in body ? ["application/json", JSON.stringify(body.json)] : ["application/x-www-form-urlencoded", new URLSearchParams(body.form).toString()];
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": contentType, "idempotency-key": idempotencyKey }, body: text }),
    { ...env, IDEMPOTENCY_WAIT_MS: String(waitMs) },
    ctx,
  );
  const json = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: json, replayed: res.headers.get("idempotent-replayed"), shouldRetry: res.headers.get("stripe-should-retry") };
}

/** Requests sent at once with one key, answered alike: all 200 with the same body, one run and the rest replayed. Returns that body. */
export function expectOneRunAndReplays(answers: KeyedAnswer[]): Record<string, unknown> {
  for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
  const first = answers[0]?.body ?? {};
  for (const a of answers) expect(a.body).toEqual(first);
  expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
  expect(answers.filter((a) => a.replayed === "true")).toHaveLength(answers.length - 1);
  return first;
}
