// Seed 003: a capture, refund or cancel refused under an Idempotency-Key is that key's answer for 24
// hours, as on /v1: the same request sent again, after the payment's state came to allow it, is
// answered the first refusal again (Idempotent-Replayed: true, in this surface's error format) and
// never runs. A new key runs the operation.
import { describe, expect, it } from "vitest";
import { get, post, rawCall, waitFor, type ListJson, type PaymentIntentJson, type RawAnswer, type RefundJson, type TransactionJson } from "../../helpers";

interface Credentials {
  appId: string;
  token: string;
}

type Raw = RawAnswer;

interface PaymentDto {
  id: number;
  paymentIntentId: string;
  status: string;
  capturedAmount: { currency: string; value: number };
  refundedAmount: { currency: string; value: number };
}

interface IcligoErrorJson {
  timestamp: number;
  status: number;
  error: string;
  message: string;
  path: string;
}

const MANUAL = '{"userId":"u1","currency":"EUR","amount":25.0,"manualCapture":true}';

async function newApplication(): Promise<Credentials> {
  const res = await post<{ application_id: string; access_token: string }>("/v1/api_keys", {
    type: "application",
    permissions: ["payments.transactions.create", "payments.transactions.view", "payments.transactions.void"],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { appId: res.body.application_id, token: res.body.access_token };
}

function send(app: Credentials, method: string, path: string, body?: string, key?: string): Promise<Raw> {
  return rawCall(method, path, { "X-Application-Id": app.appId, "X-Access-Token": app.token }, body, key);
}

async function createManual(app: Credentials): Promise<PaymentDto> {
  const res = await send(app, "POST", "/payments/create-payment-intent", MANUAL);
  expect(res.status, res.text).toBe(200);
  return res.json as PaymentDto;
}

async function payWith(payment: PaymentDto, paymentMethod: string): Promise<PaymentIntentJson> {
  const res = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: paymentMethod });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function statusOf(app: Credentials, payment: PaymentDto): Promise<string> {
  return ((await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto).status;
}

/** The 400 in this surface's format ({timestamp, status, error, message, path}). */
function refusal(res: Raw, path: string): IcligoErrorJson {
  expect(res.status, res.text).toBe(400);
  const body = res.json as IcligoErrorJson;
  expect(Object.keys(body).sort()).toEqual(["error", "message", "path", "status", "timestamp"]);
  expect(body).toMatchObject({ status: 400, error: "Bad Request", path });
  return body;
}

/** The same request again is the first refusal, replayed: same status and message, Idempotent-Replayed. */
function expectReplayedRefusal(first: Raw, again: Raw, path: string): void {
  const original = refusal(first, path);
  expect(first.headers.get("Idempotent-Replayed")).toBeNull();
  const replayed = refusal(again, path);
  expect(again.headers.get("Idempotent-Replayed"), again.text).toBe("true");
  expect(replayed.message).toBe(original.message);
  // Byte for byte the first answer, its timestamp included (the time the first was given).
  expect(again.text).toBe(first.text);
}

const key = (what: string) => `seed003-refused-${what}-${Date.now()}-${Math.random()}`;

describe("seed 003: a refusal under an Idempotency-Key is the key's answer, never run later", () => {
  it("a capture refused (Created) and sent again with its key once the payment is Authorized: the 400 replayed, nothing captured", async () => {
    const app = await newApplication();
    const payment = await createManual(app);
    const path = `/payments/${payment.id}/capture`;
    const k = key("capture");
    const first = await send(app, "PUT", path, '{"amount":10.0}', k);
    expect(refusal(first, path).message).toBe(`Payment ${payment.id} is Created: only an Authorized payment can be captured, and only once.`);
    expect((await payWith(payment, "pm_card_visa")).status).toBe("requires_capture");
    expect(await statusOf(app, payment)).toBe("Authorized");

    const again = await send(app, "PUT", path, '{"amount":10.0}', k);
    expectReplayedRefusal(first, again, path);
    expect(await statusOf(app, payment)).toBe("Authorized");
    const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}`)).body;
    expect(pi.status).toBe("requires_capture");
    expect(pi.amount_received).toBe(0);
    const transactions = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${payment.paymentIntentId}/transactions`)).body.data;
    expect(transactions.filter((t) => t.type === "capture")).toHaveLength(0);

    // A new key is a new request: it captures.
    const captured = await send(app, "PUT", path, '{"amount":10.0}', key("capture-new"));
    expect(captured.status, captured.text).toBe(200);
    expect(captured.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await statusOf(app, payment)).toBe("Confirmed");
  });

  it("a refund refused (Authorized, not captured) and sent again with its key after the capture: the 400 replayed, nothing refunded", async () => {
    const app = await newApplication();
    const payment = await createManual(app);
    await payWith(payment, "pm_card_visa");
    const path = `/payments/${payment.id}/refund`;
    const k = key("refund");
    const first = await send(app, "POST", path, '{"amount":5.0}', k);
    expect(refusal(first, path).message).toBe(`Payment ${payment.id} is Authorized: only a Completed or Confirmed payment can be refunded.`);
    const captured = await send(app, "PUT", `/payments/${payment.id}/capture`, '{"amount":10.0}');
    expect(captured.status, captured.text).toBe(200);
    expect(await statusOf(app, payment)).toBe("Confirmed");

    const again = await send(app, "POST", path, '{"amount":5.0}', k);
    expectReplayedRefusal(first, again, path);
    // PUT is the same route: replayed too.
    expectReplayedRefusal(first, await send(app, "PUT", path, '{"amount":5.0}', k), path);
    const after = (await send(app, "GET", `/payments/${payment.id}`)).json as PaymentDto;
    expect(after.status).toBe("Confirmed");
    expect(after.refundedAmount).toEqual({ currency: "EUR", value: 0 });
    expect((await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${payment.paymentIntentId}`)).body.data).toHaveLength(0);
  });

  it("a cancel refused while the processor's answer is unknown and sent again with its key once Authorized: the 400 replayed, nothing voided", async () => {
    const app = await newApplication();
    const payment = await createManual(app);
    expect((await payWith(payment, "pm_card_sandboxTimeoutThenSuccess")).status).toBe("processing");
    const path = `/payments/${payment.id}/cancel`;
    const k = key("cancel");
    const first = await send(app, "PUT", path, undefined, k);
    expect(refusal(first, path).message).toMatch(/being processed/);
    // Reconciliation learns the authorization went through: the payment may be canceled now.
    await waitFor(async () => (await statusOf(app, payment)) === "Authorized", 20_000, "the reconciled authorization");

    const again = await send(app, "PUT", path, undefined, k);
    expectReplayedRefusal(first, again, path);
    expect(await statusOf(app, payment)).toBe("Authorized");
    const transactions = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${payment.paymentIntentId}/transactions`)).body.data;
    expect(transactions.filter((t) => t.type === "void")).toHaveLength(0);

    const canceled = await send(app, "POST", path, undefined, key("cancel-new"));
    expect(canceled.status, canceled.text).toBe(200);
    expect((canceled.json as PaymentDto).status).toBe("Canceled");
  });
});
