// Seed 004: the Stripe and PayPal endpoints of /api/v1/payments/{stripe,paypal,webhooks}/, every
// example request of the seed sent verbatim, the PayPal flow on the sandbox acting as PayPal
// (create -> approve on the gateway's page -> capture -> get -> partial refund), errors as
// {"error": "..."}, permissions, and the payments read back through /v1.
import Stripe from "stripe";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addConnector, call, get, hsToken, newMerchant, post, rawCall, waitFor, type CallOptions, type PaymentIntentJson, type RefundJson, type TransactionJson, type ListJson } from "../../helpers";

const cryptoProvider = Stripe.createSubtleCryptoProvider();
type J = Record<string, unknown>;

function expectBackendError(res: { status: number; body: unknown }, status: number): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

const P = "/api/v1/payments";

describe("seed 004 Stripe endpoints (verbatim examples)", () => {
  it("create-payment-intent -> confirm-payment -> retrieve-payment, read back through /v1", async () => {
    const { opts } = await newMerchant("s4-stripe");
    const created = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata: { course_id: "123", description: "Course enrollment" } }, opts);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(Object.keys(created.body).sort()).toEqual(["amount", "client_secret", "currency", "payment_intent_id", "status"]);
    expect(created.body.payment_intent_id).toMatch(/^pi_/);
    expect(created.body.client_secret).toMatch(new RegExp(`^${String(created.body.payment_intent_id)}_secret_`));
    expect(created.body.status).toBe("requires_payment_method");
    expect(created.body.amount).toBe(2999);
    expect(created.body.currency).toBe("usd");
    const id = String(created.body.payment_intent_id);

    // Verbatim: nothing to pay with yet (the shopper pays on the hosted page, or the backend names a method).
    const early = expectBackendError(await post(`${P}/stripe/confirm-payment/`, { payment_intent_id: id }, opts), 400);
    expect(String(early)).toContain(`/pay/${id}?client_secret=`);
    const confirmed = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: id, payment_method: "pm_card_visa" }, opts);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ confirmed: true, payment_intent_id: id });
    const declined = (await post<J>(`${P}/stripe/create-payment-intent`, { amount: "5.00", currency: "usd" }, opts)).body;
    expectBackendError(await post(`${P}/stripe/confirm-payment`, { payment_intent_id: declined.payment_intent_id, payment_method: "pm_card_chargeDeclined" }, opts), 400);

    // The document's flow: the shopper pays with the client secret (here through /v1 with it, as the
    // hosted page does), then the backend confirms with the id alone: confirmed, nothing charged twice.
    const paidByShopper = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 12.5, currency: "usd" }, opts)).body;
    const shopperId = String(paidByShopper.payment_intent_id);
    const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${shopperId}/confirm`, { payment_method: "pm_card_visa", client_secret: String(paidByShopper.client_secret) }, opts);
    expect(paid.body.status).toBe("succeeded");
    const verbatim = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: shopperId }, opts);
    expect(verbatim.status, JSON.stringify(verbatim.body)).toBe(200);
    expect(verbatim.body).toMatchObject({ confirmed: true, payment_intent_id: shopperId, status: "succeeded" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${shopperId}`, opts)).body.amount_received).toBe(1250);

    // A payment whose provider has not answered is not confirmed: it may still be declined (here it is).
    const unknown = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 31, currency: "usd" }, opts)).body;
    const pending = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: unknown.payment_intent_id, payment_method: "pm_card_sandboxTimeoutThenDecline" }, opts);
    expect(pending.status, JSON.stringify(pending.body)).toBe(200);
    expect(pending.body).toMatchObject({ confirmed: false, status: "processing" });
    expect((await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: unknown.payment_intent_id }, opts)).body).toMatchObject({ confirmed: false, status: "processing" });

    const retrieved = await post<J>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: id }, opts);
    expect(retrieved.status).toBe(200);
    expect(retrieved.body).toMatchObject({ payment_intent_id: id, status: "succeeded", amount: 2999, currency: "usd", metadata: { course_id: "123", description: "Course enrollment" } });
    expect(Number.isInteger(retrieved.body.created)).toBe(true);

    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts);
    expect(v1.body).toMatchObject({ amount: 2999, amount_received: 2999, currency: "usd", status: "succeeded" });

    // Without the trailing slash too; exact decimals: more digits than the currency has is a 400.
    expect((await post(`${P}/stripe/retrieve-payment`, { payment_intent_id: id }, opts)).status).toBe(200);
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.999, currency: "usd" }, opts), 400);
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 10, currency: "zzz" }, opts), 400);
    const jpy = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 1000, currency: "jpy" }, opts);
    expect(jpy.body.amount).toBe(1000);
    const exact = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 0.29, currency: "usd" }, opts);
    expect(exact.body.amount).toBe(29);
    expectBackendError(await post(`${P}/stripe/retrieve-payment/`, { payment_intent_id: "pi_1234567890" }, opts), 404);
  });

  it("create-customer -> create-subscription -> cancel-subscription", async () => {
    const { opts } = await newMerchant("s4-subs");
    const customer = await post<J>(`${P}/stripe/create-customer/`, { email: "user@example.com", name: "John Doe", metadata: { organization_id: "org_123" } }, opts);
    expect(customer.status, JSON.stringify(customer.body)).toBe(200);
    expect(customer.body).toEqual({ customer_id: expect.stringMatching(/^cus_/), email: "user@example.com", name: "John Doe" });
    const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, opts);
    expect(price.status).toBe(200);
    const verbatim = { customer_id: customer.body.customer_id, price_id: price.body.id, metadata: { plan: "pro", billing_cycle: "monthly" } };
    // With a card to charge (payment_method, saved to the customer): paid now, active, the seed's fields only.
    const sub = await post<J>(`${P}/stripe/create-subscription/`, { ...verbatim, payment_method: "pm_card_visa" }, opts);
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    expect(Object.keys(sub.body).sort()).toEqual(["current_period_end", "current_period_start", "latest_invoice", "status", "subscription_id"]);
    expect(sub.body).toMatchObject({ subscription_id: expect.stringMatching(/^sub_/), status: "active", latest_invoice: expect.stringMatching(/^in_/) });
    expect(Number(sub.body.current_period_end)).toBeGreaterThan(Number(sub.body.current_period_start));
    const canceled = await post<J>(`${P}/stripe/cancel-subscription/`, { subscription_id: sub.body.subscription_id }, opts);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toEqual({ subscription_id: sub.body.subscription_id, status: "canceled", canceled_at: expect.any(Number) });
    // The same subscription in Stripe's shape: its item's price is the price object, in the API and in its events.
    const priceObject = { id: price.body.id, object: "price", unit_amount: 1999, currency: "usd", recurring: expect.objectContaining({ interval: "month" }) };
    const v1 = await get<{ items: { data: { price: unknown }[] } }>(`/v1/subscriptions/${String(sub.body.subscription_id)}`, opts);
    expect(v1.body.items.data[0]?.price).toMatchObject(priceObject);
    const events = await get<ListJson<{ type: string; data: { object: { id: string; items?: { data: { price: unknown }[] } } } }>>("/v1/events?limit=100", opts);
    const subEvents = events.body.data.filter((e) => e.type.startsWith("customer.subscription.") && e.data.object.id === sub.body.subscription_id);
    expect(subEvents.map((e) => e.type)).toEqual(expect.arrayContaining(["customer.subscription.created", "customer.subscription.deleted"]));
    for (const e of subEvents) expect(e.data.object.items?.data[0]?.price, e.type).toMatchObject(priceObject);
    expectBackendError(await post(`${P}/stripe/cancel-subscription/`, { subscription_id: "sub_1234567890" }, opts), 404);
    expectBackendError(await post(`${P}/stripe/create-subscription/`, { customer_id: "cus_1234567890", price_id: price.body.id }, opts), 404);
    // A one-time price (no recurring) cannot be subscribed to.
    const once = await post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", product_data: { name: "Once" } }, opts);
    expect(once.status).toBe(200);
    expectBackendError(await post(`${P}/stripe/create-subscription/`, { customer_id: customer.body.customer_id, price_id: once.body.id, payment_method: "pm_card_visa" }, opts), 400);
  });

  it("documents the subscription answers as the seed shows them: flat, the latest invoice an id, no items", async () => {
    type Doc = { paths: Record<string, { post: { responses: { 200: { content: { "application/json": { schema: { $ref?: string; properties?: Record<string, unknown> } } } } } } }>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } };
    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as Doc;
    const fields = (path: string) => {
      const schema = doc.paths[path]?.post.responses[200].content["application/json"].schema;
      const props = schema?.$ref ? doc.components.schemas[schema.$ref.split("/").pop() ?? ""]?.properties : schema?.properties;
      return Object.keys(props ?? {}).sort();
    };
    // Beyond the seed's: the first invoice's payment intent, while the subscription is incomplete (optional).
    expect(fields(`${P}/stripe/create-subscription/`)).toEqual(["client_secret", "current_period_end", "current_period_start", "latest_invoice", "payment_intent_id", "status", "subscription_id"]);
    expect(fields(`${P}/stripe/cancel-subscription/`)).toEqual(["canceled_at", "status", "subscription_id"]);
  });
});

