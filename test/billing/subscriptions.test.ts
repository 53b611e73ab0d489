// Subscriptions on our own billing engine: three periods on a test clock (renewals, a renewal failing
// and recovering through dunning, cancel at period end), the final action of dunning, trials, a 3DS
// first payment, a year on a clock, and overlapping renewal sweeps that must charge once.
import { env } from "cloudflare:workers";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attemptIntentId, billingSweep, processDue } from "../../src/billing/engine";
import { onIntentEvents } from "../../src/billing/hooks";
import type { EventRecord } from "../../src/core/types";
import { refanEvents } from "../../src/billing/writes";
import { call, createEndpoint, uniqueKey, expectError, get, newMerchant, post, receivedBy, receiverHook, waitFor, type CallOptions, type ListJson, type PaymentIntentJson, ok } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  customer: string;
  current_period_start: number;
  current_period_end: number;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  ended_at: number | null;
  metadata?: Record<string, string>;
  trial_end: number | null;
  default_payment_method: string | null;
  latest_invoice: string | InvoiceJson | null;
  test_clock: string | null;
}

interface InvoiceJson {
  id: string;
  status: string;
  amount_due: number;
  amount_paid: number;
  billing_reason: string;
  /** Stripe's: when items were collected for it (not the service period: that is the line's). */
  period_start: number;
  period_end: number;
  lines: { data: { period: { start: number; end: number } }[] };
  attempt_count: number;
  next_payment_attempt: number | null;
  payment_intent: string | PaymentIntentJson | null;
  subscription: string;
}

interface ClockJson {
  id: string;
  frozen_time: number;
  status: string;
}

interface EventJson {
  type: string;
  data: { object: Record<string, unknown> };
}

const DAY = 86_400;
const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Setup {
  merchantId: string;
  opts: CallOptions;
  clock: ClockJson;
  customer: string;
  price: string;
  card: string;
}

/** A merchant with a clock, a customer on it with a default card, and a monthly price of 19.99 USD. */
async function setup(label: string, start = "2026-01-31T10:00:00Z", token = "tok_visa"): Promise<Setup> {
  const m = await newMerchant(label);
  const clock = await ok(post<ClockJson>("/v1/test_helpers/test_clocks", { frozen_time: t(start), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  const card = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: token, set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
  return { merchantId: m.id, opts: m.opts, clock, customer: customer.id, price: price.id, card: card.id };
}

const advance = (s: Setup, to: number) => ok(post<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: to }, s.opts));
/**
 * The clock advanced to `to` four weeks at a time: as at Stripe, one advance goes at most two intervals
 * of the clock's shortest subscription (two months here).
 */
async function advanceInSteps(s: Setup, to: number): Promise<void> {
  let at = (await ok(get<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}`, s.opts))).frozen_time;
  while (at < to) {
    at = Math.min(to, at + 28 * DAY);
    await advance(s, at);
  }
}
const subscription = (s: Setup, id: string) => ok(get<SubscriptionJson>(`/v1/subscriptions/${id}`, s.opts));
const invoicesOf = async (s: Setup, sub: string) => (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub}&limit=100`, s.opts))).data.reverse();
const eventsOf = async (s: Setup, type: string) => (await ok(get<ListJson<EventJson>>(`/v1/events?type=${encodeURIComponent(type)}&limit=100`, s.opts))).data.reverse();

async function succeededCharges(s: Setup): Promise<PaymentIntentJson[]> {
  const list = await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${s.customer}/payment_intents?limit=100`, s.opts));
  return list.data.filter((p) => p.status === "succeeded");
}

describe("a subscription over three periods on a test clock", () => {
  it("renews, fails a renewal and recovers through dunning, then ends at period end", async () => {
    const s = await setup("sub-three");
    // Jan 31: subscribed and charged at once. Periods follow the calendar from the anchor (Feb 28, Mar 31).
    const created = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, expand: ["latest_invoice"] }, s.opts));
    expect(created).toMatchObject({ status: "active", current_period_start: t("2026-01-31T10:00:00Z"), current_period_end: t("2026-02-28T10:00:00Z"), test_clock: s.clock.id });
    expect(created.latest_invoice).toMatchObject({ status: "paid", amount_paid: 1999, billing_reason: "subscription_create", attempt_count: 1 });

    // Period 2 renews on Feb 28 and is paid.
    await advance(s, t("2026-02-28T11:00:00Z"));
    let sub = await subscription(s, created.id);
    expect(sub).toMatchObject({ status: "active", current_period_start: t("2026-02-28T10:00:00Z"), current_period_end: t("2026-03-31T10:00:00Z") });
    expect((await invoicesOf(s, created.id)).map((i) => i.status)).toEqual(["paid", "paid"]);

    // The card on the subscription starts declining: period 3's renewal fails on Mar 31 and again a day later.
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclinedInsufficientFunds" }, s.opts));
    await ok(post(`/v1/subscriptions/${created.id}`, { default_payment_method: declining.id }, s.opts));
    await advance(s, t("2026-03-31T11:00:00Z"));
    sub = await subscription(s, created.id);
    expect(sub.status).toBe("past_due");
    let third = (await invoicesOf(s, created.id))[2] as InvoiceJson;
    expect(third).toMatchObject({ status: "open", attempt_count: 1, next_payment_attempt: t("2026-04-01T10:00:00Z") });
    expect(third.lines.data[0]?.period.start).toBe(t("2026-03-31T10:00:00Z"));

    await advance(s, t("2026-04-01T12:00:00Z"));
    third = (await invoicesOf(s, created.id))[2] as InvoiceJson;
    expect(third).toMatchObject({ status: "open", attempt_count: 2, next_payment_attempt: t("2026-04-03T10:00:00Z") });
    expect((await subscription(s, created.id)).status).toBe("past_due");

    // The customer fixes the card; the next retry (day 3) pays and the subscription is active again.
    await ok(post(`/v1/subscriptions/${created.id}`, { default_payment_method: s.card }, s.opts));
    await advance(s, t("2026-04-02T12:00:00Z"));
    expect(((await invoicesOf(s, created.id))[2] as InvoiceJson).attempt_count).toBe(2);
    await advance(s, t("2026-04-03T12:00:00Z"));
    third = (await invoicesOf(s, created.id))[2] as InvoiceJson;
    expect(third).toMatchObject({ status: "paid", attempt_count: 3, amount_paid: 1999, next_payment_attempt: null });
    sub = await subscription(s, created.id);
    expect(sub).toMatchObject({ status: "active", current_period_end: t("2026-04-30T10:00:00Z") });

    // Cancel at period end: nothing more is billed, and it ends on Apr 30.
    const canceling = await ok(post<SubscriptionJson>(`/v1/subscriptions/${created.id}`, { cancel_at_period_end: true }, s.opts));
    expect(canceling).toMatchObject({ status: "active", cancel_at_period_end: true });
    await advance(s, t("2026-05-15T00:00:00Z"));
    sub = await subscription(s, created.id);
    expect(sub).toMatchObject({ status: "canceled", ended_at: t("2026-04-30T10:00:00Z") });

    const invoices = await invoicesOf(s, created.id);
    expect(invoices.map((i) => [i.billing_reason, i.status, i.amount_paid])).toEqual([
      ["subscription_create", "paid", 1999],
      ["subscription_cycle", "paid", 1999],
      ["subscription_cycle", "paid", 1999],
    ]);
    // Three charges went through; two attempts were declined.
    expect(await succeededCharges(s)).toHaveLength(3);
    const all = await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${s.customer}/payment_intents?limit=100`, s.opts));
    expect(all.data).toHaveLength(5);
    expect(all.data.every((p) => p.amount === 1999 && p.customer === s.customer)).toBe(true);

    const invoiceEvents = (await eventsOf(s, "invoice.*")).map((e) => e.type);
    expect(invoiceEvents.filter((e) => e === "invoice.created")).toHaveLength(3);
    // As Stripe sends them: each invoice finalized when made, and invoice.payment_succeeded beside invoice.paid.
    expect(invoiceEvents.filter((e) => e === "invoice.finalized")).toHaveLength(3);
    expect(invoiceEvents.filter((e) => e === "invoice.paid")).toHaveLength(3);
    expect(invoiceEvents.filter((e) => e === "invoice.payment_succeeded")).toHaveLength(3);
    expect(invoiceEvents.filter((e) => e === "invoice.payment_failed")).toHaveLength(2);
    const subEvents = await eventsOf(s, "customer.subscription.*");
    expect(subEvents[0]?.type).toBe("customer.subscription.created");
    expect(subEvents.filter((e) => e.type === "customer.subscription.deleted")).toHaveLength(1);
    const statuses = subEvents.filter((e) => e.type === "customer.subscription.updated").map((e) => e.data.object.status);
    expect(statuses).toEqual(expect.arrayContaining(["active", "past_due"]));
    // The order of the statuses: active (first payment), past_due, then active again.
    const transitions = statuses.filter((st, i) => i === 0 || statuses[i - 1] !== st);
    expect(transitions).toEqual(["active", "past_due", "active"]);

    // The events are delivered like every other event: each reaches the fan-out.
    await waitFor(async () => {
      const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE merchant_id = ? AND fanned_out = 0").bind(s.merchantId).first<{ n: number }>();
      return left?.n === 0;
    }, 15_000, "billing events fanned out");
  });
});

