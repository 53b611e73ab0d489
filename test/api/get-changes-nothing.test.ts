// A GET never changes state, on every surface. One merchant's world is built through the public APIs
// (intents in every status a request leaves them in, refunds partial, held for approval and due to fail,
// customers with cards, setup intents (one at its 3D Secure challenge, with its page), subscriptions on a test clock (trialing, past_due, a retry due on
// a clock left advancing for the cron) and their invoices, checkout sessions open, paid, at a challenge,
// expired and overdue, webhook endpoints with delivered and failed deliveries, PayPal orders at the
// payer's approval (the sandbox's and a PayPal account's), objects of seeds 000, 002, 003 and 004); then
// every GET route the app registers (and HEAD of each: Hono answers HEAD with the GET route's handler)
// is called with real ids and a credential that may read it, with query variants (expand[], filters,
// searches, cursors), an Idempotency-Key on each, and reads of what does not exist and by credentials
// that may not read (STRANGERS). Before and after: every row of every D1 table (per route, so a write
// names its route), every intent's Durable Object storage (its record, idempotency records, outbox,
// alarm), the queue messages sent and every outbound fetch made meanwhile; no answer shows a secret.
// Nothing may differ, except what ALLOWED lists with its reason. Rate-limit buckets (RateLimiterObject)
// and PSP health (ConnectorHealthObject, which only authorizations feed) are not compared: a read
// counts against its caller's limit by design.
//
// A new GET route fails "fills every GET route" until FILLERS names the ids and credential it is read
// with: every route is read at least once with an answer that found its object (2xx or a redirect).
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import worker from "../../src/index";
import {
  addConnector,
  approverOf,
  get,
  hsToken,
  newApplication,
  newMerchant,
  ok,
  post,
  rawCall,
  receiverHook,
  uniqueKey,
  waitFor,
  type CallOptions,
  type PaymentIntentJson,
  type RawAnswer,
} from "../helpers";

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const HOUR = 3600;

/**
 * Writes a GET may make, by table and column, each with its reason. Everything else in D1 must be
 * byte for byte as it was.
 */
const ALLOWED: Record<string, { columns: string[]; why: string }> = {
  api_keys: {
    columns: ["last_used"],
    why: "a key's last use (shown in the key list, as Stripe's dashboard shows it) is stamped as it authenticates, at most once a minute per key and isolate, in waitUntil; it is no business state and no request can read a business answer from it",
  },
};

interface World {
  merchant: string;
  paypalMerchant: string;
  key: string;
  paypalKey: string;
  admin: Record<string, string>;
  shopper: Record<string, string>;
  /** A shopper's token naming a customer the gateway has never seen. */
  newShopper: Record<string, string>;
  /** A token naming no role (seed 000 takes it as the merchant's customer `sub`). */
  roleless: Record<string, string>;
  app: Record<string, string>;
  /** Ids by what they are, each list of ids of one kind. */
  ids: Record<string, string[]>;
  /** A restricted key (payments.transactions.view) first used by the reads: its last_used is stamped then. */
  viewKey: { id: string; secret: string };
  /** Every secret made: shown once, at creation, and in no answer to a read. */
  secrets: string[];
  /** Page paths (with their query) a shopper's browser opens by GET. */
  pages: string[];
}

let w: World;

function need<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined || value === "") throw new Error(`missing ${what}`);
  return value;
}

