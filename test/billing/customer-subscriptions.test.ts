// A customer's many subscriptions: at most 500 that have not ended (Stripe's limit), counted in the
// statement that inserts one, so creates racing at the limit cannot pass it together; and deleting a
// customer (or a test clock) with hundreds of them cancels each, with its event and its open invoice
// voided, in a number of D1 queries that does not grow with them. One at a time took four or more
// queries a subscription, and D1 answers at most 1,000 a Worker invocation.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { CANCEL_CHUNK } from "../../src/billing/subscriptions";
import { MAX_CUSTOMER_SUBSCRIPTIONS } from "../../src/billing/store";
import type { EventRecord } from "../../src/core/types";
import { subscriptions } from "../../src/db/schema";
import worker from "../../src/index";
import { planOf, recording, type Captured } from "../db/recording";
import { call, expectError, get, newMerchant, post, type CallOptions, type PaymentIntentJson, ok } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  latest_invoice: string | { id: string; status: string; payment_intent: string | PaymentIntentJson | null } | null;
}

interface Setup {
  merchantId: string;
  opts: CallOptions;
  key: string;
  customer: string;
  price: string;
}

async function setup(label: string, clock?: string): Promise<Setup> {
  const m = await newMerchant(label);
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, ...(clock ? { test_clock: clock } : {}) }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Seat" } }, m.opts));
  return { merchantId: m.id, opts: m.opts, key: m.key, customer: customer.id, price: price.id };
}

/** `count` copies of a subscription's row (new ids), with `status` when given: the bulk a test needs without `count` API calls. */
async function copies(of: string, count: number, tag: string, status?: string): Promise<void> {
  const columns = Object.values(getTableColumns(subscriptions)).map((c) => c.name);
  const values = columns.map((c) => (c === "id" ? `'sub_${tag}_' || i` : c === "status" && status ? `'${status}'` : c));
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) ` +
      `INSERT INTO subscriptions (${columns.join(", ")}) SELECT ${values.join(", ")} FROM subscriptions, n WHERE subscriptions.id = ?1`,
  )
    .bind(of, count)
    .run();
}

const countOf = async (sql: string, ...binds: unknown[]) => ((await env.DB.prepare(sql).bind(...binds).first<{ n: number }>()) ?? { n: 0 }).n;
const liveOf = (customer: string) => countOf("SELECT count(*) AS n FROM subscriptions WHERE customer = ? AND status NOT IN ('canceled', 'incomplete_expired')", customer);

/** D1 counting its round trips (a statement run alone, or a batch), and recording what is prepared through it. */
function counted(d1: D1Database, tally: { queries: number }, captured: Captured[]): D1Database {
  const recorded = recording(d1, captured);
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(s, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(s.bind(...values));
        const v: unknown = Reflect.get(s, prop, s);
        if (typeof v !== "function") return v;
        const f = v as (...args: unknown[]) => unknown;
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            tally.queries++;
            return f.apply(s, args);
          };
        }
        return f.bind(s);
      },
    });
    real.set(proxy, stmt);
    return proxy;
  };
  return new Proxy(recorded, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          tally.queries++;
          return target.batch(statements.map((s) => real.get(s) ?? s));
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A request through the Worker with its D1 counted and recorded. */
async function countedCall(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; queries: number; captured: Captured[] }> {
  const tally = { queries: 0 };
  const captured: Captured[] = [];
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await worker.fetch(new Request(`http://gateway.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), { ...env, DB: counted(env.DB, tally, captured) }, ctx);
  const json = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: json, queries: tally.queries, captured };
}

/** The plan of the one captured statement that matches, asserted to read through `index` and to scan nothing. */
async function expectIndexed(captured: Captured[], match: RegExp, index: string): Promise<void> {
  const statement = captured.find((c) => match.test(c.sql));
  expect(statement, `a statement matching ${match}`).toBeDefined();
  const plan = (await planOf(statement!)).join("\n");
  expect(plan, plan).toContain(index);
  expect(plan, plan).not.toMatch(/\bSCAN (subscriptions|invoices|prices)\b/);
}

