import { describe, expect, it } from "vitest";
import { authorizedIntent, bearer, createIntent, expectError, get, hsToken, KEY_B, post, storedEventRecords, succeededIntent, waitFor, type ChargeJson, type ListJson, type PaymentIntentJson } from "../helpers";

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
    expect(res.body).toMatchObject({ captured: false, amount_captured: 0, amount: 1800, amount_refunded: 0, refunded: false });
  });

  it("an authorization canceled, or captured in part, is given back on the charge as Stripe reports it (refunded)", async () => {
    const canceled = await authorizedIntent(1800);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${canceled.id}/cancel`)).body.status).toBe("canceled");
    expect((await get<ChargeJson>(`/v1/charges/${canceled.latest_charge}`)).body).toMatchObject({ captured: false, amount: 1800, amount_captured: 0, amount_refunded: 1800, refunded: true });
    const part = await authorizedIntent(5000);
    await post(`/v1/payment_intents/${part.id}/capture`, { amount_to_capture: 3000 });
    expect((await get<ChargeJson>(`/v1/charges/${part.latest_charge}`)).body).toMatchObject({ captured: true, amount: 5000, amount_captured: 3000, amount_refunded: 2000, refunded: false });
    // The intent's own figures stay the money: nothing refunded, 3,000 received, 3,000 refundable.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${part.id}`)).body).toMatchObject({ amount_received: 3000, amount_refunded: 0 });
    expect((await post(`/v1/refunds`, { payment_intent: part.id })).body).toMatchObject({ amount: 3000, status: "succeeded" });
    expect((await get<ChargeJson>(`/v1/charges/${part.latest_charge}`)).body).toMatchObject({ amount_refunded: 5000, refunded: true });
  });

  it("lists charges by payment_intent", async () => {
    const pi = await succeededIntent(700);
    const res = await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`);
    expect(res.body.data.map((c) => c.id)).toEqual([pi.latest_charge]);
    const all = await get<ListJson<ChargeJson>>("/v1/charges?limit=100");
    expect(all.body.data.some((c) => c.id === pi.latest_charge)).toBe(true);
  });

  it("each failed charge keeps its card, and its one-off payment method stays retrievable, after the intent was tried again and paid with another", async () => {
    const pi = (await createIntent({ amount: 1000 })).body;
    const first = expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }), 402, "card_declined");
    expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }), 402, "card_declined");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" })).body.status).toBe("succeeded");
    const listed = (await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`)).body.data;
    const failed = listed.filter((c) => c.status === "failed");
    expect(failed.map((c) => c.payment_method_details?.card?.last4).sort()).toEqual(["0002", "9995"]);
    const firstCharge = (await get<ChargeJson>(`/v1/charges/${String(first.charge)}`)).body;
    expect(firstCharge.payment_method_details?.card).toMatchObject({ last4: "0002", brand: "visa" });
    for (const charge of failed) {
      const pm = await get<{ id: string; card: { last4: string } | null; customer: string | null }>(`/v1/payment_methods/${String(charge.payment_method)}`);
      expect(pm.status, JSON.stringify(pm.body)).toBe(200);
      expect(pm.body).toMatchObject({ id: charge.payment_method, customer: null, card: { last4: charge.payment_method_details?.card?.last4 } });
    }
    // Another merchant finds none of them.
    expect((await get(`/v1/payment_methods/${String(failed[0]?.payment_method)}`, { key: KEY_B })).status).toBe(404);
  });

  it("canceling a held authorization sends charge.refunded (the charge released in full) before payment_intent.canceled; canceling an unpaid intent sends no charge event", async () => {
    const pi = await authorizedIntent(1200);
    expect((await post(`/v1/payment_intents/${pi.id}/cancel`, {})).status).toBe(200);
    const events = await waitFor(async () => {
      const stored = await storedEventRecords({ paymentIntent: pi.id });
      return stored.some((e) => e.type === "payment_intent.canceled") && stored;
    });
    expect(events.map((e) => e.type).slice(-2)).toEqual(["charge.refunded", "payment_intent.canceled"]);
    expect(events.find((e) => e.type === "charge.refunded")?.object).toMatchObject({ id: pi.latest_charge, refunded: true, amount_refunded: 1200, captured: false });
    const unpaid = (await createIntent({ amount: 800 })).body;
    expect((await post(`/v1/payment_intents/${unpaid.id}/cancel`, {})).status).toBe(200);
    const unpaidEvents = await waitFor(async () => {
      const stored = await storedEventRecords({ paymentIntent: unpaid.id });
      return stored.some((e) => e.type === "payment_intent.canceled") && stored;
    });
    expect(unpaidEvents.map((e) => e.type)).not.toContain("charge.refunded");
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
    // Named in a list's filter, A's intent is as missing to B as an unknown one: a 400 naming the parameter.
    const listed = expectError(await get(`/v1/charges?payment_intent=${pi.id}`, { key: KEY_B }), 400, "resource_missing");
    expect(listed).toMatchObject({ param: "payment_intent", message: `No such payment_intent: '${pi.id}'` });
    expectError(await get("/v1/charges/not_a_charge"), 404);
    // Updated by B: the charge is missing, as to a read (its intent is never named).
    const updated = expectError(await post(`/v1/charges/${pi.latest_charge}`, { description: "not yours" }, { key: KEY_B }), 404, "resource_missing");
    expect(updated).toMatchObject({ param: "id", message: `No such charge: '${pi.latest_charge}'` });
  });
});

