// A delivery batch POSTs at most DELIVERY_CONCURRENCY at once (deployed, a Worker invocation has six
// connections waiting for headers; a seventh fetch would wait with its timeout already running).
// Each endpoint has DELIVERY_CONCURRENCY_PER_ENDPOINT lanes of its own, so an endpoint that has not
// answered (a hanging one) holds two of the six and the other endpoints' deliveries go ahead of its
// queue; an endpoint that has answered also takes the lanes nothing else can use, so one healthy
// endpoint gets all six. Once an endpoint has timed out, the rest of its deliveries in the batch are
// handed back unattempted instead of timing out one by one.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it, vi } from "vitest";
import type { EventRecord } from "../../src/core/types";
import { eventData } from "../../src/db/event-row";
import { events, webhookDeliveries } from "../../src/db/schema";
import { boundedByKey, deliverAttempts, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT } from "../../src/webhooks/deliver";
import { createEndpoint, newMerchant, receivedBy, receiverHook } from "../helpers";

interface Item {
  endpoint: string;
  n: number;
}

/** Work whose every item waits until the test releases it; records what ran at once. */
function controlled() {
  const running = new Map<string, number>();
  let active = 0;
  let peak = 0;
  const peakPerKey = new Map<string, number>();
  const started: Item[] = [];
  const release = new Map<Item, () => void>();
  const work = (item: Item) =>
    new Promise<void>((resolve) => {
      active++;
      peak = Math.max(peak, active);
      const now = (running.get(item.endpoint) ?? 0) + 1;
      running.set(item.endpoint, now);
      peakPerKey.set(item.endpoint, Math.max(peakPerKey.get(item.endpoint) ?? 0, now));
      started.push(item);
      release.set(item, () => {
        active--;
        running.set(item.endpoint, (running.get(item.endpoint) ?? 1) - 1);
        resolve();
      });
    });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { work, started, release, settle, peak: () => peak, peakPerKey };
}

/**
 * `n` events of the merchant, each with a pending delivery to the endpoint, written here rather than
 * through the queue (so the test's batch is the only one); answers the batch's messages (attempt 1).
 */
async function pendingDeliveries(merchantId: string, endpointId: string, label: string, n: number): Promise<{ deliveryId: string; attempt: number }[]> {
  const d = drizzle(env.DB);
  const now = Date.now();
  const msgs: { deliveryId: string; attempt: number }[] = [];
  for (let i = 0; i < n; i++) {
    const event: EventRecord = {
      id: `evt_${label}_${endpointId}_${i}`,
      type: "payment_intent.created",
      created: now + i,
      merchantId,
      livemode: false,
      object: { id: `pi_${label}_${i}`, object: "payment_intent", amount: 1000, currency: "usd", status: "requires_payment_method" },
      requestId: null,
      idempotencyKey: null,
      paymentIntentId: `pi_${label}_${i}`,
      orderId: null,
    };
    await d.insert(events).values({ id: event.id, merchantId, livemode: false, type: event.type, paymentIntent: event.paymentIntentId, created: event.created, data: eventData(event) });
    const deliveryId = `wd_${label}_${endpointId}_${i}`;
    await d.insert(webhookDeliveries).values({ id: deliveryId, merchantId, livemode: false, eventId: event.id, eventType: event.type, endpointId, status: "pending", attempts: 0, retrying: true, nextAttemptAt: now, created: now, updated: now });
    msgs.push({ deliveryId, attempt: 1 });
  }
  return msgs;
}

