// Seed 003 beside the other surfaces, as a black-box audit found it wanting:
// - a payment created through iCliGo and declined on its page was retried through seed 002's POS
//   retry (or /v1's operator retry) as a new intent that took the money while iCliGo still answered
//   the payment Created (cancelable, payable again) and no iCliGo webhook told the application. Such a
//   payment is not retried as a new payment: 409 INVALID_STATE (POS), 400 (/v1), nothing charged; its
//   customer still pays it on its page.
// - a userId that looks like ours (cus_...) but is no customer of this merchant was refused (404):
//   it is the application's own opaque id, as any other userId.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError as expectV1Error, get, newApplication, newMerchant, post, rawCall, type AppCredentials, type PaymentIntentJson, type RawAnswer } from "../../helpers";


interface Dto {
  id: number;
  paymentIntentId: string;
  status: string;
  userId: string;
}

/** A call to the iCliGo surface with the application's credentials (test/helpers.ts rawCall). */
const send = (app: AppCredentials, method: string, path: string, body?: string): Promise<RawAnswer> =>
  rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body);

const createBody = (userId: string) => JSON.stringify({ userId, productId: "product_1234", currency: "EUR", amount: 9.0, manualCapture: false });

async function create(app: AppCredentials, userId = "user_1234"): Promise<Dto> {
  const res = await send(app, "POST", "/payments/create-payment-intent", createBody(userId));
  expect(res.status, res.text).toBe(200);
  return res.json as Dto;
}

async function intentsOf(merchant: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?").bind(merchant).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("seed 003: a payment declined on its page is not retried as a new payment elsewhere", () => {
  it("POS retry: 409 INVALID_STATE, nothing charged; /v1's operator retry refused too; the customer still pays it on its page", async () => {
    const { id: merchant, opts } = await newMerchant("icligo-pos-retry");
    const app = await newApplication(opts);
    const payment = await create(app);
    // The customer's card declines on the payment page (here, the same confirmation through /v1).
    const declined = await post<{ error: { payment_intent?: PaymentIntentJson } }>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_chargeDeclined" }, opts);
    expect(declined.status, JSON.stringify(declined.body)).toBe(402);
    // POS lists it as failed.
    const failed = await get<{ data: { id: string }[] }>("/api/v1/payments/failed", opts);
    expect(failed.body.data.map((r) => r.id)).toContain(payment.paymentIntentId);
    const before = await intentsOf(merchant);

    const retried = await post<{ error: { code: string; message: string } }>(`/api/v1/payments/failed/${payment.paymentIntentId}/retry`, { token: "9418594164541111", expiry: "1239" }, opts);
    expect(retried.status, JSON.stringify(retried.body)).toBe(409);
    expect(retried.body.error.code).toBe("INVALID_STATE");
    expect(retried.body.error.message).toContain("iCliGo");
    expectV1Error(await post(`/v1/admin/failed_payments/${payment.paymentIntentId}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "surface_payment_not_retryable");
    expect(await intentsOf(merchant)).toBe(before);

    const read = await send(app, "GET", `/payments/${payment.id}`);
    expect((read.json as Dto).status).toBe("Created");
    const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as Dto).status).toBe("Completed");
  });
});

describe("seed 003: a declined payment an operator dismissed is Failed, not Created", () => {
  it("POS dismisses it: iCliGo answers Failed (no cancel, no pay), where it answered Created before", async () => {
    const { opts } = await newMerchant("icligo-dismissed");
    const app = await newApplication(opts);
    const payment = await create(app);
    const declined = await post(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_chargeDeclined" }, opts);
    expect(declined.status, JSON.stringify(declined.body)).toBe(402);
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as Dto).status).toBe("Created");
    const dismissed = await post(`/api/v1/payments/failed/${payment.paymentIntentId}/resolve`, { resolution: "dismissed", reason: "customer gave up" }, opts);
    expect(dismissed.status, JSON.stringify(dismissed.body)).toBe(200);
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as Dto).status).toBe("Failed");
    const cancel = await send(app, "POST", `/payments/${payment.id}/cancel`);
    expect(cancel.status, cancel.text).toBe(400);
    expectV1Error(await post(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expect(((await send(app, "GET", `/payments/${payment.id}`)).json as Dto).status).toBe("Failed");
  });
});

describe("seed 003: a userId that looks like ours but is no customer of this merchant is the application's own", () => {
  it("an unknown cus_ userId: 200, kept as given", async () => {
    const { opts } = await newMerchant("icligo-cus-unknown");
    const app = await newApplication(opts);
    const payment = await create(app, "cus_abc123def");
    expect(payment.userId).toBe("cus_abc123def");
    expect(payment.status).toBe("Created");
  });

  it("another merchant's customer id: answered as an unknown one, that customer untouched", async () => {
    const other = await newMerchant("icligo-cus-other-owner");
    const theirs = (await post<{ id: string }>("/v1/customers", { email: "b@example.com" }, other.opts)).body.id;
    const { opts } = await newMerchant("icligo-cus-other");
    const app = await newApplication(opts);
    const payment = await create(app, theirs);
    expect(payment.userId).toBe(theirs);
    const listed = await get<{ data: unknown[] }>(`/v1/payment_intents?customer=${theirs}`, other.opts);
    expect(listed.body.data).toEqual([]);
  });

  it("a customer of this merchant is still that customer; one deleted since is still refused (404)", async () => {
    const { opts } = await newMerchant("icligo-cus-own");
    const app = await newApplication(opts);
    const mine = (await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, opts)).body.id;
    const payment = await create(app, mine);
    const listed = await get<{ data: { id: string }[] }>(`/v1/payment_intents?customer=${mine}`, opts);
    expect(listed.body.data.map((p) => p.id)).toEqual([payment.paymentIntentId]);
    expect((await call("DELETE", `/v1/customers/${mine}`, opts)).status).toBe(200);
    const refused = await send(app, "POST", "/payments/create-payment-intent", createBody(mine));
    expect(refused.status, refused.text).toBe(404);
  });
});
