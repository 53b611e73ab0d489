// Seed 004: what a fresh read of the document still caught. Each error is the surface's own
// {"error": "<description>"}, a 400 that says what is wrong, and nothing is made.
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, type ListJson, type PaymentIntentJson } from "../../helpers";

const P = "/api/v1/payments";

function expectBackendError(res: { status: number; body: unknown }, status: number): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

describe("seed 004 metadata refused", () => {
  it("says what is wrong with it (too many keys, a long key or value, a value that is no string, no object), never 'Invalid input', and makes nothing", async () => {
    const { opts } = await newMerchant("s4-audit-metadata");
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const cases: [unknown, string][] = [
      [many, "Invalid metadata: must have at most 50 keys"],
      [{ k: "v".repeat(501) }, "Invalid metadata.k: values must be at most 500 characters"],
      [{ ["k".repeat(41)]: "v" }, `Invalid metadata.${"k".repeat(41)}: keys must be at most 40 characters`],
      [{ course_id: { id: 123 } }, "Invalid metadata.course_id: must be a string or a number"],
      [{ course_id: null }, "Invalid metadata.course_id: must be a string or a number"],
      [{ course_id: true }, "Invalid metadata.course_id: must be a string or a number"],
      ["course 123", "Invalid metadata: must be an object of string values"],
      [[1], "Invalid metadata: must be an object of string values"],
      [null, "Invalid metadata: must be an object of string values"],
    ];
    for (const [metadata, message] of cases) {
      expect(expectBackendError(await post(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata }, opts), 400), JSON.stringify(metadata).slice(0, 60)).toBe(message);
      expect(expectBackendError(await post(`${P}/stripe/create-customer/`, { email: "user@example.com", metadata }, opts), 400)).toBe(message);
    }
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", opts)).body.data).toEqual([]);
    expect((await get<ListJson<unknown>>("/v1/customers", opts)).body.data).toEqual([]);
    // A number is kept as text, as Stripe keeps metadata.
    const made = await post<{ payment_intent_id: string }>(`${P}/stripe/create-payment-intent/`, { amount: 29.99, currency: "usd", metadata: { course_id: 123 } }, opts);
    expect(made.status).toBe(200);
    const read = await post<{ metadata: unknown }>(`${P}/stripe/retrieve-payment/`, { payment_intent_id: made.body.payment_intent_id }, opts);
    expect(read.body.metadata).toEqual({ course_id: "123" });
  });
});
