// Deleting a test clock deletes its customers as DELETE /v1/customers deletes one: each customer's
// subscriptions end at the clock's time with their customer.subscription.deleted, and the customer is
// deleted with its customer.deleted, in the transaction that deletes the clock (with Stripe's
// test_helpers.test_clock.deleted). The events are listed by GET /v1/events and sent to the
// merchant's endpoints, each once: a second delete is a 404 that sends nothing, two racing deletes
// send each event once, and a customer that joins the clock while it is being deleted is deleted
// with its event too, never silently; a subscription created meanwhile for one of its customers is
// ended with its event, never left live on a deleted customer. A customer.deleted names the request that deleted the customer
// (Stripe's event.request), as customer.created does.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { planOf, recording, type Captured } from "../db/recording";
import { call, createEndpoint, expectError, get, newMerchant, ok, post, receivedBy, receiverHook, waitFor, type CallOptions, type ListJson } from "../helpers";

interface EventJson {
  id: string;
  type: string;
  data: { object: { id: string; object: string; deleted?: boolean; test_clock?: string | null; status?: string } };
  request: { id: string | null; idempotency_key: string | null };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const DELETE_EVENTS = ["customer.deleted", "customer.subscription.deleted", "test_helpers.test_clock.deleted"];

/** The merchant's events of these types, oldest first. */
async function eventsOf(opts: CallOptions, types: string[] = DELETE_EVENTS): Promise<EventJson[]> {
  const listed = (await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts))).data;
  return listed.filter((e) => types.includes(e.type)).reverse();
}

const seen = (e: EventJson) => `${e.type} ${e.data.object.id}`;

