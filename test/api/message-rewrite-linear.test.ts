// The surfaces that retell a core message in their own words (seed 000's statuses, the PayPal routes'
// orders) do it with patterns whose cost grows linearly with the message: a message may quote what a
// client sent, and a pattern that rescans the rest of the text at every match start (`[^:.]*`, `.*`)
// is quadratic. No clock is read here: with the bounds each rewrite below of these inputs takes
// milliseconds; without them the same inputs run for minutes (30,000 repetitions took 10 to 35 s, and
// these are over three times longer), far past the suite's 30 s limit on a test, which fails it.
import { describe, expect, it } from "vitest";
import { inSurfaceWords } from "../../src/api/paymentintents/problem";
import { paypalMessage } from "../../src/api/backend/paypal";
import { withoutTrailingDots } from "../../src/core/intent";

const REPEAT = 100_000;

describe("message rewriting is linear in the message's length", () => {
  it("seed 000: a long run of 'statuses' with no colon", () => {
    const text = "statuses ".repeat(REPEAT);
    expect(inSurfaceWords(text)).toBe(text);
    // What the rewriting is for still works.
    expect(inSurfaceWords("Only a PaymentIntent with one of the following statuses may be canceled by its customer: requires_payment_method, requires_confirmation.")).toBe(
      "Only a PaymentIntent with one of the following statuses may be canceled by its customer: RequiresPaymentMethod, RequiresConfirmation.",
    );
  });

  it("PayPal routes: a long run of '(pi_…)' with no status after it", () => {
    const text = "(pi_1) ".repeat(REPEAT);
    expect(paypalMessage({ code: "charge_not_refundable", message: text })).toBe(text);
    expect(paypalMessage({ code: "charge_not_refundable", message: "This PaymentIntent (pi_123) does not have a successful, captured charge to refund; its status is requires_capture." })).toBe(
      "Order pi_123 has no completed capture to refund: its status is APPROVED. Capture it first (capture-order).",
    );
  });

  it("a provider's message loses its trailing dots in time linear in its length (a long run of dots not at its end too)", () => {
    const text = `${".".repeat(REPEAT * 4)}x`;
    expect(withoutTrailingDots(text)).toBe(text);
    expect(withoutTrailingDots("Stripe answered 500...")).toBe("Stripe answered 500");
    expect(withoutTrailingDots("...")).toBe("");
    expect(withoutTrailingDots("no dots")).toBe("no dots");
  });
});
