// Stripe's invoice actions: void, mark_uncollectible and finalize (POST /v1/invoices/{id}/...).
// A void or a mark_uncollectible ends the invoice's collection: no retry, and the payment intent it
// waits on is canceled through its object, so it can never charge afterwards. The subscription follows
// (incomplete → incomplete_expired when its first invoice is voided; past_due → active when the invoice
// it owes is voided; a renewal marked uncollectible → the merchant's dunning final action). A paid or
// void invoice is refused as Stripe refuses it (400 invoice_not_editable), and so is a finalize (every
// invoice here is finalized when made). A void racing a payment (POST /pay, or the sweep's retry) ends
// either paid (the void refused) or void with nothing charged, never both.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type Stripe from "stripe";
import { closeInvoice } from "../../src/billing/invoice-actions";
import { planOf, recording, type Captured } from "../db/recording";
import { call, expectError, get, newMerchant, ok, post, stripeClient, uniqueKey, waitFor, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  ended_at: number | null;
  current_period_end: number;
  latest_invoice: string | InvoiceJson | null;
}

interface InvoiceJson {
  id: string;
  status: string;
  amount_due: number;
  amount_paid: number;
  billing_reason: string;
  attempt_count: number;
  next_payment_attempt: number | null;
  payment_intent: string | PaymentIntentJson | null;
  status_transitions: { finalized_at: number | null; paid_at: number | null; voided_at: number | null; marked_uncollectible_at: number | null };
}

interface EventJson {
  type: string;
  data: { object: Record<string, unknown> };
}

const DAY = 86_400;
const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface Setup {
  key: string;
  opts: CallOptions;
  clock: string;
  now: number;
  customer: string;
  price: string;
  card: string;
}

/** A merchant (dunning's final action as told) with a clock, a customer on it with a default card, and a monthly price of 19.99 USD. */
async function setup(label: string, token = "pm_card_visa", finalAction: "canceled" | "unpaid" = "canceled", start = "2026-01-31T10:00:00Z"): Promise<Setup> {
  const m = await newMerchant(label);
  await ok(post("/v1/account", { settings: { subscription_dunning_final_action: finalAction } }, m.opts));
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t(start), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  const card = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: token, set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
  return { key: m.key, opts: m.opts, clock: clock.id, now: t(start), customer: customer.id, price: price.id, card: card.id };
}

const advance = (s: Setup, to: number) => ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: to }, s.opts));
const subscription = (s: Setup, id: string) => ok(get<SubscriptionJson>(`/v1/subscriptions/${id}`, s.opts));
const invoice = (s: Setup, id: string) => ok(get<InvoiceJson>(`/v1/invoices/${id}`, s.opts));
const eventsOf = async (s: Setup, type: string) => (await ok(get<ListJson<EventJson>>(`/v1/events?type=${encodeURIComponent(type)}&limit=100`, s.opts))).data;
const customerIntents = async (s: Setup) => (await ok(get<ListJson<PaymentIntentJson>>(`/v1/customers/${s.customer}/payment_intents?limit=100`, s.opts))).data;
const succeeded = async (s: Setup) => (await customerIntents(s)).filter((p) => p.status === "succeeded");
const setDefault = (s: Setup, token: string) => ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: token, set_default: true }, s.opts));

/** A subscription left `incomplete` with its first invoice open and its intent waiting for the customer (default_incomplete). */
async function waitingSubscription(s: Setup): Promise<{ sub: SubscriptionJson; invoice: InvoiceJson; intent: PaymentIntentJson }> {
  const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
  const inv = sub.latest_invoice as InvoiceJson;
  return { sub, invoice: inv, intent: inv.payment_intent as PaymentIntentJson };
}

