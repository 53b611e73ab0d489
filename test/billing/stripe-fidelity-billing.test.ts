// Billing as Stripe does it, where the audit found it did not: free prices (unit_amount 0) on prices,
// subscriptions (paid 0 invoices, no payment intent, renewals too) and Checkout (a 0 total refused);
// the subscription list's status=ended and paused, the invoice list's status=draft; a setup intent
// retrieved with its client_secret; cancellation_details.reason payment_failed when dunning cancels;
// and the update of a canceled subscription (metadata and cancellation_details only).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingSweep } from "../../src/billing/engine";
import { refanEvents } from "../../src/billing/writes";
import { call, createEndpoint, expectError, get, newMerchant, ok, post, receivedBy, receiverHook, stripeClient, waitFor, type CallOptions, type ListJson } from "../helpers";

interface InvoiceJson {
  id: string;
  status: string;
  amount_due: number;
  amount_paid: number;
  billing_reason: string;
  payment_intent: string | null;
  attempt_count: number;
}

interface CancellationDetails {
  comment: string | null;
  feedback: string | null;
  feedback_option: string | null;
  reason: string | null;
}

interface SubscriptionJson {
  id: string;
  status: string;
  metadata: Record<string, string>;
  latest_invoice: string | InvoiceJson | null;
  cancellation_details: CancellationDetails;
}

interface EventJson {
  type: string;
  data: { object: { id: string } & Partial<SubscriptionJson>; previous_attributes?: Record<string, unknown> };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const eventsAbout = async (opts: CallOptions, id: string) => (await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts))).data.filter((e) => e.data.object.id === id).reverse();

/** A merchant with a test clock and a customer on it (with a default card when `card`). */
async function setup(label: string, card = true) {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z"), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  if (card) await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const product = await ok(post<{ id: string }>("/v1/products", { name: "Plan" }, m.opts));
  const advance = (iso: string) => ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t(iso) }, m.opts));
  return { opts: m.opts, key: m.key, clock: clock.id, customer: customer.id, product: product.id, advance };
}

