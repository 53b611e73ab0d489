// Stripe's billing parameters that stripe-node sends and the gateway once answered parameter_unknown:
// a subscription's cancellation (prorate, invoice_now, cancellation_details, expand: in the query
// string, as stripe-node sends DELETE parameters), an item's metadata and price_data, and the lists'
// created and collection_method filters.
import { describe, expect, it } from "vitest";
import type Stripe from "stripe";
import { call, expectError, get, newMerchant, ok, post, stripeClient, type ListJson } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  created: number;
  latest_invoice: string | { id: string; object: string };
  cancellation_details: { comment: string | null; feedback: string | null; feedback_option: string | null; reason: string | null };
  items: { data: { metadata: Record<string, string>; price: { id: string; active: boolean; unit_amount: number; product: string; recurring: { interval: string; interval_count: number } | null } }[] };
}

/** A merchant of its own, a customer with a saved card, and a monthly price. */
async function billing(label: string) {
  const m = await newMerchant(label);
  const stripe = stripeClient(m.key);
  const customer = await stripe.customers.create({ email: `${label}@example.com` });
  const card = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const price = await stripe.prices.create({ unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } });
  const subscribe = (extra: Partial<Stripe.SubscriptionCreateParams> = {}) =>
    stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], default_payment_method: card.id, ...extra });
  return { m, stripe, customer, card, price, subscribe };
}

describe("DELETE /v1/subscriptions/{id}", () => {
  it("stripe.subscriptions.cancel(id, {prorate: false, invoice_now: false, cancellation_details, expand}) cancels and keeps the details, as Stripe renders them", async () => {
    const b = await billing("cancel-details");
    const sub = await b.subscribe();
    expect(sub.status).toBe("active");
    const canceled = await b.stripe.subscriptions.cancel(sub.id, {
      prorate: false,
      invoice_now: false,
      cancellation_details: { comment: "Too pricey for us", feedback: "too_expensive" },
      expand: ["latest_invoice"],
    });
    expect(canceled.status).toBe("canceled");
    expect(canceled.cancellation_details).toEqual({ comment: "Too pricey for us", feedback: "too_expensive", feedback_option: null, reason: "cancellation_requested" });
    expect(typeof canceled.latest_invoice === "object" && canceled.latest_invoice?.object).toBe("invoice");
    // Kept: the retrieve and the list show them too.
    const read = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, b.m.opts));
    expect(read.cancellation_details).toEqual({ comment: "Too pricey for us", feedback: "too_expensive", feedback_option: null, reason: "cancellation_requested" });
    const listed = await ok(get<ListJson<SubscriptionJson>>("/v1/subscriptions?status=canceled", b.m.opts));
    expect(listed.data.find((s) => s.id === sub.id)?.cancellation_details.feedback).toBe("too_expensive");
    // Canceling again answers it as it is.
    const again = await b.stripe.subscriptions.cancel(sub.id, { prorate: false });
    expect(again.cancellation_details?.comment).toBe("Too pricey for us");
  });

  it("a plain cancel says cancellation_requested; prorate=true is a clear 400 that changes nothing; a bad feedback is a 400", async () => {
    const b = await billing("cancel-prorate");
    const sub = await b.subscribe();
    const refused = expectError(await call("DELETE", `/v1/subscriptions/${sub.id}?prorate=true`, { key: b.m.key }), 400, "parameter_not_supported");
    expect(refused.param).toBe("prorate");
    expect(refused.message).toMatch(/prorate=true is not supported/);
    expectError(await call("DELETE", `/v1/subscriptions/${sub.id}?cancellation_details[feedback]=meh`, { key: b.m.key }), 400, "parameter_invalid");
    expectError(await call("DELETE", `/v1/subscriptions/${sub.id}?no_such_param=1`, { key: b.m.key }), 400, "parameter_unknown");
    // The same in a form body (curl -X DELETE -d prorate=true): refused, not ignored.
    expect(expectError(await call("DELETE", `/v1/subscriptions/${sub.id}`, { key: b.m.key, form: "prorate=true" }), 400, "parameter_not_supported").param).toBe("prorate");
    expectError(await call("DELETE", `/v1/customers/cus_doesNotMatter`, { key: b.m.key, form: "no_such_param=1" }), 400, "parameter_unknown");
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, b.m.opts))).status).toBe("active");
    const canceled = await ok(call<SubscriptionJson>("DELETE", `/v1/subscriptions/${sub.id}?invoice_now=true`, { key: b.m.key }));
    expect(canceled.status).toBe("canceled");
    expect(canceled.cancellation_details).toEqual({ comment: null, feedback: null, feedback_option: null, reason: "cancellation_requested" });
  });
});

