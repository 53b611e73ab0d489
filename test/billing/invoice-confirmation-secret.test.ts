// Stripe's invoice confirmation_secret (since 2025-03-31.basil): the client_secret of the invoice's
// payment intent, which Stripe's subscription quickstart reads from
// subscriptions.create({..., payment_behavior: "default_incomplete", expand: ["latest_invoice.confirmation_secret"]}).
// It is includable: rendered only when expanded, null while the invoice has no payment intent, never
// in events; only credentials that may read the invoice see it.
import { describe, expect, it } from "vitest";
import type Stripe from "stripe";
import { bearer, call, expectError, get, hsToken, newMerchant, ok, post, stripeClient, waitFor, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface ConfirmationSecret {
  client_secret: string;
  type: string;
}
interface InvoiceJson {
  id: string;
  status: string;
  payment_intent: string | PaymentIntentJson | null;
  confirmation_secret?: ConfirmationSecret | null;
}
interface SubscriptionJson {
  id: string;
  status: string;
  latest_invoice: string | InvoiceJson | null;
}

async function setup(label: string) {
  const m = await newMerchant(label);
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com` }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, m.opts));
  return { ...m, customer: customer.id, price: price.id };
}

const quickstart = (opts: CallOptions, customer: string, price: string, expand: string[]) =>
  ok(post<SubscriptionJson>("/v1/subscriptions", { customer, items: [{ price }], payment_behavior: "default_incomplete", expand }, opts));

describe("invoice confirmation_secret", () => {
  it("Stripe's subscription quickstart with stripe-node: latest_invoice.confirmation_secret.client_secret confirms the first invoice's payment", async () => {
    const s = await setup("conf-secret-quickstart");
    const stripe = stripeClient(s.key);
    const subscription = await stripe.subscriptions.create({
      customer: s.customer,
      items: [{ price: s.price }],
      payment_behavior: "default_incomplete",
      payment_settings: { save_default_payment_method: "on_subscription" },
      expand: ["latest_invoice.confirmation_secret"],
    });
    // Rendered with the default API version, the one stripe-node pins (basil's shapes and later).
    expect(new Headers(subscription.lastResponse.headers as HeadersInit).get("stripe-version")).toBe("2026-10-28.endive");
    expect(subscription.status).toBe("incomplete");
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    const secret = invoice.confirmation_secret;
    expect(secret?.type).toBe("payment_intent");
    // It is the client_secret of the invoice's payment intent, waiting for the customer.
    const intentId = (invoice as unknown as { payment_intent: string }).payment_intent;
    const intent = await stripe.paymentIntents.retrieve(intentId);
    expect(intent.status).toBe("requires_payment_method");
    expect(secret?.client_secret).toBe(intent.client_secret);
    expect(secret?.client_secret).toMatch(new RegExp(`^${intentId}_secret_`));
    // The customer confirms that intent (stripe.confirmPayment({clientSecret}) in the browser): the subscription activates.
    expect((await stripe.paymentIntents.confirm(intentId, { payment_method: "pm_card_visa" })).status).toBe("succeeded");
    await waitFor(async () => ((await stripe.subscriptions.retrieve(subscription.id)).status === "active" ? true : undefined), 15_000, "the subscription to activate");
    // On the paid invoice it still names the intent that paid it.
    const paid = await stripe.invoices.retrieve(invoice.id ?? "", { expand: ["confirmation_secret"] });
    expect(paid.status).toBe("paid");
    expect(paid.confirmation_secret).toEqual({ client_secret: intent.client_secret, type: "payment_intent" });
  });

  it("is includable: only when expanded (retrieve, list, search, pay; latest_invoice.confirmation_secret on subscriptions), never in events", async () => {
    const s = await setup("conf-secret-includable");
    const sub = await quickstart(s.opts, s.customer, s.price, ["latest_invoice.payment_intent"]);
    const invoice = sub.latest_invoice as InvoiceJson;
    const intent = invoice.payment_intent as PaymentIntentJson;
    expect(invoice).not.toHaveProperty("confirmation_secret");
    const expected = { client_secret: intent.client_secret, type: "payment_intent" };

    expect(await ok(get<InvoiceJson>(`/v1/invoices/${invoice.id}`, s.opts))).not.toHaveProperty("confirmation_secret");
    const retrieved = await ok(get<InvoiceJson>(`/v1/invoices/${invoice.id}?expand[]=confirmation_secret`, s.opts));
    expect(retrieved.confirmation_secret).toEqual(expected);
    expect(retrieved.payment_intent).toBe(intent.id);
    const both = await ok(get<InvoiceJson>(`/v1/invoices/${invoice.id}?expand[]=confirmation_secret&expand[]=payment_intent`, s.opts));
    expect(both.confirmation_secret).toEqual(expected);
    expect((both.payment_intent as PaymentIntentJson).id).toBe(intent.id);
    const list = await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}&expand[]=data.confirmation_secret`, s.opts));
    expect(list.data.map((i) => i.confirmation_secret)).toEqual([expected]);
    const found = await ok(get<ListJson<InvoiceJson>>(`/v1/invoices/search?query=${encodeURIComponent(`subscription:'${sub.id}'`)}&expand[]=data.confirmation_secret`, s.opts));
    expect(found.data.map((i) => i.confirmation_secret)).toEqual([expected]);
    const viaSubscription = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}?expand[]=latest_invoice.confirmation_secret`, s.opts));
    expect((viaSubscription.latest_invoice as InvoiceJson).confirmation_secret).toEqual(expected);
    const updated = await ok(post<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, { metadata: { plan: "pro" }, expand: ["latest_invoice.confirmation_secret"] }, s.opts));
    expect((updated.latest_invoice as InvoiceJson).confirmation_secret).toEqual(expected);

    // Events carry the invoice without it (an includable field, and a secret).
    const events = await ok(get<ListJson<{ type: string; data: { object: Record<string, unknown> } }>>(`/v1/events?type=${encodeURIComponent("invoice.*")}&limit=100`, s.opts));
    expect(events.data.length).toBeGreaterThan(0);
    expect(events.data.every((e) => !("confirmation_secret" in e.data.object))).toBe(true);
    expect(JSON.stringify(events.data)).not.toContain(intent.client_secret);

    // Paying the invoice from the API: its answer may include the paying intent's secret too.
    await ok(post(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_visa", set_default: true }, s.opts));
    const paid = await ok(post<InvoiceJson>(`/v1/invoices/${invoice.id}/pay`, { expand: ["confirmation_secret"] }, s.opts));
    expect(paid.status).toBe("paid");
    expect(paid.confirmation_secret?.type).toBe("payment_intent");
    expect(paid.confirmation_secret?.client_secret).toMatch(new RegExp(`^${typeof paid.payment_intent === "string" ? paid.payment_intent : ""}_secret_`));
  });

  it("is null on an invoice with no payment intent (a trial's zero invoice)", async () => {
    const s = await setup("conf-secret-null");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 14, expand: ["latest_invoice.confirmation_secret"] }, s.opts));
    expect(sub.status).toBe("trialing");
    expect(sub.latest_invoice).toMatchObject({ payment_intent: null, confirmation_secret: null });
  });

  it("an unknown expansion is still refused, naming what can be expanded", async () => {
    const s = await setup("conf-secret-refused");
    const refused = expectError(await post("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.confirmation_secrets"] }, s.opts), 400);
    expect(refused.message).toContain("latest_invoice.confirmation_secret");
    expect((await ok(get<ListJson<SubscriptionJson>>(`/v1/subscriptions?customer=${s.customer}&status=all`, s.opts))).data).toEqual([]);
  });

  it("only credentials that may read the merchant's invoices see it: another merchant gets a 404, a shopper's token and a key without billing.view a 403", async () => {
    const s = await setup("conf-secret-access");
    const sub = await quickstart(s.opts, s.customer, s.price, []);
    const path = `/v1/invoices/${sub.latest_invoice as string}?expand[]=confirmation_secret`;
    const other = await newMerchant("conf-secret-other");
    expectError(await get(path, other.opts), 404);
    expectError(await get(`/v1/subscriptions/${sub.id}?expand[]=latest_invoice.confirmation_secret`, other.opts), 404);
    const shopper = await hsToken({ merchant: s.id, roles: ["customer"], customer: s.customer });
    expectError(await get(path, bearer(shopper)), 403);
    const paymentsOnly = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, s.opts))).secret ?? "";
    expectError(await get(path, { key: paymentsOnly }), 403);
    // The merchant's key does.
    expect((await ok(get<InvoiceJson>(path, s.opts))).confirmation_secret?.type).toBe("payment_intent");
    expect((await call("GET", path, { key: null })).status).toBe(401);
  });
});
