// psp_health's window survives its object's eviction and restarts: the samples live in the object's
// storage, not in memory. A fresh instance over the same storage (what a restart or another
// isolate gets) shows the same figures; samples older than the window drop out.
// The breaker goes by the time of each outcome, so a late batched success cannot close it.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConnectorHealthObject } from "../../src/connectors/health";

const WINDOW_MS = 300_000;

describe("ConnectorHealthObject keeps its window in storage", () => {
  it("a new instance over the same storage reports the same calls, success rate and latency", async () => {
    const stub = env.CONNECTOR_HEALTH.get(env.CONNECTOR_HEALTH.idFromName(`health-persist-${crypto.randomUUID()}`));
    const now = Date.now();
    await stub.report("success", 100, now - 60_000);
    await stub.report("decline", 200, now - 30_000);
    await stub.reportMany([
      { at: now - 20_000, result: "provider_error", latencyMs: 300 },
      { at: now - 10_000, result: "success", latencyMs: 400 },
    ]);
    const before = await stub.snapshot(now);
    expect(before).toMatchObject({ calls: 4, successes: 2, declines: 1, provider_errors: 1, success_rate: 0.75 });

    await runInDurableObject(stub, async (_instance, state) => {
      // A restarted object: nothing in memory, the same storage.
      const restarted = new ConnectorHealthObject(state, env);
      const after = await restarted.snapshot(now);
      expect(after).toEqual(before);
      expect(after.p95_latency_ms).toBe(400);
    });
  });

  it("drops samples older than the window", async () => {
    const stub = env.CONNECTOR_HEALTH.get(env.CONNECTOR_HEALTH.idFromName(`health-window-${crypto.randomUUID()}`));
    const now = Date.now();
    await stub.report("success", 50, now - WINDOW_MS - 60_000);
    await stub.report("timeout", 60, now - 1_000);
    expect(await stub.snapshot(now)).toMatchObject({ calls: 1, timeouts: 1, window_seconds: WINDOW_MS / 1000 });
    await runInDurableObject(stub, async (_instance, state) => {
      const rows = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM samples").one();
      expect(rows.n).toBe(1);
    });
  });

  it("gives the window minute by minute, for charts over time", async () => {
    const stub = env.CONNECTOR_HEALTH.get(env.CONNECTOR_HEALTH.idFromName(`health-series-${crypto.randomUUID()}`));
    const now = Date.UTC(2026, 0, 1, 12, 4, 30);
    await stub.report("success", 100, now - 4 * 60_000);
    await stub.report("provider_error", 900, now - 4 * 60_000 + 1_000);
    await stub.report("success", 200, now - 10_000);
    const snapshot = await stub.snapshot(now);
    expect(snapshot.series).toHaveLength(5);
    expect(snapshot.series.map((p) => p.calls)).toEqual([2, 0, 0, 0, 1]);
    expect(snapshot.series[0]).toMatchObject({ start: Math.floor(Date.UTC(2026, 0, 1, 12, 0) / 1000), success_rate: 0.5 });
    expect(snapshot.series[1]?.success_rate).toBeNull();
    expect(snapshot.series[4]).toMatchObject({ success_rate: 1, p50_latency_ms: 200 });
  });
});

// Callers batch their successes (src/connectors/health-client.ts): a success can reach the object
// after failures that happened later. Each report carries its outcome's time; the clock is injected.
// The suite's breaker opens after 3 consecutive failures and cools down for 1 s (vitest.config.ts).
describe("ConnectorHealthObject's breaker goes by when outcomes happened, not when they arrive", () => {
  const breaker = () => env.CONNECTOR_HEALTH.get(env.CONNECTOR_HEALTH.idFromName(`health-stale-${crypto.randomUUID()}`));
  const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

  it("a batched success older than the failures that opened the breaker leaves it open", async () => {
    const stub = breaker();
    expect(await stub.report("provider_error", 100, t0 + 10)).toBe("closed");
    expect(await stub.report("timeout", 100, t0 + 20)).toBe("closed");
    expect(await stub.report("provider_error", 100, t0 + 30)).toBe("open");
    // The success was gathered at t0, before the failures, and delivered now.
    expect(await stub.reportMany([{ at: t0, result: "success", latencyMs: 50 }])).toBe("open");
    expect(await stub.snapshot(t0 + 40)).toMatchObject({ state: "open", consecutive_failures: 3, successes: 1, provider_errors: 2, timeouts: 1 });
    expect(await stub.admit(t0 + 40)).toEqual({ allowed: false, state: "open" });
    // After the cooldown one probe goes through; its success, newer than the failures, closes the breaker.
    expect(await stub.admit(t0 + 30 + 1_000)).toEqual({ allowed: true, state: "half_open" });
    expect(await stub.report("success", 80, t0 + 1_100)).toBe("closed");
    expect(await stub.admit(t0 + 1_110)).toEqual({ allowed: true, state: "closed" });
  });

  it("a stale success does not break a run of failures, nor does a success at the same time as a failure", async () => {
    const stub = breaker();
    await stub.report("provider_error", 100, t0 + 10);
    await stub.report("provider_error", 100, t0 + 20);
    expect(await stub.reportMany([{ at: t0, result: "success", latencyMs: 50 }, { at: t0 + 20, result: "decline", latencyMs: 50 }])).toBe("closed");
    expect((await stub.snapshot(t0 + 25)).consecutive_failures).toBe(2);
    expect(await stub.report("timeout", 100, t0 + 30)).toBe("open");
  });

  it("a success after the last failure still ends the run", async () => {
    const stub = breaker();
    await stub.report("provider_error", 100, t0 + 10);
    await stub.report("provider_error", 100, t0 + 20);
    expect(await stub.reportMany([{ at: t0 + 21, result: "success", latencyMs: 50 }])).toBe("closed");
    expect((await stub.snapshot(t0 + 25)).consecutive_failures).toBe(0);
    expect(await stub.report("provider_error", 100, t0 + 30)).toBe("closed");
  });
});
