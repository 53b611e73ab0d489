// The cron sweeps that handle a batch of due rows a minute go round them (src/db/rounds.ts): the
// expiry of authorizations past 7 days and of checkout sessions past expires_at, and the re-queuing of
// stuck reconciliations. They always started
// from the first, so rows whose handling keeps failing (here: read-model rows whose object is gone, or
// an object that errors; in production a void the PSP refuses, a payment in flight) stayed first in
// line, and a batch of them stopped every other expiry for good.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expireOverdueSessions } from "../../src/checkout/sessions";
import type { Env } from "../../src/env";
import { expireAuthorizations, requeueStuckReconciliations } from "../../src/reconcile/sweep";
import { StatementBudget } from "../../src/db/budget";
import { sweepShard, type SweepMessage } from "../../src/sweeps";
import { createEndpoint, createIntent, get, newMerchant, post, readModelIntent, receiverHook, recordingQueue, waitFor, type PaymentIntentJson } from "../helpers";

const DAY = 86_400_000;

describe("the cron's expiry sweeps go round their due rows", () => {
  it("authorizations that keep failing do not hold up the others; the round starts over at the end", async () => {
    const m = await newMerchant("expiry-round");
    const held = async () => {
      const res = await createIntent({ amount: 1200, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, m.opts);
      expect(res.body.status).toBe("requires_capture");
      await waitFor(async () => (await readModelIntent(res.body.id))?.status === "requires_capture", 10_000, "read model");
      return res.body.id;
    };
    const template = await held();
    const real = await held();
    // Three rows older than any other authorization, whose objects do not exist: expire answers
    // nothing for them, every time.
    const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('payment_intents')").all<{ name: string }>()).results.map((c) => c.name);
    const poison = ["pi_expiryPoison1", "pi_expiryPoison2", "pi_expiryPoison3"];
    const oldest = Date.now() - 400 * DAY;
    for (const [i, id] of poison.entries()) {
      const select = columns.map((c) => (c === "id" ? "?1" : c === "authorized_at" ? "?2" : c)).join(", ");
      await env.DB.prepare(`INSERT INTO payment_intents (${columns.join(", ")}) SELECT ${select} FROM payment_intents WHERE id = ?3`).bind(id, oldest + i, template).run();
    }
    const later = Date.now() + 8 * DAY;
    const due = Number((await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE status = 'requires_capture' AND authorized_at < ?").bind(later - 7 * DAY).first<{ n: number }>())?.n);
    // A cursor this code did not write is ignored: the round starts from the oldest.
    await env.DB.prepare("INSERT INTO sweep_cursors (name, value) VALUES ('expire_authorizations', 'not json') ON CONFLICT (name) DO UPDATE SET value = excluded.value").run();
    try {
      // Batches of 2: the first sweep takes two of the failing ones; later sweeps go on from there.
      const statusOf = async (id: string) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, m.opts)).body.status;
      let sweeps = 0;
      while ((await statusOf(real)) !== "canceled" && sweeps < Math.ceil(due / 2) + 2) {
        await expireAuthorizations(env, later, 2);
        sweeps++;
      }
      expect(await statusOf(real)).toBe("canceled");
      expect(sweeps).toBeGreaterThan(1);
      // The round reached the end and starts over: the failing ones are tried again.
      let again = 0;
      while ((await env.DB.prepare("SELECT value FROM sweep_cursors WHERE name = 'expire_authorizations'").first()) !== null && again < Math.ceil(due / 2) + 2) {
        await expireAuthorizations(env, later, 2);
        again++;
      }
      expect(await env.DB.prepare("SELECT value FROM sweep_cursors WHERE name = 'expire_authorizations'").first()).toBeNull();
      const rows = await env.DB.prepare("SELECT id FROM payment_intents WHERE status = 'requires_capture' AND authorized_at < ? ORDER BY authorized_at, id LIMIT 2").bind(later - 7 * DAY).all<{ id: string }>();
      expect(rows.results.map((r) => r.id)).toEqual(poison.slice(0, 2));
    } finally {
      await env.DB.prepare("DELETE FROM payment_intents WHERE id IN (?, ?, ?)").bind(...poison).run();
    }
  });

  it("checkout sessions whose expiry keeps failing do not hold up the others", async () => {
    const m = await newMerchant("sessions-round");
    const open = async () => {
      const res = await post<{ id: string; payment_intent: string; status: string }>(
        "/v1/checkout/sessions",
        { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 1 }], success_url: "https://shop.example/ok", cancel_url: "https://shop.example/back" },
        m.opts,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const stuck = [await open(), await open(), await open()];
    const real = await open();
    // Overdue, the stuck ones first in line.
    const long = Date.now() - 400 * DAY;
    for (const [i, s] of [...stuck, real].entries()) await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(long + i, s.id).run();
    // The stuck sessions' payments error whenever they are asked to cancel.
    const failing = new Set(stuck.map((s) => s.payment_intent));
    const objects = env.PAYMENT_INTENTS;
    const faulty: Env = {
      ...env,
      PAYMENT_INTENTS: new Proxy(objects, {
        get(target, prop) {
          if (prop === "get") {
            return (id: DurableObjectId) => {
              const stub = target.get(id);
              return new Proxy(stub, {
                get(s, p) {
                  if (p === "cancel") {
                    return (...args: Parameters<typeof stub.cancel>) => (failing.has(args[1]) ? Promise.reject(new Error("injected: this payment cannot be canceled now")) : stub.cancel(...args));
                  }
                  const v: unknown = Reflect.get(s, p, s);
                  return typeof v === "function" ? v.bind(s) : v;
                },
              });
            };
          }
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }),
    };
    const overdue = Number((await env.DB.prepare("SELECT count(*) AS n FROM checkout_sessions WHERE status = 'open' AND expires_at <= ?").bind(Date.now()).first<{ n: number }>())?.n);
    const statusOf = async () => (await get<{ status: string }>(`/v1/checkout/sessions/${real.id}`, m.opts)).body.status;
    let sweeps = 0;
    while ((await statusOf()) !== "expired" && sweeps < Math.ceil(overdue / 2) + 2) {
      await expireOverdueSessions(faulty, Date.now(), "", 2);
      sweeps++;
    }
    expect(await statusOf()).toBe("expired");
    expect(sweeps).toBeGreaterThan(1);
    for (const s of stuck) expect((await get<{ status: string }>(`/v1/checkout/sessions/${s.id}`, m.opts)).body.status).toBe("open");
    // Cleaned up for the other tests of this file: the stuck sessions expire once their payments can cancel.
    for (const s of stuck) await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() + DAY, s.id).run();
  });

  it("stuck reconciliations are re-queued in a round: ones whose reconciliation keeps failing do not hold up the others", async () => {
    const m = await newMerchant("reconcile-round");
    const template = (await createIntent({ amount: 900 }, m.opts)).body.id;
    await waitFor(async () => (await readModelIntent(template)) !== null, 10_000, "read model");
    const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('payment_intents')").all<{ name: string }>()).results.map((c) => c.name);
    // Four intents with an unknown outcome nobody has looked at for a year; the first three are never
    // reconciled (their reconciliation fails before it records itself), so they stay due.
    const ids = ["pi_reconcileRound1", "pi_reconcileRound2", "pi_reconcileRound3", "pi_reconcileRound4"];
    const long = Date.now() - 400 * DAY;
    for (const [i, id] of ids.entries()) {
      const select = columns.map((c) => (c === "id" ? "?1" : c === "updated" ? "?2" : c === "pending_attempts" ? "1" : c === "reconciled_at" ? "NULL" : c)).join(", ");
      await env.DB.prepare(`INSERT INTO payment_intents (${columns.join(", ")}) SELECT ${select} FROM payment_intents WHERE id = ?3`).bind(id, long + i, template).run();
    }
    const due = Number((await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE pending_attempts > 0").first<{ n: number }>())?.n);
    try {
      const sent: { intentId: string }[] = [];
      const queued = { ...env, RECONCILE_QUEUE: recordingQueue<{ intentId: string; round: number }>(sent) };
      let sweeps = 0;
      while (!sent.some((s) => s.intentId === ids[3]) && sweeps < Math.ceil(due / 2) + 2) {
        await requeueStuckReconciliations(queued, Date.now(), 2);
        sweeps++;
      }
      expect(sent.map((s) => s.intentId)).toContain(ids[3]);
      expect(sent.slice(0, 3).map((s) => s.intentId)).toEqual(ids.slice(0, 3));
    } finally {
      await env.DB.prepare("DELETE FROM payment_intents WHERE id IN (?, ?, ?, ?)").bind(...ids).run();
    }
  });

  it("after a queue outage, one sweep sends again every lost delivery and every event not fanned out, each once", async () => {
    const m = await newMerchant("outage-round");
    await createEndpoint(receiverHook("outage-round").url, ["*"], m.opts);
    const intent = (await createIntent({ amount: 700 }, m.opts)).body.id;
    const template = await waitFor(async () => (await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE merchant_id = ? LIMIT 1").bind(m.id).first<{ id: string }>())?.id, 10_000, "a delivery");
    const event = await waitFor(async () => (await env.DB.prepare("SELECT id FROM events WHERE payment_intent = ? LIMIT 1").bind(intent).first<{ id: string }>())?.id, 10_000, "an event");
    // 250 deliveries whose messages the outage lost (pending, due an hour ago) and 250 events whose
    // hand-over to the queue failed (not fanned out), each a copy of a real one.
    const n = 250;
    const hourAgo = Date.now() - 3_600_000;
    const copy = async (table: string, template: string, prefix: string, set: Record<string, string>) => {
      const columns = (await env.DB.prepare(`SELECT name FROM pragma_table_info('${table}')`).all<{ name: string }>()).results.map((c) => c.name);
      const select = columns.map((c) => (c === "id" ? "?1 || i" : (set[c] ?? c))).join(", ");
      await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${n}) INSERT INTO ${table} (${columns.join(", ")}) SELECT ${select} FROM ${table}, k WHERE id = ?2`).bind(prefix, template).run();
    };
    await copy("webhook_deliveries", template, `whd_outage_${m.id}_`, { status: "'pending'", next_attempt_at: `${hourAgo} + i`, lease_until: "NULL", event_id: "event_id || '_' || i" });
    await copy("events", event, `evt_outage_${m.id}_`, { fanned_out: "0", created: `${hourAgo} + i` });
    try {
      const deliveries: { deliveryId: string }[] = [];
      const handed: { id: string }[] = [];
      await sweepShard({ ...env, WEBHOOK_QUEUE: recordingQueue(deliveries), EVENTS_QUEUE: recordingQueue(handed) }, Date.now());
      const lost = deliveries.map((d) => d.deliveryId).filter((id) => id.startsWith(`whd_outage_${m.id}_`));
      const unfanned = handed.map((e) => e.id).filter((id) => id.startsWith(`evt_outage_${m.id}_`));
      // All of them in one sweep (it was 100 a minute), none twice.
      expect(lost).toHaveLength(n);
      expect(new Set(lost).size).toBe(n);
      expect(unfanned).toHaveLength(n);
      expect(new Set(unfanned).size).toBe(n);
    } finally {
      await env.DB.prepare("DELETE FROM webhook_deliveries WHERE substr(id, 1, length(?1)) = ?1").bind(`whd_outage_${m.id}_`).run();
      await env.DB.prepare("DELETE FROM events WHERE substr(id, 1, length(?1)) = ?1").bind(`evt_outage_${m.id}_`).run();
    }
  });

  it("a sweep voids at most 500 authorizations (a PSP call each), and does not carry the rest on", async () => {
    const m = await newMerchant("expiry-psp-cap");
    const res = await createIntent({ amount: 1200, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, m.opts);
    await waitFor(async () => (await readModelIntent(res.body.id))?.status === "requires_capture", 10_000, "read model");
    // 520 authorizations past 7 days whose objects do not exist (expire answers nothing for them).
    const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('payment_intents')").all<{ name: string }>()).results.map((c) => c.name);
    const prefix = `pi_pspCap${m.id.slice(-6)}_`;
    const select = columns.map((c) => (c === "id" ? "?1 || substr('000' || i, -3)" : c === "authorized_at" ? "?2 + i" : c)).join(", ");
    await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 520) INSERT INTO payment_intents (${columns.join(", ")}) SELECT ${select} FROM payment_intents, k WHERE id = ?3`)
      .bind(prefix, Date.now() - 500 * DAY, res.body.id)
      .run();
    await env.DB.prepare("DELETE FROM sweep_cursors WHERE name = 'expire_authorizations'").run();
    try {
      const carried: SweepMessage[] = [];
      await sweepShard({ ...env, SWEEP_QUEUE: recordingQueue<SweepMessage>(carried) }, Date.now(), new StatementBudget(900));
      // Ten rounds of 50, then the cursor waits at the 500th for the next minute's sweep.
      const cursor = await env.DB.prepare("SELECT value FROM sweep_cursors WHERE name = 'expire_authorizations'").first<{ value: string }>();
      expect(JSON.parse(cursor?.value ?? "{}")).toMatchObject({ id: `${prefix}500` });
      expect(carried.flatMap((c) => c.steps ?? [])).not.toContain("expired_authorizations");
    } finally {
      await env.DB.prepare("DELETE FROM payment_intents WHERE substr(id, 1, length(?1)) = ?1").bind(prefix).run();
      await env.DB.prepare("DELETE FROM sweep_cursors WHERE name = 'expire_authorizations'").run();
    }
    // 500 objects are called (each made on its first call): generous for a busy machine.
  }, 180_000);
});
