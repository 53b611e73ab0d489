// The list and filter routes of the other surfaces (POS transactions and failed payments, seed 000's
// numbered lists, the admin search, failed payments, audit log and refund approvals) are index
// ranges too: each route is called through the Worker with a D1 binding that records every statement,
// and each statement's EXPLAIN QUERY PLAN must not SCAN a large table nor sort through a temp B-tree
// for ORDER BY. Filters no index serves alone (amount ranges, rare statuses, actor and action) are
// refused with a 400 in the surface's own format naming what to add, and served once a created
// window of at most 31 days bounds them; the POS amount range is served without one by a bounded walk
// of the list index (partial pages), and the POS failed payments of any window are ranges of partial
// indexes that hold the failed payments only.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, hsToken, seedCustomer, seedMerchant } from "../helpers";
import { throughWorker, type Routed } from "./recording";


const LARGE = ["payment_intents", "charges", "refunds", "events", "payment_intent_metadata", "audit_log", "intent_numbers"];

/** Calls a route through the Worker, its D1 recorded; returns the answer and the plan of each read of a large table. */
function through(path: string, key: string): Promise<Routed> {
  return throughWorker(path, key, (sql) => /^\s*select/i.test(sql) && LARGE.some((t) => new RegExp(`\\b${t}\\b`).test(sql)));
}

/**
 * `walks`: an index the statement may walk from its start (SCAN ... USING INDEX) because the walk
 * stops at the page's end: a list with no filter, in that index's order, or a partial index that holds
 * only the rows the query wants.
 */
function expectIndexed(r: Routed, label: string, walks?: string): void {
  expect(r.status, `${label}: ${JSON.stringify(r.body).slice(0, 400)}`).toBe(200);
  expect(r.plans.length, `${label}: no statement on a large table`).toBeGreaterThan(0);
  for (const { sql, plan } of r.plans) {
    const text = plan.join("\n");
    for (const line of plan) {
      if (walks && new RegExp(`^SCAN \\w+ USING (COVERING )?INDEX ${walks}$`).test(line)) continue;
      const scanned = /^SCAN (\w+)/.exec(line)?.[1];
      expect(scanned !== undefined && LARGE.includes(scanned), `${label}\n${sql}\n${text}`).toBe(false);
    }
    expect(text, `${label}\n${sql}`).not.toMatch(/USE TEMP B-TREE FOR (ORDER BY|LAST TERM OF ORDER BY|RIGHT PART OF ORDER BY)/);
  }
}

const M = "acct_surface_plans";
const KEY = "sk_test_surface_plans_merchant";
const DAY = 86_400_000;
const now = Date.now();
const today = new Date(now).toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(now - n * DAY).toISOString().slice(0, 10);
const nowSeconds = Math.floor(now / 1000);
let admin = "";

beforeAll(async () => {
  await seedMerchant(M, "Surface plans", "key_surface_plans", KEY, false);
  await seedCustomer(M, "cus_surfacePlans1");
  admin = bearer(await hsToken({ roles: ["admin"], merchant: null })).key ?? "";
  const rows: D1PreparedStatement[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `pi_sp${String(i).padStart(8, "0")}`;
    const created = now - (40 - i) * 3_600_000;
    const failed = i % 5 === 0;
    rows.push(
      env.DB.prepare(
        "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, customer, order_id, location_id, card_last4, failure_reason, amount_refunded, created, updated, version, data) VALUES (?, ?, 0, ?, ?, 'usd', ?, ?, ?, '4242', ?, ?, ?, ?, 1, ?)",
      ).bind(
        id,
        M,
        failed ? "requires_payment_method" : i % 3 ? "succeeded" : "requires_capture",
        1000 + i,
        i % 2 ? "cus_surfacePlans1" : null,
        `ord_sp${i}`,
        `loc_${i % 3}`,
        failed ? "card_declined" : null,
        i % 7 === 0 ? 100 : 0,
        created,
        created,
        JSON.stringify({ id, created, merchantId: M, livemode: false, status: "succeeded", amount: 1000 + i, currency: "usd", metadata: {}, attempts: [], refunds: [], lineItems: [] }),
      ),
      env.DB.prepare("INSERT INTO intent_numbers (intent_id, merchant_id, livemode, created) VALUES (?, ?, 0, ?)").bind(id, M, created),
      env.DB.prepare(
        "INSERT INTO audit_log (id, merchant_id, livemode, actor, actor_roles, action, object_type, object_id, http_status, details, created) VALUES (?, ?, 0, 'api_key:key_surface_plans', '', 'payment_intents.create', 'payment_intent', ?, 200, '{}', ?)",
      ).bind(`aud_sp${i}`, M, id, created),
    );
  }
  await env.DB.batch(rows);
});

