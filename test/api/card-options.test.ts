// Stripe's payment_method_options[card]: capture_method=manual and setup_future_usage there override
// the intent's own for a card payment (as at Stripe), so a merchant who asked the card to be held gets
// a hold, never a capture, and one who asked it to be saved gets it saved. The intent's top-level
// fields echo what was sent, and the card's options echo theirs.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { get, newMerchant, ok, post, stripeClient, type PaymentIntentJson } from "../helpers";

describe("payment_method_options[card]", () => {
  it("capture_method=manual on the card holds the payment (requires_capture), whatever the top-level capture_method; it is then captured as any hold", async () => {
    const m = await newMerchant("card-options-capture");
    const stripe = stripeClient(m.key);
    const held = await stripe.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true, payment_method_options: { card: { capture_method: "manual" } } });
    expect(held.status).toBe("requires_capture");
    expect(held.amount_capturable).toBe(1000);
    expect(held.amount_received).toBe(0);
    expect(held.capture_method).toBe("automatic");
    expect(held.payment_method_options?.card?.capture_method).toBe("manual");
    // Also when set before the confirm (create, then confirm with it) and with capture_method=automatic given.
    const later = await stripe.paymentIntents.create({ amount: 700, currency: "usd", capture_method: "automatic" });
    const confirmed = await stripe.paymentIntents.confirm(later.id, { payment_method: "pm_card_visa", payment_method_options: { card: { capture_method: "manual" } } });
    expect(confirmed.status).toBe("requires_capture");
    const captured = await stripe.paymentIntents.capture(held.id, { amount_to_capture: 600 });
    expect(captured).toMatchObject({ status: "succeeded", amount_received: 600 });
    // Without it, a card payment is captured at once.
    const plain = await stripe.paymentIntents.create({ amount: 500, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(plain.status).toBe("succeeded");
  });

  it("setup_future_usage on the card saves it to the customer; none there overrides the top-level one", async () => {
    const m = await newMerchant("card-options-sfu");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "sfu@example.com" }, m.opts));
    const saved = await ok(
      post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", customer: customer.id, payment_method: "pm_card_visa", confirm: true, payment_method_options: { card: { setup_future_usage: "off_session" } } }, m.opts),
    );
    expect(saved.status).toBe("succeeded");
    expect(saved.setup_future_usage).toBeNull();
    const pm = await ok(get<{ customer: string | null }>(`/v1/payment_methods/${String(saved.payment_method)}`, m.opts));
    expect(pm.customer).toBe(customer.id);

    const other = await ok(post<{ id: string }>("/v1/customers", { email: "none@example.com" }, m.opts));
    const notSaved = await ok(
      post<PaymentIntentJson>("/v1/payment_intents", {
        amount: 1000,
        currency: "usd",
        customer: other.id,
        payment_method: "pm_card_mastercard",
        confirm: true,
        setup_future_usage: "off_session",
        payment_method_options: { card: { setup_future_usage: "none" } },
      }, m.opts),
    );
    expect(notSaved.status).toBe("succeeded");
    const list = await ok(get<{ data: unknown[] }>(`/v1/customers/${other.id}/payment_methods`, m.opts));
    expect(list.data).toEqual([]);
  });
});

