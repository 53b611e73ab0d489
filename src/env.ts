// The Worker's bindings and configuration. Config values arrive as strings (wrangler [vars], secrets)
// and are validated once per isolate into a typed Config.
import type { EventRecord } from "./core/types";
import type { RateLimiterObject } from "./auth/rate-limit";
import type { ConnectorHealthObject } from "./connectors/health";
import type { PaymentIntentObject } from "./intents/object";
import type { ReconcileMessage } from "./reconcile/messages";
import type { SweepMessage } from "./sweeps";
import type { DeliveryMessage } from "./webhooks/messages";
import { INVOCATION_STATEMENTS } from "./db/budget";

export interface Env {
  /** The read model, and the directory when D1_SHARDS moves merchants to other databases (src/db/shards.ts). */
  DB: D1Database;
  /** JSON: merchant id -> D1 binding of its rows, e.g. {"acct_b": "DB_SHARD_1"} (docs/scaling.md). Unset: one database. */
  D1_SHARDS?: string;
  PAYMENT_INTENTS: DurableObjectNamespace<PaymentIntentObject>;
  /** Events leaving intents' outboxes, to be stored and fanned out to endpoints. */
  EVENTS_QUEUE: Queue<EventRecord>;
  /** One message per (event, endpoint) delivery attempt. */
  WEBHOOK_QUEUE: Queue<DeliveryMessage>;
  /** Deliveries that ran out of attempts. */
  WEBHOOK_DLQ: Queue<DeliveryMessage>;
  PUBLIC_BASE_URL?: string;
  /** Decline velocity rule: declines of one intent within an hour before a confirm is refused (400). */
  MAX_PAYMENT_ATTEMPTS?: string;
  SANDBOX_TIMEOUT_MS?: string;
  IDEMPOTENCY_WAIT_MS?: string;
  LOG_LEVEL?: string;
  /** Secret key for card fingerprints and request fingerprints. Required (see missingSecrets). */
  FINGERPRINT_KEY?: string;
  /** Secret key sealing webhook secrets, credentials and stored idempotent answers at rest. Required. */
  ENCRYPTION_KEY?: string;
  /** "development" only under `npm run dev` and the test suite (never in wrangler.toml): public development secrets are then accepted. */
  GATEWAY_ENV?: string;
  /** Delays between webhook attempts, e.g. "5s,5m,30m,2h,5h,10h,14h,20h,24h". */
  WEBHOOK_RETRY_SCHEDULE?: string;
  WEBHOOK_TIMEOUT_MS?: string;
  EVENT_RETENTION_DAYS?: string;
  /** Reconciliation of unknown outcomes. */
  RECONCILE_QUEUE: Queue<ReconcileMessage>;
  /** The cron's sweeps, one message per database when there are more than SWEEP_INLINE_MAX_DATABASES (src/sweeps.ts). */
  SWEEP_QUEUE: Queue<SweepMessage>;
  /** Up to this many read-model databases the cron sweeps them itself, one after the other (default 4). */
  SWEEP_INLINE_MAX_DATABASES?: string;
  /** D1 statements one sweep invocation may run (src/db/budget.ts); D1 allows 1,000 per invocation on Workers Paid, 50 on Free. */
  SWEEP_STATEMENTS?: string;
  /** Per connector account: health window and circuit breaker. */
  CONNECTOR_HEALTH: DurableObjectNamespace<ConnectorHealthObject>;
  /** Where the Stripe and PayPal connectors send their requests (tests point them at local fakes). */
  STRIPE_API_BASE?: string;
  PAYPAL_API_BASE?: string;
  /** How long after a Stripe 5xx at authorization a search that finds no payment means none was made (ms). */
  STRIPE_SEARCH_SETTLE_MS?: string;
  CONNECTOR_TIMEOUT_MS?: string;
  /** Delays between reconciliation rounds, e.g. "30s,2m,10m,1h,3h,6h,12h". */
  RECONCILE_SCHEDULE?: string;
  /** Secret of the built-in sandbox's own webhooks. */
  SANDBOX_WEBHOOK_SECRET?: string;
  BREAKER_FAILURE_THRESHOLD?: string;
  BREAKER_COOLDOWN_MS?: string;
  HEALTH_WINDOW_MS?: string;
  /** JWTs: an HS256 secret (development or a trusted issuer) and/or a JWKS URL for RS256/ES256. */
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  /** Longest accepted JWT lifetime (iat to exp, or now to exp without iat), e.g. "24h". */
  JWT_MAX_LIFETIME?: string;
  /** Token buckets: requests per second (and burst) per credential, and per IP on unauthenticated routes. */
  RATE_LIMIT_PER_KEY?: string;
  RATE_LIMIT_BURST_PER_KEY?: string;
  /** Every API key and application of one merchant (and mode) together, as Stripe limits an account. */
  RATE_LIMIT_PER_MERCHANT?: string;
  RATE_LIMIT_BURST_PER_MERCHANT?: string;
  RATE_LIMIT_PER_IP?: string;
  RATE_LIMIT_BURST_PER_IP?: string;
  /** Failed authentications per client IP: per minute, and burst. Over it, 429 before any key lookup. */
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE?: string;
  RATE_LIMIT_AUTH_FAILURES_BURST?: string;
  RATE_LIMITER: DurableObjectNamespace<RateLimiterObject>;
  /** When a failed renewal is retried, counted from the invoice's due date, e.g. "1d,3d,5d". */
  DUNNING_SCHEDULE?: string;
}