/** An active subscription whose first renewal (Feb 28) failed: past_due, its renewal invoice open with a retry due on Mar 1. */
async function pastDue(s: Setup): Promise<{ sub: SubscriptionJson; renewal: InvoiceJson }> {
  const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
  expect(sub.status).toBe("active");
  await setDefault(s, "pm_card_chargeCustomerFail");
  await advance(s, t("2026-02-28T12:00:00Z"));
  const after = await subscription(s, sub.id);
  expect(after.status).toBe("past_due");
  const renewal = await invoice(s, after.latest_invoice as string);
  expect(renewal).toMatchObject({ status: "open", billing_reason: "subscription_cycle", attempt_count: 1, next_payment_attempt: t("2026-03-01T10:00:00Z") });
  return { sub: after, renewal };
}

describe("POST /v1/invoices/:id/void", () => {
  it("voids an incomplete subscription's first invoice: the waiting intent is canceled for good, the subscription expires, invoice.voided is sent once (stripe-node's voidInvoice)", async () => {
    const s = await setup("void-incomplete");
    const { sub, invoice: first, intent } = await waitingSubscription(s);
    expect(intent.status).toBe("requires_confirmation");
    const stripe = stripeClient(s.key);
    const voided = await stripe.invoices.voidInvoice(first.id, { expand: ["payment_intent"] });
    expect(voided).toMatchObject({ id: first.id, status: "void", amount_paid: 0, next_payment_attempt: null, status_transitions: { voided_at: s.now } });
    // The intent it waited on, expanded: canceled through its object.
    expect((voided as unknown as { payment_intent: PaymentIntentJson }).payment_intent).toMatchObject({ id: intent.id, status: "canceled", cancellation_reason: "void_invoice" });
    // The customer's confirmation cannot charge it any more.
    expect((await post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" }, s.opts)).status).toBe(400);
    expect(await succeeded(s)).toHaveLength(0);
    // As at Stripe, a subscription whose first invoice is voided is over: incomplete_expired.
    expect(await subscription(s, sub.id)).toMatchObject({ status: "incomplete_expired", ended_at: s.now });
    // Once: voiding it again, paying it, marking it uncollectible are refused; one invoice.voided.
    const again = expectError(await post(`/v1/invoices/${first.id}/void`, {}, s.opts), 400, "invoice_not_editable");
    expect(again.message).toMatch(/already void/);
    expectError(await post(`/v1/invoices/${first.id}/pay`, {}, s.opts), 400, "invoice_not_open");
    expectError(await post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, s.opts), 400, "invoice_not_editable");
    const events = await eventsOf(s, "invoice.voided");
    expect(events).toHaveLength(1);
    expect(events[0]?.data.object).toMatchObject({ id: first.id, status: "void", next_payment_attempt: null });
    // The expiry sweep finds nothing left to do, and no sweep charges it.
    await advance(s, s.now + 2 * DAY);
    expect(await invoice(s, first.id)).toMatchObject({ status: "void", amount_paid: 0 });
    expect(await succeeded(s)).toHaveLength(0);
    expect(await eventsOf(s, "invoice.voided")).toHaveLength(1);
  });

  it("voids the renewal a past_due subscription owes: its retries stop, nothing is charged for that period, the subscription is active and bills its next period", async () => {
    const s = await setup("void-past-due");
    const { sub, renewal } = await pastDue(s);
    const attemptsBefore = (await customerIntents(s)).length;
    const voided = await ok(post<InvoiceJson>(`/v1/invoices/${renewal.id}/void`, {}, s.opts));
    expect(voided).toMatchObject({ status: "void", next_payment_attempt: null, attempt_count: 1, amount_paid: 0, status_transitions: { voided_at: t("2026-02-28T12:00:00Z"), paid_at: null } });
    expect((await subscription(s, sub.id)).status).toBe("active");
    // Past every retry time (Mar 1, 3, 5) with a good card now: no attempt at the voided invoice.
    await setDefault(s, "pm_card_visa");
    await advance(s, t("2026-03-10T00:00:00Z"));
    expect((await customerIntents(s)).length).toBe(attemptsBefore);
    expect(await invoice(s, renewal.id)).toMatchObject({ status: "void", attempt_count: 1, amount_paid: 0 });
    // The next period is invoiced as it comes, and charged once.
    await advance(s, t("2026-04-01T00:00:00Z"));
    const next = await subscription(s, sub.id);
    expect(next.latest_invoice).not.toBe(renewal.id);
    expect(await invoice(s, next.latest_invoice as string)).toMatchObject({ status: "paid", billing_reason: "subscription_cycle", amount_paid: 1999 });
    expect(next.status).toBe("active");
    expect(await succeeded(s)).toHaveLength(2);
  });

  it("refuses a paid invoice with Stripe's 400 (stripe-node's voidInvoice, markUncollectible and finalizeInvoice)", async () => {
    const s = await setup("void-paid");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const paidId = sub.latest_invoice as string;
    expect(await invoice(s, paidId)).toMatchObject({ status: "paid" });
    const stripe = stripeClient(s.key);
    const refused = async (call: () => Promise<unknown>): Promise<Stripe.errors.StripeError> => {
      try {
        await call();
      } catch (err) {
        return err as Stripe.errors.StripeError;
      }
      throw new Error("expected a refusal");
    };
    const voiding = await refused(() => stripe.invoices.voidInvoice(paidId));
    expect(voiding).toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400, code: "invoice_not_editable" });
    const marking = await refused(() => stripe.invoices.markUncollectible(paidId));
    expect(marking).toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400, code: "invoice_not_editable" });
    const finalizing = await refused(() => stripe.invoices.finalizeInvoice(paidId, { auto_advance: true }));
    expect(finalizing).toMatchObject({ statusCode: 400, code: "invoice_not_editable", message: "This invoice is already finalized, you can't re-finalize a non-draft invoice." });
    // Nothing changed, and no event.
    expect(await invoice(s, paidId)).toMatchObject({ status: "paid", status_transitions: { voided_at: null, marked_uncollectible_at: null } });
    expect(await eventsOf(s, "invoice.voided")).toHaveLength(0);
    expect(await eventsOf(s, "invoice.marked_uncollectible")).toHaveLength(0);
    // Another merchant's invoice, and an unknown id: 404, as any invoice route.
    const other = await newMerchant("void-paid-other");
    expectError(await post(`/v1/invoices/${paidId}/void`, {}, other.opts), 404, "resource_missing");
    expectError(await post(`/v1/invoices/${paidId}/finalize`, {}, other.opts), 404, "resource_missing");
    expectError(await post("/v1/invoices/in_missing/mark_uncollectible", {}, s.opts), 404, "resource_missing");
  });

  it("finalize answers 400 invoice_not_editable for open, uncollectible and void invoices too, never a 500 or a 404", async () => {
    const s = await setup("finalize-any");
    const { invoice: open } = await waitingSubscription(s);
    const { invoice: marked } = await waitingSubscription(s);
    await ok(post(`/v1/invoices/${marked.id}/mark_uncollectible`, {}, s.opts));
    const { invoice: voided } = await waitingSubscription(s);
    await ok(post(`/v1/invoices/${voided.id}/void`, {}, s.opts));
    for (const id of [open.id, marked.id, voided.id]) {
      const res = await call("POST", `/v1/invoices/${id}/finalize`, { ...s.opts, form: "auto_advance=false" });
      expect(expectError(res, 400, "invoice_not_editable").message).toBe("This invoice is already finalized, you can't re-finalize a non-draft invoice.");
    }
    // An unknown parameter is Stripe's 400 too.
    expectError(await post(`/v1/invoices/${open.id}/finalize`, { days_until_due: 3 }, s.opts), 400);
    expect(await invoice(s, open.id)).toMatchObject({ status: "open" });
  });

  it("is idempotent with an Idempotency-Key, needs billing.manage, and takes expand[] as an invoice's retrieve does", async () => {
    const s = await setup("void-idempotent");
    const { invoice: first } = await waitingSubscription(s);
    const viewer = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["billing.view"] }, s.opts))).secret ?? "";
    expectError(await post(`/v1/invoices/${first.id}/void`, {}, { key: viewer }), 403);
    expectError(await post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, { key: viewer }), 403);
    expectError(await post(`/v1/invoices/${first.id}/finalize`, {}, { key: viewer }), 403);
    expect(await invoice(s, first.id)).toMatchObject({ status: "open" });

    const key = uniqueKey("void");
    const one = await call<InvoiceJson & { customer: unknown }>("POST", `/v1/invoices/${first.id}/void`, { ...s.opts, idempotencyKey: key, form: "expand[]=customer" });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body).toMatchObject({ status: "void", customer: { id: s.customer, object: "customer" } });
    const two = await call<InvoiceJson>("POST", `/v1/invoices/${first.id}/void`, { ...s.opts, idempotencyKey: key, form: "expand[]=customer" });
    expect(two.status).toBe(200);
    expect(two.headers.get("Idempotent-Replayed")).toBe("true");
    expect(two.body).toEqual(one.body);
    // The same key for another request is refused; a new key is Stripe's refusal of a void invoice.
    expectError(await call("POST", `/v1/invoices/${first.id}/void`, { ...s.opts, idempotencyKey: key }), 400, "idempotency_key_reused");
    expectError(await post(`/v1/invoices/${first.id}/void`, {}, s.opts), 400, "invoice_not_editable");
    expect(await eventsOf(s, "invoice.voided")).toHaveLength(1);
    // A path that is not one of the invoice's expansions is a 400.
    const { invoice: second } = await waitingSubscription(s);
    expectError(await call("POST", `/v1/invoices/${second.id}/void`, { ...s.opts, form: "expand[]=nonsense" }), 400);
    expect(await invoice(s, second.id)).toMatchObject({ status: "open" });
  });
});

