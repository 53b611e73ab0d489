import { describe, expect, it } from "vitest";
import { exports } from "cloudflare:workers";
import {
  authorizedIntent,
  bearer,
  createIntent,
  expectError,
  get,
  hsToken,
  KEY_B,
  post,
  succeededIntent,
  type ListJson,
  type PaymentIntentJson,
  type TransactionJson,
  newMerchant,
  uniqueKey,
} from "../helpers";

describe("POST /v1/payment_intents (create)", () => {
  it("creates an intent waiting for a payment method, with Stripe's and seed 001's fields", async () => {
    const res = await createIntent({ amount: 2599, currency: "EUR", order_id: "ord_777", description: "Two tickets", metadata: { cart: "c_1" } });
    expect(res.status).toBe(200);
    const pi = res.body;
    expect(pi.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(pi.payment_intent_id).toBe(pi.id);
    expect(pi.object).toBe("payment_intent");
    expect(pi.status).toBe("requires_payment_method");
    expect(pi.amount).toBe(2599);
    expect(pi.currency).toBe("eur");
    expect(pi.order_id).toBe("ord_777");
    expect(pi.metadata).toEqual({ cart: "c_1" });
    expect(pi.livemode).toBe(false);
    expect(pi.capture_method).toBe("automatic");
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect(pi.amount_capturable).toBe(0);
    expect(pi.amount_received).toBe(0);
    expect(pi.latest_charge).toBeNull();
    expect(pi.latest_charge_id).toBeNull();
    expect(pi.last_payment_error).toBeNull();
    expect(typeof pi.created).toBe("number");
  });

  it("with a payment method but no confirm waits for confirmation", async () => {
    const res = await createIntent({ payment_method: "pm_card_visa" });
    expect(res.body.status).toBe("requires_confirmation");
    expect(res.body.payment_method).toMatch(/^pm_/);
  });

  it("confirms at once with seed 001's card_token payment method", async () => {
    const res = await createIntent({ amount: 2599, currency: "EUR", payment_method: { type: "card_token", token: "tok_visa" }, confirm: true });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("succeeded");
    expect(res.body.amount_received).toBe(2599);
    expect(res.body.latest_charge).toMatch(/^ch_/);
    expect(res.body.latest_charge_id).toBe(res.body.latest_charge);
  });

  it("seed 001's confirm 'after client action' (the card_token form, once 3D Secure is done) answers the intent as it stands; Stripe's form keeps Stripe's 400", async () => {
    const token = { type: "card_token", token: "tok_threeDSecure2Required" };
    const created = await createIntent({ amount: 2599, currency: "EUR", order_id: "ord_3ds_continue", payment_method: token, confirm: true, return_url: "https://merchant.site/return" });
    expect(created.body.status).toBe("requires_action");
    const url = created.body.next_action?.url ?? "";
    const approved = await exports.default.fetch(
      new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(created.body.client_secret ?? "")}&outcome=approve`, redirect: "manual" }),
    );
    expect(approved.status).toBe(303);
    const transactions = async () => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${created.body.id}/transactions`)).body.data.length;
    const before = await transactions();
    const continued = await post<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: token });
    expect(continued.status, JSON.stringify(continued.body)).toBe(200);
    expect(continued.body).toMatchObject({ payment_intent_id: created.body.id, status: "succeeded", amount_received: 2599 });
    // Nothing was attempted again.
    expect(await transactions()).toBe(before);
    // Another card, Stripe's string form, or any other parameter: Stripe's answer.
    expectError(await post(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: { type: "card_token", token: "tok_visa" } }), 400, "payment_intent_unexpected_state");
    expectError(await post(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: "pm_card_threeDSecure2Required" }), 400, "payment_intent_unexpected_state");
    expectError(await post(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: token, return_url: "https://merchant.site/again" }), 400, "payment_intent_unexpected_state");
    expect(await transactions()).toBe(before);
  });

  it("error_on_requires_action: a card that needs 3D Secure is declined (402 authentication_required, back to requires_payment_method), on create and on confirm; a good card pays", async () => {
    const declined = await createIntent({ amount: 1800, payment_method: "pm_card_threeDSecure2Required", confirm: true, error_on_requires_action: true, return_url: "https://shop.example/back" });
    const error = expectError(declined, 402, "authentication_required");
    expect(error.decline_code).toBe("authentication_required");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${(error.payment_intent as PaymentIntentJson).id}`)).body;
    expect(after).toMatchObject({ status: "requires_payment_method", next_action: null });
    // On confirm too; and a later confirm without it takes the customer through the challenge again.
    const pi = (await createIntent({ amount: 1900, return_url: "https://shop.example/back" })).body;
    expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_threeDSecure2Required", error_on_requires_action: true }), 402, "authentication_required");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_threeDSecure2Required" })).body.status).toBe("requires_action");
    // A card that needs nothing pays as ever.
    expect((await createIntent({ amount: 2000, payment_method: "pm_card_visa", confirm: true, error_on_requires_action: true })).body.status).toBe("succeeded");
  });

  it("confirmation_method=manual: a passed 3D Secure challenge leaves requires_confirmation (nothing authorized) until the merchant confirms, which pays without a second challenge; the shopper's page never confirms it", async () => {
    const challengeUrl = (pi: PaymentIntentJson) => (pi.next_action as { redirect_to_url?: { url: string } } | null)?.redirect_to_url?.url ?? "";
    const answer = (pi: PaymentIntentJson, outcome: "approve" | "fail") =>
      exports.default.fetch(new Request(challengeUrl(pi), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(pi.client_secret)}&outcome=${outcome}`, redirect: "manual" }));
    const authorizations = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data.filter((t) => t.type === "authorize" && t.status === "succeeded").length;
    const pi = (await createIntent({ amount: 2200, confirmation_method: "manual", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" })).body;
    expect(pi).toMatchObject({ status: "requires_action", confirmation_method: "manual" });
    // The customer's step went through: back to return_url with redirect_status=succeeded (Stripe's convention).
    const back = new URL((await answer(pi, "approve")).headers.get("location") ?? "");
    expect(back.origin + back.pathname).toBe("https://shop.example/back");
    expect(back.searchParams.get("redirect_status")).toBe("succeeded");
    // Back to the answered challenge: it says the card was confirmed, not that the payment waits for a card.
    const again = await (await exports.default.fetch(new Request(challengeUrl(pi)))).text();
    expect(again).toContain("Your bank confirmed your card");
    expect(again).not.toContain("waiting for a card");
    const waiting = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(waiting).toMatchObject({ status: "requires_confirmation", next_action: null, amount_received: 0 });
    expect(await authorizations(pi.id)).toBe(0);
    // The read model says so too.
    const listed = (await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?limit=5`)).body.data.find((p) => p.id === pi.id);
    expect(listed?.status).toBe("requires_confirmation");
    // The shopper's page offers no form and takes no card for it.
    const page = `/pay/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`;
    const html = await (await exports.default.fetch(new Request(`http://gateway.test${page}`))).text();
    expect(html).toContain("completes the payment");
    expect(html).not.toContain("<form");
    const posted = await exports.default.fetch(
      new Request(`http://gateway.test/pay/${pi.id}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ client_secret: pi.client_secret, card_number: "4242424242424242", expiry: "12 / 34", cvc: "123" }), redirect: "manual" }),
    );
    expect(posted.status).toBe(303);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_confirmation");
    // The merchant's confirmation authorizes once, with no second challenge.
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {});
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ status: "succeeded", amount_received: 2200, confirmation_method: "manual" });
    expect(await authorizations(pi.id)).toBe(1);

    // The amount changed after the challenge: the confirmation asks the customer again.
    const changed = (await createIntent({ amount: 2300, confirmation_method: "manual", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" })).body;
    await answer(changed, "approve");
    expect((await post(`/v1/payment_intents/${changed.id}`, { amount: 2400 })).status).toBe(200);
    // Its page no longer says the bank confirmed the card for this (new) amount.
    const changedPage = await (await exports.default.fetch(new Request(`http://gateway.test/pay/${changed.id}?client_secret=${encodeURIComponent(changed.client_secret)}`))).text();
    expect(changedPage).not.toContain("Your bank confirmed your card");
    expect(changedPage).toContain("is completed by");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${changed.id}/confirm`, {})).body.status).toBe("requires_action");
    // Without a return_url the challenge's result page says the merchant completes it.
    const bare = (await createIntent({ amount: 2500, confirmation_method: "manual", payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const result = (await answer(bare, "approve")).headers.get("location") ?? "";
    const resultPage = await (await exports.default.fetch(new Request(`http://gateway.test${result}`))).text();
    expect(resultPage).toContain("Your bank confirmed your card");
    // Its way on is the payment's page, never a card form that is not there.
    expect(resultPage).toContain("View your payment");
    expect(resultPage).not.toContain("Pay with another card");
    // A failed challenge is a decline, as with automatic confirmation.
    const failed = (await createIntent({ amount: 2600, confirmation_method: "manual", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" })).body;
    expect(new URL((await answer(failed, "fail")).headers.get("location") ?? "").searchParams.get("redirect_status")).toBe("failed");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`)).body.status).toBe("requires_payment_method");
    // Without a return_url, the failed challenge's page sends the customer to the merchant, not to another card.
    const failedBare = (await createIntent({ amount: 2700, confirmation_method: "manual", payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    const failedResult = (await answer(failedBare, "fail")).headers.get("location") ?? "";
    const failedPage = await (await exports.default.fetch(new Request(`http://gateway.test${failedResult}`))).text();
    expect(failedPage).toContain("contact the merchant");
    expect(failedPage).not.toContain("Pay with another card");
    // Automatic stays the default, and anything else is refused.
    expect((await createIntent({ amount: 100 })).body.confirmation_method).toBe("automatic");
    expectError(await createIntent({ amount: 100, confirmation_method: "later" }), 400, "parameter_invalid");
  });

  it("off_session is of one confirmation: after an off-session authentication_required, confirming again without it brings the customer's 3D Secure challenge (Stripe's recovery path)", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { email: "off-session-once@example.com" })).body.id;
    const card = (await post<{ id: string }>("/v1/payment_methods/pm_card_authenticationRequired/attach", { customer })).body.id;
    const declined = await createIntent({ amount: 3100, customer, payment_method: card, off_session: true, confirm: true });
    const error = expectError(declined, 402, "authentication_required");
    const id = (error.payment_intent as PaymentIntentJson).id;
    const again = await post<PaymentIntentJson>(`/v1/payment_intents/${id}/confirm`, { payment_method: card, return_url: "https://shop.example/back" });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.status).toBe("requires_action");
    // Said again, it holds for that confirmation.
    expectError(await post(`/v1/payment_intents/${id}/confirm`, { payment_method: card, off_session: true }), 402, "authentication_required");
  });

  it("update takes setup_future_usage: the card is saved to the customer once the payment succeeds; \"\" unsets it; no customer is needed; not once authorized", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { email: "save-on-update@example.com" })).body.id;
    const cards = async () => (await get<ListJson<{ id: string }>>(`/v1/payment_methods?customer=${customer}&type=card`)).body.data.length;
    const pi = (await createIntent({ amount: 2100, customer })).body;
    const updated = await post<PaymentIntentJson & { setup_future_usage: string | null }>(`/v1/payment_intents/${pi.id}`, { setup_future_usage: "off_session" });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.setup_future_usage).toBe("off_session");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" })).body.status).toBe("succeeded");
    await expect.poll(cards).toBe(1);
    expect(expectError(await post(`/v1/payment_intents/${pi.id}`, { setup_future_usage: "on_session" }), 400).code).toBe("payment_intent_unexpected_state");
    // Unset before paying: nothing saved.
    const other = (await createIntent({ amount: 2200, customer, setup_future_usage: "off_session" })).body;
    expect((await post<{ setup_future_usage: string | null }>(`/v1/payment_intents/${other.id}`, { setup_future_usage: "" })).body.setup_future_usage).toBeNull();
    await post(`/v1/payment_intents/${other.id}/confirm`, { payment_method: "pm_card_mastercard" });
    expect(await cards()).toBe(1);
    // No customer to save it to: kept and echoed, as at Stripe (the card may be attached afterwards).
    const bare = (await createIntent({ amount: 2300 })).body;
    expect((await post<{ setup_future_usage: string | null }>(`/v1/payment_intents/${bare.id}`, { setup_future_usage: "off_session" })).body.setup_future_usage).toBe("off_session");
  });

  it("accepts raw test card details in test mode, keeping only brand, last4, expiry and fingerprint", async () => {
    const res = await createIntent({
      payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" } },
      confirm: true,
      expand: ["payment_method"],
    });
    expect(res.status).toBe(200);
    const pm = res.body.payment_method as Exclude<PaymentIntentJson["payment_method"], string | null>;
    expect(pm.card).toMatchObject({ brand: "visa", last4: "4242", exp_month: 12, exp_year: 2040 });
    expect(pm.card?.fingerprint).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(JSON.stringify(res.body)).not.toContain("4242424242424242");
    expect(JSON.stringify(res.body)).not.toContain('"123"');
  });

  it("gives the same card the same fingerprint", async () => {
    const a = await createIntent({ payment_method: "tok_visa", expand: ["payment_method"] });
    const b = await createIntent({ payment_method: "pm_card_visa", expand: ["payment_method"] });
    const fp = (r: typeof a) => (r.body.payment_method as { card: { fingerprint: string } }).card.fingerprint;
    expect(fp(a)).toBe(fp(b));
  });

  it("a manual-capture intent stops at requires_capture with the amount capturable", async () => {
    const pi = await authorizedIntent(4200);
    expect(pi.amount_capturable).toBe(4200);
    expect(pi.amount_received).toBe(0);
  });

  it("refuses merchant_id of another merchant and confirm without a payment method", async () => {
    const other = expectError(await createIntent({ merchant_id: "acct_merchant_b" }), 403, "merchant_mismatch");
    expect(other).toMatchObject({ param: "merchant_id", message: expect.stringContaining("API key acts for merchant 'acct_merchant_a', not 'acct_merchant_b'") });
    // A token is called a token.
    const byToken = expectError(await createIntent({ merchant_id: "acct_merchant_b" }, bearer(await hsToken({ merchant: "acct_merchant_a" }))), 403, "merchant_mismatch");
    expect(byToken.message).toContain("This token acts for merchant 'acct_merchant_a'");
    expect((await createIntent({ merchant_id: "acct_merchant_a" })).status).toBe(200);
    expectError(await createIntent({ confirm: true }), 400, "parameter_missing");
  });

  it("refuses unknown tokens and payment methods with 400 resource_missing (a parameter's object, as at Stripe) and malformed ones with 400", async () => {
    expectError(await createIntent({ payment_method: "tok_doesNotExist" }), 400, "resource_missing");
    expectError(await createIntent({ payment_method: "pm_doesNotExist" }), 400, "resource_missing");
    expectError(await createIntent({ payment_method: "garbage" }), 400);
    expectError(await createIntent({ payment_method: "pm_card_visa", payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2040 } } }), 400);
  });

  it("validates raw card details as card errors without echoing the number", async () => {
    const bad = await createIntent({ payment_method_data: { type: "card", card: { number: "4242424242424241", exp_month: 12, exp_year: 2040 } } });
    expect(expectError(bad, 402, "incorrect_number").message).not.toContain("4242424242424241");
    expectError(await createIntent({ payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 13, exp_year: 2040 } } }), 402, "invalid_expiry_month");
    expectError(await createIntent({ payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 1, exp_year: 2001 } } }), 402, "invalid_expiry_year");
  });

  it("checks the CVC's length by the card's brand: 3 digits, 4 on American Express", async () => {
    const card = (number: string, cvc: string) => ({ payment_method_data: { type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc } } });
    for (const [number, cvc] of [["4242424242424242", "1234"], ["5555555555554444", "12"], ["378282246310005", "123"], ["6011111111111117", "12a"]] as const) {
      expect(expectError(await createIntent(card(number, cvc)), 402, "invalid_cvc").param).toBe("payment_method_data[card][cvc]");
    }
    expect((await createIntent(card("378282246310005", "1234"))).status).toBe(200);
    expect((await createIntent(card("4242424242424242", "123"))).status).toBe(200);
  });

  it("declines a real-looking card that is not a test card, as Stripe's test mode does", async () => {
    const res = await createIntent({ payment_method_data: { type: "card", card: { number: "4012888888881881", exp_month: 12, exp_year: 2040 } }, confirm: true });
    expect(expectError(res, 402, "card_declined").decline_code).toBe("test_mode_live_card");
  });
});

