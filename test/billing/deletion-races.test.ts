// Creations racing a deletion in billing, made deterministic by running the deletion (or the creation)
// right before the other request's transaction, through a D1 binding that does so:
// - a customer created on a test clock deleted since the create read it is refused as a create naming
//   an unknown clock is (400 resource_missing, param test_clock), with no customer and no event;
// - a subscription created for a customer deleted since the create read it is refused as one for a
//   deleted customer is (400 resource_missing, param customer), with no subscription, invoice,
//   payment or event (on seed 004's create-subscription too, answered as the seed answers it);
// - a subscription created while its customer is being deleted (after the deletion ended the
//   customer's subscriptions, before it deleted the customer) is ended by that deletion too, with its
//   customer.subscription.deleted: none stays live on a deleted customer.
// The guarded statements are index lookups, never a scan of a table.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { planOf, recording, type Captured } from "../db/recording";
import { call, expectError, get, newMerchant, ok, post, type CallOptions, type ListJson } from "../helpers";

interface EventJson {
  id: string;
  type: string;
  data: { object: { id: string; object: string; email?: string | null; customer?: string; status?: string } };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The merchant's events, oldest first. */
async function eventsOf(opts: CallOptions): Promise<EventJson[]> {
  return (await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts))).data.reverse();
}

/**
 * A D1 binding that runs `before` once, right before the first batch holding a statement `trigger`
 * matches (the other request goes to the real binding, so it commits before that batch runs).
 */
