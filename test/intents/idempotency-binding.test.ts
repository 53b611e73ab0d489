// An idempotency key belongs to one merchant and mode and is bound, for 24 hours, to its first request
// (route, target, body) on every POST: any other use is refused before anything moves.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bindIdempotencyKey, IDEMPOTENCY_BINDING_TTL_MS } from "../../src/api/idempotency-binding";
import {
  authorizedIntent,
  expectError,
  get,
  newMerchant,
  post,
  succeededIntent,
  uniqueKey,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
} from "../helpers";

async function refundsOf(intentId: string): Promise<RefundJson[]> {
  return (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${intentId}`)).body.data;
}

describe("idempotency keys are bound to their first request, merchant-wide", () => {
  it("a key that refunded intent X is refused on a refund of intent Y, and Y is not refunded", async () => {
    const x = await succeededIntent(5000);
    const y = await succeededIntent(5000);
    const key = uniqueKey("refund");
    const first = await post<RefundJson>("/v1/refunds", { payment_intent: x.id, amount: 1000 }, { idempotencyKey: key });
    expect(first.status).toBe(200);
    const second = await post("/v1/refunds", { payment_intent: y.id, amount: 1000 }, { idempotencyKey: key });
    expectError(second, 400, "idempotency_key_reused");
    expect((second.body as { error: { type: string } }).error.type).toBe("idempotency_error");
    expect(await refundsOf(y.id)).toHaveLength(0);
    expect(await refundsOf(x.id)).toHaveLength(1);
    // The first request is still replayed.
    const replay = await post<RefundJson>("/v1/refunds", { payment_intent: x.id, amount: 1000 }, { idempotencyKey: key });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("a key used to create a payment intent is refused on POST /v1/customers, which creates nothing", async () => {
    const key = uniqueKey("cross-route");
    const email = `${uniqueKey("cross")}@example.com`;
    expect((await post("/v1/payment_intents", { amount: 1200, currency: "usd" }, { idempotencyKey: key })).status).toBe(200);
    const res = await post("/v1/customers", { email }, { idempotencyKey: key });
    expectError(res, 400, "idempotency_key_reused");
    const listed = await get<ListJson<{ id: string }>>(`/v1/customers?email=${encodeURIComponent(email)}`);
    expect(listed.body.data).toHaveLength(0);
  });

  it("a key used on one intent's capture is refused on another intent's capture", async () => {
    const a = await authorizedIntent(4000);
    const b = await authorizedIntent(4000);
    const key = uniqueKey("capture");
    expect((await post(`/v1/payment_intents/${a.id}/capture`, {}, { idempotencyKey: key })).status).toBe(200);
    expectError(await post(`/v1/payment_intents/${b.id}/capture`, {}, { idempotencyKey: key }), 400, "idempotency_key_reused");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${b.id}`)).body.status).toBe("requires_capture");
  });

  it("the same key raced on two intents: exactly one capture wins, the other is refused", async () => {
    for (let round = 0; round < 5; round++) {
      const a = await authorizedIntent(3000);
      const b = await authorizedIntent(3000);
      const key = uniqueKey("race");
      const [ra, rb] = await Promise.all([
        post(`/v1/payment_intents/${a.id}/capture`, {}, { idempotencyKey: key }),
        post(`/v1/payment_intents/${b.id}/capture`, {}, { idempotencyKey: key }),
      ]);
      const statuses = [ra.status, rb.status].sort();
      expect(statuses).toEqual([200, 400]);
      const after = await Promise.all([a.id, b.id].map(async (id) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body.status));
      expect(after.filter((s) => s === "succeeded")).toHaveLength(1);
      expect(after.filter((s) => s === "requires_capture")).toHaveLength(1);
    }
  });

  it("the same key raced on refunds of two intents: one refund in all", async () => {
    const a = await succeededIntent(3000);
    const b = await succeededIntent(3000);
    const key = uniqueKey("race-refund");
    const answers = await Promise.all([
      post("/v1/refunds", { payment_intent: a.id }, { idempotencyKey: key }),
      post("/v1/refunds", { payment_intent: b.id }, { idempotencyKey: key }),
      post("/v1/refunds", { payment_intent: a.id }, { idempotencyKey: key }),
      post("/v1/refunds", { payment_intent: b.id }, { idempotencyKey: key }),
    ]);
    expect(answers.filter((r) => r.status === 400)).toHaveLength(2);
    const refunds = [...(await refundsOf(a.id)), ...(await refundsOf(b.id))];
    expect(refunds).toHaveLength(1);
  });

  it("a different body under the same key on the same route is refused", async () => {
    const x = await succeededIntent(5000);
    const key = uniqueKey("body");
    expect((await post("/v1/refunds", { payment_intent: x.id, amount: 100 }, { idempotencyKey: key })).status).toBe(200);
    expectError(await post("/v1/refunds", { payment_intent: x.id, amount: 200 }, { idempotencyKey: key }), 400, "idempotency_key_reused");
    expect(await refundsOf(x.id)).toHaveLength(1);
  });

  it("keys are the merchant's own: another merchant may use the same key", async () => {
    const other = await newMerchant("binding");
    const key = uniqueKey("shared");
    expect((await post("/v1/payment_intents", { amount: 900, currency: "usd" }, { idempotencyKey: key })).status).toBe(200);
    const theirs = await post("/v1/customers", { email: "b@example.com" }, { ...other.opts, idempotencyKey: key });
    expect(theirs.status).toBe(200);
  });

  it("nothing is bound when validation rejects the request", async () => {
    const key = uniqueKey("invalid");
    expectError(await post("/v1/payment_intents", { amount: -1, currency: "usd" }, { idempotencyKey: key }), 400);
    expect((await post("/v1/customers", { email: "valid@example.com" }, { idempotencyKey: key })).status).toBe(200);
  });

  it("a binding lasts 24 hours, then the key is free again", async () => {
    const scope = { merchantId: `acct_${uniqueKey("ttl").replace(/[^A-Za-z0-9]/g, "")}`, livemode: false };
    const key = uniqueKey("ttl");
    const t0 = 1_800_000_000_000;
    await bindIdempotencyKey(env, scope, key, { route: "POST /v1/refunds", target: "{}", params: { a: 1 } }, t0);
    expect(await bindIdempotencyKey(env, scope, key, { route: "POST /v1/refunds", target: "{}", params: { a: 1 } }, t0 + 1000)).toBe("same_request");
    await expect(bindIdempotencyKey(env, scope, key, { route: "POST /v1/customers", target: "{}", params: { a: 1 } }, t0 + IDEMPOTENCY_BINDING_TTL_MS - 1)).rejects.toThrow(/same parameters/);
    await expect(bindIdempotencyKey(env, { ...scope, livemode: true }, key, { route: "POST /v1/customers", target: "{}", params: {} }, t0 + 5)).resolves.toBe("claimed");
    await bindIdempotencyKey(env, scope, key, { route: "POST /v1/customers", target: "{}", params: { a: 1 } }, t0 + IDEMPOTENCY_BINDING_TTL_MS);
    await expect(bindIdempotencyKey(env, scope, key, { route: "POST /v1/refunds", target: "{}", params: { a: 1 } }, t0 + IDEMPOTENCY_BINDING_TTL_MS + 1)).rejects.toThrow(/same parameters/);
  });
});
