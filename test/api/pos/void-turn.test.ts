// Seed 002's void is decided by the payment's object in its own turn. The route used to read the
// payment, then cancel it: a capture landing in between (a void sent while a capture was in flight)
// made the cancel find a captured payment, and the void was refused with "Refund it instead" although
// the same void a moment later voided the sale (captured today). Now a void after the capture voids the
// sale, one before it releases the authorization, and never both; a sale captured another day is
// refused as settled, by the object.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../../src/core/types";
import { get, newMerchant, post, uniqueKey, type CallOptions, type PaymentIntentJson } from "../../helpers";

type Data = { data: Record<string, unknown> };
type Err = { error: { code: string; message: string } };

async function authorize(opts: CallOptions, amountCents = 5000): Promise<string> {
  const res = await post<Data>("/api/v1/payments/authorize", { amountCents, currency: "USD", token: "9418594164541111", expiry: "1239" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return String(res.body.data.id);
}

describe("seed 002: a void and a capture sent together", () => {
  it("the void always goes through: before the capture it releases the authorization (the capture is refused), after it the sale is given back in whole", async () => {
    const { opts } = await newMerchant("pos-void-race");
    for (let round = 0; round < 10; round++) {
      const id = await authorize(opts);
      // The capture first, the void right behind it: the void reads the payment while the capture runs.
      const [capture, voided] = await Promise.all([
        post<Data>("/api/v1/payments/capture", { clientRequestId: uniqueKey("cap"), paymentIntentId: id }, opts),
        post<Data | Err>("/api/v1/payments/void", { clientRequestId: uniqueKey("void"), paymentIntentId: id }, opts),
      ]);
      expect(voided.status, `round ${round}: ${JSON.stringify(voided.body)}`).toBe(200);
      expect((voided.body as Data).data.status).toBe("voided");
      const intent = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
      if (capture.status === 200) {
        // Captured, then voided: the whole capture given back.
        expect(intent).toMatchObject({ status: "succeeded", amount_received: 5000, amount_refunded: 5000 });
      } else {
        expect(capture.status, JSON.stringify(capture.body)).toBe(409);
        expect(intent).toMatchObject({ status: "canceled", amount_received: 0, amount_refunded: 0 });
      }
      expect((await get<Data>(`/api/v1/payments/transactions/${id}`, opts)).body.data).toMatchObject({ intent: { status: "voided" } });
    }
  });

  it("an authorization made yesterday and captured today is voided today: the day is the capture's, not the authorization's", async () => {
    const { opts } = await newMerchant("pos-void-captured-today");
    const id = await authorize(opts, 4000);
    // Authorized a day ago (a tab opened before midnight), captured now.
    await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)), async (instance, state) => {
      const record = await state.storage.get<IntentRecord>("intent");
      if (!record) throw new Error(`no intent ${id}`);
      const dayAgo = 26 * 60 * 60 * 1000;
      await state.storage.put("intent", { ...record, created: record.created - dayAgo, attempts: record.attempts.map((a) => ({ ...a, created: a.created - dayAgo, completed: a.completed === null ? null : a.completed - dayAgo })) });
      Reflect.set(instance, "intent", undefined);
    });
    const captured = await post<Data>("/api/v1/payments/capture", { paymentIntentId: id, amountCents: 3000 }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    const voided = await post<Data | Err>("/api/v1/payments/void", { clientRequestId: uniqueKey("void"), paymentIntentId: id }, opts);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect((voided.body as Data).data.status).toBe("voided");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 3000, amount_refunded: 3000 });
  });

  it("a sale captured another day is refused as settled by the object (409 INVALID_STATE, nothing refunded), and refunds", async () => {
    const { opts } = await newMerchant("pos-void-settled");
    const sale = await post<Data>("/api/v1/payments/sale", { amountCents: 2500, currency: "USD", token: "9418594164541111", expiry: "1239" }, opts);
    const id = String(sale.body.data.id);
    await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id)), async (instance, state) => {
      const record = await state.storage.get<IntentRecord>("intent");
      if (!record) throw new Error(`no intent ${id}`);
      const dayAgo = 26 * 60 * 60 * 1000;
      await state.storage.put("intent", { ...record, attempts: record.attempts.map((a) => ({ ...a, completed: a.completed === null ? null : a.completed - dayAgo })) });
      Reflect.set(instance, "intent", undefined);
    });
    const key = uniqueKey("void");
    const refused = await post<Err>("/api/v1/payments/void", { clientRequestId: key, paymentIntentId: id }, opts);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "INVALID_STATE", message: "This sale has settled (it was not captured today): refund it instead." });
    // The key's answer is the refusal.
    expect((await post<Err>("/api/v1/payments/void", { clientRequestId: key, paymentIntentId: id }, opts)).body.error.code).toBe("INVALID_STATE");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.amount_refunded).toBe(0);
    const refund = await post<Data>("/api/v1/payments/refund", { paymentIntentId: id }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body.data).toMatchObject({ status: "refunded", refundedAmountCents: 2500 });
  });
});
