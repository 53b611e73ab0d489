// Idempotency-Key: replay (status and body), mismatch, in-flight 409, and no record when validation fails.
import { describe, expect, it } from "vitest";
import { stripeFault, stripeHeld, stripeRelease } from "../chaos/harness";
import {
  addConnector,
  authorizedIntent,
  bearer,
  createIntent,
  hsToken,
  newMerchant,
  seedCustomer,
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

describe("Idempotency-Key", () => {
  it("replays a create with the same status and body, marked as a replay", async () => {
    const key = uniqueKey();
    const body = { amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true };
    const first = await post<PaymentIntentJson>("/v1/payment_intents", body, { idempotencyKey: key });
    const second = await post<PaymentIntentJson>("/v1/payment_intents", body, { idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    // Echoed, as Stripe's (stripe-node's lastResponse.idempotencyKey), on both; and on an error too.
    expect([first.headers.get("idempotency-key"), second.headers.get("idempotency-key")]).toEqual([key, key]);
    const refused = await post("/v1/payment_intents", { amount: -1, currency: "usd" }, { idempotencyKey: `${key}-bad` });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("idempotency-key")).toBe(`${key}-bad`);
    expect((await get(`/v1/payment_intents/${first.body.id}`)).headers.get("idempotency-key")).toBeNull();
    const auths = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${first.body.id}/transactions`)).body.data;
    expect(auths).toHaveLength(1);
  });

  it("the same parameters form-encoded and as JSON are the same request", async () => {
    const key = uniqueKey();
    const json = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "usd", metadata: { a: "1" } }, { idempotencyKey: key });
    const form = await post<PaymentIntentJson>("/v1/payment_intents", undefined, { idempotencyKey: key, form: "amount=700&currency=usd&metadata[a]=1" });
    expect(form.status).toBe(200);
    expect(form.body.id).toBe(json.body.id);
  });

  it("replays a decline as the same 402", async () => {
    const key = uniqueKey();
    const body = { amount: 1500, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true };
    const first = await post("/v1/payment_intents", body, { idempotencyKey: key });
    const second = await post("/v1/payment_intents", body, { idempotencyKey: key });
    expectError(first, 402, "card_declined");
    expect(second.status).toBe(402);
    expect(second.body).toEqual(first.body);
    const pi = (first.body as { error: { payment_intent: PaymentIntentJson } }).error.payment_intent;
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.status).toBe("requires_payment_method");
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`)).body.data).toHaveLength(1);
  });

  it("replays confirm, capture and refund without repeating them at the PSP", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa", capture_method: "manual" })).body;
    const confirmKey = uniqueKey();
    const c1 = await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { idempotencyKey: confirmKey });
    const c2 = await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { idempotencyKey: confirmKey });
    expect(c2.body).toEqual(c1.body);
    const captureKey = uniqueKey();
    const k1 = await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 1000 }, { idempotencyKey: captureKey });
    const k2 = await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 1000 }, { idempotencyKey: captureKey });
    expect(k2.status).toBe(200);
    expect(k2.body).toEqual(k1.body);
    const refundKey = uniqueKey();
    const r1 = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 300 }, { idempotencyKey: refundKey });
    const r2 = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 300 }, { idempotencyKey: refundKey });
    expect(r2.body).toEqual(r1.body);
    const steps = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`)).body.data.map((t) => t.type);
    expect(steps).toEqual(["authorize", "capture", "refund"]);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(300);
  });

  it("the same key with different parameters is an idempotency_error and changes nothing", async () => {
    const key = uniqueKey();
    const first = await createIntent({ amount: 1000 }, { idempotencyKey: key });
    const mismatch = await createIntent({ amount: 2000 }, { idempotencyKey: key });
    expect(expectError(mismatch, 400, "idempotency_key_reused").type).toBe("idempotency_error");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${first.body.id}`)).body.amount).toBe(1000);

    const pi = await succeededIntent(3000);
    const refundKey = uniqueKey();
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, { idempotencyKey: refundKey });
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 200 }, { idempotencyKey: refundKey }), 400, "idempotency_key_reused");
    expectError(await post(`/v1/payment_intents/${pi.id}`, { description: "x" }, { idempotencyKey: refundKey }), 400, "idempotency_key_reused");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(100);
  });

  it("answers 409 while the first request with the key is still running", async () => {
    const { opts } = await newMerchant("idem-inflight");
    const secretKey = `sk_test_fake_inflight_${uniqueKey("k").replace(/[^A-Za-z0-9]/g, "")}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
    const key = uniqueKey();
    const body = { amount: 900, currency: "usd", payment_method: "pm_card_visa", confirm: true };
    // Stripe holds the first request (until the connector's timeout, 3 s here) longer than a second one waits (2 s).
    await stripeFault(secretKey, "create", "hold_before");
    const first = post<PaymentIntentJson>("/v1/payment_intents", body, { ...opts, idempotencyKey: key });
    for (let i = 0; (await stripeHeld(secretKey)) === 0; i++) {
      if (i > 250) throw new Error("the Stripe fake never received the first request");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const second = await post("/v1/payment_intents", body, { ...opts, idempotencyKey: key });
    expect(expectError(second, 409, "idempotency_key_in_use").type).toBe("idempotency_error");
    const mismatch = await post("/v1/payment_intents", { ...body, amount: 901 }, { ...opts, idempotencyKey: key });
    expectError(mismatch, 400, "idempotency_key_reused");
    await stripeRelease(secretKey);
    const done = await first;
    // Held, then a 500 or the timeout: an unknown outcome.
    expect(done.body.status).toBe("processing");
    const later = await post<PaymentIntentJson>("/v1/payment_intents", body, { ...opts, idempotencyKey: key });
    expect(later.body).toEqual(done.body);
  });

  it("keeps no record when validation rejects the request", async () => {
    const key = uniqueKey();
    expectError(await createIntent({ amount: -1 }, { idempotencyKey: key }), 400, "amount_too_small");
    const ok = await createIntent({ amount: 1200 }, { idempotencyKey: key });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("idempotent-replayed")).toBeNull();

    const pi = await authorizedIntent(2000);
    const captureKey = uniqueKey();
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: "lots" }, { idempotencyKey: captureKey }), 400);
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 2000 }, { idempotencyKey: captureKey });
    expect(captured.status).toBe(200);
    expect(captured.body.status).toBe("succeeded");
  });

  it("refuses keys longer than 255 characters", async () => {
    expectError(await createIntent({}, { idempotencyKey: "k".repeat(256) }), 400, "idempotency_key_invalid");
    expect((await createIntent({}, { idempotencyKey: "k".repeat(255) })).status).toBe(200);
  });

  it("one shopper's key does not replay another shopper's answer (it handed over the other's intent and client secret)", async () => {
    const m = await newMerchant("idem-shoppers");
    await seedCustomer(m.id, "cus_idemshopa");
    await seedCustomer(m.id, "cus_idemshopb");
    const alice = bearer(await hsToken({ roles: ["customer"], merchant: m.id, customer: "cus_idemshopa" }));
    const bob = bearer(await hsToken({ roles: ["customer"], merchant: m.id, customer: "cus_idemshopb" }));
    const key = uniqueKey("shared-key");
    const first = await createIntent({ amount: 1234 }, { ...alice, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect((await createIntent({ amount: 1234 }, { ...alice, idempotencyKey: key })).headers.get("Idempotent-Replayed")).toBe("true");
    const other = await createIntent({ amount: 1234 }, { ...bob, idempotencyKey: key });
    const error = expectError(other, 400);
    expect(error.type).toBe("idempotency_error");
    expect(JSON.stringify(other.body)).not.toContain(first.body.client_secret);
    // Seed 000 binds the shopper the same way.
    const key000 = uniqueKey("shared-key-000");
    const body = { amount: 12.34, currency: "EUR", paymentGatewayId: 1 };
    expect((await post("/api/v1/PaymentIntents", body, { ...alice, idempotencyKey: key000 })).status).toBe(201);
    expect((await post("/api/v1/PaymentIntents", body, { ...alice, idempotencyKey: key000 })).status).toBe(201);
    expect((await post("/api/v1/PaymentIntents", body, { ...bob, idempotencyKey: key000 })).status).toBe(400);
  });
});
