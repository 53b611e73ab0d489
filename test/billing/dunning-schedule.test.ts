// Dunning's schedule on a test clock: retries counted from the first failed attempt (an invoice made
// mid-period, when an unpaid subscription resumes, gets its 1, 3 and 5 days), one attempt per retry
// time that passed even when an advance skips months, renewal invoices stamped with the clock's time,
// and the final failure's events in the order they happened.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { nextRetry } from "../../src/billing/engine";
import { settleInvoiceOfIntent } from "../../src/billing/hooks";
import { get, newMerchant, ok, post, readModelIntent, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  current_period_start: number;
  current_period_end: number;
  latest_invoice: string | null;
}

interface InvoiceJson {
  id: string;
  status: string;
  billing_reason: string;
  /** The service period billed is the line's. */
  lines: { data: { period: { start: number; end: number } }[] };
  attempt_count: number;
  amount_paid: number;
  next_payment_attempt: number | null;
  created: number;
  effective_at: number;
  status_transitions: { finalized_at: number; paid_at: number | null; marked_uncollectible_at: number | null };
}

interface EventJson {
  id: string;
  type: string;
  created: number;
  created_ms: number;
  data: { object: Record<string, unknown> };
}

const DAY = 86_400;
const HOUR = 3_600;
const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Setup {
  opts: CallOptions;
  clock: string;
  customer: string;
  price: string;
  card: string;
}

/** A merchant (final action `unpaid` unless told) with a clock, a customer on it with a good default card, and a monthly price. */
async function setup(label: string, finalAction: "unpaid" | "canceled" = "unpaid", start = "2026-01-31T10:00:00Z"): Promise<Setup> {
  const m = await newMerchant(label);
  await ok(post("/v1/account", { settings: { subscription_dunning_final_action: finalAction } }, m.opts));
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t(start), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  const card = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
  return { opts: m.opts, clock: clock.id, customer: customer.id, price: price.id, card: card.id };
}

/** The customer's default card becomes one that attaches but whose charges all fail. */
const failingDefault = (s: Setup) => ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "pm_card_chargeCustomerFail", set_default: true }, s.opts));
const advance = (s: Setup, to: number) => ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: to }, s.opts));
const subscription = (s: Setup, id: string) => ok(get<SubscriptionJson>(`/v1/subscriptions/${id}`, s.opts));
const invoice = (s: Setup, id: string) => ok(get<InvoiceJson>(`/v1/invoices/${id}`, s.opts));
const invoicesOf = async (s: Setup, sub: string) => (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub}&limit=100`, s.opts))).data;
/** The merchant's events, oldest first (as the API orders them: created, then id). */
const allEvents = async (s: Setup) => (await ok(get<ListJson<EventJson>>(`/v1/events?limit=100`, s.opts))).data.reverse();
const failedPaymentsOf = (events: EventJson[], invoiceId: string) => events.filter((e) => e.type === "invoice.payment_failed" && e.data.object.id === invoiceId).map((e) => e.data.object);
async function customerIntents(s: Setup): Promise<PaymentIntentJson[]> {
  return (await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${s.customer}/payment_intents?limit=100`, s.opts))).data;
}

