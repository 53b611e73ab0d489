// What runs off the request must be index ranges like the routes' (issue 15): the cron sweep runs
// every minute over every database, and the queue consumers run for every event. Each statement of a
// sweep (the event purge, deliveries and reconciliations due, authorizations to expire, events to
// hand over again, billing's due subscriptions and invoices of real time and of a test clock,
// checkout sessions past their expiry, idempotency claims to prune, the sandbox's refund failures due) and of the events and webhook
// consumers is recorded and EXPLAINed: no SCAN of a table and no temp B-tree for its ORDER BY.
import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { intentStub, processDue } from "../../src/billing/engine";
import { saveFromIntent } from "../../src/billing/payment-methods";
import type { Attempt, EventRecord, IntentRecord } from "../../src/core/types";
import worker, { QUEUES } from "../../src/index";
import { sweepShard } from "../../src/sweeps";
import { createEndpoint, newMerchant, ok, post, receiverHook, storedEventRecords, succeededIntent, waitFor, type PaymentIntentJson } from "../helpers";
import { planOf, recording, type Captured } from "./recording";

async function plans(run: (d1: D1Database) => Promise<unknown>): Promise<{ sql: string; plan: string[] }[]> {
  const captured: Captured[] = [];
  await run(recording(env.DB, captured));
  const reads = captured.filter((c) => /^\s*(select|update|delete|with)\b/i.test(c.sql));
  return Promise.all(reads.map(async (c) => ({ sql: c.sql, plan: await planOf(c) })));
}

function expectRanges(statements: { sql: string; plan: string[] }[]): void {
  for (const { sql, plan } of statements) {
    const text = plan.join("\n");
    const label = `${sql}\n${text}`;
    // A statement may walk json_each (a list of ids bound as one JSON array), and the partial index of
    // the intents with an unknown outcome, which holds only the rows the reconciliation sweep wants
    // (its "quiet for long enough" is an OR of two columns, which no range serves); nothing else.
    const walks = (line: string) => /^SCAN json_each\b/.test(line) || line === "SCAN payment_intents USING INDEX payment_intents_pending";
    expect(plan.filter((line) => /^SCAN /.test(line) && !walks(line)), label).toEqual([]);
    // A GROUP BY over the few rows of a batch's events may sort them; an ORDER BY never sorts.
    expect(text, label).not.toMatch(/USE TEMP B-TREE FOR (\w+ )*ORDER BY/);
  }
}

describe("the cron sweep's statements are index ranges", () => {
  it("every statement of a sweep of one database", async () => {
    const statements = await plans((d1) => sweepShard({ ...env, DB: d1 }, Date.now()));
    const uses = (index: string) => statements.some((s) => s.plan.some((line) => line.includes(`INDEX ${index} `) || line.endsWith(`INDEX ${index}`)));
    // The statements this test is about ran (so it cannot pass on a sweep that skipped them).
    for (const index of ["events_created", "events_unfanned", "events_held", "payment_intents_capturable", "payment_intents_pending", "idempotency_keys_created", "idempotency_claims_created", "psp_events_received", "subscriptions_renewing", "subscriptions_incomplete", "test_clocks_advancing", "webhook_deliveries_overdue", "invoices_due", "checkout_sessions_overdue", "sandbox_refund_failures_due"]) {
      expect(uses(index), `${index}\n${statements.map((s) => `${s.sql}\n  ${s.plan.join("\n  ")}`).join("\n")}`).toBe(true);
    }
    expectRanges(statements);
  });

  it("billing's due subscriptions and invoices of one test clock", async () => {
    const statements = await plans((d1) => processDue({ ...env, DB: d1 }, { testClock: "clock_plans", now: Date.now(), limit: 5, origin: "" }));
    expect(statements.filter((s) => s.sql.includes('from "subscriptions"')).length).toBe(3);
    for (const s of statements.filter((x) => x.sql.includes('from "subscriptions"'))) {
      expect(s.plan.join("\n"), s.sql).toMatch(/SEARCH subscriptions USING INDEX (subscriptions_(renewing|incomplete) \(test_clock=\? AND current_period_(end|start)<\?\)|subscriptions_trial_will_end \(test_clock=\? AND trial_end<\?\))/);
    }
    // The trials due for their trial_will_end are one of them.
    expect(statements.some((s) => s.plan.some((line) => line.includes("INDEX subscriptions_trial_will_end ")))).toBe(true);
    expectRanges(statements);
  });
});

