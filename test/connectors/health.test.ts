// psp_health's window survives its object's eviction and restarts: the samples live in the object's
// storage, not in memory. A fresh instance over the same storage (what a restart or another
// isolate gets) shows the same figures; samples older than the window drop out.
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