describe("POST /v1/invoices/:id/mark_uncollectible", () => {
  it("marks an incomplete subscription's first invoice uncollectible: its 3DS intent is canceled (passing the challenge then charges nothing), and POST /pay still pays it (stripe-node's markUncollectible)", async () => {
    const s = await setup("mark-incomplete", "tok_threeDSecure2Required");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, expand: ["latest_invoice.payment_intent"] }, s.opts));
    expect(sub.status).toBe("incomplete");
    const first = sub.latest_invoice as InvoiceJson;
    const challenge = first.payment_intent as PaymentIntentJson;
    expect(challenge.status).toBe("requires_action");

    const marked = await stripeClient(s.key).invoices.markUncollectible(first.id);
    expect(marked).toMatchObject({ status: "uncollectible", next_payment_attempt: null, amount_paid: 0, status_transitions: { marked_uncollectible_at: s.now, voided_at: null } });
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${challenge.id}`, s.opts))).toMatchObject({ status: "canceled" });
    // The customer comes back from the challenge: nothing is charged.
    await exports.default.fetch(
      new Request(challenge.next_action?.url ?? "", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `client_secret=${encodeURIComponent(challenge.client_secret)}&outcome=approve`,
        redirect: "manual",
      }),
    );
    expect(await succeeded(s)).toHaveLength(0);
    // Conservative: the subscription stays incomplete (it expires 23 hours after it started unless paid).
    expect((await subscription(s, sub.id)).status).toBe("incomplete");
    const events = await eventsOf(s, "invoice.marked_uncollectible");
    expect(events).toHaveLength(1);
    expect(events[0]?.data.object).toMatchObject({ id: first.id, status: "uncollectible" });
    // Refused a second time; a void is allowed (Stripe voids uncollectible invoices) but not needed here.
    expectError(await post(`/v1/invoices/${first.id}/mark_uncollectible`, {}, s.opts), 400, "invoice_not_editable");

    // The existing path: paid with another card, the invoice is paid and the subscription active.
    const good = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "pm_card_visa" }, s.opts));
    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${first.id}/pay`, { payment_method: good.id }, s.opts));
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1999, status_transitions: { marked_uncollectible_at: s.now } });
    expect((await subscription(s, sub.id)).status).toBe("active");
    expect(await succeeded(s)).toHaveLength(1);
    expectError(await post(`/v1/invoices/${first.id}/void`, {}, s.opts), 400, "invoice_not_editable");
  });

  it("a past_due renewal marked uncollectible stops its retries and takes the merchant's final action (unpaid); paid later, the subscription is active again", async () => {
    const s = await setup("mark-past-due", "pm_card_visa", "unpaid");
    const { sub, renewal } = await pastDue(s);
    const attemptsBefore = (await customerIntents(s)).length;
    const marked = await ok(post<InvoiceJson>(`/v1/invoices/${renewal.id}/mark_uncollectible`, {}, s.opts));
    expect(marked).toMatchObject({ status: "uncollectible", next_payment_attempt: null, attempt_count: 1, status_transitions: { marked_uncollectible_at: t("2026-02-28T12:00:00Z") } });
    expect((await subscription(s, sub.id)).status).toBe("unpaid");
    // No retry on Mar 1, 3 or 5.
    await advance(s, t("2026-03-10T00:00:00Z"));
    expect((await customerIntents(s)).length).toBe(attemptsBefore);
    // A payment by hand that fails leaves it uncollectible, with no retry scheduled.
    expect((await post(`/v1/invoices/${renewal.id}/pay`, {}, s.opts)).status).toBe(402);
    expect(await invoice(s, renewal.id)).toMatchObject({ status: "uncollectible", attempt_count: 2, next_payment_attempt: null });
    await advance(s, t("2026-03-20T00:00:00Z"));
    expect((await customerIntents(s)).length).toBe(attemptsBefore + 1);
    // Paid with a good card: active.
    const good = await setDefault(s, "pm_card_visa");
    expect(await ok(post<InvoiceJson>(`/v1/invoices/${renewal.id}/pay`, { payment_method: good.id }, s.opts))).toMatchObject({ status: "paid", amount_paid: 1999 });
    expect((await subscription(s, sub.id)).status).toBe("active");
  });

  it("with the default final action (canceled) a past_due renewal marked uncollectible cancels the subscription, and nothing is billed after", async () => {
    const s = await setup("mark-past-due-cancel");
    const { sub, renewal } = await pastDue(s);
    await ok(post(`/v1/invoices/${renewal.id}/mark_uncollectible`, {}, s.opts));
    expect(await subscription(s, sub.id)).toMatchObject({ status: "canceled", ended_at: t("2026-02-28T12:00:00Z") });
    const before = (await customerIntents(s)).length;
    await advance(s, t("2026-05-01T00:00:00Z"));
    expect((await customerIntents(s)).length).toBe(before);
    expect((await eventsOf(s, "customer.subscription.deleted")).length).toBe(1);
  });
});