describe("the queue consumers' statements are index ranges", () => {
  it("the events consumer (store, fan-out, billing and checkout hooks) and the webhook consumer (claims, outcomes)", async () => {
    const m = await newMerchant("consumer-plans");
    await createEndpoint(receiverHook("consumer-plans").url, ["*"], m.opts);
    const intent = await succeededIntent(1500, m.opts);
    const events = await waitFor(async () => {
      const stored = await storedEventRecords({ paymentIntent: intent.id });
      return stored.length >= 2 && stored;
    });
    const deliveries = await waitFor(async () => {
      const rows = await env.DB.prepare("SELECT id, attempts FROM webhook_deliveries WHERE merchant_id = ?").bind(m.id).all<{ id: string; attempts: number }>();
      return rows.results.length >= events.length && rows.results;
    });
    const statements = await plans(async (d1) => {
      const recorded = { ...env, DB: d1 };
      // The same events again (the consumer is idempotent), then each delivery's next attempt.
      await worker.queue(createMessageBatch<EventRecord>(QUEUES.events, events.map((body, i) => ({ id: `plans-event-${i}`, timestamp: new Date(), attempts: 1, body }))), recorded);
      await worker.queue(
        createMessageBatch(QUEUES.webhooks, deliveries.map((d, i) => ({ id: `plans-delivery-${i}`, timestamp: new Date(), attempts: 1, body: { deliveryId: d.id, attempt: d.attempts + 1 } }))),
        recorded,
      );
    });
    expect(statements.some((s) => s.sql.includes("webhook_deliveries"))).toBe(true);
    expect(statements.some((s) => /from "?events"?/i.test(s.sql) || /update "?events"?/i.test(s.sql))).toBe(true);
    // The pending deliveries of the batch's events are counted from their events' ranges, not by
    // walking every pending delivery (the status index), which is what a backlog of retries makes large.
    const pending = statements.filter((x) => /count\(\*\)/.test(x.sql) && x.sql.includes('from "webhook_deliveries"'));
    expect(pending.length).toBeGreaterThan(0);
    for (const x of pending) expect(x.plan[0], `${x.sql}\n${x.plan.join("\n")}`).toMatch(/^SEARCH webhook_deliveries USING (COVERING )?INDEX webhook_deliveries_event_endpoint \(event_id=\?\)/);
    expectRanges(statements);
  });

  it("the events consumer's save of a card a payment authenticated (setup_future_usage after a passed 3D Secure challenge)", async () => {
    const m = await newMerchant("save-plans");
    const customer = (await ok(post<{ id: string }>("/v1/customers", {}, m.opts))).id;
    const paid = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 1500, currency: "usd", customer, payment_method: "pm_card_visa", setup_future_usage: "off_session", confirm: true }, m.opts));
    const record = await intentStub(env, paid.id).retrieve({ merchantId: m.id, livemode: false }, paid.id);
    if (!record) throw new Error(`no record of ${paid.id}`);
    // As a challenge would have left it: the approved authorization right after a passed authentication of its card.
    const approved = record.attempts.findIndex((a) => a.type === "authorize" && a.status === "succeeded");
    const base = record.attempts[approved];
    if (!base) throw new Error(`no approved authorization on ${paid.id}`);
    const challenge: Attempt = { ...base, id: "txn_plans_challenge", type: "authenticate" };
    const authenticated: IntentRecord = { ...record, attempts: [...record.attempts.slice(0, approved), challenge, ...record.attempts.slice(approved)] };
    const statements = await plans((d1) => saveFromIntent({ ...env, DB: d1 }, authenticated));
    const marked = statements.filter((x) => x.sql.includes("setupAuthenticated"));
    expect(marked.length, statements.map((x) => x.sql).join("\n")).toBe(1);
    expect(marked[0]?.plan.join("\n")).toMatch(/^SEARCH payment_methods USING INDEX sqlite_autoindex_payment_methods_1 \(id=\?\)/);
    expectRanges(statements);
  });
});
