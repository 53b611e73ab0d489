#!/usr/bin/env node
// `npm run bench`: measures the gateway's main flows against a bare baseline Worker with the same
// kinds of bindings (bench/baseline: a D1 database, a SQLite-backed Durable Object and two queues),
// both under `wrangler dev` at warn-level logging, on free loopback ports, in a fresh temporary state
// dir. The write flows run in BENCH_ROUNDS rounds (default 3), interleaved: each round starts both
// servers fresh, measures the baseline, then the gateway (B G B G B G); each ratio is taken within its
// round and reported as the median and the spread (min–max) of the rounds, so one noisy run cannot
// decide. Prints the tables, the ratios against the targets in DESIGN.md "Performance", the machine
// and the Worker bundle size; writes bench/results/latest.json.
// Then the webhook run, on fresh servers: first the bare queue floor (the baseline's POST /floor/event,
// BENCH_WEBHOOK_EVENTS of them, BENCH_WEBHOOK_CONCURRENCY in flight: a Durable Object + D1 insert + a message
// through two queues with the gateway's batch settings to a loopback receiver), then the gateway: a
// loopback receiver in this process is registered as demo merchant B's endpoint for
// payment_intent.created, merchant B creates BENCH_WEBHOOK_EVENTS intents (BENCH_WEBHOOK_CONCURRENCY in
// flight), and each run lasts until each event has arrived (events/s, arrival - created_ms
// percentiles, sampled signature checks, duplicates); the gateway's figures are compared to the floor's.
//
// Env: BENCH_DURATION (seconds per flow, default 10), BENCH_CONNECTIONS (default 50), BENCH_ROUNDS
// (default 3), BENCH_WEBHOOK_EVENTS (default 2000), BENCH_WEBHOOK_CONCURRENCY (creates in flight in the
// webhook run, default BENCH_CONNECTIONS: at 50 the local queue runner's timers wait until the load
// ends, see docs/performance.md "Webhooks"), BENCH_WEBHOOK_TIMEOUT (seconds to wait for the
// deliveries after the last create answer, default 180), BENCH_WEBHOOK_RATE (the paced webhook run:
// both floors and the gateway produce at this many events a second, open loop, so the fan-outs are
// compared at the same load rather than through their write paths; by default half the slowest
// producer's rate in the saturating run before it, so that every side can sustain it; 0 skips it),
// BENCH_WEBHOOK_PACED_EVENTS (events of the paced run, default 1000), BENCH_ONLY=webhooks (skip the
// write rounds and the bundle).
// Exit code: 0 even when a target is missed (this is a report, not a test); non-zero when a server
// fails to start or the run breaks.
import autocannon from "autocannon";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Webhook } from "standardwebhooks";
import { baseEnv, freePort, installExitHandlers, killAllSync, percentile, removeTmp, root, ServerStartError, sleep, startServer, stopGroup, tempDir } from "./lib.mjs";

// `npm run bench -- scale [N]`: the read model at scale (bench/scale.mjs), not the flows below.
if (process.argv[2] === "scale") {
  await import("./scale.mjs");
  process.exit(0);
}

installExitHandlers();
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
const baselineConfig = path.join(root, "bench", "baseline", "wrangler.toml");
const resultsFile = path.join(root, "bench", "results", "latest.json");

const DURATION = positiveNumber(process.env.BENCH_DURATION, 10, "BENCH_DURATION");
const CONNECTIONS = Math.floor(positiveNumber(process.env.BENCH_CONNECTIONS, 50, "BENCH_CONNECTIONS"));
const READY_TIMEOUT_MS = 90_000;
const API_KEY = "sk_test_merchant_a";
const FREE_PLAN_LIMIT = 3 * 1024 * 1024; // bytes, compressed
const TARGETS = { createRps: 0.9, createConfirmRps: 0.7, p99Factor: 3 };
// The webhook run against the bare queue floor measured in the same run (ISSUE 15 item 4).
const WEBHOOK_TARGETS = { eventsPerSecRatio: 0.8, p99Factor: 2, eventsPerSec: 300, p99Ms: 2000 };
const ROUNDS = Math.floor(positiveNumber(process.env.BENCH_ROUNDS, 3, "BENCH_ROUNDS"));
// Merchant B: merchant A's thousands of intents from the flows above have no endpoint.
const WEBHOOK_API_KEY = "sk_test_merchant_b";
const WEBHOOK_EVENTS = Math.floor(positiveNumber(process.env.BENCH_WEBHOOK_EVENTS, 2000, "BENCH_WEBHOOK_EVENTS"));
const WEBHOOK_TIMEOUT_S = positiveNumber(process.env.BENCH_WEBHOOK_TIMEOUT, 180, "BENCH_WEBHOOK_TIMEOUT");
const WEBHOOK_CONCURRENCY = Math.floor(positiveNumber(process.env.BENCH_WEBHOOK_CONCURRENCY, CONNECTIONS, "BENCH_WEBHOOK_CONCURRENCY"));
// The paced webhook run: the same producers at a fixed rate both sides sustain (open loop), so the
// figures compare the fan-out at equal load rather than the write paths (0: no paced run).
// null: half the slowest producer's req/s in the saturating webhook run (WEBHOOK_RATE_SHARE).
const WEBHOOK_RATE = nonNegativeNumber(process.env.BENCH_WEBHOOK_RATE, null, "BENCH_WEBHOOK_RATE");
const WEBHOOK_RATE_SHARE = 0.5;
const WEBHOOK_PACED_EVENTS = Math.floor(positiveNumber(process.env.BENCH_WEBHOOK_PACED_EVENTS, 1000, "BENCH_WEBHOOK_PACED_EVENTS"));
// Requests in flight at most in the paced run: enough that a slow answer never holds the pace back.
const WEBHOOK_PACED_CONCURRENCY = 100;
// BENCH_ONLY=webhooks skips the write rounds (the webhook runs alone, for working on the fan-out).
const ONLY = process.env.BENCH_ONLY ?? "";
if (ONLY && ONLY !== "webhooks") throw new Error(`BENCH_ONLY: only "webhooks" is known, not ${JSON.stringify(ONLY)}`);
const WEBHOOK_VERIFY_SAMPLE = 20;
const WEBHOOK_GRACE_MS = 3000; // after the last event arrived, to catch late duplicates (not in the wall time)

function nonNegativeNumber(raw, fallback, name) {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, not ${JSON.stringify(raw)}`);
  return n;
}

// Sends `count` requests through `send`: `concurrency` in flight (closed loop), or, with a `rate`
// (requests/s), the i-th request due at i/rate s after the first (open loop, `concurrency` at most in
// flight, so a server that falls behind the pace is not buried). Returns when every one has answered.
async function drive({ count, concurrency, rate }, send) {
  let next = 0;
  const firstRequestAt = Date.now();
  const worker = async () => {
    while (next < count) {
      const slot = next++;
      if (rate > 0) {
        const wait = firstRequestAt + (slot * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await send();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { firstRequestAt, doneAt: Date.now() };
}

function positiveNumber(raw, fallback, name) {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench: ${name}=${raw} must be a positive number`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Peak RSS of a process group (Linux /proc; null elsewhere).

// Returns { total, processes: [{ pid, name, rssBytes }] } or null without /proc.
function groupRss(pgid) {
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const processes = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] = state (field 3)
      if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (m) processes.push({ pid: Number(entry), name, rssBytes: Number(m[1]) * 1024 });
    } catch {
      // process went away
    }
  }
  processes.sort((a, b) => b.rssBytes - a.rssBytes);
  return { total: processes.reduce((acc, p) => acc + p.rssBytes, 0), processes };
}