describe("POST /v1/payment_intents/:id/capture final_capture", () => {
  it("final_capture=false (multicapture) is a 400 that releases nothing; true, or leaving it out, captures as before", async () => {
    const m = await newMerchant("final-capture");
    const held = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", capture_method: "manual", payment_method: "pm_card_visa", confirm: true }, m.opts));
    expect(held.status).toBe("requires_capture");
    const refused = await post<{ error: { param?: string; type: string; message: string } }>(`/v1/payment_intents/${held.id}/capture`, { amount_to_capture: 300, final_capture: false }, m.opts);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: "invalid_request_error", param: "final_capture" });
    expect(refused.body.error.message).toMatch(/Multicapture is not available/);
    expect(await ok(get<PaymentIntentJson>(`/v1/payment_intents/${held.id}`, m.opts))).toMatchObject({ status: "requires_capture", amount_capturable: 1000, amount_received: 0 });
    const captured = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${held.id}/capture`, { amount_to_capture: 300, final_capture: true }, m.opts));
    expect(captured).toMatchObject({ status: "succeeded", amount_received: 300, amount_capturable: 0 });
  });
});

describe("payment_method_data[card][token]", () => {
  it("pays with a card token (tok_...) given as payment_method_data, as Stripe takes it; anything else there is a 400", async () => {
    const m = await newMerchant("pmd-card-token");
    const stripe = stripeClient(m.key);
    const paid = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 2000, currency: "usd", confirm: true, payment_method_data: { type: "card", card: { token: "tok_mastercard" } } }, m.opts));
    expect(paid.status).toBe("succeeded");
    const pm = await stripe.paymentMethods.retrieve(String(paid.payment_method));
    expect(pm.card?.brand).toBe("mastercard");
    const declined = await post<{ error: { code: string } }>("/v1/payment_intents", { amount: 2000, currency: "usd", confirm: true, payment_method_data: { type: "card", card: { token: "tok_chargeDeclined" } } }, m.opts);
    expect(declined.status).toBe(402);
    expect(declined.body.error.code).toBe("card_declined");
    const notToken = await post<{ error: { param?: string } }>("/v1/payment_intents", { amount: 2000, currency: "usd", confirm: true, payment_method_data: { type: "card", card: { token: "pm_card_visa" } } }, m.opts);
    expect(notToken.status).toBe(400);
  });
});

describe("metadata limits on create", () => {
  it("51 keys is a 400 that names the limit, not a bare 'Invalid input'", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const res = await post<{ error: { param?: string; message: string; code?: string } }>("/v1/payment_intents", { amount: 1000, currency: "usd", metadata });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: "metadata", code: "parameter_invalid" });
    expect(res.body.error.message).toBe("Invalid metadata: must have at most 50 keys");
  });
});

describe("payment_method_options[card][request_three_d_secure]", () => {
  /** The sandbox's 3DS page answered as the customer would (approve or fail). */
  const answer = (url: string, outcome: "approve" | "fail", secret: string) =>
    exports.default.fetch(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(secret)}&outcome=${outcome}`, redirect: "manual" }));

  it("any or challenge asks a card that supports 3D Secure for a challenge, which pays once passed; automatic (the default) does not; off-session never", async () => {
    const m = await newMerchant("request-3ds");
    for (const request of ["any", "challenge"] as const) {
      const pi = await ok(
        post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", payment_method: "pm_card_threeDSecureOptional", confirm: true, return_url: "https://shop.example/back", payment_method_options: { card: { request_three_d_secure: request } } }, m.opts),
      );
      expect(pi.status, request).toBe("requires_action");
      const url = (pi.next_action as { redirect_to_url?: { url: string } } | null)?.redirect_to_url?.url ?? "";
      expect(url).toContain("/sandbox/3ds/");
      expect((await answer(url, "approve", pi.client_secret)).status).toBe(303);
      expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts))).status, request).toBe("succeeded");
    }
    // Failing the challenge pays nothing.
    const failed = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true, return_url: "https://shop.example/back", payment_method_options: { card: { request_three_d_secure: "any" } } }, m.opts));
    expect(failed.status).toBe("requires_action");
    await answer((failed.next_action as { redirect_to_url?: { url: string } } | null)?.redirect_to_url?.url ?? "", "fail", failed.client_secret);
    expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, m.opts))).status).toBe("requires_payment_method");
    // automatic: the optional card pays without a challenge.
    const plain = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", payment_method: "pm_card_threeDSecureOptional", confirm: true, payment_method_options: { card: { request_three_d_secure: "automatic" } } }, m.opts));
    expect(plain.status).toBe("succeeded");
    // American Express's test card does not support 3D Secure: nothing to ask.
    const amex = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", payment_method: "pm_card_amex", confirm: true, payment_method_options: { card: { request_three_d_secure: "challenge" } } }, m.opts));
    expect(amex.status).toBe("succeeded");
    // Off-session, nobody is there to answer: no challenge is asked (the card pays as it would).
    const customer = await ok(post<{ id: string }>("/v1/customers", { payment_method: "pm_card_visa" }, m.opts));
    const methods = await ok(get<{ data: { id: string }[] }>(`/v1/customers/${customer.id}/payment_methods`, m.opts));
    const off = await ok(
      post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", customer: customer.id, payment_method: methods.data[0]?.id, confirm: true, off_session: true, payment_method_options: { card: { request_three_d_secure: "any" } } }, m.opts),
    );
    expect(off.status).toBe("succeeded");
  });
});

