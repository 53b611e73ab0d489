// Seeds 002 and 004 take a JSON body's top-level nulls as fields not sent: clients whose serializers
// write every property (Jackson, System.Text.Json, a Python dataclass) send `"tipCents": null` for an
// optional field they did not set. A required field sent as null is told as missing, and makes nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newMerchant, post, uniqueKey } from "../helpers";

type Data = { data: Record<string, unknown> };
type PosErr = { error: { code: string; message: string } };

const intentsOf = async (merchant: string) => (await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?").bind(merchant).first<{ n: number }>())?.n ?? 0;

describe("seed 002: null optional fields", () => {
  it("a sale with every optional field null is taken as one without them; a capture's null amountCents captures it all; a null amountCents on a sale is a 400 naming it", async () => {
    const m = await newMerchant("pos-nulls");
    const nulls = { tipCents: null, orderId: null, customerId: null, terminalId: null, locationId: null, name: null, metadata: null, cvv: null, ecomind: null, paymentMethodId: null };
    const sale = await post<Data>("/api/v1/payments/sale", { clientRequestId: uniqueKey("nulls-sale"), amountCents: 1500, token: "9418594164541111", expiry: "1239", currency: "USD", ...nulls }, m.opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(sale.body.data).toMatchObject({ status: "captured", amountCents: 1500 });

    const auth = await post<Data>("/api/v1/payments/authorize", { clientRequestId: uniqueKey("nulls-auth"), amountCents: 2000, token: "9418594164541111", expiry: "1239", currency: "USD", tipCents: null }, m.opts);
    expect(auth.status, JSON.stringify(auth.body)).toBe(201);
    const capture = await post<Data>("/api/v1/payments/capture", { clientRequestId: uniqueKey("nulls-capture"), paymentIntentId: auth.body.data.id, amountCents: null, currency: null }, m.opts);
    expect(capture.status, JSON.stringify(capture.body)).toBe(200);
    expect(capture.body.data).toMatchObject({ status: "captured", amountCents: 2000 });

    const before = await intentsOf(m.id);
    const refused = await post<PosErr>("/api/v1/payments/sale", { clientRequestId: uniqueKey("nulls-refused"), amountCents: null, token: "9418594164541111", expiry: "1239", currency: "USD" }, m.opts);
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.code).toBe("VALIDATION_ERROR");
    expect(refused.body.error.message).toContain("amountCents");
    expect(await intentsOf(m.id)).toBe(before);
  });
});

describe("seed 004: null optional fields", () => {
  it("create-payment-intent with null description, customer, payment_method and metadata is one without them; a null amount is 'amount is required', and nothing is made", async () => {
    const m = await newMerchant("s4-nulls");
    const made = await post<{ payment_intent_id: string; status: string; amount: number }>(
      "/api/v1/payments/stripe/create-payment-intent/",
      { amount: 12.5, currency: "usd", description: null, customer: null, payment_method: null, metadata: null },
      m.opts,
    );
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body).toMatchObject({ status: "requires_payment_method", amount: 1250 });

    const before = await intentsOf(m.id);
    const refused = await post<{ error: string }>("/api/v1/payments/stripe/create-payment-intent/", { amount: null, currency: "usd" }, m.opts);
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("amount is required");
    expect(await intentsOf(m.id)).toBe(before);
  });
});
