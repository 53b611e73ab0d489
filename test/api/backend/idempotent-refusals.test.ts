// Seed 004: a refusal made by the intent's object under an Idempotency-Key is the key's answer, as on
// /v1: the same request sent again is answered the same 400 ({"error": ...}, Idempotent-Replayed:
// true), even once the order's state would allow it, and never runs. A new key runs the operation.
import { describe, expect, it } from "vitest";
import { decidePayPal, newMerchant, post, type CallOptions } from "../../helpers";

const P = "/api/v1/payments";
type J = Record<string, unknown>;

/** The payer approves on the sandbox's PayPal page, following its redirect back to the gateway. */
async function approve(approvalUrl: string): Promise<void> {
  const decided = await decidePayPal(approvalUrl);
  expect(decided.status).toBe(303);
}

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

function expectReplayedRefusal(first: Answer, again: Answer): string {
  expect(first.status, JSON.stringify(first.body)).toBe(400);
  expect(first.headers.get("idempotent-replayed")).toBeNull();
  expect(again.status, JSON.stringify(again.body)).toBe(400);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect(again.body).toEqual(first.body);
  return String((again.body as { error: string }).error);
}

const key = (what: string) => `s4-refused-${what}-${Date.now()}-${Math.random()}`;

describe("seed 004: a refusal under an Idempotency-Key is the key's answer, never run later", () => {
  it("refund-payment refused before the capture, sent again with its key after it: the 400 replayed, nothing refunded", async () => {
    const { opts } = await newMerchant("s4-refused-refund");
    const order = (await post<J>(`${P}/paypal/create-order/`, { amount: 10.0, currency: "USD" }, opts)).body;
    const orderId = String(order.order_id);
    const capture = `ch_${orderId.slice(3)}`;
    await approve(String(order.approval_url));
    const k = key("refund");
    const keyed: CallOptions = { ...opts, idempotencyKey: k };
    const first = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: capture, amount: 5.0 }, keyed);
    expect((first.body as { error: string }).error).toBe(`Order ${orderId} has no completed capture to refund: its status is APPROVED. Capture it first (capture-order).`);
    expect((await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts)).body).toMatchObject({ captured: true, capture_id: capture });

    expectReplayedRefusal(first, await post<J>(`${P}/paypal/refund-payment/`, { capture_id: capture, amount: 5.0 }, keyed));
    const got = (await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body;
    expect((got.purchase_units as { payments?: { refunds: unknown[] } }[])[0]?.payments?.refunds).toEqual([]);

    const refunded = await post<J>(`${P}/paypal/refund-payment/`, { capture_id: capture, amount: 5.0 }, { ...opts, idempotencyKey: key("refund-new") });
    expect(refunded.status, JSON.stringify(refunded.body)).toBe(200);
    expect(refunded.body).toMatchObject({ status: "COMPLETED", amount: { currency_code: "USD", value: "5.00" } });
  });

  it("confirm-payment declined under a key, sent again with it: the decline replayed (Idempotent-Replayed), no second attempt", async () => {
    const { opts } = await newMerchant("s4-refused-confirm");
    const created = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 4.0, currency: "usd" }, opts)).body;
    const keyed: CallOptions = { ...opts, idempotencyKey: key("confirm") };
    const body = { payment_intent_id: created.payment_intent_id, payment_method: "pm_card_chargeDeclined" };
    const first = await post<J>(`${P}/stripe/confirm-payment/`, body, keyed);
    expectReplayedRefusal(first, await post<J>(`${P}/stripe/confirm-payment/`, body, keyed));
  });
});
