// The same card on a customer more than once, as at Stripe: every surface that saves or attaches a
// payment method attaches the one named and answers it, even when a payment method of the same card
// (fingerprint) is already on the customer (the unique (customer, fingerprint) index answered the card
// already there, leaving the named one unattached: migration 0056 dropped it).
import { describe, expect, it } from "vitest";
import { get, newMerchant, ok, post, stripeClient, uniqueKey, type ListJson, type PaymentIntentJson } from "../helpers";

interface PmJson {
  id: string;
  customer: string | null;
  card: { last4: string; fingerprint: string } | null;
}

interface SubscriptionJson {
  id: string;
  status: string;
  default_payment_method: string | null;
  latest_invoice: { payment_intent: PaymentIntentJson } | string;
}

const idOf = (pm: string | { id: string } | null): string => (typeof pm === "string" ? pm : (pm?.id ?? ""));

describe("the same card on a customer more than once", () => {
  it("stripe-node: two payments with setup_future_usage save two payment methods, each the payment's own, usable as the default", async () => {
    const m = await newMerchant("pm-dup-node");
    const stripe = stripeClient(m.key);
    const c = await stripe.customers.create({});
    const params = { amount: 1000, currency: "usd", customer: c.id, payment_method: "pm_card_visa", setup_future_usage: "off_session" as const, confirm: true };
    const p1 = await stripe.paymentIntents.create(params);
    const p2 = await stripe.paymentIntents.create(params);
    expect([p1.status, p2.status]).toEqual(["succeeded", "succeeded"]);
    const [pm1, pm2] = [idOf(p1.payment_method), idOf(p2.payment_method)];
    expect(pm1).not.toBe(pm2);
    const [r1, r2] = [await stripe.paymentMethods.retrieve(pm1), await stripe.paymentMethods.retrieve(pm2)];
    expect(r1.customer).toBe(c.id);
    expect(r2.customer).toBe(c.id);
    expect(r2.card?.fingerprint).toBe(r1.card?.fingerprint);
    const updated = await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm2 } });
    expect(idOf(updated.invoice_settings.default_payment_method)).toBe(pm2);
    const listed = await stripe.customers.listPaymentMethods(c.id);
    expect(listed.data.map((p) => p.id).sort()).toEqual([pm1, pm2].sort());
    // The second one pays off session, as its customer's.
    const later = await stripe.paymentIntents.create({ amount: 500, currency: "usd", customer: c.id, payment_method: pm2, off_session: true, confirm: true });
    expect(later.status).toBe("succeeded");
  });

  it("stripe-node: attach answers the payment method named, with its customer, when the same card is on file", async () => {
    const m = await newMerchant("pm-dup-attach");
    const stripe = stripeClient(m.key);
    const customer = (await stripe.customers.create({ payment_method: "pm_card_visa" })).id;
    const a = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    const b = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    const attachedA = await stripe.paymentMethods.attach(a.id, { customer });
    const attachedB = await stripe.paymentMethods.attach(b.id, { customer });
    expect([attachedA.id, attachedA.customer]).toEqual([a.id, customer]);
    expect([attachedB.id, attachedB.customer]).toEqual([b.id, customer]);
    expect((await stripe.paymentMethods.retrieve(b.id)).customer).toBe(customer);
    // Three payment methods of one card: the customer create's, a and b.
    const listed = await stripe.paymentMethods.list({ customer, type: "card" });
    expect(listed.data).toHaveLength(3);
    expect(new Set(listed.data.map((p) => p.card?.fingerprint)).size).toBe(1);
    expect(idOf((await stripe.customers.update(customer, { invoice_settings: { default_payment_method: b.id } })).invoice_settings.default_payment_method)).toBe(b.id);
  });

  it("customer create with payment_method attaches that payment method, also one of a card another payment method of the customer's has", async () => {
    const m = await newMerchant("pm-dup-create");
    const first = await ok(post<PmJson>("/v1/payment_methods", { card: { token: "tok_visa" } }, m.opts));
    const cus = await ok(post<{ id: string; invoice_settings: { default_payment_method: string | null } }>("/v1/customers", { payment_method: first.id, invoice_settings: { default_payment_method: first.id } }, m.opts));
    expect(cus.invoice_settings.default_payment_method).toBe(first.id);
    const second = await ok(post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    expect(second.id).not.toBe(first.id);
    expect(second.customer).toBe(cus.id);
    expect((await ok(get<{ invoice_settings: { default_payment_method: string | null } }>(`/v1/customers/${cus.id}`, m.opts))).invoice_settings.default_payment_method).toBe(second.id);
    // A saved payment method named by id on the same route is attached itself.
    const third = await ok(post<PmJson>("/v1/payment_methods", { card: { token: "tok_visa" } }, m.opts));
    expect((await ok(post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: third.id }, m.opts))).id).toBe(third.id);
    const list = await ok(get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods`, m.opts));
    expect(list.data.map((p) => p.id).sort()).toEqual([first.id, second.id, third.id].sort());
  });

  it("save_default_payment_method=on_subscription makes the card the subscription was paid with its default, also when the customer has that card already", async () => {
    const m = await newMerchant("pm-dup-sub");
    const cus = await ok(post<{ id: string }>("/v1/customers", { email: "dup-sub@example.com" }, m.opts));
    const onFile = await ok(post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
    const sub = await ok(
      post<SubscriptionJson>(
        "/v1/subscriptions",
        { customer: cus.id, items: [{ price: price.id }], payment_behavior: "default_incomplete", payment_settings: { save_default_payment_method: "on_subscription" }, expand: ["latest_invoice.payment_intent"] },
        m.opts,
      ),
    );
    const intent = typeof sub.latest_invoice === "string" ? null : sub.latest_invoice.payment_intent;
    expect(intent).not.toBeNull();
    const confirmed = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${intent?.id ?? ""}/confirm`, { payment_method: "pm_card_visa" }, m.opts));
    expect(confirmed.status).toBe("succeeded");
    const paidWith = idOf(confirmed.payment_method as string | { id: string } | null);
    expect(paidWith).not.toBe(onFile.id);
    const active = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, m.opts));
    expect(active.status).toBe("active");
    expect(active.default_payment_method).toBe(paidWith);
    const saved = await ok(get<PmJson>(`/v1/payment_methods/${paidWith}`, m.opts));
    expect(saved.customer).toBe(cus.id);
    expect(saved.card?.fingerprint).toBe(onFile.card?.fingerprint);
  });

  it("POS cards on file: the same card saved twice is on file twice; a clientRequestId sent again finds its first card", async () => {
    const m = await newMerchant("pm-dup-pos");
    const card = { token: "9418594164541111", expiry: "1239" };
    const a = await post<{ data: { id: string } }>("/api/v1/customers/cust-dup/payment-methods", card, m.opts);
    const b = await post<{ data: { id: string } }>("/api/v1/customers/cust-dup/payment-methods", card, m.opts);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.data.id).not.toBe(b.body.data.id);
    // Two requests with one clientRequestId, at once: one card between them.
    const keyed = { ...card, clientRequestId: uniqueKey("save-dup") };
    const [k1, k2] = await Promise.all([post<{ data: { id: string } }>("/api/v1/customers/cust-dup/payment-methods", keyed, m.opts), post<{ data: { id: string } }>("/api/v1/customers/cust-dup/payment-methods", keyed, m.opts)]);
    expect([k1.status, k2.status]).toEqual([201, 201]);
    expect(k1.body.data.id).toBe(k2.body.data.id);
    const listed = await ok(get<{ data: { id: string }[] }>("/api/v1/customers/cust-dup/payment-methods", m.opts));
    expect(listed.data.map((p) => p.id).sort()).toEqual([a.body.data.id, b.body.data.id, k1.body.data.id].sort());
  });
});
