// A delivery batch POSTs at most DELIVERY_CONCURRENCY at once (deployed, a Worker invocation has six
// connections waiting for headers; a seventh fetch would wait with its timeout already running) and
// at most DELIVERY_CONCURRENCY_PER_ENDPOINT to one endpoint, so a slow endpoint holds two of the six
// connections and the other endpoints' deliveries go ahead of its queue.
import { describe, expect, it } from "vitest";
import { boundedByKey, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT } from "../../src/webhooks/deliver";

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

describe("delivery concurrency within a batch", () => {
  it("at most six at once, two per endpoint: a stuck endpoint keeps two, the rest of the batch goes through the other four", async () => {
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
    // Then the stuck endpoint's queue drains, two at a time.
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
    expect(Math.max(...c.peakPerKey.values())).toBe(2);
    expect(c.peakPerKey.get("we_stuck")).toBe(2);
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
});
