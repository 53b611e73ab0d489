// Issue 13 end to end with stripe-node: Stripe's quickstart parameters, declines that keep the intent
// open, products and prices, subscription items and invoice totals, as the official client sees them.
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";

const url = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_a", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });

describe("stripe-node: Stripe compatibility in depth", () => {
  it("runs the payments quickstart (automatic_payment_methods) and keeps an intent open across declines", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: "usd", automatic_payment_methods: { enabled: true } });
    expect(pi.status).toBe("requires_payment_method");
    for (let i = 0; i < 3; i++) {
      const err = await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_chargeDeclined" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect((err as Stripe.errors.StripeCardError).code).toBe("card_declined");
      expect(((err as Stripe.errors.StripeCardError).raw as { charge?: string }).charge).toMatch(/^ch_/);
    }
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe("requires_payment_method");
    expect(after.last_payment_error?.charge).toBeTruthy();
    const failed = await stripe.charges.retrieve(String(after.last_payment_error?.charge));
    expect(failed.status).toBe("failed");
    expect((await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" })).status).toBe("succeeded");
  });

  it("products, prices pointing at them, subscription items with price objects and invoice totals", async () => {
    const product = await stripe.products.create({ name: "E2E plan", description: "monthly" });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 1200, currency: "usd", recurring: { interval: "month" } });
    expect(price.product).toBe(product.id);
    const customer = await stripe.customers.create({ email: "e2e-items@example.com", address: { line1: "1 Main St" }, preferred_locales: ["en"] });
    const pm = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" }, billing_details: { name: "E2E Shopper" } });
    expect(pm.billing_details.name).toBe("E2E Shopper");
    await stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], default_payment_method: pm.id, expand: ["latest_invoice"] });
    const item = sub.items.data[0];
    expect(item?.price.id).toBe(price.id);
    expect(item?.price.unit_amount).toBe(1200);
    expect(item?.subscription).toBe(sub.id);
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.total).toBe(1200);
    expect(invoice.amount_remaining).toBe(0);
    expect(invoice.lines.data[0]?.id).toMatch(/^il_/);
  });

  it("runs the subscription quickstart: default_incomplete, expand latest_invoice.payment_intent, the customer confirms, the subscription activates", async () => {
    const product = await stripe.products.create({ name: "Quickstart plan" });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 1500, currency: "usd", recurring: { interval: "month" } });
    const customer = await stripe.customers.create({ email: "sub-quickstart@example.com", name: "Quickstart" });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
      payment_settings: { save_default_payment_method: "on_subscription" },
      expand: ["latest_invoice.payment_intent"],
    });
    expect(sub.status).toBe("incomplete");
    const invoice = sub.latest_invoice as Stripe.Invoice & { payment_intent?: Stripe.PaymentIntent };
    const intent = invoice.payment_intent;
    expect(intent?.client_secret).toMatch(/^pi_.+_secret_/);
    expect(intent?.amount).toBe(1500);
    // The quickstart's browser confirms with stripe.confirmCardPayment(client_secret); the same confirm here.
    expect((await stripe.paymentIntents.confirm(String(intent?.id), { payment_method: "pm_card_visa" })).status).toBe("succeeded");
    const deadline = Date.now() + 20_000;
    let status = sub.status;
    while (status !== "active" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await stripe.subscriptions.retrieve(sub.id)).status;
    }
    expect(status).toBe("active");
    expect((await stripe.invoices.retrieve(String(invoice.id))).status).toBe("paid");
  });

  it("runs the Checkout quickstart: a session with a price, its hosted page served at session.url", async () => {
    const product = await stripe.products.create({ name: "Quickstart T-shirt" });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 2000, currency: "usd" });
    const session = await stripe.checkout.sessions.create({
      line_items: [{ price: price.id, quantity: 1 }],
      mode: "payment",
      success_url: "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://shop.example/cancel",
    });
    expect(session.status).toBe("open");
    expect(session.amount_total).toBe(2000);
    const page = await fetch(String(session.url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Quickstart T-shirt");
    expect((await stripe.checkout.sessions.retrieve(session.id)).id).toBe(session.id);
  });
});
