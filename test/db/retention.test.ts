// The cron's retention keeps up with a busy database: old events (with their deliveries and attempts),
// old idempotency claims and old stored answers go in batches of RETENTION_BATCH, as many batches a sweep as it takes, up
// to RETENTION_ROUNDS. One batch a minute, as before, left every event past the first 1,000 of a
// minute behind for good: the table would grow until the database is full.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_BINDING_TTL_MS } from "../../src/api/idempotency-binding";
import { IDEMPOTENCY_TTL_MS } from "../../src/intents/object";
import { StatementBudget } from "../../src/db/budget";
import { RETENTION_BATCH, runSteps, sweepShard, type SweepMessage, type SweepStep } from "../../src/sweeps";
import { newMerchant, post, recordingQueue, uniqueKey } from "../helpers";

const DAY = 86_400_000;

/** `n` rows made by SQLite itself (a recursive count), one statement. */
const counting = (n: number) => `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${n})`;

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  return Number((await env.DB.prepare(sql).bind(...binds).first<{ n: number }>())?.n);
}

describe("retention in rounds", () => {
  it("a sweep removes every event past the window, in more than one batch, with their deliveries and attempts; newer events stay", async () => {
    const m = await newMerchant("retention-rounds");
    const now = Date.now();
    const old = now - 40 * DAY;
    const total = RETENTION_BATCH * 2 + 500;
    await env.DB.prepare(
      `${counting(total)} INSERT INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) SELECT ?1 || i, ?2, 0, 'payment_intent.created', NULL, 1, ?3 + i, '{}' FROM k`,
    )
      .bind(`evt_${m.id}_old_`, m.id, old)
      .run();
    await env.DB.prepare(`${counting(5)} INSERT INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) SELECT ?1 || i, ?2, 0, 'payment_intent.created', NULL, 1, ?3 + i, '{}' FROM k`)
      .bind(`evt_${m.id}_new_`, m.id, now - DAY)
      .run();
    // The oldest event has a delivery and an attempt: they go with it.
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, merchant_id, livemode, event_id, event_type, endpoint_id, status, attempts, retrying, next_attempt_at, created, updated) VALUES (?, ?, 0, ?, 'payment_intent.created', 'we_gone', 'succeeded', 1, 0, NULL, ?, ?)",
    )
      .bind(`wd_${m.id}_old`, m.id, `evt_${m.id}_old_1`, old, old)
      .run();
    await env.DB.prepare("INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, attempt, started, status_code, latency_ms, error, succeeded, next_retry_at) VALUES (?, ?, 'we_gone', 1, ?, 200, 5, NULL, 1, NULL)")
      .bind(`wa_${m.id}_old`, `wd_${m.id}_old`, old)
      .run();

    await sweepShard(env, now);

    expect(await count("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND created < ?", m.id, now - 30 * DAY)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM events WHERE merchant_id = ?", m.id)).toBe(5);
    expect(await count("SELECT count(*) AS n FROM webhook_deliveries WHERE merchant_id = ?", m.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM webhook_attempts WHERE id = ?", `wa_${m.id}_old`)).toBe(0);
  });

  it("a sweep removes every idempotency claim past its TTL, in more than one batch; live claims stay", async () => {
    const m = await newMerchant("claims-rounds");
    const now = Date.now();
    const expired = now - IDEMPOTENCY_BINDING_TTL_MS - 60_000;
    await env.DB.prepare(`${counting(RETENTION_BATCH + 300)} INSERT INTO idempotency_claims (merchant_id, livemode, key, route, target, fingerprint, created) SELECT ?1, 0, 'old-' || i, 'POST /v1/customers', '', 'f', ?2 + i FROM k`)
      .bind(m.id, expired - 10_000)
      .run();
    await env.DB.prepare("INSERT INTO idempotency_claims (merchant_id, livemode, key, route, target, fingerprint, created) VALUES (?, 0, 'live', 'POST /v1/customers', '', 'f', ?)").bind(m.id, now - 60_000).run();

    await sweepShard(env, now);

    expect(await count("SELECT count(*) AS n FROM idempotency_claims WHERE merchant_id = ?", m.id)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM idempotency_claims WHERE merchant_id = ? AND key = 'live'", m.id)).toBe(1);
  });

  it("a sweep removes every stored answer (Idempotency-Key of a request that touches no payment) past its 24 hours; they were never removed", async () => {
    const m = await newMerchant("answers-rounds");
    const now = Date.now();
    const expired = now - IDEMPOTENCY_TTL_MS - 60_000;
    await env.DB.prepare(
      `${counting(RETENTION_BATCH + 200)} INSERT INTO idempotency_keys (merchant_id, livemode, key, fingerprint, state, response_status, response_body, created) SELECT ?1, 0, 'old-' || i, 'f', 'done', 200, 'v1.sealed.answer', ?2 + i FROM k`,
    )
      .bind(m.id, expired - 10_000)
      .run();
    // A live one, made through the API, stays (and still replays).
    const first = await post<{ id: string }>("/v1/customers", { email: "kept@example.com" }, { ...m.opts, idempotencyKey: "live-answer" });
    expect(first.status).toBe(200);

    await sweepShard(env, now);

    expect(await count("SELECT count(*) AS n FROM idempotency_keys WHERE merchant_id = ?", m.id)).toBe(1);
    const again = await post<{ id: string }>("/v1/customers", { email: "kept@example.com" }, { ...m.opts, idempotencyKey: "live-answer" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
  });

  it("a sweep removes the PSP events logged before the retention window (they were kept for good); newer ones stay", async () => {
    const now = Date.now();
    const account = `mca_${uniqueKey("psp-retention").replace(/[^A-Za-z0-9]/g, "")}`;
    await env.DB.prepare(
      `${counting(RETENTION_BATCH + 100)} INSERT INTO psp_events (id, account_id, connector, event_id, kind, intent_id, result, received) SELECT ?1 || ':evt_old_' || i, ?1, 'stripe', 'evt_old_' || i, 'ignored', NULL, 'ignored', ?2 + i FROM k`,
    )
      .bind(account, now - 40 * DAY)
      .run();
    await env.DB.prepare("INSERT INTO psp_events (id, account_id, connector, event_id, kind, intent_id, result, received) VALUES (?, ?, 'stripe', 'evt_new', 'ignored', NULL, 'ignored', ?)").bind(`${account}:evt_new`, account, now - DAY).run();

    await sweepShard(env, now);

    expect(await count("SELECT count(*) AS n FROM psp_events WHERE account_id = ?", account)).toBe(1);
  });

  it("a retention backlog beyond the sweep's budget waits for the next minute: it is not carried on at once", async () => {
    const m = await newMerchant("retention-not-carried");
    const now = Date.now();
    await env.DB.prepare(`${counting(RETENTION_BATCH * 3)} INSERT INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) SELECT ?1 || i, ?2, 0, 'payment_intent.created', NULL, 1, ?3 + i, '{}' FROM k`)
      .bind(`evt_${m.id}_old_`, m.id, now - 40 * DAY)
      .run();
    const carried: SweepMessage[] = [];
    // Room for a batch or two of the purge, not three.
    await sweepShard({ ...env, SWEEP_QUEUE: recordingQueue<SweepMessage>(carried) }, now, new StatementBudget(8));
    expect(await count("SELECT count(*) AS n FROM events WHERE merchant_id = ?", m.id)).toBeGreaterThan(0);
    expect(carried.flatMap((c) => c.steps ?? [])).not.toContain("purged_events");
    await sweepShard(env, now);
    expect(await count("SELECT count(*) AS n FROM events WHERE merchant_id = ?", m.id)).toBe(0);
  });

  it("a step of the sweep that fails does not stop the others; the sweep says so at the end", async () => {
    const m = await newMerchant("sweep-step-fails");
    const now = Date.now();
    await env.DB.prepare("INSERT INTO idempotency_claims (merchant_id, livemode, key, route, target, fingerprint, created) VALUES (?, 0, 'old', 'POST /v1/customers', '', 'f', ?)")
      .bind(m.id, now - IDEMPOTENCY_BINDING_TTL_MS - 60_000)
      .run();
    // The event purge's statements fail (D1 refuses them); every later step still runs.
    const refusing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return () => Promise.reject(new Error("injected: D1 refused the batch"));
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await expect(sweepShard({ ...env, DB: refusing }, now)).rejects.toThrow(/step\(s\) of the cron sweep failed/);
    expect(await count("SELECT count(*) AS n FROM idempotency_claims WHERE merchant_id = ?", m.id)).toBe(0);
  });

  it("rounds stop at the first short batch, and at the cap however much is left", async () => {
    const calls: string[] = [];
    const sizes = [1000, 1000, 10, 1000];
    let i = 0;
    const steps: SweepStep[] = [
      { name: "short", cost: 1, rounds: 50, round: async () => (calls.push("short"), { done: sizes[i] ?? 0, more: (sizes[i++] ?? 0) === 1000 }) },
      { name: "capped", cost: 1, rounds: 3, round: async () => (calls.push("capped"), { done: 100, more: true }) },
    ];
    const { done, more } = await runSteps(steps, new StatementBudget(1000), []);
    expect(Object.fromEntries(done)).toEqual({ short: 2010, capped: 300 });
    // The capped step still has work due: the sweep carries it on (src/sweeps.ts).
    expect(more).toEqual(["capped"]);
    expect(calls.filter((c) => c === "short")).toHaveLength(3);
  });
});