describe("a void racing a payment", () => {
  it("void and POST /pay sent together: either paid and the void refused, or void and nothing charged", async () => {
    const s = await setup("void-race-pay");
    const outcomes: string[] = [];
    const invoices: string[] = [];
    for (let round = 0; round < 12; round++) {
      const { invoice: open } = await waitingSubscription(s);
      invoices.push(open.id);
      const [voiding, paying] = await Promise.all([post<InvoiceJson>(`/v1/invoices/${open.id}/void`, {}, s.opts), post<InvoiceJson>(`/v1/invoices/${open.id}/pay`, {}, s.opts)]);
      const after = await invoice(s, open.id);
      const label = `round ${round}: void ${voiding.status} ${JSON.stringify(voiding.body).slice(0, 200)}; pay ${paying.status} ${JSON.stringify(paying.body).slice(0, 200)}`;
      if (after.status === "paid") {
        expect(voiding.status, label).toBe(400);
        expect(paying.status, label).toBe(200);
        outcomes.push("paid");
      } else {
        expect(after.status, label).toBe("void");
        expect(voiding.status, label).toBe(200);
        expect(paying.status, label).toBe(400);
        outcomes.push("void");
      }
    }
    // Whatever the events hook does afterwards changes nothing: the succeeded charges are the paid invoices', one each.
    await new Promise((r) => setTimeout(r, 300));
    const charges = await succeeded(s);
    const final = await Promise.all(invoices.map((id) => invoice(s, id)));
    expect(final.map((i) => i.status)).toEqual(outcomes);
    for (const inv of final) {
      const mine = charges.filter((p) => (p as unknown as { invoice: string | null }).invoice === inv.id);
      expect(mine, `${inv.id} ${inv.status}`).toHaveLength(inv.status === "paid" ? 1 : 0);
      if (inv.status === "paid") expect(inv.amount_paid).toBe(1999);
      else expect(inv.amount_paid).toBe(0);
    }
    expect(charges).toHaveLength(outcomes.filter((o) => o === "paid").length);
  });

  it("void and the sweep's retry (a test clock's advance past the retry time) together: either paid and the void refused, or void and nothing charged", async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const s = await setup(`void-race-sweep-${round}`);
      const { renewal } = await pastDue(s);
      await setDefault(s, "pm_card_visa");
      const [voiding] = await Promise.all([post<InvoiceJson>(`/v1/invoices/${renewal.id}/void`, {}, s.opts), advance(s, t("2026-03-01T12:00:00Z"))]);
      const after = await waitFor(async () => {
        const i = await invoice(s, renewal.id);
        return i.status === "open" ? false : i;
      }, 15_000, "the invoice to settle");
      const charges = (await succeeded(s)).filter((p) => (p as unknown as { invoice: string | null }).invoice === renewal.id);
      const label = `round ${round}: void ${voiding.status} ${JSON.stringify(voiding.body).slice(0, 200)}; invoice ${after.status}`;
      if (after.status === "paid") {
        expect(voiding.status, label).toBe(400);
        expect(charges, label).toHaveLength(1);
      } else {
        expect(after.status, label).toBe("void");
        expect(voiding.status, label).toBe(200);
        expect(charges, label).toHaveLength(0);
      }
      outcomes.push(after.status);
    }
    expect(outcomes.every((o) => o === "paid" || o === "void")).toBe(true);
  });
});

