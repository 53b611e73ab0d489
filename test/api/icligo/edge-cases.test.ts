// Seed 003: the edge cases its document implies, each a 4xx in its error format that changes nothing:
// an unknown payment on every route, a create repeated with its Idempotency-Key, amounts too large,
// and wrong types in a capture's or refund's body.
import { describe, expect, it } from "vitest";
import { newApplication, newMerchant, post, rawCall, uniqueKey, type AppCredentials, type CallOptions, type PaymentIntentJson, type RawAnswer } from "../../helpers";

interface PaymentDto {
  id: number;
  paymentIntentId: string;
  status: string;
  capturedAmount: { currency: string; value: number };
  refundedAmount: { currency: string; value: number };
}

const send = (app: AppCredentials, method: string, path: string, body?: string, key?: string): Promise<RawAnswer> =>
  rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body, key);

function expectError(res: RawAnswer, status: number, path: string): string {
  expect(res.status, res.text).toBe(status);
  const body = res.json as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(["error", "message", "path", "status", "timestamp"]);
  expect(body).toMatchObject({ status, path, error: status === 404 ? "Not Found" : "Bad Request" });
  return String(body.message);
}

async function paid(app: AppCredentials, opts: CallOptions, manual: boolean): Promise<PaymentDto> {
  const made = await send(app, "POST", "/payments/create-payment-intent", `{"userId":"u1","currency":"EUR","amount":25.0,"manualCapture":${manual}}`);
  expect(made.status, made.text).toBe(200);
  const payment = made.json as PaymentDto;
  const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, opts);
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return payment;
}

describe("seed 003: edge cases, a 4xx in the error format and nothing changed", () => {
  it("an unknown payment (a number or a pi_ id) is a 404 on capture, cancel and refund too", async () => {
    const { opts } = await newMerchant("icligo-edge-unknown");
    const app = await newApplication(opts);
    for (const id of ["999999999999", "pi_doesNotExist0000000000", "0", "-1", "1.5"]) {
      for (const [method, suffix, body] of [["PUT", "/capture", '{"amount": 10.0}'], ["PUT", "/cancel", undefined], ["POST", "/cancel", undefined], ["PUT", "/refund", '{"amount": 1.0}'], ["POST", "/refund", undefined]] as const) {
        const path = `/payments/${id}${suffix}`;
        expect(expectError(await send(app, method, path, body), 404, path)).toBe(`No such payment: '${id}'`);
      }
    }
  });

  it("a create repeated with its Idempotency-Key is the same payment (25.0 and 25.00 alike); another body with that key is a 400", async () => {
    const { opts, key: apiKey } = await newMerchant("icligo-edge-idem");
    const app = await newApplication(opts);
    const key = uniqueKey("icligo-create");
    const first = await send(app, "POST", "/payments/create-payment-intent", '{"userId":"u1","currency":"EUR","amount":25.0}', key);
    expect(first.status, first.text).toBe(200);
    const again = await send(app, "POST", "/payments/create-payment-intent", '{"userId": "u1", "currency": "EUR", "amount": 25.00}', key);
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((again.json as PaymentDto).id).toBe((first.json as PaymentDto).id);
    expect((again.json as PaymentDto).paymentIntentId).toBe((first.json as PaymentDto).paymentIntentId);
    const path = "/payments/create-payment-intent";
    expectError(await send(app, "POST", path, '{"userId":"u1","currency":"EUR","amount":26.0}', key), 400, path);
    const listed = await rawCall("GET", "/v1/payment_intents?limit=10", { authorization: `Bearer ${apiKey}` });
    expect((listed.json as { data: unknown[] }).data).toHaveLength(1);
  });

  it("amounts above the maximum are a 400 on create (the amount or a product's price), capture and refund", async () => {
    const { opts, key: apiKey } = await newMerchant("icligo-edge-huge");
    const app = await newApplication(opts);
    const path = "/payments/create-payment-intent";
    for (const body of [
      '{"userId":"u1","currency":"EUR","amount":1000000.00}',
      '{"userId":"u1","currency":"EUR","amount":1e20}',
      '{"userId":"u1","currency":"JPY","amount":100000000}',
      '{"userId":"u1","currency":"EUR","amount":1.0,"products":[{"id":"p","name":"Room","quantity":1,"price":{"currency":"EUR","value":1e20}}]}',
    ]) {
      expectError(await send(app, "POST", path, body), 400, path);
    }
    const listed = await rawCall("GET", "/v1/payment_intents?limit=10", { authorization: `Bearer ${apiKey}` });
    expect((listed.json as { data: unknown[] }).data).toHaveLength(0);

    const manual = await paid(app, opts, true);
    const capture = `/payments/${manual.id}/capture`;
    for (const body of ['{"amount": 1e20}', '{"amount": 99999999999999999999.99}']) expectError(await send(app, "PUT", capture, body), 400, capture);
    const automatic = await paid(app, opts, false);
    const refund = `/payments/${automatic.id}/refund`;
    for (const body of ['{"amount": 1e20}', '{"amount": 25.01}']) expectError(await send(app, "POST", refund, body), 400, refund);
    expect(((await send(app, "GET", `/payments/${manual.id}`)).json as PaymentDto).status).toBe("Authorized");
    expect(((await send(app, "GET", `/payments/${automatic.id}`)).json as PaymentDto).refundedAmount.value).toBe(0);
  });

  it("wrong types in a capture's or refund's body are a 400 naming the field, and change nothing", async () => {
    const { opts } = await newMerchant("icligo-edge-types");
    const app = await newApplication(opts);
    const manual = await paid(app, opts, true);
    const capture = `/payments/${manual.id}/capture`;
    for (const [body, message] of [
      ['{"amount": "10.0"}', "Invalid request: 'amount' must be a number."],
      ['{"amount": true}', "Invalid request: 'amount' must be a number."],
      ['{"amount": -10.0}', "Invalid request: 'amount' must be greater than 0."],
      ['{"amount": 0}', "Invalid request: 'amount' must be greater than 0."],
      ['{"amount": 10.0, "description": 5}', "Invalid request: 'description' must be a string."],
      ['{"amount": 10.0, "currency": "USD"}', "Invalid request: 'currency' must be the payment's (EUR), not USD."],
      ["[10.0]", "Invalid request: the body must be a JSON object."],
    ] as const) {
      expect(expectError(await send(app, "PUT", capture, body), 400, capture), body).toBe(message);
    }
    expect(((await send(app, "GET", `/payments/${manual.id}`)).json as PaymentDto).status).toBe("Authorized");
    const automatic = await paid(app, opts, false);
    const refund = `/payments/${automatic.id}/refund`;
    for (const body of ['{"amount": "1"}', '{"amount": []}', '{"amount": 1.0, "currency": 978}', '"1.0"', "{"]) {
      expectError(await send(app, "POST", refund, body), 400, refund);
    }
    expect(((await send(app, "GET", `/payments/${automatic.id}`)).json as PaymentDto).refundedAmount.value).toBe(0);
  });
});
