// Test helpers: call the Worker like a merchant would, and seed merchants and keys.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { sha256Hex } from "../src/core/ids";
import type { ChargeJson, PaymentIntentJson, RefundJson, TransactionJson } from "../src/core/objects";
import type { V1ErrorBody } from "../src/api/v1/errors";

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

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** Send the body form-encoded as a raw string (as the stripe client does). */
  form?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
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

export const post = <T = Record<string, unknown>>(path: string, body?: unknown, options: CallOptions = {}) => call<T>("POST", path, { ...options, body: body ?? {} });
export const get = <T = Record<string, unknown>>(path: string, options: CallOptions = {}) => call<T>("GET", path, options);

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
