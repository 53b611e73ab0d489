// The Worker's bindings and configuration. Config values arrive as strings (wrangler [vars], secrets)
// and are validated once per isolate into a typed Config.
import type { PaymentIntentObject } from "./intents/object";

export interface Env {
  DB: D1Database;
  PAYMENT_INTENTS: DurableObjectNamespace<PaymentIntentObject>;
  PUBLIC_BASE_URL?: string;
  MAX_PAYMENT_ATTEMPTS?: string;
  SANDBOX_TIMEOUT_MS?: string;
  IDEMPOTENCY_WAIT_MS?: string;
  LOG_LEVEL?: string;
  /** Secret key for card fingerprints. Without it a fixed development key is used (fine for test mode only). */
  FINGERPRINT_KEY?: string;
}

export interface Config {
  publicBaseUrl: string | null;
  maxPaymentAttempts: number;
  sandboxTimeoutMs: number;
  idempotencyWaitMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
  fingerprintKey: string;
}

const DEV_FINGERPRINT_KEY = "development-fingerprint-key-not-for-live-use";

function intVar(value: string | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`Configuration ${name}=${value} must be an integer in ${min}..${max}`);
  return n;
}

const cache = new WeakMap<object, Config>();

export function config(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const level = (env.LOG_LEVEL ?? "info").toLowerCase();
  const parsed: Config = {
    publicBaseUrl: env.PUBLIC_BASE_URL?.trim() ? env.PUBLIC_BASE_URL.trim().replace(/\/+$/, "") : null,
    maxPaymentAttempts: intVar(env.MAX_PAYMENT_ATTEMPTS, 3, 1, 100, "MAX_PAYMENT_ATTEMPTS"),
    sandboxTimeoutMs: intVar(env.SANDBOX_TIMEOUT_MS, 2000, 0, 120_000, "SANDBOX_TIMEOUT_MS"),
    idempotencyWaitMs: intVar(env.IDEMPOTENCY_WAIT_MS, 10_000, 0, 120_000, "IDEMPOTENCY_WAIT_MS"),
    logLevel: level === "debug" || level === "warn" || level === "error" ? level : "info",
    fingerprintKey: env.FINGERPRINT_KEY?.trim() || DEV_FINGERPRINT_KEY,
  };
  cache.set(env, parsed);
  return parsed;
}