function rssSampler(pgid) {
  let peak = groupRss(pgid);
  if (peak === null) return { stop: () => null };
  const sample = () => {
    const now = groupRss(pgid);
    if (now !== null && now.total > peak.total) peak = now;
  };
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load.

const MAX_SAMPLES = 5;

function truncate(s, n = 400) {
  s = String(s ?? "");
  return s.length > n ? s.slice(0, n) + "…" : s;
}

async function warmUp(server, flow, count = Math.min(CONNECTIONS, 50)) {
  // Sequential first (the first request evaluates the modules), then one concurrent request per connection.
  const samples = [];
  const one = async () => {
    const res = await fetch(server.origin + flow.path, { method: flow.method, headers: flow.headers, body: flow.body });
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) samples.push({ status: res.status, body: truncate(text) });
  };
  for (let i = 0; i < 2; i++) await one();
  await Promise.all(Array.from({ length: count }, one));
  return samples;
}

function runAutocannon(server, flow) {
  const non2xxSamples = [];
  const errorSamples = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: server.origin + flow.path,
        method: flow.method,
        headers: flow.headers,
        body: flow.body,
        connections: CONNECTIONS,
        duration: DURATION,
        requests: [
          {
            method: flow.method,
            path: flow.path,
            headers: flow.headers,
            body: flow.body,
            onResponse: (status, body) => {
              if ((status < 200 || status >= 300) && non2xxSamples.length < MAX_SAMPLES) non2xxSamples.push({ status, body: truncate(body) });
            },
          },
        ],
      },
      (err, result) => {
        if (err) reject(err);
        else resolve({ result, non2xxSamples, errorSamples });
      },
    );
    instance.on("reqError", (err) => {
      if (errorSamples.length < MAX_SAMPLES) errorSamples.push(truncate(err?.message ?? err, 200));
    });
  });
}

async function measure(server, flow) {
  const warmupNon2xx = await warmUp(server, flow);
  const watchedBefore = server.watchedMtime?.();
  const sampler = rssSampler(server.pgid);
  const { result, non2xxSamples, errorSamples } = await runAutocannon(server, flow);
  const peakRss = sampler.stop();
  // wrangler dev rebuilds and reloads the Worker when its sources change (others edit src/ meanwhile).
  const sourcesChanged = watchedBefore !== undefined && server.watchedMtime() !== watchedBefore;
  await sleep(1000); // let the server settle before the next flow
  return {
    flow: flow.name,
    server: server.name,
    method: flow.method,
    path: flow.path,
    connections: CONNECTIONS,
    durationSec: result.duration,
    reqPerSec: result.requests.average,
    reqPerSecStddev: result.requests.stddev,
    totalRequests: result.requests.total,
    latencyMs: { avg: result.latency.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xxSamples,
    errorSamples,
    warmupNon2xx,
    sourcesChanged,
    peakRssBytes: peakRss?.total ?? null,
    peakRssProcesses: peakRss?.processes ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery: a loopback receiver registered for merchant B's payment_intent.created, then
// WEBHOOK_EVENTS intents created for merchant B; measures until every event has arrived once.

// A receiver that answers 200 at once and keeps, per POST, the arrival time, raw body, parsed body
// and signature headers; `first` maps each event id to its first delivery.
function startReceiver() {
  const deliveries = [];
  const first = new Map();
  const stray = []; // requests that are not POST /hook, or bodies that are not JSON events
  const server = http.createServer((req, res) => {
    const at = Date.now();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      if (req.method !== "POST" || req.url !== "/hook") {
        if (stray.length < MAX_SAMPLES) stray.push(`${req.method} ${req.url}`);
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        // kept as a stray below
      }
      const headers = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((h) => [h, String(req.headers[h] ?? "")]));
      const delivery = { at, raw, body, headers };
      deliveries.push(delivery);
      if (typeof body?.id !== "string") {
        if (stray.length < MAX_SAMPLES) stray.push(`POST /hook with a body that is not an event: ${truncate(raw, 200)}`);
        return;
      }
      if (!first.has(body.id)) first.set(body.id, delivery);
    });
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        deliveries,
        first,
        stray,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}


async function requestJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the text is kept
  }
  return { status: res.status, ok: res.ok, body, text };
}

const distribution = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: percentile(sorted, 100), samples: sorted.length };
};

async function deliveryHops(server, auth, endpointId, first) {
  const toFanOut = [];
  const toAttempt = [];
  const toArrival = [];
  let startingAfter = null;
  for (let page = 0; page < 200; page++) {
    const qs = `limit=100${startingAfter ? `&starting_after=${startingAfter}` : ""}`;
    const r = await requestJson(`${server.origin}/v1/webhook_endpoints/${endpointId}/deliveries?${qs}`, { headers: auth });
    if (!r.ok || !Array.isArray(r.body?.data)) return { error: `GET /v1/webhook_endpoints/${endpointId}/deliveries answered ${r.status}: ${truncate(r.text, 1000)}` };
    for (const d of r.body.data) {
      const arrival = first.get(d.event);
      const attempt = d.attempts?.find((a) => a.attempt === 1);
      if (!arrival || !attempt) continue;
      const createdMs = arrival.body.created_ms;
      const fannedOutMs = d.created_ms ?? d.created * 1000;
      toFanOut.push(fannedOutMs - createdMs);
      toAttempt.push(attempt.started_ms - fannedOutMs);
      toArrival.push(arrival.at - attempt.started_ms);
    }
    if (!r.body.has_more || r.body.data.length === 0) break;
    startingAfter = r.body.data[r.body.data.length - 1].id;
  }
  return { eventToFanOutMs: distribution(toFanOut), fanOutToAttemptMs: distribution(toAttempt), attemptToArrivalMs: distribution(toArrival) };
}