describe("POST /v1/charges/{id}", () => {
  const shipping = { name: "Ada Lovelace", address: { line1: "1 Analytical Row", city: "London", country: "GB", postal_code: "N1" } };

  it("gives the charge its own description, metadata, receipt_email and shipping; the intent keeps its own, and charge.updated carries the charge", async () => {
    const pi = (await createIntent({ amount: 2600, payment_method: "pm_card_visa", confirm: true, description: "Order 7", metadata: { order: "7" } })).body;
    const id = String(pi.latest_charge);
    const updated = await post<ChargeJson>(`/v1/charges/${id}`, { description: "Order 7, gift wrapped", metadata: { wrap: "yes" }, receipt_email: "ada@example.com", shipping });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ id, description: "Order 7, gift wrapped", metadata: { order: "7", wrap: "yes" }, receipt_email: "ada@example.com", shipping: { name: "Ada Lovelace", address: { line1: "1 Analytical Row", country: "GB" } }, amount: 2600, status: "succeeded" });
    expect((await get<ChargeJson>(`/v1/charges/${id}`)).body).toEqual(updated.body);
    // The intent is not touched, and its later changes no longer reach the charge's own fields.
    const intent = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(intent).toMatchObject({ description: "Order 7", metadata: { order: "7" }, amount_received: 2600 });
    await post(`/v1/payment_intents/${pi.id}`, { metadata: { order: "8" }, description: "Order 8" });
    expect((await get<ChargeJson>(`/v1/charges/${id}`)).body).toMatchObject({ description: "Order 7, gift wrapped", metadata: { order: "7", wrap: "yes" } });
    // Listed as it now is, and told in a charge.updated event.
    expect((await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${pi.id}`)).body.data[0]).toMatchObject({ id, metadata: { order: "7", wrap: "yes" } });
    const events = (await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.type === "charge.updated");
    expect(events).toHaveLength(1);
    expect(events[0]?.object).toMatchObject({ object: "charge", id, description: "Order 7, gift wrapped", metadata: { wrap: "yes" } });
    expect(events[0]?.previousAttributes).toEqual({ description: "Order 7", metadata: { wrap: null }, receipt_email: null, shipping: null });
    // The same again changes nothing: no event. An empty value deletes a key; "" clears description and shipping.
    await post(`/v1/charges/${id}`, { metadata: { wrap: "yes" } });
    expect((await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.type === "charge.updated")).toHaveLength(1);
    const cleared = await post<ChargeJson>(`/v1/charges/${id}`, { metadata: { wrap: "" }, description: "", shipping: "" });
    expect(cleared.body).toMatchObject({ description: null, metadata: { order: "7" }, shipping: null, receipt_email: "ada@example.com" });
  });

  it("updates a failed charge (a declined authorization) on its own, and expands its payment_intent", async () => {
    const declined = expectError(await createIntent({ amount: 1300, payment_method: "pm_card_chargeDeclined", confirm: true }), 402);
    const failedId = String(declined.payment_intent?.latest_charge ?? "");
    expect(failedId).toMatch(/^ch_/);
    const res = await post<ChargeJson & { payment_intent: PaymentIntentJson }>(`/v1/charges/${failedId}`, { metadata: { ticket: "T-1" }, expand: ["payment_intent"] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: failedId, status: "failed", metadata: { ticket: "T-1" }, payment_intent: { object: "payment_intent" } });
  });

  it("refuses what it cannot do, another merchant's charge and a read-only credential; concurrent updates both survive", async () => {
    const pi = await succeededIntent(900);
    const id = String(pi.latest_charge);
    expectError(await post(`/v1/charges/${id}`, { customer: "cus_x" }), 400);
    expectError(await post(`/v1/charges/${id}`, { amount: 1 }), 400);
    expectError(await post(`/v1/charges/${id}`, { metadata: { a: "1" } }, { key: KEY_B }), 404);
    expectError(await post(`/v1/charges/ch_${"x".repeat(24)}`, { metadata: { a: "1" } }), 404);
    const support = bearer(await hsToken({ roles: ["support"], merchant: null }));
    expectError(await post(`/v1/charges/${id}`, { metadata: { a: "1" } }, support), 403);
    const [a, b] = await Promise.all([post(`/v1/charges/${id}`, { metadata: { a: "1" } }), post(`/v1/charges/${id}`, { metadata: { b: "2" } })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await get<ChargeJson>(`/v1/charges/${id}`)).body.metadata).toEqual({ a: "1", b: "2" });
  });
});