describe("GET /v1/payment_intents/:id", () => {
  it("retrieves, and expands latest_charge", async () => {
    const pi = await succeededIntent(1234);
    const res = await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}?expand[]=latest_charge`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(pi.id);
    expect(res.body.latest_charge).toMatchObject({ object: "charge", amount: 1234, captured: true, payment_intent: pi.id });
  });

  it("answers 404 for unknown and malformed ids, and for another merchant's intent", async () => {
    const pi = await succeededIntent();
    expectError(await get(`/v1/payment_intents/pi_${"x".repeat(24)}`), 404, "resource_missing");
    expectError(await get("/v1/payment_intents/not-an-id"), 404, "resource_missing");
    expectError(await get(`/v1/payment_intents/${pi.id}`, { key: KEY_B }), 404, "resource_missing");
  });

  it("rejects unknown expansions", async () => {
    const pi = await succeededIntent();
    expectError(await get(`/v1/payment_intents/${pi.id}?expand[]=customer.secrets`), 400);
  });
});

describe("POST /v1/payment_intents/:id (update)", () => {
  it("updates amount and merges metadata before confirmation; an empty value deletes a key", async () => {
    const pi = (await createIntent({ metadata: { a: "1", b: "2" } })).body;
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { amount: 3100, metadata: { b: "", c: "3" }, description: "changed" });
    expect(res.status).toBe(200);
    expect(res.body.amount).toBe(3100);
    expect(res.body.metadata).toEqual({ a: "1", c: "3" });
    expect(res.body.description).toBe("changed");
  });

  it("setting a payment method moves to requires_confirmation", async () => {
    const pi = (await createIntent()).body;
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { payment_method: "pm_card_mastercard" });
    expect(res.body.status).toBe("requires_confirmation");
  });

  it("refuses to change the amount after the payment succeeded, but still updates metadata", async () => {
    const pi = await succeededIntent();
    expectError(await post(`/v1/payment_intents/${pi.id}`, { amount: 1 }), 400, "payment_intent_unexpected_state");
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, { metadata: { shipped: "yes" } });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ shipped: "yes" });
    expect(res.body.amount).toBe(pi.amount);
  });

  it("answers 404 to another merchant and changes nothing", async () => {
    const pi = (await createIntent({ description: "mine" })).body;
    expectError(await post(`/v1/payment_intents/${pi.id}`, { description: "theirs" }, { key: KEY_B }), 404);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.description).toBe("mine");
  });
});

describe("POST /v1/payment_intents/:id/confirm", () => {
  it("confirms with a payment method given at confirmation", async () => {
    const pi = (await createIntent()).body;
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("succeeded");
  });

  it("a decline answers 402 card_error carrying the intent, which goes back to requires_payment_method", async () => {
    const pi = (await createIntent()).body;
    const res = await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" });
    const err = expectError(res, 402, "card_declined");
    expect(err.type).toBe("card_error");
    expect(err.decline_code).toBe("insufficient_funds");
    expect(err.payment_intent?.status).toBe("requires_payment_method");
    expect(err.payment_intent?.last_payment_error).toMatchObject({ code: "card_declined", decline_code: "insufficient_funds", type: "card_error" });
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.status).toBe("requires_payment_method");
    expect(after.payment_method).toBeNull();
    expect(after.last_payment_error?.payment_method?.card?.last4).toBe("9995");
  });

  it("a new payment method after a decline succeeds and clears last_payment_error", async () => {
    const pi = (await createIntent()).body;
    await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclined" });
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" });
    expect(res.body.status).toBe("succeeded");
    expect(res.body.last_payment_error).toBeNull();
  });

  it("declines never end an intent: after many it stays requires_payment_method and a later confirm succeeds", async () => {
    const pi = (await createIntent()).body;
    for (let i = 0; i < 6; i++) expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }), 402, "card_declined");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.status).toBe("requires_payment_method");
    expect(after.last_payment_error).toMatchObject({ code: "card_declined", type: "card_error" });
    const ok = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("succeeded");
  });

  it("the decline velocity rule (MAX_PAYMENT_ATTEMPTS declines in an hour) answers a clear 400 and keeps the status", async () => {
    const pi = (await createIntent()).body;
    // wrangler.toml sets MAX_PAYMENT_ATTEMPTS = 10.
    for (let i = 0; i < 10; i++) expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }), 402, "card_declined");
    const err = expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" }), 400, "card_decline_rate_limit_exceeded");
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toMatch(/stays open/);
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.status).toBe("requires_payment_method");
    expect(after.payment_method).toBeNull();
    const history = await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`);
    expect(history.body.data.filter((t) => t.type === "authorize")).toHaveLength(10);
    // It can still be canceled: no terminal status was invented.
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/cancel`, {})).body.status).toBe("canceled");
  });

  it("an unknown PSP outcome parks the intent in processing with the attempt pending", async () => {
    const res = await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("processing");
    const history = await get<ListJson<TransactionJson>>(`/v1/payment_intents/${res.body.id}/transactions`);
    expect(history.body.data).toHaveLength(1);
    expect(history.body.data[0]).toMatchObject({ type: "authorize", status: "pending", response_code: "unknown_outcome" });
    expectError(await post(`/v1/payment_intents/${res.body.id}/cancel`, {}), 400, "payment_intent_unexpected_state");
    expectError(await post(`/v1/payment_intents/${res.body.id}/confirm`, {}), 400, "payment_intent_unexpected_state");
  });

  it("a provider error moves no money and leaves the intent confirmable", async () => {
    const res = await createIntent({ payment_method: "pm_card_sandboxProviderError", confirm: true });
    const err = expectError(res, 502, "provider_error");
    expect(err.type).toBe("api_error");
    // Sent with a key, the failure is the key's answer (a retry with it replays it): clients that retry
    // 5xx by themselves are told not to. Without one, nothing is kept and nothing is said.
    expect(res.headers.get("stripe-should-retry")).toBeNull();
    // (Another merchant's: two provider failures in a row open this merchant's circuit breaker.)
    const fresh = await newMerchant("provider-error-keyed");
    const keyed = await post("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "pm_card_sandboxProviderError", confirm: true }, { ...fresh.opts, idempotencyKey: uniqueKey() });
    expect(keyed.status).toBe(502);
    expect(keyed.headers.get("stripe-should-retry")).toBe("false");
    const pi = err.payment_intent;
    expect(pi?.status).toBe("requires_confirmation");
    const retry = await post<PaymentIntentJson>(`/v1/payment_intents/${pi?.id}/confirm`, { payment_method: "pm_card_visa" });
    expect(retry.body.status).toBe("succeeded");
  });

  it("cannot confirm an intent that already succeeded", async () => {
    const pi = await succeededIntent();
    expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, {}), 400, "payment_intent_unexpected_state");
  });

  it("answers 404 to another merchant", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa" })).body;
    expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { key: KEY_B }), 404);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.status).toBe("requires_confirmation");
  });
});

describe("POST /v1/payment_intents/:id/capture", () => {
  it("captures part of an authorization once; the rest is released", async () => {
    const pi = await authorizedIntent(5000);
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 3000 });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("succeeded");
    expect(res.body.amount_received).toBe(3000);
    expect(res.body.amount_capturable).toBe(0);
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 1000 }), 400, "payment_intent_unexpected_state");
    const charge = (await get(`/v1/charges/${res.body.latest_charge}`)).body;
    expect(charge).toMatchObject({ amount: 5000, amount_captured: 3000, captured: true });
  });

  it("captures everything by default and refuses more than was authorized", async () => {
    const pi = await authorizedIntent(5000);
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 5001 }), 400, "amount_too_large");
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {});
    expect(res.body.amount_received).toBe(5000);
  });

  it("refuses an intent that is not authorized, and another merchant's", async () => {
    const pi = (await createIntent()).body;
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, {}), 400, "payment_intent_unexpected_state");
    const auth = await authorizedIntent();
    expectError(await post(`/v1/payment_intents/${auth.id}/capture`, {}, { key: KEY_B }), 404);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${auth.id}`)).body.status).toBe("requires_capture");
  });
});