async function measureWebhooks(server, load) {
  const auth = { authorization: `Bearer ${WEBHOOK_API_KEY}` };
  const form = { ...auth, "content-type": "application/x-www-form-urlencoded" };
  const out = {
    merchantKey: WEBHOOK_API_KEY,
    eventType: "payment_intent.created",
    eventsRequested: load.count,
    createConcurrency: load.concurrency,
    rate: load.rate,
    timeoutSec: WEBHOOK_TIMEOUT_S,
    error: null,
  };
  const receiver = await startReceiver();
  const watchedBefore = server.watchedMtime();
  const sampler = rssSampler(server.pgid);
  try {
    out.receiverUrl = `http://127.0.0.1:${receiver.port}/hook`;
    // 1. The endpoint.
    const reg = await requestJson(`${server.origin}/v1/webhook_endpoints`, {
      method: "POST",
      headers: form,
      body: new URLSearchParams({ url: out.receiverUrl, "enabled_events[0]": out.eventType }).toString(),
    });
    const secret = reg.body?.secret;
    if (!reg.ok || typeof secret !== "string" || !secret.startsWith("whsec_")) {
      out.error = `POST /v1/webhook_endpoints answered ${reg.status} without a whsec_ secret`;
      out.registration = { status: reg.status, body: truncate(reg.text, 2000) };
      return out;
    }
    out.endpointId = reg.body.id;

    // 2. The intents, load.concurrency in flight (or load.rate a second).
    const intentIds = new Set();
    const creates = { ok: 0, non2xx: 0, errors: 0, statusCodes: {}, non2xxSamples: [], errorSamples: [] };
    const { firstRequestAt, doneAt: createsDoneAt } = await drive(load, async () => {
      try {
        const r = await requestJson(`${server.origin}/v1/payment_intents`, { method: "POST", headers: form, body: "amount=1000&currency=usd" });
        creates.statusCodes[r.status] = (creates.statusCodes[r.status] ?? 0) + 1;
        if (r.ok && typeof r.body?.id === "string") {
          creates.ok++;
          intentIds.add(r.body.id);
        } else {
          creates.non2xx++;
          if (creates.non2xxSamples.length < MAX_SAMPLES) creates.non2xxSamples.push({ status: r.status, body: truncate(r.text) });
        }
      } catch (err) {
        creates.errors++;
        if (creates.errorSamples.length < MAX_SAMPLES) creates.errorSamples.push(truncate(err?.message ?? err, 200));
      }
    });
    creates.durationMs = createsDoneAt - firstRequestAt;
    creates.reqPerSec = creates.ok / (creates.durationMs / 1000);
    out.creates = creates;

    // 3. Every created intent's event, once; then a short grace period to catch late duplicates.
    const expected = creates.ok;
    out.eventsExpected = expected;
    const deadline = createsDoneAt + WEBHOOK_TIMEOUT_S * 1000;
    let lastProgress = Date.now();
    while (receiver.first.size < expected && Date.now() < deadline) {
      await sleep(100);
      if (Date.now() - lastProgress >= 15_000) {
        console.log(`bench: webhooks: ${fmtInt(receiver.first.size)} of ${fmtInt(expected)} events delivered…`);
        lastProgress = Date.now();
      }
    }
    out.timedOut = receiver.first.size < expected;
    await sleep(WEBHOOK_GRACE_MS);

    // 4. Figures.
    const firsts = [...receiver.first.values()];
    const ofOurs = firsts.filter((d) => d.body?.type === out.eventType && intentIds.has(d.body?.data?.object?.id));
    const lastAt = firsts.reduce((acc, d) => Math.max(acc, d.at), 0);
    const lags = ofOurs.map((d) => d.at - d.body.created_ms).filter(Number.isFinite).sort((a, b) => a - b);
    const wallMs = firsts.length ? lastAt - firstRequestAt : null;
    const duplicates = new Map();
    for (const d of receiver.deliveries) if (typeof d.body?.id === "string" && receiver.first.get(d.body.id) !== d) duplicates.set(d.body.id, (duplicates.get(d.body.id) ?? 1) + 1);
    const intentsSeen = new Set(ofOurs.map((d) => d.body.data.object.id));
    const firstAt = firsts.reduce((acc, d) => Math.min(acc, d.at), Infinity);
    Object.assign(out, {
      deliveriesReceived: receiver.deliveries.length,
      eventsDelivered: receiver.first.size,
      eventsDeliveredForCreatedIntents: ofOurs.length,
      intentsWithoutEvent: [...intentIds].filter((id) => !intentsSeen.has(id)).length,
      unexpectedEvents: firsts.length - ofOurs.length,
      duplicateEvents: duplicates.size,
      duplicateDeliveries: [...duplicates.values()].reduce((acc, n) => acc + n - 1, 0),
      duplicateSamples: [...duplicates.entries()].slice(0, MAX_SAMPLES).map(([id, n]) => `${id} x${n}`),
      strayRequests: receiver.stray,
      wallMs,
      drainMs: firsts.length ? lastAt - createsDoneAt : null,
      firstDeliveryMs: firsts.length ? firstAt - firstRequestAt : null,
      deliveredWhileCreating: firsts.filter((d) => d.at <= createsDoneAt).length,
      eventsPerSec: wallMs ? receiver.first.size / (wallMs / 1000) : null,
      latencyMs: {
        min: percentile(lags, 0),
        avg: lags.length ? Math.round(lags.reduce((a, b) => a + b, 0) / lags.length) : null,
        p50: percentile(lags, 50),
        p90: percentile(lags, 90),
        p99: percentile(lags, 99),
        max: lags.length ? lags[lags.length - 1] : null,
        samples: lags.length,
      },
    });

    // 5. Signatures of a sample spread over the arrival order, and one tampered body that must fail.
    const wh = new Webhook(secret);
    const step = Math.max(1, Math.floor(receiver.deliveries.length / WEBHOOK_VERIFY_SAMPLE));
    const sample = receiver.deliveries.filter((_, i) => i % step === 0).slice(0, WEBHOOK_VERIFY_SAMPLE);
    const failures = [];
    let verified = 0;
    for (const d of sample) {
      try {
        wh.verify(d.raw, d.headers);
        if (d.headers["webhook-id"] !== d.body?.id) throw new Error(`webhook-id ${d.headers["webhook-id"]} is not the event id ${d.body?.id}`);
        verified++;
      } catch (err) {
        if (failures.length < MAX_SAMPLES) failures.push(`${d.body?.id ?? "?"}: ${truncate(err?.message ?? err, 200)}`);
      }
    }
    let tamperedRejected = null;
    if (sample[0]) {
      try {
        wh.verify(sample[0].raw + " ", sample[0].headers);
        tamperedRejected = false;
      } catch {
        tamperedRejected = true;
      }
    }
    out.signatures = { sampled: sample.length, verified, failures, tamperedRejected };

    // 6. What the gateway itself recorded for the endpoint.
    const stats = await requestJson(`${server.origin}/v1/webhook_endpoints/${out.endpointId}`, { headers: auth });
    out.gatewayStats = stats.ok ? (stats.body?.delivery_stats ?? null) : { status: stats.status, body: truncate(stats.text, 1000) };

    // 7. Where the time went, from the gateway's delivery records: event created -> delivery created
    //    by the fan-out (whole seconds only) -> first attempt started -> arrival here.
    out.hops = await deliveryHops(server, auth, out.endpointId, receiver.first);
    return out;
  } catch (err) {
    out.error = `webhook run failed: ${truncate(err?.stack ?? err, 2000)}`;
    return out;
  } finally {
    const peak = sampler.stop();
    out.peakRssBytes = peak?.total ?? null;
    out.sourcesChanged = server.watchedMtime() !== watchedBefore;
    await receiver.close();
  }
}

function describeLoad({ concurrency, rate }) {
  return rate > 0 ? `paced at ${fmtNum(rate)} a second (up to ${concurrency} in flight)` : `${concurrency} in flight`;
}

function printWebhooks(w) {
  console.log(
    `\nwebhook delivery${w.sourcesChanged ? " *" : ""} (merchant B, ${w.eventType} to a loopback receiver; ` +
      `${fmtInt(w.eventsRequested)} intents created, ${describeLoad({ concurrency: w.createConcurrency, rate: w.rate })}; local queues, the batch settings of wrangler.toml)`,
  );
  if (w.registration) {
    console.log(`  ${w.error}: ${w.registration.body}`);
    return;
  }
  if (w.creates) {
    const c = w.creates;
    console.log(
      `  intents created: ${fmtInt(c.ok)} of ${fmtInt(w.eventsRequested)} in ${fmtNum(c.durationMs / 1000)} s (${fmtNum(c.reqPerSec)} req/s), ` +
        `non-2xx ${fmtInt(c.non2xx)}, errors ${fmtInt(c.errors)}`,
    );
  }
  if (w.eventsDelivered !== undefined) {
    const l = w.latencyMs;
    console.log(
      `  events delivered: ${fmtInt(w.eventsDelivered)} of ${fmtInt(w.eventsExpected)}` +
        (w.timedOut ? ` (TIMED OUT after ${w.timeoutSec} s)` : "") +
        `; ${fmtInt(w.deliveriesReceived)} POSTs, duplicates ${fmtInt(w.duplicateDeliveries)}, unexpected events ${fmtInt(w.unexpectedEvents)}`,
    );
    const sec = (ms) => (ms == null ? "-" : `${fmtNum(ms / 1000, 2)} s`);
    console.log(`  wall time, first create request to last delivery: ${sec(w.wallMs)} (${sec(w.drainMs)} after the last create answer)`);
    console.log(`  events delivered per second: ${fmtNum(w.eventsPerSec)}`);
    console.log(`  first delivery ${sec(w.firstDeliveryMs)} after the first create request; ${fmtInt(w.deliveredWhileCreating)} delivered before the last create answer`);
    console.log(`  arrival - created_ms: p50 ${fmtMs(l.p50)}, p90 ${fmtMs(l.p90)}, p99 ${fmtMs(l.p99)}, max ${fmtMs(l.max)} (min ${fmtMs(l.min)}, avg ${fmtMs(l.avg)})`);
  }
  if (w.signatures) {
    const s = w.signatures;
    console.log(
      `  signatures (standardwebhooks): ${s.verified} of ${s.sampled} sampled deliveries verified` +
        (s.tamperedRejected === null ? "" : `; a tampered body ${s.tamperedRejected ? "is rejected" : "VERIFIES (wrong)"}`),
    );
  }
  if (w.gatewayStats && "attempts" in w.gatewayStats) {
    const g = w.gatewayStats;
    console.log(`  the gateway's delivery_stats for the endpoint: ${fmtInt(g.attempts)} attempts, ${fmtInt(g.succeeded)} succeeded, ${fmtInt(g.failed)} failed`);
  }
  if (w.hops && !w.hops.error) {
    const h = (d) => `p50 ${fmtMs(d.p50)}, p99 ${fmtMs(d.p99)}, max ${fmtMs(d.max)}`;
    console.log("  per hop, from the gateway's delivery records:");
    console.log(`    event created -> fanned out (intent outbox, events queue): ${h(w.hops.eventToFanOutMs)}`);
    console.log(`    fanned out -> attempt started (webhooks queue): ${h(w.hops.fanOutToAttemptMs)}`);
    console.log(`    attempt started -> arrival here: ${h(w.hops.attemptToArrivalMs)}`);
  }
  if (w.peakRssBytes != null) console.log(`  peak RSS of the gateway's process group meanwhile: ${fmtBytes(w.peakRssBytes)}`);
  if (w.error) console.log(`  ${w.error}`);
}