describe("deleting a test clock", () => {
  it("deletes its customers as DELETE /v1/customers does: customer.deleted and customer.subscription.deleted, listed and sent to an endpoint, each once", async () => {
    const m = await newMerchant("clock-delete-events");
    const hook = receiverHook("clock-delete-events");
    await createEndpoint(hook.url, DELETE_EVENTS, m.opts);
    const s = await setupFor(m);
    // A customer of the clock deleted before it: its own customer.deleted, and no second one.
    const gone = await ok(post<{ id: string }>("/v1/customers", { email: "gone@example.com", test_clock: s.clock.id }, m.opts));
    const goneDeleted = await call("DELETE", `/v1/customers/${gone.id}`, m.opts);
    expect(goneDeleted.status).toBe(200);

    const deleted = await call("DELETE", `/v1/test_helpers/test_clocks/${s.clock.id}`, m.opts);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toEqual({ id: s.clock.id, object: "test_helpers.test_clock", deleted: true });
    const requestId = deleted.headers.get("request-id");

    // The read model: its customers deleted, their subscription canceled at the clock's time, the other customer as it was.
    for (const id of [s.payer, s.idle, gone.id]) expect(await ok(get(`/v1/customers/${id}`, m.opts))).toEqual({ id, object: "customer", deleted: true });
    expect(await ok(get<{ deleted?: boolean; email: string }>(`/v1/customers/${s.outside}`, m.opts))).toMatchObject({ id: s.outside, email: "outside@example.com" });
    expect(await ok(get<{ status: string; ended_at: number }>(`/v1/subscriptions/${s.sub}`, m.opts))).toMatchObject({ status: "canceled", ended_at: s.clock.frozen_time });
    expectError(await get(`/v1/test_helpers/test_clocks/${s.clock.id}`, m.opts), 404, "resource_missing");

    // The events agree with it: each deleted object's event once, the clock's customers' and the clock's naming the request.
    const expected = [
      `customer.deleted ${gone.id}`,
      `customer.subscription.deleted ${s.sub}`,
      `customer.deleted ${s.payer}`,
      `customer.deleted ${s.idle}`,
      `test_helpers.test_clock.deleted ${s.clock.id}`,
    ];
    const listed = await eventsOf(m.opts);
    expect(listed.map(seen).sort()).toEqual([...expected].sort());
    // The customers' before the clock's.
    expect(listed.map(seen).at(-1)).toBe(`test_helpers.test_clock.deleted ${s.clock.id}`);
    for (const e of listed) expect(e.request.id, seen(e)).toBe(e.data.object.id === gone.id ? goneDeleted.headers.get("request-id") : requestId);
    const payerDeleted = listed.find((e) => seen(e) === `customer.deleted ${s.payer}`);
    expect(payerDeleted?.data.object).toMatchObject({ id: s.payer, object: "customer", deleted: true, test_clock: s.clock.id });

    // A second delete is a 404 that changes and sends nothing.
    expectError(await call("DELETE", `/v1/test_helpers/test_clocks/${s.clock.id}`, m.opts), 404, "resource_missing");
    expect((await eventsOf(m.opts)).map(seen)).toEqual(listed.map(seen));

    // The endpoint receives each once.
    const got = await waitFor(async () => {
      const bodies = (await receivedBy(hook.name)).map((r) => JSON.parse(r.body) as EventJson);
      return bodies.length >= expected.length ? bodies : undefined;
    }, 20_000, "the deletion's events at the endpoint");
    expect(got.map(seen).sort()).toEqual([...expected].sort());
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
  });

  it("twice at once: one 200, one 404, and each event written and sent once", async () => {
    const m = await newMerchant("clock-delete-race");
    const hook = receiverHook("clock-delete-race");
    await createEndpoint(hook.url, DELETE_EVENTS, m.opts);
    const s = await setupFor(m);

    const raced = await Promise.all([0, 1].map(() => call("DELETE", `/v1/test_helpers/test_clocks/${s.clock.id}`, m.opts)));
    expect(raced.map((r) => r.status).sort(), JSON.stringify(raced.map((r) => r.body))).toEqual([200, 404]);
    expectError(raced.find((r) => r.status === 404)!, 404, "resource_missing");

    const expected = [`customer.subscription.deleted ${s.sub}`, `customer.deleted ${s.payer}`, `customer.deleted ${s.idle}`, `test_helpers.test_clock.deleted ${s.clock.id}`].sort();
    expect((await eventsOf(m.opts)).map(seen).sort()).toEqual(expected);
    for (const id of [s.payer, s.idle]) expect(await ok(get(`/v1/customers/${id}`, m.opts))).toEqual({ id, object: "customer", deleted: true });
    const got = await waitFor(async () => {
      const bodies = (await receivedBy(hook.name)).map((r) => JSON.parse(r.body) as EventJson);
      return bodies.length >= expected.length ? bodies : undefined;
    }, 20_000, "the deletion's events at the endpoint");
    expect(got.map(seen).sort()).toEqual(expected);
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
  });

  it("with a customer joining the clock meanwhile deletes that one too, with its customer.deleted, never silently", async () => {
    const m = await newMerchant("clock-delete-join");
    const s = await setupFor(m);
    // The customer joins between the deletion's reads and its transaction: made just before the
    // first transaction that deletes the clock runs, which then deletes nothing; the retry does.
    let joined: string | null = null;
    let deleting = false;
    const d1 = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            if (/^DELETE FROM test_clocks/i.test(query)) deleting = true;
            return target.prepare(query);
          };
        }
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (deleting && joined === null) joined = (await ok(post<{ id: string }>("/v1/customers", { email: "joined@example.com", test_clock: s.clock.id }, m.opts))).id;
            deleting = false;
            return target.batch(statements);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const captured: Captured[] = [];
    const res = await worker.fetch(new Request(`http://gateway.test/v1/test_helpers/test_clocks/${s.clock.id}`, { method: "DELETE", headers: { authorization: `Bearer ${m.key}` } }), { ...env, DB: recording(d1, captured) }, ctx);
    const body = await res.json();
    await waitOnExecutionContext(ctx);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(joined).not.toBeNull();

    for (const id of [s.payer, s.idle, joined!]) expect(await ok(get(`/v1/customers/${id}`, m.opts))).toEqual({ id, object: "customer", deleted: true });
    const expected = [`customer.subscription.deleted ${s.sub}`, `customer.deleted ${s.payer}`, `customer.deleted ${s.idle}`, `customer.deleted ${joined!}`, `test_helpers.test_clock.deleted ${s.clock.id}`].sort();
    expect((await eventsOf(m.opts)).map(seen).sort()).toEqual(expected);

    // Its reads and guarded writes go through indexes: the clock's customers (customers_clock), never a scan of a table.
    const clockSql = captured.filter((c) => /\b(customers|test_clocks)\b/i.test(c.sql));
    expect(clockSql.some((c) => /^DELETE FROM test_clocks/i.test(c.sql))).toBe(true);
    for (const statement of clockSql) {
      const plan = (await planOf(statement)).join("\n");
      expect(plan, `${statement.sql}\n${plan}`).not.toMatch(/\bSCAN (customers|test_clocks|subscriptions|events)\b/);
      if (/from "customers" where/i.test(statement.sql) || /NOT EXISTS \(SELECT 1 FROM customers/i.test(statement.sql)) expect(plan, `${statement.sql}\n${plan}`).toContain("customers_clock");
    }
  });

  it("with a subscription created meanwhile for one of its customers ends that one too, with its customer.subscription.deleted, never left live", async () => {
    const m = await newMerchant("clock-delete-sub");
    const s = await setupFor(m);
    // Created between the deletion's reads (which ended the subscriptions there were) and its
    // transaction: that transaction deletes nothing, and the retry ends this one as well.
    let late: string | null = null;
    let deleting = false;
    const d1 = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            if (/^DELETE FROM test_clocks/i.test(query)) deleting = true;
            return target.prepare(query);
          };
        }
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (deleting && late === null) late = (await ok(post<{ id: string }>("/v1/subscriptions", { customer: s.payer, price: s.price }, m.opts))).id;
            deleting = false;
            return target.batch(statements);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const captured: Captured[] = [];
    const res = await worker.fetch(new Request(`http://gateway.test/v1/test_helpers/test_clocks/${s.clock.id}`, { method: "DELETE", headers: { authorization: `Bearer ${m.key}` } }), { ...env, DB: recording(d1, captured) }, ctx);
    const body = await res.json();
    await waitOnExecutionContext(ctx);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(late).not.toBeNull();

    for (const id of [s.sub, late!]) expect(await ok(get<{ status: string }>(`/v1/subscriptions/${id}`, m.opts)), id).toMatchObject({ status: "canceled", ended_at: s.clock.frozen_time });
    for (const id of [s.payer, s.idle]) expect(await ok(get(`/v1/customers/${id}`, m.opts))).toEqual({ id, object: "customer", deleted: true });
    const expected = [`customer.subscription.deleted ${s.sub}`, `customer.subscription.deleted ${late!}`, `customer.deleted ${s.payer}`, `customer.deleted ${s.idle}`, `test_helpers.test_clock.deleted ${s.clock.id}`].sort();
    expect((await eventsOf(m.opts)).map(seen).sort()).toEqual(expected);

    // The guard on the clock's subscriptions is a range of an index (subscriptions_clock_list), not a scan.
    const guarded = captured.filter((c) => /NOT EXISTS \(SELECT 1 FROM subscriptions WHERE merchant_id/i.test(c.sql));
    expect(guarded.length).toBeGreaterThan(0);
    for (const statement of guarded) {
      const plan = (await planOf(statement)).join("\n");
      expect(plan, `${statement.sql}\n${plan}`).not.toMatch(/\bSCAN (customers|test_clocks|subscriptions|events)\b/);
      expect(plan, `${statement.sql}\n${plan}`).toContain("subscriptions_clock_list");
    }
  });
});

/** A clock, two customers on it (one with a card and a monthly subscription), one customer off it, for a merchant made already (its endpoint first). */
async function setupFor(m: { id: string; key: string; opts: CallOptions }) {
  const clock = await ok(post<{ id: string; frozen_time: number }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-03-01T00:00:00Z") }, m.opts));
  const payer = await ok(post<{ id: string }>("/v1/customers", { email: "payer@example.com", test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${payer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Seat" } }, m.opts));
  const sub = await ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer: payer.id, price: price.id }, m.opts));
  expect(sub.status).toBe("active");
  const idle = await ok(post<{ id: string }>("/v1/customers", { email: "idle@example.com", test_clock: clock.id }, m.opts));
  const outside = await ok(post<{ id: string }>("/v1/customers", { email: "outside@example.com" }, m.opts));
  return { clock, payer: payer.id, idle: idle.id, outside: outside.id, sub: sub.id, price: price.id };
}
