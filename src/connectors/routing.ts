// Which connectors a payment goes to, in what order. A merchant's connector accounts (D1) are tried
// by priority; in test mode a merchant without accounts uses the built-in sandbox. Accounts are
// cached briefly in the isolate; credentials are unsealed only to build a connector.
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ApiError } from "../core/errors";
import { unseal } from "../core/sealed";
import type { PaymentMethodDetails, Scope } from "../core/types";
import { connectorAccounts } from "../db/schema";
import { config, type Env } from "../env";
import { PayPalConnector } from "./paypal/connector";
import { SandboxConnector } from "./sandbox/connector";
import { SandboxPayPalConnector } from "./sandbox/paypal";
import { StripeConnector } from "./stripe/connector";
import type { Connector, ConnectorName } from "./types";
import { directoryDb } from "../db/shards";

export type AccountRow = typeof connectorAccounts.$inferSelect;

const ACCOUNTS_TTL_MS = 10_000;
const accountsCache = new Map<string, { rows: AccountRow[]; expires: number }>();
const connectorCache = new Map<string, Connector>();

const scopeKey = (scope: Scope) => `${scope.merchantId}|${scope.livemode}`;

/** Forgets this isolate's cached accounts of a merchant (after the API changed them). */
export function forgetAccounts(scope: Scope): void {
  accountsCache.delete(scopeKey(scope));
}

export async function loadAccounts(env: Env, scope: Scope): Promise<AccountRow[]> {
  const key = scopeKey(scope);
  const hit = accountsCache.get(key);
  if (hit && hit.expires > Date.now()) return hit.rows;
  const rows = await drizzle(directoryDb(env))
    .select()
    .from(connectorAccounts)
    .where(and(eq(connectorAccounts.merchantId, scope.merchantId), eq(connectorAccounts.livemode, scope.livemode)));
  rows.sort((a, b) => a.priority - b.priority || a.created - b.created);
  accountsCache.set(key, { rows, expires: Date.now() + ACCOUNTS_TTL_MS });
  return rows;
}

export function defaultSandbox(env: Env): Connector {
  return new SandboxConnector({ timeoutMs: config(env).sandboxTimeoutMs, db: directoryDb(env) });
}

interface Credentials {
  secret_key?: string;
  client_id?: string;
  client_secret?: string;
}

export async function buildConnector(env: Env, row: AccountRow): Promise<Connector> {
  const key = `${row.id}:${row.updated}`;
  const hit = connectorCache.get(key);
  if (hit) return hit;
  const cfg = config(env);
  const credentials = JSON.parse(await unseal(row.credentials, cfg.encryptionKey)) as Credentials;
  let connector: Connector;
  switch (row.connector as ConnectorName) {
    case "stripe":
      connector = new StripeConnector({ accountId: row.id, secretKey: credentials.secret_key ?? "", apiBase: cfg.stripeApiBase, timeoutMs: cfg.connectorTimeoutMs, searchSettleMs: cfg.stripeSearchSettleMs });
      break;
    case "paypal":
      connector = new PayPalConnector({
        accountId: row.id,
        clientId: credentials.client_id ?? "",
        clientSecret: credentials.client_secret ?? "",
        apiBase: cfg.paypalApiBase ?? (row.livemode ? "https://api-m.paypal.com" : "https://api-m.sandbox.paypal.com"),
        timeoutMs: cfg.connectorTimeoutMs,
      });
      break;
    default:
      connector = new SandboxConnector({ timeoutMs: cfg.sandboxTimeoutMs, db: directoryDb(env), accountId: row.id });
  }
  if (connectorCache.size > 1000) connectorCache.clear();
  connectorCache.set(key, connector);
  return connector;
}

/**
 * The connectors to try for a payment, best first. `only` pins one connector account (seed 000's
 * paymentGatewayId): "sandbox" is the built-in sandbox, in test mode.
 */
export async function routesFor(env: Env, scope: Scope, paymentMethod: PaymentMethodDetails, only: string | null = null): Promise<Connector[]> {
  if (only !== null) return pinnedRoute(env, scope, paymentMethod, only);
  const rows = (await loadAccounts(env, scope)).filter((r) => r.status === "enabled");
  if (rows.length === 0) {
    if (scope.livemode) {
      throw new ApiError({ status: 400, type: "invalid_request_error", code: "no_connector_configured", message: "This merchant has no live payment connector configured." });
    }
    const sandbox = defaultSandbox(env);
    if (sandbox.supports(paymentMethod)) return [sandbox];
  }
  const connectors: Connector[] = [];
  for (const row of rows) {
    const connector = await buildConnector(env, row);
    if (connector.supports(paymentMethod)) connectors.push(connector);
  }
  // A PayPal payment (test mode) without a PayPal account: the sandbox acts as PayPal (its approval page is ours).
  if (connectors.length === 0 && paymentMethod.type === "paypal" && !scope.livemode) return [new SandboxPayPalConnector(directoryDb(env))];
  if (connectors.length === 0) {
    throw new ApiError({
      status: 400,
      type: "invalid_request_error",
      code: "payment_method_unsupported",
      param: "payment_method",
      message: `None of this merchant's connectors accepts a ${paymentMethod.type} payment method${rows.length === 0 ? " (add a connector account)" : ""}.`,
    });
  }
  return connectors;
}

async function pinnedRoute(env: Env, scope: Scope, paymentMethod: PaymentMethodDetails, only: string): Promise<Connector[]> {
  const unusable = (message: string) => new ApiError({ status: 400, type: "invalid_request_error", code: "connector_account_unusable", param: "payment_gateway", message });
  let connector: Connector;
  if (only === "sandbox") {
    if (scope.livemode) throw unusable("The built-in sandbox takes only test-mode payments.");
    connector = defaultSandbox(env);
  } else {
    const row = (await loadAccounts(env, scope)).find((r) => r.id === only);
    if (!row || row.status !== "enabled") throw unusable(`The payment gateway of this payment (${only}) is not an enabled connector account of this merchant.`);
    connector = await buildConnector(env, row);
  }
  if (!connector.supports(paymentMethod)) throw unusable(`The payment gateway of this payment does not accept a ${paymentMethod.type} payment method.`);
  return [connector];
}

/**
 * The connector an earlier attempt used: captures, voids, refunds and reconciliation go back to it.
 * Without an account it was the built-in sandbox: as PayPal for a PayPal payment, else the card sandbox.
 */
export async function connectorOf(env: Env, scope: Scope, accountId: string | null, paymentMethodType: PaymentMethodDetails["type"] = "card"): Promise<Connector> {
  if (accountId === null) return paymentMethodType === "paypal" ? new SandboxPayPalConnector(directoryDb(env)) : defaultSandbox(env);
  const row = (await loadAccounts(env, scope)).find((r) => r.id === accountId);
  if (!row) {
    throw new ApiError({
      status: 502,
      type: "api_error",
      code: "provider_error",
      message: `The connector account ${accountId} of this payment no longer exists; nothing was sent to a provider.`,
    });
  }
  return buildConnector(env, row);
}

/** The name of the health object of a connector for a merchant. */
export function healthKey(scope: Scope, connector: Pick<Connector, "accountId">): string {
  return `${scope.merchantId}|${scope.livemode ? "live" : "test"}|${connector.accountId ?? "sandbox"}`;
}