describe("dunning's retry schedule", () => {
  it("an unpaid subscription resumed mid-period is billed once for that period, and its retries come 1, 3 and 5 days after its first failure, one per advance that reaches them", async () => {
    const s = await setup("dun-resume-midperiod");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(sub.status).toBe("active");
    await failingDefault(s);
    // Feb 28's renewal fails four times (Feb 28, Mar 1, Mar 3, Mar 5): unpaid, and not renewed on Mar 31
    // (two advances: one goes at most two months with a monthly subscription).
    await advance(s, t("2026-03-10T00:00:00Z"));
    await advance(s, t("2026-04-10T00:00:00Z"));
    expect((await subscription(s, sub.id)).status).toBe("unpaid");
    const [owed] = (await invoicesOf(s, sub.id)).filter((i) => i.status === "uncollectible");
    expect(owed).toMatchObject({ attempt_count: 4 });
    expect(owed?.lines.data[0]?.period.start).toBe(t("2026-02-28T10:00:00Z"));

    // Paid up on Apr 10 with the good card: it resumes with the period it is in (Mar 31 - Apr 30).
    const paidAt = t("2026-04-10T00:00:00Z");
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${owed?.id}/pay`, { payment_method: s.card }, s.opts))).toMatchObject({ status: "paid" });
    const failedBefore = (await customerIntents(s)).filter((p) => p.status !== "succeeded").length;

    // One hour later: that period's invoice was made and charged once, on the still-failing default card.
    await advance(s, paidAt + HOUR);
    let after = await subscription(s, sub.id);
    expect(after).toMatchObject({ status: "past_due", current_period_start: t("2026-03-31T10:00:00Z") });
    const resumed = await invoice(s, after.latest_invoice ?? "");
    // Made, and first attempted, when it resumed (not on Mar 31, which would put every retry in the past).
    expect(resumed).toMatchObject({ status: "open", billing_reason: "subscription_cycle", attempt_count: 1, next_payment_attempt: paidAt + DAY });
    expect(resumed.lines.data[0]?.period.start).toBe(t("2026-03-31T10:00:00Z"));
    expect((await customerIntents(s)).filter((p) => p.status !== "succeeded").length).toBe(failedBefore + 1);

    // A day later: the first retry, and only it.
    await advance(s, paidAt + DAY + HOUR);
    expect(await invoice(s, resumed.id)).toMatchObject({ status: "open", attempt_count: 2, next_payment_attempt: paidAt + 3 * DAY });
    expect((await customerIntents(s)).filter((p) => p.status !== "succeeded").length).toBe(failedBefore + 2);

    // Two months at once (all but the hour; the most one advance may go): the last two retries, each at
    // its own time (day 3, day 5), then unpaid again.
    await advance(s, t("2026-06-11T00:00:00Z"));
    after = await subscription(s, sub.id);
    expect(after.status).toBe("unpaid");
    expect(await invoice(s, resumed.id)).toMatchObject({ status: "uncollectible", attempt_count: 4, next_payment_attempt: null, status_transitions: { marked_uncollectible_at: paidAt + 5 * DAY } });
    expect((await customerIntents(s)).filter((p) => p.status !== "succeeded").length).toBe(failedBefore + 4);
    expect(failedPaymentsOf(await allEvents(s), resumed.id).map((o) => [o.attempt_count, o.next_payment_attempt])).toEqual([
      [1, paidAt + DAY],
      [2, paidAt + 3 * DAY],
      [3, paidAt + 5 * DAY],
      [4, null],
    ]);
    // Unpaid again: nothing renewed meanwhile.
    expect(await invoicesOf(s, sub.id)).toHaveLength(3);
  });

  it("an advance of two months at once makes each attempt at its own time: the renewal, then the retries after 1, 3 and 5 days", async () => {
    const s = await setup("dun-skip-months", "canceled");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    await failingDefault(s);
    // Jan 31 to Mar 31, the most one advance may go with a monthly subscription.
    await advance(s, t("2026-03-31T10:00:00Z"));
    const start = t("2026-02-28T10:00:00Z");
    expect(await subscription(s, sub.id)).toMatchObject({ status: "canceled" });
    const renewal = (await invoicesOf(s, sub.id)).find((i) => i.billing_reason === "subscription_cycle");
    expect(renewal).toMatchObject({ status: "uncollectible", attempt_count: 4, created: start, status_transitions: { marked_uncollectible_at: start + 5 * DAY } });
    expect(failedPaymentsOf(await allEvents(s), renewal?.id ?? "").map((o) => [o.attempt_count, o.next_payment_attempt])).toEqual([
      [1, start + DAY],
      [2, start + 3 * DAY],
      [3, start + 5 * DAY],
      [4, null],
    ]);
    // Four attempts in all for the renewal (the first invoice's charge succeeded).
    expect((await customerIntents(s)).filter((p) => p.status !== "succeeded")).toHaveLength(4);
  });
});

describe("nextRetry", () => {
  const D = DAY * 1000;
  const schedule = [D, 3 * D, 5 * D];
  const T = Date.parse("2026-03-31T10:00:00Z");
  it("counts 1, 3 and 5 days from the first failed attempt; a retry made early by hand does not move the next; one behind its schedule is never followed by one already due", () => {
    expect(nextRetry(schedule, { nextPaymentAttempt: T }, 1, T)).toBe(T + D);
    // The first attempt made late (a renewal made when its subscription resumed): counted from it.
    expect(nextRetry(schedule, { nextPaymentAttempt: T }, 1, T + 10 * D)).toBe(T + 11 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: T + D }, 2, T + D)).toBe(T + 3 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: T + D }, 2, T + 2 * 3_600_000)).toBe(T + 3 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: T + 3 * D }, 3, T + 3 * D)).toBe(T + 5 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: T + 3 * D }, 3, T + 10 * D)).toBe(T + 12 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: null }, 3, T + 10 * D)).toBe(T + 12 * D);
    expect(nextRetry(schedule, { nextPaymentAttempt: T + 5 * D }, 4, T + 5 * D)).toBeNull();
  });
});

describe("renewal invoices on a test clock", () => {
  it("are created, finalized and effective at the clock's time of the renewal, not the wall clock's", async () => {
    const s = await setup("dun-invoice-times", "canceled");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    // Each advance goes past its renewal's time (at most two months an advance, as at Stripe).
    await advance(s, t("2026-03-15T00:00:00Z"));
    await advance(s, t("2026-04-01T00:00:00Z"));
    const renewals = (await invoicesOf(s, sub.id)).filter((i) => i.billing_reason === "subscription_cycle").reverse();
    expect(renewals.map((i) => [i.lines.data[0]?.period.start, i.created, i.status_transitions.finalized_at, i.effective_at, i.status_transitions.paid_at])).toEqual([
      [t("2026-02-28T10:00:00Z"), t("2026-02-28T10:00:00Z"), t("2026-02-28T10:00:00Z"), t("2026-02-28T10:00:00Z"), t("2026-02-28T10:00:00Z")],
      [t("2026-03-31T10:00:00Z"), t("2026-03-31T10:00:00Z"), t("2026-03-31T10:00:00Z"), t("2026-03-31T10:00:00Z"), t("2026-03-31T10:00:00Z")],
    ]);
    // The invoice.created event carries the same times.
    const createdEvents = (await allEvents(s)).filter((e) => e.type === "invoice.created" && renewals.some((r) => r.id === e.data.object.id));
    expect(createdEvents.map((e) => e.data.object.created)).toEqual(renewals.map((r) => r.created));
    // So are their payment intents (they had the wall clock's time), and the first invoice's.
    const intents = await Promise.all(
      (await invoicesOf(s, sub.id)).map(async (i) => (await ok(get<{ created: number }>(`/v1/payment_intents/${(i as unknown as { payment_intent: string }).payment_intent}`, s.opts))).created),
    );
    expect(intents).toEqual([t("2026-03-31T10:00:00Z"), t("2026-02-28T10:00:00Z"), t("2026-01-31T10:00:00Z")]);
  });
});

describe("dunning's final failure", () => {
  it("sends invoice.payment_failed (the invoice as it was: open, attempt 4), then invoice.marked_uncollectible, then the subscription's change", async () => {
    for (const finalAction of ["unpaid", "canceled"] as const) {
      const s = await setup(`dun-final-order-${finalAction}`, finalAction);
      const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
      await failingDefault(s);
      await advance(s, t("2026-03-10T00:00:00Z"));
      const renewal = (await invoicesOf(s, sub.id)).find((i) => i.billing_reason === "subscription_cycle");
      const events = await allEvents(s);
      const lastFailure = events.findIndex((e) => e.type === "invoice.payment_failed" && e.data.object.id === renewal?.id && e.data.object.attempt_count === 4);
      const uncollectible = events.findIndex((e) => e.type === "invoice.marked_uncollectible" && e.data.object.id === renewal?.id);
      const final = events.findIndex((e) => e.type.startsWith("customer.subscription.") && e.data.object.status === finalAction);
      expect(lastFailure).toBeGreaterThanOrEqual(0);
      expect(events[lastFailure]?.data.object).toMatchObject({ status: "open", attempt_count: 4, next_payment_attempt: null, amount_paid: 0 });
      expect(events[uncollectible]?.data.object).toMatchObject({ status: "uncollectible", attempt_count: 4 });
      expect(uncollectible).toBeGreaterThan(lastFailure);
      expect(final).toBeGreaterThan(uncollectible);
      // Strictly later, not only listed later (events written in one millisecond were ordered by their
      // ids, at random): a consumer ordering by created_ms sees the same order.
      const times = [lastFailure, uncollectible, final].map((i) => events[i]?.created_ms ?? 0);
      expect(times[0]).toBeLessThan(times[1] ?? 0);
      expect(times[1]).toBeLessThan(times[2] ?? 0);
    }
  });
});

describe("a default_incomplete first invoice confirmed by the customer", () => {
  it("settleInvoiceOfIntent (for the confirm route to call with the intent it answers) makes the next read show the invoice paid and the subscription active, once", async () => {
    const s = await setup("dun-confirm-settle", "canceled", "2026-02-01T00:00:00Z");
    const sub = await ok(post<SubscriptionJson & { latest_invoice: { id: string; payment_intent: PaymentIntentJson } }>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const intent = sub.latest_invoice.payment_intent;
    expect(await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts))).toMatchObject({ status: "succeeded" });
    const record = await readModelIntent(intent.id);
    if (!record) throw new Error("no read model of the intent");
    await settleInvoiceOfIntent(env, record);
    const after = await ok(get<SubscriptionJson & { latest_invoice: InvoiceJson }>(`/v1/subscriptions/${sub.id}?expand[]=latest_invoice`, s.opts));
    expect(after.status).toBe("active");
    expect(after.latest_invoice).toMatchObject({ status: "paid", amount_paid: 1999, attempt_count: 1 });
    // The events hook settles it again: nothing more happens (one paid event, one activation).
    await settleInvoiceOfIntent(env, record);
    const events = await allEvents(s);
    expect(events.filter((e) => e.type === "invoice.paid")).toHaveLength(1);
    expect(events.filter((e) => e.type === "customer.subscription.updated" && e.data.object.status === "active")).toHaveLength(1);
    expect((await customerIntents(s)).filter((p) => p.status === "succeeded")).toHaveLength(1);
  });
});
