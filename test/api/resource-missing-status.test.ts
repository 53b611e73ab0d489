// As at Stripe, a missing object named in a parameter is a 400 (invalid_request_error, resource_missing,
// naming the parameter); only an object in the URL's path is a 404 (src/api/v1/errors.ts v1Error).
import { describe, expect, it } from "vitest";
import { expectError, get, newMerchant, ok, post } from "../helpers";

describe("a missing object: 400 when a parameter names it, 404 when the path does", () => {
  it("parameters: payment_method, customer, line_items[0][price], starting_after, refunds' payment_intent and charge", async () => {
    const m = await newMerchant("missing-param");
    const cases: [string, Promise<{ status: number; body: unknown; headers: Headers }>, string][] = [
      ["payment_method", post("/v1/payment_intents", { amount: 500, currency: "usd", payment_method: "pm_nope", confirm: true }, m.opts), "payment_method"],
      ["customer", post("/v1/payment_intents", { amount: 500, currency: "usd", customer: "cus_nope" }, m.opts), "customer"],
      ["price", post("/v1/checkout/sessions", { mode: "payment", success_url: "https://example.com/ok", line_items: [{ price: "price_nope", quantity: 1 }] }, m.opts), "line_items[0][price]"],
      ["starting_after", get("/v1/customers?starting_after=cus_nope", m.opts), "starting_after"],
      ["subscription customer", post("/v1/subscriptions", { customer: "cus_nope", price: "price_nope" }, m.opts), "customer"],
      ["refund payment_intent", post("/v1/refunds", { payment_intent: "pi_nope1234567890" }, m.opts), "payment_intent"],
      ["refund charge", post("/v1/refunds", { charge: "ch_nope1234567890" }, m.opts), "charge"],
    ];
    for (const [label, res, param] of cases) {
      const error = expectError(await res, 400, "resource_missing");
      expect({ label, type: error.type, param: error.param }).toEqual({ label, type: "invalid_request_error", param });
    }
  });

  it("the path: 404, param intent for a payment intent (Stripe's name), id for the others", async () => {
    const m = await newMerchant("missing-path");
    expect(expectError(await get("/v1/payment_intents/pi_nope1234567890", m.opts), 404, "resource_missing").param).toBe("intent");
    expect(expectError(await get("/v1/payment_intents/nope", m.opts), 404, "resource_missing").param).toBe("intent");
    expect(expectError(await post("/v1/payment_intents/pi_nope1234567890/confirm", {}, m.opts), 404, "resource_missing").param).toBe("intent");
    expect(expectError(await get("/v1/customers/cus_nope", m.opts), 404, "resource_missing").param).toBe("id");
    expect(expectError(await get("/v1/products/prod_nope", m.opts), 404, "resource_missing").param).toBe("id");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "x@example.com" }, m.opts));
    expect(expectError(await get(`/v1/customers/${customer.id}/payment_methods/pm_nope`, m.opts), 404, "resource_missing").param).toBe("payment_method");
  });

  it("an idempotent retry answers the same 400", async () => {
    const m = await newMerchant("missing-idempotent");
    const key = "missing-idem-1";
    const body = { mode: "payment", success_url: "https://example.com/ok", line_items: [{ price: "price_nope", quantity: 1 }] };
    expectError(await post("/v1/checkout/sessions", body, { ...m.opts, idempotencyKey: key }), 400, "resource_missing");
    expectError(await post("/v1/checkout/sessions", body, { ...m.opts, idempotencyKey: key }), 400, "resource_missing");
  });
});
