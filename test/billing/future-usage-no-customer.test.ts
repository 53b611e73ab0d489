// setup_future_usage without a customer, as at Stripe: the payment goes through, setup_future_usage is
// echoed, nothing is saved, and once the payment went through its card may be attached to a customer
// (then charged off session). A card paid with without setup_future_usage stays used up, and a card
// never saved cannot be named on another payment.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, stripeClient, type ListJson } from "../helpers";

async function thrown(run: () => Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("setup_future_usage without a customer", () => {
  it("create with confirm: the payment goes through, setup_future_usage is echoed, nothing is saved; the card is attached afterwards and charged off session", async () => {
    const { opts, key } = await newMerchant("sfu-no-customer");
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 1500, currency: "usd", payment_method: "pm_card_visa", setup_future_usage: "off_session", confirm: true });
    expect(pi).toMatchObject({ status: "succeeded", setup_future_usage: "off_session", customer: null });
    const pmId = String(pi.payment_method);
    // Nothing saved: the payment method is unattached, and no stored card exists for it.
    expect((await client.paymentMethods.retrieve(pmId)).customer).toBeNull();
    expect((await get<ListJson<unknown>>("/v1/payment_methods?type=card", opts)).body.data).toEqual([]);

    const customer = await client.customers.create({ email: "later@example.com" });
    const attached = await client.paymentMethods.attach(pmId, { customer: customer.id });
    expect(attached).toMatchObject({ id: pmId, customer: customer.id, card: { last4: "4242" } });
    expect((await client.paymentMethods.list({ customer: customer.id, type: "card" })).data.map((p) => p.id)).toEqual([pmId]);
    // Attached again to the same customer: the same answer; to another: refused.
    expect((await client.paymentMethods.attach(pmId, { customer: customer.id })).customer).toBe(customer.id);
    const other = await client.customers.create({ email: "other@example.com" });
    expect(await thrown(() => client.paymentMethods.attach(pmId, { customer: other.id }))).toMatchObject({ statusCode: 400, code: "payment_method_already_attached" });

    const later = await client.paymentIntents.create({ amount: 900, currency: "usd", customer: customer.id, payment_method: pmId, off_session: true, confirm: true });
    expect(later).toMatchObject({ status: "succeeded", payment_method: pmId });
  });

  it("confirm and update take it too; an update that gives the intent a customer before it is paid saves the card to it, as before", async () => {
    const { key } = await newMerchant("sfu-no-customer-confirm");
    const client = stripeClient(key);
    const created = await client.paymentIntents.create({ amount: 1200, currency: "usd" });
    const confirmed = await client.paymentIntents.confirm(created.id, { payment_method: "pm_card_mastercard", setup_future_usage: "on_session" });
    expect(confirmed).toMatchObject({ status: "succeeded", setup_future_usage: "on_session", customer: null });

    const updated = await client.paymentIntents.update((await client.paymentIntents.create({ amount: 1300, currency: "usd" })).id, { setup_future_usage: "off_session" });
    expect(updated.setup_future_usage).toBe("off_session");
    const customer = await client.customers.create({ email: "given-later@example.com" });
    await client.paymentIntents.update(updated.id, { customer: customer.id });
    const paid = await client.paymentIntents.confirm(updated.id, { payment_method: "pm_card_visa" });
    expect(paid).toMatchObject({ status: "succeeded", customer: customer.id });
    await expect.poll(async () => (await client.paymentMethods.list({ customer: customer.id, type: "card" })).data.map((p) => p.id)).toEqual([paid.payment_method]);
  });

  it("a card paid with without setup_future_usage cannot be attached afterwards; a card never saved cannot pay again, on or off session", async () => {
    const { key } = await newMerchant("sfu-no-customer-refusals");
    const client = stripeClient(key);
    const customer = await client.customers.create({ email: "refused@example.com" });
    const plain = await client.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(plain.status).toBe("succeeded");
    expect(await thrown(() => client.paymentMethods.attach(String(plain.payment_method), { customer: customer.id }))).toMatchObject({ statusCode: 400, code: "payment_method_unexpected_state" });

    const prepared = await client.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_card_visa", setup_future_usage: "off_session", confirm: true });
    const pmId = String(prepared.payment_method);
    // Prepared for future use, but never attached: it pays for nobody until it is.
    // Stripe's 400: used up until attached (not a 404, as if it never existed).
    const again = await thrown(() => client.paymentIntents.create({ amount: 700, currency: "usd", payment_method: pmId, confirm: true }));
    expect(again).toMatchObject({ statusCode: 400, code: "payment_method_unexpected_state", param: "payment_method" });
    const offSession = await thrown(() => client.paymentIntents.create({ amount: 700, currency: "usd", customer: customer.id, payment_method: pmId, off_session: true, confirm: true }));
    expect(offSession).toMatchObject({ statusCode: 400, code: "payment_method_unexpected_state" });
    const plainAgain = await thrown(() => client.paymentIntents.create({ amount: 700, currency: "usd", payment_method: String(plain.payment_method), confirm: true }));
    expect(plainAgain).toMatchObject({ statusCode: 400, code: "payment_method_unexpected_state" });
    // Another merchant's card stays unknown to this one.
    const stranger = await newMerchant("sfu-no-customer-stranger");
    expect(await thrown(() => stripeClient(stranger.key).paymentIntents.create({ amount: 700, currency: "usd", payment_method: pmId, confirm: true }))).toMatchObject({ code: "resource_missing" });
    // Nothing charged by either.
    const charges = await client.charges.list({ limit: 100 });
    expect(charges.data.filter((ch) => ch.payment_method === pmId).map((ch) => ch.amount)).toEqual([1000]);
  });

  it("the card of a payment made for a customer is that customer's: never attachable to another, even when it could not be saved (the customer deleted meanwhile)", async () => {
    const { key, opts } = await newMerchant("sfu-customer-gone");
    const client = stripeClient(key);
    const first = await client.customers.create({ email: "gone@example.com" });
    const pi = await client.paymentIntents.create({ amount: 1000, currency: "usd", customer: first.id, payment_method: "pm_card_visa", setup_future_usage: "off_session" });
    await client.customers.del(first.id);
    expect((await client.paymentIntents.confirm(pi.id)).status).toBe("succeeded");
    const other = await client.customers.create({ email: "other@example.com" });
    const res = await post(`/v1/payment_methods/${String(pi.payment_method)}/attach`, { customer: other.id }, opts);
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await client.paymentMethods.list({ customer: other.id, type: "card" })).data).toEqual([]);
  });

  it("a card of a payment not yet paid is not attachable (Stripe: after the transaction completes); a customer named must exist", async () => {
    const { key, opts } = await newMerchant("sfu-no-customer-unpaid");
    const client = stripeClient(key);
    const customer = await client.customers.create({ email: "unpaid@example.com" });
    const held = await client.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_card_visa", setup_future_usage: "off_session" });
    expect(held.status).toBe("requires_confirmation");
    const early = await post(`/v1/payment_methods/${String(held.payment_method)}/attach`, { customer: customer.id }, opts);
    expect(early.status).toBeGreaterThanOrEqual(400);
    expect(early.status).toBeLessThan(500);
    expect(await thrown(() => client.paymentIntents.create({ amount: 1000, currency: "usd", customer: "cus_doesnotexist", setup_future_usage: "off_session" }))).toMatchObject({ code: "resource_missing", param: "customer" });
  });
});