/** The hosted payment page of a payment intent (/pay/{pi}?client_secret=...), paid with a sandbox card. */
async function payOnHostedPage(pi: string, clientSecret: string, card = "4242 4242 4242 4242"): Promise<Response> {
  const page = await exports.default.fetch(new Request(`http://gateway.test/pay/${pi}?client_secret=${encodeURIComponent(clientSecret)}`));
  expect(page.status).toBe(200);
  await page.body?.cancel();
  const form = new URLSearchParams({ card_number: card, expiry: "12 / 34", cvc: "123", client_secret: clientSecret });
  return exports.default.fetch(new Request(`http://gateway.test/pay/${pi}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form, redirect: "manual" }));
}

interface SubscriptionV1 {
  status: string;
  default_payment_method: string | null;
}

const subscriptionStatus = async (opts: CallOptions, id: unknown) => (await get<SubscriptionV1>(`/v1/subscriptions/${String(id)}`, opts)).body.status;

describe("seed 004 create-subscription without a card to charge (Stripe's default_incomplete)", () => {
  it("the document's own requests: incomplete with the first invoice's client_secret; paid on the hosted page, the subscription becomes active", async () => {
    const { opts } = await newMerchant("s4-subs-incomplete");
    const customer = (await post<J>(`${P}/stripe/create-customer/`, { email: "user@example.com", name: "John Doe" }, opts)).body;
    const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, opts);
    const sub = await post<J>(`${P}/stripe/create-subscription/`, { customer_id: customer.customer_id, price_id: price.body.id, metadata: { plan: "pro", billing_cycle: "monthly" } }, opts);
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    expect(Object.keys(sub.body).sort()).toEqual(["client_secret", "current_period_end", "current_period_start", "latest_invoice", "payment_intent_id", "status", "subscription_id"]);
    expect(sub.body).toMatchObject({ subscription_id: expect.stringMatching(/^sub_/), status: "incomplete", latest_invoice: expect.stringMatching(/^in_/), payment_intent_id: expect.stringMatching(/^pi_/) });
    const pi = String(sub.body.payment_intent_id);
    const secret = String(sub.body.client_secret);
    expect(secret).toMatch(new RegExp(`^${pi}_secret_`));
    // The first invoice is open, its payment intent waiting for the customer (nothing was charged).
    const invoice = (await get<{ status: string; payment_intent: string }>(`/v1/invoices/${String(sub.body.latest_invoice)}`, opts)).body;
    expect(invoice).toMatchObject({ status: "open", payment_intent: pi });
    expect((await post<J>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: pi }, opts)).body).toMatchObject({ status: "requires_payment_method", amount: 1999, currency: "usd" });
    // The customer pays on the hosted page, as for create-payment-intent's client_secret.
    const paid = await payOnHostedPage(pi, secret);
    expect(paid.status, await paid.clone().text()).toBeLessThan(400);
    expect((await post<J>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: pi }, opts)).body.status).toBe("succeeded");
    // The document has no get-subscription: /v1 shows it active, its invoice paid.
    await waitFor(async () => (await subscriptionStatus(opts, sub.body.subscription_id)) === "active", 15_000, "the subscription to activate");
    expect((await get<{ status: string }>(`/v1/invoices/${String(sub.body.latest_invoice)}`, opts)).body.status).toBe("paid");
    expect((await post<J>(`${P}/stripe/cancel-subscription/`, { subscription_id: sub.body.subscription_id }, opts)).body).toMatchObject({ status: "canceled" });
  });

  it("payment_method pays the first invoice but is not made the customer's default: the next subscription is incomplete again, until the customer has a default", async () => {
    const { opts } = await newMerchant("s4-subs-second");
    const customer = String((await post<J>(`${P}/stripe/create-customer/`, { email: "second@example.com" }, opts)).body.customer_id);
    const price = (await post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Basic" } }, opts)).body.id;
    const first = await post<J>(`${P}/stripe/create-subscription/`, { customer_id: customer, price_id: price, payment_method: "pm_card_visa" }, opts);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.status).toBe("active");
    expect(first.body).not.toHaveProperty("client_secret");
    // As at Stripe: the card is the subscription's default, saved to the customer, not the customer's default.
    const saved = (await get<SubscriptionV1>(`/v1/subscriptions/${String(first.body.subscription_id)}`, opts)).body.default_payment_method;
    expect(saved).toMatch(/^pm_/);
    expect((await get<{ invoice_settings: { default_payment_method: string | null } }>(`/v1/customers/${customer}`, opts)).body.invoice_settings.default_payment_method).toBeNull();

    const second = await post<J>(`${P}/stripe/create-subscription/`, { customer_id: customer, price_id: price }, opts);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({ status: "incomplete", client_secret: expect.stringMatching(new RegExp(`^${String(second.body.payment_intent_id)}_secret_`)) });
    // The backend may pay it too, with the document's confirm-payment and a card.
    expect((await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: second.body.payment_intent_id, payment_method: "pm_card_visa" }, opts)).body).toMatchObject({ confirmed: true, status: "succeeded" });
    await waitFor(async () => (await subscriptionStatus(opts, second.body.subscription_id)) === "active", 15_000, "the second subscription to activate");

    // The customer's default card (invoice_settings) is charged at once: active, the seed's fields only.
    expect((await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: saved } }, opts)).status).toBe(200);
    const third = await post<J>(`${P}/stripe/create-subscription/`, { customer_id: customer, price_id: price }, opts);
    expect(third.status, JSON.stringify(third.body)).toBe(200);
    expect(Object.keys(third.body).sort()).toEqual(["current_period_end", "current_period_start", "latest_invoice", "status", "subscription_id"]);
    expect(third.body.status).toBe("active");

    // A card that is declined leaves the subscription incomplete, with the invoice's client_secret to pay it another way.
    const declined = await post<J>(`${P}/stripe/create-subscription/`, { customer_id: customer, price_id: price, payment_method: "pm_card_chargeDeclined" }, opts);
    expect(declined.status, JSON.stringify(declined.body)).toBe(200);
    expect(declined.body).toMatchObject({ status: "incomplete", client_secret: expect.stringMatching(/^pi_\w+_secret_/) });
    expect((await payOnHostedPage(String(declined.body.payment_intent_id), String(declined.body.client_secret))).status).toBeLessThan(400);
    await waitFor(async () => (await subscriptionStatus(opts, declined.body.subscription_id)) === "active", 15_000, "the declined subscription to activate");
  });
});

async function approve(approvalUrl: string, decision: "approve" | "cancel" = "approve"): Promise<Response> {
  const url = new URL(approvalUrl);
  const page = await exports.default.fetch(new Request(`http://gateway.test${url.pathname}${url.search}`));
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain("Approve payment");
  return exports.default.fetch(
    new Request("http://gateway.test/sandbox/paypal/checkoutnow", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${url.searchParams.get("token") ?? ""}&decision=${decision}`,
    }),
  );
}

describe("seed 004 PayPal endpoints on the sandbox acting as PayPal", () => {
  it("create-order sent again with its Idempotency-Key replays its first answer (Idempotent-Replayed), before and after the capture, and makes no second order", async () => {
    const { opts } = await newMerchant("s4-paypal-idem");
    const send = () => post<J>(`${P}/paypal/create-order/`, { amount: 12, currency: "USD" }, { ...opts, idempotencyKey: "s4-paypal-order-1" });
    const order = await send();
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    const again = await send();
    expect(again.body).toEqual(order.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await approve(String(order.body.approval_url))).status).toBe(303);
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: order.body.order_id }, opts)).body).toMatchObject({ captured: true });
    const after = await send();
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect(after.body).toEqual(order.body);
    expect(after.headers.get("idempotent-replayed")).toBe("true");
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: order.body.order_id }, opts)).body.status).toBe("COMPLETED");
    // A refund sent again with its key: replayed, one refund.
    const refundOnce = () => post<J>(`${P}/paypal/refund-payment/`, { capture_id: `ch_${String(order.body.order_id).slice(3)}`, amount: 2 }, { ...opts, idempotencyKey: "s4-paypal-refund-1" });
    const refunded = await refundOnce();
    expect(refunded.status, JSON.stringify(refunded.body)).toBe(200);
    const refundedAgain = await refundOnce();
    expect(refundedAgain.body).toEqual(refunded.body);
    expect(refundedAgain.headers.get("idempotent-replayed")).toBe("true");
    // One order, one capture.
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${String(order.body.order_id)}/transactions`, opts)).body.data;
    expect(rows.filter((t) => t.status === "succeeded" && t.type !== "refund").length).toBe(1);
    expect(rows.filter((t) => t.type === "refund").length).toBe(1);
  });

  it("PayPal-Request-Id is honoured as PayPal honours it, and the links of create-order are followed as they are", async () => {
    const { opts, key } = await newMerchant("s4-paypal-links");
    const send = () => post<J>(`${P}/paypal/create-order/`, { amount: 7.5, currency: "USD" }, { ...opts, headers: { "PayPal-Request-Id": "s4-paypal-request-1" } });
    const order = await send();
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    const again = await send();
    expect(again.body.order_id).toBe(order.body.order_id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expectBackendError(await post(`${P}/paypal/create-order/`, { amount: 7.5, currency: "USD" }, { ...opts, idempotencyKey: "one", headers: { "PayPal-Request-Id": "another" } }), 400);
    // The self link: a GET of the order; the capture link: a POST of it, as given, without a body.
    const links = order.body.links as { href: string; rel: string; method: string }[];
    const follow = (rel: string) => {
      const link = links.find((l) => l.rel === rel);
      const url = new URL(link?.href ?? "");
      return exports.default.fetch(new Request(`http://gateway.test${url.pathname}${url.search}`, { method: link?.method ?? "GET", headers: { authorization: `Bearer ${key}` } }));
    };
    const self = await follow("self");
    expect(self.status).toBe(200);
    expect(await self.json()).toMatchObject({ order_id: order.body.order_id, status: "CREATED" });
    expect((await approve(String(order.body.approval_url))).status).toBe(303);
    const captured = await follow("capture");
    expect(captured.status).toBe(200);
    expect(await captured.json()).toMatchObject({ order_id: order.body.order_id, captured: true });
    expect(((await (await follow("self")).json()) as J).status).toBe("COMPLETED");
  });

  it("create-order -> approve -> capture-order -> get-order -> partial refund, read back through /v1", async () => {
    const { opts } = await newMerchant("s4-paypal");
    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 29.99, currency: "USD", description: "Course enrollment", custom_id: "payment_123" }, opts);
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    expect(order.body).toMatchObject({ order_id: expect.stringMatching(/^pi_/), status: "CREATED", approval_url: expect.stringMatching(/\/sandbox\/paypal\/checkoutnow\?token=[0-9A-Z]{17}$/) });
    const links = order.body.links as { href: string; rel: string; method: string }[];
    expect(links.find((l) => l.rel === "approve")?.href).toBe(order.body.approval_url);
    expect(links.find((l) => l.rel === "self")).toBeDefined();
    const orderId = String(order.body.order_id);

    // Before approval: a clear error (a 400, among the seed's statuses, naming PayPal's issue), and the order is still there to approve.
    const early = expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: orderId }, opts), 400);
    expect(early).toMatch(/not approved/i);
    expect(early).toContain("ORDER_NOT_APPROVED");
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body.status).toBe("CREATED");

    const decided = await approve(String(order.body.approval_url));
    expect(decided.status).toBe(303);
    expect(decided.headers.get("location")).toMatch(new RegExp(`^/connectors/return/${orderId}\\?client_secret=`));
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body.status).toBe("APPROVED");

    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ order_id: orderId, captured: true });
    // Capturing again answers the same (nothing moves twice).
    expect((await post<J>(`${P}/paypal/capture-order`, { order_id: orderId }, opts)).body).toMatchObject({ order_id: orderId, captured: true });

    const got = await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ order_id: orderId, status: "COMPLETED", intent: "CAPTURE" });
    const unit = (got.body.purchase_units as J[])[0] as { amount: J; payments: { captures: { id: string }[] }; custom_id: string; description: string };
    expect(unit.amount).toEqual({ currency_code: "USD", value: "29.99" });
    expect(unit.custom_id).toBe("payment_123");
    expect(unit.description).toBe("Course enrollment");
    expect(got.body.create_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(got.body.update_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const captureId = unit.payments.captures[0]?.id ?? "";
    expect(captureId).toBe(captured.body.capture_id);

    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captureId, amount: 10.0, currency: "USD", note_to_payer: "Refund for course cancellation" }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ refund_id: expect.stringMatching(/^re_/), status: "COMPLETED", amount: { currency_code: "USD", value: "10.00" } });
    expect(refund.body.create_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // Told in the surface's decimals, not in minor units.
    expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: captureId, amount: 29.99, currency: "USD" }, opts), 400)).toBe(
      "The amount to refund (29.99 USD) is greater than the amount left to refund (19.99 USD).",
    );
    expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: captureId, amount: 1, currency: "EUR" }, opts), 400);
    // The seed's example ids are not ours.
    expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: "8MC585209K746392H", amount: 29.99, currency: "USD", note_to_payer: "Refund for course cancellation" }, opts), 404);
    expectBackendError(await post(`${P}/paypal/get-order/`, { order_id: "5O190127TN364715T" }, opts), 404);
    expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: "5O190127TN364715T" }, opts), 404);

    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${orderId}`, opts);
    expect(v1.body).toMatchObject({ amount: 2999, amount_received: 2999, currency: "usd", status: "succeeded" });
    expect((v1.body as unknown as { amount_refunded: number }).amount_refunded).toBe(1000);
    const unit2 = ((await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body.purchase_units as { payments: { captures: { status: string }[] } }[])[0];
    expect(unit2?.payments.captures[0]?.status).toBe("PARTIALLY_REFUNDED");
  });

  it("amounts follow PayPal's currency rules: HUF and TWD in whole units written without decimals, fractions of them and currencies PayPal does not take refused", async () => {
    const { opts } = await newMerchant("s4-paypal-huf");
    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 1000, currency: "HUF" }, opts);
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    expect(await approve(String(order.body.approval_url))).toMatchObject({ status: 303 });
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: order.body.order_id }, opts)).body).toMatchObject({ captured: true });
    const got = (await post<J>(`${P}/paypal/get-order/`, { order_id: order.body.order_id }, opts)).body;
    const unit = (got.purchase_units as { amount: J; payments: { captures: { id: string; amount: J }[] } }[])[0];
    expect(unit?.amount).toEqual({ currency_code: "HUF", value: "1000" });
    expect(unit?.payments.captures[0]?.amount).toEqual({ currency_code: "HUF", value: "1000" });
    // 1000 HUF is 100000 in ISO's (and Stripe's) minor units: the core keeps those.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${String(order.body.order_id)}`, opts)).body).toMatchObject({ amount: 100000, currency: "huf" });
    const captureId = unit?.payments.captures[0]?.id ?? "";
    expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: captureId, amount: "100.50", currency: "HUF" }, opts), 400)).toMatch(/whole units/);
    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captureId, amount: "100.00", currency: "HUF" }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body.amount).toEqual({ currency_code: "HUF", value: "100" });
    expect(expectBackendError(await post(`${P}/paypal/create-order/`, { amount: "999.50", currency: "TWD" }, opts), 400)).toMatch(/whole units/);
    expect(expectBackendError(await post(`${P}/paypal/create-order/`, { amount: "1.500", currency: "KWD" }, opts), 400)).toMatch(/does not take payments in KWD/);
    const twd = await post<J>(`${P}/paypal/create-order/`, { amount: 300, currency: "TWD" }, opts);
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: twd.body.order_id }, opts)).body.purchase_units).toMatchObject([{ amount: { currency_code: "TWD", value: "300" } }]);
  });

  it("the payer coming back through the return page completes the order; a canceled approval cannot be captured", async () => {
    const { opts } = await newMerchant("s4-paypal-return");
    const order = (await post<J>(`${P}/paypal/create-order`, { amount: "5.00", currency: "USD" }, opts)).body;
    const decided = await approve(String(order.approval_url));
    const back = await exports.default.fetch(new Request(`http://gateway.test${decided.headers.get("location") ?? ""}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(new URL(`http://x${decided.headers.get("location") ?? ""}`).searchParams.get("client_secret") ?? "")}` }));
    expect(back.status).toBe(200);
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: order.order_id }, opts)).body.status).toBe("COMPLETED");
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: order.order_id }, opts)).body).toMatchObject({ captured: true });

    // return_url must be an absolute http(s) URL.
    for (const bad of ["javascript:alert(document.domain)//", "data:text/html,x", "/relative"]) {
      expectBackendError(await post(`${P}/paypal/create-order`, { amount: "1.00", currency: "USD", return_url: bad }, opts), 400);
    }
    // With a return_url, the payer comes back there with the order as `token` (PayPal's usual flow), which capture-order takes.
    const withReturn = (await post<J>(`${P}/paypal/create-order`, { amount: "3.00", currency: "USD", return_url: "https://shop.example/paypal/return" }, opts)).body;
    const approved = await approve(String(withReturn.approval_url));
    const gatewayReturn = approved.headers.get("location") ?? "";
    const landed = await exports.default.fetch(new Request(`http://gateway.test${gatewayReturn}`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(new URL(`http://x${gatewayReturn}`).searchParams.get("client_secret") ?? "")}` }));
    expect(landed.status).toBe(303);
    const merchantReturn = new URL(landed.headers.get("location") ?? "");
    expect(merchantReturn.origin + merchantReturn.pathname).toBe("https://shop.example/paypal/return");
    expect(merchantReturn.searchParams.get("token")).toBe(withReturn.order_id);
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: merchantReturn.searchParams.get("token") }, opts)).body).toMatchObject({ captured: true });

    const other = (await post<J>(`${P}/paypal/create-order`, { amount: "7.00", currency: "USD" }, opts)).body;
    // The sandbox's 3D Secure page does not answer for an order waiting on PayPal's approval (it re-authorized, making a second order).
    const waiting = (await get<PaymentIntentJson>(`/v1/payment_intents/${String(other.order_id)}`, opts)).body;
    const before = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${waiting.id}/transactions`, opts)).body.data.length;
    await exports.default.fetch(new Request(`http://gateway.test/sandbox/3ds/${waiting.id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(waiting.client_secret)}&outcome=approve`, redirect: "manual" }));
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${waiting.id}/transactions`, opts)).body.data).toHaveLength(before);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${waiting.id}`, opts)).body.status).toBe("requires_action");
    expect((await approve(String(other.approval_url), "cancel")).status).toBe(303);
    expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: other.order_id }, opts), 400);
  });

  it("get-order's update_time moves when the payer approves or cancels (the order changed at PayPal), though the payer has not come back yet; a read changes nothing", async () => {
    const { opts } = await newMerchant("s4-paypal-update-time");
    const create = async () => (await post<J>(`${P}/paypal/create-order/`, { amount: 29.99, currency: "USD", description: "Course enrollment" }, opts)).body;
    const approved = await create();
    const canceled = await create();
    const read = async (orderId: unknown) => (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body;
    const created = await read(approved.order_id);
    expect(created).toMatchObject({ status: "CREATED" });
    // Made and confirmed in one call: the same moment, or the next second when the call crossed one (PayPal's times are whole seconds).
    expect(Date.parse(String(created.update_time)) - Date.parse(String(created.create_time))).toBeGreaterThanOrEqual(0);
    expect(Date.parse(String(created.update_time)) - Date.parse(String(created.create_time))).toBeLessThanOrEqual(1000);
    expect((await approve(String(approved.approval_url))).status).toBe(303);
    expect((await approve(String(canceled.approval_url), "cancel")).status).toBe(303);
    // The payer decided a minute later (no waiting on the machine's clock: the decision's time is set).
    for (const order of [approved, canceled]) {
      const moved = await env.DB.prepare("UPDATE sandbox_ledger SET created = created + 60000 WHERE intent_id = ? AND kind = 'paypal_approval'").bind(String(order.order_id)).run();
      expect(moved.meta.changes).toBe(1);
    }
    for (const [order, status] of [[approved, "APPROVED"], [canceled, "VOIDED"]] as const) {
      const got = await read(order.order_id);
      expect(got.status).toBe(status);
      expect(Date.parse(String(got.update_time))).toBeGreaterThan(Date.parse(String(got.create_time)));
      expect(await read(order.order_id)).toEqual(got);
    }
  });
});

