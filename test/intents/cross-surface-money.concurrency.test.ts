// One payment reached through every surface at once: captures from /v1, seed 002 and seed 003 with a
// cancel (void) beside them, then refunds from /v1 (by intent and by charge), seed 002 and seed 003
// (KWD, three decimals, on seed 003's decimal amounts), and one Idempotency-Key sent to three
// surfaces together. The intent's object runs them one at a time: one capture, no void after it, the
// refunds never above what was captured, one request per key; and every surface, its single reads
// and the read model's lists alike, tells the same amounts and status afterwards.
import { describe, expect, it } from "vitest";
import {
  bearer,
  get,
  hsToken,
  newApplication,
  newMerchant,
  post,
  rawCall,
  uniqueKey,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
} from "../helpers";

interface PosDetail {
  data: { intent: { status: string; capturedAmountCents: number; refundedAmountCents: number }; transactions: { type: string; status: string }[] };
}
interface IcligoPayment {
  id: number;
  status: string;
  capturedAmount: { value: number };
  refundedAmount: { value: number };
}

async function authorized(opts: CallOptions, amount: number, currency: string): Promise<PaymentIntentJson> {
  const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount, currency, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status).toBe("requires_capture");
  return res.body;
}

describe("one payment, every surface at once", () => {
  it("captures and a void race: one capture, the void refused after it; refunds race: never above the capture; all surfaces agree", async () => {
    const m = await newMerchant("cross-surface-money");
    const app = await newApplication(m.opts);
    const appHeaders = { "x-application-id": app.appId, "x-access-token": app.token };
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));

    // 10.000 KWD held; each surface asks for another amount.
    const pi = await authorized(m.opts, 10_000, "kwd");
    const number = ((await rawCall("GET", `/payments/${pi.id}`, appHeaders)).json as IcligoPayment).id;
    const captures = await Promise.all([
      post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 9_000 }, m.opts),
      post("/api/v1/payments/capture", { paymentIntentId: pi.id, amountCents: 8_000 }, m.opts),
      rawCall("PUT", `/payments/${number}/capture`, appHeaders, JSON.stringify({ amount: 7.5 })),
      post(`/v1/payment_intents/${pi.id}/cancel`, {}, m.opts),
    ]);
    const statuses = captures.map((r) => r.status);
    expect(statuses.filter((s) => s === 200), JSON.stringify(statuses)).toHaveLength(1);
    const captured = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body;
    // Whichever came first: a capture (the cancel then refused, a void after capture), or the cancel (no capture at all).
    if (captured.status === "canceled") {
      expect(captured.amount_received).toBe(0);
      return;
    }
    expect(captured.status).toBe("succeeded");
    expect([9_000, 8_000, 7_500]).toContain(captured.amount_received);
    expect(captures[3]?.status).toBe(400);
    const total = captured.amount_received;

    // 30 refunds of 0.500 KWD over four ways in, and one key sent to three surfaces at once.
    const key = uniqueKey("shared");
    const refunds = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => {
        switch (i % 4) {
          case 0:
            return post("/v1/refunds", { payment_intent: pi.id, amount: 500 }, m.opts);
          case 1:
            return post("/v1/refunds", { charge: captured.latest_charge, amount: 500 }, m.opts);
          case 2:
            return post("/api/v1/payments/refund", { paymentIntentId: pi.id, amountCents: 500 }, m.opts);
          default:
            return rawCall("POST", `/payments/${number}/refund`, appHeaders, JSON.stringify({ amount: 0.5 }));
        }
      }),
      post("/v1/refunds", { payment_intent: pi.id, amount: 500 }, { ...m.opts, idempotencyKey: key }),
      post("/api/v1/payments/refund", { paymentIntentId: pi.id, amountCents: 500 }, { ...m.opts, idempotencyKey: key }),
      rawCall("POST", `/payments/${number}/refund`, appHeaders, JSON.stringify({ amount: 0.5 }), key),
    ]);
    for (const r of refunds) expect(r.status, JSON.stringify("json" in r ? r.json : r.body)).toBeLessThan(500);
    const keyed = refunds.slice(30).filter((r) => r.status === 200);
    expect(keyed.length, "one Idempotency-Key, three surfaces: at most one ran").toBeLessThanOrEqual(1);

    // The object's account: whole refunds of 500, never above the capture, as many as fit.
    const list = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=100`, m.opts)).body.data;
    const refunded = list.filter((r) => r.status === "succeeded").reduce((sum, r) => sum + r.amount, 0);
    expect(list.every((r) => r.amount === 500)).toBe(true);
    expect(refunded).toBe(Math.min(total, 500 * refunds.filter((r) => r.status === 200 || r.status === 202).length));
    expect(refunded).toBeLessThanOrEqual(total);

    // Every surface, single reads and lists, tells the same.
    const v1 = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}?expand[]=latest_charge`, m.opts)).body;
    expect(v1).toMatchObject({ status: "succeeded", amount_received: total, amount_refunded: refunded });
    const pos = (await get<PosDetail>(`/api/v1/payments/transactions/${pi.id}`, m.opts)).body.data;
    expect(pos.intent).toMatchObject({ status: "refunded", capturedAmountCents: total, refundedAmountCents: refunded });
    expect(pos.transactions.filter((t) => t.type === "refund" && t.status === "approved")).toHaveLength(refunded / 500);
    const icligo = (await rawCall("GET", `/payments/${number}`, appHeaders)).json as IcligoPayment;
    expect(icligo).toMatchObject({ status: refunded === total ? "Refunded" : "Confirmed", capturedAmount: { value: total / 1000 }, refundedAmount: { value: refunded / 1000 } });
    const seed000 = (await rawCall("GET", `/api/v1/PaymentIntents/${number}`, { authorization: `Bearer ${admin.key ?? ""}` })).json as { status: string; amount: number };
    expect(seed000).toMatchObject({ status: "Succeeded", amount: 10 });
    await waitFor(async () => {
      const listed = (await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=10", m.opts)).body.data.find((p) => p.id === pi.id);
      const posRow = (await get<{ data: { id: string; status: string }[] }>("/api/v1/payments/transactions?status=refunded&limit=10", m.opts)).body.data.find((p) => p.id === pi.id);
      return listed?.amount_received === total && listed.amount_refunded === refunded && posRow !== undefined;
    }, 10_000, "the read model's lists agree");
  });
});
