// End to end: recurring billing with the official `stripe` client against a running `wrangler dev`
// (`npm run dev`): a customer on a test clock, a card attached and made the default, a monthly price, a
// subscription, and two months of renewals by advancing the clock. Also: the cron handler answers.
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";

const url = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_b", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

describe("subscriptions with the stripe client", () => {
  it("bills a subscription month after month on a test clock", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: at("2026-03-01T09:00:00Z"), name: "e2e" });
    const customer = await stripe.customers.create({ email: "e2e@example.com", name: "E2E", test_clock: clock.id });
    const pm = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    expect(pm.card?.last4).toBe("4242");
    await stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    const price = await stripe.prices.create({ unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "E2E plan" } });

    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(sub.status).toBe("active");
    // A month an advance (one goes at most two intervals of the clock's shortest subscription, as at Stripe).
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: at("2026-04-01T10:00:00Z") });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: at("2026-05-01T10:00:00Z") });
    const invoices = await stripe.invoices.list({ subscription: sub.id, limit: 10 });
    expect(invoices.data.map((i) => [i.status, i.amount_paid])).toEqual([
      ["paid", 1500],
      ["paid", 1500],
      ["paid", 1500],
    ]);
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
  });

  it("runs the cron sweep (ticked by npm run dev) without error", async () => {
    const res = await fetch(`${url.origin}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
    expect(res.status).toBe(200);
  });
});
