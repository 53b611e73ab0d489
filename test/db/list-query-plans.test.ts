// The lists of everything that is not a payment (customers, their search and stored cards, products,
// prices, subscriptions, invoices, checkout sessions, an endpoint's deliveries) are index ranges too,
// whatever the filter and at any depth: each route is called through the Worker with a D1 binding
// that records every statement, and each page's statement must be a SEARCH of an index whose
// constraint holds the filter's column (so a filter with few matches reads only them, not the
// merchant's whole list), never a SCAN of the table, and never a sort through a temp B-tree. A
// customer search that no index serves (a `~` contains clause alone) is refused with a 400 naming
// what to add, and served once an exact clause or a created window of at most 31 days bounds it.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createEndpoint, expectError, get, hsToken, newMerchant, post, type CallOptions, type ListJson } from "../helpers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { planOf, recording, throughWorker, type Captured, type Routed } from "./recording";

let opts: CallOptions = {};

/** The statements that read a page of `table` (those with an ORDER BY), each with its plan. */
function through(path: string, table: string, key = opts.key ?? ""): Promise<Routed> {
  return throughWorker(path, key, (sql) => /^\s*select/i.test(sql) && sql.includes(`from "${table}"`) && /order by/i.test(sql));
}

/**
 * The route answers 200 and each page of `table` it read is a SEARCH of an index constrained on every
 * column of `columns` (for a cursor also on (created,id)), with no SCAN of the table and no sort.
 */
async function expectRange(path: string, table: string, columns: string[], options: { cursor?: boolean; key?: string } = {}): Promise<Routed> {
  const r = await through(path, table, options.key);
  expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 400)}`).toBe(200);
  expect(r.plans.length, `${path}: no page of ${table} was read`).toBeGreaterThan(0);
  for (const { sql, plan } of r.plans) {
    const text = plan.join("\n");
    const label = `${path}\n${sql}\n${text}`;
    expect(text, label).not.toMatch(new RegExp(`SCAN ${table}\\b`));
    expect(text, label).not.toMatch(/USE TEMP B-TREE/);
    const search = plan.map((line) => new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX \\w+ \\((.*)\\)$`).exec(line)).find((m) => m !== null);
    expect(search, label).toBeDefined();
    const constraint = search?.[2] ?? "";
    for (const column of columns) expect(constraint, label).toMatch(new RegExp(`\\b${column}=\\?`));
    if (options.cursor) expect(constraint, label).toMatch(/\(created,id\)[<>]\(\?,\?\)/);
  }
  return r;
}