describe("an invoice is settled only by its own attempt", () => {
  it("an intent that merely names the invoice (any merchant's, any amount, paid or canceled) neither pays nor fails it", async () => {
    const s = await setup("invoice-forgery", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete" }, s.opts));
    const invoice = sub.latest_invoice as string;
    const other = await newMerchant("invoice-forger");
    const forged = (over: Partial<{ id: string; status: string; merchantId: string; attempt: string }>): EventRecord => ({
      id: `evt_forged_${Math.random().toString(36).slice(2)}`,
      type: over.status === "canceled" ? "payment_intent.canceled" : "payment_intent.succeeded",
      created: Date.now(),
      merchantId: over.merchantId ?? s.merchantId,
      livemode: false,
      object: { id: over.id ?? "pi_forgedPayment0000000001", object: "payment_intent", status: over.status ?? "succeeded", amount: 50, invoice, metadata: { invoice: invoice, invoice_attempt: over.attempt ?? "1" } },
      requestId: null,
      idempotencyKey: null,
      paymentIntentId: over.id ?? "pi_forgedPayment0000000001",
      orderId: null,
    });
    const own = await attemptIntentId(invoice, 1);
    await onIntentEvents(env, [
      forged({}), // the merchant's own 50-cent intent naming the invoice
      forged({ merchantId: other.id }), // another merchant's
      forged({ id: own, merchantId: other.id }), // the attempt's id, from another merchant
      forged({ status: "canceled", attempt: "2" }),
      forged({ status: "canceled", attempt: "3" }),
    ]);
    const after = await ok(get<InvoiceJson>(`/v1/invoices/${invoice}`, s.opts));
    expect(after).toMatchObject({ status: "open", amount_paid: 0 });
    expect((await subscription(s, sub.id)).status).toBe("incomplete");
    // Its own attempt's intent does settle it (the customer confirmed it).
    await onIntentEvents(env, [forged({ id: own })]);
    expect(await ok(get<InvoiceJson>(`/v1/invoices/${invoice}`, s.opts))).toMatchObject({ status: "paid", payment_intent: own });
  });
});

describe("billing events", () => {
  it("are delivered to webhook endpoints like every other event, signed", async () => {
    const s = await setup("sub-webhooks");
    const hook = receiverHook("billing");
    await createEndpoint(hook.url, ["customer.subscription.created", "invoice.created", "invoice.paid", "invoice.payment_succeeded", "payment_method.attached"], s.opts);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const got = await waitFor(async () => {
      const received = await receivedBy(hook.name);
      const types = received.map((r) => (JSON.parse(r.body) as { type: string }).type);
      return ["customer.subscription.created", "invoice.created", "invoice.paid", "invoice.payment_succeeded"].every((t) => types.includes(t)) ? received : undefined;
    }, 20_000, "billing events at the endpoint");
    const paid = got.map((r) => JSON.parse(r.body) as EventJson).find((e) => e.type === "invoice.paid");
    expect(paid?.data.object).toMatchObject({ object: "invoice", subscription: sub.id, status: "paid", amount_paid: 1999 });
    expect(got.every((r) => typeof r.headers["stripe-signature"] === "string")).toBe(true);
    // Not subscribed: not sent (the card was attached before the endpoint existed anyway).
    expect(got.some((r) => (JSON.parse(r.body) as EventJson).type === "payment_intent.succeeded")).toBe(false);
  });
});

describe("billing events that missed the queue", () => {
  it("are handed to it again by the cron sweep", async () => {
    const m = await newMerchant("refan");
    const old = Date.now() - 120_000;
    const record = { id: `evt_refan${Date.now()}`, type: "invoice.created", created: old, merchantId: m.id, livemode: false, object: { id: "in_refan", object: "invoice" }, requestId: null, idempotencyKey: null };
    await env.DB.prepare("INSERT INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) VALUES (?, ?, 0, ?, NULL, 0, ?, ?)")
      .bind(record.id, m.id, record.type, old, JSON.stringify(record))
      .run();
    expect((await refanEvents(env, Date.now())).done).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await env.DB.prepare("SELECT fanned_out FROM events WHERE id = ?").bind(record.id).first<{ fanned_out: number }>())?.fanned_out === 1, 15_000, "the event fanned out");
  });
});