export interface Config {
  publicBaseUrl: string | null;
  maxPaymentAttempts: number;
  sandboxTimeoutMs: number;
  idempotencyWaitMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
  fingerprintKey: string;
  encryptionKey: string;
  /** Milliseconds to wait before retry 1, 2, ...; attempts = schedule length + 1. */
  webhookRetrySchedule: number[];
  webhookTimeoutMs: number;
  eventRetentionMs: number;
  stripeApiBase: string;
  paypalApiBase: string | null;
  stripeSearchSettleMs: number;
  connectorTimeoutMs: number;
  reconcileSchedule: number[];
  sandboxWebhookSecret: string;
  breakerFailureThreshold: number;
  breakerCooldownMs: number;
  healthWindowMs: number;
  jwtSecret: string | null;
  jwtJwksUrl: string | null;
  jwtIssuer: string;
  jwtAudience: string;
  /** Seconds. */
  jwtMaxLifetimeS: number;
  rateLimitPerKey: number;
  rateLimitBurstPerKey: number;
  rateLimitPerMerchant: number;
  rateLimitBurstPerMerchant: number;
  rateLimitPerIp: number;
  rateLimitBurstPerIp: number;
  rateLimitAuthFailuresPerMinute: number;
  rateLimitAuthFailuresBurst: number;
  /** Milliseconds after a renewal's due date at which its payment is retried; then the merchant's final action. */
  dunningSchedule: number[];
  /** Up to this many databases the cron sweeps inline; above, it queues one sweep per database. */
  sweepInlineMaxDatabases: number;
  sweepStatements: number;
}

export const DEFAULT_WEBHOOK_SCHEDULE = "5s,5m,30m,2h,5h,10h,14h,20h,24h";
/** Under 24 hours in all: PSP idempotency keys (Stripe's) last a day, and replays must stay replays. */
export const DEFAULT_RECONCILE_SCHEDULE = "30s,2m,10m,1h,3h,6h,12h";
export const DEFAULT_DUNNING_SCHEDULE = "1d,3d,5d";

/**
 * Secrets a deployment must set. There is no fallback: without one (or with one of the public
 * development values of scripts/dev-secrets.mjs, outside development) the Worker refuses to serve.
 * JWT_SECRET may be left out when JWT_JWKS_URL names an identity provider's keys.
 */
export const REQUIRED_SECRETS = ["JWT_SECRET", "ENCRYPTION_KEY", "FINGERPRINT_KEY", "SANDBOX_WEBHOOK_SECRET"] as const;
export type RequiredSecret = (typeof REQUIRED_SECRETS)[number];

