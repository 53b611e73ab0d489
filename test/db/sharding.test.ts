// Two merchants on two D1 databases (vitest.config.ts: D1_SHARDS puts acct_shard_far on DB_SHARD_1;
// acct_shard_home stays on DB, which is also the directory). Each runs the whole life of a payment
// through the API, the intent's object, the queues and the cron; each one's rows must be in its own
// database only, and an operator's read across merchants must merge both with exact cursor pages.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker, { QUEUES } from "../../src/index";
import type { SweepMessage } from "../../src/sweeps";
import { DIRECTORY_TABLES } from "../../src/db/shards";
import {
  addConnector,
  bearer,
  createEndpoint,
  createIntent,
  get,
  hsToken,
  post,
  receivedBy,
  receiverHook,
  recordingQueue,
  seedMerchant,
  uniqueKey,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
} from "../helpers";

const HOME = { id: "acct_shard_home", key: "sk_test_shard_home_0001" };
const FAR = { id: "acct_shard_far", key: "sk_test_shard_far_0001" };

interface Run {
  merchant: string;
  opts: CallOptions;
  intents: string[];
  refund: string;
  customer: string;
  hook: string;
}

/** Rows of `table` whose merchant_id is `merchant`, in one database. */
async function count(d1: D1Database, table: string, merchant: string): Promise<number> {
  const row = await d1.prepare(`SELECT count(*) AS n FROM ${table} WHERE merchant_id = ?`).bind(merchant).first<{ n: number }>();
  return row?.n ?? 0;
}

/** The life of a payment for one merchant: customer, endpoint, create, confirm, capture, refund. */
async function live(merchant: { id: string; key: string }): Promise<Run> {
  const opts: CallOptions = { key: merchant.key };
  const hook = receiverHook(merchant.id);
  await createEndpoint(hook.url, ["*"], opts);
  const customer = await post<{ id: string }>("/v1/customers", { email: `${merchant.id}@example.com`, name: merchant.id }, opts);
  expect(customer.status, JSON.stringify(customer.body)).toBe(200);
  const created = await createIntent({ amount: 4200, customer: customer.body.id, capture_method: "manual", metadata: { shard_order: `${merchant.id}-1` } }, { ...opts, idempotencyKey: uniqueKey("shard") });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}/confirm`, { payment_method: "pm_card_visa" }, opts);
  expect(confirmed.body.status).toBe("requires_capture");
  const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}/capture`, {}, opts);
  expect(captured.body.status).toBe("succeeded");
  const refund = await post<RefundJson>("/v1/refunds", { payment_intent: created.body.id, amount: 1000 }, opts);
  expect(refund.status, JSON.stringify(refund.body)).toBe(200);
  // A few more payments, so the cross-merchant pages below interleave both databases.
  const more: string[] = [];
  for (let i = 0; i < 2; i++) more.push((await createIntent({ amount: 100 + i, payment_method: "pm_card_visa", confirm: true }, opts)).body.id);
  // Seed 002's surface (its own sub-app and credentials check) lands on the same database.
  const sale = await post<{ data: { id: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("sale"), amountCents: 1500, token: "9418594164541111", expiry: "1239", currency: "USD" }, opts);
  expect(sale.status, JSON.stringify(sale.body)).toBe(201);
  more.push(sale.body.data.id);
  return { merchant: merchant.id, opts, intents: [created.body.id, ...more], refund: refund.body.id, customer: customer.body.id, hook: hook.name };
}

let home: Run;
let far: Run;

beforeAll(async () => {
  await seedMerchant(HOME.id, "Home shard merchant", "key_shard_home", HOME.key, false);
  await seedMerchant(FAR.id, "Far shard merchant", "key_shard_far", FAR.key, false);
  // One after the other, so `created` times of the two merchants interleave in a known way.
  home = await live(HOME);
  far = await live(FAR);
}, 60_000);

