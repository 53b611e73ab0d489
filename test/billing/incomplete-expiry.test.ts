// Subscriptions whose first invoice is never paid expire, as at Stripe: still incomplete 23 hours after
// they started (payment_behavior=default_incomplete never confirmed, or a first payment declined), the
// billing sweep makes them incomplete_expired (terminal), voids the first invoice, cancels the intent it
// waited on and sends customer.subscription.updated. Time is injected: a test clock's frozen time, or
// the cron's scheduledTime; nothing sleeps.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingSweep, INCOMPLETE_EXPIRY_MS } from "../../src/billing/engine";
import worker from "../../src/index";
import { call, expectError, get, newMerchant, post, type CallOptions, type ListJson, type PaymentIntentJson, waitFor, ok } from "../helpers";

interface InvoiceJson {
  id: string;
  status: string;
  status_transitions: { voided_at: number | null; paid_at: number | null };
  amount_paid: number;
  next_payment_attempt: number | null;
  payment_intent: string | PaymentIntentJson | null;
}
interface SubscriptionJson {
  id: string;
  status: string;
  current_period_start: number;
  ended_at: number | null;
  canceled_at: number | null;
  latest_invoice: string | InvoiceJson | null;
  items: { data: { price: { id: string } }[] };
}
interface EventJson {
  type: string;
  data: { object: { id: string; status?: string; items?: { data: { price: unknown }[] } }; previous_attributes?: Record<string, unknown> };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const HOUR = 3600;

async function merchant(label: string, clockAt?: string) {
  const m = await newMerchant(label);
  const clock = clockAt ? await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t(clockAt) }, m.opts)) : null;
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, ...(clock ? { test_clock: clock.id } : {}) }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1200, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, m.opts));
  return { opts: m.opts, clock, customer: customer.id, price: price.id };
}

const subscriptionOf = (opts: CallOptions, id: string) => ok(get<SubscriptionJson>(`/v1/subscriptions/${id}`, opts));
const invoiceOf = (opts: CallOptions, id: string) => ok(get<InvoiceJson>(`/v1/invoices/${id}`, opts));
const eventsAbout = async (opts: CallOptions, id: string) => (await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts))).data.filter((e) => e.data.object.id === id).reverse();

async function quickstart(opts: CallOptions, customer: string, price: string) {
  const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer, items: [{ price }], payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, opts));
  expect(sub.status).toBe("incomplete");
  const invoice = sub.latest_invoice as InvoiceJson;
  return { sub, invoice, intent: invoice.payment_intent as PaymentIntentJson };
}