const monthly = (opts: CallOptions, unit_amount: number) => ok(post<{ id: string; unit_amount: number }>("/v1/prices", { unit_amount, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, opts));
const invoicesOf = async (opts: CallOptions, sub: string) => (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub}&limit=100`, opts))).data.reverse();

describe("free prices (unit_amount 0)", () => {
  it("a price may be free; a negative amount is still refused", async () => {
    const m = await newMerchant("free-price");
    expect(await monthly(m.opts, 0)).toMatchObject({ unit_amount: 0 });
    expect(await ok(post("/v1/prices", { unit_amount: "0", currency: "usd", product_data: { name: "Sticker" } }, m.opts))).toMatchObject({ unit_amount: 0, unit_amount_decimal: "0", type: "one_time" });
    expect(expectError(await post("/v1/prices", { unit_amount: -1, currency: "usd", product_data: { name: "x" } }, m.opts), 400, "amount_too_small").param).toBe("unit_amount");
  });

  it("a subscription on a free price is active at once, its invoices paid 0 with no payment intent, renewals too, without a payment method", async () => {
    const s = await setup("free-sub", false);
    const price = await monthly(s.opts, 0);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id, expand: ["latest_invoice"] }, s.opts));
    expect(sub.status).toBe("active");
    expect(sub.latest_invoice).toMatchObject({ status: "paid", amount_due: 0, amount_paid: 0, payment_intent: null, billing_reason: "subscription_create" });
    await s.advance("2026-03-01T00:00:00Z");
    await s.advance("2026-04-01T00:00:00Z");
    const invoices = await invoicesOf(s.opts, sub.id);
    expect(invoices.map((i) => [i.billing_reason, i.status, i.amount_due, i.payment_intent, i.attempt_count])).toEqual([
      ["subscription_create", "paid", 0, null, 0],
      ["subscription_cycle", "paid", 0, null, 0],
      ["subscription_cycle", "paid", 0, null, 0],
    ]);
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).status).toBe("active");
    const types = (await eventsAbout(s.opts, invoices[0]?.id ?? "")).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]));
    // No payment intent was made for any of them.
    expect((await ok(get<ListJson<{ id: string }>>(`/v1/payment_intents?customer=${s.customer}`, s.opts))).data).toEqual([]);
  });

  it("items[0][price_data][unit_amount]=0 and default_incomplete: active, nothing to confirm", async () => {
    const s = await setup("free-sub-inline", false);
    const sub = await ok(
      post<SubscriptionJson>(
        "/v1/subscriptions",
        { customer: s.customer, items: [{ price_data: { currency: "usd", product: s.product, recurring: { interval: "month" }, unit_amount: 0 } }], payment_behavior: "default_incomplete", expand: ["latest_invoice"] },
        s.opts,
      ),
    );
    expect(sub.status).toBe("active");
    expect(sub.latest_invoice).toMatchObject({ status: "paid", amount_due: 0, payment_intent: null });
  });

  it("a Checkout Session takes free lines, but one whose total is 0 is refused at create", async () => {
    const m = await newMerchant("free-checkout");
    const line = (unit_amount: number) => ({ price_data: { currency: "usd", unit_amount, product_data: { name: `Item ${unit_amount}` } }, quantity: 1 });
    const base = { mode: "payment", success_url: "https://shop.example/ok" };
    const error = expectError(await post("/v1/checkout/sessions", { ...base, line_items: [line(0)] }, m.opts), 400);
    expect(error).toMatchObject({ type: "invalid_request_error", param: "line_items", message: "The Checkout Session's total amount due must be greater than 0." });
    const free = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 0, currency: "usd", product_data: { name: "Gift" } }, m.opts));
    expectError(await post("/v1/checkout/sessions", { ...base, line_items: [{ price: free.id, quantity: 2 }] }, m.opts), 400);
    const session = await ok(post<{ amount_total: number }>("/v1/checkout/sessions", { ...base, line_items: [line(0), line(500), { price: free.id, quantity: 1 }] }, m.opts));
    expect(session.amount_total).toBe(500);
  });
});

describe("list filters Stripe has", () => {
  it("GET /v1/subscriptions?status=ended lists the canceled (and incomplete_expired); paused lists none", async () => {
    const s = await setup("ended-list");
    const price = await monthly(s.opts, 1999);
    const live = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id }, s.opts));
    const gone = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id }, s.opts));
    await ok(call("DELETE", `/v1/subscriptions/${gone.id}`, s.opts));
    expect((await ok(get<ListJson<SubscriptionJson>>("/v1/subscriptions?status=ended", s.opts))).data.map((x) => x.id)).toEqual([gone.id]);
    expect((await ok(get<ListJson<SubscriptionJson>>("/v1/subscriptions?status=paused", s.opts))).data).toEqual([]);
    expect((await ok(get<ListJson<SubscriptionJson>>("/v1/subscriptions?status=active", s.opts))).data.map((x) => x.id)).toEqual([live.id]);
    // Through the official client, whose SubscriptionListParams.Status has both.
    const stripe = stripeClient(s.key);
    expect((await stripe.subscriptions.list({ status: "ended" })).data.map((x) => x.id)).toEqual([gone.id]);
    expect((await stripe.subscriptions.list({ status: "paused" })).data).toEqual([]);
  });

  it("GET /v1/invoices?status=draft answers an empty list (invoices here are never drafts)", async () => {
    const s = await setup("draft-list");
    const price = await monthly(s.opts, 1999);
    await ok(post("/v1/subscriptions", { customer: s.customer, price: price.id }, s.opts));
    expect((await ok(get<ListJson<InvoiceJson>>("/v1/invoices?status=draft", s.opts))).data).toEqual([]);
    expect((await ok(get<ListJson<InvoiceJson>>("/v1/invoices?status=paid", s.opts))).data).toHaveLength(1);
  });
});

describe("setup intents", () => {
  it("retrieve takes client_secret, as a payment intent's does", async () => {
    const s = await setup("si-secret");
    const si = await ok(post<{ id: string; client_secret: string }>("/v1/setup_intents", { customer: s.customer }, s.opts));
    expect(await ok(get(`/v1/setup_intents/${si.id}?client_secret=${encodeURIComponent(si.client_secret)}`, s.opts))).toMatchObject({ id: si.id });
    expect((await stripeClient(s.key).setupIntents.retrieve(si.id, { client_secret: si.client_secret })).id).toBe(si.id);
  });
});

describe("cancellation_details", () => {
  it("dunning's cancellation says payment_failed (record, event, answer); DELETE's says cancellation_requested", async () => {
    const s = await setup("dun-reason");
    const price = await monthly(s.opts, 1999);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id }, s.opts));
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined" }, s.opts));
    await ok(post(`/v1/subscriptions/${sub.id}`, { default_payment_method: declining.id }, s.opts));
    await s.advance("2026-03-10T00:00:00Z");
    const after = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts));
    expect(after.status).toBe("canceled");
    expect(after.cancellation_details).toEqual({ comment: null, feedback: null, feedback_option: null, reason: "payment_failed" });
    const deleted = (await eventsAbout(s.opts, sub.id)).filter((e) => e.type === "customer.subscription.deleted");
    expect(deleted.map((e) => e.data.object.cancellation_details?.reason)).toEqual(["payment_failed"]);
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?status=canceled`, s.opts))).data[0]?.cancellation_details.reason).toBe("payment_failed");

    const other = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id, default_payment_method: (await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts))).id }, s.opts));
    const canceled = await ok(call<SubscriptionJson>("DELETE", `/v1/subscriptions/${other.id}?cancellation_details[comment]=bye`, s.opts));
    expect(canceled.cancellation_details).toEqual({ comment: "bye", feedback: null, feedback_option: null, reason: "cancellation_requested" });
    const otherDeleted = (await eventsAbout(s.opts, other.id)).filter((e) => e.type === "customer.subscription.deleted");
    expect(otherDeleted.map((e) => e.data.object.cancellation_details)).toEqual([{ comment: "bye", feedback: null, feedback_option: null, reason: "cancellation_requested" }]);
  });

  it("a canceled subscription updates its metadata and cancellation_details (with its event), and nothing else", async () => {
    const s = await setup("canceled-update");
    const price = await monthly(s.opts, 1999);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: price.id, metadata: { a: "1" } }, s.opts));
    await ok(call("DELETE", `/v1/subscriptions/${sub.id}`, s.opts));
    const updated = await ok(post<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, { metadata: { b: "2" }, cancellation_details: { comment: "too pricey", feedback: "too_expensive" } }, s.opts));
    expect(updated).toMatchObject({ status: "canceled", metadata: { a: "1", b: "2" } });
    expect(updated.cancellation_details).toEqual({ comment: "too pricey", feedback: "too_expensive", feedback_option: null, reason: "cancellation_requested" });
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).cancellation_details.comment).toBe("too pricey");
    const events = (await eventsAbout(s.opts, sub.id)).filter((e) => e.type === "customer.subscription.updated");
    const last = events[events.length - 1];
    expect(last?.data.object).toMatchObject({ status: "canceled", metadata: { a: "1", b: "2" }, cancellation_details: { comment: "too pricey", feedback: "too_expensive", reason: "cancellation_requested" } });
    // Stripe's previous_attributes: the metadata key that was added (null before), the details as they were.
    expect(last?.data.previous_attributes).toMatchObject({ metadata: { b: null }, cancellation_details: { comment: null, feedback: null } });
    // Anything else is refused with Stripe's message, even a parameter ignored here.
    for (const body of [{ cancel_at_period_end: true }, { metadata: { c: "3" }, default_payment_method: "" }, { description: "x" }]) {
      const error = expectError(await post(`/v1/subscriptions/${sub.id}`, body, s.opts), 400, "invalid_canceled_subscription_fields");
      expect(error).toMatchObject({ type: "invalid_request_error", message: "A canceled subscription can only update its cancellation_details and metadata." });
    }
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).metadata).toEqual({ a: "1", b: "2" });
    // Through the official client.
    const viaClient = await stripeClient(s.key).subscriptions.update(sub.id, { metadata: { d: "4" }, cancellation_details: { feedback: "" } });
    expect(viaClient.metadata).toEqual({ a: "1", b: "2", d: "4" });
    expect(viaClient.cancellation_details).toMatchObject({ comment: "too pricey", feedback: null, reason: "cancellation_requested" });
  });
});