/** The development values `npm run dev` passes (scripts/dev-secrets.mjs): public, so never accepted outside development. */
const PUBLIC_DEVELOPMENT_VALUES = new Set([
  "development-jwt-secret-do-not-deploy",
  "development-fingerprint-key-not-for-live-use",
  "development-encryption-key-not-for-live-use",
  "sandbox_webhook_secret_for_development",
]);

export function isDevelopment(env: Env): boolean {
  return env.GATEWAY_ENV?.trim() === "development";
}

/** The required secrets this Worker lacks (names only, never values); empty when it may serve. */
export function missingSecrets(env: Env): RequiredSecret[] {
  const development = isDevelopment(env);
  const usable = (value: string | undefined) => {
    const v = value?.trim() ?? "";
    return v !== "" && (development || !PUBLIC_DEVELOPMENT_VALUES.has(v));
  };
  return REQUIRED_SECRETS.filter((name) => {
    if (name === "JWT_SECRET") return env.JWT_SECRET?.trim() ? !usable(env.JWT_SECRET) : !env.JWT_JWKS_URL?.trim();
    return !usable(env[name]);
  });
}

function requiredSecret(env: Env, name: RequiredSecret): string {
  const value = env[name]?.trim() ?? "";
  if (missingSecrets(env).includes(name)) throw new Error(`Configuration: the secret ${name} is not set, or holds a public development value (wrangler secret put ${name}); the gateway does not run without it`);
  return value;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "5s,5m,2h" -> [5000, 300000, 7200000]. */
export function parseSchedule(text: string, name = "WEBHOOK_RETRY_SCHEDULE"): number[] {
  const delays = text.split(",").map((part) => {
    const m = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(part);
    if (!m) throw new Error(`Configuration ${name}: cannot read '${part}' (use e.g. 5s, 30m, 2h)`);
    return Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000);
  });
  if (delays.length === 0 || delays.length > 20) throw new Error(`Configuration ${name}: 1 to 20 delays`);
  return delays;
}

