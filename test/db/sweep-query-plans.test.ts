// The cron sweep runs every minute over every database, so its reads must be index ranges like the
// routes' (issue 15): each statement of a sweep (the event purge, deliveries and reconciliations due,
// authorizations to expire, events to hand over again, billing's due subscriptions and invoices of
// real time and of a test clock, checkout sessions past their expiry, idempotency claims to prune)
// is recorded and EXPLAINed: no SCAN of a table and no temp B-tree for its ORDER BY.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { processDue } from "../../src/billing/engine";
import { sweepShard } from "../../src/sweeps";
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
    // json_each (a list of ids bound as one JSON array) is the only thing a statement may walk.
    expect(plan.filter((line) => /^SCAN /.test(line) && !/^SCAN json_each\b/.test(line)), label).toEqual([]);
    expect(text, label).not.toMatch(/USE TEMP B-TREE/);
  }
}

describe("the cron sweep's statements are index ranges", () => {
  it("every statement of a sweep of one database", async () => {
    const statements = await plans((d1) => sweepShard({ ...env, DB: d1 }, Date.now()));
    const uses = (index: string) => statements.some((s) => s.plan.some((line) => line.includes(`INDEX ${index} `)));
    // The statements this test is about ran (so it cannot pass on a sweep that skipped them).
    for (const index of ["events_created", "events_unfanned", "subscriptions_renewing", "subscriptions_incomplete", "test_clocks_advancing", "webhook_deliveries_due", "invoices_due", "checkout_sessions_expiry"]) {
      expect(uses(index), `${index}\n${statements.map((s) => `${s.sql}\n  ${s.plan.join("\n  ")}`).join("\n")}`).toBe(true);
    }
    expectRanges(statements);
  });

  it("billing's due subscriptions and invoices of one test clock", async () => {
    const statements = await plans((d1) => processDue({ ...env, DB: d1 }, { testClock: "clock_plans", now: Date.now(), limit: 5, origin: "" }));
    expect(statements.filter((s) => s.sql.includes('from "subscriptions"')).length).toBe(2);
    for (const s of statements.filter((x) => x.sql.includes('from "subscriptions"'))) expect(s.plan.join("\n"), s.sql).toMatch(/SEARCH subscriptions USING INDEX subscriptions_(renewing|incomplete) \(test_clock=\? AND current_period_(end|start)<\?\)/);
    expectRanges(statements);
  });
});