describe("collection_method", () => {
  it("send_invoice (and days_until_due) is a 400 that creates and charges nothing; charge_automatically is taken", async () => {
    const s = await setup("collection-method");
    const price = await monthly(s.opts, 5000);
    const intents = async () => (await ok(get<ListJson<{ id: string }>>(`/v1/payment_intents?customer=${s.customer}&limit=100`, s.opts))).data.length;
    const subscriptions = async () => (await ok(get<ListJson<{ id: string }>>(`/v1/subscriptions?customer=${s.customer}&status=all`, s.opts))).data.length;
    const refused = expectError(await post("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], collection_method: "send_invoice", days_until_due: 30 }, s.opts), 400);
    expect(["collection_method", "days_until_due"]).toContain(refused.param);
    expect(expectError(await post("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], collection_method: "send_invoice" }, s.opts), 400).param).toBe("collection_method");
    expect(expectError(await post("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], days_until_due: 30 }, s.opts), 400).param).toBe("days_until_due");
    expect(await intents()).toBe(0);
    expect(await subscriptions()).toBe(0);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], collection_method: "charge_automatically" }, s.opts));
    expect(sub.status).toBe("active");
    expect(expectError(await post(`/v1/subscriptions/${sub.id}`, { collection_method: "send_invoice" }, s.opts), 400).param).toBe("collection_method");
  });
});

describe("POST /v1/invoices/:id/pay with nothing to charge", () => {
  it("is Stripe's 400 (no payment source), before anything is attempted: the attempt count and the customer's payment intent stay", async () => {
    const s = await setup("pay-no-method", false);
    const price = await monthly(s.opts, 5000);
    const sub = await ok(post<SubscriptionJson & { latest_invoice: InvoiceJson & { payment_intent: string } }>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts));
    const invoice = sub.latest_invoice;
    const before = await ok(get<InvoiceJson & { attempt_count: number; payment_intent: string }>(`/v1/invoices/${invoice.id}`, s.opts));
    for (let i = 0; i < 2; i++) {
      const error = expectError(await post(`/v1/invoices/${invoice.id}/pay`, {}, s.opts), 400, "invoice_no_payment_method");
      expect(error.message).toMatch(/no attached payment source or default payment method/);
    }
    const after = await ok(get<InvoiceJson & { attempt_count: number; payment_intent: string }>(`/v1/invoices/${invoice.id}`, s.opts));
    expect(after).toMatchObject({ status: "open", attempt_count: before.attempt_count, payment_intent: before.payment_intent });
    // The customer may still confirm the intent left for it.
    expect((await ok(get<{ status: string }>(`/v1/payment_intents/${before.payment_intent}`, s.opts))).status).toBe("requires_payment_method");
    // With a card given, it pays.
    const card = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts));
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${invoice.id}/pay`, { payment_method: card.id }, s.opts))).toMatchObject({ status: "paid" });
  });
});

interface PeriodsJson {
  id: string;
  billing_reason: string;
  created: number;
  period_start: number;
  period_end: number;
  lines: { data: { period: { start: number; end: number } }[] };
}

describe("an invoice's period_start and period_end", () => {
  // Stripe's Invoice.period_start/period_end bound when items were collected for it; the service period
  // billed is the line's period. A first invoice has both at its creation; a renewal the period that ended.
  const periods = (i: PeriodsJson) => ({ reason: i.billing_reason, period_start: i.period_start, period_end: i.period_end, line: i.lines.data[0]?.period });

  it("are the creation time on a first invoice and the period that ended on a renewal; the line has the service period (event and answer)", async () => {
    const s = await setup("invoice-periods");
    const price = await monthly(s.opts, 1500);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }] }, s.opts));
    await s.advance("2026-03-01T00:00:00Z");
    const invoices = (await ok(get<ListJson<PeriodsJson>>(`/v1/invoices?subscription=${sub.id}&limit=100`, s.opts))).data.reverse();
    expect(invoices.map(periods)).toEqual([
      { reason: "subscription_create", period_start: t("2026-01-31T10:00:00Z"), period_end: t("2026-01-31T10:00:00Z"), line: { start: t("2026-01-31T10:00:00Z"), end: t("2026-02-28T10:00:00Z") } },
      { reason: "subscription_cycle", period_start: t("2026-01-31T10:00:00Z"), period_end: t("2026-02-28T10:00:00Z"), line: { start: t("2026-02-28T10:00:00Z"), end: t("2026-03-31T10:00:00Z") } },
    ]);
    // The invoice.created event's snapshot says the same.
    const created = (await ok(get<ListJson<{ type: string; data: { object: PeriodsJson } }>>("/v1/events?type=invoice.created&limit=100", s.opts))).data.map((e) => e.data.object);
    expect(created.filter((o) => invoices.some((i) => i.id === o.id)).reverse().map(periods)).toEqual(invoices.map(periods));
  });

  it("after a trial: the first invoice at its creation, the first paid one over the trial", async () => {
    const s = await setup("invoice-periods-trial");
    const price = await monthly(s.opts, 1500);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], trial_period_days: 7 }, s.opts));
    await s.advance("2026-02-08T00:00:00Z");
    const invoices = (await ok(get<ListJson<PeriodsJson>>(`/v1/invoices?subscription=${sub.id}&limit=100`, s.opts))).data.reverse();
    expect(invoices.map(periods)).toEqual([
      { reason: "subscription_create", period_start: t("2026-01-31T10:00:00Z"), period_end: t("2026-01-31T10:00:00Z"), line: { start: t("2026-01-31T10:00:00Z"), end: t("2026-02-07T10:00:00Z") } },
      { reason: "subscription_cycle", period_start: t("2026-01-31T10:00:00Z"), period_end: t("2026-02-07T10:00:00Z"), line: { start: t("2026-02-07T10:00:00Z"), end: t("2026-03-07T10:00:00Z") } },
    ]);
  });
});

describe("a test clock whose advance has a step that fails", () => {
  it("is Stripe's internal_failure, not ready; the other steps ran; it cannot be advanced again (400, nothing changes), only deleted", async () => {
    const s = await setup("clock-internal-failure");
    const broken = await monthly(s.opts, 1200);
    const sound = await monthly(s.opts, 1300);
    const failing = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: broken.id }] }, s.opts));
    const fine = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: sound.id }] }, s.opts));
    // The failing subscription's price is gone from under it: its renewal throws.
    const row = await env.DB.prepare("SELECT * FROM prices WHERE id = ?").bind(broken.id).first<Record<string, unknown>>();
    await env.DB.prepare("DELETE FROM prices WHERE id = ?").bind(broken.id).run();
    const clock = await ok(post<{ status: string; status_details: object }>(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-03-01T00:00:00Z") }, s.opts));
    expect(clock).toMatchObject({ status: "internal_failure", status_details: {} });
    expect((await ok(get<{ status: string }>(`/v1/test_helpers/test_clocks/${s.clock}`, s.opts))).status).toBe("internal_failure");
    expect((await invoicesOf(s.opts, fine.id)).map((i) => i.billing_reason)).toEqual(["subscription_create", "subscription_cycle"]);
    expect((await invoicesOf(s.opts, failing.id)).map((i) => i.billing_reason)).toEqual(["subscription_create"]);
    // Nothing new starts on it meanwhile.
    expectError(await post("/v1/subscriptions", { customer: s.customer, items: [{ price: sound.id }] }, s.opts), 400, "test_clock_internal_failure");
    // As at Stripe, a clock in internal_failure cannot be advanced (even with the cause gone): a 400
    // in Stripe's error shape, and nothing changes (its time, its status, the subscriptions' invoices).
    const columns = Object.keys(row ?? {});
    await env.DB.prepare(`INSERT INTO prices (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...columns.map((c) => row?.[c] ?? null)).run();
    const before = await ok(get<{ status: string; frozen_time: number }>(`/v1/test_helpers/test_clocks/${s.clock}`, s.opts));
    const refused = await post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-03-01T01:00:00Z") }, s.opts);
    expectError(refused, 400, "test_clock_internal_failure");
    expect(refused.body).toMatchObject({ error: { type: "invalid_request_error", message: expect.stringMatching(/internal_failure.*cannot be advanced/) } });
    expect(await ok(get(`/v1/test_helpers/test_clocks/${s.clock}`, s.opts))).toEqual(before);
    expect(before).toMatchObject({ status: "internal_failure", frozen_time: t("2026-03-01T00:00:00Z") });
    expect((await invoicesOf(s.opts, failing.id)).map((i) => i.billing_reason)).toEqual(["subscription_create"]);
    // Deleting it is what is left.
    expect(await ok(call("DELETE", `/v1/test_helpers/test_clocks/${s.clock}`, s.opts))).toMatchObject({ id: s.clock, deleted: true });
  });

  it("left advancing (by a request that died), the cron's pass that has a step fail leaves it internal_failure, not ready", async () => {
    const s = await setup("clock-internal-failure-cron");
    const broken = await monthly(s.opts, 1200);
    await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: broken.id }] }, s.opts));
    await env.DB.prepare("DELETE FROM prices WHERE id = ?").bind(broken.id).run();
    await env.DB.prepare("UPDATE test_clocks SET status = 'advancing', frozen_time = ? WHERE id = ?").bind(t("2026-03-01T00:00:00Z") * 1000, s.clock).run();
    await billingSweep(env, Date.now());
    expect((await ok(get<{ status: string }>(`/v1/test_helpers/test_clocks/${s.clock}`, s.opts))).status).toBe("internal_failure");
    // The cron's pass sends Stripe's event too, once.
    const failures = (await ok(get<ListJson<EventJson>>("/v1/events?type=test_helpers.test_clock.internal_failure", s.opts))).data;
    expect(failures.map((e) => [e.data.object.id, (e.data.object as { status?: string }).status])).toEqual([[s.clock, "internal_failure"]]);
    await billingSweep(env, Date.now());
    expect((await ok(get<ListJson<EventJson>>("/v1/events?type=test_helpers.test_clock.internal_failure", s.opts))).data).toHaveLength(1);
  });
});