describe("POST /v1/payment_intents/:id/cancel", () => {
  it("cancels before payment with a reason", async () => {
    const pi = (await createIntent()).body;
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/cancel`, { cancellation_reason: "abandoned" });
    expect(res.body.status).toBe("canceled");
    expect(res.body.cancellation_reason).toBe("abandoned");
    expect(typeof res.body.canceled_at).toBe("number");
  });

  it("voids an authorization at the PSP", async () => {
    const pi = await authorizedIntent();
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/cancel`, {});
    expect(res.body.status).toBe("canceled");
    expect(res.body.amount_capturable).toBe(0);
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`)).body.data;
    expect(history.map((t) => `${t.type}:${t.status}`)).toEqual(["authorize:succeeded", "void:succeeded"]);
  });

  it("refuses a succeeded or canceled intent, a bad reason, and another merchant", async () => {
    const pi = await succeededIntent();
    expectError(await post(`/v1/payment_intents/${pi.id}/cancel`, {}), 400, "payment_intent_unexpected_state");
    const open = (await createIntent()).body;
    expectError(await post(`/v1/payment_intents/${open.id}/cancel`, { cancellation_reason: "bored" }), 400, "parameter_invalid");
    expectError(await post(`/v1/payment_intents/${open.id}/cancel`, {}, { key: KEY_B }), 404);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${open.id}/cancel`, {})).body.status).toBe("canceled");
    expectError(await post(`/v1/payment_intents/${open.id}/cancel`, {}), 400, "payment_intent_unexpected_state");
  });
});

describe("GET /v1/payment_intents/:id/transactions", () => {
  it("keeps every PSP attempt with its result", async () => {
    const pi = (await createIntent({ capture_method: "manual" })).body;
    await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclined" });
    await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" });
    await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 1500 });
    await post("/v1/refunds", { payment_intent: pi.id, amount: 500 });
    const res = await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`);
    expect(res.status).toBe(200);
    const rows = res.body.data;
    expect(rows.map((t) => [t.type, t.status, t.amount])).toEqual([
      ["authorize", "failed", 2000],
      ["authorize", "succeeded", 2000],
      ["capture", "succeeded", 1500],
      ["refund", "succeeded", 500],
    ]);
    expect(rows[0]).toMatchObject({ response_code: "card_declined", decline_code: "generic_decline", connector: "sandbox" });
    expect(rows[1]?.provider_reference).toMatch(/^sbx_auth_/);
    expect(rows[1]?.authorization_code).toMatch(/^\d{6}$/);
    expect(rows[1]).toMatchObject({ avs_result: "Y", cvv_result: "M", response_code: "00" });
    for (const row of rows) expect(typeof row.created).toBe("number");
    expectError(await get(`/v1/payment_intents/${pi.id}/transactions`, { key: KEY_B }), 404);
  });
});
