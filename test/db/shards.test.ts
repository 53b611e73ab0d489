// The shard resolver (src/db/shards.ts) on its own: reading D1_SHARDS, month bindings of big
// merchants, the env a request or a queue message gets, and the merge of pages across databases.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import {
  directoryDb,
  envOfMessage,
  everyShard,
  findOnShards,
  merchantBindings,
  merchantEnv,
  mergedPage,
  monthOf,
  parseShardMap,
  shardBinding,
  shardEnv,
  shardFor,
  type Ordered,
} from "../../src/db/shards";
import { refusal } from "../../src/unconfigured";

/** An env with the suite's two databases and a shard map of our choosing. */
function withShards(map: Record<string, unknown> | undefined): Env {
  return { ...env, D1_SHARDS: map === undefined ? undefined : JSON.stringify(map) };
}

describe("D1_SHARDS", () => {
  it("without it, every merchant is on DB and the env is returned as it is", () => {
    const plain = withShards(undefined);
    expect(shardBinding(plain, "acct_any")).toBe("DB");
    expect(shardFor(plain, "acct_any")).toBe(plain.DB);
    expect(merchantEnv(plain, "acct_any")).toBe(plain);
    expect(everyShard(plain)).toEqual([plain]);
    expect(envOfMessage(plain, { deliveryId: "wd_1", attempt: 1 })).toBe(plain);
  });

  it("maps a merchant to a binding; an unmapped merchant stays on DB", () => {
    const sharded = withShards({ acct_far: "DB_SHARD_1" });
    expect(shardBinding(sharded, "acct_far")).toBe("DB_SHARD_1");
    expect(shardFor(sharded, "acct_far")).toBe(env.DB_SHARD_1);
    expect(shardBinding(sharded, "acct_near")).toBe("DB");
    expect(merchantEnv(sharded, "acct_near")).toBe(sharded);
    const far = merchantEnv(sharded, "acct_far");
    expect(far.DB).toBe(env.DB_SHARD_1);
    // The same env object each time (config() stays cached), and the directory is still reachable.
    expect(merchantEnv(sharded, "acct_far")).toBe(far);
    expect(directoryDb(far)).toBe(env.DB);
    expect(merchantEnv(far, "acct_near")).toBe(sharded);
    expect(everyShard(far).map((e) => e.DB)).toEqual([env.DB, env.DB_SHARD_1]);
  });

  it("splits a big merchant by the month an object was created; other months use its home binding", () => {
    const sharded = withShards({ acct_big: { binding: "DB_SHARD_1", months: { "2026-11": "DB", "2026-12": "DB_SHARD_1" } } });
    expect(monthOf(Date.UTC(2026, 10, 30, 23, 59))).toBe("2026-11");
    expect(shardBinding(sharded, "acct_big", Date.UTC(2026, 10, 15))).toBe("DB");
    expect(shardBinding(sharded, "acct_big", Date.UTC(2026, 11, 1))).toBe("DB_SHARD_1");
    expect(shardBinding(sharded, "acct_big", Date.UTC(2025, 0, 1))).toBe("DB_SHARD_1");
    expect(shardBinding(sharded, "acct_big")).toBe("DB_SHARD_1");
    expect(merchantBindings(sharded, "acct_big")).toEqual(["DB_SHARD_1", "DB"]);
    expect(merchantBindings(sharded, "acct_small")).toEqual(["DB"]);
  });

  it("refuses a map it cannot read, or a binding that is not a D1 database", () => {
    expect(() => parseShardMap("{")).toThrow(/not JSON/);
    expect(() => parseShardMap("[]")).toThrow(/object/);
    expect(() => parseShardMap(JSON.stringify({ acct_x: "db lower" }))).toThrow(/D1 binding/);
    expect(() => parseShardMap(JSON.stringify({ acct_x: { binding: "DB_SHARD_1", months: { "2026-13": "DB" } } }))).toThrow(/YYYY-MM/);
    expect(() => parseShardMap(JSON.stringify({ acct_x: { binding: "DB_SHARD_1", region: "eu" } }))).toThrow(/unknown fields/);
    expect(parseShardMap("  ")).toBeNull();
    expect(() => shardFor(withShards({ acct_x: "PAYMENT_INTENTS" }), "acct_x")).toThrow(/not a D1 database/);
    expect(() => shardFor(withShards({ acct_x: "DB_MISSING" }), "acct_x")).toThrow(/not a D1 database/);
    // The gateway refuses to run with such a map (503 naming D1_SHARDS), as without a secret.
    expect(refusal(withShards({ acct_x: "DB_MISSING" }), "fetch")).toEqual(["D1_SHARDS"]);
    expect(refusal(withShards({ acct_x: "DB_SHARD_1" }), "fetch")).toBeNull();
    expect(refusal(withShards(undefined), "fetch")).toBeNull();
  });

  it("stamps webhook messages sent from a shard's env, and reads the stamp back", async () => {
    const sharded = withShards({ acct_far: "DB_SHARD_1" });
    const sent: unknown[] = [];
    const queue = {
      metrics: () => Promise.reject(new Error("unused")),
      send: (body: unknown) => {
        sent.push(body);
        return Promise.resolve({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
      },
      sendBatch: (messages: Iterable<{ body: unknown }>) => {
        for (const m of messages) sent.push(m.body);
        return Promise.resolve({ metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } });
      },
    } as unknown as Env["WEBHOOK_QUEUE"];
    const base: Env = { ...sharded, WEBHOOK_QUEUE: queue };
    const far = shardEnv(base, "DB_SHARD_1");
    await far.WEBHOOK_QUEUE.send({ deliveryId: "wd_1", attempt: 1 });
    await far.WEBHOOK_QUEUE.sendBatch([{ body: { deliveryId: "wd_2", attempt: 2 } }]);
    await base.WEBHOOK_QUEUE.send({ deliveryId: "wd_3", attempt: 1 });
    expect(sent).toEqual([
      { deliveryId: "wd_1", attempt: 1, shard: "DB_SHARD_1" },
      { deliveryId: "wd_2", attempt: 2, shard: "DB_SHARD_1" },
      { deliveryId: "wd_3", attempt: 1 },
    ]);
    expect(envOfMessage(base, sent[0])).toBe(far);
    expect(envOfMessage(base, sent[2])).toBe(base);
    expect(() => envOfMessage(base, { deliveryId: "wd_4", attempt: 1, shard: "DB_OTHER" })).toThrow(/not named by D1_SHARDS/);
  });
});

describe("pages across databases", () => {
  const rows = (prefix: string, times: number[]): Ordered[] => times.map((created, i) => ({ created, id: `${prefix}_${String(i).padStart(3, "0")}` }));

  it("walks every row of every database once, newest first, whatever the page size", async () => {
    // Two databases with interleaved times and ties on `created` (broken by id).
    const a = rows("pi_a", [100, 90, 90, 70, 50, 50, 10]);
    const b = rows("pi_b", [95, 90, 60, 50, 20]);
    const dbs = [env.DB, env.DB_SHARD_1];
    const contents = new Map<D1Database, Ordered[]>([
      [env.DB, a],
      [env.DB_SHARD_1, b],
    ]);
    const everything = [...a, ...b].sort((x, y) => y.created - x.created || (x.id < y.id ? 1 : -1));
    for (const limit of [1, 2, 3, 5, 12, 20]) {
      let cursor: Ordered | null = null;
      const seen: Ordered[] = [];
      for (let pages = 0; pages < 20; pages++) {
        const after: Ordered | null = cursor;
        const page: { rows: Ordered[]; hasMore: boolean } = await mergedPage(dbs, limit, (d1: D1Database, n: number): Promise<Ordered[]> =>
          Promise.resolve(
            (contents.get(d1) ?? [])
              .filter((r) => !after || r.created < after.created || (r.created === after.created && r.id < after.id))
              .sort((x, y) => y.created - x.created || (x.id < y.id ? 1 : -1))
              .slice(0, n),
          ),
        );
        seen.push(...page.rows);
        if (!page.hasMore) break;
        cursor = page.rows[page.rows.length - 1] ?? null;
      }
      expect(seen, `limit ${limit}`).toEqual(everything);
    }
  });
});

describe("findOnShards", () => {
  it("asks every database at once, and the first in the map's order that has the row answers", async () => {
    const sharded = withShards({ acct_far: "DB_SHARD_1" });
    const asked: string[] = [];
    const release = new Map<string, (value: string | null) => void>();
    const lookup = findOnShards(sharded, (d1) => {
      const name = d1 === env.DB ? "DB" : d1 === env.DB_SHARD_1 ? "DB_SHARD_1" : "other";
      asked.push(name);
      return new Promise<string | null>((resolve) => release.set(name, resolve));
    });
    // Both asked before either answered: the lookup is not one database after the other.
    expect(asked).toEqual(["DB", "DB_SHARD_1"]);
    release.get("DB_SHARD_1")?.("on the shard");
    release.get("DB")?.("on the directory");
    expect(await lookup).toBe("on the directory");

    expect(await findOnShards(sharded, async (d1) => (d1 === env.DB_SHARD_1 ? "only on the shard" : null))).toBe("only on the shard");
    expect(await findOnShards(sharded, async () => undefined)).toBeNull();
  });
});
