// Checkout Sessions with the official `stripe` client against `wrangler dev`: create with price_data
// and with a price, retrieve with expand, list, line items, expire, and the events.
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";

const url = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_a", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
const stripeB = new Stripe("sk_test_merchant_b", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });

const SUCCESS = "https://shop.example/thanks?session_id={CHECKOUT_SESSION_ID}";

describe("Checkout Sessions through the stripe client", () => {
  it("creates with price_data; the url is the gateway's page; expires in 24 h by default", async () => {
    const s = await stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 2500, product_data: { name: "Espresso beans" } }, quantity: 2 }],
      success_url: SUCCESS,
      cancel_url: "https://shop.example/cart",
      client_reference_id: "cart-42",
      customer_email: "shopper@example.com",
      metadata: { cart: "42" },
      payment_intent_data: { description: "Cart 42", metadata: { cart: "42" } },
    });
    expect(s).toMatchObject({ object: "checkout.session", mode: "payment", status: "open", payment_status: "unpaid", amount_subtotal: 5000, amount_total: 5000, currency: "usd", client_reference_id: "cart-42", metadata: { cart: "42" } });
    expect(s.id).toMatch(/^cs_/);
    expect(s.url).toBe(`${url.origin}/checkout/${s.id}`);
    expect(s.expires_at - s.created).toBe(24 * 3600);
    const pi = await stripe.paymentIntents.retrieve(String(s.payment_intent));
    expect(pi).toMatchObject({ amount: 5000, currency: "usd", status: "requires_payment_method", description: "Cart 42", metadata: { cart: "42" } });
    const page = await fetch(s.url ?? "");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Pay $50.00");
  });

  it("creates with a price id from /v1/prices, retrieves with expand, lists line items", async () => {
    const price = await stripe.prices.create({ unit_amount: 1200, currency: "eur", product_data: { name: "Coffee club" } });
    // A recurring price needs subscription mode: Stripe's own refusal, as the SDK raises it.
    const monthly = await stripe.prices.create({ unit_amount: 1200, currency: "eur", recurring: { interval: "month" }, product_data: { name: "Coffee club" } });
    await expect(stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: monthly.id, quantity: 1 }], success_url: SUCCESS })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      statusCode: 400,
      param: "line_items[0][price]",
    });
    const s = await stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: price.id, quantity: 1 }], success_url: SUCCESS, expires_at: Math.floor(Date.now() / 1000) + 3600 });
    expect(s.amount_total).toBe(1200);
    expect(s.currency).toBe("eur");
    const got = await stripe.checkout.sessions.retrieve(s.id, { expand: ["payment_intent", "line_items"] });
    const pi = got.payment_intent as Stripe.PaymentIntent;
    expect(pi.object).toBe("payment_intent");
    expect(pi.amount).toBe(1200);
    expect(got.line_items?.data[0]).toMatchObject({ object: "item", quantity: 1, amount_total: 1200, description: "Coffee club", price: { id: price.id, unit_amount: 1200 } });
    const items = await stripe.checkout.sessions.listLineItems(s.id);
    expect(items.data.map((i) => i.description)).toEqual(["Coffee club"]);
  });

  it("lists sessions, newest first; another merchant cannot see them", async () => {
    const make = () => stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 100, product_data: { name: "x" } }, quantity: 1 }], success_url: SUCCESS });
    const a = await make();
    const b = await make();
    const list = await stripe.checkout.sessions.list({ limit: 2 });
    expect(list.data.map((s) => s.id)).toEqual([b.id, a.id]);
    expect(list.has_more).toBe(true);
    const byIntent = await stripe.checkout.sessions.list({ payment_intent: String(a.payment_intent) });
    expect(byIntent.data.map((s) => s.id)).toEqual([a.id]);
    await expect(stripeB.checkout.sessions.retrieve(a.id)).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404 });
  });

  it("expires a session: its intent is canceled, the page takes no payment, checkout.session.expired is an event", async () => {
    const s = await stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 700, product_data: { name: "x" } }, quantity: 1 }], success_url: SUCCESS });
    const expired = await stripe.checkout.sessions.expire(s.id);
    expect(expired.status).toBe("expired");
    expect(expired.url).toBeNull();
    expect((await stripe.paymentIntents.retrieve(String(s.payment_intent))).status).toBe("canceled");
    await expect(stripe.checkout.sessions.expire(s.id)).rejects.toMatchObject({ type: "StripeInvalidRequestError" });
    const paid = await fetch(`${url.origin}/checkout/${s.id}`, {
      method: "POST",
      body: new URLSearchParams({ card_number: "4242424242424242", expiry: "12/34", cvc: "123" }),
      redirect: "manual",
    });
    // Redirect-after-POST: the session's page, a GET, is the 410 page.
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`/checkout/${s.id}`);
    expect((await fetch(`${url.origin}/checkout/${s.id}`)).status).toBe(410);
    const events = await stripe.events.list({ type: "checkout.session.expired", limit: 100 });
    const mine = events.data.filter((e) => (e.data.object as { id: string }).id === s.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.data.object).toMatchObject({ object: "checkout.session", status: "expired" });
  });

  it("a paid session: checkout.session.completed once, retrieve says complete/paid", async () => {
    const s = await stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1999, product_data: { name: "x" } }, quantity: 1 }], success_url: SUCCESS });
    const paid = await fetch(`${url.origin}/checkout/${s.id}`, {
      method: "POST",
      body: new URLSearchParams({ card_number: "4242 4242 4242 4242", expiry: "12 / 34", cvc: "123" }),
      redirect: "manual",
    });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`https://shop.example/thanks?session_id=${s.id}`);
    const after = await stripe.checkout.sessions.retrieve(s.id);
    expect(after).toMatchObject({ status: "complete", payment_status: "paid" });
    const events = await stripe.events.list({ type: "checkout.session.completed", limit: 100 });
    const mine = events.data.filter((e) => (e.data.object as { id: string }).id === s.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.data.object).toMatchObject({ status: "complete", payment_status: "paid", amount_total: 1999 });
  });
});
