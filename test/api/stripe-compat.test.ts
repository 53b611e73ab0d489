// Stripe compatibility in depth (issue 13): what official clients send and expect beyond the happy path.
import { describe, expect, it } from "vitest";
import { call, expectError, type PaymentIntentJson } from "../helpers";

describe("booleans as both official clients send them", () => {
  it("takes true/false (stripe-node) and True/False (python stripe) in form bodies", async () => {
    for (const [word, status] of [
      ["true", "succeeded"],
      ["True", "succeeded"],
      ["false", "requires_confirmation"],
      ["False", "requires_confirmation"],
    ] as const) {
      const res = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form: `amount=100&currency=usd&payment_method=pm_card_visa&confirm=${word}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe(status);
    }
  });

  it("refuses anything else with a clear 400 naming the parameter", async () => {
    const err = expectError(await call("POST", "/v1/payment_intents", { form: "amount=100&currency=usd&payment_method=pm_card_visa&confirm=yes" }), 400, "parameter_invalid");
    expect(err.param).toBe("confirm");
    expect(err.message).toMatch(/boolean/);
  });
});

describe("error wording", () => {
  it("says 'captured', not 'captureed'", async () => {
    const pi = (await call<PaymentIntentJson>("POST", "/v1/payment_intents", { body: { amount: 100, currency: "usd" } })).body;
    const err = expectError(await call("POST", `/v1/payment_intents/${pi.id}/capture`, { body: {} }), 400, "payment_intent_unexpected_state");
    expect(err.message).toContain("may be captured");
    expect(err.message).not.toMatch(/captureed|confirmed?ed/);
  });
});