describe("seed 004 PayPal endpoints through the merchant's PayPal account", () => {
  it("create-order gives PayPal's approval link; after the payer approved there, capture-order captures at PayPal", async () => {
    const { opts } = await newMerchant("s4-paypal-real");
    await addConnector(opts, { connector: "paypal", credentials: { client_id: `client-s4-${Date.now()}`, client_secret: "paypal-secret-9876" } });
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: 12.34, currency: "USD", description: "Course enrollment" }, opts)).body;
    const approval = String(order.approval_url);
    expect(approval).not.toContain("/sandbox/paypal/");
    expect(expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: order.order_id }, opts), 400)).toContain("ORDER_NOT_APPROVED");
    // The payer approves at (the fake) PayPal, which sends them back to the gateway; they never arrive.
    const atPayPal = await fetch(approval, { redirect: "manual" });
    expect(atPayPal.status).toBe(302);
    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: order.order_id }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ captured: true });
    const got = (await post<J>(`${P}/paypal/get-order/`, { order_id: order.order_id }, opts)).body;
    expect(got.status).toBe("COMPLETED");
    const refund = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: captured.body.capture_id, amount: "2.34", currency: "USD" }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body).toMatchObject({ status: "COMPLETED", amount: { currency_code: "USD", value: "2.34" } });
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${String(order.order_id)}/transactions`, opts)).body.data;
    expect(rows.every((t) => t.connector === "paypal" && t.connector_account !== null)).toBe(true);
  });
});

describe("seed 004 errors and permissions", () => {
  it("401 without a token, 403 without the permission, 404 for unknown paths: always {error}", async () => {
    const { id, opts } = await newMerchant("s4-errors");
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd" }, { key: null }), 401);
    expectBackendError(await post(`${P}/stripe/nope/`, {}, opts), 404);
    expectBackendError(await post(`${P}/paypal/`, {}, opts), 404);
    // A method an endpoint does not take: 405, naming the one it does.
    expectBackendError(await call("GET", `${P}/stripe/create-payment-intent/`, opts), 405);
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, "{bad", opts), 400);
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { currency: "usd" }, opts), 400);
    // Exponent notation is a JSON number like any other: 1e2 is 100.00, exactly; a huge amount is told the bound.
    const exp = await post<J>(`${P}/stripe/create-payment-intent/`, '{"amount": 1e2, "currency": "usd"}', opts);
    expect(exp.status, JSON.stringify(exp.body)).toBe(200);
    expect(exp.body.amount).toBe(10000);
    // ...and so is the same text in a string, as the seed's decimal strings are read.
    for (const [amount, minor] of [["1e2", 10000], ["1.5E3", 150000], ["2.5e-1", 25]] as const) {
      const res = await post<J>(`${P}/stripe/create-payment-intent/`, { amount, currency: "usd" }, opts);
      expect(res.body.amount, amount).toBe(minor);
    }
    expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 99999999999999, currency: "usd" }, opts), 400)).toBe("Amount must be no more than 999999.99 USD.");
    // A number where the surface takes an id or a name is a 400 naming the field, not a lookup of "123".
    for (const [path, body, field] of [
      ["stripe/retrieve-payment", { payment_intent_id: 123 }, "payment_intent_id"],
      ["paypal/get-order", { order_id: 5 }, "order_id"],
      ["stripe/create-customer", { email: "n@example.com", name: 5 }, "name"],
    ] as const) {
      expect(expectBackendError(await post(`${P}/${path}/`, body, opts), 400)).toMatch(new RegExp(`^Invalid ${field}:`));
    }
    // Metadata values may be numbers, kept as text (as Stripe keeps metadata).
    const meta = await post<J>(`${P}/stripe/create-payment-intent/`, '{"amount": 5, "currency": "usd", "metadata": {"course_id": 123}}', opts);
    expect(meta.status, JSON.stringify(meta.body)).toBe(200);
    const read = await post<J>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: meta.body.payment_intent_id }, opts);
    expect(read.body.metadata).toEqual({ course_id: "123" });
    const raw = async (body: string, type: string) => {
      const res = await exports.default.fetch(new Request(`http://gateway.test${P}/stripe/create-payment-intent/`, { method: "POST", headers: { authorization: `Bearer ${String(opts.key)}`, "content-type": type }, body }));
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expectBackendError(await raw("amount=1", "application/x-www-form-urlencoded"), 415);
    expectBackendError(await raw(JSON.stringify({ pad: "x".repeat(70_000) }), "application/json"), 413);
    const routes: [string, string][] = [
      ["/stripe/create-payment-intent/", "payments.transactions.create"],
      ["/stripe/confirm-payment/", "payments.transactions.create"],
      ["/stripe/retrieve-payment/", "payments.transactions.view"],
      ["/stripe/create-customer/", "payments.methods.manage"],
      ["/stripe/create-subscription/", "billing.manage"],
      ["/stripe/cancel-subscription/", "billing.manage"],
      ["/paypal/create-order/", "payments.transactions.create"],
      ["/paypal/capture-order/", "payments.transactions.create"],
      ["/paypal/get-order/", "payments.transactions.view"],
      ["/paypal/refund-payment/", "payments.transactions.void"],
    ];
    for (const [path, permission] of routes) {
      const without = await hsToken({ merchant: id, permissions: ["billing.view"] });
      expectBackendError(await post(`${P}${path}`, {}, { key: without }), 403);
      const withIt = await hsToken({ merchant: id, permissions: [permission] });
      // Past the permission check: the empty body is refused (create-customer needs no field).
      expect((await post(`${P}${path}`, {}, { key: withIt })).status, path).toBe(path === "/stripe/create-customer/" ? 200 : 400);
    }
    // A shopper's token: creates and reads its own, never refunds.
    const shopper: CallOptions = { key: await hsToken({ merchant: id, roles: ["customer"], customer: "cus_shopper0001" }) };
    const own = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 1, currency: "usd" }, shopper);
    expect(own.status).toBe(200);
    const merchants = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 1, currency: "usd" }, opts)).body;
    expectBackendError(await post(`${P}/stripe/retrieve-payment/`, { payment_intent_id: merchants.payment_intent_id }, shopper), 404);
    expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: "ch_x" }, shopper), 403);
  });

  it("an Idempotency-Key replays the create and is bound merchant-wide", async () => {
    const { opts } = await newMerchant("s4-idem");
    const body = { amount: 12.5, currency: "usd" };
    const a = await post<J>(`${P}/stripe/create-payment-intent/`, body, { ...opts, idempotencyKey: "s4-key" });
    const b = await post<J>(`${P}/stripe/create-payment-intent/`, body, { ...opts, idempotencyKey: "s4-key" });
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 13, currency: "usd" }, { ...opts, idempotencyKey: "s4-key" }), 409);
  });

  it("create-customer, create-subscription and cancel-subscription sent again with their Idempotency-Key replay the first answer: one customer, one subscription, one charge", async () => {
    const { opts } = await newMerchant("s4-idem-subs");
    const customerBody = { email: "once@example.com", name: "Once" };
    const c1 = await post<J>(`${P}/stripe/create-customer/`, customerBody, { ...opts, idempotencyKey: "s4-cus" });
    const c2 = await post<J>(`${P}/stripe/create-customer/`, customerBody, { ...opts, idempotencyKey: "s4-cus" });
    expect(c1.status).toBe(200);
    expect(c2.body).toEqual(c1.body);
    expect(c2.headers.get("idempotent-replayed")).toBe("true");
    const customer = String(c1.body.customer_id);
    const price = await post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, opts);
    const subBody = { customer_id: customer, price_id: price.body.id, payment_method: "pm_card_visa" };
    const [s1, s2] = await Promise.all([1, 2].map(() => post<J>(`${P}/stripe/create-subscription/`, subBody, { ...opts, idempotencyKey: "s4-sub" })));
    const first = [s1, s2].find((r) => r?.status === 200);
    expect(first?.body.status).toBe("active");
    const again = await post<J>(`${P}/stripe/create-subscription/`, subBody, { ...opts, idempotencyKey: "s4-sub" });
    expect(again.body).toEqual(first?.body);
    expect((await get<ListJson<unknown>>(`/v1/subscriptions?customer=${customer}`, opts)).body.data).toHaveLength(1);
    expect((await get<ListJson<unknown>>(`/v1/invoices?customer=${customer}`, opts)).body.data).toHaveLength(1);
    // The key is bound to its first request: another body with it is refused, nothing created.
    expectBackendError(await post(`${P}/stripe/create-subscription/`, { ...subBody, metadata: { x: "y" } }, { ...opts, idempotencyKey: "s4-sub" }), 409);
    const cancel = { subscription_id: String(first?.body.subscription_id) };
    const k1 = await post<J>(`${P}/stripe/cancel-subscription/`, cancel, { ...opts, idempotencyKey: "s4-cancel" });
    const k2 = await post<J>(`${P}/stripe/cancel-subscription/`, cancel, { ...opts, idempotencyKey: "s4-cancel" });
    expect(k2.body).toEqual(k1.body);
    expect(k2.headers.get("idempotent-replayed")).toBe("true");
    expect((await get<ListJson<unknown>>(`/v1/customers?email=once@example.com`, opts)).body.data).toHaveLength(1);
  });
});