describe("dunning", () => {
  it("ends a subscription whose renewal never gets paid (merchant setting: canceled, the default)", async () => {
    const s = await setup("dun-cancel");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined" }, s.opts));
    await ok(post(`/v1/subscriptions/${sub.id}`, { default_payment_method: declining.id }, s.opts));
    await advance(s, t("2026-03-10T00:00:00Z"));
    const after = await subscription(s, sub.id);
    expect(after).toMatchObject({ status: "canceled", canceled_at: t("2026-03-05T10:00:00Z") });
    const renewal = (await invoicesOf(s, sub.id))[1] as InvoiceJson;
    expect(renewal).toMatchObject({ status: "uncollectible", attempt_count: 4, next_payment_attempt: null, status_transitions: { marked_uncollectible_at: t("2026-03-05T10:00:00Z"), voided_at: null } });
    expect((await eventsOf(s, "invoice.payment_failed")).length).toBe(4);
    expect((await eventsOf(s, "customer.subscription.deleted")).length).toBe(1);
  });

  it("leaves it unpaid when the merchant says so; paying the invoice later makes it active", async () => {
    const s = await setup("dun-unpaid");
    await ok(post("/v1/account", { settings: { subscription_dunning_final_action: "unpaid" } }, s.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined" }, s.opts));
    await ok(post(`/v1/subscriptions/${sub.id}`, { default_payment_method: declining.id }, s.opts));
    await advance(s, t("2026-03-10T00:00:00Z"));
    expect((await subscription(s, sub.id)).status).toBe("unpaid");
    const renewal = (await invoicesOf(s, sub.id))[1] as InvoiceJson;
    expect(renewal.status).toBe("uncollectible");

    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${renewal.id}/pay`, { payment_method: s.card, expand: ["payment_intent"] }, s.opts));
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1999, attempt_count: 5 });
    expect((paid.payment_intent as PaymentIntentJson).status).toBe("succeeded");
    expect((await subscription(s, sub.id)).status).toBe("active");
    expectError(await post(`/v1/invoices/${renewal.id}/pay`, {}, s.opts), 400, "invoice_already_paid");
  });
});

describe("subscriptions", () => {
  it("with a trial start with a zero invoice and bill when the trial ends", async () => {
    const s = await setup("sub-trial", "2026-06-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price, quantity: 2 }], trial_period_days: 14 }, s.opts));
    expect(sub).toMatchObject({ status: "trialing", trial_end: t("2026-06-15T00:00:00Z"), current_period_end: t("2026-06-15T00:00:00Z") });
    expect(await succeededCharges(s)).toHaveLength(0);
    await advance(s, t("2026-06-15T01:00:00Z"));
    const after = await subscription(s, sub.id);
    expect(after).toMatchObject({ status: "active", current_period_start: t("2026-06-15T00:00:00Z"), current_period_end: t("2026-07-15T00:00:00Z") });
    const invoices = await invoicesOf(s, sub.id);
    expect(invoices.map((i) => [i.amount_due, i.status])).toEqual([
      [0, "paid"],
      [3998, "paid"],
    ]);
  });

  it("a year on a test clock bills twelve months in order, once each", async () => {
    const s = await setup("sub-year", "2026-01-15T08:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    await advanceInSteps(s, t("2027-01-15T09:00:00Z"));
    const invoices = await invoicesOf(s, sub.id);
    expect(invoices).toHaveLength(13);
    expect(invoices.every((i) => i.status === "paid" && i.attempt_count === 1)).toBe(true);
    expect(invoices.map((i) => new Date((i.lines.data[0]?.period.start ?? 0) * 1000).toISOString().slice(0, 10))).toEqual([
      "2026-01-15", "2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15", "2026-06-15", "2026-07-15",
      "2026-08-15", "2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15", "2027-01-15",
    ]);
    expect(await succeededCharges(s)).toHaveLength(13);
    expect((await subscription(s, sub.id)).current_period_end).toBe(t("2027-02-15T08:00:00Z"));
  });

  it("whose first payment needs 3DS stay incomplete with the intent's next_action, and activate once it passes", async () => {
    const s = await setup("sub-3ds", "2026-02-01T00:00:00Z", "tok_threeDSecure2Required");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, expand: ["latest_invoice.payment_intent"] }, s.opts));
    expect(sub.status).toBe("incomplete");
    const invoice = sub.latest_invoice as InvoiceJson;
    expect(invoice).toMatchObject({ status: "open", attempt_count: 1 });
    const intent = invoice.payment_intent as PaymentIntentJson;
    expect(intent.status).toBe("requires_action");
    expect(intent.next_action?.type).toBe("redirect_to_url");
    expect((await eventsOf(s, "invoice.payment_action_required")).length).toBe(1);
    // No sweep touches an incomplete subscription's invoice (until it expires, 23 hours after it started).
    await advance(s, t("2026-02-01T22:00:00Z"));
    expect((await subscription(s, sub.id)).status).toBe("incomplete");

    // The customer passes the challenge: the intent's event settles the invoice.
    const answer = await exports.default.fetch(
      new Request(intent.next_action?.url ?? "", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `client_secret=${encodeURIComponent(intent.client_secret)}&outcome=approve`,
        redirect: "manual",
      }),
    );
    expect(answer.status).toBeLessThan(400);
    await waitFor(async () => (await subscription(s, sub.id)).status === "active", 15_000, "the subscription to activate");
    const paid = (await invoicesOf(s, sub.id))[0] as InvoiceJson;
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1999, payment_intent: intent.id });
  });

  it("whose first payment is declined stay incomplete; paying the invoice with another card activates them", async () => {
    const s = await setup("sub-declined", "2026-02-01T00:00:00Z", "tok_chargeDeclined");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(sub.status).toBe("incomplete");
    // Paying it again with the declining card: a 402 card_error with the attempt's payment intent, as Stripe answers (it was a 200).
    const again = await post<{ error: { type: string; code: string; decline_code?: string; payment_intent?: { id: string; status: string } } }>(`/v1/invoices/${sub.latest_invoice as string}/pay`, {}, s.opts);
    expect(again.status, JSON.stringify(again.body)).toBe(402);
    expect(again.body.error).toMatchObject({ type: "card_error", code: "card_declined", payment_intent: { status: "requires_payment_method" } });
    const good = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa" }, s.opts));
    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${sub.latest_invoice as string}/pay`, { payment_method: good.id }, s.opts));
    expect(paid).toMatchObject({ status: "paid", attempt_count: 3 });
    expect((await subscription(s, sub.id)).status).toBe("active");
  });

  it("with payment_behavior=default_incomplete (Stripe's subscription quickstart) wait for the customer to confirm the first invoice's intent", async () => {
    const s = await setup("sub-default-incomplete", "2026-02-01T00:00:00Z");
    // The quickstart's customer has no card yet.
    const bare = await ok(post<{ id: string }>("/v1/customers", { email: "quickstart@example.com", test_clock: s.clock.id }, s.opts));
    const sub = await ok(
      call<SubscriptionJson>("POST", "/v1/subscriptions", {
        ...s.opts,
        form: `customer=${bare.id}&items[0][price]=${s.price}&payment_behavior=default_incomplete&payment_settings[save_default_payment_method]=on_subscription&expand[]=latest_invoice.payment_intent`,
      }),
    );
    expect(sub.status).toBe("incomplete");
    const invoice = sub.latest_invoice as InvoiceJson;
    expect(invoice).toMatchObject({ status: "open", amount_due: 1999, amount_paid: 0, attempt_count: 0, next_payment_attempt: null });
    const intent = invoice.payment_intent as PaymentIntentJson;
    expect(intent).toMatchObject({ status: "requires_payment_method", amount: 1999, currency: "usd", customer: bare.id });
    expect(intent.client_secret).toMatch(new RegExp(`^${intent.id}_secret_`));
    // Nothing charges it meanwhile: no sweep (it would expire 23 hours after it started: test/billing/incomplete-expiry.test.ts).
    await advance(s, t("2026-02-01T22:00:00Z"));
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, s.opts))).toMatchObject({ status: "requires_payment_method" });
    expect((await subscription(s, sub.id)).status).toBe("incomplete");

    // The customer confirms it (stripe.confirmCardPayment(client_secret) in the quickstart).
    const confirmed = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts));
    expect(confirmed.status).toBe("succeeded");
    // At once, in the next answers (it waited for the events queue: README says "once it succeeds").
    expect((await subscription(s, sub.id)).status).toBe("active");
    expect((await invoicesOf(s, sub.id))[0]).toMatchObject({ status: "paid", amount_paid: 1999, attempt_count: 1, payment_intent: intent.id });
    // One charge, the customer's.
    expect((await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${bare.id}/payment_intents?limit=100`, s.opts))).data.filter((p) => p.status === "succeeded")).toHaveLength(1);

    // save_default_payment_method=on_subscription: the card confirmed with is saved to the customer and
    // is the subscription's default, so the renewals are charged with it (they failed four times and
    // canceled the subscription, with no card anywhere).
    const active = (await subscription(s, sub.id)) as SubscriptionJson & { payment_settings: { save_default_payment_method: string } };
    expect(active.payment_settings.save_default_payment_method).toBe("on_subscription");
    const saved = (await ok(get<ListJson<{ id: string; card: { last4: string } }>>(`/v1/customers/${bare.id}/payment_methods`, s.opts))).data;
    expect(saved.map((p) => p.card.last4)).toEqual(["4242"]);
    expect(active.default_payment_method).toBe(saved[0]?.id);
    await advance(s, t("2026-03-02T00:00:00Z"));
    const renewal = (await invoicesOf(s, sub.id))[1] as InvoiceJson;
    expect(renewal).toMatchObject({ billing_reason: "subscription_cycle", status: "paid", attempt_count: 1 });
    expect((await subscription(s, sub.id)).status).toBe("active");
  });

  it("an invoice's payment intent keeps the invoice's amount, currency, customer and invoice metadata: an update of them is refused (it paid a 19.99 invoice with 0.50)", async () => {
    const s = await setup("sub-invoice-intent-fields", "2026-02-01T00:00:00Z");
    const other = await ok(post<{ id: string }>("/v1/customers", { email: "other@example.com", test_clock: s.clock.id }, s.opts));
    const bare = await ok(post<{ id: string }>("/v1/customers", { email: "fields@example.com", test_clock: s.clock.id }, s.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: bare.id, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const intent = (sub.latest_invoice as InvoiceJson).payment_intent as PaymentIntentJson;
    for (const [change, param] of [
      [{ amount: 50 }, "amount"],
      [{ currency: "eur" }, "currency"],
      [{ customer: other.id }, "customer"],
      [{ metadata: { invoice_attempt: "7" } }, "metadata[invoice_attempt]"],
      [{ metadata: { invoice: "" } }, "metadata[invoice]"],
    ] as const) {
      expect(expectError(await post(`/v1/payment_intents/${intent.id}`, change, s.opts), 400).param, JSON.stringify(change)).toBe(param);
    }
    // What does not change what it pays may be updated; the same amount is no change.
    expect(await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, { amount: 1999, description: "Pro plan, February", metadata: { note: "ok" } }, s.opts))).toMatchObject({ amount: 1999, description: "Pro plan, February" });
    await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts));
    expect((await invoicesOf(s, sub.id))[0]).toMatchObject({ status: "paid", amount_paid: 1999 });
    expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, s.opts))).amount_received).toBe(1999);
  });

  it("with save_default_payment_method=on_subscription attach a payment method saved without a customer (created, then confirmed with: Stripe's usual card flow) and make it the default", async () => {
    const s = await setup("sub-save-default-unattached", "2026-02-01T00:00:00Z");
    const bare = await ok(post<{ id: string }>("/v1/customers", { email: "flow@example.com", test_clock: s.clock.id }, s.opts));
    const pm = await ok(post<{ id: string; customer: string | null }>("/v1/payment_methods", { type: "card", card: { token: "tok_amex" } }, s.opts));
    expect(pm.customer).toBeNull();
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: bare.id, price: s.price, payment_behavior: "default_incomplete", payment_settings: { save_default_payment_method: "on_subscription" }, expand: ["latest_invoice.payment_intent"] }, s.opts));
    const intent = (sub.latest_invoice as InvoiceJson).payment_intent as PaymentIntentJson;
    await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: pm.id }, s.opts));
    expect(await subscription(s, sub.id)).toMatchObject({ status: "active", default_payment_method: pm.id });
    expect((await ok(get<{ customer: string | null }>(`/v1/payment_methods/${pm.id}`, s.opts))).customer).toBe(bare.id);
  });

  it("with save_default_payment_method off (the default) leave the subscription's default payment method as it was; an update turns it on", async () => {
    const s = await setup("sub-save-default-off", "2026-02-01T00:00:00Z");
    const bare = await ok(post<{ id: string }>("/v1/customers", { email: "off@example.com", test_clock: s.clock.id }, s.opts));
    const sub = await ok(post<SubscriptionJson & { payment_settings: { save_default_payment_method: string } }>("/v1/subscriptions", { customer: bare.id, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    expect(sub.payment_settings.save_default_payment_method).toBe("off");
    const intent = (sub.latest_invoice as InvoiceJson).payment_intent as PaymentIntentJson;
    await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts));
    expect(await subscription(s, sub.id)).toMatchObject({ status: "active", default_payment_method: null });
    const on = await ok(post<SubscriptionJson & { payment_settings: { save_default_payment_method: string } }>(`/v1/subscriptions/${sub.id}`, { payment_settings: { save_default_payment_method: "on_subscription" } }, s.opts));
    expect(on.payment_settings.save_default_payment_method).toBe("on_subscription");
    expectError(await post(`/v1/subscriptions/${sub.id}`, { payment_settings: { save_default_payment_method: "always" } }, s.opts), 400);
  });

  it("with payment_behavior=default_incomplete stay incomplete on a decline, and activate when the customer confirms again with another card", async () => {
    const s = await setup("sub-default-incomplete-decline", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const intent = (sub.latest_invoice as InvoiceJson).payment_intent as PaymentIntentJson;
    // The customer's default card is on it, waiting for the confirmation.
    expect(intent.status).toBe("requires_confirmation");
    expect(intent.payment_method).toBe(s.card);
    expect(await succeededCharges(s)).toHaveLength(0);

    expectError(await post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }, s.opts), 402, "card_declined");
    await waitFor(async () => (await eventsOf(s, "invoice.payment_failed")).length === 1, 15_000, "the invoice's failed payment");
    expect((await subscription(s, sub.id)).status).toBe("incomplete");
    expect((await invoicesOf(s, sub.id))[0]).toMatchObject({ status: "open", amount_paid: 0, payment_intent: intent.id });
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, s.opts))).toMatchObject({ status: "requires_payment_method" });

    await ok(post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts));
    await waitFor(async () => (await subscription(s, sub.id)).status === "active", 15_000, "the subscription to activate");
    expect((await invoicesOf(s, sub.id))[0]).toMatchObject({ status: "paid", amount_paid: 1999, payment_intent: intent.id });
  });

  it("with payment_behavior=default_incomplete paid by the merchant (POST /v1/invoices/{id}/pay): the customer's pending intent is canceled, so it cannot charge twice", async () => {
    const s = await setup("sub-default-incomplete-pay", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const invoice = sub.latest_invoice as InvoiceJson;
    const pending = invoice.payment_intent as PaymentIntentJson;
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${invoice.id}/pay`, {}, s.opts))).toMatchObject({ status: "paid", amount_paid: 1999 });
    expect((await subscription(s, sub.id)).status).toBe("active");
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pending.id}`, s.opts))).toMatchObject({ status: "canceled" });
    expect((await post(`/v1/payment_intents/${pending.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts)).status).toBe(400);
    expect(await succeededCharges(s)).toHaveLength(1);
  });

  it("are canceled now: open invoices are voided and nothing more is billed", async () => {
    const s = await setup("sub-cancel-now");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, metadata: { order: "42" } }, s.opts));
    const canceled = await ok(call<SubscriptionJson>("DELETE", `/v1/subscriptions/${sub.id}`, s.opts));
    expect(canceled).toMatchObject({ status: "canceled", ended_at: t("2026-01-31T10:00:00Z") });
    await advance(s, t("2026-04-01T00:00:00Z"));
    expect(await invoicesOf(s, sub.id)).toHaveLength(1);
    expectError(await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }, s.opts), 400, "invalid_canceled_subscription_fields");
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?customer=${s.customer}`, s.opts))).data).toEqual([]);
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?customer=${s.customer}&status=canceled`, s.opts))).data).toHaveLength(1);
  });

  it("an open invoice of a subscription that ended (its cancellation stopped before voiding it) is voided by the sweep, never charged", async () => {
    const s = await setup("sub-ended-open-invoice", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const invoice = sub.latest_invoice as InvoiceJson;
    const waiting = invoice.payment_intent as PaymentIntentJson;
    // The cancellation ended the subscription, then stopped: its invoice is still open, and due.
    await env.DB.prepare("UPDATE subscriptions SET status = 'canceled', canceled_at = ?1, ended_at = ?1, version = version + 1 WHERE id = ?2").bind(t("2026-02-01T00:00:00Z") * 1000, sub.id).run();
    await env.DB.prepare("UPDATE invoices SET next_payment_attempt = ? WHERE id = ?").bind(t("2026-02-01T01:00:00Z") * 1000, invoice.id).run();
    await advance(s, t("2026-02-01T02:00:00Z"));
    expect((await invoicesOf(s, sub.id))[0]).toMatchObject({ status: "void", amount_paid: 0, next_payment_attempt: null });
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${waiting.id}`, s.opts))).toMatchObject({ status: "canceled" });
    expect(await succeededCharges(s)).toHaveLength(0);
    expect((await eventsOf(s, "invoice.voided")).map((e) => e.data.object.id)).toEqual([invoice.id]);
  });

  it("a cancellation does not void an invoice a payment attempt holds (it was voided, then paid); the attempt, seeing the subscription ended, voids it and charges nothing", async () => {
    const s = await setup("sub-cancel-claimed", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(sub.status).toBe("active");
    const charged = (await succeededCharges(s)).length;
    // The renewal falls due; a sweep is attempting it (it holds the invoice's claim) when the cancellation comes.
    await advance(s, t("2026-02-28T09:00:00Z"));
    const renewal = { id: `in_claimed_${Date.now()}` };
    const [first] = await invoicesOf(s, sub.id);
    const row = await env.DB.prepare("SELECT * FROM invoices WHERE id = ?").bind(first?.id).first<Record<string, unknown>>();
    const due = t("2026-03-01T09:59:00Z") * 1000;
    const copy: Record<string, unknown> = { ...row, id: renewal.id, status: "open", amount_paid: 0, attempt_count: 0, next_payment_attempt: due, period_start: due, period_end: due + 28 * 86_400_000, payment_intent: null, paid_at: null, created: due, claimed_until: Date.now() + 60_000 };
    const columns = Object.keys(copy);
    await env.DB.prepare(`INSERT INTO invoices (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`).bind(...columns.map((c) => copy[c] ?? null)).run();
    expect((await call("DELETE", `/v1/subscriptions/${sub.id}`, s.opts)).status).toBe(200);
    const held = await env.DB.prepare("SELECT status FROM invoices WHERE id = ?").bind(renewal.id).first<{ status: string }>();
    expect(held?.status).toBe("open");
    expect((await eventsOf(s, "invoice.voided")).map((e) => e.data.object.id)).not.toContain(renewal.id);
    // The attempt goes on (here: the sweep, once the claim is free): the subscription has ended, so no charge.
    await env.DB.prepare("UPDATE invoices SET claimed_until = NULL WHERE id = ?").bind(renewal.id).run();
    await advance(s, t("2026-03-01T11:00:00Z"));
    expect((await env.DB.prepare("SELECT status, amount_paid FROM invoices WHERE id = ?").bind(renewal.id).first())).toMatchObject({ status: "void", amount_paid: 0 });
    expect(await succeededCharges(s)).toHaveLength(charged);
  });

  it("an unpaid subscription paid up months later resumes with the current period, billed once (it charged every missed period at once)", async () => {
    const s = await setup("sub-unpaid-resume");
    await ok(post("/v1/account", { settings: { subscription_dunning_final_action: "unpaid" } }, s.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const declining = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_chargeDeclined" }, s.opts));
    await ok(post(`/v1/subscriptions/${sub.id}`, { default_payment_method: declining.id }, s.opts));
    await advanceInSteps(s, t("2026-08-10T00:00:00Z"));
    expect((await subscription(s, sub.id)).status).toBe("unpaid");
    const owed = (await invoicesOf(s, sub.id)).filter((i) => i.status === "uncollectible" || i.status === "open");
    expect(owed).toHaveLength(1);
    const before = (await succeededCharges(s)).length;
    await ok(post(`/v1/subscriptions/${sub.id}`, { default_payment_method: s.card }, s.opts));
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${owed[0]?.id}/pay`, { payment_method: s.card }, s.opts))).toMatchObject({ status: "paid" });
    await advance(s, t("2026-08-10T00:01:00Z"));
    const after = await subscription(s, sub.id);
    expect(after.status).toBe("active");
    expect(after.current_period_start).toBe(t("2026-07-31T10:00:00Z"));
    // The invoice paid up and the current period's: not one for each month it was unpaid.
    expect((await succeededCharges(s)).length).toBe(before + 2);
    const periods = (await invoicesOf(s, sub.id)).map((i) => i.lines.data[0]?.period.start ?? 0);
    expect(periods.filter((p) => p > t("2026-03-01T00:00:00Z") && p < t("2026-07-31T00:00:00Z"))).toEqual([]);
  });

  it("an invoice keeps the customer's email, name and phone as they were when it was made (renewals take the new ones)", async () => {
    const s = await setup("sub-contact");
    await ok(post(`/v1/customers/${s.customer}`, { name: "Ada Lovelace", phone: "+441234567890" }, s.opts));
    const created = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const first = { customer_email: "sub-contact@example.com", customer_name: "Ada Lovelace", customer_phone: "+441234567890" };
    expect((await invoicesOf(s, created.id))[0]).toMatchObject(first);
    const createdEvents = await eventsOf(s, "invoice.created");
    expect(createdEvents[0]?.data.object).toMatchObject(first);

    // The customer changes: the first invoice keeps what it had; the renewal's invoice has the new ones.
    await ok(post(`/v1/customers/${s.customer}`, { email: "ada@example.org", name: "Ada King", phone: "" }, s.opts));
    await advance(s, t("2026-02-28T11:00:00Z"));
    const [one, two] = await invoicesOf(s, created.id);
    expect(one).toMatchObject(first);
    expect(two).toMatchObject({ billing_reason: "subscription_cycle", customer_email: "ada@example.org", customer_name: "Ada King" });
    expect(await ok(get<InvoiceJson>(`/v1/invoices/${two?.id}`, s.opts))).toMatchObject({ customer_email: "ada@example.org", customer_name: "Ada King" });
  });

  it("an invoice keeps the customer's address and shipping as they were when it was made (renewals take the new ones; none is null)", async () => {
    const s = await setup("sub-address");
    const home = { line1: "12 St James's Sq", city: "London", postal_code: "SW1Y 4JH", country: "GB" };
    const nulls = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };
    // Without an address or shipping: null, as at Stripe.
    const bare = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect((await invoicesOf(s, bare.id))[0]).toMatchObject({ customer_address: null, customer_shipping: null });
    await ok(call("DELETE", `/v1/subscriptions/${bare.id}`, s.opts));

    await ok(post(`/v1/customers/${s.customer}`, { address: home, shipping: { name: "Ada at home", phone: "+441234567890", address: home } }, s.opts));
    const created = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const first = { customer_address: { ...nulls, ...home }, customer_shipping: { name: "Ada at home", phone: "+441234567890", address: { ...nulls, ...home } } };
    expect((await invoicesOf(s, created.id))[0]).toEqual(expect.objectContaining(first));
    const createdEvents = (await eventsOf(s, "invoice.created")).filter((e) => e.data.object.subscription === created.id);
    expect(createdEvents[0]?.data.object).toEqual(expect.objectContaining(first));

    // The customer moves and drops its shipping: the first invoice keeps what it had, the renewal's has the new.
    const work = { line1: "1 Dock Rd", city: "Bristol", country: "GB" };
    await ok(post(`/v1/customers/${s.customer}`, { address: work, shipping: "" }, s.opts));
    await advance(s, t("2026-02-28T11:00:00Z"));
    const [one, two] = await invoicesOf(s, created.id);
    expect(one).toEqual(expect.objectContaining(first));
    expect(two).toMatchObject({ billing_reason: "subscription_cycle", customer_address: { ...nulls, ...work }, customer_shipping: null });
    expect(await ok(get<InvoiceJson>(`/v1/invoices/${two?.id}`, s.opts))).toMatchObject({ customer_address: { ...nulls, ...work }, customer_shipping: null });
  });

  it("an invoice line's pricing names its price and the price's product (Stripe's price_details), on renewals and in events too", async () => {
    const s = await setup("sub-pricing");
    const price = await ok(get<{ id: string; product: string }>(`/v1/prices/${s.price}`, s.opts));
    expect(price.product).toMatch(/^prod_/);
    const created = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, quantity: 2 }, s.opts));
    const pricing = { type: "price_details", price_details: { price: s.price, product: price.product }, unit_amount_decimal: "1999" };
    type Lines = { lines: { data: { price: string; quantity: number; pricing: unknown }[] } };
    const [first] = (await invoicesOf(s, created.id)) as unknown as Lines[];
    expect(first?.lines.data).toEqual([expect.objectContaining({ price: s.price, quantity: 2, pricing })]);
    const lines = await ok(get<ListJson<{ pricing: unknown }>>(`/v1/invoices/${(first as unknown as { id: string }).id}/lines`, s.opts));
    expect(lines.data.map((l) => l.pricing)).toEqual([pricing]);
    expect((await eventsOf(s, "invoice.created"))[0]?.data.object).toMatchObject({ lines: { data: [{ pricing }] } });
    await advance(s, t("2026-02-28T11:00:00Z"));
    const [, renewal] = (await invoicesOf(s, created.id)) as unknown as Lines[];
    expect(renewal?.lines.data[0]?.pricing).toEqual(pricing);

    // An invoice made before migration 0022 gets its price's product from the migration.
    const invoiceId = (first as unknown as { id: string }).id;
    await env.DB.prepare("UPDATE invoices SET product = NULL WHERE id = ?").bind(invoiceId).run();
    const bare = await ok(get<Lines>(`/v1/invoices/${invoiceId}`, s.opts));
    expect(bare.lines.data[0]?.pricing).toEqual({ type: "price_details", unit_amount_decimal: "1999" });
    const backfill = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0022_"))?.queries.find((q) => q.includes("UPDATE invoices"));
    if (!backfill) throw new Error("migration 0022 has no UPDATE invoices");
    await env.DB.prepare(`${backfill.trim().replace(/;$/, "")} WHERE id = ?`).bind(invoiceId).run();
    expect((await ok(get<Lines>(`/v1/invoices/${invoiceId}`, s.opts))).lines.data[0]?.pricing).toEqual(pricing);
  });

  it("a one-time price (no recurring) is Stripe's type=one_time, sells through Checkout, and no subscription takes it", async () => {
    const s = await setup("sub-one-time");
    const once = await ok(post<{ id: string; type: string; recurring: unknown }>("/v1/prices", { unit_amount: 2500, currency: "usd", product_data: { name: "T-shirt" } }, s.opts));
    expect(once).toMatchObject({ type: "one_time", recurring: null });
    expect(await ok(get<{ type: string; recurring: unknown }>(`/v1/prices/${once.id}`, s.opts))).toMatchObject({ type: "one_time", recurring: null });
    expect(await ok(get<{ type: string }>(`/v1/prices/${s.price}`, s.opts))).toMatchObject({ type: "recurring", recurring: { interval: "month", interval_count: 1 } });
    const refused = expectError(await call("POST", "/v1/subscriptions", { ...s.opts, form: `customer=${s.customer}&items[0][price]=${once.id}` }), 400);
    expect(refused.param).toBe("items[0][price]");
    expect(refused.message).toContain("type=one_time");
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?customer=${s.customer}&status=all`, s.opts))).data).toEqual([]);
    const session = await ok(
      post<{ amount_total: number; line_items?: { data: { price: { id: string; type: string } }[] } }>(
        "/v1/checkout/sessions",
        { mode: "payment", line_items: [{ price: once.id, quantity: 2 }], success_url: "https://shop.example/ok", expand: ["line_items"] },
        s.opts,
      ),
    );
    expect(session.amount_total).toBe(5000);
    expect(session.line_items?.data[0]?.price).toMatchObject({ id: once.id, type: "one_time" });
  });

  it("reject bad input with a 4xx and create nothing", async () => {
    const s = await setup("sub-bad");
    const other = await newMerchant("sub-bad-other");
    const foreignPrice = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "eur", recurring: { interval: "week" }, product_name: "Other" }, other.opts));
    const bare = await ok(post<{ id: string }>("/v1/customers", { email: "bare@example.com" }, s.opts));
    expectError(await post("/v1/subscriptions", { customer: bare.id, price: s.price }, s.opts), 400, "resource_missing");
    // Objects named in parameters that are missing (or another merchant's): 400 resource_missing, as at Stripe.
    expectError(await post("/v1/subscriptions", { customer: s.customer, price: foreignPrice.id }, s.opts), 400, "resource_missing");
    expectError(await post("/v1/subscriptions", { customer: "cus_nope12345678", price: s.price }, s.opts), 400, "resource_missing");
    expectError(await post("/v1/subscriptions", { customer: s.customer, price: s.price, quantity: 0 }, s.opts), 400);
    expectError(await post("/v1/subscriptions", { customer: s.customer }, s.opts), 400, "parameter_missing");
    expectError(await post("/v1/prices", { unit_amount: 100, currency: "xyz", recurring: { interval: "month" }, product_name: "x" }, s.opts), 400);
    expectError(await post("/v1/prices", { unit_amount: 1.5, currency: "usd", recurring: { interval: "month" }, product_name: "x" }, s.opts), 400);
    expectError(await post("/v1/prices", { unit_amount: 100, currency: "usd", recurring: { interval: "fortnight" }, product_name: "x" }, s.opts), 400);
    expectError(await post("/v1/prices", { unit_amount: 100, currency: "usd", recurring: { interval: "month" } }, s.opts), 400, "parameter_missing");
    await ok(post(`/v1/prices/${s.price}`, { active: false }, s.opts));
    expectError(await post("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts), 400, "price_inactive");
    // Another merchant's customer names nothing of its own: a list by it is a 400 resource_missing, as an unknown one.
    expect(expectError(await get(`/v1/subscriptions?customer=${s.customer}&status=all`, other.opts), 400, "resource_missing").param).toBe("customer");
    expect((await ok(get<ListJson<SubscriptionJson>>("/v1/subscriptions?status=all", s.opts))).data).toEqual([]);
    // Clocks move forward only, one advance at a time.
    expectError(await post(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: s.clock.frozen_time - DAY }, s.opts), 400, "test_clock_backwards");
    expectError(await post(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: t("9000-01-01T00:00:00Z") }, s.opts), 400);
    expectError(await post(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: "soon" }, s.opts), 400);
  });
});

describe("renewal sweeps", () => {
  it("two overlapping sweeps of a clock renew a period once and charge it once", async () => {
    const s = await setup("sweep-clock");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    // Move the clock without running its sweep, then run two sweeps at once.
    const to = Date.parse("2026-02-28T12:00:00Z");
    await env.DB.prepare("UPDATE test_clocks SET frozen_time = ? WHERE id = ?").bind(to, s.clock.id).run();
    const sweep = () => processDue(env, { testClock: s.clock.id, now: to, limit: 50, origin: "http://gateway.test" });
    await Promise.all([sweep(), sweep(), sweep()]);
    const invoices = await invoicesOf(s, sub.id);
    expect(invoices.map((i) => [i.status, i.attempt_count])).toEqual([
      ["paid", 1],
      ["paid", 1],
    ]);
    expect(await succeededCharges(s)).toHaveLength(2);
    expect((await eventsOf(s, "invoice.created")).length).toBe(2);
    expect((await eventsOf(s, "invoice.finalized")).length).toBe(2);
    expect((await eventsOf(s, "invoice.paid")).length).toBe(2);
    expect((await eventsOf(s, "invoice.payment_succeeded")).length).toBe(2);
  });

  it("two overlapping cron sweeps renew a real-time subscription once", async () => {
    const m = await newMerchant("sweep-cron");
    const cus = await ok(post<{ id: string }>("/v1/customers", { email: "cron@example.com" }, m.opts));
    await ok(post(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 700, currency: "usd", recurring: { interval: "day" }, product_name: "Daily" }, m.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: cus.id, price: price.id }, m.opts));
    // Pretend it started a day and a minute ago.
    const shift = 86_400_000 + 60_000;
    await env.DB.prepare("UPDATE subscriptions SET current_period_start = current_period_start - ?, current_period_end = current_period_end - ?, billing_cycle_anchor = billing_cycle_anchor - ? WHERE id = ?")
      .bind(shift, shift, shift, sub.id)
      .run();
    const now = Date.now();
    await Promise.all([billingSweep(env, now), billingSweep(env, now)]);
    const invoices = (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}`, m.opts))).data;
    expect(invoices.map((i) => i.status)).toEqual(["paid", "paid"]);
    const intents = (await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${cus.id}/payment_intents`, m.opts))).data;
    expect(intents.filter((p) => p.status === "succeeded")).toHaveLength(2);
    const after = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, m.opts));
    expect(after.current_period_end * 1000).toBeGreaterThan(now);
  });

  it("a subscription the sweep cannot renew (its price gone) does not stop it: the ones due after it renew", async () => {
    const s = await setup("sweep-poison");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    // A copy due before it whose price does not exist: renewing it throws, every time.
    const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('subscriptions')").all<{ name: string }>()).results.map((c) => c.name);
    const select = columns.map((c) => (c === "id" ? "?1" : c === "price" ? "'price_gone'" : c === "current_period_end" ? "current_period_end - 1000" : c === "latest_invoice" ? "NULL" : c)).join(", ");
    await env.DB.prepare(`INSERT INTO subscriptions (${columns.join(", ")}) SELECT ${select} FROM subscriptions WHERE id = ?2`).bind(`${sub.id}_poison`, sub.id).run();
    const to = Date.parse("2026-02-28T12:00:00Z");
    await env.DB.prepare("UPDATE test_clocks SET frozen_time = ? WHERE id = ?").bind(to, s.clock.id).run();
    try {
      await processDue(env, { testClock: s.clock.id, now: to, limit: 50, origin: "http://gateway.test" });
      expect((await invoicesOf(s, sub.id)).map((i) => [i.status, i.attempt_count])).toEqual([
        ["paid", 1],
        ["paid", 1],
      ]);
      expect((await env.DB.prepare("SELECT period_index FROM subscriptions WHERE id = ?").bind(`${sub.id}_poison`).first<{ period_index: number }>())?.period_index).toBe(0);
    } finally {
      await env.DB.prepare("DELETE FROM subscriptions WHERE id = ?").bind(`${sub.id}_poison`).run();
    }
  });

  it("a clock left advancing by a request that died is finished by the cron sweep", async () => {
    const s = await setup("sweep-stuck-clock");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    await env.DB.prepare("UPDATE test_clocks SET frozen_time = ?, status = 'advancing' WHERE id = ?").bind(Date.parse("2026-03-01T00:00:00Z"), s.clock.id).run();
    expectError(await post(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: t("2026-04-01T00:00:00Z") }, s.opts), 400, "test_clock_advancing");
    await billingSweep(env, Date.now());
    expect((await invoicesOf(s, sub.id)).map((i) => i.status)).toEqual(["paid", "paid"]);
    expect((await ok(get<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}`, s.opts))).status).toBe("ready");
  });

  it("two advances of one clock at once: one runs, the other is told the clock is advancing", async () => {
    const s = await setup("sweep-advance");
    await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const [a, b] = await Promise.all([
      post<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: t("2026-03-01T00:00:00Z") }, s.opts),
      post<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}/advance`, { frozen_time: t("2026-03-02T00:00:00Z") }, s.opts),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 400]);
    expect(await succeededCharges(s)).toHaveLength(2);
    expect((await ok(get<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock.id}`, s.opts))).status).toBe("ready");
  });
});

