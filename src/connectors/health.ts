// ConnectorHealthObject: one Durable Object per (merchant, mode, connector account) that sees every
// call to that connector. It keeps a sliding window of outcomes (success rate, p50/p95 latency,
// errors) and a circuit breaker: open after repeated failures, half-open after a cooldown (one probe
// at a time), closed again on a successful probe. Declines are successes: the PSP worked.
// Each report carries the time of the outcome it reports (callers batch their successes, so a success
// may arrive after failures that came later): a success no newer than the last failure counted is
// history, and neither closes the breaker nor breaks the run of failures.
// The window's samples live in the object's SQLite storage, so its figures survive eviction and
// restarts (an object idle for a few seconds is evicted, and its memory with it).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { config } from "../env";

export type CallResult = "success" | "decline" | "provider_error" | "timeout";
export type BreakerState = "closed" | "open" | "half_open";

export interface Sample {
  at: number;
  result: CallResult;
  latencyMs: number;
}

interface Breaker {
  state: BreakerState;
  consecutiveFailures: number;
  openedAt: number | null;
  probeStartedAt: number | null;
  /** When the newest failure of the current run happened (the outcome's time, as reported). */
  lastFailureAt: number | null;
}

const CLOSED: Breaker = { state: "closed", consecutiveFailures: 0, openedAt: null, probeStartedAt: null, lastFailureAt: null };

export interface HealthSnapshot {
  state: BreakerState;
  window_seconds: number;
  calls: number;
  successes: number;
  declines: number;
  provider_errors: number;
  timeouts: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  consecutive_failures: number;
  opened_at: number | null;
  /** The window minute by minute, oldest first: for charts of success rate and latency over time. */
  series: HealthPoint[];
}

export interface HealthPoint {
  /** Unix seconds of the minute's start. */
  start: number;
  calls: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
}

const POINT_MS = 60_000;

/** Samples kept at most (the oldest go first); the window also drops anything older than it. */
const MAX_SAMPLES = 5000;
const BREAKER_KEY = "breaker";

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