describe("seed 004 webhooks", () => {
  it("a Stripe event is verified with the secret of the merchant's Stripe account, applied once, and a bad signature changes nothing", async () => {
    const { opts } = await newMerchant("s4-webhook");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_webhooks" }, webhook_secret: "whsec_s4_secret" });
    const created = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 30, currency: "usd" }, opts)).body;
    const pi = String(created.payment_intent_id);
    expect((await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: pi, payment_method: "pm_card_visa" }, opts)).body.confirmed).toBe(true);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi, amount: 1000 }, opts)).body;
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi}/transactions`, opts)).body.data;
    expect(rows[0]?.connector).toBe("stripe");
    const refundAttempt = rows.find((t) => t.type === "refund");
    const payload = JSON.stringify({
      id: "evt_s4_refund_failed_1",
      object: "event",
      type: "refund.updated",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: refundAttempt?.provider_reference, object: "refund", status: "failed", failure_reason: "expired_or_canceled_card", metadata: { gateway_intent: pi, gateway_attempt: refundAttempt?.id } } },
    });
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_s4_secret", cryptoProvider });
    const forged = header.replace(/v1=(\w)/, (_m, ch: string) => `v1=${ch === "0" ? "1" : "0"}`);
    expectBackendError(await call("POST", `${P}/webhooks/stripe/`, { key: null, body: payload, headers: { "stripe-signature": forged } }), 400);
    expectBackendError(await call("POST", `${P}/webhooks/stripe/`, { key: null, body: payload }), 400);
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, opts)).body.status).toBe("succeeded");
    const good = await call<J>("POST", `${P}/webhooks/stripe/`, { key: null, body: payload, headers: { "stripe-signature": header } });
    expect(good.status, JSON.stringify(good.body)).toBe(200);
    expect(good.body).toMatchObject({ received: true, applied: 1 });
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, opts)).body).toMatchObject({ status: "failed" });
    const again = await call<J>("POST", `${P}/webhooks/stripe`, { key: null, body: payload, headers: { "stripe-signature": header } });
    expect(again.body).toMatchObject({ applied: 0, duplicates: 1 });
    expectBackendError(await call("POST", `${P}/webhooks/paypal/`, { key: null, body: JSON.stringify({ id: "WH-1", event_type: "PAYMENT.CAPTURE.COMPLETED", resource: {} }) }), 400);
    // This merchant has a Stripe account but no PayPal one: its PayPal orders go to the sandbox acting as PayPal.
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: 1, currency: "USD" }, opts)).body;
    expect(order.approval_url).toMatch(/\/sandbox\/paypal\/checkoutnow\?token=/);
  });
});

describe("seed 004's webhooks, before any signature", () => {
  it("answer malformed events with a 400 in the surface's format, never a 500", async () => {
    const bodies = ["[]", "null", "1", '"x"', '{"id":null,"type":null,"data":null}', '{"data":{"object":null}}', '{"data":{"object":"pi_x"}}', '{"data":[]}', '{"id":7,"type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","id":5,"metadata":{"gateway_intent":12}}}}', '{"data":{"object":{"object":"payment_intent","metadata":"x"}}}', '{"data":{"object":{"object":"refund","metadata":null}}}', '{"resource":null}', '{"event_type":"PAYMENT.CAPTURE.COMPLETED","resource":"x"}', '{"resource":{"supplementary_data":null,"custom_id":3}}'];
    for (const provider of ["stripe", "paypal"]) {
      for (const body of bodies) {
        const res = await call<{ error?: unknown }>("POST", `${P}/webhooks/${provider}/`, { key: null, body, headers: { "stripe-signature": "t=1,v1=00" } });
        expect(res.status, `${provider} ${body}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(typeof res.body.error, body).toBe("string");
      }
    }
  });
});

