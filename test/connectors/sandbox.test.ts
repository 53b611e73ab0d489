// The sandbox's test-card table, through the API: each card gives its documented outcome.
import { describe, expect, it } from "vitest";
import { TEST_CARDS, TEST_PAYMENT_METHODS, TEST_TOKENS, luhnValid, vaultTokenCard } from "../../src/connectors/sandbox/cards";
import { createIntent, expectError, get, newMerchant, type ListJson, type PaymentIntentJson, type TransactionJson } from "../helpers";

const EXPECTED: Record<string, { status: number; intent?: string; code?: string; decline?: string }> = {
  success: { status: 200, intent: "succeeded" },
  generic_decline: { status: 402, code: "card_declined", decline: "generic_decline" },
  insufficient_funds: { status: 402, code: "card_declined", decline: "insufficient_funds" },
  lost_card: { status: 402, code: "card_declined", decline: "lost_card" },
  stolen_card: { status: 402, code: "card_declined", decline: "stolen_card" },
  fraudulent: { status: 402, code: "card_declined", decline: "fraudulent" },
  card_velocity_exceeded: { status: 402, code: "card_declined", decline: "card_velocity_exceeded" },
  expired_card: { status: 402, code: "expired_card", decline: "expired_card" },
  incorrect_cvc: { status: 402, code: "incorrect_cvc", decline: "incorrect_cvc" },
  processing_error: { status: 402, code: "processing_error", decline: "processing_error" },
  requires_3ds: { status: 200, intent: "requires_action" },
  requires_3ds_on_setup: { status: 200, intent: "requires_action" },
  timeout_then_success: { status: 200, intent: "processing" },
  timeout_then_decline: { status: 200, intent: "processing" },
  provider_error: { status: 502, code: "provider_error" },
  // Succeeds; only its refunds fail, later (test/connectors/sandbox-refund-failures.test.ts).
  refund_fail: { status: 200, intent: "succeeded" },
  // Authorizes; only its incremental authorizations are declined (test/intents/increment-authorization.test.ts).
  increment_declined: { status: 200, intent: "succeeded" },
};

describe("sandbox test cards", () => {
  it("every test number is a valid card number with a documented outcome", () => {
    for (const card of TEST_CARDS) {
      expect(luhnValid(card.number), card.number).toBe(true);
      expect(EXPECTED[card.scenario], card.scenario).toBeDefined();
    }
    for (const number of [...Object.values(TEST_TOKENS), ...Object.values(TEST_PAYMENT_METHODS)]) {
      expect(TEST_CARDS.some((c) => c.number === number), number).toBe(true);
    }
  });

  it.each(TEST_CARDS.map((c) => [c.number, c.scenario] as const))("card %s: %s", async (number, scenario) => {
    const expected = EXPECTED[scenario];
    if (!expected) throw new Error(scenario);
    // A merchant per card: timeouts and provider errors count against the connector's circuit breaker.
    const { opts } = await newMerchant(`card-${number}`);
    const res = await createIntent({
      amount: 1234,
      payment_method_data: { type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc: number.startsWith("34") || number.startsWith("37") ? "1234" : "123" } },
      confirm: true,
      return_url: "https://shop.example/return",
    }, opts);
    if (expected.status === 200) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe(expected.intent);
    } else {
      const err = expectError(res, expected.status, expected.code);
      if (expected.decline) expect(err.decline_code).toBe(expected.decline);
    }
  });

  it("test tokens and test payment methods behave like their cards", async () => {
    expect((await createIntent({ payment_method: "tok_visa", confirm: true })).body.status).toBe("succeeded");
    expect((await createIntent({ payment_method: "tok_mastercard", confirm: true })).body.status).toBe("succeeded");
    expect((await createIntent({ payment_method: "pm_card_amex", confirm: true })).body.status).toBe("succeeded");
    expect(expectError(await createIntent({ payment_method: "tok_chargeDeclinedInsufficientFunds", confirm: true }), 402).decline_code).toBe("insufficient_funds");
    expect((await createIntent({ payment_method: "pm_card_authenticationRequired", confirm: true })).body.status).toBe("requires_action");
    // The names Stripe's docs table uses, and its other test brands.
    expect(expectError(await createIntent({ payment_method: "pm_card_visa_chargeDeclinedInsufficientFunds", confirm: true }), 402).decline_code).toBe("insufficient_funds");
    expect(expectError(await createIntent({ payment_method: "tok_visa_chargeDeclined", confirm: true }), 402).decline_code).toBe("generic_decline");
    expect(expectError(await createIntent({ payment_method: "pm_card_radarBlock", confirm: true }), 402).decline_code).toBe("fraudulent");
    // The card's security code declined: Stripe's decline names `cvc` (the caller sent no card details).
    expect(expectError(await createIntent({ payment_method: "pm_card_visa_chargeDeclinedIncorrectCvc", confirm: true }), 402)).toMatchObject({ code: "incorrect_cvc", param: "cvc" });
    const velocity = expectError(await createIntent({ payment_method: "pm_card_visa_chargeDeclinedVelocityLimitExceeded", confirm: true }), 402);
    expect(velocity).toMatchObject({ code: "card_declined", decline_code: "card_velocity_exceeded" });
    for (const [method, brand] of [["pm_card_jcb", "jcb"], ["pm_card_diners", "diners"], ["pm_card_unionpay", "unionpay"], ["pm_card_mastercard_prepaid", "mastercard"], ["pm_card_threeDSecureOptional", "visa"], ["pm_card_us", "visa"]] as const) {
      const paid = await createIntent({ payment_method: method, confirm: true, expand: ["payment_method"] });
      expect(paid.body.status, method).toBe("succeeded");
      expect((paid.body.payment_method as unknown as { card: { brand: string } }).card.brand, method).toBe(brand);
    }
  });

  it("numeric vault tokens take their brand from the second digit and their outcome from the last four", async () => {
    expect(vaultTokenCard("9418594164541111")).toEqual({ brand: "visa", last4: "1111", scenario: "success" });
    expect(vaultTokenCard("9518594164540002")?.scenario).toBe("generic_decline");
    expect(vaultTokenCard("123")).toBeUndefined();
    const ok = await createIntent({ payment_method: { type: "card_token", token: "9418594164541111" }, confirm: true, expand: ["payment_method"] });
    expect(ok.body.status).toBe("succeeded");
    expect(ok.body.payment_method).toMatchObject({ card: { brand: "visa", last4: "1111" } });
    const mc = await createIntent({ payment_method: "9518594164540002", confirm: true });
    expect(expectError(mc, 402, "card_declined").payment_intent?.last_payment_error?.payment_method?.card?.brand).toBe("mastercard");
  });

  it("is deterministic: the same attempt gets the same provider reference", async () => {
    const a = await createIntent({ payment_method: "pm_card_visa", confirm: true });
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${a.body.id}/transactions`)).body.data;
    expect(rows[0]?.provider_reference).toMatch(/^sbx_auth_[0-9a-z]+$/);
    const again = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${a.body.id}/transactions`)).body.data;
    expect(again).toEqual(rows);
    const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${a.body.id}`)).body;
    expect(pi.connector).toBe("sandbox");
  });
});
