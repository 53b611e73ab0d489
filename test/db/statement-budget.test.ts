// D1 answers at most 1,000 queries per Worker invocation; past it, every statement of the invocation
// fails. Work that grows with the data and runs in one invocation keeps within a statement budget
// (src/db/budget.ts): the cron's sweep of a database, and a test clock's advance. A billing step costs
// about 18 statements, so a month's renewals due at once (100 a sweep) ran about 1,800: the checkout
// expiry and the pruning after them failed, and so did the other databases' sweeps in the same
// invocation. Each test counts the statements itself, through a recording D1 beneath the budget's.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingSweep, processDue } from "../../src/billing/engine";
import { StatementBudget, UNIT_COST } from "../../src/db/budget";
import worker from "../../src/index";
import { MAX_HOPS, runSteps, sweep, sweepMessage, sweepShard, type SweepMessage, type SweepStep } from "../../src/sweeps";
import { get, newMerchant, post, recordingQueue, seedMerchant, type CallOptions, type ListJson } from "../helpers";
import { recording, type Captured } from "./recording";

const DAY = 86_400_000;

async function ok<T>(res: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** A customer with a default card and `n` daily subscriptions, each made due now (started a day and a minute ago). */
async function dueSubscriptions(opts: CallOptions, n: number): Promise<string[]> {
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: "budget@example.com" }, opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 700, currency: "usd", recurring: { interval: "day" }, product_name: "Daily" }, opts));
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await ok(post<{ id: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, opts))).id);
  const shift = DAY + 60_000;
  for (const id of ids) {
    await env.DB.prepare("UPDATE subscriptions SET current_period_start = current_period_start - ?1, current_period_end = current_period_end - ?1, billing_cycle_anchor = billing_cycle_anchor - ?1 WHERE id = ?2").bind(shift, id).run();
  }
  return ids;
}

const paidInvoices = async (opts: CallOptions, sub: string) => (await ok(get<ListJson<{ status: string }>>(`/v1/invoices?subscription=${sub}&limit=100`, opts))).data.filter((i) => i.status === "paid").length;

