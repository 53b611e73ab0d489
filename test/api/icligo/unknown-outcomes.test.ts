// Seed 003: a capture, cancel or refund whose answer the processor lost is not reported as made. A capture's
// ConfirmPaymentResponse ("the date when the capture occurred, along with the captured amount") would
// tell the application that money moved when nobody knows yet; the answer is the document's 500, in
// its error format, saying the outcome is being reconciled, and the payment reads Processing until
// reconciliation settles it (CONFIRMED then, captured once); a cancel's likewise. A refund's is a 202, as a refund held for
// an approver is: the payment not refunded yet, and the refund PENDING beside it (a 2xx: a client
// that retried a 500 with a new request would refund twice once the first settles).
import { describe, expect, it } from "vitest";
import { addConnector, newApplication, newMerchant, post, rawCall, uniqueKey, type AppCredentials, type CallOptions, type PaymentIntentJson, type RawAnswer } from "../../helpers";
import { settle, stripeClearFaults, stripeFault, stripeLedger } from "../../chaos/harness";

interface PaymentDto {
  id: number;
  paymentIntentId: string;
  status: string;
  capturedAmount: { currency: string; value: number };
  refundedAmount: { currency: string; value: number };
  refund?: { id: string; status: string; amount: { currency: string; value: number } };
}

async function stripePaidPayment(label: string, manual: boolean): Promise<{ app: AppCredentials; payment: PaymentDto; secretKey: string; opts: CallOptions }> {
  const { opts } = await newMerchant(label);
  const secretKey = `sk_test_fake_${uniqueKey(label).replace(/[^A-Za-z0-9]/g, "")}`;
  await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
  const app = await newApplication(opts);
  const made = await send(app, "POST", "/payments/create-payment-intent", `{"userId":"u1","currency":"EUR","amount":25.0,"manualCapture":${manual}}`);
  expect(made.status, made.text).toBe(200);
  const payment = made.json as PaymentDto;
  const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, opts);
  expect(paid.body.status, JSON.stringify(paid.body)).toBe(manual ? "requires_capture" : "succeeded");
  return { app, payment, secretKey, opts };
}

const send = (app: AppCredentials, method: string, path: string, body?: string, key?: string): Promise<RawAnswer> =>
  rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body, key);

describe("seed 003: a capture whose outcome at the processor is unknown", () => {
  it("is a 500 in the error format (no capture claimed), the payment Processing; reconciliation captures it once and it reads Confirmed", async () => {
    const { app, payment, secretKey } = await stripePaidPayment("icligo-capture-lost", true);

    const path = `/payments/${payment.id}/capture`;
    const key = uniqueKey("icligo-capture-lost");
    await stripeFault(secretKey, "capture", "lost");
    const res = await send(app, "PUT", path, '{"amount": 10.0, "description": "Captured description."}', key);
    await stripeClearFaults(secretKey);
    expect(res.status, res.text).toBe(500);
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["error", "message", "path", "status", "timestamp"]);
    expect(body).toMatchObject({ status: 500, error: "Internal Server Error", path });
    expect(body.message).toBe(`The processor has not confirmed the capture of payment ${payment.id} (no answer in time, or one still pending there): its outcome is not known yet and is being reconciled. Do not capture it again; read it with GET /payments/${payment.id} (Confirmed once captured, with a CONFIRMED webhook).`);
    expect(res.text).not.toContain("capturedAmountInfo");
    const read = (await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto;
    expect(read.status).toBe("Processing");
    expect(read.capturedAmount.value).toBe(0);
    // The same request again with its key: the same answer, nothing sent to the processor again.
    const again = await send(app, "PUT", path, '{"amount": 10.0, "description": "Captured description."}', key);
    expect(again.status, again.text).toBe(500);
    expect((again.json as Record<string, unknown>).message).toBe(body.message);

    const settled = await settle(payment.paymentIntentId);
    expect(settled.intent).toMatchObject({ status: "succeeded", amountReceived: 1000 });
    expect((await stripeLedger(payment.paymentIntentId)).intents.map((i) => i.amount_received)).toEqual([1000]);
    const after = (await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto;
    expect(after.status).toBe("Confirmed");
    expect(after.capturedAmount).toEqual({ currency: "EUR", value: 10 });
  });

  it("a refund whose answer is lost is a 202 with the refund PENDING beside the payment (not refunded yet); reconciliation refunds it once", async () => {
    const { app, payment, secretKey } = await stripePaidPayment("icligo-refund-lost", false);
    const path = `/payments/${payment.id}/refund`;
    await stripeFault(secretKey, "refund", "lost");
    const res = await send(app, "POST", path, '{"amount": 5.0}', uniqueKey("icligo-refund-lost"));
    await stripeClearFaults(secretKey);
    expect(res.status, res.text).toBe(202);
    const body = res.json as PaymentDto;
    expect(body.status).toBe("Completed");
    expect(body.refundedAmount).toEqual({ currency: "EUR", value: 0 });
    expect(body.refund).toMatchObject({ status: "PENDING", amount: { currency: "EUR", value: 5 } });
    expect(body.refund?.id).toMatch(/^re_/);
    expect(res.text).toContain('"amount":{"currency":"EUR","value":5.00}');
    // What is left to refund counts the pending one: 20.01 more is refused, nothing sent.
    expect((await send(app, "POST", path, '{"amount": 20.01}')).status).toBe(400);

    const settled = await settle(payment.paymentIntentId);
    expect(settled.intent.amountRefunded).toBe(500);
    expect((await stripeLedger(payment.paymentIntentId)).refunds.map((r) => r.amount)).toEqual([500]);
    const after = (await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto;
    expect(after.refundedAmount).toEqual({ currency: "EUR", value: 5 });
  });

  it("a cancel whose answer is lost is a 500 saying so (not a 200 that reads as canceled); the payment Processing, then Canceled once reconciled", async () => {
    const { app, payment, secretKey } = await stripePaidPayment("icligo-cancel-lost", true);
    const path = `/payments/${payment.id}/cancel`;
    await stripeFault(secretKey, "cancel", "lost");
    const res = await send(app, "PUT", path);
    await stripeClearFaults(secretKey);
    expect(res.status, res.text).toBe(500);
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["error", "message", "path", "status", "timestamp"]);
    expect(body).toMatchObject({ status: 500, error: "Internal Server Error", path });
    expect(body.message).toBe(`The processor has not confirmed the cancellation of payment ${payment.id} (no answer in time, or one still pending there): its outcome is not known yet and is being reconciled. Do not cancel it again; read it with GET /payments/${payment.id} (Canceled once released, with a CANCELED webhook).`);
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto).status).toBe("Processing");
    // Sent again meanwhile: refused, nothing sent to the processor.
    expect((await send(app, "POST", path)).status).toBe(400);

    const settled = await settle(payment.paymentIntentId);
    expect(settled.intent.status).toBe("canceled");
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto).status).toBe("Canceled");
  });
});
