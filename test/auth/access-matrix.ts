// The access-control matrix: every route the gateway serves (every surface: /v1, seeds 000, 002, 003,
// 004, operators' routes, hosted pages, docs) against every kind of credential, one table of
// route x credential -> expected answer. A route that loosens (a credential getting past a check it
// used to fail) or tightens (a credential a document allows refused) fails its row.
//
// A row's expectation is a status, or "through": past authentication and authorization (the handler
// ran and answered what the fake ids and empty bodies deserve: 2xx, 400, 404, 405, never 401/403 and
// never a 5xx). Denials are checked in the surface's own error format. A guard test compares the
// table with the routes the app registers, so a new route must be given its row here.
//
// A second table runs merchant B's credentials, and A's own in the other mode, on merchant A's real
// objects: a foreign object is a 404 on /v1 (seed 003's document asks for a 403), and nothing changes.
//
// The table runs in parts, one test file each (test/auth/access-matrix-*.test.ts), each with the
// credentials of its group: one module that makes thousands of Durable Objects slows every later
// request in the pinned test pool (@cloudflare/vitest-pool-workers 0.15.1 wraps a Durable Object
// class's prototype in one more Proxy at every construction: cloudflare/workers-sdk#15092), until
// the stack overflows. GROUPS covers every credential, in order, exactly once.
import { env, exports } from "cloudflare:workers";
import { exportSPKI, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { PERMISSIONS, type Permission } from "../../src/auth/permissions";
import { hsToken, newApplication, receiverHook, newMerchant, post, rawCall, seedMerchant, type RawAnswer } from "../helpers";

type Surface = "v1" | "s000" | "s002" | "s003" | "s004" | "page" | "public";

/**
 * What a route asks of its caller. `perm`: the permission (null: any authenticated caller). `roles`:
 * only these roles. `global`: the route needs no merchant (admin without Merchant-Id gets through).
 * `customers`: a customer's token may call it. `jwtOnly`: only a person's token (no API key).
 * `everyPermission`: the caller must hold every permission.
 */
interface Rule {
  perm: Permission | null;
  roles?: ("admin" | "support")[];
  global?: boolean;
  customers?: boolean;
  jwtOnly?: boolean;
  everyPermission?: boolean;
  /** The permission a customer's token needs here instead of `perm`. */
  customerPerm?: Permission;
  /** The object is looked up before the permission is checked: a missing one is a 404 to a caller lacking it. */
  lookupFirst?: boolean;
  /** A second permission the caller needs beside `perm` (an invoice's payments: billing and payments read). */
  also?: Permission;
}

interface RouteRow {
  method: string;
  /** The route as registered (Hono's :param form), matched against the app's own list. */
  route: string;
  surface: Surface;
  rule: Rule | null;
  body?: string;
}

const v = (perm: Permission | null, extra: Omit<Rule, "perm"> = {}): Rule => ({ perm, ...extra });
const VIEW = "payments.transactions.view";
const CREATE = "payments.transactions.create";
const VOID = "payments.transactions.void";
const MVIEW = "payments.methods.view";
const MMANAGE = "payments.methods.manage";
const BVIEW = "billing.view";
const BMANAGE = "billing.manage";
const HOOKS = "webhooks.manage";
const KEYS = "keys.manage";

/** Every route, with its rule (null: no credential is asked for). */
const ROUTES: RouteRow[] = [
  // ---- /v1: payment intents, refunds, charges, events
  { method: "POST", route: "/v1/payment_intents", surface: "v1", rule: v(CREATE, { customers: true }) },
  { method: "GET", route: "/v1/payment_intents", surface: "v1", rule: v(VIEW, { customers: true }) },
  { method: "GET", route: "/v1/payment_intents/search", surface: "v1", rule: v(VIEW, { customers: true }) },
  { method: "GET", route: "/v1/payment_intents/:id", surface: "v1", rule: v(VIEW, { customers: true }) },
  { method: "POST", route: "/v1/payment_intents/:id", surface: "v1", rule: v(CREATE, { customers: true }) },
  { method: "GET", route: "/v1/payment_intents/:id/transactions", surface: "v1", rule: v(VIEW, { customers: true }) },
  { method: "POST", route: "/v1/payment_intents/:id/confirm", surface: "v1", rule: v(CREATE, { customers: true }) },
  { method: "POST", route: "/v1/payment_intents/:id/capture", surface: "v1", rule: v(CREATE) }, // never a shopper's: 403 before the body is read, whoever's intent (customer-matrix.test.ts)
  { method: "POST", route: "/v1/payment_intents/:id/increment_authorization", surface: "v1", rule: v(CREATE) }, // never a shopper's: 403 before the body is read, whoever's intent (customer-matrix.test.ts)
  { method: "POST", route: "/v1/payment_intents/:id/cancel", surface: "v1", rule: v(VOID, { customers: true, customerPerm: CREATE }) },
  { method: "POST", route: "/v1/refunds", surface: "v1", rule: v(VOID) },
  { method: "GET", route: "/v1/refunds", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/refunds/:id", surface: "v1", rule: v(VIEW) },
  { method: "POST", route: "/v1/refunds/:id", surface: "v1", rule: v(VOID) },
  { method: "POST", route: "/v1/refunds/:id/cancel", surface: "v1", rule: v(VOID) },
  { method: "GET", route: "/v1/charges", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/charges/search", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/charges/:id", surface: "v1", rule: v(VIEW) },
  { method: "POST", route: "/v1/charges/:id", surface: "v1", rule: v(CREATE) },
  { method: "POST", route: "/v1/charges/:id/capture", surface: "v1", rule: v(CREATE) },
  { method: "GET", route: "/v1/charges/:charge/refunds", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/charges/:charge/refunds/:refund", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/events", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/events/:id", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/events/:id/deliveries", surface: "v1", rule: v(HOOKS) },
  { method: "POST", route: "/v1/events/:id/retry", surface: "v1", rule: v(HOOKS) },
  // ---- webhook endpoints and deliveries
  { method: "POST", route: "/v1/webhook_endpoints", surface: "v1", rule: v(HOOKS) },
  { method: "GET", route: "/v1/webhook_endpoints", surface: "v1", rule: v(HOOKS) },
  { method: "GET", route: "/v1/webhook_endpoints/:id", surface: "v1", rule: v(HOOKS) },
  { method: "POST", route: "/v1/webhook_endpoints/:id", surface: "v1", rule: v(HOOKS) },
  { method: "DELETE", route: "/v1/webhook_endpoints/:id", surface: "v1", rule: v(HOOKS) },
  { method: "POST", route: "/v1/webhook_endpoints/:id/roll_secret", surface: "v1", rule: v(HOOKS) },
  { method: "GET", route: "/v1/webhook_endpoints/:id/deliveries", surface: "v1", rule: v(HOOKS) },
  { method: "POST", route: "/v1/webhook_endpoints/:id/replay", surface: "v1", rule: v(HOOKS) },
  { method: "POST", route: "/v1/webhook_deliveries/:id/retry", surface: "v1", rule: v(HOOKS) },
  // ---- connector accounts, API keys, the account, the credential
  { method: "POST", route: "/v1/connector_accounts", surface: "v1", rule: v(KEYS, { everyPermission: true }) },
  { method: "GET", route: "/v1/connector_accounts", surface: "v1", rule: v(KEYS) },
  { method: "GET", route: "/v1/connector_accounts/:id", surface: "v1", rule: v(KEYS) },
  { method: "POST", route: "/v1/connector_accounts/:id", surface: "v1", rule: v(KEYS, { everyPermission: true }) },
  { method: "DELETE", route: "/v1/connector_accounts/:id", surface: "v1", rule: v(KEYS, { everyPermission: true }) },
  { method: "POST", route: "/v1/api_keys", surface: "v1", rule: v(KEYS), body: JSON.stringify({ type: "restricted", permissions: ["keys.manage"] }) },
  { method: "GET", route: "/v1/api_keys", surface: "v1", rule: v(KEYS) },
  { method: "DELETE", route: "/v1/api_keys/:id", surface: "v1", rule: v(KEYS) },
  { method: "POST", route: "/v1/api_keys/:id/roll", surface: "v1", rule: v(KEYS), body: JSON.stringify({ expires_in: 3600 }) },
  { method: "GET", route: "/v1/account", surface: "v1", rule: v(VIEW) },
  { method: "POST", route: "/v1/account", surface: "v1", rule: v(KEYS) },
  { method: "GET", route: "/v1/credential", surface: "v1", rule: v(null, { global: true, customers: true }) },
  // ---- operators
  { method: "POST", route: "/v1/admin/merchants", surface: "v1", rule: v(null, { roles: ["admin"], global: true, everyPermission: true }), body: JSON.stringify({ name: "Matrix merchant" }) },
  { method: "GET", route: "/v1/admin/merchants", surface: "v1", rule: v(VIEW, { roles: ["admin", "support"], global: true }) },
  { method: "POST", route: "/v1/admin/merchants/:id", surface: "v1", rule: v(KEYS, { roles: ["admin"], global: true }) },
  { method: "GET", route: "/v1/admin/audit_log", surface: "v1", rule: v(VIEW, { roles: ["admin", "support"], global: true }) },
  { method: "GET", route: "/v1/admin/payments/search", surface: "v1", rule: v(VIEW, { global: true }) },
  { method: "GET", route: "/v1/admin/psp_health", surface: "v1", rule: v(VIEW, { global: true }) },
  { method: "GET", route: "/v1/admin/failed_payments", surface: "v1", rule: v(VIEW, { global: true }) },
  { method: "POST", route: "/v1/admin/failed_payments/:id/retry", surface: "v1", rule: v(CREATE, { global: true }) },
  { method: "POST", route: "/v1/admin/failed_payments/:id/resolve", surface: "v1", rule: v(CREATE, { global: true }) },
  { method: "POST", route: "/v1/admin/failed_payments/:id/dismiss", surface: "v1", rule: v(CREATE, { global: true }) },
  { method: "GET", route: "/v1/admin/refunds", surface: "v1", rule: v(VIEW, { global: true }) },
  { method: "POST", route: "/v1/admin/refunds/:action", surface: "v1", rule: v("refunds.approve", { global: true, jwtOnly: true }) },
  { method: "POST", route: "/v1/admin/refunds/:id/approve", surface: "v1", rule: v("refunds.approve", { global: true, jwtOnly: true }) },
  // Rejecting (withdrawing) a held refund moves no money: a key with refunds.approve may.
  { method: "POST", route: "/v1/admin/refunds/:id/reject", surface: "v1", rule: v("refunds.approve", { global: true }) },
  // A held weakening of the refund approval thresholds: approved by a person (never a key), withdrawn
  // by the person who asked; rejecting it keeps the stricter rule, so a key with refunds.approve may.
  { method: "POST", route: "/v1/admin/settings_changes/:id/approve", surface: "v1", rule: v("refunds.approve", { global: true, jwtOnly: true }) },
  { method: "POST", route: "/v1/admin/settings_changes/:id/reject", surface: "v1", rule: v("refunds.approve", { global: true }) },
  { method: "POST", route: "/v1/admin/settings_changes/:id/withdraw", surface: "v1", rule: v("refunds.approve", { global: true, jwtOnly: true }) },
  // ---- customers, payment methods, setup intents
  { method: "POST", route: "/v1/customers", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/customers", surface: "v1", rule: v(MVIEW) },
  { method: "GET", route: "/v1/customers/search", surface: "v1", rule: v(MVIEW) },
  { method: "GET", route: "/v1/customers/:id", surface: "v1", rule: v(MVIEW) },
  { method: "POST", route: "/v1/customers/:id", surface: "v1", rule: v(MMANAGE) },
  { method: "DELETE", route: "/v1/customers/:id", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/customers/:id/payment_methods", surface: "v1", rule: v(MVIEW) },
  { method: "POST", route: "/v1/customers/:id/payment_methods", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/customers/:id/payment_methods/:payment_method", surface: "v1", rule: v(MVIEW) },
  { method: "DELETE", route: "/v1/customers/:id/payment_methods/:payment_method", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/customers/:id/payment_intents", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/customers/:id/subscriptions", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/payment_methods", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/payment_methods", surface: "v1", rule: v(MVIEW) },
  { method: "GET", route: "/v1/payment_methods/:id", surface: "v1", rule: v(MVIEW) },
  { method: "POST", route: "/v1/payment_methods/:id", surface: "v1", rule: v(MMANAGE) },
  { method: "POST", route: "/v1/payment_methods/:id/attach", surface: "v1", rule: v(MMANAGE) },
  { method: "POST", route: "/v1/payment_methods/:id/detach", surface: "v1", rule: v(MMANAGE) },
  { method: "POST", route: "/v1/setup_intents", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/setup_intents", surface: "v1", rule: v(MVIEW) },
  { method: "GET", route: "/v1/setup_intents/:id", surface: "v1", rule: v(MVIEW) },
  { method: "POST", route: "/v1/setup_intents/:id", surface: "v1", rule: v(MMANAGE) },
  { method: "POST", route: "/v1/setup_intents/:id/confirm", surface: "v1", rule: v(MMANAGE) },
  { method: "POST", route: "/v1/setup_intents/:id/cancel", surface: "v1", rule: v(MMANAGE) },
  { method: "GET", route: "/v1/setup_attempts", surface: "v1", rule: v(MVIEW) },
  // ---- billing
  { method: "POST", route: "/v1/products", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/products", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/products/search", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/products/:id", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/products/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "DELETE", route: "/v1/products/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/prices", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/prices", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/prices/search", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/prices/:id", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/prices/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/subscriptions", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/subscriptions", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/subscriptions/search", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/subscriptions/:id", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/subscriptions/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "DELETE", route: "/v1/subscriptions/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/subscription_items", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/subscription_items/:id", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/invoices", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/invoices/search", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/invoices/:id", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/invoices/:id/lines", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/invoices/create_preview", surface: "v1", rule: v(BVIEW) },
  { method: "POST", route: "/v1/invoices/:id/pay", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/invoices/:id/void", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/invoices/:id/mark_uncollectible", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/invoices/:id/finalize", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/invoice_payments", surface: "v1", rule: v(BVIEW, { also: VIEW }) },
  { method: "GET", route: "/v1/invoice_payments/:id", surface: "v1", rule: v(BVIEW, { also: VIEW }) },
  { method: "POST", route: "/v1/test_helpers/test_clocks", surface: "v1", rule: v(BMANAGE) },
  { method: "GET", route: "/v1/test_helpers/test_clocks", surface: "v1", rule: v(BVIEW) },
  { method: "GET", route: "/v1/test_helpers/test_clocks/:id", surface: "v1", rule: v(BVIEW) },
  { method: "DELETE", route: "/v1/test_helpers/test_clocks/:id", surface: "v1", rule: v(BMANAGE) },
  { method: "POST", route: "/v1/test_helpers/test_clocks/:id/advance", surface: "v1", rule: v(BMANAGE) },
  // ---- Checkout Sessions
  { method: "POST", route: "/v1/checkout/sessions", surface: "v1", rule: v(CREATE) },
  { method: "GET", route: "/v1/checkout/sessions", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/checkout/sessions/:id", surface: "v1", rule: v(VIEW) },
  { method: "GET", route: "/v1/checkout/sessions/:id/line_items", surface: "v1", rule: v(VIEW) },
  { method: "POST", route: "/v1/checkout/sessions/:id/expire", surface: "v1", rule: v(VOID) },
  // ---- PSP webhooks: no credential, a signature (unsigned: 400)
  { method: "POST", route: "/v1/psp_webhooks/:account", surface: "v1", rule: null },
  // ---- seed 000: JWTs; reads are admin's and support's, payments any user's allowed to pay
  { method: "GET", route: "/api/v1/PaymentIntents", surface: "s000", rule: v(VIEW, { roles: ["admin", "support"], global: true }) },
  { method: "GET", route: "/api/v1/PaymentIntents/:id", surface: "s000", rule: v(VIEW, { roles: ["admin", "support"], global: true }) },
  { method: "GET", route: "/api/v1/PaymentIntents/customer/:customerId", surface: "s000", rule: v(VIEW, { roles: ["admin", "support"], global: true }) },
  { method: "POST", route: "/api/v1/PaymentIntents", surface: "s000", rule: v(CREATE, { customers: true }) },
  { method: "POST", route: "/api/v1/PaymentIntents/:id/confirm", surface: "s000", rule: v(CREATE, { customers: true, global: true }), body: '"pm_card_visa"' },
  { method: "POST", route: "/api/v1/PaymentIntents/:id/cancel", surface: "s000", rule: v(VOID, { customers: true, customerPerm: CREATE, global: true }) },
  { method: "POST", route: "/api/v1/PaymentIntents/webhook/:gatewayId", surface: "s000", rule: null, body: '"payload"' },
  // ---- seed 002: the POS API (each route also with a trailing slash)
  ...["", "/"].flatMap((slash): RouteRow[] => [
    { method: "POST", route: `/api/v1/payments/authorize${slash}`, surface: "s002", rule: v(CREATE, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/sale${slash}`, surface: "s002", rule: v(CREATE, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/capture${slash}`, surface: "s002", rule: v(CREATE) },
    { method: "POST", route: `/api/v1/payments/void${slash}`, surface: "s002", rule: v(VOID) },
    { method: "POST", route: `/api/v1/payments/refund${slash}`, surface: "s002", rule: v(VOID) },
    { method: "GET", route: `/api/v1/payments/transactions${slash}`, surface: "s002", rule: v(VIEW, { customers: true }) },
    { method: "GET", route: `/api/v1/payments/transactions/:id${slash}`, surface: "s002", rule: v(VIEW, { customers: true }) },
    { method: "GET", route: `/api/v1/payments/failed${slash}`, surface: "s002", rule: v(VIEW) },
    { method: "POST", route: `/api/v1/payments/failed/:id/retry${slash}`, surface: "s002", rule: v(VOID) },
    { method: "POST", route: `/api/v1/payments/failed/:id/resolve${slash}`, surface: "s002", rule: v(VOID) },
    { method: "POST", route: `/api/v1/customers/:id/payment-methods${slash}`, surface: "s002", rule: v(MMANAGE) },
    // A shopper sees only its own cards: another customer id (this row's) is a 403.
    { method: "GET", route: `/api/v1/customers/:id/payment-methods${slash}`, surface: "s002", rule: v(MVIEW) },
    { method: "DELETE", route: `/api/v1/customers/:id/payment-methods/:methodId${slash}`, surface: "s002", rule: v(MMANAGE) },
  ]),
  // ---- seed 003: iCliGo, application credentials only (each route also with a trailing slash)
  ...["", "/"].flatMap((slash): RouteRow[] => [
    { method: "POST", route: `/payments/create-payment-intent${slash}`, surface: "s003", rule: v(CREATE) },
    { method: "GET", route: `/payments/:payment_id${slash}`, surface: "s003", rule: v(VIEW) },
    { method: "PUT", route: `/payments/:payment_id/capture${slash}`, surface: "s003", rule: v(CREATE) },
    { method: "PUT", route: `/payments/:payment_id/cancel${slash}`, surface: "s003", rule: v(VOID) },
    { method: "POST", route: `/payments/:payment_id/cancel${slash}`, surface: "s003", rule: v(VOID) },
    { method: "PUT", route: `/payments/:payment_id/refund${slash}`, surface: "s003", rule: v(VOID) },
    { method: "POST", route: `/payments/:payment_id/refund${slash}`, surface: "s003", rule: v(VOID) },
  ]),
  // ---- seed 004: Stripe and PayPal endpoints (each also with a trailing slash), webhooks signed
  ...["", "/"].flatMap((slash): RouteRow[] => [
    { method: "POST", route: `/api/v1/payments/stripe/create-payment-intent${slash}`, surface: "s004", rule: v(CREATE, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/stripe/confirm-payment${slash}`, surface: "s004", rule: v(CREATE, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/stripe/retrieve-payment${slash}`, surface: "s004", rule: v(VIEW, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/stripe/create-customer${slash}`, surface: "s004", rule: v(MMANAGE) },
    { method: "POST", route: `/api/v1/payments/stripe/create-subscription${slash}`, surface: "s004", rule: v(BMANAGE) },
    { method: "POST", route: `/api/v1/payments/stripe/cancel-subscription${slash}`, surface: "s004", rule: v(BMANAGE) },
    { method: "POST", route: `/api/v1/payments/paypal/create-order${slash}`, surface: "s004", rule: v(CREATE, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/paypal/capture-order${slash}`, surface: "s004", rule: v(CREATE) },
    { method: "POST", route: `/api/v1/payments/paypal/get-order${slash}`, surface: "s004", rule: v(VIEW, { customers: true }) },
    { method: "GET", route: `/api/v1/payments/paypal/get-order${slash}`, surface: "s004", rule: v(VIEW, { customers: true }) },
    { method: "POST", route: `/api/v1/payments/paypal/refund-payment${slash}`, surface: "s004", rule: v(VOID) },
    { method: "POST", route: `/api/v1/payments/webhooks/stripe${slash}`, surface: "s004", rule: null },
    { method: "POST", route: `/api/v1/payments/webhooks/paypal${slash}`, surface: "s004", rule: null },
  ]),
  // ---- the shoppers' pages: their authority is the secret in the link, never an API credential
  { method: "GET", route: "/checkout/:id", surface: "page", rule: null },
  { method: "POST", route: "/checkout/:id", surface: "page", rule: null },
  { method: "GET", route: "/checkout/:id/return", surface: "page", rule: null },
  { method: "GET", route: "/pay/:id", surface: "page", rule: null },
  { method: "POST", route: "/pay/:id", surface: "page", rule: null },
  { method: "GET", route: "/sandbox/3ds/:id", surface: "page", rule: null },
  { method: "POST", route: "/sandbox/3ds/:id", surface: "page", rule: null },
  { method: "GET", route: "/connectors/return/:id", surface: "page", rule: null },
  { method: "POST", route: "/connectors/return/:id", surface: "page", rule: null },
  { method: "GET", route: "/invoice/:id/:token", surface: "page", rule: null },
  { method: "POST", route: "/invoice/:id/:token", surface: "page", rule: null },
  { method: "GET", route: "/sandbox/paypal/checkoutnow", surface: "page", rule: null },
  { method: "POST", route: "/sandbox/paypal/checkoutnow", surface: "page", rule: null },
  // ---- public: the index, health, docs, the dashboard's static shell (its data comes from /v1 with the user's key)
  ...["/", "/healthz", "/favicon.ico", "/openapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/a11y.css", "/docs/assets/init.js", "/dashboard", "/dashboard/app.js", "/dashboard/app.css"].map(
    (route): RouteRow => ({ method: "GET", route, surface: "public", rule: null }),
  ),
];

// ---- credentials ---------------------------------------------------------------------------------

type Expectation = number | "through";

interface Credential {
  name: string;
  headers: Record<string, string>;
  /** Headers chosen per route (a restricted key holding the route's permission); null: no row. */
  headersFor?: (row: RouteRow) => Record<string, string> | null;
  /** What this credential gets on a route of `surface` with `rule` (null: no row for this pair). */
  expect: (row: RouteRow) => Expectation | null;
}

/** A credential that never authenticates: 401 wherever one is asked for (seed 003: 400, its headers missing). */
const failing = (name: string, headers: Record<string, string>, probesOnly = false): Credential => ({
  name,
  headers,
  expect: (row) => (row.rule === null || (probesOnly && !PROBES.has(`${row.method} ${row.route}`)) ? null : row.surface === "s003" ? 400 : 401),
});

/**
 * One route of each way a credential is read (each surface's, a /v1 read, write and operator route): the
 * credentials that differ from another only inside the one function every route calls (a forged token
 * is refused by the JWT check whatever the route; a revoked key as an unknown one) run on these. Every
 * route is run with no credential and an unknown key, which shows that it checks one at all.
 */
const PROBES = new Set([
  "GET /v1/payment_intents",
  "POST /v1/payment_intents/:id/capture",
  "POST /v1/refunds",
  "GET /v1/admin/audit_log",
  "POST /v1/admin/merchants",
  "POST /v1/api_keys",
  "GET /api/v1/PaymentIntents",
  "POST /api/v1/PaymentIntents",
  "POST /api/v1/payments/sale",
  "GET /api/v1/payments/transactions",
  "POST /payments/create-payment-intent",
  "GET /payments/:payment_id",
  "POST /api/v1/payments/stripe/create-payment-intent",
  "POST /api/v1/payments/paypal/refund-payment/",
  "POST /v1/admin/refunds/:id/approve",
  "POST /v1/admin/refunds/:id/reject",
  "POST /v1/account",
]);

interface Who {
  kind: "key" | "app" | "jwt";
  roles: ("admin" | "support" | "merchant" | "customer")[];
  /** Permissions held (after narrowing). */
  perms: ReadonlySet<Permission>;
  /** Acts for a merchant (false: admin or support without Merchant-Id). */
  merchant: boolean;
  /** A roleless token with a merchant_id: seed 000 takes it as that merchant's customer. */
  roleless?: boolean;
}

const ALL = new Set<Permission>(PERMISSIONS);
const SUPPORT = new Set<Permission>([VIEW, MVIEW, BVIEW]);
const CUSTOMER = new Set<Permission>([CREATE, VIEW, MVIEW]);

/** The expected answer of an authenticated caller `who` on `row`, from the documents' rules. */
function expected(who: Who, row: RouteRow): Expectation | null {
  const rule = row.rule;
  if (rule === null) return null;
  // Seed 003 reads only its own headers: anything else is the document's 400 (missing headers).
  if (row.surface === "s003") {
    if (who.kind !== "app") return 400;
    return rule.perm && !who.perms.has(rule.perm) ? 403 : "through";
  }
  // Seed 000 takes JWTs only.
  if (row.surface === "s000") {
    if (who.kind !== "jwt") return 401;
    if (who.roleless) return rule.customers ? "through" : 403;
  } else if (who.roleless) return 403;
  const customer = who.roles.includes("customer");
  if (rule.roles && !who.roles.some((r) => (rule.roles ?? []).includes(r as "admin" | "support"))) return 403;
  if (customer && !rule.customers) return 403;
  const perm = customer && rule.customerPerm ? rule.customerPerm : rule.perm;
  if (perm && !who.perms.has(perm)) return rule.lookupFirst ? 404 : 403;
  if (rule.also && !who.perms.has(rule.also)) return 403;
  if (rule.everyPermission && who.perms.size !== PERMISSIONS.length) return 403;
  if (rule.jwtOnly && who.kind !== "jwt") return 403;
  if (!who.merchant && !rule.global) return 400;
  return "through";
}

const who = (kind: Who["kind"], roles: Who["roles"], perms: ReadonlySet<Permission>, merchant = true, roleless = false): Who => ({ kind, roles, perms, merchant, roleless });

// ---- the world -----------------------------------------------------------------------------------

interface World {
  a: { id: string; key: string };
  b: { id: string; key: string };
  aLiveKey: string;
  credentials: Credential[];
  /** Merchant A's objects, by kind, for the foreign-object table. */
  objects: Record<string, string>;
  liveObjects: Record<string, string>;
}

let w: World;

const bearerH = (token: string) => ({ authorization: `Bearer ${token}` });

async function restricted(key: string, permissions: Permission[]): Promise<string> {
  const res = await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.secret ?? "";
}

async function setup(): Promise<World> {
  const a = await newMerchant("matrix-a");
  const b = await newMerchant("matrix-b");
  const aLiveKey = `sk_live_${a.id.slice(5)}`;
  await seedMerchant(a.id, "matrix-a", `key_live_${a.id.slice(5)}`, aLiveKey, true);
  const creds: Credential[] = [];
  const add = (name: string, headers: Record<string, string>, w0: Who, probesOnly = false) =>
    creds.push({ name, headers, expect: (row) => (probesOnly && !PROBES.has(`${row.method} ${row.route}`) ? null : expected(w0, row)) });

  // No credential, and credentials that are not (or no longer) any.
  creds.push(failing("no credential", {}));
  creds.push(failing("unknown secret key", bearerH("sk_test_no_such_key_1234567890")));
  creds.push(failing("publishable key", bearerH(`pk_test_${a.id.slice(5)}`), true));
    const revoked = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "restricted", permissions: [VIEW] }, { key: a.key });
  expect((await rawCall("DELETE", `/v1/api_keys/${revoked.body.id}`, bearerH(a.key))).status).toBe(200);
  creds.push(failing("revoked restricted key", bearerH(revoked.body.secret), true));
  const revokedApp = await newApplication({ key: a.key });
  const revokedAppRow = await env.DB.prepare("SELECT id FROM api_keys WHERE app_id = ?").bind(revokedApp.appId).first<{ id: string }>();
  expect((await rawCall("DELETE", `/v1/api_keys/${revokedAppRow?.id ?? ""}`, bearerH(a.key))).status).toBe(200);
  creds.push({
    name: "revoked application",
    headers: { "x-application-id": revokedApp.appId, "x-access-token": revokedApp.token },
    expect: (row) => (row.rule === null || !PROBES.has(`${row.method} ${row.route}`) ? null : 401),
  });

  // API keys: secret (test and live), restricted with exactly one permission, and with all but one.
  add("secret key", bearerH(a.key), who("key", ["merchant"], ALL));
  add("live secret key", bearerH(aLiveKey), who("key", ["merchant"], ALL), true);
  // Per route, the restricted key holding exactly the route's permission, and the one holding every other.
  const only = new Map<Permission, string>();
  const allBut = new Map<Permission, string>();
  for (const p of PERMISSIONS) {
    only.set(p, await restricted(a.key, [p]));
    allBut.set(p, await restricted(a.key, PERMISSIONS.filter((q) => q !== p)));
  }
  const perRoute = (name: string, keys: Map<Permission, string>, perms: (p: Permission) => Set<Permission>): Credential => ({
    name,
    headers: {},
    headersFor: (row) => (row.rule?.perm ? bearerH(keys.get(row.rule.perm) ?? "") : null),
    expect: (row) => (row.rule?.perm ? expected(who("key", ["merchant"], perms(row.rule.perm)), row) : null),
  });
  creds.push(perRoute("restricted key with only the route's permission", only, (p) => new Set([p])));
  creds.push(perRoute("restricted key with every permission but the route's", allBut, (p) => new Set(PERMISSIONS.filter((q) => q !== p))));
  const app = await newApplication({ key: a.key });
  add("application (create, view, void)", { "x-application-id": app.appId, "x-access-token": app.token }, who("app", ["merchant"], new Set([CREATE, VIEW, VOID])));
  const viewApp = await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: [VIEW] }, { key: a.key });
  add("application (view)", { "x-application-id": viewApp.body.application_id, "x-access-token": viewApp.body.access_token }, who("app", ["merchant"], new Set([VIEW])), true);
  const probe = (row: RouteRow) => row.rule !== null && PROBES.has(`${row.method} ${row.route}`);
  creds.push({ name: "application id with a wrong token", headers: { "x-application-id": app.appId, "x-access-token": "tok_wrong123" }, expect: (row) => (probe(row) ? 401 : null) });
  creds.push({ name: "application id without its token", headers: { "x-application-id": app.appId }, expect: (row) => (probe(row) ? (row.surface === "s000" ? 401 : 400) : null) });

  // Tokens of every role.
  const customerId = (await post<{ id: string }>("/v1/customers", { email: "shopper@example.com" }, { key: a.key })).body.id;
  // Tokens live an hour: the whole matrix runs for minutes on a busy machine, and a token must not expire during it.
  const HOUR = 3600;
  const jwt = async (name: string, options: Parameters<typeof hsToken>[0], w0: Who, extra: Record<string, string> = {}) => add(name, { ...bearerH(await hsToken({ expiresIn: HOUR, ...options })), ...extra }, w0);
  // Narrowed tokens differ from a restricted key only in how their permissions are read: the probe routes.
  const jwtProbe = async (name: string, options: Parameters<typeof hsToken>[0], w0: Who, extra: Record<string, string> = {}) => add(name, { ...bearerH(await hsToken({ expiresIn: HOUR, ...options })), ...extra }, w0, true);
  await jwt("merchant token", { roles: ["merchant"], merchant: a.id, sub: "owner" }, who("jwt", ["merchant"], ALL));
  await jwtProbe("merchant token narrowed to view", { roles: ["merchant"], merchant: a.id, permissions: [VIEW], sub: "viewer" }, who("jwt", ["merchant"], new Set([VIEW])));
  await jwtProbe("merchant token with refunds.approve only", { roles: ["merchant"], merchant: a.id, permissions: ["refunds.approve"], sub: "approver" }, who("jwt", ["merchant"], new Set<Permission>(["refunds.approve"])));
  const live = await hsToken({ roles: ["merchant"], merchant: a.id, livemode: true, sub: "owner", expiresIn: HOUR });
  add("live merchant token", bearerH(live), who("jwt", ["merchant"], ALL), true);
  await jwt("admin token, no Merchant-Id", { roles: ["admin"], merchant: null, sub: "ops" }, who("jwt", ["admin"], ALL, false));
  await jwt("admin token, Merchant-Id A", { roles: ["admin"], merchant: null, sub: "ops" }, who("jwt", ["admin"], ALL), { "merchant-id": a.id });
  await jwtProbe("admin token narrowed to view, Merchant-Id A", { roles: ["admin"], merchant: null, permissions: [VIEW], sub: "ops" }, who("jwt", ["admin"], new Set([VIEW])), { "merchant-id": a.id });
  await jwt("support token, no Merchant-Id", { roles: ["support"], merchant: null, sub: "helpdesk" }, who("jwt", ["support"], SUPPORT, false));
  await jwt("support token, Merchant-Id A", { roles: ["support"], merchant: null, sub: "helpdesk" }, who("jwt", ["support"], SUPPORT), { "merchant-id": a.id });
  await jwtProbe("support token claiming every permission", { roles: ["support"], merchant: null, permissions: [...PERMISSIONS], sub: "helpdesk" }, who("jwt", ["support"], SUPPORT), { "merchant-id": a.id });
  await jwt("customer token", { roles: ["customer"], merchant: a.id, customer: customerId, sub: "shopper" }, who("jwt", ["customer"], CUSTOMER));
  await jwt("roleless token", { roles: [], merchant: a.id, sub: "user-42" }, who("jwt", [], new Set(), true, true));
  // Authenticated, but naming what it may not: 403 everywhere a credential is read.
  const denied = (name: string, token: string, headers: Record<string, string> = {}): Credential => ({
    name,
    headers: { ...bearerH(token), ...headers },
    expect: (row) => (row.rule === null || !PROBES.has(`${row.method} ${row.route}`) ? null : row.surface === "s003" ? 400 : 403),
  });
  creds.push(denied("merchant token naming merchant B in Merchant-Id", await hsToken({ roles: ["merchant"], merchant: a.id, expiresIn: HOUR }), { "merchant-id": b.id }));
  creds.push(denied("admin token naming a merchant that does not exist", await hsToken({ roles: ["admin"], merchant: null, expiresIn: HOUR }), { "merchant-id": "acct_nobody_here" }));
  creds.push(denied("merchant token of a merchant that does not exist", await hsToken({ roles: ["merchant"], merchant: "acct_nobody_here", expiresIn: HOUR })));

  // Tokens that must never authenticate.
  const now = Math.floor(Date.now() / 1000);
  const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const claims = { roles: ["admin"], merchant_id: a.id, sub: "mallory", iss: "edge-gateway", aud: "edge-gateway-api", iat: now, exp: now + 3600 };
  const publicPem = await exportSPKI(
    (await importJWK({ ...(JSON.parse(env.JWKS_PRIVATE_KEY) as JsonWebKey), d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined } as JsonWebKey, "RS256", { extractable: true })) as CryptoKey,
  );
  const { SignJWT } = await import("jose");
  const noExp = await new SignJWT({ roles: ["admin"], merchant_id: a.id }).setProtectedHeader({ alg: "HS256" }).setIssuer("edge-gateway").setAudience("edge-gateway-api").setIssuedAt(now).setSubject("x").sign(new TextEncoder().encode("test-jwt-secret-for-the-suite-only"));
  const forged: Record<string, string> = {
    "expired token": await hsToken({ roles: ["admin"], merchant: a.id, expiresIn: -120 }),
    "not-yet-valid token": await hsToken({ roles: ["admin"], merchant: a.id, notBefore: 3600, expiresIn: HOUR }),
    "wrong-audience token": await hsToken({ roles: ["admin"], merchant: a.id, audience: "another-api", expiresIn: HOUR }),
    "wrong-issuer token": await hsToken({ roles: ["admin"], merchant: a.id, issuer: "someone-else", expiresIn: HOUR }),
    "alg=none token": `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`,
    "HS256 token signed with the RS public key": await hsToken({ roles: ["admin"], merchant: a.id, secret: publicPem, expiresIn: HOUR }),
    "token signed with another secret": await hsToken({ roles: ["admin"], merchant: a.id, secret: "not-the-secret", expiresIn: HOUR }),
    "token without exp": noExp,
    "token living longer than allowed": await hsToken({ roles: ["admin"], merchant: a.id, expiresIn: 3 * 86400 }),
  };
  for (const [name, token] of Object.entries(forged)) creds.push(failing(name, bearerH(token), true));

  // Merchant A's objects (test mode) and two of live mode, for the foreign-object table.
  const ka = { key: a.key };
  const pi = (await post<{ id: string }>("/v1/payment_intents", { amount: 1500, currency: "usd", customer: customerId }, ka)).body.id;
  const paid = (await post<{ id: string; latest_charge: string }>("/v1/payment_intents", { amount: 3000, currency: "usd", payment_method: "pm_card_visa", confirm: true }, ka)).body;
  const refund = (await post<{ id: string }>("/v1/refunds", { payment_intent: paid.id, amount: 100 }, ka)).body.id;
  const customer = (await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, ka)).body.id;
  const pm = (await post<{ id: string }>("/v1/payment_methods", { type: "card", card: { token: "tok_visa" } }, ka)).body.id;
  // A setup intent that saved a card: it has an attempt (GET /v1/setup_attempts).
  const setupIntent = (await post<{ id: string }>("/v1/setup_intents", { payment_method: "pm_card_visa", confirm: true }, ka)).body.id;
  const product = (await post<{ id: string }>("/v1/products", { name: "Widget" }, ka)).body.id;
  const price = (await post<{ id: string }>("/v1/prices", { product, unit_amount: 500, currency: "usd" }, ka)).body.id;
  const endpoint = (await post<{ id: string }>("/v1/webhook_endpoints", { url: receiverHook("matrix").url, enabled_events: ["charge.dispute.created"] }, ka)).body.id;
  const apiKey = (await post<{ id: string }>("/v1/api_keys", { type: "restricted", permissions: [VIEW] }, ka)).body.id;
  const clock = (await post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: now }, ka)).body.id;
  const session = (await post<{ id: string }>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price, quantity: 1 }], success_url: "https://example.com/ok" }, ka)).body.id;
  const event = (await env.DB.prepare("SELECT id FROM events WHERE merchant_id = ? AND livemode = 0 LIMIT 1").bind(a.id).first<{ id: string }>())?.id ?? "";
  const objects: Record<string, string> = { pi, paid: paid.id, charge: paid.latest_charge, refund, customer, pm, setupIntent, product, price, endpoint, apiKey, clock, session, event };
  for (const [k, id] of Object.entries(objects)) expect(id, k).toBeTruthy();
  const kl = { key: aLiveKey };
  const liveCustomer = (await post<{ id: string }>("/v1/customers", { email: "live@example.com" }, kl)).body.id;
  const liveProduct = (await post<{ id: string }>("/v1/products", { name: "Live widget" }, kl)).body.id;
  expect(liveCustomer).toBeTruthy();
  expect(liveProduct).toBeTruthy();
  return { a, b, aLiveKey, credentials: creds, objects, liveObjects: { customer: liveCustomer, product: liveProduct } };
}