function webhookNotes(w) {
  const notes = [];
  const c = w.creates;
  if (c?.non2xxSamples.length) notes.push(`webhook run: ${c.non2xx} non-2xx creating intents ${JSON.stringify(c.statusCodes)}; samples:\n    ${c.non2xxSamples.map((s) => `${s.status} ${s.body}`).join("\n    ")}`);
  if (c?.errorSamples.length) notes.push(`webhook run: ${c.errors} errors creating intents; samples: ${c.errorSamples.join(" | ")}`);
  if (w.timedOut) notes.push(`webhook run: only ${w.eventsDelivered} of ${w.eventsExpected} events arrived within ${w.timeoutSec} s of the last create answer; ${w.intentsWithoutEvent} created intents had no event`);
  if (w.deliveredWhileCreating === 0 && w.eventsDelivered > 0 && c?.durationMs > 3000)
    notes.push(
      `webhook run: no event arrived while the intents were being created (${fmtNum(c.durationMs / 1000)} s); the first came ${fmtNum(w.firstDeliveryMs / 1000, 2)} s ` +
        "after the first create request, so the arrival - created_ms figures are mostly time spent waiting for the create load to stop",
    );
  if (w.duplicateSamples?.length) notes.push(`webhook run: ${w.duplicateEvents} events delivered more than once: ${w.duplicateSamples.join(", ")}`);
  if (w.unexpectedEvents) notes.push(`webhook run: ${w.unexpectedEvents} delivered events were not ${w.eventType} of an intent this run created`);
  if (w.strayRequests?.length) notes.push(`webhook run: unexpected requests at the receiver: ${w.strayRequests.join(" | ")}`);
  if (w.signatures?.failures.length) notes.push(`webhook run: signature failures: ${w.signatures.failures.join(" | ")}`);
  if (w.hops?.error) notes.push(`webhook run: ${w.hops.error}`);
  if (w.gatewayStats && !("attempts" in w.gatewayStats)) notes.push(`webhook run: GET /v1/webhook_endpoints/${w.endpointId} answered ${w.gatewayStats.status}: ${w.gatewayStats.body}`);
  return notes;
}

// ---------------------------------------------------------------------------------------------
// The queue floor: the baseline's POST /floor/event (Durable Object + D1 insert + one message), the
// message through two bare queues with the gateway's batch settings, POSTed to a loopback receiver.

