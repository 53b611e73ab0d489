// A capture or refund whose amount comes with a currency other than the payment's is refused, on the
// surfaces whose bodies may carry one (seed 002's POS API, seed 003's iCliGo API): before, the
// currency was dropped and the amount taken in the payment's own (100 "JPY" refunded 1.00 USD).
// The refusal changes nothing and binds no key; the payment's own currency, in any case, is taken.
import { describe, expect, it } from "vitest";
import { get, newApplication, newMerchant, post, rawCall, uniqueKey, type AppCredentials, type CallOptions, type PaymentIntentJson, type RawAnswer } from "../helpers";

type Data = { data: Record<string, unknown> };
type PosErr = { error: { code: string; message: string; details: { field?: string }[] } };

function expectPosValidation(res: { status: number; body: unknown }, field: string): string {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  const { error } = res.body as PosErr;
  expect(error.code).toBe("VALIDATION_ERROR");
  expect(error.details.map((d) => d.field)).toContain(field);
  return error.message;
}

async function posPayment(opts: CallOptions, path: "authorize" | "sale"): Promise<string> {
  const res = await post<Data>(`/api/v1/payments/${path}`, { amountCents: 5000, currency: "USD", token: "9418594164541111", expiry: "1239" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return String(res.body.data.id);
}

describe("seed 002: capture and refund with a currency", () => {
  it("a refund in another currency is a 400 on currency, nothing refunded, and its clientRequestId stays free", async () => {
    const { opts } = await newMerchant("pos-refund-currency");
    const id = await posPayment(opts, "sale");
    const key = uniqueKey("refund");
    const message = expectPosValidation(await post("/api/v1/payments/refund", { clientRequestId: key, paymentIntentId: id, amountCents: 100, currency: "JPY" }, opts), "currency");
    expect(message).toBe("currency must be the payment's (USD), not JPY.");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.amount_refunded).toBe(0);
    // The same key with the payment's currency (any case) is a new request, and refunds.
    const ok = await post<Data>("/api/v1/payments/refund", { clientRequestId: key, paymentIntentId: id, amountCents: 100, currency: "usd" }, opts);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data).toMatchObject({ status: "refunded", refundedAmountCents: 100 });
  });

  it("a capture in another currency is a 400 on currency; the payment stays authorized", async () => {
    const { opts } = await newMerchant("pos-capture-currency");
    const id = await posPayment(opts, "authorize");
    expectPosValidation(await post("/api/v1/payments/capture", { paymentIntentId: id, amountCents: 4500, currency: "EUR" }, opts), "currency");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.status).toBe("requires_capture");
    const ok = await post<Data>("/api/v1/payments/capture", { paymentIntentId: id, amountCents: 4500, currency: "USD" }, opts);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data).toMatchObject({ capturedAmountCents: 4500, currency: "USD" });
  });
});

const send = (app: AppCredentials, method: string, path: string, body?: unknown): Promise<RawAnswer> =>
  rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body === undefined ? undefined : JSON.stringify(body));

/** An iCliGo payment in EUR, paid on its page (here through /v1), captured or held. */
async function icligoPayment(opts: CallOptions, app: AppCredentials, manualCapture: boolean): Promise<{ id: number; pi: string }> {
  const res = await send(app, "POST", "/payments/create-payment-intent", { userId: "user_1", currency: "EUR", amount: 25.0, manualCapture });
  expect(res.status, res.text).toBe(200);
  const dto = res.json as { id: number; paymentIntentId: string };
  const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${dto.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, opts);
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  return { id: dto.id, pi: dto.paymentIntentId };
}

function expectIcligo400(res: RawAnswer): string {
  expect(res.status, res.text).toBe(400);
  return (res.json as { message: string }).message;
}

describe("seed 003: capture and refund with a currency", () => {
  it("a refund in another currency is a 400; nothing refunded; the payment's currency refunds", async () => {
    const { opts } = await newMerchant("icligo-refund-currency");
    const app = await newApplication(opts);
    const payment = await icligoPayment(opts, app, false);
    expect(expectIcligo400(await send(app, "PUT", `/payments/${payment.id}/refund`, { amount: 1.0, currency: "JPY" }))).toBe("Invalid request: 'currency' must be the payment's (EUR), not JPY.");
    expect(expectIcligo400(await send(app, "PUT", `/payments/${payment.id}/refund`, { amount: 1.0, currency: 978 }))).toMatch(/'currency' must be a string/);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${payment.pi}`, opts)).body.amount_refunded).toBe(0);
    const ok = await send(app, "PUT", `/payments/${payment.id}/refund`, { amount: 1.0, currency: "eur" });
    expect(ok.status, ok.text).toBe(200);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${payment.pi}`, opts)).body.amount_refunded).toBe(100);
  });

  it("a capture in another currency is a 400; the payment stays authorized", async () => {
    const { opts } = await newMerchant("icligo-capture-currency");
    const app = await newApplication(opts);
    const payment = await icligoPayment(opts, app, true);
    expectIcligo400(await send(app, "PUT", `/payments/${payment.id}/capture`, { amount: 10.0, currency: "USD" }));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${payment.pi}`, opts)).body.status).toBe("requires_capture");
    const ok = await send(app, "PUT", `/payments/${payment.id}/capture`, { amount: 10.0, currency: "EUR" });
    expect(ok.status, ok.text).toBe(200);
  });
});
