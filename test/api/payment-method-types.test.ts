// Stripe's payment_method_types on /v1 payment intents: kept and echoed as given (retrieve, lists,
// events), and enforced: a payment method of another type is refused with Stripe's 400
// payment_intent_incompatible_payment_method wherever it would be set (create, update, confirm), and
// nothing moves. Without a list the gateway's choice stands (cards, PayPal when asked), echoed ['card'].
import { describe, expect, it } from "vitest";
import { expectError, get, newMerchant, ok, post, type ListJson } from "../helpers";
import { open, submit } from "../pages/card-form";

interface IntentJson {
  id: string;
  status: string;
  payment_method: string | null;
  payment_method_types: string[];
  amount_received: number;
  latest_charge: string | null;
}

describe("payment_method_types", () => {
  it("is echoed as given and refuses a payment method of another type at create, update and confirm, moving nothing", async () => {
    const m = await newMerchant("pm-types");
    const paypalOnly = await ok(post<IntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd", payment_method_types: ["paypal"], order_id: "types-1" }, m.opts));
    expect(paypalOnly.payment_method_types).toEqual(["paypal"]);
    expect((await ok(get<IntentJson>(`/v1/payment_intents/${paypalOnly.id}`, m.opts))).payment_method_types).toEqual(["paypal"]);
    // The list renders from the read model: the same.
    expect((await ok(get<ListJson<IntentJson>>("/v1/payment_intents?order_id=types-1", m.opts))).data.map((p) => p.payment_method_types)).toEqual([["paypal"]]);

    const confirmCard = expectError(await post(`/v1/payment_intents/${paypalOnly.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts), 400, "payment_intent_incompatible_payment_method");
    expect(confirmCard.param).toBe("payment_method");
    expect(confirmCard.message).toContain("(card) is not allowed");
    expectError(await post(`/v1/payment_intents/${paypalOnly.id}`, { payment_method: "pm_card_visa" }, m.opts), 400, "payment_intent_incompatible_payment_method");
    const untouched = await ok(get<IntentJson>(`/v1/payment_intents/${paypalOnly.id}`, m.opts));
    expect(untouched).toMatchObject({ status: "requires_payment_method", payment_method: null, amount_received: 0, latest_charge: null });

    // Given cards too (an update of the list), the card pays.
    expect((await ok(post<IntentJson>(`/v1/payment_intents/${paypalOnly.id}`, { payment_method_types: ["card", "paypal"] }, m.opts))).payment_method_types).toEqual(["card", "paypal"]);
    expect(await ok(post<IntentJson>(`/v1/payment_intents/${paypalOnly.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts))).toMatchObject({ status: "succeeded", amount_received: 2500 });

    // Card only: PayPal is refused when the intent is made, and nothing is made.
    expectError(await post("/v1/payment_intents", { amount: 900, currency: "usd", payment_method_types: ["card"], payment_method_data: { type: "paypal" }, confirm: true, order_id: "types-2" }, m.opts), 400, "payment_intent_incompatible_payment_method");
    expect((await ok(get<ListJson<IntentJson>>("/v1/payment_intents?order_id=types-2", m.opts))).data).toEqual([]);
    // ...and at confirmation.
    const cardOnly = await ok(post<IntentJson>("/v1/payment_intents", { amount: 900, currency: "usd", payment_method_types: ["card"] }, m.opts));
    expectError(await post(`/v1/payment_intents/${cardOnly.id}/confirm`, { payment_method_data: { type: "paypal" }, return_url: "https://shop.example/back" }, m.opts), 400, "payment_intent_incompatible_payment_method");
    expect((await ok(get<IntentJson>(`/v1/payment_intents/${cardOnly.id}`, m.opts))).status).toBe("requires_payment_method");
  });

  it("the /pay page of an intent cards may not pay says so, with no card form; a card POSTed anyway charges nothing", async () => {
    const m = await newMerchant("pm-types-page");
    const intent = await ok(post<IntentJson & { client_secret: string }>("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method_types: ["paypal"] }, m.opts));
    const path = `/pay/${intent.id}?client_secret=${intent.client_secret}`;
    const shown = await open(path);
    const html = await shown.text();
    expect(shown.status).toBe(200);
    // Which payment it is, said as a status (nothing went wrong on the shopper's side).
    expect(html).toContain('role="status">This payment of $10.00 cannot be made with a card on this page.');
    expect(html).not.toContain('id="card-number"');
    const posted = await submit(`/pay/${intent.id}`, { client_secret: intent.client_secret });
    expect(posted.status).toBe(303);
    await posted.arrayBuffer();
    expect(await ok(get<IntentJson>(`/v1/payment_intents/${intent.id}`, m.opts))).toMatchObject({ status: "requires_payment_method", amount_received: 0, latest_charge: null });
  });

  it("without a list, the gateway's choice stands and ['card'] is echoed; an empty or unknown type is a 400", async () => {
    const m = await newMerchant("pm-types-default");
    const plain = await ok(post<IntentJson>("/v1/payment_intents", { amount: 700, currency: "usd", payment_method: "pm_card_visa", confirm: true }, m.opts));
    expect(plain).toMatchObject({ status: "succeeded", payment_method_types: ["card"] });
    expectError(await post("/v1/payment_intents", { amount: 700, currency: "usd", payment_method_types: [] }, m.opts), 400);
    expectError(await post("/v1/payment_intents", { amount: 700, currency: "usd", payment_method_types: ["ideal"] }, m.opts), 400);
    // A repeated type is kept once.
    expect((await ok(post<IntentJson>("/v1/payment_intents", { amount: 700, currency: "usd", payment_method_types: ["card", "card"] }, m.opts))).payment_method_types).toEqual(["card"]);
  });

  it("with automatic_payment_methods enabled is Stripe's 400: one or the other (disabled, the list stands)", async () => {
    const m = await newMerchant("pm-types-automatic");
    const both = await post<{ error: { message: string; param: string } }>("/v1/payment_intents", { amount: 700, currency: "usd", automatic_payment_methods: { enabled: true }, payment_method_types: ["card"] }, m.opts);
    expectError(both, 400);
    expect(both.body.error).toMatchObject({ message: "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.", param: "automatic_payment_methods" });
    expect((await get<ListJson<IntentJson>>("/v1/payment_intents", m.opts)).body.data).toHaveLength(0);
    const listed = await ok(post<IntentJson>("/v1/payment_intents", { amount: 700, currency: "usd", automatic_payment_methods: { enabled: false }, payment_method_types: ["card"] }, m.opts));
    expect(listed.payment_method_types).toEqual(["card"]);
  });
});
