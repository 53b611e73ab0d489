// The surfaces that retell a core message in their own words (seed 000's statuses, the PayPal routes'
// orders) do it with patterns whose cost grows linearly with the message: a message may quote what a
// client sent, and a pattern that rescans the rest of the text at every match start (`[^:.]*`, `.*`)
// is quadratic. This test measures, as no other does: with the bounds each rewrite below takes a few
// milliseconds; without them, over ten seconds here (the two sides are thousands of times apart, so
// the 2 s line holds on a machine many times slower or faster than this one).
import { describe, expect, it } from "vitest";
import { inSurfaceWords } from "../../src/api/paymentintents/problem";
import { paypalMessage } from "../../src/api/backend/paypal";
import { withoutTrailingDots } from "../../src/core/intent";

const REPEAT = 30_000;
const LINE_MS = 2_000;

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

describe("message rewriting is linear in the message's length", () => {
  it("seed 000: a long run of 'statuses' with no colon", () => {
    const text = "statuses ".repeat(REPEAT);
    const { value, ms } = timed(() => inSurfaceWords(text));
    expect(value).toBe(text);
    expect(ms).toBeLessThan(LINE_MS);
    // What the rewriting is for still works.
    expect(inSurfaceWords("Only a PaymentIntent with one of the following statuses may be canceled by its customer: requires_payment_method, requires_confirmation.")).toBe(
      "Only a PaymentIntent with one of the following statuses may be canceled by its customer: RequiresPaymentMethod, RequiresConfirmation.",
    );
  });

  it("PayPal routes: a long run of '(pi_…)' with no status after it", () => {
    const text = "(pi_1) ".repeat(REPEAT);
    const { value, ms } = timed(() => paypalMessage({ code: "charge_not_refundable", message: text }));
    expect(value).toBe(text);
    expect(ms).toBeLessThan(LINE_MS);
    expect(paypalMessage({ code: "charge_not_refundable", message: "This PaymentIntent (pi_123) does not have a successful, captured charge to refund; its status is requires_capture." })).toBe(
      "Order pi_123 has no completed capture to refund: its status is APPROVED. Capture it first (capture-order).",
    );
  });

  it("a provider's message loses its trailing dots in time linear in its length (a long run of dots not at its end too)", () => {
    const text = `${".".repeat(REPEAT * 4)}x`;
    const { value, ms } = timed(() => withoutTrailingDots(text));
    expect(value).toBe(text);
    expect(ms).toBeLessThan(LINE_MS);
    expect(withoutTrailingDots("Stripe answered 500...")).toBe("Stripe answered 500");
    expect(withoutTrailingDots("...")).toBe("");
    expect(withoutTrailingDots("no dots")).toBe("no dots");
  });
});