describe("a customer's subscriptions", () => {
  it(`are at most ${MAX_CUSTOMER_SUBSCRIPTIONS} that have not ended: two creates racing for the last place get one subscription, the other a 400 that changes nothing`, async () => {
    const s = await setup("sub-cap");
    const first = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 7 }, s.opts));
    await copies(first.id, MAX_CUSTOMER_SUBSCRIPTIONS - 2, "cap_live");
    // Ended ones do not count.
    await copies(first.id, 20, "cap_canceled", "canceled");
    await copies(first.id, 5, "cap_expired", "incomplete_expired");
    expect(await liveOf(s.customer)).toBe(MAX_CUSTOMER_SUBSCRIPTIONS - 1);
    const invoicesBefore = await countOf("SELECT count(*) AS n FROM invoices WHERE customer = ?", s.customer);
    const eventsBefore = await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.created'", s.merchantId);

    const raced = await Promise.all([0, 1].map(() => post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 7 }, s.opts)));
    expect(raced.map((r) => r.status).sort()).toEqual([200, 400]);
    const refused = raced.find((r) => r.status === 400)!;
    expect(expectError(refused, 400, "customer_max_subscriptions")).toMatchObject({ param: "customer" });
    expect(await liveOf(s.customer)).toBe(MAX_CUSTOMER_SUBSCRIPTIONS);
    // The refused create made no invoice and no event.
    expect(await countOf("SELECT count(*) AS n FROM invoices WHERE customer = ?", s.customer)).toBe(invoicesBefore + 1);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.created'", s.merchantId)).toBe(eventsBefore + 1);

    // A payment-taking create at the limit charges nothing.
    expectError(await post("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts), 400, "customer_max_subscriptions");
    expect(await countOf("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?", s.merchantId)).toBe(0);

    // Ending one frees its place; the count is read through the partial index of the live ones.
    await ok(call("DELETE", `/v1/subscriptions/${first.id}`, s.opts));
    const again = await countedCall("POST", "/v1/subscriptions", s.key, { customer: s.customer, price: s.price, trial_period_days: 7 });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await expectIndexed(again.captured, /^INSERT INTO subscriptions/, "subscriptions_customer_live");
    expect(await liveOf(s.customer)).toBe(MAX_CUSTOMER_SUBSCRIPTIONS);
  });

  it("are all canceled when the customer is deleted, in a number of D1 queries that does not grow with them", async () => {
    const s = await setup("sub-bulk-delete");
    const paid = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(paid.status).toBe("active");
    // One waits on its first invoice's intent: deleting the customer cancels that intent and voids the invoice.
    const waiting = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts));
    const invoice = waiting.latest_invoice as { id: string; status: string; payment_intent: PaymentIntentJson };
    expect(invoice.status).toBe("open");
    const bulk = 3 * CANCEL_CHUNK + 7;
    await copies(paid.id, bulk, "bulk_live");
    await copies(paid.id, 30, "bulk_ended", "canceled");
    const live = bulk + 2;
    expect(await liveOf(s.customer)).toBe(live);

    const deleted = await countedCall("DELETE", `/v1/customers/${s.customer}`, s.key);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toEqual({ id: s.customer, object: "customer", deleted: true });

    expect(await liveOf(s.customer)).toBe(0);
    expect(await countOf("SELECT count(*) AS n FROM subscriptions WHERE customer = ? AND status = 'canceled'", s.customer)).toBe(live + 30);
    // Each live one got its customer.subscription.deleted event, once; the ended ones none.
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.deleted'", s.merchantId)).toBe(live);
    expect(await countOf("SELECT count(DISTINCT json_extract(data, '$.object.id')) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.deleted'", s.merchantId)).toBe(live);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.deleted'", s.merchantId)).toBe(1);
    expect((await get<{ status: string }>(`/v1/invoices/${invoice.id}`, s.opts)).body.status).toBe("void");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${invoice.payment_intent.id}`, s.opts)).body.status).toBe("canceled");

    // 159 subscriptions: one at a time made 4 a subscription (about 640); in chunks of 50, 4 chunks of about 5.
    expect(deleted.queries).toBeLessThan(40);
    await expectIndexed(deleted.captured, /from "subscriptions" where \("subscriptions"\."customer" = \?/i, "subscriptions_customer_live");
    await expectIndexed(deleted.captured, /from "invoices" where/i, "invoices_subscription");
    await expectIndexed(deleted.captured, /from "prices" where/i, "sqlite_autoindex_prices_1");
    await expectIndexed(deleted.captured, /from "subscriptions" where "subscriptions"\."id" IN/i, "sqlite_autoindex_subscriptions_1");

    // A second delete finds the customer gone and changes nothing.
    expect((await call("DELETE", `/v1/customers/${s.customer}`, s.opts)).status).toBe(404);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.deleted'", s.merchantId)).toBe(live);
  });

  it("on a test clock are all canceled when the clock is deleted, in chunks too", async () => {
    const m = await newMerchant("sub-bulk-clock");
    const clock = await ok(post<{ id: string; frozen_time: number }>("/v1/test_helpers/test_clocks", { frozen_time: Math.floor(Date.parse("2026-03-01T00:00:00Z") / 1000) }, m.opts));
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "clock@example.com", test_clock: clock.id }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "eur", recurring: { interval: "month" }, product_data: { name: "Seat" } }, m.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts));
    await copies(sub.id, 2 * CANCEL_CHUNK + 1, "clock_live");
    const live = 2 * CANCEL_CHUNK + 2;

    // A customer of the clock deleted on its own ends its subscription at the clock's time too.
    const single = await ok(post<{ id: string }>("/v1/customers", { email: "single@example.com", test_clock: clock.id }, m.opts));
    await ok(post(`/v1/customers/${single.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const own = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: single.id, price: price.id }, m.opts));
    expect((await call("DELETE", `/v1/customers/${single.id}`, m.opts)).status).toBe(200);
    expect(await env.DB.prepare("SELECT status, ended_at AS endedAt FROM subscriptions WHERE id = ?").bind(own.id).first()).toEqual({ status: "canceled", endedAt: clock.frozen_time * 1000 });

    const deleted = await countedCall("DELETE", `/v1/test_helpers/test_clocks/${clock.id}`, m.key);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(await liveOf(customer.id)).toBe(0);
    expect(await countOf("SELECT count(*) AS n FROM subscriptions WHERE customer = ? AND ended_at = ?", customer.id, clock.frozen_time * 1000)).toBe(live);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.deleted'", m.id)).toBe(live + 1);
    expect(deleted.queries).toBeLessThan(30);
  });

  it("that pay with a card being detached lose it as their default, each with its event, handed to the queue 50 at a time", async () => {
    const s = await setup("sub-bulk-detach");
    const other = await ok(post<{ id: string }>(`/v1/customers/${s.customer}/payment_methods`, { payment_method: "tok_mastercard" }, s.opts));
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, default_payment_method: other.id }, s.opts));
    await copies(sub.id, 119, "detach_live");
    const batches: number[] = [];
    const queue = new Proxy(env.EVENTS_QUEUE, {
      get(target, prop) {
        if (prop === "sendBatch") {
          return (messages: Iterable<MessageSendRequest<EventRecord>>, options?: QueueSendBatchOptions) => {
            const list = [...messages];
            batches.push(list.length);
            return target.sendBatch(list, options);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const tally = { queries: 0 };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test/v1/payment_methods/${other.id}/detach`, { method: "POST", headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" }, body: "{}" }),
      { ...env, DB: counted(env.DB, tally, []), EVENTS_QUEUE: queue },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await countOf("SELECT count(*) AS n FROM subscriptions WHERE customer = ? AND default_payment_method = ?", s.customer, other.id)).toBe(0);
    // 120 customer.subscription.updated and the payment_method.detached, in batches the queue takes.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(121);
    expect(Math.max(...batches)).toBeLessThanOrEqual(50);
    expect(tally.queries).toBeLessThan(15);
  });

  it("whose invoices' intents could not all be abandoned still get the others voided: a retry would not come back to them", async () => {
    const s = await setup("sub-bulk-partial");
    const subs: SubscriptionJson[] = [];
    for (let i = 0; i < 2; i++) subs.push(await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, s.opts)));
    // The invoices are read in the order of their subscriptions' ids: the second one's intent fails.
    subs.sort((a, b) => (a.id < b.id ? -1 : 1));
    const [first, second] = subs.map((sub) => sub.latest_invoice as { id: string; payment_intent: PaymentIntentJson });
    const broken = second?.payment_intent.id ?? "";
    const intents = new Proxy(env.PAYMENT_INTENTS, {
      get(target, prop) {
        if (prop === "get") {
          return (id: DurableObjectId) => {
            if (id.equals(target.idFromName(broken))) throw new Error("the intent's object is unreachable (injected)");
            return target.get(id);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://gateway.test/v1/customers/${s.customer}`, { method: "DELETE", headers: { authorization: `Bearer ${s.key}` } }), { ...env, PAYMENT_INTENTS: intents }, ctx);
    await res.text();
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
    const statusOf = async (id: string) => (await env.DB.prepare("SELECT status FROM invoices WHERE id = ?").bind(id).first<{ status: string }>())?.status;
    expect(await statusOf(first?.id ?? "")).toBe("void");
    expect(await statusOf(second?.id ?? "")).toBe("open");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${first?.payment_intent.id ?? ""}`, s.opts)).body.status).toBe("canceled");
  });

  it("that changed between the chunk's read and its write are canceled on their own, once", async () => {
    const s = await setup("sub-bulk-race");
    const paid = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    await copies(paid.id, 10, "race_live");
    // A concurrent change lands between the chunk's read and its write: when the chunk's first
    // versioned cancel is prepared, one subscription's version moves on before the batch runs, so the
    // chunk's update of it changes nothing.
    const bumped: string[] = [];
    let bump: Promise<unknown> | null = null;
    const racing: D1Database = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            if (!bump && query.startsWith("UPDATE subscriptions SET status")) {
              bumped.push("sub_race_live_3");
              bump = target.prepare("UPDATE subscriptions SET version = version + 1, metadata = '{\"touched\":\"1\"}' WHERE id = ?").bind("sub_race_live_3").run();
            }
            return target.prepare(query);
          };
        }
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (bump) await bump;
            return target.batch(statements);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://gateway.test/v1/customers/${s.customer}`, { method: "DELETE", headers: { authorization: `Bearer ${s.key}` } }), { ...env, DB: racing }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(bumped).toEqual(["sub_race_live_3"]);
    expect(await liveOf(s.customer)).toBe(0);
    const touched = await env.DB.prepare("SELECT status, metadata FROM subscriptions WHERE id = 'sub_race_live_3'").first<{ status: string; metadata: string }>();
    expect(touched).toEqual({ status: "canceled", metadata: '{"touched":"1"}' });
    expect(await countOf("SELECT count(*) AS n FROM events WHERE merchant_id = ? AND type = 'customer.subscription.deleted'", s.merchantId)).toBe(11);
  });
});