/** Merchant A's rows that a foreign caller could change (deliveries left out: A's own events keep being sent). */
async function snapshotOf(merchant: string): Promise<string> {
  const parts: unknown[] = [];
  // (A key's last use is written as it is used: only whether it is revoked counts here.)
  for (const [t, columns] of [["payment_intents", "*"], ["refunds", "*"], ["customers", "*"], ["payment_methods", "*"], ["products", "*"], ["prices", "*"], ["webhook_endpoints", "*"], ["api_keys", "id, revoked_at"], ["checkout_sessions", "*"], ["setup_intents", "*"], ["setup_attempts", "*"]]) {
    parts.push((await env.DB.prepare(`SELECT ${columns} FROM ${t} WHERE merchant_id = ? ORDER BY id`).bind(merchant).all()).results);
  }
  return JSON.stringify(parts);
}

// ---- running a row -------------------------------------------------------------------------------

/** A path for `route` with fake ids of each parameter's shape (a route that finds nothing answers 404 past its checks). */
function concrete(route: string): string {
  return route
    .replace(":payment_id", "987654321")
    .replace(":gatewayId", "1")
    .replace(":customerId", "4242")
    .replace(":token", "tok0missing")
    .replace(/:(?!action)(\w+)/g, (_m, name: string) => `${name === "id" ? "x" : name}_matrix0missing`)
    .replace(":action", "re_matrix0missing:approve");
}