describe("POS transactions and failed payments", () => {
  it.each([
    ["newest", ""],
    ["a deep cursor", "&cursor=pi_sp00000020"],
    ["status=authorized", "&status=authorized"],
    ["status=captured", "&status=captured"],
    ["status=declined", "&status=declined"],
    ["customer", "&customerId=cus_surfacePlans1"],
    ["card last4", "&cardLast4=4242"],
    ["order", "&orderId=ord_sp7"],
    ["location", "&locationId=loc_1&cursor=pi_sp00000020"],
    ["an amount range in a window", `&amountMinCents=1010&amountMaxCents=1030&dateFrom=${daysAgo(3)}&dateTo=${today}`],
    ["status=refunded in a window", `&status=refunded&dateFrom=${daysAgo(3)}&dateTo=${today}`],
    ["status=voided in a window", `&status=voided&dateFrom=${daysAgo(3)}&dateTo=${today}`],
    ["status=pending in a window", `&status=pending&dateFrom=${daysAgo(3)}&dateTo=${today}`],
    ["status=error in a window", `&status=error&dateFrom=${daysAgo(3)}&dateTo=${today}`],
    ...(["refunded", "voided", "pending", "error", "resolved", "dismissed"] as const).map((status) => [`status=${status} alone, deep`, `&status=${status}&cursor=pi_sp00000020`] as [string, string]),
    ["an amount range of a customer", "&amountMinCents=1010&customerId=cus_surfacePlans1"],
    ["an amount range with no dates (walked)", "&amountMinCents=1010"],
    ["an amount range with no dates, deep (walked)", "&amountMaxCents=1030&cursor=pi_sp00000020"],
    ["an amount range over 40 days (walked)", `&amountMaxCents=1010&dateFrom=${daysAgo(40)}&dateTo=${today}`],
    ["an amount range from a date on (walked)", `&amountMinCents=1010&dateFrom=${daysAgo(40)}`],
    ["an amount range of a status (walked)", "&amountMinCents=1010&status=captured"],
    ["an amount range of a location (walked)", "&amountMinCents=1010&locationId=loc_1&cursor=pi_sp00000030"],
  ])("transactions by %s are an index range", async (label, query) => {
    expectIndexed(await through(`/api/v1/payments/transactions?limit=5${query}`, KEY), label);
  });

  it("a status alone is a range of payment_intents_pos_status (it was refused without a date window)", async () => {
    for (const status of ["refunded", "voided", "pending", "error", "resolved", "dismissed", "captured"]) {
      const r = await through(`/api/v1/payments/transactions?limit=5&status=${status}`, KEY);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expectIndexed(r, status);
      expect(r.plans.map((p) => p.plan.join("\n")).join("\n"), status).toMatch(/payment_intents_pos_status \(merchant_id=\? AND livemode=\? AND pos_status=\?\)/);
    }
  });

  it("an amount range with nothing selective walks the list index (id, created, amount from the index; a row's tip only where the amount alone does not decide), then reads the page's rows by primary key in one query", async () => {
    for (const query of ["amountMinCents=1010", `amountMinCents=1010&amountMaxCents=1035&dateFrom=${daysAgo(40)}&cursor=pi_sp00000038`]) {
      const r = await through(`/api/v1/payments/transactions?limit=5&${query}`, KEY);
      expectIndexed(r, query);
      expect((r.body as { data: unknown[] }).data.length, query).toBe(5);
      const walk = r.plans.filter((p) => /order by/i.test(p.sql) && !/json_each/.test(p.sql));
      expect(walk, query).toHaveLength(1);
      // The walk has no amount condition: the amount is tested on the rows it read, not by the planner.
      expect(walk[0]?.sql, query).not.toMatch(/"amount" >=|\+"payment_intents"\."amount"/);
      // Not a covering walk: the range is of the amount less the tip, which is in the row's data, read
      // (a deferred seek by rowid) only for the entries the amount alone does not decide.
      expect(walk[0]?.plan.join("\n"), query).toMatch(/^SEARCH payment_intents USING INDEX payment_intents_list \(merchant_id=\? AND livemode=\?/);
      expect(walk[0]?.sql, query).toMatch(/CASE WHEN "payment_intents"\."amount" <=? \? THEN 0 ELSE coalesce\(json_extract\("payment_intents"\."data", '\$\.tipAmount'\), 0\) END/);
      const byId = r.plans.filter((p) => /json_each/.test(p.sql));
      expect(byId, query).toHaveLength(1);
      expect(byId[0]?.plan.join("\n"), query).toMatch(/SEARCH payment_intents USING INDEX sqlite_autoindex_payment_intents_1 \(id=\?\)/);
    }
  });

  it("an amount range with a selective filter or a window of at most 31 days is still one query, no walk", async () => {
    for (const query of ["amountMinCents=1010&customerId=cus_surfacePlans1", `amountMinCents=1010&dateFrom=${daysAgo(3)}&dateTo=${today}`]) {
      const r = await through(`/api/v1/payments/transactions?limit=5&${query}`, KEY);
      expectIndexed(r, query);
      expect(r.plans.filter((p) => /json_each/.test(p.sql)), query).toHaveLength(0);
      expect(r.plans.map((p) => p.sql).join("\n"), query).toMatch(/\+"payment_intents"\."amount"/);
    }
  });

  it.each([
    ["the last 30 days", ""],
    ["90 days", `?dateFrom=${daysAgo(90)}`],
    ["since 2020", `?dateFrom=2020-01-01&dateTo=${today}`],
    ["its counts", "?counts=true"],
    ["counts of 90 days", `?counts=true&dateFrom=${daysAgo(90)}`],
    ["counts since 2020", "?counts=true&dateFrom=2020-01-01"],
    ["a customer", "?customerId=cus_surfacePlans1"],
    ["a location, paged", "?locationId=loc_0&limit=2&cursor=pi_sp00000030"],
  ])("failed payments of %s are an index range", async (label, query) => {
    expectIndexed(await through(`/api/v1/payments/failed${query}`, KEY), label);
  });

  it("admin failed payments' counts read the last 30 days' index entries only (covering)", async () => {
    const r = await through(`/v1/admin/failed_payments?merchant=${M}`, admin);
    expectIndexed(r, "admin counts");
    expect(r.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/USING COVERING INDEX payment_intents_failed_reasons \(merchant_id=\? AND livemode=\? AND resolution=\? AND created>\?\)/);
  });

  it.each([
    ["of one merchant", `merchant=${M}&`, /USING COVERING INDEX payment_intents_failed \(merchant_id=\? AND livemode=\? AND created>\?\)/],
    ["across merchants", "", /USING COVERING INDEX payment_intents_failed_mode \(livemode=\? AND created>\?\)/],
  ])("admin failed payments' counts of every resolution %s read only the failed payments' index entries (covering)", async (_label, merchant, index) => {
    const r = await through(`/v1/admin/failed_payments?${merchant}resolution=all`, admin);
    expectIndexed(r, "admin counts, every resolution");
    const counts = r.plans.filter((p) => /count\(\*\)/.test(p.sql));
    expect(counts.length).toBeGreaterThan(0);
    for (const p of counts) expect(p.plan.join("\n"), p.sql).toMatch(index);
  });

  it("failed payments' counts read the window's index entries only (covering), not each intent's row", async () => {
    const r = await through("/api/v1/payments/failed?counts=true", KEY);
    expectIndexed(r, "counts");
    expect(r.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/USING COVERING INDEX payment_intents_failed_reasons \(merchant_id=\? AND livemode=\? AND resolution=\? AND created>\?\)/);
  });

  it.each([
    ["the last 30 days", ""],
    ["90 days", `dateFrom=${daysAgo(90)}`],
    ["since 2020, with an end", `dateFrom=2020-01-01&dateTo=${today}`],
  ])("failed payments of %s, list and counts, are SEARCHes of the partial indexes of failed payments (any window)", async (label, query) => {
    const list = await through(`/api/v1/payments/failed?${query}`, KEY);
    expectIndexed(list, label);
    // The 8 failed rows of the seed (every fifth), all open and within 40 hours.
    expect((list.body as { data: unknown[] }).data.length, label).toBe(8);
    const listed = list.plans.filter((p) => /order by/i.test(p.sql));
    expect(listed, label).toHaveLength(1);
    expect(listed[0]?.plan.join("\n"), label).toMatch(/^SEARCH payment_intents USING INDEX payment_intents_failed \(merchant_id=\? AND livemode=\? AND created>\?/);
    const counts = await through(`/api/v1/payments/failed?counts=true${query ? `&${query}` : ""}`, KEY);
    expectIndexed(counts, `${label}, counts`);
    expect(counts.body, label).toEqual({ data: { total: 8, declined: 8, error: 0 } });
    expect(counts.plans.map((p) => p.plan.join("\n")).join("\n"), label).toMatch(/^SEARCH payment_intents USING COVERING INDEX payment_intents_failed_reasons \(merchant_id=\? AND livemode=\? AND resolution=\? AND created>\?/);
  });
});

describe("seed 000's numbered lists", () => {
  it.each([
    ["newest", "/api/v1/PaymentIntents?limit=5"],
    ["before a number", "/api/v1/PaymentIntents?limit=5&beforeId=20"],
    ["a customer's", "/api/v1/PaymentIntents/customer/cus_surfacePlans1"],
    ["a customer's, a page before a number", "/api/v1/PaymentIntents/customer/cus_surfacePlans1?limit=2&beforeId=20"],
  ])("%s (admin, every merchant) is an index range", async (label, path) => {
    expectIndexed(await through(path, admin), label);
  });

  it("a customer's across merchants is a range of payment_intents_customer_all in (created, id) order, not a walk of the mode's intents", async () => {
    for (const path of ["/api/v1/PaymentIntents/customer/cus_surfacePlans1", "/api/v1/PaymentIntents/customer/cus_surfacePlans1?limit=2&beforeId=20"]) {
      const r = await through(path, admin);
      expectIndexed(r, path);
      const plans = r.plans.map((p) => p.plan.join("\n")).join("\n");
      expect(plans, path).toMatch(/SEARCH p USING (COVERING )?INDEX payment_intents_customer_all \(customer=\? AND livemode=\?/);
      expect(plans, path).not.toMatch(/payment_intents_mode/);
    }
  });

  it("rows without current summary columns (these were written by hand, as before migration 0023) are re-read in one query by primary key", async () => {
    const r = await through("/api/v1/PaymentIntents?limit=5", admin);
    expectIndexed(r, "newest, older rows");
    const reread = r.plans.filter((p) => /json_each/.test(p.sql));
    expect(reread).toHaveLength(1);
    expect(reread[0]?.plan.join("\n")).toMatch(/SEARCH p USING INDEX sqlite_autoindex_payment_intents_1 \(id=\?\)/);
  });

  it("a merchant's customer is a range of payment_intents_customer, in order", async () => {
    const token = bearer(await hsToken({ roles: ["support"], merchant: M })).key ?? "";
    const r = await through("/api/v1/PaymentIntents/customer/cus_surfacePlans1", token);
    expectIndexed(r, "customer of a merchant");
    expectIndexed(await through("/api/v1/PaymentIntents/customer/cus_surfacePlans1?limit=2&beforeId=20", token), "customer of a merchant, a page");
    const plans = r.plans.map((p) => p.plan.join("\n")).join("\n");
    expect(plans).toMatch(/payment_intents_customer \(merchant_id=\? AND livemode=\? AND customer=\?\)/);
    // Each of up to 1,000 numbers comes from the index alone, not from a lookup of its row.
    expect(plans).toMatch(/SEARCH n USING COVERING INDEX intent_numbers_intent \(intent_id=\?\)/);
  });
});

describe("admin reads", () => {
  it.each([
    ["search, a merchant's newest", `/v1/admin/payments/search?merchant=${M}&limit=5`],
    ["search by status", `/v1/admin/payments/search?merchant=${M}&status=succeeded`],
    ["search by customer", `/v1/admin/payments/search?merchant=${M}&customer=cus_surfacePlans1`],
    ["search by order", `/v1/admin/payments/search?merchant=${M}&order_id=ord_sp3`],
    ["search by card last4 and an amount", `/v1/admin/payments/search?merchant=${M}&card_last4=4242&amount_gte=1010`],
    ["search an amount range in a window", `/v1/admin/payments/search?merchant=${M}&amount_gte=1010&created_gte=${nowSeconds - 3 * 86_400}&created_lte=${nowSeconds}`],
    ["search every merchant's newest", "/v1/admin/payments/search?limit=5"],
    ["search every merchant by customer", "/v1/admin/payments/search?customer=cus_surfacePlans1"],
    ["failed payments with counts", `/v1/admin/failed_payments?merchant=${M}`],
    ["failed payments, all resolutions", `/v1/admin/failed_payments?merchant=${M}&resolution=all`],
    ["failed payments by reason", `/v1/admin/failed_payments?merchant=${M}&reason=card_declined`],
    ["failed payments in a window", `/v1/admin/failed_payments?merchant=${M}&created_gte=${daysAgo(3)}&created_lte=${today}`],
    ["audit log of a merchant", `/v1/admin/audit_log?merchant=${M}&limit=5`],
    ["audit log by action in a window", `/v1/admin/audit_log?merchant=${M}&action=payment_intents.create&created_gte=${daysAgo(2)}`],
    ["refunds awaiting approval", `/v1/admin/refunds?merchant=${M}`],
    ["failed payments of every merchant", "/v1/admin/failed_payments?limit=5"],
  ])("%s is an index range", async (label, path) => {
    expectIndexed(await through(path, admin), label);
  });

  it("seed 001's search by order id across every merchant is a range of payment_intents_order_mode", async () => {
    const r = await through("/v1/admin/payments/search?order_id=ord_sp3", admin);
    expectIndexed(r, "search every merchant by order");
    expect(r.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/payment_intents_order_mode \(livemode=\? AND order_id=\?\)/);
  });

  it("the audit log of every merchant walks audit_log_list from its newest entry, a page's worth", async () => {
    expectIndexed(await through("/v1/admin/audit_log?limit=5", admin), "audit log of every merchant", "audit_log_list");
  });

  it("refunds awaiting approval of every merchant walk the partial index of pending refunds", async () => {
    expectIndexed(await through("/v1/admin/refunds", admin), "refunds awaiting approval, every merchant", "refunds_pending_all");
  });

  it.each([
    ["an amount range with no window", `/v1/admin/payments/search?merchant=${M}&amount_gte=1010`, /created_gte and created_lte/],
    ["status across every merchant", "/v1/admin/payments/search?status=succeeded", /or merchant/],
    ["an action with no window", `/v1/admin/audit_log?merchant=${M}&action=payment_intents.create`, /object_id/],
    ["failed payments' counts over 60 days", `/v1/admin/failed_payments?merchant=${M}&created_gte=${daysAgo(60)}`, /counts_by_reason/],
  ])("%s is refused with a 400 naming what to add", async (_label, path, names) => {
    const r = await through(path, admin);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { type: "invalid_request_error", param: "created_gte" } });
    expect(JSON.stringify(r.body)).toMatch(names);
  });
});
