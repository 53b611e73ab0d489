// Authentication and tenancy: a key is required, only its hash is stored, and every route answers
// another merchant's objects with 404 (400 resource_missing when a parameter names them, as at Stripe) and changes nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { authorizedIntent, call, createIntent, expectError, get, KEY_A, KEY_B, post, seedMerchant, succeededIntent, type PaymentIntentJson, type RefundJson } from "../helpers";

describe("API keys", () => {
  it("no key, a malformed key and an unknown key are 401 in Stripe's error shape", async () => {
    expectError(await get("/v1/payment_intents", { key: null }), 401);
    expectError(await get("/v1/payment_intents", { key: "not-a-key" }), 401);
    const unknown = expectError(await get("/v1/payment_intents", { key: "sk_test_doesnotexist1234" }), 401);
    expect(unknown.message).not.toContain("sk_test_doesnotexist1234");
    expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd" }, { key: "sk_test_doesnotexist1234" }), 401);
  });

  it("accepts HTTP Basic auth with the key as user name (curl -u sk_test_...:)", async () => {
    const res = await call("GET", "/v1/payment_intents?limit=1", { key: null, headers: { authorization: `Basic ${btoa(`${KEY_A}:`)}` } });
    expect(res.status).toBe(200);
  });

  it("stores keys only as SHA-256 hashes", async () => {
    const rows = await env.DB.prepare("SELECT * FROM api_keys").all<Record<string, unknown>>();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(KEY_A);
    expect(dump).not.toContain(KEY_B);
    expect(rows.results.every((r) => typeof r.key_hash === "string" && /^[0-9a-f]{64}$/.test(r.key_hash))).toBe(true);
  });

  it("a live key cannot see test objects, and test cards are refused in live mode", async () => {
    await seedMerchant("acct_merchant_a", "Demo Merchant A", "key_live_a", "sk_live_merchant_a_for_tests", true);
    const pi = await succeededIntent();
    expectError(await get(`/v1/payment_intents/${pi.id}`, { key: "sk_live_merchant_a_for_tests" }), 404);
    const live = await createIntent({}, { key: "sk_live_merchant_a_for_tests" });
    expect(live.status).toBe(200);
    expect(live.body.livemode).toBe(true);
    expectError(await post(`/v1/payment_intents/${live.body.id}/confirm`, { payment_method: "pm_card_visa" }, { key: "sk_live_merchant_a_for_tests" }), 400, "livemode_mismatch");
    expectError(
      await createIntent({ payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040 } } }, { key: "sk_live_merchant_a_for_tests" }),
      400,
      "livemode_mismatch",
    );
  });
});

describe("tenant isolation on every /v1 route", () => {
  it("merchant B gets 404 on each of A's objects and nothing of A's changes", async () => {
    const open = (await createIntent({ payment_method: "pm_card_visa", description: "A's" })).body;
    const authorized = await authorizedIntent(3000);
    const paid = await succeededIntent(4000);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: paid.id, amount: 100 })).body;
    const asB = { key: KEY_B };
    const attempts = [
      get(`/v1/payment_intents/${open.id}`, asB),
      get(`/v1/payment_intents/${open.id}/transactions`, asB),
      post(`/v1/payment_intents/${open.id}`, { description: "B was here" }, asB),
      post(`/v1/payment_intents/${open.id}/confirm`, {}, asB),
      post(`/v1/payment_intents/${open.id}/cancel`, {}, asB),
      post(`/v1/payment_intents/${authorized.id}/capture`, {}, asB),
      post(`/v1/payment_intents/${authorized.id}/cancel`, {}, asB),
      get(`/v1/refunds/${refund.id}`, asB),
      get(`/v1/charges/${paid.latest_charge}`, asB),
    ];
    for (const res of await Promise.all(attempts)) expectError(res, 404);
    // Named in a parameter, A's objects are missing to B too: a 400 resource_missing, as at Stripe.
    const named = [
      post("/v1/refunds", { payment_intent: paid.id }, asB),
      post("/v1/refunds", { charge: paid.latest_charge }, asB),
      post("/v1/refunds", { charge_id: paid.latest_charge }, asB),
    ];
    for (const res of await Promise.all(named)) expectError(res, 400, "resource_missing");

    const after = async (id: string) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`)).body;
    expect(await after(open.id)).toMatchObject({ status: "requires_confirmation", description: "A's" });
    expect(await after(authorized.id)).toMatchObject({ status: "requires_capture", amount_capturable: 3000 });
    expect(await after(paid.id)).toMatchObject({ status: "succeeded", amount_refunded: 100 });

    // A list filtered by one of A's objects names nothing of B's: a 400 resource_missing naming the filter, as an unknown id.
    for (const [res, param] of [
      [await get(`/v1/refunds?payment_intent=${paid.id}`, asB), "payment_intent"],
      [await get(`/v1/charges?payment_intent=${paid.id}`, asB), "payment_intent"],
      [await get(`/v1/refunds?charge=${paid.latest_charge}`, asB), "charge"],
    ] as const) {
      expect(expectError(res, 400, "resource_missing").param).toBe(param);
    }
    const listed = await Promise.all([
      get<{ data: unknown[] }>(`/v1/payment_intents?customer=&limit=100`, asB),
      get<{ data: unknown[] }>(`/v1/refunds?limit=100`, asB),
      get<{ data: unknown[] }>(`/v1/charges?limit=100`, asB),
      get<{ data: unknown[] }>(`/v1/payment_intents/search?query=${encodeURIComponent(`order_id:"x" AND amount>0`)}`, asB),
    ]);
    const bIds = JSON.stringify(listed.map((l) => l.body));
    for (const id of [open.id, authorized.id, paid.id, refund.id]) expect(bIds).not.toContain(id);
  });

  it("an Idempotency-Key used by A means nothing to B", async () => {
    const key = `shared-key-${Date.now()}`;
    const a = await createIntent({ amount: 111 }, { idempotencyKey: key });
    const b = await createIntent({ amount: 222 }, { key: KEY_B, idempotencyKey: key });
    expect(b.status).toBe(200);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.amount).toBe(222);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
  });
});