describe("card options given later are merged, and an invoice's or a session's capture is kept", () => {
  it("a confirm or update that sends other card options keeps the card's capture_method=manual: the payment is held", async () => {
    const m = await newMerchant("card-options-merge");
    const made = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "pm_card_visa", payment_method_options: { card: { capture_method: "manual" } } }, m.opts));
    const updated = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${made.id}`, { payment_method_options: { card: { request_incremental_authorization: "if_available" } } }, m.opts));
    expect(updated.payment_method_options).toMatchObject({ card: { capture_method: "manual", request_incremental_authorization: "if_available" } });
    const confirmed = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${made.id}/confirm`, { payment_method_options: { card: { request_three_d_secure: "automatic" } } }, m.opts));
    expect(confirmed).toMatchObject({ status: "requires_capture", amount_received: 0, payment_method_options: { card: { capture_method: "manual", request_three_d_secure: "automatic" } } });
  });

  it("an option given as \"\" is unset (the intent's own applies again): capture_method=\"\" lifts the card's hold, and the payment is captured", async () => {
    const m = await newMerchant("card-options-unset");
    const made = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "pm_card_visa", payment_method_options: { card: { capture_method: "manual", setup_future_usage: "off_session" } } }, m.opts));
    expect(made.payment_method_options).toMatchObject({ card: { capture_method: "manual", setup_future_usage: "off_session" } });
    const updated = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${made.id}`, { payment_method_options: { card: { capture_method: "", setup_future_usage: "" } } }, m.opts));
    const card = (updated.payment_method_options as { card: Record<string, unknown> }).card;
    expect("capture_method" in card).toBe(false);
    expect("setup_future_usage" in card).toBe(false);
    const confirmed = await ok(post<PaymentIntentJson>(`/v1/payment_intents/${made.id}/confirm`, {}, m.opts));
    expect(confirmed).toMatchObject({ status: "succeeded", amount_received: 1000 });
    // On create, "" is the same as not giving it.
    const plain = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 500, currency: "usd", payment_method_options: { card: { capture_method: "" } } }, m.opts));
    expect("capture_method" in (plain.payment_method_options as { card: Record<string, unknown> }).card).toBe(false);
  });

  it("an invoice's payment intent refuses a card-level capture_method on update and confirm (400 payment_intent_invoice_fields): no hold is left for an unpaid invoice", async () => {
    const m = await newMerchant("card-options-invoice");
    const customer = await ok(post<{ id: string }>("/v1/customers", { payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, m.opts));
    const sub = await ok(post<{ latest_invoice: { id: string; payment_intent: string } }>("/v1/subscriptions", { customer: customer.id, price: price.id, payment_behavior: "default_incomplete", expand: ["latest_invoice"] }, m.opts));
    const pi = sub.latest_invoice.payment_intent;
    const onUpdate = await post<{ error: { code: string; param: string } }>(`/v1/payment_intents/${pi}`, { payment_method_options: { card: { capture_method: "manual" } } }, m.opts);
    expect(onUpdate.status).toBe(400);
    expect(onUpdate.body.error).toMatchObject({ code: "payment_intent_invoice_fields", param: "payment_method_options[card][capture_method]" });
    const onConfirm = await post<{ error: { code: string; param: string } }>(`/v1/payment_intents/${pi}/confirm`, { payment_method: "pm_card_visa", payment_method_options: { card: { capture_method: "manual" } } }, m.opts);
    expect(onConfirm.status).toBe(400);
    expect(onConfirm.body.error.code).toBe("payment_intent_invoice_fields");
    expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pi}`, m.opts))).amount_capturable).toBe(0);
    // Confirmed as it is, it pays the invoice.
    expect((await ok(post<PaymentIntentJson>(`/v1/payment_intents/${pi}/confirm`, { payment_method: "pm_card_visa" }, m.opts))).status).toBe("succeeded");
  });
});