async function ok<T>(res: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

const ids = { customer: "", customer2: "", clock: "", product: "", price: "", card: "", subscription: "", invoice: "", session: "", endpoint: "", delivery: "" };

beforeAll(async () => {
  const m = await newMerchant("list-plans");
  opts = m.opts;
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: Math.floor(Date.now() / 1000), name: "plans" }, opts));
  ids.clock = clock.id;
  ids.customer = (await ok(post<{ id: string }>("/v1/customers", { email: "ada@example.com", name: "Ada Lovelace", phone: "+15550100", test_clock: clock.id }, opts))).id;
  ids.customer2 = (await ok(post<{ id: string }>("/v1/customers", { email: "grace@example.com", name: "Grace Hopper", phone: "+15550101" }, opts))).id;
  for (let i = 0; i < 3; i++) await ok(post("/v1/customers", { email: `other${i}@example.com`, name: `Other ${i}` }, opts));
  ids.card = (await ok(post<{ id: string }>(`/v1/customers/${ids.customer}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts))).id;
  const price = await ok(post<{ id: string; product: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, opts));
  ids.price = price.id;
  ids.product = price.product;
  const sub = await ok(post<{ id: string; latest_invoice: string }>("/v1/subscriptions", { customer: ids.customer, price: ids.price }, opts));
  ids.subscription = sub.id;
  ids.invoice = sub.latest_invoice;
  const session = await ok(
    post<{ id: string }>(
      "/v1/checkout/sessions",
      { mode: "payment", customer: ids.customer2, success_url: "https://shop.example/ok", line_items: [{ price_data: { currency: "usd", unit_amount: 500, product_data: { name: "Mug" } }, quantity: 1 }] },
      opts,
    ),
  );
  ids.session = session.id;
  ids.endpoint = (await createEndpoint("https://hooks.example/plans", ["*"], opts)).id;
});

describe("customers", () => {
  it("the list, by email, by test clock and by a created window; deep pages", async () => {
    // The list walks a partial index of the customers that are not deleted.
    for (const path of ["/v1/customers?limit=2", `/v1/customers?created[gte]=${Math.floor(Date.now() / 1000) - 3600}`, `/v1/customers/search?query=${encodeURIComponent(`name~'Ada' AND created>=${Math.floor(Date.now() / 1000) - 3600}`)}`]) {
      const live = await expectRange(path, "customers", ["merchant_id", "livemode"]);
      expect(live.plans.map((p) => p.plan.join("\n")).join("\n"), path).toMatch(/USING INDEX customers_live /);
    }
    await expectRange(`/v1/customers?limit=2&starting_after=${ids.customer2}`, "customers", ["merchant_id", "livemode"], { cursor: true });
    const byEmail = await expectRange("/v1/customers?email=ada@example.com", "customers", ["email"]);
    expect((byEmail.body.data as { id: string }[]).map((c) => c.id)).toEqual([ids.customer]);
    await expectRange(`/v1/customers?email=ada@example.com&starting_after=${ids.customer}`, "customers", ["email"], { cursor: true });
    const byClock = await expectRange(`/v1/customers?test_clock=${ids.clock}`, "customers", ["test_clock"]);
    expect((byClock.body.data as { id: string }[]).map((c) => c.id)).toEqual([ids.customer]);
  });

  it("search by email, name and phone (exact), ORs of them, and contains clauses bounded by one", async () => {
    const q = (query: string) => `/v1/customers/search?query=${encodeURIComponent(query)}`;
    const found = async (query: string, columns: string[]) => ((await expectRange(q(query), "customers", columns)).body.data as { id: string }[]).map((c) => c.id);
    expect(await found("email:'ada@example.com'", ["email"])).toEqual([ids.customer]);
    expect(await found("name:'Grace Hopper'", ["name"])).toEqual([ids.customer2]);
    expect(await found("phone:'+15550100'", ["phone"])).toEqual([ids.customer]);
    expect(await found("name~'Love' AND email:'ada@example.com'", ["email"])).toEqual([ids.customer]);
    expect(await found("name~'Hop' AND email:'ada@example.com'", ["email"])).toEqual([]);
    // An OR reads one range per clause, each on its own field's index, and merges them.
    const either = await expectRange(q("email:'ada@example.com' OR name:'Grace Hopper'"), "customers", []);
    expect((either.body.data as { id: string }[]).map((c) => c.id)).toEqual([ids.customer2, ids.customer]);
    expect(either.plans.map((p) => /USING INDEX (\w+)/.exec(p.plan.join("\n"))?.[1])).toEqual(["customers_email", "customers_name"]);
    // A contains clause in a created window of at most 31 days: a range of the list index.
    const since = Math.floor(Date.now() / 1000) - 3600;
    expect(await found(`name~'Ada' AND created>=${since}`, ["merchant_id", "livemode"])).toEqual([ids.customer]);
  });

  it("a quoted value may hold ' and ' or ' or ' (it is a value, not a joiner)", async () => {
    const shop = await ok(post<{ id: string }>("/v1/customers", { name: "Barnes and Noble", email: "books@example.com" }, opts));
    const q = (query: string) => `/v1/customers/search?query=${encodeURIComponent(query)}`;
    expect((await ok(get<ListJson<{ id: string }>>(q("name:'Barnes and Noble'"), opts))).data.map((c) => c.id)).toEqual([shop.id]);
    expect((await ok(get<ListJson<{ id: string }>>(q(`name:"Tom or Jerry" OR email:'books@example.com'`), opts))).data.map((c) => c.id)).toEqual([shop.id]);
    expect((await ok(get<ListJson<{ id: string }>>(q("name~'and Nob' AND email:'books@example.com'"), opts))).data.map((c) => c.id)).toEqual([shop.id]);
    expectError(await get(q("name:'Barnes' AND email:'books@example.com' OR phone:'1'"), opts), 400, "search_query_invalid");
    // A space alone is an AND (as at Stripe), so it is read, and finds nothing here; without a space it is not read.
    expect((await get(q("name:'Barnes' email:'books@example.com'"), opts)).status).toBe(200);
    expectError(await get(q("name:'Barnes'email:'books@example.com'"), opts), 400, "search_query_invalid");
  });

  it("an OR of exact clauses pages through the union, newest first, each customer once", async () => {
    const query = encodeURIComponent("email:'ada@example.com' OR name:'Grace Hopper' OR phone:'+15550100'");
    const first = await ok(get<ListJson<{ id: string }> & { next_page: string | null }>(`/v1/customers/search?limit=1&query=${query}`, opts));
    expect(first.data.map((c) => c.id)).toEqual([ids.customer2]);
    expect(first.has_more).toBe(true);
    const second = await ok(get<ListJson<{ id: string }> & { next_page: string | null }>(`/v1/customers/search?limit=1&query=${query}&page=${first.next_page ?? ""}`, opts));
    expect(second.data.map((c) => c.id)).toEqual([ids.customer]);
    expect(second.has_more).toBe(false);
  });

  it("a contains clause alone, or in an OR, or in a window over 31 days, is refused with a 400 naming what to add", async () => {
    for (const query of ["name~'Ada'", "email~'example.com' AND name~'Ad'", "name~'Ada' OR email:'ada@example.com'", `name~'Ada' AND created>=${Math.floor(Date.now() / 1000) - 40 * 86_400}`]) {
      const err = expectError(await get(`/v1/customers/search?query=${encodeURIComponent(query)}`, opts), 400, "search_query_unbounded");
      expect(err.message, query).toMatch(/created/);
      expect(err.param).toBe("query");
    }
  });

  it("a customer's stored cards (/v1 and seed 002) are a range of that customer's cards", async () => {
    await expectRange(`/v1/customers/${ids.customer}/payment_methods`, "payment_methods", ["customer"]);
    await expectRange(`/v1/customers/${ids.customer}/payment_methods?starting_after=${ids.card}`, "payment_methods", ["customer"], { cursor: true });
    await expectRange(`/v1/payment_methods?customer=${ids.customer}`, "payment_methods", ["customer"]);
    const saved = await post<{ data: { id: string } }>("/api/v1/customers/cust-plans/payment-methods", { clientRequestId: "plans-save-1", token: "9418594164541111", expiry: "1239", isDefault: true }, opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    await expectRange("/api/v1/customers/cust-plans/payment-methods", "payment_methods", ["customer"]);
    await expectRange(`/api/v1/customers/cust-plans/payment-methods?cursor=${saved.body.data.id}`, "payment_methods", ["customer"], { cursor: true });
  });
});

describe("setup intents", () => {
  it("the merchant's, a customer's and a payment method's setup intents are ranges of their own index, at any depth", async () => {
    const setups: string[] = [];
    for (let i = 0; i < 3; i++) setups.push((await ok(post<{ id: string }>("/v1/setup_intents", { customer: ids.customer }, opts))).id);
    const saved = await ok(post<{ id: string; payment_method: string }>("/v1/setup_intents", { customer: ids.customer2, payment_method: "pm_card_visa", confirm: true }, opts));
    await expectRange("/v1/setup_intents", "setup_intents", []);
    await expectRange(`/v1/setup_intents?starting_after=${setups[1]}`, "setup_intents", [], { cursor: true });
    await expectRange(`/v1/setup_intents?customer=${ids.customer}`, "setup_intents", ["customer"]);
    await expectRange(`/v1/setup_intents?customer=${ids.customer}&ending_before=${setups[0]}`, "setup_intents", ["customer"], { cursor: true });
    await expectRange(`/v1/setup_intents?payment_method=${saved.payment_method}`, "setup_intents", ["payment_method"]);
    await expectRange(`/v1/setup_intents?payment_method=${saved.payment_method}&starting_after=${saved.id}`, "setup_intents", ["payment_method"], { cursor: true });
  });

  it("a setup's attempts are a range of setup_attempts_setup_intent at any depth; a confirmation writes its attempt by index and primary key, no scan", async () => {
    const captured: Captured[] = [];
    const send = async (path: string, form: string, status: number): Promise<{ id: string; latest_attempt: string }> => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { authorization: `Bearer ${opts.key ?? ""}`, "content-type": "application/x-www-form-urlencoded" }, body: form }), { ...env, DB: recording(env.DB, captured) }, ctx);
      await waitOnExecutionContext(ctx);
      const text = await res.text();
      expect(res.status, `${path} ${form}: ${text}`).toBe(status);
      const body = JSON.parse(text) as { id: string; latest_attempt: string; error?: { setup_intent: { id: string; latest_attempt: string } } };
      return body.error?.setup_intent ?? body;
    };
    // A declined card's attempt, then a saved card's: each confirmation's batch writes one.
    const setup = await send("/v1/setup_intents", `customer=${ids.customer2}&payment_method=pm_card_chargeDeclined&confirm=true`, 402);
    const saved = await send(`/v1/setup_intents/${setup.id}/confirm`, "payment_method=pm_card_visa", 200);
    const writes = captured.filter((c) => /setup_attempts|^\s*update setup_intents/i.test(c.sql));
    expect(writes.length).toBe(4);
    for (const c of writes) {
      const plan = await planOf(c);
      const text = plan.join("\n");
      const label = `${c.sql}\n${text}`;
      // (An INSERT ... SELECT without a FROM reads its one constant row.)
      expect(plan.filter((line) => /^SCAN /.test(line) && line !== "SCAN CONSTANT ROW"), label).toEqual([]);
      expect(text, label).not.toMatch(/TEMP B-TREE/);
      if (/insert into setup_attempts/i.test(c.sql)) {
        // The setup's earlier attempts' newest time, and the guard on the setup's own row.
        expect(text, label).toMatch(/SEARCH setup_attempts USING COVERING INDEX setup_attempts_setup_intent \(merchant_id=\? AND livemode=\? AND setup_intent=\?\)/);
        expect(text, label).toMatch(/SEARCH setup_intents USING INDEX sqlite_autoindex_setup_intents_1 \(id=\?\)/);
      }
    }
    await expectRange(`/v1/setup_attempts?setup_intent=${setup.id}`, "setup_attempts", ["merchant_id", "livemode", "setup_intent"]);
    await expectRange(`/v1/setup_attempts?setup_intent=${setup.id}&created[gte]=1`, "setup_attempts", ["setup_intent"]);
    await expectRange(`/v1/setup_attempts?setup_intent=${setup.id}&limit=1&starting_after=${saved.latest_attempt}`, "setup_attempts", ["setup_intent"], { cursor: true });
    await expectRange(`/v1/setup_attempts?setup_intent=${setup.id}&limit=1&ending_before=${setup.latest_attempt}`, "setup_attempts", ["setup_intent"], { cursor: true });
  });

  it("a setup's 3D Secure challenge: asked, opened, answered and canceled by primary key and index, no scan", async () => {
    const captured: Captured[] = [];
    const send = async (path: string, form: string, status: number, key: string | null = opts.key ?? ""): Promise<Response> => {
      const ctx = createExecutionContext();
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
      if (key) headers.authorization = `Bearer ${key}`;
      const res = await worker.fetch(new Request(`http://gateway.test${path}`, { method: form === "" && key === null ? "GET" : "POST", headers, ...(form === "" && key === null ? {} : { body: form }), redirect: "manual" }), { ...env, DB: recording(env.DB, captured) }, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status, `${path} ${form}`).toBe(status);
      return res;
    };
    type Challenged = { id: string; client_secret: string; latest_attempt: string; next_action: { redirect_to_url: { url: string } } };
    const ask = async () => (await (await send("/v1/setup_intents", `customer=${ids.customer2}&payment_method=pm_card_threeDSecure2Required&confirm=true`, 200)).json()) as Challenged;
    const answered = await ask();
    const page = new URL(answered.next_action.redirect_to_url.url);
    await send(`${page.pathname}${page.search}`, "", 200, null);
    await send(page.pathname, `client_secret=${encodeURIComponent(answered.client_secret)}&attempt=${answered.latest_attempt}&outcome=approve`, 303, null);
    const failed = await ask();
    await send(new URL(failed.next_action.redirect_to_url.url).pathname, `client_secret=${encodeURIComponent(failed.client_secret)}&attempt=${failed.latest_attempt}&outcome=fail`, 303, null);
    const canceled = await ask();
    await send(`/v1/setup_intents/${canceled.id}/cancel`, "", 200);
    const statements = captured.filter((c) => /setup_attempts|setup_intents/i.test(c.sql));
    expect(statements.filter((c) => /^\s*update setup_attempts/i.test(c.sql)).length).toBe(3);
    for (const c of statements) {
      const plan = await planOf(c);
      const text = plan.join("\n");
      expect(plan.filter((line) => /^SCAN /.test(line) && line !== "SCAN CONSTANT ROW"), `${c.sql}\n${text}`).toEqual([]);
      expect(text, `${c.sql}\n${text}`).not.toMatch(/TEMP B-TREE/);
    }
  });
});