export class ConnectorHealthObject extends DurableObject<Env> {
  private breaker: Breaker | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS samples (at INTEGER NOT NULL, result TEXT NOT NULL, latency_ms INTEGER NOT NULL)");
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS samples_at ON samples (at)");
  }

  private record(sample: Sample): void {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO samples (at, result, latency_ms) VALUES (?, ?, ?)", sample.at, sample.result, Math.max(0, Math.round(sample.latencyMs)));
    sql.exec("DELETE FROM samples WHERE at < ?", sample.at - config(this.env).healthWindowMs);
    sql.exec("DELETE FROM samples WHERE rowid <= (SELECT MAX(rowid) FROM samples) - ?", MAX_SAMPLES);
  }

  private recent(now: number): Sample[] {
    const since = now - config(this.env).healthWindowMs;
    return this.ctx.storage.sql
      .exec<{ at: number; result: string; latency_ms: number }>("SELECT at, result, latency_ms FROM samples WHERE at >= ? ORDER BY at", since)
      .toArray()
      .map((r) => ({ at: r.at, result: r.result as CallResult, latencyMs: r.latency_ms }));
  }

  private async state(): Promise<Breaker> {
    if (this.breaker) return this.breaker;
    const stored = await this.ctx.storage.get<Omit<Breaker, "lastFailureAt"> & { lastFailureAt?: number | null }>(BREAKER_KEY);
    // A breaker stored before lastFailureAt was kept: its opening is the last failure it knows of.
    this.breaker = stored ? { ...stored, lastFailureAt: stored.lastFailureAt ?? stored.openedAt } : CLOSED;
    return this.breaker;
  }

  private async save(breaker: Breaker): Promise<void> {
    this.breaker = breaker;
    await this.ctx.storage.put(BREAKER_KEY, breaker);
  }

  /** May a call go to this connector now? An open breaker says no until its cooldown ends, then lets one probe through. */
  async admit(now = Date.now()): Promise<{ allowed: boolean; state: BreakerState }> {
    const cfg = config(this.env);
    const b = await this.state();
    if (b.state === "closed") return { allowed: true, state: "closed" };
    if (b.state === "open" && b.openedAt !== null && now - b.openedAt >= cfg.breakerCooldownMs) {
      await this.save({ ...b, state: "half_open", probeStartedAt: now });
      return { allowed: true, state: "half_open" };
    }
    if (b.state === "half_open" && (b.probeStartedAt === null || now - b.probeStartedAt > cfg.breakerCooldownMs)) {
      // The last probe never reported back: let another one through.
      await this.save({ ...b, probeStartedAt: now });
      return { allowed: true, state: "half_open" };
    }
    return { allowed: false, state: b.state };
  }

  /** Several calls at once (the intent objects batch their successes). */
  async reportMany(samples: Sample[]): Promise<BreakerState> {
    let state: BreakerState = (await this.state()).state;
    for (const s of samples) state = await this.report(s.result, s.latencyMs, s.at);
    return state;
  }

  /** One call's outcome; `at` is when it happened (a batched success arrives later than that). */
  async report(result: CallResult, latencyMs: number, at = Date.now()): Promise<BreakerState> {
    const cfg = config(this.env);
    this.record({ at, result, latencyMs });
    const b = await this.state();
    const failed = result === "provider_error" || result === "timeout";
    if (!failed) {
      // A success from before the last failure (ties included: their order is unknown) says nothing of
      // the connector now: it leaves an open breaker open, and the run of failures unbroken.
      if (b.lastFailureAt !== null && at <= b.lastFailureAt) return b.state;
      if (b.state !== "closed" || b.consecutiveFailures !== 0) await this.save(CLOSED);
      return "closed";
    }
    const failures = b.consecutiveFailures + 1;
    const lastFailureAt = Math.max(at, b.lastFailureAt ?? at);
    if (b.state === "half_open" || failures >= cfg.breakerFailureThreshold) {
      await this.save({ state: "open", consecutiveFailures: failures, openedAt: lastFailureAt, probeStartedAt: null, lastFailureAt });
      return "open";
    }
    await this.save({ ...b, consecutiveFailures: failures, lastFailureAt });
    return b.state;
  }

  async snapshot(now = Date.now()): Promise<HealthSnapshot> {
    const cfg = config(this.env);
    const b = await this.state();
    const recent = this.recent(now);
    const count = (r: CallResult) => recent.filter((s) => s.result === r).length;
    const latencies = recent.map((s) => s.latencyMs).sort((x, y) => x - y);
    const ok = count("success") + count("decline");
    const state = b.state === "open" && b.openedAt !== null && now - b.openedAt >= cfg.breakerCooldownMs ? "half_open" : b.state;
    return {
      state,
      window_seconds: Math.round(cfg.healthWindowMs / 1000),
      calls: recent.length,
      successes: count("success"),
      declines: count("decline"),
      provider_errors: count("provider_error"),
      timeouts: count("timeout"),
      success_rate: recent.length ? Math.round((ok / recent.length) * 10_000) / 10_000 : null,
      p50_latency_ms: percentile(latencies, 50),
      p95_latency_ms: percentile(latencies, 95),
      consecutive_failures: b.consecutiveFailures,
      opened_at: b.openedAt === null ? null : Math.floor(b.openedAt / 1000),
      series: series(recent, now, cfg.healthWindowMs),
    };
  }
}

/** Per-minute points over the window (empty minutes included, with null rates). */
function series(samples: Sample[], now: number, windowMs: number): HealthPoint[] {
  const last = Math.floor(now / POINT_MS) * POINT_MS;
  const count = Math.max(1, Math.ceil(windowMs / POINT_MS));
  const points: HealthPoint[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const start = last - i * POINT_MS;
    const inMinute = samples.filter((s) => s.at >= start && s.at < start + POINT_MS);
    const ok = inMinute.filter((s) => s.result === "success" || s.result === "decline").length;
    const latencies = inMinute.map((s) => s.latencyMs).sort((x, y) => x - y);
    points.push({
      start: Math.floor(start / 1000),
      calls: inMinute.length,
      success_rate: inMinute.length ? Math.round((ok / inMinute.length) * 10_000) / 10_000 : null,
      p50_latency_ms: percentile(latencies, 50),
    });
  }
  return points;
}