describe("the actions' statements", () => {
  it("are index ranges (by the invoice's primary key, the subscription's invoices): no SCAN, no temp B-tree", async () => {
    const s = await setup("actions-plans");
    const { invoice: first } = await waitingSubscription(s);
    const { renewal } = await pastDue(await setup("actions-plans-renewal"));
    const captured: Captured[] = [];
    const d1 = recording(env.DB, captured);
    expect((await closeInvoice({ ...env, DB: d1 }, first.id, "void", { origin: "", requestId: null })).done).toBe(true);
    expect((await closeInvoice({ ...env, DB: d1 }, renewal.id, "mark_uncollectible", { origin: "", requestId: null })).done).toBe(true);
    const reads = captured.filter((c) => /^\s*(select|update|delete|with)\b/i.test(c.sql));
    expect(reads.some((c) => /update\s+"?invoices"?\s+set\s+status/i.test(c.sql))).toBe(true);
    for (const c of reads) {
      const plan = await planOf(c);
      const text = `${c.sql}\n${plan.join("\n")}`;
      expect(plan.filter((line) => /^SCAN /.test(line) && !/^SCAN json_each\b/.test(line)), text).toEqual([]);
      expect(plan.join("\n"), text).not.toMatch(/USE TEMP B-TREE/);
    }
  });
});