describe("a test clock's events", () => {
  const CLOCK_EVENTS = ["created", "advancing", "ready", "internal_failure", "deleted"].map((t) => `test_helpers.test_clock.${t}`);
  type ClockEvent = { id: string; type: string; data: { object: { id: string; object: string; status: string; frozen_time: number } } };

  it("are Stripe's test_helpers.test_clock.* (data.object the clock): listed by GET /v1/events and sent to an endpoint subscribed to them", async () => {
    // The endpoint first: it receives the events made after it.
    const m = await newMerchant("clock-events");
    const hook = receiverHook("clock-events");
    await createEndpoint(hook.url, CLOCK_EVENTS, m.opts);
    const failing = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z"), name: "failing" }, m.opts));
    const s = { opts: m.opts, clock: failing.id };
    const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-01T00:00:00Z"), name: "events" }, s.opts));
    await ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t("2026-01-02T00:00:00Z") }, s.opts));
    // A step that fails: internal_failure (a subscription on the other clock whose price is gone).
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "clock-events@example.com", test_clock: s.clock }, s.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, s.opts));
    const broken = await monthly(s.opts, 1200);
    await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: customer.id, items: [{ price: broken.id }] }, s.opts));
    await env.DB.prepare("DELETE FROM prices WHERE id = ?").bind(broken.id).run();
    await ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-03-01T00:00:00Z") }, s.opts));
    // A refused advance sends nothing.
    expectError(await post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-04-01T00:00:00Z") }, s.opts), 400, "test_clock_internal_failure");
    await ok(call("DELETE", `/v1/test_helpers/test_clocks/${clock.id}`, s.opts));

    const seen = (e: ClockEvent) => [e.type, e.data.object.id, e.data.object.object, e.data.object.status];
    const listed = (await ok(get<ListJson<ClockEvent>>("/v1/events?limit=100", s.opts))).data.filter((e) => e.type.startsWith("test_helpers.")).reverse();
    const expected = [
      ["test_helpers.test_clock.created", s.clock, "test_helpers.test_clock", "ready"],
      ["test_helpers.test_clock.created", clock.id, "test_helpers.test_clock", "ready"],
      ["test_helpers.test_clock.advancing", clock.id, "test_helpers.test_clock", "advancing"],
      ["test_helpers.test_clock.ready", clock.id, "test_helpers.test_clock", "ready"],
      ["test_helpers.test_clock.advancing", s.clock, "test_helpers.test_clock", "advancing"],
      ["test_helpers.test_clock.internal_failure", s.clock, "test_helpers.test_clock", "internal_failure"],
      ["test_helpers.test_clock.deleted", clock.id, "test_helpers.test_clock", "ready"],
    ];
    expect(listed.map(seen)).toEqual(expected);
    expect(listed.find((e) => e.type.endsWith(".ready"))?.data.object.frozen_time).toBe(t("2026-01-02T00:00:00Z"));
    // The endpoint subscribed to them receives each once.
    const got = await waitFor(async () => {
      const bodies = (await receivedBy(hook.name)).map((r) => JSON.parse(r.body) as ClockEvent);
      return bodies.length >= expected.length ? bodies : undefined;
    }, 20_000, "the clock's events at the endpoint");
    expect(got.map(seen).sort()).toEqual([...expected].sort());
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
  });
});