function interleaved(trigger: RegExp, before: () => Promise<void>): D1Database {
  let armed = false;
  let done = false;
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          if (trigger.test(query)) armed = true;
          return target.prepare(query);
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (armed && !done) {
            done = true;
            await before();
          }
          armed = false;
          return target.batch(statements);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A request through the Worker on `d1`, its statements recorded in `captured`. */
async function through(d1: D1Database, captured: Captured[], method: string, path: string, key: string, body?: unknown) {
  const ctx = createExecutionContext();
  const headers = { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await worker.fetch(new Request(`http://gateway.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), { ...env, DB: recording(d1, captured) }, ctx);
  const json = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: json, headers: res.headers };
}

/** Each captured statement `pattern` matches, EXPLAINed: none scans a table, each uses `index` when named. */
async function expectNoScan(captured: Captured[], pattern: RegExp, index?: string): Promise<number> {
  const picked = captured.filter((c) => pattern.test(c.sql));
  for (const statement of picked) {
    const plan = (await planOf(statement)).join("\n");
    expect(plan, `${statement.sql}\n${plan}`).not.toMatch(/\bSCAN (customers|test_clocks|subscriptions|invoices|events)\b/);
    if (index) expect(plan, `${statement.sql}\n${plan}`).toContain(index);
  }
  return picked.length;
}

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql).bind(...binds).first<{ n: number }>();
  return row?.n ?? -1;
}

/** A customer with a default card and a monthly price to subscribe it to. */
async function payingCustomer(m: { opts: CallOptions }, email: string) {
  const customer = await ok(post<{ id: string }>("/v1/customers", { email }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Seat" } }, m.opts));
  return { customer: customer.id, price: price.id };
}

describe("a customer created on a test clock deleted meanwhile", () => {
  it("is not created: 400 resource_missing (param test_clock) as for an unknown clock, and no customer.created", async () => {
    const m = await newMerchant("race-clock-customer");
    const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-03-01T00:00:00Z") }, m.opts));
    // The clock is deleted after the create read it, right before the create's transaction.
    let deletedStatus = 0;
    const d1 = interleaved(/^insert into "?customers"?\s/i, async () => {
      deletedStatus = (await call("DELETE", `/v1/test_helpers/test_clocks/${clock.id}`, m.opts)).status;
    });
    const captured: Captured[] = [];
    const res = await through(d1, captured, "POST", "/v1/customers", m.key, { email: "late@example.com", test_clock: clock.id });
    expect(deletedStatus).toBe(200);
    const error = expectError(res, 400, "resource_missing");
    expect(error.param).toBe("test_clock");
    expect(error.message).toContain(clock.id);
    // The answer of a create naming that clock now it is gone.
    const after = expectError(await call("POST", "/v1/customers", { ...m.opts, body: { email: "after@example.com", test_clock: clock.id } }), 400, "resource_missing");
    expect({ ...error, request_id: null }).toEqual({ ...after, request_id: null });

    // Nothing written: no customer (live or deleted), no customer.created.
    expect(await count("SELECT count(*) AS n FROM customers WHERE merchant_id = ? AND email = ?", m.id, "late@example.com")).toBe(0);
    expect((await eventsOf(m.opts)).filter((e) => e.type === "customer.created")).toEqual([]);
    // A customer on a clock that is there is still created, and its guarded insert reads the clock by its key.
    const kept = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-03-01T00:00:00Z") }, m.opts));
    const fine: Captured[] = [];
    const made = await through(env.DB, fine, "POST", "/v1/customers", m.key, { email: "kept@example.com", test_clock: kept.id });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body).toMatchObject({ email: "kept@example.com", test_clock: kept.id });
    expect(await expectNoScan([...captured, ...fine], /INSERT INTO customers/i)).toBe(2);
  });
});

describe("a subscription created for a customer deleted meanwhile", () => {
  it("is not created: 400 resource_missing (param customer) as for a deleted customer, with no invoice, payment or event", async () => {
    const m = await newMerchant("race-sub-deleted");
    const { customer, price } = await payingCustomer(m, "gone@example.com");
    // The customer is deleted after the create read it, right before the create's transaction.
    let deletedStatus = 0;
    const d1 = interleaved(/^INSERT INTO subscriptions\b/i, async () => {
      deletedStatus = (await call("DELETE", `/v1/customers/${customer}`, m.opts)).status;
    });
    const captured: Captured[] = [];
    const res = await through(d1, captured, "POST", "/v1/subscriptions", m.key, { customer, price });
    expect(deletedStatus).toBe(200);
    const error = expectError(res, 400, "resource_missing");
    expect(error.param).toBe("customer");
    expect(error.message).toContain(customer);
    // The answer of a create for that customer now it is deleted.
    const after = expectError(await call("POST", "/v1/subscriptions", { ...m.opts, body: { customer, price } }), 400, "resource_missing");
    expect({ ...error, request_id: null }).toEqual({ ...after, request_id: null });

    // Nothing written, nothing charged: no subscription, no invoice, no payment intent, no event of either.
    expect(await count("SELECT count(*) AS n FROM subscriptions WHERE customer = ?", customer)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM invoices WHERE customer = ?", customer)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ? AND customer = ?", m.id, customer)).toBe(0);
    const types = (await eventsOf(m.opts)).map((e) => e.type);
    expect(types.filter((type) => type.startsWith("customer.subscription.") || type.startsWith("invoice.") || type.startsWith("payment_intent."))).toEqual([]);
    expect(types.filter((type) => type === "customer.deleted")).toHaveLength(1);
    expect(await expectNoScan(captured, /INSERT INTO subscriptions/i, "subscriptions_customer_live")).toBe(1);
  });
});

describe("a seed 004 subscription created for a customer deleted meanwhile", () => {
  it("is not created: the seed's answer to a deleted customer (404), with no subscription, invoice or event", async () => {
    const m = await newMerchant("race-sub-seed004");
    const { customer, price } = await payingCustomer(m, "gone004@example.com");
    const d1 = interleaved(/^INSERT INTO subscriptions\b/i, async () => {
      expect((await call("DELETE", `/v1/customers/${customer}`, m.opts)).status).toBe(200);
    });
    const path = "/api/v1/payments/stripe/create-subscription/";
    const res = await through(d1, [], "POST", path, m.key, { customer_id: customer, price_id: price });
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    const after = await call("POST", path, { ...m.opts, body: { customer_id: customer, price_id: price } });
    expect(after.status).toBe(404);
    expect(res.body).toEqual(after.body);
    expect(await count("SELECT count(*) AS n FROM subscriptions WHERE customer = ?", customer)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM invoices WHERE customer = ?", customer)).toBe(0);
    expect((await eventsOf(m.opts)).map((e) => e.type).filter((type) => type.startsWith("customer.subscription.") || type.startsWith("invoice."))).toEqual([]);
  });
});

describe("a subscription created while its customer is being deleted", () => {
  it("is ended by the deletion too, with its customer.subscription.deleted, and the customer deleted once", async () => {
    const m = await newMerchant("race-sub-midway");
    const { customer, price } = await payingCustomer(m, "midway@example.com");
    const first = await ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer, price }, m.opts));
    expect(first.status).toBe("active");
    // Created after the deletion ended the customer's subscriptions, right before the transaction that deletes the customer.
    let late: { id: string; status: string } | null = null;
    const d1 = interleaved(/^UPDATE customers SET deleted = 1/i, async () => {
      late = await ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer, price }, m.opts));
    });
    const captured: Captured[] = [];
    const res = await through(d1, captured, "DELETE", `/v1/customers/${customer}`, m.key);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ id: customer, object: "customer", deleted: true });
    const created = late as { id: string; status: string } | null;
    expect(created?.status).toBe("active");
    const lateId = created!.id;

    expect(await ok(get(`/v1/customers/${customer}`, m.opts))).toEqual({ id: customer, object: "customer", deleted: true });
    for (const id of [first.id, lateId]) expect(await ok(get<{ status: string }>(`/v1/subscriptions/${id}`, m.opts)), id).toMatchObject({ status: "canceled" });
    expect(await count("SELECT count(*) AS n FROM subscriptions WHERE customer = ? AND status NOT IN ('canceled', 'incomplete_expired')", customer)).toBe(0);
    const events = await eventsOf(m.opts);
    const ended = events.filter((e) => e.type === "customer.subscription.deleted").map((e) => e.data.object.id);
    expect(ended.sort()).toEqual([first.id, lateId].sort());
    expect(events.filter((e) => e.type === "customer.deleted").map((e) => e.data.object.id)).toEqual([customer]);
    // The customer.deleted comes after both subscriptions' ends.
    expect(events.map((e) => e.type).at(-1)).toBe("customer.deleted");
    expect(await expectNoScan(captured, /UPDATE customers SET deleted = 1/i, "subscriptions_customer_live")).toBeGreaterThanOrEqual(2);
  });

  it("a second delete meanwhile: one customer.deleted, both answered as deleted", async () => {
    const m = await newMerchant("race-customer-twice");
    const { customer } = await payingCustomer(m, "twice@example.com");
    let second = 0;
    const d1 = interleaved(/^UPDATE customers SET deleted = 1/i, async () => {
      second = (await call("DELETE", `/v1/customers/${customer}`, m.opts)).status;
    });
    const res = await through(d1, [], "DELETE", `/v1/customers/${customer}`, m.key);
    expect(second).toBe(200);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ id: customer, object: "customer", deleted: true });
    expect((await eventsOf(m.opts)).filter((e) => e.type === "customer.deleted")).toHaveLength(1);
  });
});