let ipCounter = 0;
/** Each request from an address of its own: the per-IP limits (pages, failed sign-ins) never decide a row. */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

async function send(row: RouteRow, headers: Record<string, string>, path = concrete(row.route)): Promise<RawAnswer> {
  const body = row.method === "GET" || row.method === "DELETE" ? undefined : (row.body ?? "{}");
  // The routes without credentials are limited per IP: each such request comes from an address of its own.
  return rawCall(row.method, path, row.rule === null ? { ...headers, "cf-connecting-ip": nextIp() } : headers, body);
}

/** Whether a denial (or a missing object) is in the surface's own error format. */
function inSurfaceFormat(surface: Surface, res: RawAnswer): boolean {
  const j = res.json as Record<string, unknown> | null;
  if (!j) return false;
  switch (surface) {
    case "v1": {
      const e = j.error as Record<string, unknown> | undefined;
      return typeof e === "object" && e !== null && typeof e.type === "string" && typeof e.message === "string";
    }
    case "s000":
      return j.status === res.status && typeof j.title === "string" && (res.headers.get("content-type") ?? "").includes("problem+json");
    case "s002": {
      const e = j.error as Record<string, unknown> | undefined;
      return typeof e === "object" && e !== null && typeof e.code === "string" && typeof e.message === "string";
    }
    case "s003":
      return j.status === res.status && typeof j.error === "string" && typeof j.message === "string" && typeof j.path === "string";
    case "s004":
      return typeof j.error === "string";
    default:
      return true;
  }
}