describe("billing", () => {
  it("products and prices, by each filter", async () => {
    await expectRange("/v1/products?active=true", "products", ["active"]);
    await expectRange(`/v1/products?active=true&starting_after=${ids.product}`, "products", ["active"], { cursor: true });
    await expectRange("/v1/prices?active=true", "prices", ["active"]);
    await expectRange("/v1/prices?currency=usd", "prices", ["currency"]);
    await expectRange(`/v1/prices?product=${ids.product}`, "prices", ["product"]);
    await expectRange(`/v1/prices?product=${ids.product}&starting_after=${ids.price}`, "prices", ["product"], { cursor: true });
  });

  it("Stripe's list filters added later: created windows, prices by type and recurring[interval], products by ids[] are index ranges too", async () => {
    const since = Math.floor(Date.now() / 1000) - 3600;
    const created = async (path: string, table: string, columns: string[] = ["merchant_id", "livemode"]) => {
      const r = await expectRange(path, table, columns);
      for (const { sql, plan } of r.plans) expect(plan.join("\n"), `${path}\n${sql}`).toMatch(/created>\?/);
      return r;
    };
    await created(`/v1/subscriptions?status=all&created[gte]=${since}`, "subscriptions");
    await created(`/v1/subscriptions?created[gt]=${since}&collection_method=charge_automatically`, "subscriptions");
    await created(`/v1/subscriptions?customer=${ids.customer}&created[gte]=${since}`, "subscriptions", ["customer"]);
    await created(`/v1/invoices?created[gte]=${since}&created[lt]=${since + 7200}`, "invoices");
    await created(`/v1/invoices?customer=${ids.customer}&created[gte]=${since}`, "invoices", ["customer"]);
    await created(`/v1/checkout/sessions?created[gte]=${since}`, "checkout_sessions");
    await created(`/v1/checkout/sessions?status=open&created[gte]=${since}`, "checkout_sessions", ["status"]);
    await created(`/v1/prices?created[gte]=${since}`, "prices");
    await created(`/v1/products?created[gte]=${since}`, "products");
    const oneTime = await expectRange("/v1/prices?type=one_time", "prices", ["merchant_id", "livemode"]);
    expect(oneTime.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/prices_one_time/);
    const recurring = await expectRange("/v1/prices?type=recurring", "prices", ["merchant_id", "livemode"]);
    expect(recurring.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/prices_recurring/);
    await expectRange("/v1/prices?recurring[interval]=month", "prices", ["interval"]);
    await expectRange(`/v1/prices?recurring[interval]=month&starting_after=${ids.price}`, "prices", ["interval"], { cursor: true });
    // ids[]: one statement by primary key, at most 100 rows ordered in the Worker.
    const byIds = await throughWorker(`/v1/products?ids[]=${ids.product}&ids[]=prod_missing`, opts.key ?? "", (sql) => /^\s*select/i.test(sql) && sql.includes('from "products"') && sql.includes("json_each"));
    expect(byIds.status, JSON.stringify(byIds.body)).toBe(200);
    expect((byIds.body.data as { id: string }[]).map((p) => p.id)).toEqual([ids.product]);
    expect(byIds.plans.length).toBe(1);
    for (const { sql, plan } of byIds.plans) {
      const text = plan.join("\n");
      expect(text, sql).toMatch(/SEARCH products USING INDEX sqlite_autoindex_products_1 \(id=\?\)/);
      expect(text, sql).not.toMatch(/SCAN products\b|TEMP B-TREE/);
    }
  });

  it("prices by lookup keys: one statement, each key a lookup of the unique prices_lookup_key, no scan and no sort (at most 10 rows, ordered in the Worker)", async () => {
    const made: string[] = [];
    for (const key of ["plan_a", "plan_b", "plan_c"]) made.push((await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", product: ids.product, lookup_key: key }, opts))).id);
    const lookups = (sql: string) => /^\s*select/i.test(sql) && sql.includes('from "prices"') && sql.includes('"lookup_key" in');
    // The cursor's own row is read by its primary key.
    const cursors = (sql: string) => /^\s*select "created" from "prices"/i.test(sql);
    for (const path of ["/v1/prices?lookup_keys[]=plan_a&lookup_keys[]=plan_c", `/v1/prices?lookup_keys[]=plan_a&lookup_keys[]=plan_b&lookup_keys[]=plan_c&active=true&limit=1&starting_after=${made[2] ?? ""}`, `/v1/prices?lookup_keys[]=plan_a&lookup_keys[]=plan_c&ending_before=${made[0] ?? ""}`]) {
      const r = await throughWorker(path, opts.key ?? "", lookups);
      expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
      expect(r.plans).toHaveLength(1);
      if (path.includes("_before") || path.includes("_after")) {
        const cursor = await throughWorker(path, opts.key ?? "", cursors);
        expect(cursor.plans.map((p) => p.plan.join("\n"))).toEqual(["SEARCH prices USING INDEX sqlite_autoindex_prices_1 (id=?)"]);
      }
      for (const { sql, plan } of r.plans) {
        const text = plan.join("\n");
        expect(text, `${sql}\n${text}`).toMatch(/^SEARCH prices USING INDEX prices_lookup_key \(merchant_id=\? AND livemode=\? AND lookup_key=\?\)$/m);
        expect(text, `${sql}\n${text}`).not.toMatch(/SCAN prices|TEMP B-TREE/);
      }
    }
    const ordered = await ok(get<ListJson<{ id: string }>>("/v1/prices?lookup_keys[]=plan_a&lookup_keys[]=plan_c&lookup_keys[]=plan_b", opts));
    expect(ordered.data.map((p) => p.id)).toEqual([...made].reverse());
  });

  it("the writes that give a price a lookup key find its holder by prices_lookup_key (and the product by its key): no scan", async () => {
    const captured: Captured[] = [];
    const send = async (path: string, form: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://gateway.test${path}`, { method: "POST", headers: { authorization: `Bearer ${opts.key ?? ""}`, "content-type": "application/x-www-form-urlencoded" }, body: form }), { ...env, DB: recording(env.DB, captured) }, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status, `${path} ${form}: ${await res.text()}`).toBe(200);
    };
    await send("/v1/prices", `unit_amount=700&currency=usd&product=${ids.product}&lookup_key=writes_a`);
    await send("/v1/prices", "unit_amount=700&currency=usd&product_data[name]=Writes&lookup_key=writes_a&transfer_lookup_key=true");
    await send(`/v1/prices/${ids.price}`, "lookup_key=writes_b");
    await send(`/v1/prices/${ids.price}`, "lookup_key=writes_a&transfer_lookup_key=true");
    await send(`/v1/prices/${ids.price}`, "lookup_key=");
    const touching = captured.filter((c) => /prices/i.test(c.sql) && /lookup_key/i.test(c.sql) && !/^\s*(select "id", "object"|insert into "idempotency)/i.test(c.sql));
    expect(touching.length).toBeGreaterThan(4);
    for (const c of touching) {
      const plan = (await planOf(c)).join("\n");
      expect(plan, `${c.sql}\n${plan}`).not.toMatch(/SCAN (prices|products)\b/);
      expect(plan, `${c.sql}\n${plan}`).not.toMatch(/TEMP B-TREE/);
      // Those that look a key up (the holder's check, the transfer's release): by the key's index.
      if (/where[\s\S]*lookup_key"? = \?/i.test(c.sql)) expect(plan, `${c.sql}\n${plan}`).toMatch(/SEARCH prices USING (COVERING )?INDEX prices_lookup_key \(merchant_id=\? AND livemode=\? AND lookup_key=\?\)/);
    }
  });

  it("subscriptions by customer, price, clock and status, and the default (all but canceled)", async () => {
    await expectRange(`/v1/subscriptions?customer=${ids.customer}`, "subscriptions", ["customer"]);
    // A customer's subscriptions list (its expand[]=subscriptions): the same range.
    await expectRange(`/v1/customers/${ids.customer}/subscriptions`, "subscriptions", ["customer"]);
    await expectRange(`/v1/subscriptions?price=${ids.price}`, "subscriptions", ["price"]);
    await expectRange(`/v1/subscriptions?test_clock=${ids.clock}`, "subscriptions", ["test_clock"]);
    await expectRange("/v1/subscriptions?status=active", "subscriptions", ["status"]);
    await expectRange(`/v1/subscriptions?status=active&starting_after=${ids.subscription}`, "subscriptions", ["status"], { cursor: true });
    await expectRange("/v1/subscriptions?status=all", "subscriptions", ["merchant_id", "livemode"]);
    // The default skips canceled subscriptions through a partial index that holds only the others.
    const open = await expectRange("/v1/subscriptions", "subscriptions", ["merchant_id", "livemode"]);
    expect(open.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/subscriptions_open/);
    // status=ended (canceled and incomplete_expired): one range of the partial index that holds only those, no sort.
    const ended = await expectRange("/v1/subscriptions?status=ended", "subscriptions", ["merchant_id", "livemode"]);
    expect(ended.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/subscriptions_ended/);
    await expectRange(`/v1/subscriptions?status=ended&starting_after=${ids.subscription}`, "subscriptions", ["merchant_id", "livemode"], { cursor: true });
    expect((open.body.data as { id: string }[]).map((s) => s.id)).toEqual([ids.subscription]);
  });

  it("invoices by customer, subscription and status", async () => {
    await expectRange(`/v1/invoices?customer=${ids.customer}`, "invoices", ["customer"]);
    await expectRange(`/v1/invoices?subscription=${ids.subscription}`, "invoices", ["subscription"]);
    await expectRange("/v1/invoices?status=paid", "invoices", ["status"]);
    await expectRange(`/v1/invoices?status=paid&starting_after=${ids.invoice}`, "invoices", ["status"], { cursor: true });
  });
});

describe("billing searches", () => {
  const q = (resource: string, query: string, extra = "") => `/v1/${resource}/search?query=${encodeURIComponent(query)}${extra}`;
  const since = () => Math.floor(Date.now() / 1000) - 3600;

  /**
   * A metadata clause drives the search from object_metadata's index (merchant, mode, object, key,
   * value, then (created, object_id) in order), each object found by its primary key: no scan, no sort.
   */
  async function expectMetadataRange(path: string, table: string, options: { cursor?: boolean } = {}): Promise<Routed> {
    const r = await throughWorker(path, opts.key ?? "", (sql) => /^\s*select/i.test(sql) && sql.includes('from "object_metadata" inner join') && /order by/i.test(sql));
    expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 400)}`).toBe(200);
    expect(r.plans.length, `${path}: no range of object_metadata was read`).toBeGreaterThan(0);
    for (const { sql, plan } of r.plans) {
      const text = plan.join("\n");
      const label = `${path}\n${sql}\n${text}`;
      expect(text, label).not.toMatch(/SCAN (object_metadata|products|prices|subscriptions|customers)\b/);
      expect(text, label).not.toMatch(/USE TEMP B-TREE/);
      const range = /^SEARCH object_metadata USING (COVERING )?INDEX object_metadata_search \((.*)\)$/m.exec(text);
      expect(range?.[2], label).toMatch(/^merchant_id=\? AND livemode=\? AND object=\? AND key=\? AND value=\?/);
      if (options.cursor) expect(range?.[2], label).toMatch(/\(created,object_id\)<\(\?,\?\)/);
      expect(text, label).toMatch(new RegExp(`SEARCH ${table} USING INDEX sqlite_autoindex_${table}_1 \\(id=\\?\\)`));
    }
    return r;
  }

  it("products by name, active, a created window, contains within one, and metadata; OR and pages", async () => {
    const tagged = await ok(post<{ id: string }>("/v1/products", { name: "Plans tagged", metadata: { line: "plans" } }, opts));
    await expectRange(q("products", "name:'Pro plan'"), "products", ["name"]);
    await expectRange(q("products", "name:'Pro plan'", `&page=${ids.product}`), "products", ["name"], { cursor: true });
    await expectRange(q("products", "active:'true'"), "products", ["active"]);
    await expectRange(q("products", `created>=${since()}`), "products", ["merchant_id", "livemode"]);
    await expectRange(q("products", `name~'Pro' AND description~'x' AND created>=${since()}`), "products", ["merchant_id", "livemode"]);
    const either = await expectRange(q("products", "name:'Pro plan' OR active:'false'"), "products", []);
    expect(either.plans.map((p) => /USING INDEX (\w+)/.exec(p.plan.join("\n"))?.[1])).toEqual(["products_name", "products_active"]);
    const byMetadata = await expectMetadataRange(q("products", `metadata['line']:'plans' AND active:'true' AND created>=${since()}`), "products");
    expect((byMetadata.body.data as { id: string }[]).map((p) => p.id)).toEqual([tagged.id]);
    await expectMetadataRange(q("products", "metadata['line']:'plans'", `&page=${tagged.id}`), "products", { cursor: true });
  });

  it("prices by product, lookup key, active, currency, type and metadata", async () => {
    await ok(post("/v1/prices", { unit_amount: 300, currency: "usd", product: ids.product, lookup_key: "plans_search", metadata: { line: "plans" } }, opts));
    await expectRange(q("prices", `product:'${ids.product}'`), "prices", ["product"]);
    await expectRange(q("prices", `product:'${ids.product}'`, `&page=${ids.price}`), "prices", ["product"], { cursor: true });
    await expectRange(q("prices", "lookup_key:'plans_search'"), "prices", ["lookup_key"]);
    await expectRange(q("prices", "active:'true'"), "prices", ["active"]);
    await expectRange(q("prices", "currency:'usd'"), "prices", ["currency"]);
    for (const [type, index] of [["one_time", "prices_one_time"], ["recurring", "prices_recurring"]]) {
      const r = await expectRange(q("prices", `type:'${type}'`), "prices", ["merchant_id", "livemode"]);
      expect(r.plans.map((p) => p.plan.join("\n")).join("\n")).toMatch(new RegExp(`USING INDEX ${index ?? ""} `));
    }
    await expectRange(q("prices", `type:'recurring'`, `&page=${ids.price}`), "prices", ["merchant_id", "livemode"], { cursor: true });
    await expectMetadataRange(q("prices", "metadata['line']:'plans' AND type:'one_time'"), "prices");
    await expectRange(q("prices", `lookup_key:'plans_search' OR product:'${ids.product}'`), "prices", []);
  });

  it("subscriptions by status and metadata, invoices by customer, subscription, currency and total", async () => {
    await expectRange(q("subscriptions", "status:'active'"), "subscriptions", ["status"]);
    await expectRange(q("subscriptions", "status:'active'", `&page=${ids.subscription}`), "subscriptions", ["status"], { cursor: true });
    await expectRange(q("subscriptions", `created>=${since()}`), "subscriptions", ["merchant_id", "livemode"]);
    await expectRange(q("subscriptions", `-status:'canceled' AND created>=${since()}`), "subscriptions", ["merchant_id", "livemode"]);
    const sub = await ok(post<{ id: string }>("/v1/subscriptions", { customer: ids.customer, price: ids.price, metadata: { line: "plans" } }, opts));
    const found = await expectMetadataRange(q("subscriptions", "metadata['line']:'plans' OR metadata['line']:'other'"), "subscriptions");
    expect((found.body.data as { id: string }[]).map((s) => s.id)).toEqual([sub.id]);
    const client = await ok(post<{ id: string }>("/v1/customers", { email: "plans@example.com", metadata: { line: "plans" } }, opts));
    const clients = await expectMetadataRange(q("customers", "metadata['line']:'plans'"), "customers");
    expect((clients.body.data as { id: string }[]).map((c) => c.id)).toEqual([client.id]);
    await expectMetadataRange(q("customers", "metadata['line']:'plans'", `&page=${client.id}`), "customers", { cursor: true });
    await expectRange(q("invoices", `customer:'${ids.customer}'`), "invoices", ["customer"]);
    await expectRange(q("invoices", `customer:'${ids.customer}' AND total>100`), "invoices", ["customer"]);
    await expectRange(q("invoices", `subscription:'${ids.subscription}'`), "invoices", ["subscription"]);
    await expectRange(q("invoices", "currency:'usd'"), "invoices", ["currency"]);
    await expectRange(q("invoices", "currency:'usd'", `&page=${ids.invoice}`), "invoices", ["currency"], { cursor: true });
    await expectRange(q("invoices", "total:1999"), "invoices", ["amount_due"]);
    await expectRange(q("invoices", "status:'paid'"), "invoices", ["status"]);
    await expectRange(q("invoices", "status:'paid'", `&page=${ids.invoice}`), "invoices", ["status"], { cursor: true });
    await expectRange(q("invoices", `total>=1000 AND created>=${since()}`), "invoices", ["merchant_id", "livemode"]);
  });
});

describe("the ids a list's filters name", () => {
  it("each is checked by one lookup of its table's primary key (a deleted customer's too), never a scan", async () => {
    const paid = await ok(post<{ id: string; latest_charge: string }>("/v1/payment_intents", { amount: 700, currency: "usd", customer: ids.customer, payment_method: ids.card, confirm: true }, opts));
    const setup = await ok(post<{ payment_method: string }>("/v1/setup_intents", { customer: ids.customer2, payment_method: "pm_card_visa", confirm: true }, opts));
    const gone = await ok(post<{ id: string }>("/v1/customers", { email: "gone@example.com" }, opts));
    await ok(call("DELETE", `/v1/customers/${gone.id}`, opts));
    const checks: [string, string][] = [
      [`/v1/payment_intents?customer=${ids.customer}`, "customers"],
      [`/v1/payment_intents?customer=${gone.id}`, "customers"],
      [`/v1/charges?customer=${ids.customer}`, "customers"],
      [`/v1/charges?payment_intent=${paid.id}`, "payment_intents"],
      [`/v1/refunds?payment_intent=${paid.id}`, "payment_intents"],
      // A charge is found through its intent (ch_X is pi_X's): the intent's row, by its key.
      [`/v1/refunds?charge=${paid.latest_charge}`, "payment_intents"],
      [`/v1/payment_methods?customer=${ids.customer}`, "customers"],
      [`/v1/setup_intents?customer=${ids.customer2}`, "customers"],
      [`/v1/setup_intents?payment_method=${setup.payment_method}`, "payment_methods"],
      [`/v1/prices?product=${ids.product}`, "products"],
      [`/v1/subscriptions?customer=${ids.customer}`, "customers"],
      [`/v1/subscriptions?price=${ids.price}`, "prices"],
      [`/v1/subscriptions?test_clock=${ids.clock}`, "test_clocks"],
      [`/v1/customers?test_clock=${ids.clock}`, "test_clocks"],
      [`/v1/invoices?customer=${ids.customer}`, "customers"],
      [`/v1/invoices?subscription=${ids.subscription}`, "subscriptions"],
      [`/v1/checkout/sessions?customer=${ids.customer2}`, "customers"],
      [`/v1/checkout/sessions?payment_intent=${paid.id}`, "payment_intents"],
      [`/v1/subscription_items?subscription=${ids.subscription}`, "subscriptions"],
    ];
    for (const [path, table] of checks) {
      // The check: a read of `table` by its id alone, without an ORDER BY (a page has one).
      const r = await throughWorker(path, opts.key ?? "", (sql) => /^\s*select/i.test(sql) && sql.includes(`from "${table}" where ("${table}"."id" = ?`) && !/order by/i.test(sql));
      expect(r.status, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
      expect(r.plans.length, `${path}: no lookup of ${table}`).toBeGreaterThan(0);
      for (const { sql, plan } of r.plans) {
        const text = plan.join("\n");
        expect(text, `${path}\n${sql}\n${text}`).toBe(`SEARCH ${table} USING INDEX sqlite_autoindex_${table}_1 (id=?)`);
      }
    }
    // An unknown id of another form is no statement at all; one of the object's form is the same lookup.
    const unknown = await throughWorker("/v1/refunds?payment_intent=pi_nope0000000000000000000", opts.key ?? "", (sql) => /^\s*select/i.test(sql) && sql.includes('from "payment_intents" where'));
    expect(unknown.status).toBe(400);
    expect(unknown.plans.map((p) => p.plan.join("\n"))).toEqual(["SEARCH payment_intents USING INDEX sqlite_autoindex_payment_intents_1 (id=?)"]);
  });
});

describe("API keys", () => {
  it("the merchant's keys are a range of api_keys_list, at any depth", async () => {
    const keys = await ok(get<ListJson<{ id: string }>>("/v1/api_keys", opts));
    await expectRange("/v1/api_keys?limit=2", "api_keys", ["merchant_id", "livemode"]);
    await expectRange(`/v1/api_keys?limit=2&starting_after=${keys.data[0]?.id ?? ""}`, "api_keys", ["merchant_id", "livemode"], { cursor: true });
  });
});

describe("admin lists", () => {
  it("merchants, past the first page, are a range of merchants_list", async () => {
    const admin = await hsToken({ roles: ["admin"], merchant: null });
    const first = await ok(get<{ next_cursor: string | null }>("/v1/admin/merchants?limit=1", { key: admin }));
    expect(first.next_cursor).not.toBeNull();
    await expectRange(`/v1/admin/merchants?limit=1&cursor=${encodeURIComponent(first.next_cursor ?? "")}`, "merchants", [], { cursor: true, key: admin });
  });
});

describe("checkout sessions and deliveries", () => {
  it("checkout sessions by status and by customer", async () => {
    await expectRange("/v1/checkout/sessions?status=open", "checkout_sessions", ["status"]);
    await expectRange(`/v1/checkout/sessions?status=open&starting_after=${ids.session}`, "checkout_sessions", ["status"], { cursor: true });
    await expectRange(`/v1/checkout/sessions?customer=${ids.customer2}`, "checkout_sessions", ["customer"]);
    await expectRange(`/v1/checkout/sessions?customer_details[email]=${encodeURIComponent("shopper@example.com")}`, "checkout_sessions", ["customer_email"]);
    const session = await ok(get<{ payment_intent: string | null }>(`/v1/checkout/sessions/${ids.session}`, opts));
    expect(session.payment_intent).toMatch(/^pi_/);
    await expectRange(`/v1/checkout/sessions?payment_intent=${session.payment_intent ?? ""}`, "checkout_sessions", ["payment_intent"]);
  });

  it("an endpoint's deliveries by status", async () => {
    await expectRange(`/v1/webhook_endpoints/${ids.endpoint}/deliveries`, "webhook_deliveries", ["endpoint_id"]);
    await expectRange(`/v1/webhook_endpoints/${ids.endpoint}/deliveries?status=failed`, "webhook_deliveries", ["endpoint_id", "status"]);
  });
});
