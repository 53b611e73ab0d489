import { describe, expect, it } from "vitest";
import { authorizedIntent, createIntent, expectError, get, KEY_B, post, succeededIntent, type ListJson, type PaymentIntentJson, type RefundJson } from "../helpers";

describe("POST /v1/refunds", () => {
  it("refunds part of a payment by payment_intent, with Stripe's and seed 001's fields", async () => {
    const pi = await succeededIntent(5000);
    const res = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000, reason: "requested_by_customer", metadata: { ticket: "T-1" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: "refund",
      amount: 1000,
      currency: "usd",
      status: "succeeded",
      reason: "requested_by_customer",
      payment_intent: pi.id,
      charge: pi.latest_charge,
      metadata: { ticket: "T-1" },
    });
    expect(res.body.id).toMatch(/^re_/);
    expect(res.body.refund_id).toBe(res.body.id);
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.amount_refunded).toBe(1000);
    expect(after.status).toBe("succeeded");
  });

  it("refunds by Stripe's `charge` and by seed 001's `charge_id`", async () => {
    const pi = await succeededIntent(3000);
    const byCharge = await post<RefundJson>("/v1/refunds", { charge: pi.latest_charge, amount: 1000 });
    expect(byCharge.status).toBe(200);
    const byChargeId = await post<RefundJson>("/v1/refunds", { charge_id: pi.latest_charge, amount: 1000 });
    expect(byChargeId.status).toBe(200);
    expect(byChargeId.body.charge).toBe(pi.latest_charge);
    const charge = (await get(`/v1/charges/${pi.latest_charge}`)).body;
    expect(charge).toMatchObject({ amount_refunded: 2000, refunded: false });
  });

  it("allows several partial refunds up to the captured amount, then refuses", async () => {
    const pi = await authorizedIntent(5000);
    await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 4000 });
    expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 1500 })).status).toBe(200);
    expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 1500 })).status).toBe(200);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 1001 }), 400, "amount_too_large");
    const rest = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id });
    expect(rest.body.amount).toBe(1000);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 1 }), 400, "charge_already_refunded");
    const charge = (await get(`/v1/charges/${pi.latest_charge}`)).body;
    expect(charge).toMatchObject({ amount_captured: 4000, amount_refunded: 4000, refunded: true });
  });

  it("refuses intents that have not been captured", async () => {
    expectError(await post("/v1/refunds", { payment_intent: (await authorizedIntent()).id }), 400, "charge_not_refundable");
    expectError(await post("/v1/refunds", { payment_intent: (await createIntent()).body.id }), 400, "charge_not_refundable");
  });

  it("validates its target and amount", async () => {
    const pi = await succeededIntent();
    expectError(await post("/v1/refunds", {}), 400, "parameter_missing");
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 0 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: -5 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 10.5 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, reason: "whim" }), 400);
    expectError(await post("/v1/refunds", { charge: "ch_nope" }), 404);
    expectError(await post("/v1/refunds", { payment_intent: `pi_${"z".repeat(24)}` }), 404);
    const other = await succeededIntent();
    expectError(await post("/v1/refunds", { payment_intent: pi.id, charge: other.latest_charge }), 400);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });

  it("answers 404 to another merchant and refunds nothing", async () => {
    const pi = await succeededIntent();
    expectError(await post("/v1/refunds", { payment_intent: pi.id }, { key: KEY_B }), 404);
    expectError(await post("/v1/refunds", { charge: pi.latest_charge }, { key: KEY_B }), 404);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });
});

describe("GET /v1/refunds", () => {
  it("retrieves a refund, and 404s for unknown ids and another merchant", async () => {
    const pi = await succeededIntent();
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 100 })).body;
    const res = await get<RefundJson>(`/v1/refunds/${refund.id}`);
    expect(res.body).toEqual(refund);
    expectError(await get(`/v1/refunds/${refund.id}`, { key: KEY_B }), 404);
    expectError(await get(`/v1/refunds/re_${"q".repeat(24)}`), 404);
  });

  it("lists refunds newest first, filtered by payment_intent", async () => {
    const pi = await succeededIntent(900);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 100 })).body.id);
    const res = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}`);
    expect(res.body.object).toBe("list");
    expect(res.body.data.map((r) => r.id)).toEqual([...ids].reverse());
    const page = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=2`);
    expect(page.body.has_more).toBe(true);
    const next = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=2&starting_after=${page.body.data[1]?.id}`);
    expect(next.body.data.map((r) => r.id)).toEqual([ids[0]]);
    expect(next.body.has_more).toBe(false);
    const theirs = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}`, { key: KEY_B });
    expect(theirs.body.data).toEqual([]);
  });
});
