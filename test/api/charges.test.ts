import { describe, expect, it } from "vitest";
import { authorizedIntent, createIntent, expectError, get, KEY_B, succeededIntent, type ChargeJson, type ListJson } from "../helpers";

describe("/v1/charges", () => {
  it("a successful authorization is a charge, readable by id", async () => {
    const pi = await succeededIntent(2500);
    const res = await get<ChargeJson>(`/v1/charges/${pi.latest_charge}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: "charge",
      amount: 2500,
      amount_captured: 2500,
      amount_refunded: 0,
      captured: true,
      paid: true,
      status: "succeeded",
      payment_intent: pi.id,
      connector: "sandbox",
      currency: "usd",
    });
    expect(res.body.payment_method_details.card).toMatchObject({ brand: "visa", last4: "4242", checks: { cvc_check: "pass" } });
    expect(res.body.authorization_code).toMatch(/^\d{6}$/);
  });

  it("an uncaptured authorization is an uncaptured charge", async () => {
    const pi = await authorizedIntent(1800);
    const res = await get<ChargeJson>(`/v1/charges/${pi.latest_charge}`);
    expect(res.body).toMatchObject({ captured: false, amount_captured: 0, amount: 1800 });
  });

  it("lists charges by payment_intent", async () => {
    const pi = await succeededIntent(700);
    const res = await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`);
    expect(res.body.data.map((c) => c.id)).toEqual([pi.latest_charge]);
    const all = await get<ListJson<ChargeJson>>("/v1/charges?limit=100");
    expect(all.body.data.some((c) => c.id === pi.latest_charge)).toBe(true);
  });

  it("an intent without a successful authorization has no charge", async () => {
    const pi = (await createIntent()).body;
    expectError(await get(`/v1/charges/ch_${pi.id.slice(3)}`), 404);
    const res = await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`);
    expect(res.body.data).toEqual([]);
  });

  it("another merchant's charge is a 404 and is not listed", async () => {
    const pi = await succeededIntent();
    expectError(await get(`/v1/charges/${pi.latest_charge}`, { key: KEY_B }), 404);
    expect((await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`, { key: KEY_B })).body.data).toEqual([]);
    expectError(await get("/v1/charges/not_a_charge"), 404);
  });
});