describe("customer.subscription.created", () => {
  // Stripe: the event says the status the subscription has once created (active when its first invoice
  // was paid in the create, incomplete when a payment is still wanted: a decline, 3DS, default_incomplete).
  const subscriptionEvents = async (opts: CallOptions, id: string) => (await eventsAbout(opts, id)).filter((e) => e.type.startsWith("customer.subscription."));
  const fannedOut = (id: string) => waitFor(async () => (await env.DB.prepare("SELECT fanned_out FROM events WHERE id = ?").bind(id).first<{ fanned_out: number }>())?.fanned_out === 1, 15_000, `event ${id} fanned out`);

  it("paid in the create (allow_incomplete): one event, active, delivered so; no customer.subscription.updated", async () => {
    const s = await setup("created-active");
    const hook = receiverHook("created-active");
    await createEndpoint(hook.url, ["customer.subscription.created", "customer.subscription.updated"], s.opts);
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }] }, s.opts));
    expect(sub.status).toBe("active");
    const events = await subscriptionEvents(s.opts, sub.id);
    expect(events.map((e) => [e.type, e.data.object.status])).toEqual([["customer.subscription.created", "active"]]);
    const created = events[0] as EventJson & { id: string };
    await fannedOut(created.id);
    const got = await waitFor(async () => {
      const bodies = (await receivedBy(hook.name)).map((r) => JSON.parse(r.body) as EventJson);
      return bodies.length > 0 ? bodies : undefined;
    }, 20_000, "the event at the endpoint");
    expect(got.map((e) => [e.type, e.data.object.status])).toEqual([["customer.subscription.created", "active"]]);
  });

  it("declined in the create: created says incomplete; paid later, updated says active with previous_attributes.status incomplete", async () => {
    const s = await setup("created-declined", false);
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined", set_default: true }, s.opts));
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson & { latest_invoice: string }>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], default_payment_method: declining.id }, s.opts));
    expect(sub.status).toBe("incomplete");
    const [created] = (await subscriptionEvents(s.opts, sub.id)) as (EventJson & { id: string })[];
    expect([created?.type, created?.data.object.status]).toEqual(["customer.subscription.created", "incomplete"]);
    await fannedOut(created?.id ?? "");
    const card = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts));
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${sub.latest_invoice}/pay`, { payment_method: card.id }, s.opts))).toMatchObject({ status: "paid" });
    const events = await subscriptionEvents(s.opts, sub.id);
    expect(events.map((e) => [e.type, e.data.object.status])).toEqual([
      ["customer.subscription.created", "incomplete"],
      ["customer.subscription.updated", "active"],
    ]);
    expect(events[1]?.data.previous_attributes).toMatchObject({ status: "incomplete" });
  });

  it("default_incomplete: created says incomplete, the customer's confirmation sends updated (active)", async () => {
    const s = await setup("created-default-incomplete");
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson & { latest_invoice: { payment_intent: string } }>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, s.opts));
    expect((await subscriptionEvents(s.opts, sub.id)).map((e) => [e.type, e.data.object.status])).toEqual([["customer.subscription.created", "incomplete"]]);
    await ok(post(`/v1/payment_intents/${sub.latest_invoice.payment_intent}/confirm`, { payment_method: "pm_card_visa" }, s.opts));
    await waitFor(async () => (await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).status === "active", 15_000, "activated");
    const events = await subscriptionEvents(s.opts, sub.id);
    expect(events.map((e) => [e.type, e.data.object.status])).toEqual([
      ["customer.subscription.created", "incomplete"],
      ["customer.subscription.updated", "active"],
    ]);
    expect(events[1]?.data.previous_attributes).toMatchObject({ status: "incomplete" });
  });

  it("held by a request that died: the cron releases it after its grace (not before), as written", async () => {
    const s = await setup("created-held-cron");
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }] }, s.opts));
    const [created] = (await eventsAbout(s.opts, sub.id)) as (EventJson & { id: string })[];
    // As a request that died before releasing it would leave it.
    await env.DB.prepare("UPDATE events SET fanned_out = 2 WHERE id = ?").bind(created?.id).run();
    // While held it is shown to no read: it may yet be rewritten before it goes out, and an event once shown never changes.
    expect((await get(`/v1/events/${created?.id}`, s.opts)).status).toBe(404);
    expect((await eventsAbout(s.opts, sub.id)).map((e) => (e as EventJson & { id: string }).id)).not.toContain(created?.id);
    const { created: at } = (await env.DB.prepare("SELECT created FROM events WHERE id = ?").bind(created?.id).first<{ created: number }>()) ?? { created: 0 };
    await refanEvents(env, at + 29_000);
    expect((await env.DB.prepare("SELECT fanned_out FROM events WHERE id = ?").bind(created?.id).first<{ fanned_out: number }>())?.fanned_out).toBe(2);
    await refanEvents(env, at + 31_000);
    await fannedOut(created?.id ?? "");
    expect((await get(`/v1/events/${created?.id}`, s.opts)).status).toBe(200);
  });
});

describe("an invoice's payments (expand[]=payments)", () => {
  interface PaymentJson { id: string; object: string; amount_paid: number | null; amount_requested: number; currency: string; invoice: string; is_default: boolean; payment: { type: string; payment_intent: string | { id: string; object: string } }; status: string; status_transitions: { canceled_at: number | null; paid_at: number | null } }
  type WithPayments = InvoiceJson & { payments?: { object: string; data: PaymentJson[]; has_more: boolean; url: string } };

  it("lists Stripe's InvoicePayment per attempt (the declined one canceled, the paid one paid), only when expanded", async () => {
    const s = await setup("invoice-payments", false);
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined", set_default: true }, s.opts));
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson & { latest_invoice: string }>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], default_payment_method: declining.id }, s.opts));
    const card = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts));
    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${sub.latest_invoice}/pay`, { payment_method: card.id }, s.opts));
    expect(paid).toMatchObject({ status: "paid", attempt_count: 2 });
    expect(await ok(get<WithPayments>(`/v1/invoices/${paid.id}`, s.opts))).not.toHaveProperty("payments");
    const invoice = await ok(get<WithPayments>(`/v1/invoices/${paid.id}?expand[]=payments`, s.opts));
    expect(invoice.payments).toMatchObject({ object: "list", has_more: false, url: `/v1/invoice_payments?invoice=${paid.id}` });
    const payments = invoice.payments?.data ?? [];
    expect(payments.map((p) => [p.object, p.status, p.amount_paid, p.amount_requested, p.currency, p.invoice, p.is_default, p.payment.type])).toEqual([
      // The declined attempt's intent was canceled before the next attempt (so it cannot charge as well).
      ["invoice_payment", "canceled", null, 2500, "usd", paid.id, true, "payment_intent"],
      ["invoice_payment", "paid", 2500, 2500, "usd", paid.id, false, "payment_intent"],
    ]);
    expect(payments[1]?.payment.payment_intent).toBe(paid.payment_intent);
    expect(payments[1]?.status_transitions.paid_at).toEqual(expect.any(Number));
    expect(payments[0]?.status_transitions).toEqual({ canceled_at: expect.any(Number), paid_at: null });
    expect(payments.every((p) => /^inpay_/.test(p.id))).toBe(true);
    // The intent inside expands too; in a list, data.payments.
    const deep = await ok(get<WithPayments>(`/v1/invoices/${paid.id}?expand[]=payments.data.payment.payment_intent`, s.opts));
    expect(deep.payments?.data[1]?.payment.payment_intent).toMatchObject({ id: paid.payment_intent, object: "payment_intent" });
    const listed = await ok(get<ListJson<WithPayments>>(`/v1/invoices?subscription=${sub.id}&expand[]=data.payments`, s.opts));
    expect(listed.data[0]?.payments?.data).toHaveLength(2);
    expectError(await get(`/v1/invoices/${paid.id}?expand[]=payments.data.nope`, s.opts), 400);
    // The payments are a payment's to read: a billing-only key may read the invoice, not them.
    const billingOnly = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["billing.view"] }, s.opts))).secret ?? "";
    expect((await call("GET", `/v1/invoices/${paid.id}`, { key: billingOnly })).status).toBe(200);
    expectError(await get(`/v1/invoices/${paid.id}?expand[]=payments`, { key: billingOnly }), 403);
  });

  it("are served at GET /v1/invoice_payments (the expand's url) and /v1/invoice_payments/{id}, the same objects by the same ids; another merchant's are a 404", async () => {
    const s = await setup("invoice-payments-routes", false);
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined", set_default: true }, s.opts));
    const price = await monthly(s.opts, 2500);
    const sub = await ok(post<SubscriptionJson & { latest_invoice: string }>("/v1/subscriptions", { customer: s.customer, items: [{ price: price.id }], default_payment_method: declining.id }, s.opts));
    const card = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts));
    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${sub.latest_invoice}/pay`, { payment_method: card.id }, s.opts));
    const expandedList = (await ok(get<WithPayments>(`/v1/invoices/${paid.id}?expand[]=payments`, s.opts))).payments;
    const [declined, succeeded] = expandedList?.data ?? [];
    expect([declined?.status, succeeded?.status]).toEqual(["canceled", "paid"]);
    // The expand's url answers; newest first, as Stripe's lists are.
    const listed = await ok(get<ListJson<PaymentJson>>(expandedList?.url ?? "", s.opts));
    expect(listed).toMatchObject({ object: "list", has_more: false, url: "/v1/invoice_payments" });
    expect(listed.data).toEqual([succeeded, declined]);
    // Each reads the same by its id.
    for (const p of [declined, succeeded]) expect(await ok(get<PaymentJson>(`/v1/invoice_payments/${p?.id}`, s.opts))).toEqual(p);
    // Paged, filtered.
    const first = await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&limit=1`, s.opts));
    expect([first.data.map((p) => p.id), first.has_more]).toEqual([[succeeded?.id], true]);
    const next = await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&limit=1&starting_after=${succeeded?.id}`, s.opts));
    expect([next.data.map((p) => p.id), next.has_more]).toEqual([[declined?.id], false]);
    const back = await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&ending_before=${declined?.id}`, s.opts));
    expect(back.data.map((p) => p.id)).toEqual([succeeded?.id]);
    expect((await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&status=canceled`, s.opts))).data.map((p) => p.id)).toEqual([declined?.id]);
    const byIntent = await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=${paid.payment_intent}`, s.opts));
    expect(byIntent.data.map((p) => p.id)).toEqual([succeeded?.id]);
    expect((await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&payment[type]=payment_record`, s.opts))).data).toEqual([]);
    // Expanded, as on the invoice.
    const deep = await ok(get<PaymentJson & { invoice: { id: string } }>(`/v1/invoice_payments/${succeeded?.id}?expand[]=payment.payment_intent&expand[]=invoice`, s.opts));
    expect([deep.invoice.id, deep.payment.payment_intent]).toEqual([paid.id, expect.objectContaining({ id: paid.payment_intent, object: "payment_intent" })]);
    expect((await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?invoice=${paid.id}&expand[]=data.payment.payment_intent`, s.opts))).data[0]?.payment.payment_intent).toMatchObject({ id: paid.payment_intent });
    // Bad input: a clear 4xx.
    expectError(await get("/v1/invoice_payments", s.opts), 400, "parameter_missing");
    expectError(await get(`/v1/invoice_payments?invoice=${paid.id}&status=bogus`, s.opts), 400);
    expectError(await get(`/v1/invoice_payments?invoice=${paid.id}&starting_after=inpay_000000000000000000000000`, s.opts), 400, "resource_missing");
    expectError(await get("/v1/invoice_payments/inpay_000000000000000000000000", s.opts), 404, "resource_missing");
    expectError(await get(`/v1/invoice_payments/${paid.payment_intent}`, s.opts), 404, "resource_missing");
    // Another merchant's: a 404 by id; its invoice named in `invoice` is resource_missing (a 400, as any
    // missing object a parameter names at Stripe, src/api/v1/errors.ts), as an invoice that never existed.
    const other = await newMerchant("invoice-payments-other");
    const foreign = expectError(await get(`/v1/invoice_payments?invoice=${paid.id}`, other.opts), 400, "resource_missing");
    expect(foreign).toMatchObject({ param: "invoice", message: `No such invoice: '${paid.id}'` });
    expectError(await get(`/v1/invoice_payments/${succeeded?.id}`, other.opts), 404, "resource_missing");
    expect((await ok(get<ListJson<PaymentJson>>(`/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=${paid.payment_intent}`, other.opts))).data).toEqual([]);
    // Reading them needs what reading the invoice and its payment intents needs.
    const billingOnly = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["billing.view"] }, s.opts))).secret ?? "";
    const paymentsOnly = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, s.opts))).secret ?? "";
    for (const key of [billingOnly, paymentsOnly]) {
      expectError(await get(`/v1/invoice_payments?invoice=${paid.id}`, { key }), 403);
      expectError(await get(`/v1/invoice_payments/${succeeded?.id}`, { key }), 403);
    }
  });
});
