// Events are appended to the intent's outbox in the same write as the transition, and leave it only
// once the events queue has them; the D1 read model follows every transition, is repaired from the
// alarm, and never moves backwards.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { EventJson } from "../../src/core/events";
import type { IntentRecord } from "../../src/core/types";
import { writeIntent } from "../../src/db/read-model";
import type { PaymentIntentObject } from "../../src/intents/object";
import { derivedId } from "../../src/core/ids";
import { authorizedIntent, MERCHANT_A, createIntent, get, post, storedEventRecords, succeededIntent, uniqueKey, waitFor, type ListJson, type PaymentIntentJson } from "../helpers";

const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));

/** The intent's events as stored by the events queue's consumer, oldest first, once there are `count`. */
async function eventsOf(id: string, count: number): Promise<EventJson[]> {
  return waitFor(
    async () => {
      const res = await get<ListJson<EventJson>>(`/v1/events?payment_intent=${id}&limit=100`);
      return res.body.data.length >= count ? [...res.body.data].reverse() : undefined;
    },
    15_000,
    `${count} events of ${id}`,
  );
}

const spyOnPublish = (instance: PaymentIntentObject) => vi.spyOn(instance, "publishEvents").mockRejectedValue(new Error("queue unavailable"));

async function outboxKeys(id: string): Promise<string[]> {
  return runInDurableObject(stub(id), async (_instance, state) => [...(await state.storage.list({ prefix: "outbox:" })).keys()]);
}

