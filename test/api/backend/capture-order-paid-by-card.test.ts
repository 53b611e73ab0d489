// Seed 004: capture-order answers from the intent its completion gave back, never from the one it read
// before. The shopper paying the order's intent by card (confirm-payment) between the two left an
// intent succeeded by card; capture-order then claimed a PayPal capture (200, capture_id ch_...) that
// PayPal never made: get-order said VOIDED and refund-payment did not know the capture. The race is
// made deterministic here: the card payment is made through the intent's object itself, just before
// the object completes the PayPal redirect that capture-order asked for.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IntentRecord, PaymentMethodDetails } from "../../../src/core/types";
import { PaymentIntentObject } from "../../../src/intents/object";
import type { RequestContext } from "../../../src/intents/params";
import { decidePayPal, get, newMerchant, post, type ListJson, type PaymentIntentJson, type TransactionJson } from "../../helpers";

const P = "/api/v1/payments";
type J = Record<string, unknown>;

const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));

async function storedIntent(id: string): Promise<IntentRecord> {
  const record = await runInDurableObject(stub(id), async (_instance, state) => state.storage.get<IntentRecord>("intent"));
  if (!record) throw new Error(`no stored intent ${id}`);
  return record;
}

/** The payer approves on the sandbox's PayPal page, following its redirect back to the gateway. */
async function approve(approvalUrl: string): Promise<void> {
  const decided = await decidePayPal(approvalUrl);
  expect(decided.status).toBe(303);
}

function expectBackendError(res: { status: number; body: unknown }, status: number): string {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  return String(body.error);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("seed 004 capture-order on an order the shopper paid by card meanwhile", () => {
  it("answers the order's 400 (paid another way, VOIDED), never a PayPal capture that did not happen", async () => {
    const { id: merchantId, opts } = await newMerchant("s4-capture-card-race");
    // A card, as the intent's object holds one (from a payment made with pm_card_visa).
    const cardPaid = (await post<J>(`${P}/stripe/create-payment-intent/`, { amount: 1.0, currency: "USD" }, opts)).body;
    const cardPaidId = String(cardPaid.payment_intent_id);
    expect((await post<J>(`${P}/stripe/confirm-payment/`, { payment_intent_id: cardPaidId, payment_method: "pm_card_visa" }, opts)).body).toMatchObject({ confirmed: true });
    const held = (await storedIntent(cardPaidId)).paymentMethod;
    if (!held) throw new Error("the card-paid intent holds no payment method");
    const card: PaymentMethodDetails = { ...held, id: "pm_card_race" };

    const order = await post<J>(`${P}/paypal/create-order/`, { amount: 10.0, currency: "USD", return_url: "https://shop.example/back" }, opts);
    expect(order.status, JSON.stringify(order.body)).toBe(200);
    const orderId = String(order.body.order_id);
    await approve(String(order.body.approval_url));
    expect((await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts)).body.status).toBe("APPROVED");

    // capture-order read the order (PayPal, approved, waiting); now, before its completion runs in the
    // object, the shopper's card payment gets there first.
    const complete = PaymentIntentObject.prototype.completeRedirect;
    const cardFirst = vi.spyOn(PaymentIntentObject.prototype, "completeRedirect").mockImplementation(async function (this: PaymentIntentObject, id: string, clientSecret: string, origin: string) {
      const req: RequestContext = { scope: { merchantId, livemode: false }, requestId: null, idempotencyKey: null, fingerprint: null, origin, audit: null };
      const paid = await this.confirm(req, id, { paymentMethod: card });
      expect(paid.error).toBeNull();
      expect(paid.intent?.status).toBe("succeeded");
      return complete.call(this, id, clientSecret, origin);
    });
    const captured = await post<J>(`${P}/paypal/capture-order/`, { order_id: orderId }, opts);
    expect(cardFirst).toHaveBeenCalledTimes(1);
    cardFirst.mockRestore();

    const message = expectBackendError(captured, 400);
    expect(message).toBe("This order cannot be captured: it was paid another way, not with PayPal (its status is VOIDED).");
    expect(JSON.stringify(captured.body)).not.toContain("ch_");

    // What the order and the payment say agrees: the order VOIDED, nothing captured at PayPal, the one
    // authorization the card's.
    const got = await post<J>(`${P}/paypal/get-order/`, { order_id: orderId }, opts);
    expect(got.body.status).toBe("VOIDED");
    expect((got.body.purchase_units as J[])[0]?.payments).toBeUndefined();
    expectBackendError(await post(`${P}/paypal/refund-payment/`, { capture_id: `ch_${orderId.slice(3)}` }, opts), 404);
    const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${orderId}`, opts)).body;
    expect(pi.status).toBe("succeeded");
    const transactions = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${orderId}/transactions`, opts)).body.data;
    const succeeded = transactions.filter((t) => t.status === "succeeded");
    expect(succeeded.map((t) => t.connector)).toEqual(["sandbox"]);
    expect(transactions.filter((t) => t.connector === "paypal" && t.status === "succeeded")).toHaveLength(0);

    // Asked again, capture-order says the same.
    expect(expectBackendError(await post(`${P}/paypal/capture-order/`, { order_id: orderId }, opts), 400)).toBe(message);
  });
});