describe("delivery concurrency within a batch", () => {
  it("at most six at once, two per endpoint that has not answered: a stuck endpoint keeps two, the rest of the batch goes through the other four", async () => {
    expect(DELIVERY_CONCURRENCY).toBe(6);
    expect(DELIVERY_CONCURRENCY_PER_ENDPOINT).toBe(2);
    // 30 deliveries to a stuck endpoint first in the batch, then 40 to ten healthy ones.
    const items: Item[] = [
      ...Array.from({ length: 30 }, (_, n) => ({ endpoint: "we_stuck", n })),
      ...Array.from({ length: 40 }, (_, n) => ({ endpoint: `we_ok_${n % 10}`, n })),
    ];
    const c = controlled();
    let done = false;
    const all = boundedByKey(items, (i) => i.endpoint, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT, c.work).then(() => {
      done = true;
    });
    await c.settle();
    expect(c.started.map((i) => i.endpoint)).toEqual(["we_stuck", "we_stuck", "we_ok_0", "we_ok_1", "we_ok_2", "we_ok_3"]);
    // Every healthy delivery finishes while the stuck endpoint's first two hang.
    for (;;) {
      const healthy = c.started.filter((i) => i.endpoint !== "we_stuck" && c.release.has(i));
      if (healthy.length === 0) break;
      for (const item of healthy) {
        c.release.get(item)?.();
        c.release.delete(item);
      }
      await c.settle();
    }
    expect(c.started.filter((i) => i.endpoint !== "we_stuck")).toHaveLength(40);
    expect(c.started.filter((i) => i.endpoint === "we_stuck")).toHaveLength(2);
    expect(done).toBe(false);
    // Then the stuck endpoint answers and, alone now, drains through all six lanes.
    while (c.release.size > 0) {
      for (const [item, release] of [...c.release]) {
        release();
        c.release.delete(item);
      }
      await c.settle();
    }
    await all;
    expect(c.started).toHaveLength(70);
    expect(c.peak()).toBe(6);
    // Two lanes while it hung and the others went (checked above); six once it answered alone.
    expect(c.peakPerKey.get("we_stuck")).toBe(6);
  });

  /** Releases the running items of `endpoint` (all, or the first `count`), then lets the pump run. */
  async function release(c: ReturnType<typeof controlled>, endpoint: string, count = Infinity): Promise<void> {
    let n = 0;
    for (const [item, go] of [...c.release]) {
      if (item.endpoint !== endpoint || n >= count) continue;
      go();
      c.release.delete(item);
      n++;
    }
    await c.settle();
  }
  const runningOf = (c: ReturnType<typeof controlled>, endpoint: string) => [...c.release.keys()].filter((i) => i.endpoint === endpoint).length;

  it("one endpoint alone: two lanes until it answers, then all six", async () => {
    const items: Item[] = Array.from({ length: 30 }, (_, n) => ({ endpoint: "we_one", n }));
    const c = controlled();
    const all = boundedByKey(items, (i) => i.endpoint, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT, c.work);
    await c.settle();
    expect(c.started).toHaveLength(2);
    await release(c, "we_one", 1);
    expect(runningOf(c, "we_one")).toBe(6);
    while (c.release.size > 0) await release(c, "we_one");
    await all;
    expect(c.started.map((i) => i.n)).toEqual(items.map((i) => i.n));
    expect(c.peak()).toBe(6);
  });

  it("a hanging endpoint keeps two lanes while an answering one takes the other four; an endpoint under its two gets the next free lane first", async () => {
    const items: Item[] = [
      ...Array.from({ length: 10 }, (_, n) => ({ endpoint: "we_stuck", n })),
      ...Array.from({ length: 20 }, (_, n) => ({ endpoint: "we_fast", n })),
      ...Array.from({ length: 5 }, (_, n) => ({ endpoint: "we_third", n })),
    ];
    const c = controlled();
    let done = false;
    const all = boundedByKey(items, (i) => i.endpoint, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT, c.work).then(() => {
      done = true;
    });
    await c.settle();
    // Two lanes each; nobody has answered, so nobody takes more.
    expect([runningOf(c, "we_stuck"), runningOf(c, "we_fast"), runningOf(c, "we_third")]).toEqual([2, 2, 2]);
    // we_fast answers once: its lane is refilled, and no other endpoint can use a lane, so it stays at two.
    await release(c, "we_fast", 1);
    expect([runningOf(c, "we_stuck"), runningOf(c, "we_fast"), runningOf(c, "we_third")]).toEqual([2, 2, 2]);
    // we_third answers both: its next two come first (its own lanes), none goes to we_fast.
    await release(c, "we_third");
    expect([runningOf(c, "we_stuck"), runningOf(c, "we_fast"), runningOf(c, "we_third")]).toEqual([2, 2, 2]);
    // we_third's last three finish: its lanes now go to we_fast (it has answered), not to we_stuck.
    await release(c, "we_third");
    await release(c, "we_third");
    expect(c.started.filter((i) => i.endpoint === "we_third")).toHaveLength(5);
    expect([runningOf(c, "we_stuck"), runningOf(c, "we_fast"), runningOf(c, "we_third")]).toEqual([2, 4, 0]);
    // we_fast's whole queue goes through four lanes while we_stuck hangs on its first two.
    while (runningOf(c, "we_fast") > 0) {
      expect(runningOf(c, "we_stuck")).toBe(2);
      await release(c, "we_fast");
    }
    expect(c.started.filter((i) => i.endpoint === "we_fast")).toHaveLength(20);
    expect(c.peakPerKey.get("we_fast")).toBe(4);
    expect(c.peakPerKey.get("we_stuck")).toBe(2);
    expect(done).toBe(false);
    // we_stuck finally answers: it is alone now, so its remaining eight use every lane.
    await release(c, "we_stuck", 1);
    expect(runningOf(c, "we_stuck")).toBe(6);
    while (c.release.size > 0) await release(c, "we_stuck");
    await all;
    expect(c.started).toHaveLength(35);
    expect(c.peak()).toBe(6);
  });

  it("two answering endpoints share the spare lanes evenly, and a slow one cannot take the lanes a fast one frees", async () => {
    const items: Item[] = [...Array.from({ length: 20 }, (_, n) => ({ endpoint: "we_a", n })), ...Array.from({ length: 20 }, (_, n) => ({ endpoint: "we_b", n }))];
    const c = controlled();
    const all = boundedByKey(items, (i) => i.endpoint, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT, c.work);
    await c.settle();
    expect([runningOf(c, "we_a"), runningOf(c, "we_b")]).toEqual([2, 2]);
    // Only we_a has answered: the two spare lanes are its.
    await release(c, "we_a", 1);
    expect([runningOf(c, "we_a"), runningOf(c, "we_b")]).toEqual([4, 2]);
    // we_b answers (its lane refilled); the next lane we_a frees goes to we_b, which has fewer.
    await release(c, "we_b", 1);
    await release(c, "we_a", 1);
    expect([runningOf(c, "we_a"), runningOf(c, "we_b")]).toEqual([3, 3]);
    // we_a is slow now (holds its three); every lane we_b frees stays we_b's.
    for (let round = 0; round < 5; round++) {
      await release(c, "we_b", 1);
      expect([runningOf(c, "we_a"), runningOf(c, "we_b")]).toEqual([3, 3]);
    }
    while (c.release.size > 0) {
      await release(c, "we_a");
      await release(c, "we_b");
    }
    await all;
    expect(c.started).toHaveLength(40);
    expect(c.peak()).toBe(6);
  });

  it("runs every item once, in order where nothing is busy, and rejects with the first failure", async () => {
    const order: number[] = [];
    await boundedByKey([1, 2, 3, 4, 5, 6, 7, 8], (n) => `we_${n}`, 3, 2, async (n) => {
      order.push(n);
    });
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await expect(boundedByKey([1, 2, 3], () => "we", 6, 2, async (n) => {
      if (n === 2) throw new Error("D1 failed");
    })).rejects.toThrow("D1 failed");
    await boundedByKey([], () => "we", 6, 2, async () => undefined);
  });

  it("a batch's lease covers its rounds of POSTs, and an attempt's late outcome never overwrites a newer attempt's", async () => {
    const { id: merchantId, opts } = await newMerchant("lease");
    const hook = receiverHook("lease", "sleep=300");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const msgs = await pendingDeliveries(merchantId, endpoint.id, "lease", 13);
    const before = Date.now();
    const running = deliverAttempts(env, msgs);
    // Once the first POST has arrived, every claim is made: the lease is 3 rounds (13 POSTs, 6 at a time) of the 5 s timeout, plus 30 s.
    for (let i = 0; i < 200 && (await receivedBy(hook.name)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const leased = await env.DB.prepare("SELECT min(lease_until) AS lease FROM webhook_deliveries WHERE endpoint_id = ?").bind(endpoint.id).first<{ lease: number }>();
    expect((leased?.lease ?? 0) - before).toBeGreaterThanOrEqual(3 * 5000 + 30_000);
    // Meanwhile a newer attempt of each delivery went through (as the cron's re-send would make): the batch's outcomes leave them alone.
    await env.DB.prepare("UPDATE webhook_deliveries SET attempts = 2, status = 'succeeded', last_status_code = 299 WHERE endpoint_id = ?").bind(endpoint.id).run();
    await running;
    const rows = await env.DB.prepare("SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE endpoint_id = ?").bind(endpoint.id).all<{ status: string; attempts: number; last_status_code: number }>();
    expect(rows.results).toHaveLength(13);
    for (const row of rows.results) expect(row).toEqual({ status: "succeeded", attempts: 2, last_status_code: 299 });
  });

  it("an endpoint that times out gets no more POSTs from the batch: its other deliveries are handed back unattempted, the healthy endpoint's all go", async () => {
    const { id: merchantId, opts } = await newMerchant("hang");
    const slowHook = receiverHook("hang", "sleep=20000"); // the suite's timeout is 5 s
    const okHook = receiverHook("fine");
    const slow = await createEndpoint(slowHook.url, ["payment_intent.created"], opts);
    const ok = await createEndpoint(okHook.url, ["payment_intent.created"], opts);
    // Events and their deliveries, written here rather than through the queue, so this batch is the only one.
    const now = Date.now();
    const msgs = [...(await pendingDeliveries(merchantId, slow.id, "hang", 8)), ...(await pendingDeliveries(merchantId, ok.id, "hang", 8))];
    // Retries and hand-backs ten minutes out, so nothing comes back while the test looks.
    await deliverAttempts({ ...env, WEBHOOK_RETRY_SCHEDULE: "10m,20m" }, msgs);

    // Two POSTs reached the hanging endpoint (its two connections), both timed out; the healthy one got all eight.
    expect(await receivedBy(slowHook.name)).toHaveLength(2);
    expect(await receivedBy(okHook.name)).toHaveLength(8);
    const rows = await env.DB.prepare("SELECT endpoint_id AS endpoint, status, attempts, lease_until AS lease, next_attempt_at AS next, last_error AS error FROM webhook_deliveries WHERE merchant_id = ?")
      .bind(merchantId)
      .all<{ endpoint: string; status: string; attempts: number; lease: number | null; next: number | null; error: string | null }>();
    const of = (endpoint: string) => rows.results.filter((r) => r.endpoint === endpoint);
    expect(of(ok.id).map((r) => [r.status, r.attempts])).toEqual(Array.from({ length: 8 }, () => ["succeeded", 1]));
    const timedOut = of(slow.id).filter((r) => r.attempts === 1);
    const handedBack = of(slow.id).filter((r) => r.attempts === 0);
    expect(timedOut).toHaveLength(2);
    expect(timedOut.every((r) => r.status === "pending" && r.error?.startsWith("timed out"))).toBe(true);
    // Handed back: not an attempt, no lease, due again after the first retry delay.
    expect(handedBack).toHaveLength(6);
    expect(handedBack.every((r) => r.status === "pending" && r.lease === null && r.error === null && (r.next ?? 0) >= now + 10 * 60_000)).toBe(true);
    const attempts = await env.DB.prepare("SELECT count(*) AS n FROM webhook_attempts WHERE endpoint_id = ?").bind(slow.id).first<{ n: number }>();
    expect(attempts?.n).toBe(2);

    // When a handed-back message comes again (the endpoint answers by then), it is attempt 1, once.
    const recovered = receiverHook("recovered");
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ? WHERE id = ?").bind(recovered.url, slow.id).run();
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND attempts = 0").bind(Date.now(), slow.id).run();
    const again = msgs.filter((m) => m.deliveryId.startsWith(`wd_hang_${slow.id}_`));
    await deliverAttempts({ ...env, WEBHOOK_RETRY_SCHEDULE: "10m,20m" }, [...again, ...again]);
    expect(await receivedBy(recovered.name)).toHaveLength(6);
    const after = await env.DB.prepare("SELECT status, attempts FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY attempts, status").bind(slow.id).all<{ status: string; attempts: number }>();
    expect(after.results).toEqual([...Array.from({ length: 2 }, () => ({ status: "pending", attempts: 1 })), ...Array.from({ length: 6 }, () => ({ status: "succeeded", attempts: 1 }))]);
  }, 60_000);
});

// An answer's body is read to its end when it is short (a body cancelled unread closes its connection,
// so every POST to the endpoint opened a new one: under load, most of an attempt's cost), cut off after
// 64 KB when it is long, and an error's first 200 characters are kept.
describe("reading the endpoint's answer", () => {
  /** A body of `chunks` chunks of `size` bytes (endless with Infinity) that says how much was read and whether it was cancelled. */
  function observed(chunks: number, size: number, text = "x") {
    const seen = { pulled: 0, bytes: 0, closed: false, cancelled: false };
    const chunk = new TextEncoder().encode(text.repeat(size));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (seen.pulled >= chunks) {
          seen.closed = true;
          controller.close();
          return;
        }
        seen.pulled += 1;
        seen.bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        seen.cancelled = true;
      },
    });
    return { seen, body };
  }

  it("reads a short 2xx answer to its end, cuts a long one after 64 KB (still a success), and keeps an error's first 200 characters", async () => {
    const { id: merchantId, opts } = await newMerchant("answers");
    const short = await createEndpoint(receiverHook("answers-short").url, ["payment_intent.created"], opts);
    const long = await createEndpoint(receiverHook("answers-long").url, ["payment_intent.created"], opts);
    const failing = await createEndpoint(receiverHook("answers-error").url, ["payment_intent.created"], opts);
    const answers = new Map([
      [short.url, observed(3, 1000)],
      [long.url, observed(Infinity, 16 * 1024)],
      [failing.url, observed(1, 300, "e")],
    ]);
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const answer = answers.get(url);
      if (!answer) throw new Error(`unexpected fetch of ${url}`);
      return new Response(answer.body, { status: url === failing.url ? 500 : 200 });
    });
    try {
      const msgs = [
        ...(await pendingDeliveries(merchantId, short.id, "answers", 1)),
        ...(await pendingDeliveries(merchantId, long.id, "answers", 1)),
        ...(await pendingDeliveries(merchantId, failing.id, "answers", 1)),
      ];
      await deliverAttempts({ ...env, WEBHOOK_RETRY_SCHEDULE: "10m,20m" }, msgs);
    } finally {
      fetchSpy.mockRestore();
    }
    expect(answers.get(short.url)?.seen).toEqual({ pulled: 3, bytes: 3000, closed: true, cancelled: false });
    const longSeen = answers.get(long.url)?.seen;
    expect(longSeen?.cancelled).toBe(true);
    expect(longSeen?.bytes).toBeGreaterThan(64 * 1024);
    expect(longSeen?.bytes).toBeLessThanOrEqual(64 * 1024 + 3 * 16 * 1024); // what the stream may have queued ahead
    const rows = await env.DB.prepare("SELECT endpoint_id AS endpoint, status, last_status_code AS code, last_error AS error FROM webhook_deliveries WHERE merchant_id = ?")
      .bind(merchantId)
      .all<{ endpoint: string; status: string; code: number; error: string | null }>();
    const of = (endpoint: string) => rows.results.find((r) => r.endpoint === endpoint);
    expect(of(short.id)).toMatchObject({ status: "succeeded", code: 200, error: null });
    expect(of(long.id)).toMatchObject({ status: "succeeded", code: 200, error: null });
    expect(of(failing.id)).toMatchObject({ status: "pending", code: 500, error: `HTTP 500: ${"e".repeat(200)}` });
  });
});