async function measureQueueFloor(server, floorPath, label, load) {
  const receiver = await startReceiver();
  const out = { label, path: floorPath, eventsRequested: load.count, createConcurrency: load.concurrency, rate: load.rate, timeoutSec: WEBHOOK_TIMEOUT_S, error: null };
  try {
    const url = `http://127.0.0.1:${receiver.port}/hook`;
    const creates = { ok: 0, non2xx: 0, errors: 0, samples: [] };
    const { firstRequestAt, doneAt: createsDoneAt } = await drive(load, async () => {
      try {
        const r = await requestJson(`${server.origin}${floorPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }) });
        if (r.ok) creates.ok++;
        else {
          creates.non2xx++;
          if (creates.samples.length < MAX_SAMPLES) creates.samples.push(`${r.status} ${truncate(r.text)}`);
        }
      } catch (err) {
        creates.errors++;
        if (creates.samples.length < MAX_SAMPLES) creates.samples.push(truncate(err?.message ?? err, 200));
      }
    });
    creates.durationMs = createsDoneAt - firstRequestAt;
    creates.reqPerSec = creates.ok / (creates.durationMs / 1000);
    out.creates = creates;
    const deadline = createsDoneAt + WEBHOOK_TIMEOUT_S * 1000;
    while (receiver.first.size < creates.ok && Date.now() < deadline) await sleep(100);
    out.timedOut = receiver.first.size < creates.ok;
    await sleep(WEBHOOK_GRACE_MS);
    const firsts = [...receiver.first.values()];
    const lastAt = firsts.reduce((acc, d) => Math.max(acc, d.at), 0);
    const lags = firsts.map((d) => d.at - d.body.created_ms).filter(Number.isFinite).sort((a, b) => a - b);
    const wallMs = firsts.length ? lastAt - firstRequestAt : null;
    Object.assign(out, {
      eventsExpected: creates.ok,
      eventsDelivered: receiver.first.size,
      deliveriesReceived: receiver.deliveries.length,
      duplicateDeliveries: receiver.deliveries.length - receiver.first.size,
      wallMs,
      drainMs: firsts.length ? lastAt - createsDoneAt : null,
      deliveredWhileCreating: firsts.filter((d) => d.at <= createsDoneAt).length,
      eventsPerSec: wallMs ? receiver.first.size / (wallMs / 1000) : null,
      latencyMs: {
        min: percentile(lags, 0),
        p50: percentile(lags, 50),
        p90: percentile(lags, 90),
        p99: percentile(lags, 99),
        max: lags.length ? lags[lags.length - 1] : null,
        samples: lags.length,
      },
    });
    return out;
  } catch (err) {
    out.error = `queue floor run failed: ${truncate(err?.stack ?? err, 2000)}`;
    return out;
  } finally {
    await receiver.close();
  }
}

// The [[queues.consumers]] settings of a wrangler.toml, by queue name (a small reader for this file's needs).
function consumerSettings(file) {
  const text = readFileSync(file, "utf8");
  const out = {};
  for (const block of text.split(/^\[\[/m).filter((b) => b.startsWith("queues.consumers]]"))) {
    const get = (name) => {
      const m = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]+)"?`, "m").exec(block);
      return m ? m[1].trim() : undefined;
    };
    const queue = get("queue");
    if (queue) out[queue] = { max_batch_size: Number(get("max_batch_size")), max_batch_timeout: Number(get("max_batch_timeout")) };
  }
  return out;
}

function compareQueueSettings() {
  const gateway = consumerSettings(path.join(root, "wrangler.toml"));
  const floor = consumerSettings(baselineConfig);
  const pairs = [
    ["gateway-events", "bench-floor-events"],
    ["gateway-webhooks", "bench-floor-deliveries"],
  ].map(([g, f]) => ({ gateway: g, floor: f, gatewaySettings: gateway[g] ?? null, floorSettings: floor[f] ?? null }));
  const same = pairs.every((p) => JSON.stringify(p.gatewaySettings) === JSON.stringify(p.floorSettings));
  return { pairs, same };
}

function printQueueFloor(f, settings) {
  const sec = (ms) => (ms == null ? "-" : `${fmtNum(ms / 1000, 2)} s`);
  console.log(`\nqueue floor, ${f.label} (baseline worker ${f.path}: DO + D1 insert + send, then two bare queues to a loopback receiver; ${fmtInt(f.eventsRequested)} events, ${describeLoad({ concurrency: f.createConcurrency, rate: f.rate })})`);
  console.log(
    `  batch settings: ${settings.pairs.map((p) => `${p.floor} ${JSON.stringify(p.floorSettings)} vs ${p.gateway} ${JSON.stringify(p.gatewaySettings)}`).join("; ")}` +
      (settings.same ? " (the same)" : " (DIFFERENT: the comparison is not fair)"),
  );
  if (f.creates) console.log(`  events produced: ${fmtInt(f.creates.ok)} in ${fmtNum(f.creates.durationMs / 1000)} s (${fmtNum(f.creates.reqPerSec)} req/s), non-2xx ${fmtInt(f.creates.non2xx)}, errors ${fmtInt(f.creates.errors)}`);
  if (f.eventsDelivered !== undefined) {
    const l = f.latencyMs;
    console.log(
      `  events delivered: ${fmtInt(f.eventsDelivered)} of ${fmtInt(f.eventsExpected)}${f.timedOut ? ` (TIMED OUT after ${f.timeoutSec} s)` : ""}; ` +
        `${fmtNum(f.eventsPerSec)} events/s; ${fmtInt(f.deliveredWhileCreating)} delivered while producing; wall ${sec(f.wallMs)} (${sec(f.drainMs)} after the last send)`,
    );
    console.log(`  arrival - created_ms: p50 ${fmtMs(l.p50)}, p90 ${fmtMs(l.p90)}, p99 ${fmtMs(l.p99)}, max ${fmtMs(l.max)}`);
  }
  if (f.error) console.log(`  ${f.error}`);
}

function webhookTargets(w, f, name = "queue floor") {
  const checks = [];
  if (!w || w.eventsPerSec == null) return [{ kind: "flow", target: "webhook run completed", value: w?.error ?? "no figures", pass: false }];
  const fRate = f?.eventsPerSec ?? null;
  const fP99 = f?.latencyMs?.p99 ?? null;
  const rateRatio = fRate ? w.eventsPerSec / fRate : null;
  const p99Ratio = fP99 ? w.latencyMs.p99 / fP99 : null;
  checks.push({ kind: "relative", target: `webhooks events/s >= ${WEBHOOK_TARGETS.eventsPerSecRatio} x ${name} (${fmtNum(fRate)} events/s)`, value: rateRatio, pass: rateRatio != null && rateRatio >= WEBHOOK_TARGETS.eventsPerSecRatio });
  checks.push({ kind: "relative", target: `webhooks p99 event-to-delivery <= ${WEBHOOK_TARGETS.p99Factor} x ${name} p99 (${fmtMs(fP99)})`, value: p99Ratio, pass: p99Ratio != null && p99Ratio <= WEBHOOK_TARGETS.p99Factor });
  // The absolute figures hold unless the floor itself is lower (then the floor's figure is the bound).
  const rateBar = fRate != null ? Math.min(WEBHOOK_TARGETS.eventsPerSec, WEBHOOK_TARGETS.eventsPerSecRatio * fRate) : WEBHOOK_TARGETS.eventsPerSec;
  checks.push({ kind: "absolute", target: `webhooks events/s >= ${WEBHOOK_TARGETS.eventsPerSec}${fRate != null && fRate * WEBHOOK_TARGETS.eventsPerSecRatio < WEBHOOK_TARGETS.eventsPerSec ? ` (floor lower: ${fmtNum(rateBar)})` : ""}`, value: w.eventsPerSec, pass: w.eventsPerSec >= rateBar });
  const p99Bar = fP99 != null && fP99 >= WEBHOOK_TARGETS.p99Ms ? WEBHOOK_TARGETS.p99Factor * fP99 : WEBHOOK_TARGETS.p99Ms;
  checks.push({ kind: "absolute", target: `webhooks p99 < ${WEBHOOK_TARGETS.p99Ms} ms${p99Bar > WEBHOOK_TARGETS.p99Ms ? ` (floor higher: < ${fmtInt(p99Bar)} ms)` : ""}`, value: w.latencyMs.p99, pass: w.latencyMs.p99 != null && w.latencyMs.p99 < p99Bar });
  // "Deliveries flow while the creates run": some do, and at least 0.8 of the share the floor delivered
  // while it produced (the local queue runner delivers little of either under load).
  const fWhile = f?.deliveredWhileCreating ?? null;
  const share = (n, of) => (of ? n / of : 0);
  const whileBar = fWhile != null ? WEBHOOK_TARGETS.eventsPerSecRatio * share(fWhile, f.eventsExpected) : 0;
  checks.push({
    kind: "flow",
    target: `webhooks delivered while the creates run${fWhile != null ? ` >= ${WEBHOOK_TARGETS.eventsPerSecRatio} x ${name}'s share (${fmtInt(fWhile)} of ${fmtInt(f.eventsExpected)})` : ""}`,
    value: `${fmtInt(w.deliveredWhileCreating)} of ${fmtInt(w.eventsExpected)}`,
    pass: w.deliveredWhileCreating > 0 && share(w.deliveredWhileCreating, w.eventsExpected) >= whileBar,
  });
  checks.push({ kind: "flow", target: "webhooks: every event once, none twice", value: `${w.eventsDelivered}/${w.eventsExpected}, ${w.duplicateDeliveries} dup`, pass: !w.timedOut && w.duplicateDeliveries === 0 && w.eventsDelivered === w.eventsExpected });
  return checks;
}

// Waits (up to 15 s) until the CPUs are mostly idle: the previous server's stragglers, or other work
// on the machine, should not land in the next measurement.
async function settle() {
  const deadline = Date.now() + 15_000;
  let busy = await cpuBusy(500);
  while (busy > 0.3 && Date.now() < deadline) busy = await cpuBusy(500);
  return busy;
}

// ---------------------------------------------------------------------------------------------
// Bundle size (wrangler deploy --dry-run --outdir).

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

function bundleSize(outdir) {
  const result = spawnSync(wrangler, ["deploy", "--dry-run", "--outdir", outdir], { cwd: root, env: baseEnv, encoding: "utf8" });
  const text = (result.stdout ?? "") + (result.stderr ?? "");
  if (result.status !== 0) return { error: `wrangler deploy --dry-run failed (exit ${result.status}): ${truncate(text.trim(), 2000)}` };
  const files = listFiles(outdir).map((file) => {
    const data = readFileSync(file);
    return { file: path.relative(outdir, file), bytes: data.length, gzipBytes: gzipSync(data).length };
  });
  // What is uploaded: the modules; not source maps (unless upload_source_maps) nor wrangler's README.
  const uploaded = files.filter((f) => !f.file.endsWith(".map") && path.basename(f.file) !== "README.md");
  const sum = (list, key) => list.reduce((acc, f) => acc + f[key], 0);
  const m = /Total Upload:\s*([\d.]+ KiB)\s*\/\s*gzip:\s*([\d.]+ KiB)/.exec(text);
  return {
    files,
    bundleBytes: sum(uploaded, "bytes"),
    bundleGzipBytes: sum(uploaded, "gzipBytes"),
    outdirBytes: sum(files, "bytes"),
    outdirGzipBytes: sum(files, "gzipBytes"),
    wranglerReported: m ? { total: m[1], gzip: m[2] } : null,
    limitGzipBytes: FREE_PLAN_LIMIT,
    withinLimit: sum(uploaded, "gzipBytes") <= FREE_PLAN_LIMIT,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const fmtInt = (n) => (n == null ? "-" : Math.round(n).toLocaleString("en-US"));
const fmtNum = (n, d = 1) => (n == null || !Number.isFinite(n) ? "-" : n.toFixed(d));
const fmtMs = (n) => (n == null ? "-" : `${n} ms`);
const fmtBytes = (n) => {
  if (n == null) return "-";
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
};

function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (align[i] === "r" ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

// Newest modification time of a file or of the files under a directory (0 when missing).
function newestMtime(target) {
  let newest = 0;
  try {
    const files = statSync(target).isDirectory() ? listFiles(target) : [target];
    for (const file of files) newest = Math.max(newest, statSync(file).mtimeMs);
  } catch {
    // a file went away meanwhile: count it as a change next time
  }
  return newest;
}

// Share of CPU time not idle over `ms`, all CPUs together (0..1).
async function cpuBusy(ms) {
  const totals = () => os.cpus().reduce((acc, c) => {
    const t = c.times;
    acc.idle += t.idle;
    acc.all += t.user + t.nice + t.sys + t.idle + t.irq;
    return acc;
  }, { idle: 0, all: 0 });
  const a = totals();
  await sleep(ms);
  const b = totals();
  const all = b.all - a.all;
  return all > 0 ? Number((1 - (b.idle - a.idle) / all).toFixed(3)) : 0;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = new Date();
  const tmpRoot = tempDir("gateway-bench-");
  const cpus = os.cpus();
  const machine = {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAvgAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
  console.log(`bench: ${CONNECTIONS} connections, ${DURATION} s per flow`);
  console.log(
    `machine: ${machine.cpuModel} x ${machine.cpuCount}, ${fmtBytes(machine.totalMemBytes)} RAM, node ${machine.node}, ${machine.platform}, ` +
      `load average ${machine.loadAvgAtStart.join(" ")}`,
  );
  machine.cpuBusyAtStart = await cpuBusy(1000);
  if (machine.cpuBusyAtStart > 0.15)
    console.log(`bench: warning: the CPUs are already ${(machine.cpuBusyAtStart * 100).toFixed(0)}% busy before starting; the numbers will be lower and noisier`);

  console.log("bench: measuring the Worker bundle (wrangler deploy --dry-run)…");
  const bundle = ONLY ? { error: "not measured (BENCH_ONLY)" } : bundleSize(path.join(tmpRoot, "dist"));

  const results = [];
  const servers = { baseline: {}, gateway: {} };
  let webhooks = null;
  let floor = null;

  const startBaseline = async (stateName) => {
    const port = await freePort();
    const inspectorPort = await freePort();
    console.log(`bench: starting the baseline worker on 127.0.0.1:${port}…`);
    return startServer({
      name: "baseline",
      command: wrangler,
      args: [
        "dev", "-c", baselineConfig, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
        "--show-interactive-dev-session=false", "--log-level", "warn", "--persist-to", path.join(tmpRoot, stateName),
      ],
      env: baseEnv,
      port,
      readyPath: "/hello",
      timeoutMs: READY_TIMEOUT_MS,
    });
  };
  // Every gateway starts on fresh state: locally every Durable Object keeps its SQLite files open, and
  // tens of thousands of them would exhaust the process's file descriptors (20,000 here).
  const auth = { authorization: `Bearer ${API_KEY}` };
  const form = { ...auth, "content-type": "application/x-www-form-urlencoded" };
  const startGateway = async (stateName) => {
    const port = await freePort();
    const inspectorPort = await freePort();
    console.log(`bench: starting the gateway on 127.0.0.1:${port} (migrations, seed, wrangler dev)…`);
    const started = await startServer({
      name: "gateway",
      command: process.execPath,
      args: [
        path.join(root, "scripts", "dev.mjs"),
        "--log-level", "warn", "--var", "LOG_LEVEL:warn", "--inspector-port", String(inspectorPort),
        // One key drives thousands of requests a second here: raise its token bucket (still in use,
        // so its cost is measured) far above what the load reaches.
        "--var", "RATE_LIMIT_PER_KEY:1000000", "--var", "RATE_LIMIT_BURST_PER_KEY:1000000", "--var", "RATE_LIMIT_PER_MERCHANT:1000000", "--var", "RATE_LIMIT_BURST_PER_MERCHANT:1000000",
      ],
      env: { ...baseEnv, PORT: String(port), GATEWAY_STATE_DIR: path.join(tmpRoot, stateName) },
      port,
      readyPath: "/v1/payment_intents?limit=1",
      timeoutMs: READY_TIMEOUT_MS,
      readyHeaders: auth,
    });
    started.watchedMtime = () => Math.max(newestMtime(path.join(root, "src")), newestMtime(path.join(root, "wrangler.toml")));
    return started;
  };
  // Both servers of a round are up together (the idle one costs next to nothing) and both start fresh.
  const startPair = async (tag) => {
    const [b, g] = await Promise.allSettled([startBaseline(`baseline-${tag}`), startGateway(`gateway-${tag}`)]);
    if (b.status === "rejected" || g.status === "rejected") {
      if (b.status === "fulfilled") await stopGroup(b.value.pgid);
      if (g.status === "fulfilled") await stopGroup(g.value.pgid);
      throw b.status === "rejected" ? b.reason : g.reason;
    }
    servers.baseline.readyMs = b.value.readyMs;
    servers.gateway.readyMs = g.value.readyMs;
    return { baseline: b.value, gateway: g.value };
  };
  const keepLogs = (pair) => {
    servers.baseline.log = `${servers.baseline.log ?? ""}\n${pair.baseline.output().trim().slice(-2000)}`.trim().slice(-4000);
    servers.gateway.log = `${servers.gateway.log ?? ""}\n${pair.gateway.output().trim().slice(-2000)}`.trim().slice(-4000);
  };

  // (a) Rounds, ROUNDS times, each on freshly started servers: the baseline, the gateway's writes, the
  // baseline again (B G B), and in the first round the reads. A round's ratios are to the mean of its
  // two baseline runs, which stand on either side of the gateway's writes, so a machine that speeds up
  // or slows down steadily during a round does not tilt them; the median (and spread) of the rounds
  // is reported.
  for (let round = 1; round <= (ONLY ? 0 : ROUNDS); round++) {
    await settle();
    const pair = await startPair(`r${round}`);
    try {
      const baselineFlows = [
        ...(round === 1 ? [{ name: "baseline hello", key: "hello", method: "GET", path: "/hello" }] : []),
        { name: "baseline DO+D1", key: "baseline", method: "POST", path: "/do-d1" },
      ];
      for (const flow of baselineFlows) {
        console.log(`bench: round ${round}/${ROUNDS}: ${flow.name}…`);
        results.push({ key: flow.key, round, ...(await measure(pair.baseline, flow)) });
      }
      await settle();
      const server = pair.gateway;
      const flows = [
        { name: "create", key: "create", method: "POST", path: "/v1/payment_intents", headers: form, body: "amount=2000&currency=usd" },
        {
          name: "create+confirm",
          key: "createConfirm",
          method: "POST",
          path: "/v1/payment_intents",
          headers: form,
          body: "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true",
        },
      ];
      if (round === 1) {
        // One intent to retrieve. Reads are no target: measured in the first round only.
        const res = await fetch(`${server.origin}/v1/payment_intents`, { method: "POST", headers: form, body: "amount=2000&currency=usd" });
        const created = await res.text();
        let intentId = null;
        try {
          intentId = JSON.parse(created).id ?? null;
        } catch {
          // handled below
        }
        if (!res.ok || !intentId) throw new Error(`gateway: could not create the intent to retrieve (${res.status}): ${truncate(created)}`);
        flows.push(
          { name: "retrieve", key: "retrieve", method: "GET", path: `/v1/payment_intents/${intentId}`, headers: auth },
          { name: "list", key: "list", method: "GET", path: "/v1/payment_intents?limit=10", headers: auth },
        );
      }
      const baselineAfter = { name: "baseline DO+D1 (after)", key: "baselineAfter", method: "POST", path: "/do-d1" };
      for (const flow of flows) {
        if (flow.key === "retrieve") {
          // The writes are done: the baseline again, before the reads.
          await settle();
          console.log(`bench: round ${round}/${ROUNDS}: ${baselineAfter.name}…`);
          results.push({ key: baselineAfter.key, round, ...(await measure(pair.baseline, baselineAfter)) });
        }
        console.log(`bench: round ${round}/${ROUNDS}: gateway ${flow.name}…`);
        results.push({ key: flow.key, round, ...(await measure(server, flow)) });
      }
      if (!results.some((r) => r.key === baselineAfter.key && r.round === round)) {
        await settle();
        console.log(`bench: round ${round}/${ROUNDS}: ${baselineAfter.name}…`);
        results.push({ key: baselineAfter.key, round, ...(await measure(pair.baseline, baselineAfter)) });
      }
      keepLogs(pair);
    } finally {
      await Promise.all([stopGroup(pair.baseline.pgid), stopGroup(pair.gateway.pgid)]);
    }
  }

  // (b) Webhooks: the bare queue floors (baseline worker) and then the gateway, on fresh servers; once
  // saturating (the creates as fast as each side answers), once paced (both at the same rate).
  const webhookRun = async (tag, load) => {
    await settle();
    const pair = await startPair(tag);
    try {
      // Two floors: the message sent by the request (the bare queues), and sent by the Durable Object
      // after its storage put (where the gateway's outbox must send from).
      const floors = {};
      for (const [key, floorPath, label] of [
        ["worker", "/floor/event", "sent by the request"],
        ["object", "/floor/event-do", "sent by the Durable Object"],
      ]) {
        console.log(`bench: queue floor, ${label} (${fmtInt(load.count)} events through two bare queues, ${describeLoad(load)})…`);
        floors[key] = await measureQueueFloor(pair.baseline, floorPath, label, load);
        await settle();
      }
      console.log(`bench: gateway webhook delivery (${fmtInt(load.count)} intents for merchant B, ${describeLoad(load)})…`);
      const gateway = await measureWebhooks(pair.gateway, load);
      keepLogs(pair);
      return { floors, gateway, rate: load.rate };
    } finally {
      await Promise.all([stopGroup(pair.baseline.pgid), stopGroup(pair.gateway.pgid)]);
    }
  };
  ({ floors: floor, gateway: webhooks } = await webhookRun("webhooks", { count: WEBHOOK_EVENTS, concurrency: WEBHOOK_CONCURRENCY, rate: 0 }));
  let paced = null;
  // The pace: given, or half of what the slowest side sustained just now (its creates competed with
  // its own deliveries then too), so that the paced run measures the fan-outs, not a saturated producer.
  const producers = [webhooks?.creates?.reqPerSec, ...Object.values(floor ?? {}).map((f) => f.creates?.reqPerSec)].filter((r) => Number.isFinite(r) && r > 0);
  const paceRate = WEBHOOK_RATE ?? (producers.length ? Math.max(1, Math.round(WEBHOOK_RATE_SHARE * Math.min(...producers))) : 0);
  if (paceRate > 0 && WEBHOOK_RATE === null) console.log(`bench: the paced webhook run at ${paceRate} events/s: ${WEBHOOK_RATE_SHARE} x the slowest producer's ${fmtNum(Math.min(...producers))} req/s above`);
  if (paceRate > 0) paced = await webhookRun("webhooks-paced", { count: WEBHOOK_PACED_EVENTS, concurrency: WEBHOOK_PACED_CONCURRENCY, rate: paceRate });
  const queueSettings = compareQueueSettings();

  // ---- Report.
  console.log("");
  console.log(
    table(
      ["round", "flow", "req/s", "p50", "p99", "non-2xx", "errors", "requests", "peak RSS"],
      results.map((r) => [
        String(r.round),
        (r.server === "gateway" ? `gateway ${r.flow}` : r.flow) + (r.sourcesChanged ? " *" : ""),
        fmtNum(r.reqPerSec),
        fmtMs(r.latencyMs.p50),
        fmtMs(r.latencyMs.p99),
        fmtInt(r.non2xx),
        r.timeouts ? `${fmtInt(r.errors)} (${r.timeouts} timeouts)` : fmtInt(r.errors),
        fmtInt(r.totalRequests),
        fmtBytes(r.peakRssBytes),
      ]),
      ["r", "l", "r", "r", "r", "r", "r", "r", "r"],
    ),
  );

  // Each gateway flow against the same round's baseline.
  const gatewayFlows = results.filter((r) => r.server === "gateway");
  // A round's baseline: the mean of its run before the gateway's writes and its run after them.
  const baseOf = (round) => {
    const runs = results.filter((r) => (r.key === "baseline" || r.key === "baselineAfter") && r.round === round);
    if (runs.length === 0) return undefined;
    const mean = (pick) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
    return { reqPerSec: mean((r) => r.reqPerSec), latencyMs: { p99: mean((r) => r.latencyMs.p99) }, runs };
  };
  const perRound = gatewayFlows.map((r) => {
    const base = baseOf(r.round);
    return {
      key: r.key,
      flow: r.flow,
      round: r.round,
      rpsRatio: base?.reqPerSec > 0 ? r.reqPerSec / base.reqPerSec : null,
      p99Ratio: base?.latencyMs.p99 > 0 ? r.latencyMs.p99 / base.latencyMs.p99 : null,
    };
  });
  const summarize = (values) => {
    const v = values.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return { median: null, min: null, max: null, n: 0 };
    const mid = Math.floor(v.length / 2);
    return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1], n: v.length };
  };
  const flowKeys = [...new Set(gatewayFlows.map((r) => r.key))];
  const ratios = flowKeys.map((key) => {
    const rows = perRound.filter((r) => r.key === key);
    return { key, flow: rows[0].flow, rounds: rows.map((r) => ({ round: r.round, rpsRatio: r.rpsRatio, p99Ratio: r.p99Ratio })), rpsRatio: summarize(rows.map((r) => r.rpsRatio)), p99Ratio: summarize(rows.map((r) => r.p99Ratio)) };
  });
  const mark = (ok) => (ok ? "PASS" : "MISS");
  const checks = [];
  for (const [key, min] of [
    ["create", TARGETS.createRps],
    ["createConfirm", TARGETS.createConfirmRps],
  ]) {
    const r = ratios.find((x) => x.key === key);
    if (!r) continue; // BENCH_ONLY=webhooks
    checks.push({ target: `${r.flow} req/s >= ${min} x baseline (median of ${r.rpsRatio.n})`, value: r.rpsRatio.median, pass: r.rpsRatio.median != null && r.rpsRatio.median >= min });
  }
  for (const r of ratios) {
    checks.push({ target: `${r.flow} p99 <= ${TARGETS.p99Factor} x baseline p99 (median)`, value: r.p99Ratio.median, pass: r.p99Ratio.median != null && r.p99Ratio.median <= TARGETS.p99Factor });
  }
  const failures = gatewayFlows.reduce((acc, r) => acc + r.errors + r.non2xx, 0);
  checks.push({ target: "no errors or non-2xx responses (gateway flows)", value: failures, pass: failures === 0 });
  checks.push(...webhookTargets(webhooks, floor?.object, "object-sent floor"), ...webhookTargets(webhooks, floor?.worker, "request-sent floor").filter((c) => c.kind === "relative"));
  if (paced) {
    const tagged = (c) => ({ ...c, target: `paced ${fmtNum(paced.rate)}/s: ${c.target}` });
    // At a fixed rate the absolute events/s is the pace itself, so only the ratios to the floors, the
    // share delivered while producing and the once-each check apply.
    checks.push(...webhookTargets(paced.gateway, paced.floors.object, "object-sent floor").filter((c) => c.kind !== "absolute").map(tagged));
    checks.push(...webhookTargets(paced.gateway, paced.floors.worker, "request-sent floor").filter((c) => c.kind === "relative").map(tagged));
  }

  const bases = [...new Set(results.filter((r) => r.key === "baseline").map((r) => r.round))].map((round) => ({ round, ...baseOf(round) }));
  console.log(
    `\nratios to the same round's baseline DO+D1, the mean of its runs before and after the gateway's writes (${bases
      .map((b) => `round ${b.round}: ${b.runs.map((r) => fmtNum(r.reqPerSec)).join(" and ")} req/s, p99 ${b.runs.map((r) => fmtMs(r.latencyMs.p99)).join(" and ")}`)
      .join("; ")})`,
  );
  const spread = (s) => (s.median == null ? "-" : `${fmtNum(s.median, 2)} (${fmtNum(s.min, 2)}–${fmtNum(s.max, 2)})`);
  console.log(
    table(
      ["gateway flow", ...Array.from({ length: ROUNDS }, (_, i) => `r${i + 1} req/s`), "req/s ratio median (min–max)", "p99 ratio median (min–max)"],
      ratios.map((r) => [
        r.flow,
        ...Array.from({ length: ROUNDS }, (_, i) => fmtNum(r.rounds.find((x) => x.round === i + 1)?.rpsRatio, 2)),
        spread(r.rpsRatio),
        spread(r.p99Ratio),
      ]),
      ["l", ...Array.from({ length: ROUNDS }, () => "r"), "r", "r"],
    ),
  );
  console.log("\ntargets");
  console.log(
    table(
      ["target", "value", "result"],
      checks.map((c) => [c.target, typeof c.value === "number" && !Number.isInteger(c.value) ? fmtNum(c.value, 2) : String(c.value), mark(c.pass)]),
      ["l", "r", "l"],
    ),
  );

  if (floor) for (const f of Object.values(floor)) printQueueFloor(f, queueSettings);
  if (webhooks) printWebhooks(webhooks);
  if (paced) {
    for (const f of Object.values(paced.floors)) printQueueFloor(f, queueSettings);
    printWebhooks(paced.gateway);
  }

  console.log("\nWorker bundle (wrangler deploy --dry-run --outdir)");
  if (bundle.error) console.log(`  ${bundle.error}`);
  else {
    console.log(
      `  uploaded modules: ${fmtBytes(bundle.bundleBytes)}, gzip ${fmtBytes(bundle.bundleGzipBytes)} ` +
        `(free-plan limit ${fmtBytes(FREE_PLAN_LIMIT)} compressed: ${mark(bundle.withinLimit)}, ${((bundle.bundleGzipBytes / FREE_PLAN_LIMIT) * 100).toFixed(1)}% used)`,
    );
    console.log(`  whole outdir incl. source map: ${fmtBytes(bundle.outdirBytes)}, gzip ${fmtBytes(bundle.outdirGzipBytes)}`);
    console.log(`  files: ${bundle.files.map((f) => `${f.file} ${fmtBytes(f.bytes)}`).join(", ")}`);
    if (bundle.wranglerReported) console.log(`  wrangler reports: Total Upload ${bundle.wranglerReported.total} / gzip ${bundle.wranglerReported.gzip}`);
  }
  const peakOf = (server) => {
    const runs = results.filter((r) => r.server === server && r.peakRssBytes != null);
    return runs.length ? runs.reduce((a, b) => (b.peakRssBytes > a.peakRssBytes ? b : a)) : null;
  };
  const describePeak = (r) =>
    `${fmtBytes(r.peakRssBytes)} during ${r.flow} (${r.peakRssProcesses.map((p) => `${p.name} ${fmtBytes(p.rssBytes)}`).join(", ")})`;
  const gatewayPeak = peakOf("gateway");
  const baselinePeak = peakOf("baseline");
  if (gatewayPeak) {
    console.log("\npeak RSS of the server's process group (node/wrangler, esbuild, workerd) while measuring");
    console.log(`  gateway:  ${describePeak(gatewayPeak)}`);
    if (baselinePeak) console.log(`  baseline: ${describePeak(baselinePeak)}`);
  }

  // Oddities worth a look.
  const notes = [];
  for (const r of results) {
    if (r.non2xxSamples.length) notes.push(`${r.server} ${r.flow}: ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodes)}; samples:\n    ${r.non2xxSamples.map((s) => `${s.status} ${s.body}`).join("\n    ")}`);
    if (r.errorSamples.length) notes.push(`${r.server} ${r.flow}: ${r.errors} errors (${r.timeouts} timeouts); samples: ${r.errorSamples.join(" | ")}`);
    if (r.warmupNon2xx.length) notes.push(`${r.server} ${r.flow}: non-2xx during warm-up: ${r.warmupNon2xx.map((s) => `${s.status} ${s.body}`).join(" | ")}`);
  }
  if (webhooks) notes.push(...webhookNotes(webhooks));
  if (paced) notes.push(...webhookNotes(paced.gateway).map((n) => n.replace(/^webhook run/, "paced webhook run")));
  // A side that could not keep the pace measured its producer again, not its fan-out.
  if (paced) {
    for (const [name, r] of [["gateway", paced.gateway], ["request-sent floor", paced.floors.worker], ["object-sent floor", paced.floors.object]]) {
      const rps = r?.creates?.reqPerSec;
      if (Number.isFinite(rps) && rps < 0.95 * paced.rate)
        notes.push(`paced webhook run: the ${name} produced ${fmtNum(rps)} a second against the pace of ${fmtNum(paced.rate)}: it fell behind, so its figures measure its producer, not its fan-out`);
    }
  }
  // Under 10% delivered while producing, for the gateway and both floors alike: the local runner's starved timers.
  const whileShare = (r) => (r?.eventsExpected ? r.deliveredWhileCreating / r.eventsExpected : null);
  const shares = [whileShare(webhooks), whileShare(floor?.object), whileShare(floor?.worker)];
  if (shares.every((x) => x !== null && x < 0.1)) {
    notes.push(
      `webhook run: the gateway and both floors delivered under 10% of their events while producing (${WEBHOOK_CONCURRENCY} in flight): ` +
        "the local queue broker takes in messages and hands over batches through setTimeout(0), and those timers wait until a saturating load ends " +
        '(docs/performance.md "Webhooks"). BENCH_WEBHOOK_CONCURRENCY=10 measures the pipeline with the timers running.',
    );
  }
  const changed = results.filter((r) => r.sourcesChanged).map((r) => r.flow);
  if (webhooks?.sourcesChanged) changed.push("webhook delivery");
  if (changed.length)
    notes.push(`* src/ or wrangler.toml changed while measuring ${changed.join(", ")}: wrangler dev rebuilds and reloads the Worker on changes, so those numbers may include a reload; rerun on a quiet tree.`);
  for (const [name, s] of Object.entries(servers)) {
    const interesting = (s.log ?? "")
      .split("\n")
      .filter((l) => /error|warn|exception|uncaught/i.test(l) && !/update available/i.test(l))
      .slice(-10);
    if (interesting.length) notes.push(`${name} server log (last warnings/errors):\n    ${interesting.map((l) => truncate(l, 300)).join("\n    ")}`);
  }
  if (notes.length) console.log(`\nnotes\n  ${notes.join("\n  ")}`);

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: { connections: CONNECTIONS, durationSec: DURATION, logLevel: "warn" },
    machine,
    servers,
    results,
    baseline: "baseline DO+D1",
    rounds: ROUNDS,
    ratios,
    targets: TARGETS,
    checks,
    bundle,
    webhooks,
    queueFloor: floor,
    paced: paced && { rate: paced.rate, rateGiven: WEBHOOK_RATE !== null, events: WEBHOOK_PACED_EVENTS, webhooks: paced.gateway, queueFloor: paced.floors },
    queueSettings,
  };
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nresults written to ${path.relative(process.cwd(), resultsFile) || resultsFile}`);
}

try {
  await main();
  removeTmp();
  process.exit(0);
} catch (err) {
  killAllSync();
  removeTmp();
  if (err instanceof ServerStartError) {
    console.error(`bench: server failed to start: ${err.message}`);
    process.exit(3);
  }
  console.error(`bench: failed: ${err?.stack ?? err}`);
  process.exit(1);
}
