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
});