/** One duration such as "24h" or "90m", in milliseconds, within min..max. */
export function parseDuration(text: string, name: string, min: number, max: number): number {
  const [ms, ...rest] = parseSchedule(text, name);
  if (ms === undefined || rest.length > 0 || ms < min || ms > max) throw new Error(`Configuration ${name}=${text} must be one duration from ${min / 1000}s to ${max / 86_400_000}d`);
  return ms;
}

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
    maxPaymentAttempts: intVar(env.MAX_PAYMENT_ATTEMPTS, 10, 1, 100, "MAX_PAYMENT_ATTEMPTS"),
    sandboxTimeoutMs: intVar(env.SANDBOX_TIMEOUT_MS, 2000, 0, 120_000, "SANDBOX_TIMEOUT_MS"),
    idempotencyWaitMs: intVar(env.IDEMPOTENCY_WAIT_MS, 10_000, 0, 120_000, "IDEMPOTENCY_WAIT_MS"),
    logLevel: level === "debug" || level === "warn" || level === "error" ? level : "info",
    fingerprintKey: requiredSecret(env, "FINGERPRINT_KEY"),
    encryptionKey: requiredSecret(env, "ENCRYPTION_KEY"),
    webhookRetrySchedule: parseSchedule(env.WEBHOOK_RETRY_SCHEDULE?.trim() || DEFAULT_WEBHOOK_SCHEDULE),
    webhookTimeoutMs: intVar(env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 60_000, "WEBHOOK_TIMEOUT_MS"),
    eventRetentionMs: intVar(env.EVENT_RETENTION_DAYS, 30, 1, 400, "EVENT_RETENTION_DAYS") * 86_400_000,
    stripeApiBase: env.STRIPE_API_BASE?.trim() || "https://api.stripe.com",
    paypalApiBase: env.PAYPAL_API_BASE?.trim() || null,
    stripeSearchSettleMs: intVar(env.STRIPE_SEARCH_SETTLE_MS, 600_000, 0, 86_400_000, "STRIPE_SEARCH_SETTLE_MS"),
    connectorTimeoutMs: intVar(env.CONNECTOR_TIMEOUT_MS, 20_000, 100, 120_000, "CONNECTOR_TIMEOUT_MS"),
    reconcileSchedule: parseSchedule(env.RECONCILE_SCHEDULE?.trim() || DEFAULT_RECONCILE_SCHEDULE, "RECONCILE_SCHEDULE"),
    sandboxWebhookSecret: requiredSecret(env, "SANDBOX_WEBHOOK_SECRET"),
    breakerFailureThreshold: intVar(env.BREAKER_FAILURE_THRESHOLD, 5, 1, 1000, "BREAKER_FAILURE_THRESHOLD"),
    breakerCooldownMs: intVar(env.BREAKER_COOLDOWN_MS, 30_000, 0, 3_600_000, "BREAKER_COOLDOWN_MS"),
    healthWindowMs: intVar(env.HEALTH_WINDOW_MS, 300_000, 1000, 86_400_000, "HEALTH_WINDOW_MS"),
    jwtSecret: env.JWT_SECRET?.trim() ? requiredSecret(env, "JWT_SECRET") : null,
    jwtJwksUrl: env.JWT_JWKS_URL?.trim() || null,
    jwtIssuer: env.JWT_ISSUER?.trim() || "edge-gateway",
    jwtAudience: env.JWT_AUDIENCE?.trim() || "edge-gateway-api",
    jwtMaxLifetimeS: Math.floor(parseDuration(env.JWT_MAX_LIFETIME?.trim() || "24h", "JWT_MAX_LIFETIME", 60_000, 30 * 86_400_000) / 1000),
    rateLimitPerKey: intVar(env.RATE_LIMIT_PER_KEY, 100, 1, 1_000_000, "RATE_LIMIT_PER_KEY"),
    rateLimitBurstPerKey: intVar(env.RATE_LIMIT_BURST_PER_KEY, 200, 1, 1_000_000, "RATE_LIMIT_BURST_PER_KEY"),
    rateLimitPerMerchant: intVar(env.RATE_LIMIT_PER_MERCHANT, 500, 1, 1_000_000, "RATE_LIMIT_PER_MERCHANT"),
    rateLimitBurstPerMerchant: intVar(env.RATE_LIMIT_BURST_PER_MERCHANT, 1000, 1, 1_000_000, "RATE_LIMIT_BURST_PER_MERCHANT"),
    rateLimitPerIp: intVar(env.RATE_LIMIT_PER_IP, 50, 1, 1_000_000, "RATE_LIMIT_PER_IP"),
    rateLimitBurstPerIp: intVar(env.RATE_LIMIT_BURST_PER_IP, 100, 1, 1_000_000, "RATE_LIMIT_BURST_PER_IP"),
    rateLimitAuthFailuresPerMinute: intVar(env.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE, 30, 1, 1_000_000, "RATE_LIMIT_AUTH_FAILURES_PER_MINUTE"),
    rateLimitAuthFailuresBurst: intVar(env.RATE_LIMIT_AUTH_FAILURES_BURST, 20, 1, 1_000_000, "RATE_LIMIT_AUTH_FAILURES_BURST"),
    dunningSchedule: parseSchedule(env.DUNNING_SCHEDULE?.trim() || DEFAULT_DUNNING_SCHEDULE, "DUNNING_SCHEDULE"),
    sweepInlineMaxDatabases: intVar(env.SWEEP_INLINE_MAX_DATABASES, 4, 1, 10_000, "SWEEP_INLINE_MAX_DATABASES"),
    sweepStatements: intVar(env.SWEEP_STATEMENTS, INVOCATION_STATEMENTS, 40, 100_000, "SWEEP_STATEMENTS"),
  };
  cache.set(env, parsed);
  return parsed;
}