async function build(): Promise<World> {
  const m = await newMerchant("get-nothing");
  const o = m.opts;
  const ids: Record<string, string[]> = {};
  const add = (kind: string, id: string | null | undefined) => {
    (ids[kind] ??= []).push(need(id, kind));
  };
  const pages: string[] = [];

  // ---- payment intents in every status a request leaves them in
  const intent = async (body: Record<string, unknown>, status: string, opts: CallOptions = o): Promise<PaymentIntentJson> => {
    const pi = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 5000, currency: "usd", return_url: "https://shop.example/back", ...body }, opts));
    expect(pi.status, JSON.stringify(pi)).toBe(status);
    add("pi", pi.id);
    pages.push(`/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`, `/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&error=card_declined`);
    return pi;
  };
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: "reader@example.com", name: "Reader" }, o));
  add("customer", customer.id);
  const card = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, o));
  add("pm", card.id);
  await intent({}, "requires_payment_method");
  await intent({ payment_method: "pm_card_visa", customer: customer.id }, "requires_confirmation");
  const threeDS = await intent({ payment_method: "pm_card_threeDSecure2Required", confirm: true }, "requires_action");
  const secret = encodeURIComponent(threeDS.client_secret);
  pages.push(`/sandbox/3ds/${threeDS.id}?client_secret=${secret}`, `/sandbox/3ds/${threeDS.id}?client_secret=${secret}&result=1`);
  const authorized = await intent({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual", customer: customer.id }, "requires_capture");
  // Declined (a 402 with the intent): back to requires_payment_method, its last_payment_error set.
  const declined = await post<{ error: { payment_intent?: PaymentIntentJson } }>("/v1/payment_intents", { amount: 5000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true }, o);
  expect(declined.status).toBe(402);
  add("pi", declined.body.error.payment_intent?.id);
  const paid = await intent({ payment_method: "pm_card_visa", confirm: true, customer: customer.id }, "succeeded");
  const partly = await intent({ payment_method: "pm_card_visa", confirm: true }, "succeeded");
  const refund = await ok(post<{ id: string }>("/v1/refunds", { payment_intent: partly.id, amount: 700 }, o));
  add("refund", refund.id);
  const canceled = await intent({}, "requires_payment_method");
  expect((await ok(post<PaymentIntentJson>(`/v1/payment_intents/${canceled.id}/cancel`, {}, o))).status).toBe("canceled");
  // Once unknown at the PSP (processing); reconciliation settles it within seconds here, before the reads.
  const unknown = await intent({ payment_method_data: { type: "card", card: { number: "4000000000007007", exp_month: 12, exp_year: 2040, cvc: "123" } }, confirm: true }, "processing");
  // A refund the sandbox reports failed a minute later (Stripe's refund-failure card): the cron's sweep reports it, no read.
  const failing = await intent({ payment_method_data: { type: "card", card: { number: "4000000000005126", exp_month: 12, exp_year: 2040, cvc: "123" } }, confirm: true }, "succeeded");
  add("refund", (await ok(post<{ id: string }>("/v1/refunds", { payment_intent: failing.id, amount: 400 }, o))).id);
  const failureDue = await env.DB.prepare("UPDATE sandbox_refund_failures SET due = ? WHERE intent_id = ?").bind(Date.now() - 1000, failing.id).run();
  expect(failureDue.meta.changes, "the refund's failure waits for the cron").toBe(1);
  // A refund held for a second person's approval (above the merchant's threshold).
  expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(o))).status).toBe(200);
  const held = await ok(post<{ id: string; status: string }>("/v1/refunds", { payment_intent: paid.id, amount: 3000 }, o));
  expect(held.status).toBe("pending");
  add("refund", held.id);
  add("charge", paid.latest_charge as string);
  add("charge", partly.latest_charge as string);
  add("charge", authorized.latest_charge as string);

  // ---- setup intents
  const setup = await ok(post<{ id: string }>("/v1/setup_intents", { customer: customer.id, payment_method: "pm_card_mastercard", confirm: true }, o));
  add("seti", setup.id);
  add("seti", (await ok(post<{ id: string }>("/v1/setup_intents", { customer: customer.id }, o))).id);
  // One waiting at its 3D Secure challenge (requires_action): the API's reads and the challenge's pages leave it there.
  const setupChallenge = await ok(post<{ id: string; status: string; next_action: { redirect_to_url: { url: string } } }>("/v1/setup_intents", { customer: customer.id, payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/saved" }, o));
  expect(setupChallenge.status).toBe("requires_action");
  add("seti", setupChallenge.id);
  const setupPage = new URL(setupChallenge.next_action.redirect_to_url.url);
  pages.push(`${setupPage.pathname}${setupPage.search}`, `${setupPage.pathname}${setupPage.search}&result=1`);

  // ---- billing on a test clock: a trialing subscription, a past_due one, their invoices
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z"), name: "reads" }, o));
  add("clock", clock.id);
  const price = await ok(post<{ id: string; product: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" }, lookup_key: "pro_monthly" }, o));
  add("price", price.id);
  add("product", price.product);
  const onePrice = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 2500, currency: "usd", product: price.product }, o));
  add("price", onePrice.id);
  const clocked = async (email: string, token: string) => {
    const c = await ok(post<{ id: string }>("/v1/customers", { email, test_clock: clock.id }, o));
    await ok(post(`/v1/customers/${c.id}/payment_methods`, { payment_method: token, set_default: true }, o));
    add("customer", c.id);
    return c.id;
  };
  const trialCustomer = await clocked("trial@example.com", "pm_card_visa");
  const dueCustomer = await clocked("due@example.com", "pm_card_visa");
  const trialing = await ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer: trialCustomer, price: price.id, trial_period_days: 60 }, o));
  expect(trialing.status).toBe("trialing");
  const due = await ok(post<{ id: string; status: string; items: { data: { id: string }[] } }>("/v1/subscriptions", { customer: dueCustomer, price: price.id }, o));
  expect(due.status).toBe("active");
  await ok(post(`/v1/customers/${dueCustomer}/payment_methods`, { payment_method: "pm_card_chargeCustomerFail", set_default: true }, o));
  await ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t("2026-02-28T12:00:00Z") }, o));
  add("sub", trialing.id);
  add("sub", due.id);
  add("si", due.items.data[0]?.id);
  const invoices = (await env.DB.prepare("SELECT id, hosted_url, payment_intent FROM invoices WHERE merchant_id = ? ORDER BY id").bind(m.id).all<{ id: string; hosted_url: string | null; payment_intent: string | null }>()).results;
  expect(invoices.length).toBeGreaterThanOrEqual(2);
  for (const inv of invoices) {
    add("invoice", inv.id);
    // Its payment's InvoicePayment: inpay_ and the body of the intent's id.
    if (inv.payment_intent) add("inpay", `inpay_${inv.payment_intent.slice(3)}`);
    if (inv.hosted_url) pages.push(new URL(inv.hosted_url).pathname);
  }
  const dueNow = await env.DB.prepare("SELECT status FROM subscriptions WHERE id = ?").bind(due.id).first<{ status: string }>();
  expect(dueNow?.status).toBe("past_due");

  // ---- checkout sessions: open, expired by /expire, and open but overdue (its expires_at passed: the
  // cron or a POST expires it; a read shows it expired and changes nothing)
  const session = async () => {
    const s = await ok(post<{ id: string }>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: onePrice.id, quantity: 2 }], success_url: "https://shop.example/ok?session={CHECKOUT_SESSION_ID}", cancel_url: "https://shop.example/cancel" }, o));
    add("cs", s.id);
    pages.push(`/checkout/${s.id}`, `/checkout/${s.id}/return`, `/checkout/${s.id}?error=card_declined`, `/checkout/${s.id}/return?check=stop`);
    return s.id;
  };
  await session();
  await ok(post(`/v1/checkout/sessions/${await session()}/expire`, {}, o));
  const overdue = await session();
  await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 60_000, overdue).run();
  // One paid on its page (complete), one waiting at the 3D Secure challenge it led to.
  const payOnPage = async (card: string) => {
    const id = await session();
    const res = await worker.fetch(new Request(`http://gateway.test/checkout/${id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ card_number: card, expiry: "12 / 34", cvc: "123" }), redirect: "manual" }), env, createExecutionContext());
    await res.text();
    expect(res.status).toBe(303);
    return id;
  };
  const completed = await payOnPage("4242424242424242");
  await waitFor(async () => (await env.DB.prepare("SELECT status FROM checkout_sessions WHERE id = ?").bind(completed).first<{ status: string }>())?.status === "complete", 15_000, "a complete session");
  const challenged = await payOnPage("4000002760003184");
  const challengedIntent = await env.DB.prepare("SELECT p.status AS status FROM checkout_sessions s JOIN payment_intents p ON p.id = s.payment_intent WHERE s.id = ?").bind(challenged).first<{ status: string }>();
  expect(challengedIntent?.status).toBe("requires_action");
  // The sessions' payments, on the bare payment page and the 3D Secure page too (an overdue session's
  // payment is expired by a POST or the cron; a page opened by GET only shows it expired).
  for (const id of ids.cs ?? []) {
    const row = await env.DB.prepare("SELECT payment_intent FROM checkout_sessions WHERE id = ?").bind(id).first<{ payment_intent: string }>();
    const pi = await ok(get<PaymentIntentJson>(`/v1/payment_intents/${need(row?.payment_intent, "a session's intent")}`, o));
    add("pi", pi.id);
    const cs = encodeURIComponent(pi.client_secret);
    pages.push(`/pay/${pi.id}?client_secret=${cs}`, `/sandbox/3ds/${pi.id}?client_secret=${cs}`, `/sandbox/3ds/${pi.id}?client_secret=${cs}&result=1`);
  }

  // ---- webhook endpoints: one answering 200, one always 500 (its deliveries fail for good)
  const okHook = await ok(post<{ id: string; secret: string }>("/v1/webhook_endpoints", { url: receiverHook("reads-ok").url, enabled_events: ["customer.created", "payment_intent.succeeded"] }, o));
  const badHook = await ok(post<{ id: string; secret: string }>("/v1/webhook_endpoints", { url: receiverHook("reads-bad", "status=500").url, enabled_events: ["customer.created"] }, o));
  add("we", okHook.id);
  add("we", badHook.id);
  add("customer", (await ok(post<{ id: string }>("/v1/customers", { email: "hooked@example.com" }, o))).id);
  await waitFor(async () => {
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'failed'").bind(badHook.id).first<{ n: number }>();
    return (row?.n ?? 0) > 0;
  }, 30_000, "a failed delivery");

  // ---- seed 004: a Stripe-shaped payment and a sandbox PayPal order at its approval page
  const bearer = { authorization: `Bearer ${m.key}` };
  const s4 = await rawCall("POST", "/api/v1/payments/stripe/create-payment-intent/", bearer, JSON.stringify({ amount: 29.99, currency: "usd", metadata: { course_id: "123" } }));
  add("pi", (s4.json as { payment_intent_id?: string }).payment_intent_id);
  const order = await rawCall("POST", "/api/v1/payments/paypal/create-order/", bearer, JSON.stringify({ amount: 12.5, currency: "USD", custom_id: "order-77" }));
  const approval = need((order.json as { approval_url?: string }).approval_url, `approval_url in ${order.text}`);
  add("order", (order.json as { order_id?: string }).order_id);
  add("pi", (order.json as { order_id?: string }).order_id);
  pages.push(`${new URL(approval).pathname}${new URL(approval).search}`);

  // ---- seed 002: an authorization, a sale, a declined sale, a card on file
  const pos = async (path: string, body: Record<string, unknown>) => {
    const res = await rawCall("POST", path, bearer, JSON.stringify(body));
    expect(res.status, res.text).toBeLessThan(300);
    return need((res.json as { data?: { id?: string } }).data?.id, path);
  };
  add("pi", await pos("/api/v1/payments/authorize", { clientRequestId: uniqueKey("auth"), amountCents: 5000, token: "9418594164541111", expiry: "1230", cvv: "123", currency: "USD", orderId: "order-abc", customerId: "cust-123", terminalId: "term-1", locationId: "loc-1" }));
  add("pi", await pos("/api/v1/payments/sale", { clientRequestId: uniqueKey("sale"), amountCents: 1500, tipCents: 200, token: "9418594164541111", expiry: "1230", currency: "USD" }));
  add("pi", await pos("/api/v1/payments/sale", { amountCents: 2500, token: "9418594164540002", expiry: "1230" }));
  add("posCard", await pos("/api/v1/customers/cust-123/payment-methods", { token: "9418594164541111", expiry: "1230", nickname: "Personal Visa", isDefault: true }));

  // ---- seed 003: an application's payment
  const app = await newApplication(o);
  const appHeaders = { "x-application-id": app.appId, "x-access-token": app.token };
  const created = await rawCall("POST", "/payments/create-payment-intent", appHeaders, JSON.stringify({ userId: "user_1234", productId: "product_1234", productType: "BOOKING", products: [{ id: "prod_001", name: "Hotel Room", quantity: 1, price: { currency: "EUR", value: 25.0 } }], company: "icligo.pt", currency: "EUR", microsite: "icligo.pt", country: "PT", amount: 25.0, manualCapture: true }));
  expect(created.status, created.text).toBeLessThan(300);
  add("pi", (created.json as { paymentIntentId?: string }).paymentIntentId);
  add("appNumber", String((created.json as { id?: number }).id ?? ""));

  // ---- seed 000: a payment of customer 456, paid
  const user = { authorization: `Bearer ${await hsToken({ roles: ["merchant"], merchant: m.id, sub: "456", expiresIn: HOUR })}` };
  const s0 = await rawCall("POST", "/api/v1/PaymentIntents", user, JSON.stringify({ invoiceId: 123, orderId: null, amount: 99.99, currency: "EUR", paymentGatewayId: 1, returnUrl: "https://example.com/success", cancelUrl: "https://example.com/cancel", description: "Payment for invoice #123" }));
  expect(s0.status, s0.text).toBe(201);
  const s0Body = s0.json as { id: number; gatewayIntentId: string };
  add("pi", s0Body.gatewayIntentId);
  expect((await rawCall("POST", `/api/v1/PaymentIntents/${s0Body.id}/confirm`, user, '"pm_card_visa"')).status).toBe(200);

  // ---- a merchant whose payments go through a PayPal account: an order waiting at PayPal for the payer
  const p = await newMerchant("get-nothing-paypal");
  const account = await addConnector(p.opts, { connector: "paypal", credentials: { client_id: uniqueKey("reads-client").replace(/[^A-Za-z0-9-]/g, ""), client_secret: "paypal-secret-9876" } });
  const atPayPal = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 4200, currency: "usd", payment_method: { type: "paypal" }, confirm: true, return_url: "https://shop.example/back" }, p.opts));
  expect(atPayPal.status).toBe("requires_action");
  add("paypalPi", atPayPal.id);
  add("account", account.id);
  const ps = encodeURIComponent(atPayPal.client_secret);
  pages.push(`/connectors/return/${atPayPal.id}?client_secret=${ps}`, `/connectors/return/${atPayPal.id}?client_secret=${ps}&result=1`, `/connectors/return/${atPayPal.id}?client_secret=${ps}&canceled=true`, `/pay/${atPayPal.id}?client_secret=${ps}`);
  const pOrder = await rawCall("POST", "/api/v1/payments/paypal/create-order/", { authorization: `Bearer ${p.key}` }, JSON.stringify({ amount: 8.0, currency: "USD" }));
  add("paypalOrder", (pOrder.json as { order_id?: string }).order_id);
  // The sandbox intents' pages on the provider return too (a card's 3DS intent has no provider step).
  pages.push(`/connectors/return/${threeDS.id}?client_secret=${secret}`);

  // The clock moved on to March 5 by an advance that left its due work to the cron (status advancing):
  // the past_due renewal's retry (March 1) is due. Reading the clock, the subscription, the invoice or its
  // page runs none of it.
  await env.DB.prepare("UPDATE test_clocks SET status = 'advancing', frozen_time = frozen_time + CASE WHEN frozen_time > 100000000000 THEN 432000000 ELSE 432000 END WHERE id = ?").bind(clock.id).run();
  expect(await ok(get<{ status: string; frozen_time: number }>(`/v1/test_helpers/test_clocks/${clock.id}`, o))).toMatchObject({ status: "advancing", frozen_time: t("2026-03-05T12:00:00Z") });

  // ---- events, API keys
  for (const r of (await env.DB.prepare("SELECT id FROM events WHERE merchant_id = ? ORDER BY created DESC LIMIT 3").bind(m.id).all<{ id: string }>()).results) add("event", r.id);
  const restrictedKey = await ok(post<{ id: string; secret: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, o));

  // Settled: the processing payment reconciled, every delivery done.
  await waitFor(async () => (await env.DB.prepare("SELECT status FROM payment_intents WHERE id = ?").bind(unknown.id).first<{ status: string }>())?.status === "succeeded", 30_000, "reconciliation");
  await waitFor(async () => ((await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'").first<{ n: number }>())?.n ?? 1) === 0, 30_000, "deliveries settled");

  // A shopper's token (customer of the first customer's payments): its own reads.
  const shopper = { authorization: `Bearer ${await hsToken({ roles: ["customer"], merchant: m.id, customer: customer.id, sub: "shopper", expiresIn: HOUR })}` };
  const newShopper = { authorization: `Bearer ${await hsToken({ roles: ["customer"], merchant: m.id, customer: "cus_FirstTimeShopper0000000", sub: "first-timer", expiresIn: HOUR })}` };
  const roleless = { authorization: `Bearer ${await hsToken({ roles: [], merchant: m.id, sub: "9001", expiresIn: HOUR })}` };
  const admin = { authorization: `Bearer ${await hsToken({ roles: ["admin"], merchant: null, sub: "ops", expiresIn: HOUR })}`, "merchant-id": m.id };
  return { merchant: m.id, paypalMerchant: p.id, key: m.key, paypalKey: p.key, admin, shopper, newShopper, roleless, app: appHeaders, ids, pages, viewKey: restrictedKey, secrets: [m.key, p.key, app.token, okHook.secret, badHook.secret, restrictedKey.secret] };
}

// ---- what a GET route is read with ---------------------------------------------------------------

interface Read {
  path: string;
  headers: Record<string, string>;
  /** A read of what is not there, or by a credential that may not read it: any 4xx (never a 5xx), and nothing changes either. */
  stranger?: true;
  /** A read sent as a POST (the documents' reads by POST): its JSON body. */
  body?: unknown;
}

type Filler = (w: World) => Read[];

const first = (w: World, kind: string) => w.ids[kind]?.[0] ?? "";
const all = (w: World, kind: string) => w.ids[kind] ?? [];
const key = (w: World) => ({ authorization: `Bearer ${w.key}` });
const v1 = (paths: string[]): Filler => (w) => paths.map((path) => ({ path, headers: key(w) }));
/** A route naming one object: read for each object of `kind`, with these query variants. */
const each = (kind: string, make: (id: string) => string, variants: string[] = [""]): Filler => (w) =>
  all(w, kind).flatMap((id) => variants.map((q) => ({ path: `${make(id)}${q}`, headers: key(w) })));
const LIST = ["", "?limit=2", "?limit=100", "?created[gte]=0", "?expand[]=data.customer", "?ending_before=x_none"];
const list = (path: string, extra: string[] = []): Filler => v1([...LIST, ...extra].map((q) => `${path}${q}`));
const admin = (paths: string[]): Filler => (w) => paths.flatMap((path) => [{ path, headers: w.admin }, { path, headers: { authorization: w.admin.authorization ?? "" } }]);
const seed000 = (paths: (w: World) => string[]): Filler => (w) => paths(w).map((path) => ({ path, headers: w.admin }));
const open = (paths: (w: World) => string[]): Filler => (w) => paths(w).map((path) => ({ path, headers: {} }));
const pagesUnder = (prefix: string): Filler => (w) => w.pages.filter((p) => p.startsWith(prefix)).map((path) => ({ path, headers: {} }));

/** Every GET route, the reads it gets. */
const FILLERS: Record<string, Filler> = {
  "/v1/payment_intents": (w) => [
    ...list("/v1/payment_intents", ["?status=succeeded", "?status=requires_capture", "?expand[]=data.latest_charge"])(w),
    { path: "/v1/payment_intents", headers: w.shopper },
    // A key's first use is a read: its last_used is stamped (the one write ALLOWED).
    { path: "/v1/payment_intents?limit=1", headers: { authorization: `Bearer ${w.viewKey.secret}` } },
  ],
  "/v1/payment_intents/search": v1(["?query=status:'succeeded'", "?query=amount>1000&limit=2", "?query=metadata['course_id']:'123'"].map((q) => `/v1/payment_intents/search${q}`)),
  "/v1/payment_intents/:id": (w) => [...each("pi", (id) => `/v1/payment_intents/${id}`, ["", "?expand[]=latest_charge&expand[]=customer&expand[]=payment_method", "?client_secret=x"])(w), ...each("paypalPi", (id) => `/v1/payment_intents/${id}`)(w).map((r) => ({ ...r, headers: { authorization: `Bearer ${w.paypalKey}` } })), ...each("pi", (id) => `/v1/payment_intents/${id}`)(w).map((r) => ({ ...r, headers: w.shopper }))],
  // (and a shopper's token on its own payments, and on the list)
  "/v1/payment_intents/:id/transactions": each("pi", (id) => `/v1/payment_intents/${id}/transactions`),
  "/v1/refunds": list("/v1/refunds", ["?expand[]=data.charge"]),
  "/v1/refunds/:id": each("refund", (id) => `/v1/refunds/${id}`, ["", "?expand[]=payment_intent&expand[]=charge"]),
  "/v1/charges": list("/v1/charges", ["?expand[]=data.payment_intent"]),
  "/v1/charges/search": v1(["/v1/charges/search?query=status:'succeeded'", "/v1/charges/search?query=amount>100"]),
  "/v1/charges/:id": each("charge", (id) => `/v1/charges/${id}`, ["", "?expand[]=refunds&expand[]=balance_transaction"]),
  "/v1/charges/:charge/refunds": each("charge", (id) => `/v1/charges/${id}/refunds`, ["", "?limit=1"]),
  "/v1/charges/:charge/refunds/:refund": (w) => [{ path: `/v1/charges/${all(w, "charge")[1] ?? ""}/refunds/${first(w, "refund")}`, headers: key(w) }],
  "/v1/events": list("/v1/events", ["?type=payment_intent.succeeded", "?types[]=customer.created&types[]=charge.refunded", "?delivery_success=false"]),
  "/v1/events/:id": each("event", (id) => `/v1/events/${id}`),
  "/v1/events/:id/deliveries": each("event", (id) => `/v1/events/${id}/deliveries`),
  "/v1/webhook_endpoints": list("/v1/webhook_endpoints"),
  "/v1/webhook_endpoints/:id": each("we", (id) => `/v1/webhook_endpoints/${id}`),
  "/v1/webhook_endpoints/:id/deliveries": each("we", (id) => `/v1/webhook_endpoints/${id}/deliveries`, ["", "?status=failed", "?limit=1"]),
  "/v1/connector_accounts": (w) => [{ path: "/v1/connector_accounts", headers: key(w) }, { path: "/v1/connector_accounts", headers: { authorization: `Bearer ${w.paypalKey}` } }],
  "/v1/connector_accounts/:id": (w) => [{ path: `/v1/connector_accounts/${first(w, "account")}`, headers: { authorization: `Bearer ${w.paypalKey}` } }],
  "/v1/api_keys": list("/v1/api_keys"),
  "/v1/account": v1(["/v1/account"]),
  "/v1/credential": (w) => [{ path: "/v1/credential", headers: key(w) }, { path: "/v1/credential", headers: w.admin }, { path: "/v1/credential", headers: w.app }],
  "/v1/admin/merchants": admin(["/v1/admin/merchants", "/v1/admin/merchants?limit=1"]),
  "/v1/admin/audit_log": admin(["/v1/admin/audit_log", "/v1/admin/audit_log?limit=5"]),
  "/v1/admin/payments/search": admin(["/v1/admin/payments/search", "/v1/admin/payments/search?status=succeeded", "/v1/admin/payments/search?q=order-abc"]),
  "/v1/admin/psp_health": admin(["/v1/admin/psp_health"]),
  "/v1/admin/failed_payments": admin(["/v1/admin/failed_payments", "/v1/admin/failed_payments?counts=true"]),
  "/v1/admin/refunds": admin(["/v1/admin/refunds", "/v1/admin/refunds?status=pending"]),
  "/v1/customers": list("/v1/customers", ["?email=reader@example.com", "?test_clock=x_none"]),
  "/v1/customers/search": v1(["/v1/customers/search?query=email:'reader@example.com'", "/v1/customers/search?query=name~'Read'"]),
  "/v1/customers/:id": each("customer", (id) => `/v1/customers/${id}`, ["", "?expand[]=default_source&expand[]=invoice_settings.default_payment_method&expand[]=test_clock"]),
  "/v1/customers/:id/payment_methods": each("customer", (id) => `/v1/customers/${id}/payment_methods`, ["", "?type=card"]),
  "/v1/customers/:id/payment_methods/:payment_method": (w) => [{ path: `/v1/customers/${first(w, "customer")}/payment_methods/${first(w, "pm")}`, headers: key(w) }],
  "/v1/customers/:id/payment_intents": each("customer", (id) => `/v1/customers/${id}/payment_intents`),
  "/v1/customers/:id/subscriptions": each("customer", (id) => `/v1/customers/${id}/subscriptions`, ["", "?status=all"]),
  "/v1/payment_methods": (w) => [{ path: `/v1/payment_methods?customer=${first(w, "customer")}`, headers: key(w) }, { path: `/v1/payment_methods?customer=${first(w, "customer")}&type=card&limit=1`, headers: key(w) }],
  "/v1/payment_methods/:id": each("pm", (id) => `/v1/payment_methods/${id}`),
  "/v1/setup_intents": list("/v1/setup_intents"),
  "/v1/setup_intents/:id": each("seti", (id) => `/v1/setup_intents/${id}`, ["", "?expand[]=payment_method", "?expand[]=latest_attempt.payment_method"]),
  "/v1/setup_attempts": each("seti", (id) => `/v1/setup_attempts?setup_intent=${id}`, ["", "&limit=1", "&created[gte]=0", "&expand[]=data.setup_intent&expand[]=data.payment_method&expand[]=data.customer"]),
  "/v1/products": list("/v1/products", ["?active=true"]),
  "/v1/products/search": v1(["/v1/products/search?query=name:'Pro plan'"]),
  "/v1/products/:id": each("product", (id) => `/v1/products/${id}`),
  "/v1/prices": list("/v1/prices", ["?lookup_keys[]=pro_monthly", "?expand[]=data.product"]),
  "/v1/prices/search": v1(["/v1/prices/search?query=currency:'usd'"]),
  "/v1/prices/:id": each("price", (id) => `/v1/prices/${id}`, ["", "?expand[]=product"]),
  "/v1/subscriptions": list("/v1/subscriptions", ["?status=all", "?status=past_due", "?expand[]=data.latest_invoice"]),
  "/v1/subscriptions/search": v1(["/v1/subscriptions/search?query=status:'trialing'", "/v1/subscriptions/search?query=status:'past_due'"]),
  "/v1/subscriptions/:id": each("sub", (id) => `/v1/subscriptions/${id}`, ["", "?expand[]=latest_invoice.payment_intent&expand[]=customer"]),
  "/v1/subscription_items": (w) => [{ path: `/v1/subscription_items?subscription=${first(w, "sub")}`, headers: key(w) }],
  "/v1/subscription_items/:id": each("si", (id) => `/v1/subscription_items/${id}`),
  "/v1/invoices": list("/v1/invoices", ["?status=open", "?expand[]=data.payment_intent"]),
  "/v1/invoices/search": (w) => [`/v1/invoices/search?query=currency:'usd'`, `/v1/invoices/search?query=customer:'${all(w, "customer")[2] ?? ""}'`, "/v1/invoices/search?query=total>100&limit=1"].map((path) => ({ path, headers: key(w) })),
  "/v1/invoices/:id": each("invoice", (id) => `/v1/invoices/${id}`, ["", "?expand[]=payment_intent&expand[]=subscription"]),
  "/v1/invoices/:id/lines": each("invoice", (id) => `/v1/invoices/${id}/lines`),
  "/v1/invoice_payments": each("invoice", (id) => `/v1/invoice_payments?invoice=${id}`, ["", "&status=paid", "&limit=1", "&expand[]=data.payment.payment_intent&expand[]=data.invoice"]),
  "/v1/invoice_payments/:id": each("inpay", (id) => `/v1/invoice_payments/${id}`, ["", "?expand[]=payment.payment_intent&expand[]=invoice"]),
  "/v1/test_helpers/test_clocks": list("/v1/test_helpers/test_clocks"),
  "/v1/test_helpers/test_clocks/:id": each("clock", (id) => `/v1/test_helpers/test_clocks/${id}`),
  "/v1/checkout/sessions": list("/v1/checkout/sessions", ["?status=open", "?status=expired", "?expand[]=data.payment_intent"]),
  "/v1/checkout/sessions/:id": each("cs", (id) => `/v1/checkout/sessions/${id}`, ["", "?expand[]=payment_intent&expand[]=line_items"]),
  "/v1/checkout/sessions/:id/line_items": each("cs", (id) => `/v1/checkout/sessions/${id}/line_items`),
  // Seed 000: an operator's token (the document's reads are admin's and support's).
  "/api/v1/PaymentIntents": seed000(() => ["/api/v1/PaymentIntents", "/api/v1/PaymentIntents?limit=2", "/api/v1/paymentintents/"]),
  "/api/v1/PaymentIntents/:id": seed000((w) => w.ids.number ?? []),
  "/api/v1/PaymentIntents/customer/:customerId": seed000(() => ["/api/v1/PaymentIntents/customer/456", "/api/v1/PaymentIntents/customer/456?limit=1"]),
  // Seed 002: the merchant's key.
  "/api/v1/payments/transactions": v1(["/api/v1/payments/transactions", "/api/v1/payments/transactions?status=captured&locationId=loc-1&limit=10", "/api/v1/payments/transactions?limit=1"]),
  "/api/v1/payments/transactions/:id": each("pi", (id) => `/api/v1/payments/transactions/${id}`),
  "/api/v1/payments/failed": v1(["/api/v1/payments/failed", "/api/v1/payments/failed?counts=true"]),
  "/api/v1/customers/:id/payment-methods": v1(["/api/v1/customers/cust-123/payment-methods"]),
  // Each also with a trailing slash, which the surface takes as the same route.
  "/api/v1/payments/transactions/": v1(["/api/v1/payments/transactions/", "/api/v1/payments/transactions/?limit=1"]),
  "/api/v1/payments/transactions/:id/": each("pi", (id) => `/api/v1/payments/transactions/${id}/`),
  "/api/v1/payments/failed/": v1(["/api/v1/payments/failed/", "/api/v1/payments/failed/?counts=true"]),
  "/api/v1/customers/:id/payment-methods/": v1(["/api/v1/customers/cust-123/payment-methods/"]),
  // Seed 003: the application's headers, its payment by number (also with a trailing slash).
  "/payments/:payment_id": (w) => (w.ids.appNumber ?? []).map((n) => ({ path: `/payments/${n}`, headers: w.app })),
  "/payments/:payment_id/": (w) => (w.ids.appNumber ?? []).map((n) => ({ path: `/payments/${n}/`, headers: w.app })),
  // Seed 004: get-order by GET (the create's self link), on the sandbox's order and on one waiting at PayPal.
  "/api/v1/payments/paypal/get-order": (w) => [
    { path: `/api/v1/payments/paypal/get-order?order_id=${first(w, "order")}`, headers: key(w) },
    { path: `/api/v1/payments/paypal/get-order?order_id=${first(w, "paypalOrder")}`, headers: { authorization: `Bearer ${w.paypalKey}` } },
  ],
  "/api/v1/payments/paypal/get-order/": (w) => [
    { path: `/api/v1/payments/paypal/get-order/?order_id=${first(w, "order")}`, headers: key(w) },
    { path: `/api/v1/payments/paypal/get-order/?order_id=${first(w, "paypalOrder")}`, headers: { authorization: `Bearer ${w.paypalKey}` } },
  ],
  // The shoppers' pages and the provider's return, as a browser opens them.
  "/checkout/:id": pagesUnder("/checkout/"),
  "/checkout/:id/return": pagesUnder("/checkout/"),
  "/pay/:id": pagesUnder("/pay/"),
  "/sandbox/3ds/:id": pagesUnder("/sandbox/3ds/"),
  "/connectors/return/:id": pagesUnder("/connectors/return/"),
  "/invoice/:id/:token": pagesUnder("/invoice/"),
  "/sandbox/paypal/checkoutnow": pagesUnder("/sandbox/paypal/"),
  ...Object.fromEntries(
    ["/", "/healthz", "/favicon.ico", "/openapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/a11y.css", "/docs/assets/init.js", "/dashboard", "/dashboard/app.js", "/dashboard/app.css"].map((p) => [p, open(() => [p])]),
  ),
};

/**
 * Reads of what does not exist (yet), and by credentials that may not read it: a read must not create
 * what it looks up (a POS customer, a shopper's customer, a payment number) nor record the refusal.
 */
const STRANGERS: Record<string, (w: World) => Read[]> = {
  "/v1/payment_intents": (w) => [{ path: "/v1/payment_intents", headers: w.newShopper }, { path: "/v1/payment_intents", headers: w.roleless }],
  "/v1/payment_intents/:id": (w) => [{ path: "/v1/payment_intents/pi_NotThere000000000000000", headers: key(w) }, { path: `/v1/payment_intents/${first(w, "pi")}`, headers: w.newShopper }],
  "/v1/customers/:id": (w) => [{ path: "/v1/customers/cus_NotThere000000000000000", headers: key(w) }],
  "/v1/test_helpers/test_clocks/:id": (w) => [{ path: "/v1/test_helpers/test_clocks/clock_NotThere0000000000000", headers: key(w) }],
  "/v1/invoice_payments": (w) => [{ path: "/v1/invoice_payments", headers: key(w) }, { path: "/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=pi_NotThere000000000000000", headers: key(w) }],
  "/v1/invoice_payments/:id": (w) => [{ path: "/v1/invoice_payments/inpay_NotThere000000000000000", headers: key(w) }],
  "/api/v1/PaymentIntents": (w) => [{ path: "/api/v1/PaymentIntents", headers: w.roleless }, { path: "/api/v1/PaymentIntents", headers: { authorization: w.newShopper.authorization ?? "" } }],
  "/api/v1/PaymentIntents/:id": (w) => [{ path: "/api/v1/PaymentIntents/99999999", headers: w.admin }, { path: `/api/v1/PaymentIntents/${w.ids.firstNumber?.[0] ?? ""}`, headers: w.roleless }],
  "/api/v1/PaymentIntents/customer/:customerId": (w) => [{ path: "/api/v1/PaymentIntents/customer/789", headers: w.admin }, { path: "/api/v1/PaymentIntents/customer/9001", headers: w.roleless }],
  "/api/v1/payments/transactions": (w) => [{ path: "/api/v1/payments/transactions", headers: w.newShopper }],
  "/api/v1/payments/transactions/:id": (w) => [{ path: "/api/v1/payments/transactions/pi_NotThere000000000000000", headers: key(w) }],
  "/api/v1/customers/:id/payment-methods": (w) => [{ path: "/api/v1/customers/cust-999/payment-methods", headers: key(w) }, { path: "/api/v1/customers/cus_NotThere000000000000000/payment-methods", headers: key(w) }, { path: "/api/v1/customers/cust-new/payment-methods", headers: w.newShopper }],
  "/payments/:payment_id": (w) => [{ path: "/payments/99999999", headers: w.app }],
  "/api/v1/payments/paypal/get-order": (w) => [{ path: "/api/v1/payments/paypal/get-order?order_id=pi_NotThere000000000000000", headers: key(w) }, { path: `/api/v1/payments/paypal/get-order?order_id=${first(w, "order")}`, headers: w.newShopper }],
  "/pay/:id": (w) => [{ path: "/pay/pi_NotThere000000000000000?client_secret=x", headers: {} }, { path: `/pay/${first(w, "pi")}?client_secret=${first(w, "pi")}_secret_wrong`, headers: {} }],
  "/checkout/:id": () => [{ path: "/checkout/cs_NotThere000000000000000", headers: {} }],
  "/sandbox/3ds/:id": (w) => [{ path: `/sandbox/3ds/${first(w, "pi")}?client_secret=wrong`, headers: {} }],
  "/connectors/return/:id": (w) => [{ path: `/connectors/return/${first(w, "paypalPi")}?client_secret=wrong`, headers: {} }],
  "/invoice/:id/:token": (w) => [{ path: `/invoice/${first(w, "invoice")}/wrongtoken0000`, headers: {} }],
  "/sandbox/paypal/checkoutnow": () => [{ path: "/sandbox/paypal/checkoutnow?token=NOTATOKEN", headers: {} }],
};

// ---- the state before and after -----------------------------------------------------------------

/** Every row of every D1 table, the allowed columns left out, as sorted JSON lines by table. */
async function d1Snapshot(): Promise<Record<string, string[]>> {
  const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name").all<{ name: string }>()).results;
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    const skip = new Set(ALLOWED[name]?.columns ?? []);
    const rows = (await env.DB.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>()).results;
    out[name] = rows.map((r) => JSON.stringify(Object.entries(r).filter(([c]) => !skip.has(c)))).sort();
  }
  return out;
}

/** Every intent's object: all its stored keys and values, and its alarm. */
async function objectSnapshot(ids: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ids) {
    const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
    out[id] = await runInDurableObject(stub, async (_instance, state) => JSON.stringify({ entries: [...(await state.storage.list()).entries()], alarm: await state.storage.getAlarm() }));
  }
  return out;
}

/** The rows that differ between two snapshots, by table. */
function differences(before: Record<string, string[]>, after: Record<string, string[]>): Record<string, { gone: string[]; new: string[] }> {
  const out: Record<string, { gone: string[]; new: string[] }> = {};
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = new Set(before[table] ?? []);
    const a = new Set(after[table] ?? []);
    const gone = [...b].filter((r) => !a.has(r));
    const added = [...a].filter((r) => !b.has(r));
    if (gone.length || added.length) out[table] = { gone: gone.map((r) => r.slice(0, 400)), new: added.map((r) => r.slice(0, 400)) };
  }
  return out;
}

/** The outbound requests made while `fn` runs (the Worker runs in this isolate: its fetch is this global). */
async function recordingFetches<T>(fn: () => Promise<T>): Promise<{ value: T; calls: string[] }> {
  const calls: string[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    calls.push(`${req.method} ${req.url}`);
    return original(req);
  }) as typeof fetch;
  try {
    return { value: await fn(), calls };
  } finally {
    globalThis.fetch = original;
  }
}

/** The queue messages the reads sent (every producer binding of the Worker's env replaced by a recording one). */
const sentToQueues: string[] = [];
const recordingEnv = (): typeof env => {
  const queues: Record<string, unknown> = {};
  for (const name of ["EVENTS_QUEUE", "WEBHOOK_QUEUE", "WEBHOOK_DLQ", "RECONCILE_QUEUE", "SWEEP_QUEUE"]) {
    const out: unknown[] = [];
    queues[name] = {
      metrics: async () => ({ backlogCount: out.length, backlogBytes: 0 }),
      send: async (body: unknown) => void sentToQueues.push(`${name}: ${JSON.stringify(body).slice(0, 200)}`),
      sendBatch: async (batch: Iterable<MessageSendRequest<unknown>>) => void sentToQueues.push(...[...batch].map((m) => `${name}: ${JSON.stringify(m.body).slice(0, 200)}`)),
    };
  }
  return { ...env, ...queues } as typeof env;
};

let ipCounter = 0;
/** A read through the Worker's own fetch, its waitUntil work awaited (a write it defers is the read's too). */
async function read(method: "GET" | "HEAD" | "POST", r: Read): Promise<RawAnswer> {
  ipCounter += 1;
  // Pages are limited per IP: each read from an address of its own, so no limit decides an answer.
  // Every read carries an Idempotency-Key as well: a GET stores no idempotency record (Stripe ignores the header on a GET).
  const headers: Record<string, string> = { ...r.headers, "cf-connecting-ip": `10.77.${(ipCounter >> 8) & 255}.${ipCounter & 255}`, "idempotency-key": `read-${ipCounter}` };
  if (r.body !== undefined) headers["content-type"] = "application/json";
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://gateway.test${r.path}`, { method, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body), redirect: "manual" }), recordingEnv(), ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null; // a page, or HEAD's empty body
  }
  return { status: res.status, headers: res.headers, json, text };
}