describe("two merchants on two D1 databases", () => {
  it("keeps each merchant's rows in its own database, and the directory on DB", async () => {
    // The read model is written by the intent's object after each transition: wait for the refund.
    await waitFor(async () => (await count(env.DB_SHARD_1, "refunds", FAR.id)) === 1 && (await count(env.DB, "refunds", HOME.id)) === 1, 15_000, "refund rows");
    for (const table of ["payment_intents", "charges", "refunds", "customers", "webhook_endpoints", "audit_log", "idempotency_claims"]) {
      const [homeOnDb, homeOnShard, farOnDb, farOnShard] = await Promise.all([count(env.DB, table, HOME.id), count(env.DB_SHARD_1, table, HOME.id), count(env.DB, table, FAR.id), count(env.DB_SHARD_1, table, FAR.id)]);
      expect({ table, homeOnShard, farOnDb }).toEqual({ table, homeOnShard: 0, farOnDb: 0 });
      expect({ table, homeOnDb: homeOnDb > 0, farOnShard: farOnShard > 0 }).toEqual({ table, homeOnDb: true, farOnShard: true });
    }
    expect(await count(env.DB_SHARD_1, "payment_intents", FAR.id)).toBe(4);
    // Merchants and keys are looked up before the merchant is known: they stay in the directory.
    for (const table of ["api_keys"]) {
      expect(await count(env.DB, table, FAR.id)).toBe(1);
      expect(await count(env.DB_SHARD_1, table, FAR.id)).toBe(0);
    }
    // Every directory table of the shard stays as its migrations left it (gateway 1, the sandbox, is seeded everywhere).
    for (const table of DIRECTORY_TABLES) {
      const rows = await env.DB_SHARD_1.prepare(`SELECT count(*) AS n FROM ${table} ${table === "gateway_numbers" ? "WHERE account_id <> 'sandbox'" : ""}`).first<{ n: number }>();
      expect({ table, rows: rows?.n }).toEqual({ table, rows: 0 });
    }
  });

  it("lists, retrieves and searches each merchant's payments from its own database, never the other's", async () => {
    for (const [run, other] of [
      [home, far],
      [far, home],
    ] as const) {
      const list = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100", run.opts);
      expect(list.body.data.map((p) => p.id).sort()).toEqual([...run.intents].sort());
      const refunds = await get<ListJson<RefundJson>>("/v1/refunds?limit=100", run.opts);
      expect(refunds.body.data.map((r) => r.id)).toEqual([run.refund]);
      const search = await waitFor(async () => {
        const res = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents/search?query=${encodeURIComponent(`metadata['shard_order']:'${run.merchant}-1'`)}`, run.opts);
        return res.body.data?.length ? res : undefined;
      }, 15_000, "search");
      expect(search.body.data.map((p) => p.id)).toEqual([run.intents[0]]);
      const bySearch = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents/search?query=${encodeURIComponent(`customer:'${run.customer}'`)}`, run.opts);
      expect(bySearch.body.data.map((p) => p.id)).toEqual([run.intents[0]]);
      // The other merchant's objects are 404s, as on one database.
      expect((await get(`/v1/payment_intents/${other.intents[0]}`, run.opts)).status).toBe(404);
      expect((await get(`/v1/customers/${other.customer}`, run.opts)).status).toBe(404);
    }
  });

  it("delivers each merchant's webhooks from its own database", async () => {
    for (const run of [home, far]) {
      const types = await waitFor(
        async () => {
          const seen = (await receivedBy(run.hook)).map((r) => JSON.parse(r.body) as { type: string; data: { object: { id: string } } });
          const names = new Set(seen.map((e) => e.type));
          return names.has("charge.refunded") && names.has("payment_intent.succeeded") && names.has("payment_intent.amount_capturable_updated") ? seen : undefined;
        },
        20_000,
        `webhooks of ${run.merchant}`,
      );
      // Only this merchant's objects reach its endpoint.
      const ids = new Set(types.map((e) => e.data.object.id));
      for (const id of run === home ? far.intents : home.intents) expect(ids.has(id)).toBe(false);
    }
    const farDeliveries = await env.DB_SHARD_1.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE merchant_id = ? AND status = 'succeeded'").bind(FAR.id).first<{ n: number }>();
    expect(farDeliveries?.n).toBeGreaterThan(0);
    expect(await count(env.DB, "webhook_deliveries", FAR.id)).toBe(0);
    expect(await count(env.DB, "events", FAR.id)).toBe(0);
    expect(await count(env.DB_SHARD_1, "events", FAR.id)).toBeGreaterThan(0);
  });

  it("an admin's search across merchants merges both databases, newest first, with exact cursor pages", async () => {
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const expected = [...home.intents, ...far.intents];
    for (const limit of [1, 3, 5]) {
      const seen: PaymentIntentJson[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const res: { status: number; body: { data: PaymentIntentJson[]; has_more: boolean; next_cursor: string | null } } = await get(`/v1/admin/payments/search?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, admin);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(limit);
        seen.push(...res.body.data);
        if (!res.body.has_more) break;
        cursor = res.body.next_cursor;
      }
      const ids = seen.map((p) => p.id);
      expect(new Set(ids).size, `limit ${limit}: no payment twice`).toBe(ids.length);
      expect([...ids].sort(), `limit ${limit}: every payment`).toEqual([...expected].sort());
      // Newest first: each page's order continues the previous one's.
      const created = seen.map((p) => p.created);
      expect(created).toEqual([...created].sort((a, b) => b - a));
    }
    // One merchant named: only its database.
    const farOnly = await get<{ data: PaymentIntentJson[] }>(`/v1/admin/payments/search?merchant=${FAR.id}&limit=100`, admin);
    expect(farOnly.body.data.map((p) => p.id).sort()).toEqual([...far.intents].sort());
    // Admin with Merchant-Id acts as that merchant, on its database.
    const asFar = bearer(await hsToken({ roles: ["admin"], merchant: FAR.id }));
    const list = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100", asFar);
    expect(list.body.data.map((p) => p.id).sort()).toEqual([...far.intents].sort());
  });

  it("an admin's audit log across merchants pages through both databases", async () => {
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const seen: { id: string; merchant: string; created_ms: number }[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const res: { status: number; body: { data: { id: string; merchant: string; created_ms: number }[]; has_more: boolean; next_cursor: string | null } } = await get(`/v1/admin/audit_log?limit=2${cursor ? `&cursor=${cursor}` : ""}`, admin);
      expect(res.status).toBe(200);
      seen.push(...res.body.data);
      if (!res.body.has_more) break;
      cursor = res.body.next_cursor;
    }
    const total = (await env.DB.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>())?.n ?? 0;
    const totalFar = (await env.DB_SHARD_1.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>())?.n ?? 0;
    expect(totalFar).toBeGreaterThan(0);
    expect(seen).toHaveLength(total + totalFar);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(new Set(seen.map((e) => e.merchant))).toEqual(new Set([HOME.id, FAR.id, ...seen.map((e) => e.merchant).filter((m) => m !== HOME.id && m !== FAR.id)]));
    expect(seen.some((e) => e.merchant === FAR.id) && seen.some((e) => e.merchant === HOME.id)).toBe(true);
  });

  it("seed 000's lists for admin across merchants merge both databases by payment number, with beforeId pages", async () => {
    const token = await hsToken({ roles: ["admin"], merchant: null, sub: "admin-shards" });
    const list = (query: string) => exports.default.fetch(new Request(`http://gateway.test/api/v1/PaymentIntents${query}`, { headers: { authorization: `Bearer ${token}` } }));
    const seen: { id: number; gatewayIntentId: string }[] = [];
    let before: number | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const res = await list(`?limit=3${before === null ? "" : `&beforeId=${before}`}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { id: number; gatewayIntentId: string }[];
      seen.push(...page);
      if (page.length < 3) break;
      before = page[page.length - 1]?.id ?? null;
    }
    expect(seen.map((p) => p.gatewayIntentId).sort()).toEqual([...home.intents, ...far.intents].sort());
    const numbers = seen.map((p) => p.id);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    // The far database numbers from its own range, so a number names one payment across databases.
    const farOne = seen.find((p) => p.gatewayIntentId === far.intents[0]);
    expect(farOne?.id).toBeGreaterThan(1_000_000_000_000);
    const one = await exports.default.fetch(new Request(`http://gateway.test/api/v1/PaymentIntents/${String(farOne?.id)}`, { headers: { authorization: `Bearer ${token}` } }));
    expect(((await one.json()) as { gatewayIntentId: string }).gatewayIntentId).toBe(far.intents[0]);
  });

  it("a sharded merchant's PSP accounts are in the directory, and its payments route through them", async () => {
    const account = await addConnector(far.opts, { connector: "sandbox", description: "far sandbox" });
    expect(await count(env.DB, "connector_accounts", FAR.id)).toBe(1);
    expect(await count(env.DB_SHARD_1, "connector_accounts", FAR.id)).toBe(0);
    const paid = await createIntent({ amount: 333, payment_method: "pm_card_visa", confirm: true }, far.opts);
    expect(paid.body.status).toBe("succeeded");
    const attempts = await get<ListJson<{ connector_account: string | null }>>(`/v1/payment_intents/${paid.body.id}/transactions`, far.opts);
    expect(attempts.body.data.map((t) => t.connector_account)).toContain(account.id);
    far.intents.push(paid.body.id);
  });

  it("a hosted checkout page finds the far merchant's session on its database and completes it there", async () => {
    const created = await post<{ id: string; url: string; payment_intent: string }>(
      "/v1/checkout/sessions",
      { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 900, product_data: { name: "Far mug" } }, quantity: 1 }], success_url: "https://shop.example/thanks" },
      far.opts,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(await count(env.DB_SHARD_1, "checkout_sessions", FAR.id)).toBe(1);
    expect(await count(env.DB, "checkout_sessions", FAR.id)).toBe(0);
    const path = new URL(created.body.url).pathname;
    const page = await exports.default.fetch(new Request(`http://gateway.test${path}`));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Far mug");
    const paid = await exports.default.fetch(
      new Request(`http://gateway.test${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ card_number: "4242424242424242", expiry: "12 / 34", cvc: "123" }), redirect: "manual" }),
    );
    expect(paid.status).toBe(303);
    const after = await get<{ status: string; payment_status: string }>(`/v1/checkout/sessions/${created.body.id}`, far.opts);
    expect(after.body).toMatchObject({ status: "complete", payment_status: "paid" });
    const row = await env.DB_SHARD_1.prepare("SELECT status FROM checkout_sessions WHERE id = ?").bind(created.body.id).first<{ status: string }>();
    expect(row?.status).toBe("complete");
  });

  it("the cron sweeps every database", async () => {
    // An authorization past its 7 days on the far database: the sweep over DB_SHARD_1 must expire it.
    const held = await createIntent({ amount: 777, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, far.opts);
    expect(held.body.status).toBe("requires_capture");
    await waitFor(async () => (await env.DB_SHARD_1.prepare("SELECT status FROM payment_intents WHERE id = ?").bind(held.body.id).first<{ status: string }>())?.status === "requires_capture", 10_000, "read model");
    const later = Date.now() + 8 * 86_400_000;
    await worker.scheduled(createScheduledController({ scheduledTime: later, cron: "* * * * *" }), env);
    const after = await get<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}`, far.opts);
    expect(after.body.status).toBe("canceled");
  });

  it("above SWEEP_INLINE_MAX_DATABASES the cron queues one sweep per database, and each message sweeps its own database", async () => {
    const held = await createIntent({ amount: 778, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, far.opts);
    expect(held.body.status).toBe("requires_capture");
    await waitFor(async () => (await env.DB_SHARD_1.prepare("SELECT status FROM payment_intents WHERE id = ?").bind(held.body.id).first<{ status: string }>())?.status === "requires_capture", 10_000, "read model");
    const later = Date.now() + 8 * 86_400_000;
    const sent: unknown[] = [];
    // Two databases here: a limit of 1 makes the cron fan out.
    const many = { ...env, SWEEP_INLINE_MAX_DATABASES: "1", SWEEP_QUEUE: recordingQueue<SweepMessage>(sent) };
    await worker.scheduled(createScheduledController({ scheduledTime: later, cron: "* * * * *" }), many);
    expect(sent).toEqual([
      { shard: "DB", now: later },
      { shard: "DB_SHARD_1", now: later },
    ]);
    // The cron swept nothing itself.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}`, far.opts)).body.status).toBe("requires_capture");

    const consume = async (body: unknown) => {
      const batch = createMessageBatch<unknown>(QUEUES.sweeps, [{ id: `sweep-${sent.indexOf(body)}-${Date.now()}`, timestamp: new Date(), attempts: 1, body }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      return getQueueResult(batch, ctx);
    };
    // The directory's message leaves the far database alone; the far database's message sweeps it.
    expect((await consume(sent[0])).explicitAcks).toHaveLength(1);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}`, far.opts)).body.status).toBe("requires_capture");
    expect((await consume(sent[1])).explicitAcks).toHaveLength(1);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}`, far.opts)).body.status).toBe("canceled");

    // A message naming a database the shard map does not have is dropped, not retried forever.
    const unknown = await consume({ shard: "DB_GONE", now: later } satisfies SweepMessage);
    expect(unknown.explicitAcks).toHaveLength(1);
    expect(unknown.retryMessages).toHaveLength(0);
  });
});
