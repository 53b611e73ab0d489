// Seed 004's status codes are 400, 401, 403, 404 and 500: a payment provider's failure (502 on /v1)
// is answered as the seed's 500, in its {"error": "..."} format, saying whether the request may be
// sent again, and the payment is left as it was (nothing charged).
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, type PaymentIntentJson } from "../../helpers";

const P = "/api/v1/payments";
type J = Record<string, unknown>;

describe("seed 004: a payment provider's failure is the seed's 500", () => {
  it("confirm-payment whose provider fails: 500 {error} saying the payment may be confirmed again, nothing charged", async () => {
    const { opts } = await newMerchant("s4-provider-error");
    const created = await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 5, currency: "usd", payment_method: "pm_card_sandboxProviderError" }, opts);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = String(created.body.payment_intent_id);

    const failed = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: id }, opts);
    expect(failed.status, JSON.stringify(failed.body)).toBe(500);
    expect(Object.keys(failed.body)).toEqual(["error"]);
    const error = String(failed.body.error);
    expect(error).toMatch(/^The payment provider failed/);
    expect(error).toContain("No money moved; the payment may be confirmed again.");
    expect(failed.headers.get("content-type")).toMatch(/^application\/json/);

    // Nothing else changed: the payment is unpaid, and can still be paid (here with another card).
    const v1 = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
    expect(v1.amount_received).toBe(0);
    expect(v1.status).not.toBe("succeeded");
    const paid = await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: id, payment_method: "pm_card_visa" }, opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ confirmed: true, payment_intent_id: id, status: "succeeded" });
  });

  it("the OpenAPI document lists the 500 in the surface's format", async () => {
    const doc = await get<{ paths: Record<string, { post?: { responses?: Record<string, unknown> } }> }>("/openapi.json", { key: null });
    for (const path of ["stripe/confirm-payment/", "paypal/capture-order", "webhooks/stripe/"]) {
      const responses = doc.body.paths[`/api/v1/payments/${path}`]?.post?.responses ?? {};
      expect(Object.keys(responses), path).toContain("500");
      expect(Object.keys(responses).filter((s) => s.startsWith("5")), path).toEqual(["500"]);
    }
  });
});
