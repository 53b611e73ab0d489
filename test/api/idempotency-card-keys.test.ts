// An Idempotency-Key (or seed 002's clientRequestId) with a card number in it: a client's mistake, or
// an order number shaped like one. No store keeps the number (D1's claims and stored answers, the
// intent's object): the key is kept as a keyed digest, and it still replays its first request's
// answer and refuses another request, as any key does.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newMerchant, post, uniqueKey, type PaymentIntentJson } from "../helpers";

const DIGITS = /4012888888881881|4012 8888 8888 1881|5555555555554444/;
const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));

async function d1Rows(merchant: string): Promise<string> {
  const claims = await env.DB.prepare("SELECT * FROM idempotency_claims WHERE merchant_id = ?").bind(merchant).all();
  const answers = await env.DB.prepare("SELECT merchant_id, key, fingerprint, state FROM idempotency_keys WHERE merchant_id = ?").bind(merchant).all();
  return JSON.stringify([claims.results, answers.results]);
}

describe("a card number in an Idempotency-Key", () => {
  it("is kept nowhere, and the key still replays its first answer and refuses another request (/v1 intents, /v1 customers, seed 002 cards)", async () => {
    const m = await newMerchant("card-keys");
    const intentKey = `cart-4012888888881881-${uniqueKey("i")}`;
    const body = { amount: 1234, currency: "usd", payment_method: "pm_card_visa", confirm: true };
    const first = await post<PaymentIntentJson>("/v1/payment_intents", body, { ...m.opts, idempotencyKey: intentKey });
    expect(first.status).toBe(200);
    const again = await post<PaymentIntentJson>("/v1/payment_intents", body, { ...m.opts, idempotencyKey: intentKey });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const other = await post("/v1/payment_intents", { ...body, amount: 999 }, { ...m.opts, idempotencyKey: intentKey });
    expect(other.status).toBe(400);
    expect(JSON.stringify(other.body)).not.toMatch(DIGITS);
    // An action on the intent, through its object, with such a key: replayed once, kept as a digest.
    const refundKey = `refund-4012 8888 8888 1881-${uniqueKey("r")}`;
    const refund = await post<{ id: string }>("/v1/refunds", { payment_intent: first.body.id, amount: 100 }, { ...m.opts, idempotencyKey: refundKey });
    expect(refund.status).toBe(200);
    const refundAgain = await post<{ id: string }>("/v1/refunds", { payment_intent: first.body.id, amount: 100 }, { ...m.opts, idempotencyKey: refundKey });
    expect(refundAgain.body.id).toBe(refund.body.id);
    const stored = await runInDurableObject(stub(first.body.id), async (_instance, state) => [...(await state.storage.list({ prefix: "idem:" })).keys()]);
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(stored.join("\n")).not.toMatch(DIGITS);
    expect(stored.filter((k) => k.startsWith("idem:hk_"))).toHaveLength(stored.length);

    // A route answered from D1 (a customer).
    const customerKey = `customer-5555555555554444-${uniqueKey("c")}`;
    const customer = await post<{ id: string }>("/v1/customers", { email: "keys@example.com" }, { ...m.opts, idempotencyKey: customerKey });
    const customerAgain = await post<{ id: string }>("/v1/customers", { email: "keys@example.com" }, { ...m.opts, idempotencyKey: customerKey });
    expect(customerAgain.body.id).toBe(customer.body.id);
    expect((await post("/v1/customers", { email: "other@example.com" }, { ...m.opts, idempotencyKey: customerKey })).status).toBe(400);

    // Seed 002: a card saved with a clientRequestId shaped like a card number, sent twice.
    const save = { clientRequestId: `order-5555555555554444-${uniqueKey("p")}`, token: "9418594164541111", expiry: "1239" };
    const saved = await post<{ data: { id: string } }>(`/api/v1/customers/${uniqueKey("cust")}/payment-methods`, save, m.opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);

    const rows = await d1Rows(m.id);
    expect(rows).toContain("hk_");
    expect(rows).not.toMatch(DIGITS);
  });

  it("a record an intent's object kept under the key itself (before keys were kept as digests) still replays", async () => {
    const m = await newMerchant("card-keys-old");
    const key = `cart-4012888888881881-${uniqueKey("old")}`;
    const body = { amount: 4321, currency: "usd", payment_method: "pm_card_visa", confirm: true };
    const first = await post<PaymentIntentJson>("/v1/payment_intents", body, { ...m.opts, idempotencyKey: key });
    expect(first.status).toBe(200);
    // The record moved to where an earlier version kept it.
    await runInDurableObject(stub(first.body.id), async (_instance, state) => {
      const records = await state.storage.list({ prefix: "idem:hk_" });
      expect(records.size).toBe(1);
      for (const [name, record] of records) {
        await state.storage.put(`idem:${key}`, record);
        await state.storage.delete(name);
      }
    });
    const again = await post<PaymentIntentJson>("/v1/payment_intents", body, { ...m.opts, idempotencyKey: key });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
  });
});