describe("a message that comes before its delivery is due", () => {
  it("is not attempted: it goes back to the queue with the rest of the wait as its delay", async () => {
    const { id: merchantId, opts } = await newMerchant("early");
    const hook = receiverHook("early");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const [msg] = await pendingDeliveries(merchantId, endpoint.id, "early", 1);
    if (!msg) throw new Error("no delivery");
    // Due in two hours: a retry whose wait was longer than the queue's delay allowed.
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?").bind(Date.now() + 2 * 3600_000, msg.deliveryId).run();
    const sent: MessageSendRequest<unknown>[] = [];
    const queue = { sendBatch: async (batch: Iterable<MessageSendRequest<unknown>>) => void sent.push(...batch) } as unknown as Queue;
    await deliverAttempts({ ...env, WEBHOOK_QUEUE: queue }, [msg, msg]);
    expect(await receivedBy(hook.name)).toHaveLength(0);
    expect(sent.map((m) => m.body)).toEqual([msg, msg]);
    for (const m of sent) expect(m.delaySeconds).toBeGreaterThan(2 * 3600 - 60);
    const row = await env.DB.prepare("SELECT status, attempts, lease_until AS lease FROM webhook_deliveries WHERE id = ?").bind(msg.deliveryId).first();
    expect(row).toEqual({ status: "pending", attempts: 0, lease: null });
  });
});