describe("a GET never changes state, on any surface", () => {
  beforeAll(async () => {
    w = await build();
    // Seeds 000 and 003 name payments by number.
    const numbers = (await env.DB.prepare("SELECT number, intent_id FROM intent_numbers WHERE merchant_id = ? ORDER BY number").bind(w.merchant).all<{ number: number; intent_id: string }>()).results;
    w.ids.firstNumber = numbers.slice(0, 1).map((n) => String(n.number));
    w.ids.number = numbers.flatMap((n) => [`/api/v1/PaymentIntents/${n.number}`, `/api/v1/paymentintents/${n.number}/`]);
  }, 240_000);

  it("fills every GET route the app registers", () => {
    const served = [...new Set(buildApp().routes.filter((r) => r.method === "GET").map((r) => r.path))];
    expect(served.filter((r) => !(r in FILLERS)), "GET routes without reads").toEqual([]);
    expect(Object.keys(FILLERS).filter((r) => !served.includes(r)), "reads of no GET route").toEqual([]);
    expect(Object.keys(STRANGERS).filter((r) => !served.includes(r)), "strangers' reads of no GET route").toEqual([]);
  });

  it("reads every GET route (and HEAD) with real ids: D1, every intent's object and the PSPs are as they were", async () => {
    const intentIds = (await env.DB.prepare("SELECT id FROM payment_intents").all<{ id: string }>()).results.map((r) => r.id);
    // Quiet first: two snapshots a moment apart agree (no delivery, alarm or reconciliation still running).
    const settledD1 = await waitFor(async () => {
      const a = await d1Snapshot();
      await new Promise((r) => setTimeout(r, 1500));
      const b = await d1Snapshot();
      return JSON.stringify(a) === JSON.stringify(b) ? b : false;
    }, 60_000, "a quiet database");
    const objectsBefore = await objectSnapshot(intentIds);

    const answers: string[] = [];
    const unfound: string[] = [];
    const perRoute: string[] = [];
    let reads = 0;
    let routes = 0;
    const { calls } = await recordingFetches(async () => {
      for (const [route, fill] of Object.entries(FILLERS)) {
        routes += 1;
        let found = 0;
        const before = await d1Snapshot();
        for (const r of [...fill(w), ...(STRANGERS[route]?.(w) ?? []).map((x): Read => ({ ...x, stranger: true }))]) {
          for (const method of ["GET", "HEAD"] as const) {
            reads += 1;
            const res = await read(method, r);
            if (res.status >= 500 || (!r.stranger && (res.status === 401 || res.status === 403 || res.status === 429))) answers.push(`${method} ${r.path}: ${res.status} ${res.text.slice(0, 200)}`);
            if (res.status < 400 && !r.stranger) found += 1;
            for (const secret of w.secrets) if (res.text.includes(secret)) answers.push(`${method} ${r.path}: shows a secret (${secret.slice(0, 8)}...)`);
          }
        }
        if (found === 0) unfound.push(route);
        const diff = differences(before, await d1Snapshot());
        if (Object.keys(diff).length) perRoute.push(`${route}: ${JSON.stringify(diff)}`);
      }
    });
    console.log(`GET-NOTHING: ${reads} reads over ${routes} GET routes; outbound calls: ${JSON.stringify(calls)}`);
    // The allowed write happened (so the allowance is needed, and is the only one): the view key, first used by a read, was stamped.
    const stamped = await env.DB.prepare("SELECT last_used FROM api_keys WHERE id = ?").bind(w.viewKey.id).first<{ last_used: number | null }>();
    expect(stamped?.last_used ?? null, "a key's last use is stamped by a read").not.toBeNull();
    const objectsAfter = await objectSnapshot(intentIds);
    const movedObjects = intentIds.filter((id) => objectsAfter[id] !== objectsBefore[id]).map((id) => `${id}: ${objectsBefore[id] ?? ""} -> ${objectsAfter[id] ?? ""}`.slice(0, 2000));
    expect({
      "answers a reader should not get": answers,
      "GET routes never read with an object they found": unfound,
      "GET routes that wrote to D1": perRoute,
      "D1 rows changed by the reads": differences(settledD1, await d1Snapshot()),
      "intents' objects changed by the reads": movedObjects,
      "queue messages sent by the reads": sentToQueues,
    }).toEqual({
      "answers a reader should not get": [],
      "GET routes never read with an object they found": [],
      "GET routes that wrote to D1": [],
      "D1 rows changed by the reads": {},
      "intents' objects changed by the reads": [],
      "queue messages sent by the reads": [],
    });
    // Outbound: only reads (PayPal's GET of an order the payer is approving); never a call that could move money.
    // (PayPal's OAuth token, fetched when the cached one runs out, is no payment: allowed.)
    expect(calls.filter((c) => !c.startsWith("GET ") && !/^POST \S+\/v1\/oauth2\/token$/.test(c)), "outbound calls other than reads").toEqual([]);
    expect(calls.some((c) => c.includes("/v2/checkout/orders/")), "get-order asked PayPal (the recording of outbound calls works)").toBe(true);
    expect(routes).toBe(Object.keys(FILLERS).length);
  }, 600_000);
  it("the reads made by POST (seed 004's retrieve-payment and get-order, /v1/invoices/create_preview) change nothing either", async () => {
    const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
    const reads: Read[] = [
      ...["", "/"].flatMap((slash) => [
        ...all(w, "pi").map((id): Read => ({ path: `/api/v1/payments/stripe/retrieve-payment${slash}`, headers: bearer(w.key), body: { payment_intent_id: id } })),
        { path: `/api/v1/payments/paypal/get-order${slash}`, headers: bearer(w.key), body: { order_id: first(w, "order") } },
        { path: `/api/v1/payments/paypal/get-order${slash}`, headers: bearer(w.paypalKey), body: { order_id: first(w, "paypalOrder") } },
      ]),
      ...all(w, "sub").map((id): Read => ({ path: "/v1/invoices/create_preview", headers: bearer(w.key), body: { subscription: id } })),
    ];
    const before = await d1Snapshot();
    const intentIds = (await env.DB.prepare("SELECT id FROM payment_intents").all<{ id: string }>()).results.map((r) => r.id);
    const objectsBefore = await objectSnapshot(intentIds);
    const queued = sentToQueues.length;
    const bad: string[] = [];
    const { calls } = await recordingFetches(async () => {
      for (const r of reads) {
        const res = await read("POST", r);
        if (res.status !== 200) bad.push(`POST ${r.path} ${JSON.stringify(r.body)}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    });
    expect(bad).toEqual([]);
    // A POST's Idempotency-Key is bound to its first request for 24 hours, on every surface (DESIGN: any
    // POST, as at Stripe): /v1's create_preview binds the key (a claim row naming the key, route and the
    // body's fingerprint, so that the key sent again with another body is refused), and stores nothing else.
    const { idempotency_claims: claims, ...changed } = differences(before, await d1Snapshot());
    expect(changed).toEqual({});
    expect(claims?.gone ?? []).toEqual([]);
    for (const row of claims?.new ?? []) expect(row).toContain('["route","POST /v1/invoices/create_preview"]');
    expect(await objectSnapshot(intentIds)).toEqual(objectsBefore);
    expect(sentToQueues.slice(queued)).toEqual([]);
    expect(calls.filter((c) => !c.startsWith("GET ") && !/^POST \S+\/v1\/oauth2\/token$/.test(c))).toEqual([]);
  }, 120_000);
});