describe("incomplete subscriptions expire after 23 hours", () => {
  it("on a test clock: incomplete at 22:59, incomplete_expired at 23:00, its invoice void, its intent canceled, customer.subscription.updated sent", async () => {
    const m = await merchant("expiry-clock", "2026-03-01T08:00:00Z");
    const { sub, invoice, intent } = await quickstart(m.opts, m.customer, m.price);
    const clock = m.clock?.id ?? "";
    const advance = (to: number) => ok(post(`/v1/test_helpers/test_clocks/${clock}/advance`, { frozen_time: to }, m.opts));

    await advance(t("2026-03-01T08:00:00Z") + 23 * HOUR - 60);
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("incomplete");
    expect((await invoiceOf(m.opts, invoice.id)).status).toBe("open");

    const expiry = t("2026-03-01T08:00:00Z") + 23 * HOUR;
    await advance(expiry);
    const expired = await subscriptionOf(m.opts, sub.id);
    expect(expired).toMatchObject({ status: "incomplete_expired", ended_at: expiry, canceled_at: null });
    expect(await invoiceOf(m.opts, invoice.id)).toMatchObject({ status: "void", amount_paid: 0, next_payment_attempt: null, status_transitions: { voided_at: expiry, paid_at: null } });
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, m.opts))).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });

    const events = await eventsAbout(m.opts, sub.id);
    const updated = events.filter((e) => e.type === "customer.subscription.updated");
    expect(updated.map((e) => e.data.object.status)).toEqual(["incomplete_expired"]);
    // Stripe's previous_attributes: the status it had (and the fields that moved with it).
    expect(updated[0]?.data.previous_attributes).toMatchObject({ status: "incomplete", ended_at: null });
    expect(updated[0]?.data.object.items?.data[0]?.price).toMatchObject({ id: m.price, object: "price" });
    expect(events.map((e) => e.type)).not.toContain("customer.subscription.deleted");
    expect((await eventsAbout(m.opts, invoice.id)).map((e) => e.type)).toContain("invoice.voided");

    // Terminal: the customer can no longer pay it, it cannot be changed, and later sweeps leave it alone.
    expect((await post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts)).status).toBe(400);
    // As a canceled one: only its metadata and cancellation_details may change.
    expectError(await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }, m.opts), 400, "invalid_canceled_subscription_fields");
    expect(await ok(call<SubscriptionJson>("DELETE", `/v1/subscriptions/${sub.id}`, m.opts))).toMatchObject({ status: "incomplete_expired", canceled_at: null });
    await advance(t("2026-05-01T00:00:00Z"));
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("incomplete_expired");
    expect((await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}`, m.opts))).data.map((i) => i.status)).toEqual(["void"]);
    expect((await eventsAbout(m.opts, sub.id)).filter((e) => e.type === "customer.subscription.updated")).toHaveLength(1);
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?status=incomplete_expired`, m.opts))).data.map((s) => s.id)).toEqual([sub.id]);
  });

  it("after a declined first payment (allow_incomplete), through the cron's scheduled sweep at its scheduledTime", async () => {
    const m = await merchant("expiry-cron-declined");
    await ok(post(`/v1/customers/${m.customer}/payment_methods`, { payment_method: "tok_chargeDeclined", set_default: true }, m.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: m.customer, price: m.price }, m.opts));
    expect(sub.status).toBe("incomplete");
    const invoiceId = typeof sub.latest_invoice === "string" ? sub.latest_invoice : (sub.latest_invoice?.id ?? "");
    const started = sub.current_period_start * 1000;

    const cron = (scheduledTime: number) => worker.scheduled(createScheduledController({ scheduledTime, cron: "* * * * *" }), env);
    await cron(started + INCOMPLETE_EXPIRY_MS - 60_000);
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("incomplete");
    await cron(started + INCOMPLETE_EXPIRY_MS + 1000);
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("incomplete_expired");
    expect((await invoiceOf(m.opts, invoiceId)).status).toBe("void");
  });

  it("a first payment that went through before the sweep wins: the subscription activates instead of expiring", async () => {
    const m = await merchant("expiry-paid-race");
    const { sub, invoice, intent } = await quickstart(m.opts, m.customer, m.price);
    expect((await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts))).status).toBe("succeeded");
    await waitFor(async () => (await subscriptionOf(m.opts, sub.id)).status === "active", 15_000, "the subscription to activate");
    // As if the intent's events had not reached billing yet when the sweep runs.
    await env.DB.prepare("UPDATE subscriptions SET status = 'incomplete' WHERE id = ?").bind(sub.id).run();
    await env.DB.prepare("UPDATE invoices SET status = 'open', amount_paid = 0, paid_at = NULL WHERE id = ?").bind(invoice.id).run();
    await billingSweep(env, sub.current_period_start * 1000 + INCOMPLETE_EXPIRY_MS + 1000);
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("active");
    expect((await invoiceOf(m.opts, invoice.id)).status).toBe("paid");
  });

  it("canceled (DELETE) before it expires: canceled, not expired; its invoice voided at the clock's time, the intent it waited on canceled", async () => {
    const m = await merchant("expiry-deleted", "2026-03-01T08:00:00Z");
    const { sub, invoice, intent } = await quickstart(m.opts, m.customer, m.price);
    await ok(post(`/v1/test_helpers/test_clocks/${m.clock?.id ?? ""}/advance`, { frozen_time: t("2026-03-01T10:00:00Z") }, m.opts));
    expect(await ok(call<SubscriptionJson>("DELETE", `/v1/subscriptions/${sub.id}`, m.opts))).toMatchObject({ status: "canceled", ended_at: t("2026-03-01T10:00:00Z") });
    expect(await invoiceOf(m.opts, invoice.id)).toMatchObject({ status: "void", status_transitions: { voided_at: t("2026-03-01T10:00:00Z") } });
    // Nobody pays a canceled subscription's invoice afterwards.
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${intent.id}`, m.opts))).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    expect((await post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts)).status).toBe(400);
    await ok(post(`/v1/test_helpers/test_clocks/${m.clock?.id ?? ""}/advance`, { frozen_time: t("2026-03-03T00:00:00Z") }, m.opts));
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("canceled");
  });

  it("two overlapping sweeps expire a subscription once (one event, one voided invoice)", async () => {
    const m = await merchant("expiry-overlap");
    const { sub, invoice } = await quickstart(m.opts, m.customer, m.price);
    const at = sub.current_period_start * 1000 + INCOMPLETE_EXPIRY_MS + 1000;
    await Promise.all([billingSweep(env, at), billingSweep(env, at), billingSweep(env, at)]);
    expect((await subscriptionOf(m.opts, sub.id)).status).toBe("incomplete_expired");
    expect((await eventsAbout(m.opts, sub.id)).filter((e) => e.type === "customer.subscription.updated")).toHaveLength(1);
    expect((await eventsAbout(m.opts, invoice.id)).filter((e) => e.type === "invoice.voided")).toHaveLength(1);
  });
});