describe("POST /v1/subscriptions items", () => {
  it("items[0][metadata] is kept on the item", async () => {
    const b = await billing("item-metadata");
    const sub = await b.subscribe({ items: [{ price: b.price.id, metadata: { seat: "owner" } }] });
    expect(sub.items.data[0]?.metadata).toEqual({ seat: "owner" });
    const read = await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, b.m.opts));
    expect(read.items.data[0]?.metadata).toEqual({ seat: "owner" });
  });

  it("items[0][price_data] makes an ad-hoc recurring price of the merchant's product (archived, as at Stripe) and subscribes to it", async () => {
    const b = await billing("item-price-data");
    const product = await b.stripe.products.create({ name: "Seats" });
    const sub = await b.subscribe({ items: [{ price_data: { currency: "usd", product: product.id, unit_amount: 700, recurring: { interval: "month", interval_count: 3 } }, quantity: 2 }] });
    expect(sub.status).toBe("active");
    const item = sub.items.data[0];
    expect(item?.price).toMatchObject({ unit_amount: 700, currency: "usd", product: product.id, active: false, recurring: { interval: "month", interval_count: 3 } });
    expect(item?.quantity).toBe(2);
    // Another merchant's product is a 400 resource_missing naming the parameter (as at Stripe); price and price_data together a 400.
    const other = await newMerchant("item-price-data-other");
    const foreign = await ok(post<{ id: string }>("/v1/products", { name: "Theirs" }, other.opts));
    const missing = expectError(
      await post("/v1/subscriptions", { customer: b.customer.id, default_payment_method: b.card.id, items: [{ price_data: { currency: "usd", product: foreign.id, unit_amount: 700, recurring: { interval: "month" } } }] }, b.m.opts),
      400,
      "resource_missing",
    );
    expect(missing.param).toBe("items[0][price_data][product]");
    expectError(
      await post("/v1/subscriptions", { customer: b.customer.id, default_payment_method: b.card.id, items: [{ price: b.price.id, price_data: { currency: "usd", product: product.id, unit_amount: 700, recurring: { interval: "month" } } }] }, b.m.opts),
      400,
    );
  });
});

describe("billing lists' filters", () => {
  it("subscriptions and invoices by created (gt, gte, lt, lte) and collection_method; send_invoice matches none", async () => {
    const b = await billing("billing-created");
    const sub = await b.subscribe();
    const at = sub.created;
    const ids = async (path: string) => (await ok(get<ListJson<{ id: string }>>(path, b.m.opts))).data.map((x) => x.id);
    expect(await ids(`/v1/subscriptions?created[gte]=${at}&created[lte]=${at}`)).toEqual([sub.id]);
    expect(await ids(`/v1/subscriptions?created[gt]=${at}`)).toEqual([]);
    expect(await ids(`/v1/subscriptions?created[lt]=${at}`)).toEqual([]);
    expect(await ids(`/v1/subscriptions?created=${at}`)).toEqual([sub.id]);
    expect(await ids("/v1/subscriptions?collection_method=charge_automatically")).toEqual([sub.id]);
    expect(await ids("/v1/subscriptions?collection_method=send_invoice")).toEqual([]);
    const invoice = typeof sub.latest_invoice === "string" ? sub.latest_invoice : (sub.latest_invoice?.id ?? "");
    expect(await ids(`/v1/invoices?created[gte]=${at}&created[lte]=${at + 1}`)).toEqual([invoice]);
    expect(await ids(`/v1/invoices?created[gt]=${at + 1}`)).toEqual([]);
    expect(await ids(`/v1/invoices?customer=${b.customer.id}&collection_method=charge_automatically`)).toEqual([invoice]);
    expect(await ids("/v1/invoices?collection_method=send_invoice")).toEqual([]);
    // Through stripe-node, as a merchant's code lists them.
    const listed = await b.stripe.subscriptions.list({ created: { gte: at }, collection_method: "charge_automatically" });
    expect(listed.data.map((s) => s.id)).toEqual([sub.id]);
    expectError(await get("/v1/subscriptions?collection_method=by_post", b.m.opts), 400, "parameter_invalid");
  });
});

describe("POST /v1/subscriptions currency", () => {
  it("a currency other than the price's is a 400 that makes nothing (it was ignored, and the subscription billed in the price's); the price's own is taken", async () => {
    const b = await billing("sub-currency");
    const before = (await ok(get<ListJson<{ id: string }>>(`/v1/subscriptions?customer=${b.customer.id}&status=all`, { key: b.m.key }))).data.length;
    const err = await b.subscribe({ currency: "eur" }).then(
      () => null,
      (e: Stripe.errors.StripeError) => e,
    );
    expect(err?.statusCode).toBe(400);
    expect(err?.param).toBe("currency");
    expect(err?.code).toBe("currency_mismatch");
    expect((await ok(get<ListJson<{ id: string }>>(`/v1/subscriptions?customer=${b.customer.id}&status=all`, { key: b.m.key }))).data.length).toBe(before);
    const invoices = await ok(get<ListJson<{ id: string }>>(`/v1/invoices?customer=${b.customer.id}`, { key: b.m.key }));
    expect(invoices.data).toEqual([]);
    // Its own currency, in any case, is taken.
    const sub = await b.subscribe({ currency: "USD" } as Partial<Stripe.SubscriptionCreateParams>);
    expect(sub.status).toBe("active");
    expect(sub.currency).toBe("usd");
  });
});
