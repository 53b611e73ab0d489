// The invariants of DESIGN.md under concurrent requests, inside workerd with real Durable Objects.
import { describe, expect, it } from "vitest";
import {
  authorizedIntent,
  createIntent,
  expectError,
  get,
  post,
  succeededIntent,
  uniqueKey,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
} from "../helpers";

const history = async (id: string) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`)).body.data;

describe("concurrency", () => {
  it("20 concurrent confirms of one intent make exactly one authorization", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa" })).body;
    const results = await Promise.all(Array.from({ length: 20 }, () => post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {})));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expectError(r, 400, "payment_intent_unexpected_state");
    const auths = (await history(pi.id)).filter((t) => t.type === "authorize");
    expect(auths).toHaveLength(1);
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after).toMatchObject({ status: "succeeded", amount_received: 2000 });
  });

  it("20 concurrent creates with one Idempotency-Key make one intent and 20 identical answers", async () => {
    const key = uniqueKey("concurrent-create");
    const orderId = uniqueKey("ord");
    const body = { amount: 4321, currency: "usd", order_id: orderId, payment_method: "pm_card_visa", confirm: true };
    const results = await Promise.all(Array.from({ length: 20 }, () => post<PaymentIntentJson>("/v1/payment_intents", body, { idempotencyKey: key })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bodies = new Set(results.map((r) => JSON.stringify(r.body)));
    expect(bodies.size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(19);
    const listed = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?order_id=${orderId}`);
    expect(listed.body.data).toHaveLength(1);
    const id = results[0]?.body.id ?? "";
    expect((await history(id)).filter((t) => t.type === "authorize")).toHaveLength(1);
  });

  it("a capture racing a cancel leaves one consistent outcome", async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const pi = await authorizedIntent(3000);
      const requests = [post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}), post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/cancel`, {})];
      const [capture, cancel] = round % 2 === 0 ? await Promise.all(requests) : (await Promise.all([...requests].reverse())).reverse();
      const winners = [capture, cancel].filter((r) => r?.status === 200);
      expect(winners).toHaveLength(1);
      const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
      const steps = (await history(pi.id)).map((t) => `${t.type}:${t.status}`);
      if (capture?.status === 200) {
        expect(after).toMatchObject({ status: "succeeded", amount_received: 3000, amount_capturable: 0 });
        expect(steps).toEqual(["authorize:succeeded", "capture:succeeded"]);
        outcomes.add("captured");
      } else {
        expect(after).toMatchObject({ status: "canceled", amount_received: 0, amount_capturable: 0 });
        expect(steps).toEqual(["authorize:succeeded", "void:succeeded"]);
        outcomes.add("canceled");
      }
    }
    expect(outcomes.size).toBeGreaterThanOrEqual(1);
  });

  it("concurrent partial refunds summing above the captured amount never refund more than it", async () => {
    const pi = await succeededIntent(5000);
    const results = await Promise.all(Array.from({ length: 12 }, () => post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 700 })));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(7); // 7 x 700 = 4900 <= 5000 < 5600
    for (const r of results.filter((r) => r.status !== 200)) expectError(r, 400, "amount_too_large");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.amount_refunded).toBe(4900);
    const refunds = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=100`);
    expect(refunds.body.data.reduce((sum, r) => sum + r.amount, 0)).toBe(4900);
  });

  it("concurrent full refunds of one payment refund it once", async () => {
    const pi = await succeededIntent(2500);
    const results = await Promise.all(Array.from({ length: 10 }, () => post<RefundJson>("/v1/refunds", { charge: pi.latest_charge })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(2500);
  });
});
