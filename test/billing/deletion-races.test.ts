// Creations racing a deletion in billing, made deterministic by running the deletion (or the creation)
// right before the other request's transaction, through a D1 binding that does so:
// - a customer created on a test clock deleted since the create read it is refused as a create naming
//   an unknown clock is (400 resource_missing, param test_clock), with no customer and no event;
// - a subscription created for a customer deleted since the create read it is refused as one for a
//   deleted customer is (400 resource_missing, param customer), with no subscription, invoice,
//   payment or event;
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