describe("a statement budget per invocation", () => {
  it("each step first gets its share, so a step with a backlog cannot take the budget from the ones after it", async () => {
    const budget = new StatementBudget(100);
    const failures: unknown[] = [];
    let failing = 0;
    const steps: SweepStep[] = [
      { name: "hungry", cost: 1, rounds: 1000, round: async (b) => (b.spend(1), { done: 1, more: true }) },
      { name: "failing", cost: 1, rounds: 10, round: async () => (failing++, Promise.reject(new Error("injected"))) },
      { name: "after", cost: 5, rounds: 10, round: async (b) => (b.spend(5), { done: 1, more: false }) },
    ];
    const { done, more } = await runSteps(steps, budget, failures);
    // "after" ran although "hungry" always had more; a failed step is not run again in the sweep.
    expect(Object.fromEntries(done)).toEqual({ hungry: 95, failing: 0, after: 1 });
    expect(more).toEqual(["hungry"]);
    expect(failing).toBe(1);
    expect(failures).toHaveLength(1);
    expect(budget.spent).toBe(100);
  });

  it("a sweep with more renewals due than its budget stays within it, and the steps after billing still run", async () => {
    const m = await newMerchant("budget-sweep");
    const subs = await dueSubscriptions(m.opts, 8);
    const sessions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await ok(
        post<{ id: string }>(
          "/v1/checkout/sessions",
          { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 1 }], success_url: "https://shop.example/ok", cancel_url: "https://shop.example/back" },
          m.opts,
        ),
      );
      sessions.push(s.id);
    }
    for (const id of sessions) await env.DB.prepare("UPDATE checkout_sessions SET expires_at = 1 WHERE id = ?").bind(id).run();
    const open = async () => Number((await env.DB.prepare(`SELECT count(*) AS n FROM checkout_sessions WHERE status = 'open' AND id IN (?, ?, ?)`).bind(...sessions).first<{ n: number }>())?.n);
    const renewed = async () => (await Promise.all(subs.map((s) => paidInvoices(m.opts, s)))).filter((n) => n === 2).length;

    const limit = 150;
    const captured: Captured[] = [];
    const now = Date.now();
    const carried: SweepMessage[] = [];
    const queued = { ...env, SWEEP_QUEUE: recordingQueue<SweepMessage>(carried), SWEEP_STATEMENTS: String(limit) };
    await sweepShard({ ...queued, DB: recording(env.DB, captured) }, now, new StatementBudget(limit));
    // 8 renewals alone are about 144 statements; the sweep ran no more than its budget.
    expect(captured.length).toBeLessThanOrEqual(limit);
    expect(captured.length).toBeGreaterThan(limit - UNIT_COST.billingStep - UNIT_COST.sessionExpiry * 3);
    const first = await renewed();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(subs.length);
    // The checkout expiry, after billing, had its share.
    expect(await open()).toBeLessThan(sessions.length);

    // What did not fit is carried on at once in a sweep message of its own: only the steps with work
    // left, one hop on. Each invocation it runs in carries on the rest, until nothing is left.
    expect(carried).toHaveLength(1);
    expect(carried[0]).toMatchObject({ shard: "DB", now, hop: 1 });
    expect(carried[0]?.steps).toContain("billing_steps");
    expect(carried[0]?.steps).not.toContain("pruned_idempotency_claims");
    for (let i = 0; i < carried.length && i < MAX_HOPS; i++) await sweepMessage(queued, carried[i]);
    expect(await renewed()).toBe(subs.length);
    expect(await open()).toBe(0);
    for (const s of subs) expect(await paidInvoices(m.opts, s)).toBe(2);
    // The last hop had nothing left to carry on (the loop ran every message there was).
    expect(carried.length).toBeLessThan(MAX_HOPS);
    expect(carried.map((c) => c.hop)).toEqual(carried.map((_, i) => i + 1));
  });

  it("a backlog is carried on at most MAX_HOPS invocations after the cron's; a message naming no known step does nothing", async () => {
    const m = await newMerchant("budget-hops");
    const subs = await dueSubscriptions(m.opts, 3);
    const carried: SweepMessage[] = [];
    const queued = { ...env, SWEEP_QUEUE: recordingQueue<SweepMessage>(carried), SWEEP_STATEMENTS: "40" };
    const renewed = async () => (await Promise.all(subs.map((s) => paidInvoices(m.opts, s)))).filter((n) => n === 2).length;
    await sweepMessage(queued, { shard: "DB", now: Date.now(), steps: ["no_such_step"], hop: 1 });
    expect(await renewed()).toBe(0);
    expect(carried).toEqual([]);
    // The last hop runs its steps (a renewal fits in 40 statements) and carries nothing on.
    await sweepMessage(queued, { shard: "DB", now: Date.now(), steps: ["billing_steps", "no_such_step"], hop: MAX_HOPS });
    expect(await renewed()).toBe(1);
    expect(carried).toEqual([]);
    // One hop before it carries the rest on.
    await sweepMessage(queued, { shard: "DB", now: Date.now(), steps: ["billing_steps"], hop: MAX_HOPS - 1 });
    expect(await renewed()).toBe(2);
    expect(carried).toMatchObject([{ shard: "DB", steps: ["billing_steps"], hop: MAX_HOPS }]);
  });

  it("databases swept in one invocation share its budget: a backlog on the first leaves the second its part", async () => {
    const m = await newMerchant("budget-shards");
    const subs = await dueSubscriptions(m.opts, 8);
    // And 20 overdue sessions: with the whole budget, the first database would leave the second nothing.
    for (let i = 0; i < 20; i++) {
      const s = await ok(post<{ id: string }>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "Mug" } }, quantity: 1 }], success_url: "https://shop.example/ok", cancel_url: "https://shop.example/back" }, m.opts));
      await env.DB.prepare("UPDATE checkout_sessions SET expires_at = 1 WHERE id = ?").bind(s.id).run();
    }
    // acct_shard_far lives on DB_SHARD_1 (vitest.config.ts), swept after DB.
    const far = { key: "sk_test_shard_far_budget01" };
    await seedMerchant("acct_shard_far", "Far shard merchant", "key_shard_far_budget", far.key, false);
    const session = await ok(
      post<{ id: string }>(
        "/v1/checkout/sessions",
        { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 1 }], success_url: "https://shop.example/ok", cancel_url: "https://shop.example/back" },
        far,
      ),
    );
    expect((await env.DB_SHARD_1.prepare("UPDATE checkout_sessions SET expires_at = 1 WHERE id = ?").bind(session.id).run()).meta.changes).toBe(1);
    const carried: SweepMessage[] = [];
    await sweep({ ...env, SWEEP_STATEMENTS: "124", SWEEP_QUEUE: recordingQueue<SweepMessage>(carried) }, Date.now());
    expect((await env.DB_SHARD_1.prepare("SELECT status FROM checkout_sessions WHERE id = ?").bind(session.id).first<{ status: string }>())?.status).toBe("expired");
    // The first database's renewals went on as far as its part allowed.
    const renewed = (await Promise.all(subs.map((s) => paidInvoices(m.opts, s)))).filter((n) => n === 2).length;
    expect(renewed).toBeGreaterThan(0);
    expect(renewed).toBeLessThan(subs.length);
    // The first database's backlog is carried on in a message naming it.
    expect(carried.map((c) => c.shard)).toEqual(["DB"]);
  });

  it("a test clock's advance with more due than one invocation runs within the budget; the cron sweep finishes it", async () => {
    const m = await newMerchant("budget-clock");
    const start = Math.floor(Date.parse("2026-01-01T00:00:00Z") / 1000);
    const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: start }, m.opts));
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "clock@example.com", test_clock: clock.id }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", recurring: { interval: "week" }, product_name: "Weekly" }, m.opts));
    const subs: string[] = [];
    for (let i = 0; i < 52; i++) subs.push((await ok(post<{ id: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts))).id);
    // Two weeks, the furthest one advance may go with weekly subscriptions (as at Stripe): 52 x 2
    // renewals, about 1,900 statements.
    const captured: Captured[] = [];
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test/v1/test_helpers/test_clocks/${clock.id}/advance`, {
        method: "POST",
        headers: { authorization: `Bearer ${m.key}`, "content-type": "application/x-www-form-urlencoded" },
        body: `frozen_time=${start + 14 * 86_400}`,
      }),
      { ...env, DB: recording(env.DB, captured) },
      ctx,
    );
    const body = (await res.json()) as { status: string };
    await waitOnExecutionContext(ctx);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("advancing");
    expect(captured.length).toBeLessThanOrEqual(1000);
    // Some of the renewals ran, not all of them.
    const renewals = (await Promise.all(subs.map((s) => paidInvoices(m.opts, s)))).reduce((sum, n) => sum + n - 1, 0);
    expect(renewals).toBeGreaterThan(0);
    expect(renewals).toBeLessThan(104);
    // The cron's billing finishes the clock (a budget of its own each sweep).
    for (let i = 0; i < 10 && (await ok(get<{ status: string }>(`/v1/test_helpers/test_clocks/${clock.id}`, m.opts))).status !== "ready"; i++) {
      await billingSweep(env, Date.now(), 100, new StatementBudget(900));
    }
    expect((await ok(get<{ status: string }>(`/v1/test_helpers/test_clocks/${clock.id}`, m.opts))).status).toBe("ready");
    // Every week paid once: the first invoice and two renewals each.
    for (const s of subs) expect(await paidInvoices(m.opts, s)).toBe(3);
    // 52 subscriptions and 104 renewals, each a payment: generous for a busy machine.
  }, 120_000);

  it("a billing pass that skips more subscriptions than D1 binds parameters goes on to the ones after them", async () => {
    const m = await newMerchant("budget-skips");
    const [real] = await dueSubscriptions(m.opts, 1);
    // 120 copies due before it whose price does not exist: each renewal throws and is skipped.
    const columns = (await env.DB.prepare("SELECT name FROM pragma_table_info('subscriptions')").all<{ name: string }>()).results.map((c) => c.name);
    const select = columns.map((c) => (c === "id" ? "?1 || i" : c === "price" ? "'price_gone'" : c === "current_period_end" ? "current_period_end - 1000 - i" : c === "latest_invoice" ? "NULL" : c)).join(", ");
    await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 120) INSERT INTO subscriptions (${columns.join(", ")}) SELECT ${select} FROM subscriptions, k WHERE id = ?2`)
      .bind(`${real}_poison_`, real)
      .run();
    try {
      const pass = await processDue(env, { testClock: null, now: Date.now(), limit: 200, origin: "" });
      expect(pass.steps).toBeGreaterThan(120);
      expect(await paidInvoices(m.opts, real ?? "")).toBe(2);
    } finally {
      await env.DB.prepare("DELETE FROM subscriptions WHERE id LIKE ?").bind(`${real}_poison_%`).run();
    }
  });
});
