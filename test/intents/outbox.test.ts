// Events are appended to the intent's outbox in the same write as the transition; the D1 read model
// follows every transition, is repaired from the alarm, and never moves backwards.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventRecord, IntentRecord } from "../../src/core/types";
import { writeIntent } from "../../src/db/read-model";
import { authorizedIntent, createIntent, get, MERCHANT_A, post, succeededIntent, uniqueKey, type PaymentIntentJson } from "../helpers";

const scope = { merchantId: MERCHANT_A, livemode: false };
const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
async function outbox(id: string): Promise<EventRecord[]> {
  return (await stub(id).outbox(scope, id)) ?? [];
}

describe("events outbox", () => {
  it("a create+confirm appends created, charge.succeeded and succeeded, each with a snapshot of its time", async () => {
    const key = uniqueKey();
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, { idempotencyKey: key })).body;
    const events = await outbox(pi.id);
    expect(events.map((e) => e.type)).toEqual(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]);
    expect(events[0]?.object).toMatchObject({ id: pi.id, status: "requires_confirmation" });
    expect(events[1]?.object).toMatchObject({ object: "charge", id: pi.latest_charge, captured: true });
    expect(events[2]?.object).toMatchObject({ id: pi.id, status: "succeeded", amount_received: 2000 });
    for (const e of events) {
      expect(e.id).toMatch(/^evt_/);
      expect(e.merchantId).toBe(MERCHANT_A);
      expect(e.idempotencyKey).toBe(key);
      expect(e.requestId).toMatch(/^req_/);
    }
  });

  it("manual capture, partial refund, cancel and declines emit their events", async () => {
    const auth = await authorizedIntent(3000);
    await post(`/v1/payment_intents/${auth.id}/capture`, { amount_to_capture: 2000 });
    await post("/v1/refunds", { payment_intent: auth.id, amount: 500 });
    expect((await outbox(auth.id)).map((e) => e.type)).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.amount_capturable_updated",
      "charge.captured",
      "payment_intent.succeeded",
      "refund.created",
      "charge.refunded",
    ]);
    const refundEvent = (await outbox(auth.id)).find((e) => e.type === "refund.created");
    expect(refundEvent?.object).toMatchObject({ object: "refund", amount: 500, status: "succeeded" });

    const canceled = (await createIntent()).body;
    await post(`/v1/payment_intents/${canceled.id}/cancel`, {});
    expect((await outbox(canceled.id)).map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.canceled"]);

    const declined = (await createIntent()).body;
    await post(`/v1/payment_intents/${declined.id}/confirm`, { payment_method: "pm_card_chargeDeclined" });
    expect((await outbox(declined.id)).map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.payment_failed"]);

    const threeDs = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    expect((await outbox(threeDs.id)).map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.requires_action"]);
  });

  it("a replayed or refused request emits nothing", async () => {
    const pi = await succeededIntent();
    const before = (await outbox(pi.id)).length;
    await post(`/v1/payment_intents/${pi.id}/confirm`, {});
    await post(`/v1/payment_intents/${pi.id}/cancel`, {});
    const key = uniqueKey();
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, { idempotencyKey: key });
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, { idempotencyKey: key });
    expect((await outbox(pi.id)).length).toBe(before + 2);
  });

  it("state, events and the idempotent answer are stored together", async () => {
    const key = uniqueKey();
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, { idempotencyKey: key })).body;
    await runInDurableObject(stub(pi.id), async (_instance, state) => {
      const all = await state.storage.list();
      const intent = all.get("intent") as IntentRecord;
      expect(intent.status).toBe("succeeded");
      expect([...all.keys()].filter((k) => k.startsWith("outbox:"))).toHaveLength(3);
      expect(all.has(`idem:${key}`)).toBe(true);
      expect(all.has("sync:pending")).toBe(false);
    });
  });
});

describe("D1 read model", () => {
  it("follows every transition", async () => {
    const pi = await authorizedIntent(1000);
    const row = () => env.DB.prepare("SELECT status, version FROM payment_intents WHERE id = ?").bind(pi.id).first<{ status: string; version: number }>();
    expect((await row())?.status).toBe("requires_capture");
    await post(`/v1/payment_intents/${pi.id}/capture`, {});
    expect((await row())?.status).toBe("succeeded");
  });

  it("a lost read-model write is repaired by the alarm", async () => {
    const pi = await succeededIntent(1100);
    await env.DB.prepare("DELETE FROM payment_intents WHERE id = ?").bind(pi.id).run();
    await runInDurableObject(stub(pi.id), async (_instance, state) => {
      const intent = (await state.storage.get<IntentRecord>("intent")) as IntentRecord;
      await state.storage.put("sync:pending", intent.version);
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub(pi.id))).toBe(true);
    const row = await env.DB.prepare("SELECT status FROM payment_intents WHERE id = ?").bind(pi.id).first<{ status: string }>();
    expect(row?.status).toBe("succeeded");
    const listed = await get<{ data: PaymentIntentJson[] }>(`/v1/payment_intents/search?query=${encodeURIComponent("amount:1100")}&limit=100`);
    expect(listed.body.data.some((p) => p.id === pi.id)).toBe(true);
  });

  it("an older version never overwrites a newer one", async () => {
    const pi = await authorizedIntent(1300);
    const older = await runInDurableObject(stub(pi.id), async (_i, state) => (await state.storage.get<IntentRecord>("intent")) as IntentRecord);
    await post(`/v1/payment_intents/${pi.id}/capture`, {});
    await writeIntent(env.DB, older);
    const row = await env.DB.prepare("SELECT status FROM payment_intents WHERE id = ?").bind(pi.id).first<{ status: string }>();
    expect(row?.status).toBe("succeeded");
  });
});