describe("concurrent updates of one subscription", () => {
  it("each is applied or answered 429 lock_timeout (never a 500), and a 429 retried with its Idempotency-Key is applied", async () => {
    const s = await setup("sub-concurrent-updates");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price }] }, s.opts));
    const keys = Array.from({ length: 20 }, (_, i) => uniqueKey(`sub-update-${i}`));
    const update = (i: number) => post<SubscriptionJson & { error?: { code?: string; type?: string } }>(`/v1/subscriptions/${sub.id}`, { metadata: { [`k${i}`]: `v${i}` } }, { ...s.opts, idempotencyKey: keys[i] });
    const answers = await Promise.all(keys.map((_, i) => update(i)));
    expect(answers.map((a) => a.status).filter((status) => status !== 200 && status !== 429)).toEqual([]);
    for (const a of answers.filter((a) => a.status === 429)) expect(a.body.error).toMatchObject({ type: "invalid_request_error", code: "lock_timeout" });
    // The busy ones, retried with their keys one at a time, are applied (a 429 is not the key's answer).
    for (const [i, a] of answers.entries()) if (a.status === 429) expect((await update(i)).status).toBe(200);
    const after = await subscription(s, sub.id);
    expect(Object.keys(after.metadata ?? {}).sort()).toEqual(keys.map((_, i) => `k${i}`).sort());
  });
});