describe("events outbox", () => {
  it("a create+confirm emits created, charge.succeeded and succeeded, each with a snapshot of its time", async () => {
    const key = uniqueKey();
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, { idempotencyKey: key })).body;
    const events = await eventsOf(pi.id, 3);
    expect(events.map((e) => e.type)).toEqual(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]);
    expect(events[0]?.data.object).toMatchObject({ id: pi.id, status: "requires_confirmation" });
    expect(events[1]?.data.object).toMatchObject({ object: "charge", id: pi.latest_charge, captured: true });
    expect(events[2]?.data.object).toMatchObject({ id: pi.id, status: "succeeded", amount_received: 2000 });
    for (const e of events) {
      expect(e.id).toMatch(/^evt_/);
      expect(e.event_id).toBe(e.id);
      expect(e.request.idempotency_key).toBe(key);
      expect(e.request.id).toMatch(/^req_/);
    }
    expect(await outboxKeys(pi.id)).toEqual([]);
  });

  it("manual capture, partial refund, cancel, declines and 3DS emit their events", async () => {
    const auth = await authorizedIntent(3000);
    await post(`/v1/payment_intents/${auth.id}/capture`, { amount_to_capture: 2000 });
    await post("/v1/refunds", { payment_intent: auth.id, amount: 500 });
    const events = await eventsOf(auth.id, 7);
    expect(events.map((e) => e.type)).toEqual([
      "payment_intent.created",
      "charge.succeeded",
      "payment_intent.amount_capturable_updated",
      "charge.captured",
      "payment_intent.succeeded",
      "refund.created",
      "charge.refunded",
    ]);
    expect(events.find((e) => e.type === "refund.created")?.data.object).toMatchObject({ object: "refund", amount: 500, status: "succeeded" });

    const canceled = (await createIntent()).body;
    await post(`/v1/payment_intents/${canceled.id}/cancel`, {});
    expect((await eventsOf(canceled.id, 2)).map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.canceled"]);

    const declined = (await createIntent()).body;
    await post(`/v1/payment_intents/${declined.id}/confirm`, { payment_method: "pm_card_chargeDeclined" });
    // As at Stripe: the declined authorization is a failed charge (charge.failed, its object the charge the 402 names).
    const declineEvents = await eventsOf(declined.id, 3);
    expect(declineEvents.map((e) => e.type)).toEqual(["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]);
    const failedCharge = declineEvents[1]?.data.object as { id: string; object: string; status: string; payment_intent: string; failure_code: string };
    expect(failedCharge).toMatchObject({ object: "charge", status: "failed", payment_intent: declined.id, failure_code: "card_declined" });
    expect((await get<{ status: string }>(`/v1/charges/${failedCharge.id}`)).body.status).toBe("failed");

    const threeDs = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    expect((await eventsOf(threeDs.id, 2)).map((e) => e.type)).toEqual(["payment_intent.created", "payment_intent.requires_action"]);
  });

  it("a replayed or refused request emits nothing", async () => {
    const pi = await succeededIntent();
    await eventsOf(pi.id, 3);
    await post(`/v1/payment_intents/${pi.id}/confirm`, {});
    await post(`/v1/payment_intents/${pi.id}/cancel`, {});
    const key = uniqueKey();
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, { idempotencyKey: key });
    await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, { idempotencyKey: key });
    await eventsOf(pi.id, 5);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await eventsOf(pi.id, 5)).length).toBe(5);
  });

  it("a failing queue send leaves the events in the outbox, stored with the state and the idempotent answer; the alarm sends them later", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa" })).body;
    await eventsOf(pi.id, 1);
    const failing = await runInDurableObject(stub(pi.id), (instance) => spyOnPublish(instance as unknown as PaymentIntentObject));
    const key = uniqueKey();
    const confirmed = await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { idempotencyKey: key });
    expect(confirmed.status).toBe(200);
    await waitFor(async () => failing.mock.calls.length > 0, 5_000, "a send attempt");
    await runInDurableObject(stub(pi.id), async (_instance, state) => {
      const all = await state.storage.list();
      expect((all.get("intent") as IntentRecord).status).toBe("succeeded");
      expect([...all.keys()].filter((k) => k.startsWith("outbox:"))).toHaveLength(2);
      expect(all.has(`idem:${key}`)).toBe(true);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await get<ListJson<EventJson>>(`/v1/events?payment_intent=${pi.id}`)).body.data).toHaveLength(1);

    failing.mockRestore();
    expect(await runDurableObjectAlarm(stub(pi.id))).toBe(true);
    expect(await outboxKeys(pi.id)).toEqual([]);
    const events = await eventsOf(pi.id, 3);
    expect(events.map((e) => e.type)).toEqual(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]);
  });

  it("once the read model is written and the events are queued, the intent keeps no alarm", async () => {
    const pi = await succeededIntent(800);
    await eventsOf(pi.id, 3);
    await waitFor(async () => (await runInDurableObject(stub(pi.id), async (_i, state) => state.storage.getAlarm())) === null, 5_000, "the backstop alarm to be cleared");
  });

  it("a confirm sets the backstop alarm once: its final commit keeps the alarm its checkpoint set", async () => {
    const pi = (await createIntent({ amount: 810 })).body;
    await waitFor(async () => (await runInDurableObject(stub(pi.id), async (_i, state) => state.storage.getAlarm())) === null, 30_000, "the create's alarm to be cleared");
    const set: number[] = [];
    await runInDurableObject(stub(pi.id), (_instance, state) => {
      const setAlarm = state.storage.setAlarm.bind(state.storage);
      state.storage.setAlarm = (at, options) => {
        set.push(Number(at));
        return setAlarm(at, options);
      };
    });
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.status).toBe("succeeded");
    // One alarm (the checkpoint's, before the PSP call), not a second one with the final commit.
    expect(set).toHaveLength(1);
    await eventsOf(pi.id, 3);
    await waitFor(async () => (await runInDurableObject(stub(pi.id), async (_i, state) => state.storage.getAlarm())) === null, 30_000, "the backstop alarm to be cleared");
  });

  it("after the read model and the queue have a create+confirm, its audit entry leaves storage in the write that removes its events", async () => {
    const key = uniqueKey();
    const id = await derivedId("pi", MERCHANT_A, "false", key);
    const deletes: string[][] = [];
    let alarmsDeleted = 0;
    // The object that the create will reach, watched before the create arrives.
    await runInDurableObject(stub(id), (_instance, state) => {
      const remove = state.storage.delete.bind(state.storage) as (keys: string | string[]) => Promise<boolean | number>;
      (state.storage as { delete: (keys: string | string[]) => Promise<boolean | number> }).delete = (keys) => {
        deletes.push(Array.isArray(keys) ? [...keys] : [keys]);
        return remove(keys);
      };
      const deleteAlarm = state.storage.deleteAlarm.bind(state.storage);
      state.storage.deleteAlarm = (options) => {
        alarmsDeleted++;
        return deleteAlarm(options);
      };
    });
    // Audited (money moves), with events at its commit.
    const pi = (await createIntent({ amount: 815, payment_method: "pm_card_visa", confirm: true }, { idempotencyKey: key })).body;
    expect(pi.id).toBe(id);
    await waitFor(async () => alarmsDeleted > 0 || undefined, 5_000, "the backstop alarm to be cleared");
    const withAudit = deletes.filter((keys) => keys.some((k) => k.startsWith("audit:")));
    expect(withAudit, JSON.stringify(deletes)).toHaveLength(1);
    expect(withAudit[0]?.filter((k) => k.startsWith("audit:"))).toHaveLength(1);
    expect(withAudit[0]?.filter((k) => k.startsWith("outbox:")).length, JSON.stringify(deletes)).toBeGreaterThan(0);
    const left = await runInDurableObject(stub(id), async (_i, state) => [...(await state.storage.list()).keys()]);
    expect(left.filter((k) => k.startsWith("audit:") || k.startsWith("outbox:"))).toEqual([]);
    const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE object_id = ?").bind(id).first<{ n: number }>();
    expect(audited?.n).toBe(1);
  });

  it("an audit entry whose events could not be queued waits with them, and the alarm writes it once", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa" })).body;
    await eventsOf(pi.id, 1);
    const failing = await runInDurableObject(stub(pi.id), (instance) => spyOnPublish(instance as unknown as PaymentIntentObject));
    expect((await post(`/v1/payment_intents/${pi.id}/confirm`, {})).status).toBe(200);
    await waitFor(async () => failing.mock.calls.length > 0, 5_000, "a send attempt");
    const audits = () => runInDurableObject(stub(pi.id), async (_i, state) => [...(await state.storage.list({ prefix: "audit:" })).keys()]);
    expect(await audits()).toHaveLength(1);
    failing.mockRestore();
    expect(await runDurableObjectAlarm(stub(pi.id))).toBe(true);
    expect(await audits()).toEqual([]);
    expect(await outboxKeys(pi.id)).toEqual([]);
    const rows = await env.DB.prepare("SELECT action FROM audit_log WHERE object_id = ? ORDER BY created").bind(pi.id).all<{ action: string }>();
    // Written once, though both the commit and the alarm sent it to D1.
    expect(rows.results.map((r) => r.action)).toEqual(["payment_intents.confirm"]);
  });

  it("an event sent twice (a crash between send and delete) is stored once", async () => {
    const pi = (await createIntent()).body;
    const [created] = await eventsOf(pi.id, 1);
    const [record] = await storedEventRecords({ id: created?.id ?? "" });
    if (!record) throw new Error("the created event is not stored");
    await env.EVENTS_QUEUE.send(record);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await eventsOf(pi.id, 1)).map((e) => e.id)).toEqual([created?.id]);
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