describe("seed 004 in the OpenAPI document", () => {
  it("registers every route, with and without the trailing slash", async () => {
    const doc = await get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    for (const path of ["stripe/create-payment-intent", "stripe/confirm-payment", "stripe/create-customer", "stripe/create-subscription", "stripe/cancel-subscription", "stripe/retrieve-payment", "paypal/create-order", "paypal/capture-order", "paypal/get-order", "paypal/refund-payment", "webhooks/stripe", "webhooks/paypal"]) {
      expect(doc.body.paths[`/api/v1/payments/${path}/`]?.post, path).toBeDefined();
      expect(doc.body.paths[`/api/v1/payments/${path}`]?.post, path).toBeDefined();
    }
  });
});

describe("seed 004 fields the endpoints do not take", () => {
  it("are refused by name (400, nothing made), where ignoring them would move money otherwise than asked; a link's query string may carry more", async () => {
    const { opts, key } = await newMerchant("s4-unknown-fields");
    const before = (await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100", opts)).body.data.length;
    // Ignored, capture_method "manual" would have charged at once what was meant to be authorized only.
    const manual = expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", capture_method: "manual", confirm: true }, opts), 400);
    expect(manual).toContain('Unknown fields "capture_method", "confirm"');
    expect(manual).toContain("takes amount, currency, metadata");
    // PayPal's intent AUTHORIZE would have made a CAPTURE order.
    expect(expectBackendError(await post(`${P}/paypal/create-order/`, { amount: 10, currency: "USD", intent: "AUTHORIZE" }, opts), 400)).toContain('Unknown field "intent"');
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100", opts)).body.data.length).toBe(before);
    const created = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 5, currency: "usd" }, opts);
    expect(expectBackendError(await post(`${P}/stripe/retrieve-payment/`, { payment_intent_id: created.body.payment_intent_id, expand: ["customer"] }, opts), 400)).toContain('Unknown field "expand"');
    expect(expectBackendError(await post(`${P}/stripe/create-customer/`, { email: "a@example.com", phone: "+15555550100" }, opts), 400)).toContain('Unknown field "phone"');
    // The document's own bodies, every field of them, are taken.
    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 29.99, currency: "USD", description: "Course enrollment", custom_id: "payment_123" }, opts);
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    // A GET of the self link with more in its query (a cache buster) reads only its own field.
    const res = await exports.default.fetch(new Request(`http://gateway.test${P}/paypal/get-order/?order_id=${String(order.body.order_id)}&_=123`, { headers: { authorization: `Bearer ${key}` } }));
    expect(res.status).toBe(200);
  });
});

