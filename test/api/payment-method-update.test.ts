// POST /v1/payment_methods/:id with billing_details, as at Stripe: each field given replaces the
// stored one ("" unsets it), the address's fields one by one; what is not given stays. It was
// accepted and ignored (the update answered 200 with the old name).
import { describe, expect, it } from "vitest";
import { stripeClient } from "../helpers";

describe("POST /v1/payment_methods/:id billing_details", () => {
  it("updates the fields given, keeps the others, and \"\" unsets one", async () => {
    const stripe = stripeClient();
    const pm = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" }, billing_details: { name: "Old Name", email: "old@example.com", address: { line1: "1 Main St", city: "Lyon", country: "FR" } } });
    expect(pm.billing_details.name).toBe("Old Name");
    // Only a payment method saved to a customer may be updated, as at Stripe.
    const customer = await stripe.customers.create({});
    await stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    const updated = await stripe.paymentMethods.update(pm.id, { billing_details: { name: "New Name", email: "", address: { city: "Paris" } } });
    expect(updated.billing_details).toMatchObject({ name: "New Name", email: null, address: { line1: "1 Main St", city: "Paris", country: "FR" } });
    // Kept: read back as written.
    expect((await stripe.paymentMethods.retrieve(pm.id)).billing_details).toMatchObject({ name: "New Name", email: null, phone: null, address: { line1: "1 Main St", city: "Paris", country: "FR", postal_code: null } });
    // A payment made with it afterwards carries them on its charge.
    const paid = await stripe.paymentIntents.create({ amount: 900, currency: "eur", customer: customer.id, payment_method: pm.id, confirm: true, expand: ["latest_charge"] });
    expect((paid.latest_charge as { billing_details: { name: string | null } }).billing_details.name).toBe("New Name");
  });
});

describe("receipt_email", () => {
  it("must be an email address (400 naming it), on create, update and confirm; \"\" still unsets it on update", async () => {
    const stripe = stripeClient();
    await expect(stripe.paymentIntents.create({ amount: 900, currency: "usd", receipt_email: "notanemail" })).rejects.toMatchObject({ statusCode: 400, param: "receipt_email" });
    const pi = await stripe.paymentIntents.create({ amount: 900, currency: "usd", receipt_email: "jenny@example.com" });
    await expect(stripe.paymentIntents.update(pi.id, { receipt_email: "jenny at example" })).rejects.toMatchObject({ statusCode: 400, param: "receipt_email" });
    await expect(stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa", receipt_email: "nope" })).rejects.toMatchObject({ statusCode: 400, param: "receipt_email" });
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("requires_payment_method");
    expect((await stripe.paymentIntents.update(pi.id, { receipt_email: "" })).receipt_email).toBeNull();
  });
});