function verdict(row: RouteRow, want: Expectation, res: RawAnswer): string | null {
  const shown = `${row.method} ${row.route}`;
  if (want === "through") {
    if (res.status === 401 || res.status === 403 || res.status === 429 || res.status >= 500) return `${shown}: expected to get through, got ${res.status} ${res.text.slice(0, 160)}`;
    return null;
  }
  if (res.status !== want) return `${shown}: expected ${want}, got ${res.status} ${res.text.slice(0, 160)}`;
  if (!inSurfaceFormat(row.surface, res)) return `${shown}: ${res.status} not in ${row.surface}'s error format: ${res.text.slice(0, 160)}`;
  return null;
}

/** The credentials of each part, by their index in the world's list: together, every credential once. */
export const GROUPS: readonly (readonly [number, number])[] = [
  [0, 9],
  [9, 17],
  [17, 20],
  [20, Number.POSITIVE_INFINITY],
];

/**
 * One part of the matrix: the credentials of `group` (an index of GROUPS) on every route; the first
 * part also checks the table against the app's routes, runs the foreign-object table and the open routes.
 */
export function defineMatrix(group: number): void {
describe(`access-control matrix, part ${group + 1} of ${GROUPS.length}`, () => {
  const first = group === 0;
  /** A test of the first part only (the other parts define none of it, rather than skipping it). */
  const itFirst = (name: string, fn: () => Promise<void> | void, timeout?: number): void => {
    if (first) it(name, fn, timeout);
  };
  beforeAll(async () => {
    w = await setup();
  }, 120_000);

  itFirst("the parts take every credential once, in order", () => {
    expect(GROUPS[0]?.[0]).toBe(0);
    for (let i = 1; i < GROUPS.length; i++) expect(GROUPS[i]?.[0]).toBe(GROUPS[i - 1]?.[1]);
    expect(GROUPS[GROUPS.length - 1]?.[1]).toBe(Number.POSITIVE_INFINITY);
    expect(w.credentials.length).toBeGreaterThan(GROUPS[GROUPS.length - 1]?.[0] ?? 0);
  });

  itFirst("names every route the app serves, and only those", () => {
    const served = new Set(buildApp().routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
    const listed = new Set(ROUTES.map((r) => `${r.method} ${r.route}`));
    expect([...served].filter((r) => !listed.has(r)), "routes without a row").toEqual([]);
    expect([...listed].filter((r) => !served.has(r)), "rows without a route").toEqual([]);
  });

  const failures: string[] = [];
  let rows = 0;

  /** Runs one credential's rows, a few at a time (they are independent: fake ids, no shared state). */
  async function runCredential(cred: Credential): Promise<void> {
    const cells: { row: RouteRow; want: Expectation; headers: Record<string, string> }[] = [];
    for (const row of ROUTES) {
      const want = cred.expect(row);
      const headers = cred.headersFor ? cred.headersFor(row) : cred.headers;
      if (want !== null && headers !== null) cells.push({ row, want, headers });
    }
    rows += cells.length;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < cells.length; i = next++) {
        const { row, want, headers } = cells[i] as (typeof cells)[number];
        const t0 = Date.now();
        let res: RawAnswer;
        try {
          res = await send(row, headers);
        } catch (err) {
          // The Worker threw instead of answering: a failing row that names its route, not the end of the run.
          failures.push(`[${cred.name}] ${row.method} ${row.route}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
          continue;
        }
        if (Date.now() - t0 > 3000) console.log(`MATRIX-SLOW [${cred.name}] ${row.method} ${row.route}: ${Date.now() - t0} ms, ${res.status}`);
        const bad = verdict(row, want, res);
        if (bad) failures.push(`[${cred.name}] ${bad}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
  }

  itFirst("answers another merchant's credentials, and A's own in the other mode, on A's objects: 404, and nothing changes", async () => {
    const o = w.objects;
    // B's application holds every permission: its refusals here are about whose object it is, never about what it may do.
    const app = (await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: [...PERMISSIONS] }, { key: w.b.key })).body;
    const bApp = { "x-application-id": app.application_id, "x-access-token": app.access_token };
    const foreigners: [string, Record<string, string>][] = [
      ["merchant B's secret key", bearerH(w.b.key)],
      ["merchant B's merchant token", bearerH(await hsToken({ roles: ["merchant"], merchant: w.b.id, sub: "b-owner" }))],
      ["merchant B's application", bApp],
      ["merchant A's live key", bearerH(w.aLiveKey)],
    ];
    const before = await snapshotOf(w.a.id);
    // [method, path, surface, body, expected]: a path's object is a 404; one named in a parameter a 400 resource_missing.
    const cells: [string, string, Surface, string | undefined, number][] = [
      ["GET", `/v1/payment_intents/${o.pi}`, "v1", undefined, 404],
      ["POST", `/v1/payment_intents/${o.pi}`, "v1", JSON.stringify({ amount: 1 }), 404],
      ["POST", `/v1/payment_intents/${o.pi}/confirm`, "v1", "{}", 404],
      ["POST", `/v1/payment_intents/${o.pi}/cancel`, "v1", "{}", 404],
      ["POST", `/v1/payment_intents/${o.paid}/capture`, "v1", "{}", 404],
      ["GET", `/v1/payment_intents/${o.paid}/transactions`, "v1", undefined, 404],
      ["POST", "/v1/refunds", "v1", JSON.stringify({ payment_intent: o.paid, amount: 100 }), 400],
      ["POST", "/v1/refunds", "v1", JSON.stringify({ charge: o.charge, amount: 100 }), 400],
      ["GET", `/v1/refunds/${o.refund}`, "v1", undefined, 404],
      ["POST", `/v1/refunds/${o.refund}`, "v1", JSON.stringify({ metadata: { x: "1" } }), 404],
      ["POST", `/v1/refunds/${o.refund}/cancel`, "v1", "{}", 404],
      ["GET", `/v1/charges/${o.charge}`, "v1", undefined, 404],
      ["POST", `/v1/charges/${o.charge}`, "v1", JSON.stringify({ description: "x" }), 404],
      ["GET", `/v1/charges/${o.charge}/refunds`, "v1", undefined, 404],
      ["GET", `/v1/customers/${o.customer}`, "v1", undefined, 404],
      ["POST", `/v1/customers/${o.customer}`, "v1", JSON.stringify({ name: "x" }), 404],
      ["DELETE", `/v1/customers/${o.customer}`, "v1", undefined, 404],
      ["GET", `/v1/customers/${o.customer}/payment_methods`, "v1", undefined, 404],
      ["GET", `/v1/customers/${o.customer}/payment_intents`, "v1", undefined, 404],
      ["GET", `/v1/payment_methods/${o.pm}`, "v1", undefined, 404],
      ["POST", `/v1/payment_methods/${o.pm}`, "v1", JSON.stringify({ metadata: { x: "1" } }), 404],
      ["GET", `/v1/setup_intents/${o.setupIntent}`, "v1", undefined, 404],
      ["POST", `/v1/setup_intents/${o.setupIntent}/cancel`, "v1", "{}", 404],
      ["GET", `/v1/setup_attempts?setup_intent=${o.setupIntent}`, "v1", undefined, 400],
      ["GET", `/v1/products/${o.product}`, "v1", undefined, 404],
      ["POST", `/v1/products/${o.product}`, "v1", JSON.stringify({ name: "x" }), 404],
      ["DELETE", `/v1/products/${o.product}`, "v1", undefined, 404],
      ["GET", `/v1/prices/${o.price}`, "v1", undefined, 404],
      ["POST", `/v1/prices/${o.price}`, "v1", JSON.stringify({ nickname: "x" }), 404],
      ["GET", `/v1/webhook_endpoints/${o.endpoint}`, "v1", undefined, 404],
      ["POST", `/v1/webhook_endpoints/${o.endpoint}`, "v1", JSON.stringify({ url: "https://evil.example/hook" }), 404],
      ["POST", `/v1/webhook_endpoints/${o.endpoint}/roll_secret`, "v1", "{}", 404],
      ["GET", `/v1/webhook_endpoints/${o.endpoint}/deliveries`, "v1", undefined, 404],
      ["DELETE", `/v1/webhook_endpoints/${o.endpoint}`, "v1", undefined, 404],
      ["DELETE", `/v1/api_keys/${o.apiKey}`, "v1", undefined, 404],
      ["GET", `/v1/test_helpers/test_clocks/${o.clock}`, "v1", undefined, 404],
      ["POST", `/v1/test_helpers/test_clocks/${o.clock}/advance`, "v1", JSON.stringify({ frozen_time: Math.floor(Date.now() / 1000) + 86400 }), 404],
      ["GET", `/v1/checkout/sessions/${o.session}`, "v1", undefined, 404],
      ["POST", `/v1/checkout/sessions/${o.session}/expire`, "v1", "{}", 404],
      ["GET", `/v1/events/${o.event}`, "v1", undefined, 404],
      ["GET", `/api/v1/payments/transactions/${o.paid}`, "s002", undefined, 404],
      ["POST", "/api/v1/payments/void", "s002", JSON.stringify({ paymentIntentId: o.pi }), 404],
      ["POST", "/api/v1/payments/refund", "s002", JSON.stringify({ paymentIntentId: o.paid, amountCents: 100 }), 404],
      ["POST", "/api/v1/payments/stripe/retrieve-payment", "s004", JSON.stringify({ payment_intent_id: o.pi }), 404],
      ["POST", "/api/v1/payments/stripe/confirm-payment", "s004", JSON.stringify({ payment_intent_id: o.pi, payment_method: "pm_card_visa" }), 404],
      ["POST", "/api/v1/payments/paypal/refund-payment", "s004", JSON.stringify({ capture_id: o.charge, amount: "1.00" }), 404],
      // Seed 003's document: another application's payment is a 403 (a forbidden resource); its own headers only.
      ["GET", `/payments/${o.pi}`, "s003", undefined, 403],
      ["PUT", `/payments/${o.pi}/cancel`, "s003", "{}", 403],
      ["PUT", `/payments/${o.paid}/refund`, "s003", JSON.stringify({ amount: 1 }), 403],
    ];
    let n = 0;
    for (const [name, headers] of foreigners) {
      const isApp = "x-application-id" in headers;
      for (const [method, path, surface, body, want] of cells) {
        if (surface === "s003" && !isApp) continue;
        // Test clocks exist only in test mode: a live key is refused for its mode (400 livemode_mismatch) before any lookup.
        if (name === "merchant A's live key" && path.includes("/test_clocks/")) continue;
        // A live-mode key on test objects: seed 003 answers it as another application's (403) too.
        n += 1;
        const res = await rawCall(method, path, headers, body);
        const row: RouteRow = { method, route: path, surface, rule: null };
        const bad = verdict(row, want, res);
        if (bad) failures.push(`[${name}] ${bad}`);
      }
    }
    // A's test-mode key on A's live objects.
    for (const [path, want] of [[`/v1/customers/${w.liveObjects.customer ?? ""}`, 404], [`/v1/products/${w.liveObjects.product ?? ""}`, 404]] as const) {
      n += 2;
      for (const method of ["GET", "DELETE"]) {
        const bad = verdict({ method, route: path, surface: "v1", rule: null }, want, await rawCall(method, path, bearerH(w.a.key)));
        if (bad) failures.push(`[merchant A's test key on live objects] ${bad}`);
      }
    }
    // The shopper's page: a payment's page without its client secret, or with another one, is not found, and takes no card.
    for (const secret of ["", `${o.pi}_secret_wrong`]) {
      n += 1;
      const res = await exports.default.fetch(
        new Request(`http://gateway.test/pay/${o.pi}`, {
          method: "POST",
          redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": nextIp(), origin: "http://gateway.test" },
          body: `client_secret=${secret}&card_number=4242424242424242&exp_month=12&exp_year=2040&cvc=123`,
        }),
      );
      await res.text();
      if (res.status !== 404) failures.push(`[client secret '${secret}'] POST /pay/${o.pi}: expected 404, got ${res.status}`);
    }
    rows += n;
    console.log(`MATRIX foreign objects: ${n} rows`);
    expect(await snapshotOf(w.a.id)).toEqual(before);
    expect(failures).toEqual([]);
  }, 300_000);

  it("answers each credential of this part on each route as its role allows, in the surface's own format", async () => {
    const [from, to] = GROUPS[group] ?? [0, 0];
    for (const cred of w.credentials.slice(from, Number.isFinite(to) ? to : undefined)) {
      const started = Date.now();
      const before = failures.length;
      await runCredential(cred);
      console.log(`MATRIX ${cred.name}: ${Date.now() - started} ms, ${failures.length - before} failing`);
      for (const f of failures.slice(before)) console.log(`MATRIX-FAIL ${f}`);
    }
    // Routes that ask for no credential: open to anyone (the first part).
    for (const row of first ? ROUTES.filter((r) => r.rule === null) : []) {
      rows += 1;
      const res = await send(row, {});
      if (res.status === 401 || res.status === 403 || res.status >= 500) failures.push(`[no credential] ${row.method} ${row.route}: got ${res.status} ${res.text.slice(0, 120)}`);
    }
    console.log(`access matrix, part ${group + 1}: ${rows} rows over ${ROUTES.length} routes`);
    expect(failures).toEqual([]);
    expect(rows).toBeGreaterThan(150);
  }, 900_000);
});
}