describe("seed 004 create-payment-intent's customer", () => {
  it("is checked as /v1 checks it: another merchant's or an unknown customer is a 404 in the surface's format, and nothing is stored", async () => {
    const a = await newMerchant("s4-cus-a");
    const b = await newMerchant("s4-cus-b");
    const foreign = (await post<J>(`${P}/stripe/create-customer/`, { email: "b@example.com" }, b.opts)).body.customer_id;
    const own = (await post<J>(`${P}/stripe/create-customer/`, { email: "a@example.com" }, a.opts)).body.customer_id;
    for (const customer of [foreign, "cus_nope"]) {
      const error = expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: "9.00", currency: "usd", customer }, a.opts), 404);
      expect(error).toContain(`No such customer: '${String(customer)}'`);
    }
    const list = (await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=10", a.opts)).body.data;
    expect(list).toHaveLength(0);
    const created = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: "9.00", currency: "usd", customer: own }, a.opts);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${String(created.body.payment_intent_id)}`, a.opts)).body.customer).toBe(own);
  });
});

describe("seed 004 PayPal orders the payer canceled", () => {
  const canceledOrder = async (opts: CallOptions, via: "capture" | "return") => {
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: "9.00", currency: "USD", return_url: "https://example.com/ret" }, opts)).body;
    const id = String(order.order_id);
    expect((await approve(String(order.approval_url), "cancel")).status).toBe(303);
    if (via === "capture") {
      expect(expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: id }, opts), 400)).toContain("The payer canceled at PayPal.");
    } else {
      const secret = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.client_secret;
      const back = await exports.default.fetch(new Request(`http://gateway.test/connectors/return/${id}?canceled=true`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(secret)}` }));
      expect(back.status).toBe(303);
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.status).toBe("requires_payment_method");
    return id;
  };

  it("keep answering get-order (VOIDED, as an order canceled through /v1), and capture-order with a 400, not a 404", async () => {
    const { opts } = await newMerchant("s4-paypal-canceled");
    for (const via of ["capture", "return"] as const) {
      const id = await canceledOrder(opts, via);
      const got = await post<J>(`${P}/paypal/get-order/`, { order_id: id }, opts);
      expect(got.status, JSON.stringify(got.body)).toBe(200);
      expect(got.body).toMatchObject({ order_id: id, status: "VOIDED", purchase_units: [{ amount: { currency_code: "USD", value: "9.00" } }] });
      expect((got.body.purchase_units as J[])[0]?.payments).toBeUndefined();
      const capture = expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: id }, opts), 400);
      expect(capture).toBe("This order cannot be captured: The payer canceled at PayPal.");
      // Nothing was captured: there is no capture to refund.
      expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: `ch_${id.slice(3)}` }, opts), 404)).toBe(`Capture not found: ch_${id.slice(3)}`);
    }
    // An order canceled through /v1 answers the same.
    const voided = (await post<J>(`${P}/paypal/create-order/`, { amount: "2.00", currency: "USD" }, opts)).body;
    expect((await post(`/v1/payment_intents/${String(voided.order_id)}/cancel`, {}, opts)).status).toBe(200);
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: voided.order_id }, opts)).body.status).toBe("VOIDED");
    // Its status told as get-order tells it (PayPal's), not the payment's (Stripe's canceled).
    expect(expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: voided.order_id }, opts), 400)).toBe("This order cannot be captured: its status is VOIDED.");
    // A payment that never was a PayPal order is still not one.
    const card = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: "4.00", currency: "usd" }, opts)).body;
    expect(expectBackendError(await post(`${P}/paypal/get-order/`, { order_id: card.payment_intent_id }, opts), 404)).toBe(`PayPal order not found: ${String(card.payment_intent_id)}`);
    expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: card.payment_intent_id }, opts), 404);
  });

  it("a canceled order the shopper then paid by card stays a voided PayPal order: no capture to capture or refund here", async () => {
    const { opts } = await newMerchant("s4-paypal-then-card");
    const id = await canceledOrder(opts, "capture");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${id}/confirm`, { payment_method: "pm_card_visa" }, opts)).body.status).toBe("succeeded");
    const got = await post<J>(`${P}/paypal/get-order/`, { order_id: id }, opts);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.body.status).toBe("VOIDED");
    expect((got.body.purchase_units as J[])[0]?.payments).toBeUndefined();
    expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: id }, opts), 400);
    expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: `ch_${id.slice(3)}` }, opts), 404);
  });

  it("get-order shows an approval the payer canceled as VOIDED at once, before the return page, and changes nothing (a read)", async () => {
    const { opts } = await newMerchant("s4-paypal-canceled-get");
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: "6.00", currency: "USD" }, opts)).body;
    const id = String(order.order_id);
    expect((await approve(String(order.approval_url), "cancel")).status).toBe(303);
    const before = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data.length;
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: id }, opts)).body.status).toBe("VOIDED");
    const self = await call<J>("GET", `${P}/paypal/get-order/?order_id=${id}`, opts);
    expect(self.body.status).toBe("VOIDED");
    // A GET without the query names the missing field (a GET has no body to ask for).
    expect(expectBackendError(await call("GET", `${P}/paypal/get-order/`, opts), 400)).toMatch(/order_id/);
    // Only read: the payment still waits where it was, no attempt was made.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.status).toBe("requires_action");
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data).toHaveLength(before);
    // capture-order says the same thing.
    expect(expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: id }, opts), 400)).toBe("This order cannot be captured: The payer canceled at PayPal.");
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: id }, opts)).body.status).toBe("VOIDED");
  });

  it("a refund of an unknown capture names the capture the client sent", async () => {
    const { opts } = await newMerchant("s4-paypal-nocapture");
    expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: "ch_doesnotexist" }, opts), 404)).toBe("Capture not found: ch_doesnotexist");
  });
});

describe("seed 004's errors in each provider's words", () => {
  it("a PayPal route tells the core's errors with orders and captures (refund-payment before and after the capture); a Stripe route keeps Stripe's", async () => {
    const { opts } = await newMerchant("s4-paypal-words");
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: "8.00", currency: "USD" }, opts)).body;
    const id = String(order.order_id);
    const capture = `ch_${id.slice(3)}`;
    const early = expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: capture }, opts), 400);
    expect(early).toBe(`Order ${id} has no completed capture to refund: its status is CREATED. Capture it first (capture-order).`);
    expect(early).not.toMatch(/PaymentIntent|payment intent|charge/i);
    expect((await approve(String(order.approval_url))).status).toBe(303);
    expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: capture }, opts), 400)).toBe(`Order ${id} has no completed capture to refund: its status is APPROVED. Capture it first (capture-order).`);
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: id }, opts)).body).toMatchObject({ captured: true, capture_id: capture });
    expect((await post<J>(`${P}/paypal/refund-payment/`, { capture_id: capture }, opts)).body).toMatchObject({ status: "COMPLETED", amount: { value: "8.00" } });
    expect(expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: capture, amount: "1.00" }, opts), 400)).toBe(`Capture ${capture} has already been fully refunded (CAPTURE_FULLY_REFUNDED).`);

    // A Stripe route: Stripe's own words.
    const pi = String((await post<J>(`${P}/stripe/create-payment-intent/`, { amount: "3.00", currency: "usd" }, opts)).body.payment_intent_id);
    expect((await post(`/v1/payment_intents/${pi}/cancel`, {}, opts)).status).toBe(200);
    expect(expectBackendError(await post(`${P}/stripe/confirm-payment/`, { payment_intent_id: pi, payment_method: "pm_card_visa" }, opts), 400)).toMatch(/^You cannot confirm this PaymentIntent because it has a status of canceled\./);
  });

  it("a field not sent is '<field> is required', whatever its type; an amount that is no decimal number is told once, quoted", async () => {
    const { opts } = await newMerchant("s4-field-words");
    for (const [path, body, field] of [
      ["stripe/create-payment-intent", { currency: "usd" }, "amount"],
      ["stripe/create-payment-intent", { amount: 29.99 }, "currency"],
      ["paypal/create-order", { currency: "USD" }, "amount"],
      ["paypal/create-order", { amount: "29.99" }, "currency"],
      ["stripe/create-subscription", { price_id: "price_x" }, "customer_id"],
      ["paypal/refund-payment", { amount: "1.00" }, "capture_id"],
    ] as const) {
      expect(expectBackendError(await post(`${P}/${path}/`, body, opts), 400), `${path} ${field}`).toBe(`${field} is required`);
    }
    // Sent, but not an amount: the field's own message, not the schema library's "Invalid input".
    expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: true, currency: "usd" }, opts), 400)).toBe("Invalid amount: must be a number or a decimal string, such as 29.99");
    for (const amount of ["10.", ".5", "1,50", "ten"]) {
      for (const path of ["stripe/create-payment-intent", "paypal/create-order"]) {
        expect(expectBackendError(await post(`${P}/${path}/`, { amount, currency: "usd" }, opts), 400), `${path} ${amount}`).toBe(`Invalid amount: ${JSON.stringify(amount)} is not a decimal number, such as 29.99.`);
      }
    }
    // A negative amount is a decimal number: it is too small, as 0 is, on create and on a refund.
    for (const amount of [-1, "-1", "-0.01", 0]) {
      for (const path of ["stripe/create-payment-intent", "paypal/create-order"]) {
        expect(expectBackendError(await post(`${P}/${path}/`, { amount, currency: "usd" }, opts), 400), `${path} ${amount}`).toBe("Amount must be at least 0.01 USD.");
      }
    }
    // Exponent notation too far out to write out is told as what it is, as a number and as text.
    for (const path of ["stripe/create-payment-intent", "paypal/create-order"]) {
      for (const amount of [1e308, "1e400", "2.5E+41"]) {
        expect(expectBackendError(await post(`${P}/${path}/`, { amount, currency: "usd" }, opts), 400), `${path} ${amount}`).toBe("Amount must be no more than 999999.99 USD.");
      }
      expect(expectBackendError(await post(`${P}/${path}/`, { amount: "-1e308", currency: "usd" }, opts), 400)).toBe("Amount must be at least 0.01 USD.");
      const tiny = await rawCall("POST", `${P}/${path}/`, { authorization: `Bearer ${String(opts.key)}`, "content-type": "application/json" }, '{"amount": 1e-400, "currency": "usd"}');
      expect(tiny.status, tiny.text).toBe(400);
      expect(JSON.parse(tiny.text)).toEqual({ error: "Amount 1e-400 has more decimal places than USD allows (2)." });
    }
    // Still taken: surrounding blanks, trailing zeros.
    expect((await post<J>(`${P}/stripe/create-payment-intent/`, { amount: " 10.50 ", currency: "usd" }, opts)).body.amount).toBe(1050);
  });

  it("confirm-payment of a canceled payment intent says it is canceled, not that it has no payment method yet", async () => {
    const { opts } = await newMerchant("s4-confirm-canceled");
    const created = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd" }, opts)).body;
    const id = String(created.payment_intent_id);
    expect((await post(`/v1/payment_intents/${id}/cancel`, {}, opts)).status).toBe(200);
    const refused = expectBackendError(await post(`${P}/stripe/confirm-payment/`, { payment_intent_id: id }, opts), 400);
    expect(refused).toContain("status of canceled");
    expect(refused).not.toContain("/pay/");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.status).toBe("canceled");
  });
});

describe("seed 004 from a browser on the merchant's own site (CORS)", () => {
  const origin = "https://courses.example";

  it("answers the preflight of the document's fetch, and the request itself, for any origin, without credentials", async () => {
    const preflight = await exports.default.fetch(
      new Request(`http://gateway.test${P}/stripe/create-payment-intent/`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("content-type");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();

    const { opts } = await newMerchant("s4-cors");
    const created = await call<J>("POST", `${P}/stripe/create-payment-intent/`, { ...opts, body: { amount: 29.99, currency: "usd" }, headers: { origin } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.headers.get("access-control-allow-origin")).toBe("*");
    // Errors too: a browser client reads the {"error": ...} of a 401.
    const unauthenticated = await call<J>("POST", `${P}/paypal/create-order/`, { key: null, body: { amount: 1, currency: "USD" }, headers: { origin } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("access-control-allow-origin")).toBe("*");
    const order = await exports.default.fetch(new Request(`http://gateway.test${P}/paypal/get-order/`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } }));
    expect(order.status).toBe(204);
  });

  it("the PSP webhooks and the other surfaces answer no CORS", async () => {
    for (const path of [`${P}/webhooks/stripe/`, "/v1/payment_intents", `${P}/transactions`]) {
      const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } }));
      expect(res.headers.get("access-control-allow-origin"), path).toBeNull();
      await res.body?.cancel();
    }
  });
});
