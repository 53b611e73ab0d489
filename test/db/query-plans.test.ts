// Every query of src/db is an index range: the exact SQL each function sends to D1 is captured and
// asked for its EXPLAIN QUERY PLAN, which must not SCAN a large table (only small ephemeral lists may
// be scanned) nor sort through a temp B-tree where the index gives the order.
//
// What EXPLAIN shows (SQLite in workerd, no statistics):
// - lists and searches by status, customer, order id, amount (equality), an intent's refunds, charge
//   and events, charges by customer and events by type: SEARCH <their index> (merchant_id=? AND
//   livemode=? AND <column>=? AND (created,id)<(?,?)), no sort: a page reads `limit` entries at any depth;
// - `metadata['k']:'v'` (alone or ANDed): SEARCH payment_intent_metadata USING COVERING INDEX
//   payment_intent_metadata_search (merchant_id=? AND livemode=? AND key=? AND value=? AND
//   (created,intent_id)<(?,?)), then each intent by primary key; no sort (the side table carries created);
// - clauses with no index of their own (currency, amount ranges, negations): refused unless a
//   selective clause (customer, order_id, amount:, metadata) or a created window of at most 31 days
//   bounds them; then SEARCH <that index> or SEARCH payment_intents_list (merchant_id=? AND
//   livemode=? AND created>? AND created<?), filtered on the list index's own currency, amount and
//   status columns as it walks in order (metadata clauses there are IN / NOT IN a LIST SUBQUERY of
//   the side table); no scan and no sort;
// - OR: one range per clause (each an indexed equality), newest of their union; other ORs refused;
// - the charge search is the same plans over the intents with a charge (charge_authorized_at IS NOT
//   NULL, tested on each row read); `status:'succeeded'` alone is a range of the partial index
//   payment_intents_charged (merchant_id=? AND livemode=?), which holds only those;
// - event wildcards and several types walk events_list in order: the events table holds 30 days.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { EventRecord, Scope } from "../../src/core/types";
import { fanOut } from "../../src/webhooks/fanout";
import { deliverAttempts } from "../../src/webhooks/deliver";
import type { DeliveryMessage } from "../../src/webhooks/messages";
import { writeIntent } from "../../src/db/read-model";
import { chargeSearch } from "../../src/db/charge-search";
import { assertNotUsedUnsaved, preparedForFutureUse } from "../../src/billing/store";
import { intentCarryingMethod, listCharges, listEvents, listIntents, listRefunds, searchCharges, searchIntents } from "../../src/db/queries";
import { decodePageToken, parseSearch, searchPlan } from "../../src/db/search";
import { createEndpoint, createIntent, get, newMerchant, post, readModelIntent, recordingQueue, seedCustomer, seedMerchant, type ListJson, type PaymentIntentJson } from "../helpers";
import { planOf, recording, type Captured } from "./recording";


const LARGE = ["payment_intents", "charges", "refunds", "events", "payment_intent_metadata"];

/** Runs `run` against a recording binding and returns the plan of every statement it sent. */
async function plans(run: (db: D1Database) => Promise<unknown>): Promise<{ sql: string; plan: string[] }[]> {
  const captured: Captured[] = [];
  await run(recording(env.DB, captured));
  expect(captured.length).toBeGreaterThan(0);
  return Promise.all(captured.map(async (c) => ({ sql: c.sql, plan: await planOf(c) })));
}

function expectIndexed(all: { sql: string; plan: string[] }[], options: { ordered?: boolean } = {}): void {
  for (const { sql, plan } of all) {
    const text = plan.join("\n");
    for (const line of plan) {
      const scanned = /^SCAN (\w+)/.exec(line)?.[1];
      expect(scanned !== undefined && LARGE.includes(scanned), `${sql}\n${text}`).toBe(false);
    }
    if (options.ordered !== false) expect(text, sql).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
  }
}

const M = "acct_query_plans";
const scope: Scope = { merchantId: M, livemode: false };
const page = { limit: 10 };
const KEY = "sk_test_query_plans_merchant";
const opts = { key: KEY };
const CUSTOMER = "cus_queryPlans01";
/** Intents made through the API (so through the read model's writes), beside the rows inserted below. */
const real: PaymentIntentJson[] = [];

beforeAll(async () => {
  await seedMerchant(M, "Query plans", "key_query_plans", KEY, false);
  await seedCustomer(M, CUSTOMER);
  for (let i = 0; i < 3; i++) {
    const res = await createIntent({ amount: 700 + i, currency: "usd", customer: CUSTOMER, payment_method: "pm_card_visa", confirm: true, metadata: { shelf: `s${i}`, colour: "teal" } }, opts);
    expect(res.status).toBe(200);
    real.push(res.body);
  }
  const rows: D1PreparedStatement[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `pi_qp${String(i).padStart(8, "0")}`;
    const created = 1_700_000_000_000 + i * 1000;
    const metadata = JSON.stringify({ order: String(i), batch: i % 2 ? "odd" : "even" });
    rows.push(
      env.DB.prepare(
        "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, customer, order_id, created, version, data) VALUES (?, ?, 0, ?, ?, 'usd', ?, ?, ?, 1, ?)",
      ).bind(id, M, i % 3 ? "succeeded" : "canceled", 1000 + i, `cus_qp${i % 4}`, `ord_${i}`, created, `{"metadata":${metadata},"refunds":[{"id":"re_qp${i}"}]}`),
      env.DB.prepare("INSERT INTO charges (id, merchant_id, livemode, payment_intent, customer, created, version) VALUES (?, ?, 0, ?, ?, ?, 1)").bind(`ch_qp${i}`, M, id, `cus_qp${i % 4}`, created),
      env.DB.prepare("INSERT INTO events (id, merchant_id, livemode, type, payment_intent, created, data) VALUES (?, ?, 0, ?, ?, ?, '{}')").bind(
        `evt_qp${i}`,
        M,
        i % 2 ? "payment_intent.succeeded" : "charge.refunded",
        id,
        created,
      ),
      env.DB.prepare("INSERT INTO refunds (id, merchant_id, livemode, payment_intent, charge, status, amount, created, version) VALUES (?, ?, 0, ?, ?, 'succeeded', 1, ?, 1)").bind(
        `re_qp${i}`,
        M,
        id,
        `ch_qp${i}`,
        created,
      ),
    );
  }
  await env.DB.batch(rows);
});

const deep = "pi_qp00000015";

describe("cursors are row values: a deep page is an index range", () => {
  it("payment intents, both directions", async () => {
    for (const cursor of [{ startingAfter: deep }, { endingBefore: deep }]) {
      const all = await plans((db) => listIntents(db, scope, {}, { ...page, ...cursor }));
      expectIndexed(all);
      const list = all.find((p) => p.sql.includes("order by"));
      expect(list?.plan.join("\n")).toMatch(/payment_intents_list \(merchant_id=\? AND livemode=\? AND \(created,id\)[<>]\(\?,\?\)\)/);
    }
  });

  it("search pages", async () => {
    const { clauses, joiner } = parseSearch("customer:'cus_qp1' AND amount>0");
    const all = await plans((db) => searchIntents(db, scope, searchPlan(clauses, joiner, scope), 10, decodePageToken(btoa(JSON.stringify([1_700_000_015_000, deep])))));
    expectIndexed(all);
    expect(all[0]?.plan.join("\n")).toMatch(/\(created,id\)<\(\?,\?\)/);
  });

  it("refunds and charges", async () => {
    const refundPlans = await plans((db) => listRefunds(db, scope, {}, { ...page, startingAfter: "re_qp15" }));
    expectIndexed(refundPlans);
    expect(refundPlans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/refunds_list \(merchant_id=\? AND livemode=\? AND \(created,id\)<\(\?,\?\)\)/);
    const chargePlans = await plans((db) => listCharges(db, scope, {}, { ...page, startingAfter: "ch_qp15" }));
    expectIndexed(chargePlans);
    expect(chargePlans.map((p) => p.plan.join("\n")).join("\n")).toMatch(/charges_list \(merchant_id=\? AND livemode=\? AND \(created,id\)<\(\?,\?\)\)/);
  });
});

describe("each filter is a range of an index ending in (created, id)", () => {
  const deepPage = { ...page, startingAfter: deep };
  const listPlan = (all: { sql: string; plan: string[] }[]) => all.find((p) => p.sql.includes("order by"))?.plan.join("\n") ?? "";

  it.each([
    ["status", { status: "succeeded" }, "payment_intents_status"],
    ["customer", { customer: "cus_qp1" }, "payment_intents_customer"],
    ["order id", { orderId: "ord_7" }, "payment_intents_order_created"],
    ["created window", { created: { gte: 1_700_000_005, lt: 1_700_000_020 } }, "payment_intents_list"],
  ] as const)("payment intents by %s, at depth", async (_name, filters, index) => {
    for (const p of [page, deepPage]) {
      const all = await plans((db) => listIntents(db, scope, filters, p));
      expectIndexed(all);
      expect(listPlan(all)).toMatch(new RegExp(`USING INDEX ${index} \\(merchant_id=\\? AND livemode=\\?`));
    }
    const all = await plans((db) => listIntents(db, scope, filters, deepPage));
    if (index !== "payment_intents_list") expect(listPlan(all)).toMatch(new RegExp(`${index} \\(merchant_id=\\? AND livemode=\\? AND \\w+=\\? AND \\(created,id\\)<\\(\\?,\\?\\)\\)`));
  });

  it("charges by customer (their own column) and by intent", async () => {
    const byCustomer = await plans((db) => listCharges(db, scope, { customer: "cus_qp1" }, { ...page, startingAfter: "ch_qp15" }));
    expectIndexed(byCustomer);
    expect(listPlan(byCustomer)).toMatch(/charges_customer \(merchant_id=\? AND livemode=\? AND customer=\? AND \(created,id\)<\(\?,\?\)\)/);
    const byIntent = await plans((db) => listCharges(db, scope, { paymentIntent: "pi_qp00000003" }, page));
    expectIndexed(byIntent);
    expect(listPlan(byIntent)).toMatch(/charges_intent \(merchant_id=\? AND livemode=\? AND payment_intent=\?\)/);
  });

  it("a one-off payment method is found by its intent's column, or by the charge made or declined with it (charges_payment_method)", async () => {
    const all = await plans((db) => intentCarryingMethod(db, scope, "pm_qp_missing"));
    expect(all).toHaveLength(2);
    expectIndexed(all);
    expect(all[0]?.plan.join("\n")).toMatch(/payment_intents_payment_method \(payment_method_id=\?\)/);
    expect(all[1]?.plan.join("\n")).toMatch(/charges_payment_method \(merchant_id=\? AND livemode=\? AND payment_method=\?\)/);
  });

  it("an attach reads the payments that carry the payment method by its intent column (payment_intents_payment_method), and its saved row by key", async () => {
    const used = await plans((db) => assertNotUsedUnsaved(db, scope, "pm_qpmissing000000000001", "id"));
    expect(used).toHaveLength(1);
    expectIndexed(used);
    expect(used[0]?.plan.join("\n")).toMatch(/payment_intents_payment_method \(payment_method_id=\?\)/);
    const prepared = await plans((db) => preparedForFutureUse(db, scope, "pm_qpmissing000000000001"));
    expect(prepared).toHaveLength(2);
    expectIndexed(prepared);
    expect(prepared[1]?.plan.join("\n")).toMatch(/payment_intents_payment_method \(payment_method_id=\?\)/);
  });

  it("charges carry their intent's customer, written with the intent", async () => {
    const res = await get<ListJson<{ id: string; customer: string | null; payment_intent: string }>>(`/v1/charges?customer=${CUSTOMER}&limit=100`, opts);
    expect(res.status).toBe(200);
    expect(res.body.data.map((c) => c.payment_intent).sort()).toEqual(real.map((p) => p.id).sort());
    const rows = await env.DB.prepare("SELECT customer FROM charges WHERE payment_intent = ?").bind(real[0]?.id ?? "").all<{ customer: string | null }>();
    expect(rows.results).toEqual([{ customer: CUSTOMER }]);
  });

  it("refunds by intent and by charge", async () => {
    const byIntent = await plans((db) => listRefunds(db, scope, { paymentIntent: "pi_qp00000003" }, page));
    expectIndexed(byIntent);
    expect(listPlan(byIntent)).toMatch(/refunds_intent \(merchant_id=\? AND livemode=\? AND payment_intent=\?\)/);
    const byCharge = await plans((db) => listRefunds(db, scope, { charge: "ch_qp3" }, page));
    expectIndexed(byCharge);
    expect(listPlan(byCharge)).toMatch(/refunds_charge \(merchant_id=\? AND livemode=\? AND charge=\?\)/);
  });

  it("events by type and by intent, at depth", async () => {
    const byType = await plans((db) => listEvents(db, scope, { types: ["payment_intent.succeeded"] }, { ...page, startingAfter: "evt_qp15" }));
    expectIndexed(byType);
    expect(listPlan(byType)).toMatch(/events_type \(merchant_id=\? AND livemode=\? AND type=\? AND \(created,id\)<\(\?,\?\)\)/);
    const byIntent = await plans((db) => listEvents(db, scope, { paymentIntent: "pi_qp00000003" }, page));
    expectIndexed(byIntent);
    expect(listPlan(byIntent)).toMatch(/events_intent \(merchant_id=\? AND livemode=\? AND payment_intent=\?\)/);
    // Wildcards walk the list index in order (no sort), filtering as they go.
    expectIndexed(await plans((db) => listEvents(db, scope, { types: ["payment_intent.*", "charge.refunded"] }, { ...page, startingAfter: "evt_qp15" })));
  });

  it("events by delivery_success: the undelivered are a range of their deliveries' partial index, in the events' order; the delivered walk the list", async () => {
    const undelivered = await plans((db) => listEvents(db, scope, { deliverySuccess: false, types: ["payment_intent.*"] }, { ...page, startingAfter: "evt_qp15" }));
    expectIndexed(undelivered);
    expect(undelivered.map((p) => p.plan.join("\n")).join("\n")).not.toMatch(/USE TEMP B-TREE/);
    expect(undelivered.map((p) => p.plan.join("\n")).join("\n")).toMatch(/webhook_deliveries_undelivered \(merchant_id=\? AND livemode=\? AND \(event_created,event_id\)<\(\?,\?\)\)/);
    const delivered = await plans((db) => listEvents(db, scope, { deliverySuccess: true }, page));
    expectIndexed(delivered);
    expect(delivered.map((p) => p.plan.join("\n")).join("\n")).toMatch(/webhook_deliveries_event_endpoint/);
  });
});

describe("search: each field", () => {
  const searchPlans = (q: string, after: string | null = null) =>
    plans((db) => {
      const { clauses, joiner } = parseSearch(q);
      return searchIntents(db, scope, searchPlan(clauses, joiner, scope), 10, after === null ? null : decodePageToken(after));
    });
  const token = btoa(JSON.stringify([1_700_000_015_000, deep])).replace(/=+$/, "");

  it.each([
    ["status:'canceled'", "payment_intents_status \\(merchant_id=\\? AND livemode=\\? AND status=\\?"],
    ["customer:'cus_qp2'", "payment_intents_customer \\(merchant_id=\\? AND livemode=\\? AND customer=\\?"],
    ["order_id:'ord_7'", "payment_intents_order_created \\(merchant_id=\\? AND livemode=\\? AND order_id=\\?"],
    ["amount:1007", "payment_intents_amount \\(merchant_id=\\? AND livemode=\\? AND amount=\\?"],
    ["created>=1700000005 AND created<1700000020", "payment_intents_list \\(merchant_id=\\? AND livemode=\\?"],
    ["metadata['order']:'7'", "payment_intent_metadata_search \\(merchant_id=\\? AND livemode=\\? AND key=\\? AND value=\\?"],
    ["metadata['batch']:'odd' AND status:'succeeded'", "payment_intent_metadata_search \\(merchant_id=\\? AND livemode=\\? AND key=\\? AND value=\\?"],
  ])("%s is a range of its index, at depth", async (q, index) => {
    for (const after of [null, token]) {
      const all = await searchPlans(q, after);
      expectIndexed(all);
      const text = all.map((p) => p.plan.join("\n")).join("\n");
      expect(text).toMatch(new RegExp(index));
      // (A created window is itself the range; the cursor then filters within it.)
      if (after && !q.startsWith("created")) expect(text).toMatch(/\(created,(id|intent_id)\)<\(\?,\?\)/);
      if (q.startsWith("metadata")) expect(text).toMatch(/SEARCH payment_intents USING INDEX sqlite_autoindex_payment_intents_1 \(id=\?\)/);
    }
  });

  // Clauses without an index of their own (currency, amount ranges, negations) need a created window
  // (or a selective clause): then they walk that window of the list index in (created, id) order and
  // stop at the page's end: never a scan, never a sort.
  const win = " AND created>=1699990000 AND created<1700100000";
  it.each(["currency:'usd'", "amount>1005", "-metadata['order']:'7'", "-status:'canceled'", "status:'succeeded' AND currency:'usd'"])("%s in a created window walks the list index in order", async (q) => {
    for (const after of [null, token]) {
      const all = await searchPlans(q + win, after);
      expectIndexed(all);
      expect(all.map((p) => p.plan.join("\n")).join("\n")).toMatch(/(payment_intents_list|payment_intents_status) \(merchant_id=\? AND livemode=\?( AND status=\?)? AND created>\? AND created<\?\)/);
    }
  });

  it.each(["currency:'usd'", "amount>1005", "-status:'canceled'", "status:'succeeded' AND currency:'usd'", "currency:'usd' AND created>=1600000000 AND created<1700100000", "currency:'usd' AND created<1700100000"])(
    "%s with no created window of at most 31 days is refused, naming what to add",
    (q) => {
      const { clauses, joiner } = parseSearch(q);
      expect(() => searchPlan(clauses, joiner, scope)).toThrow(/cannot be served from an index on its own: add a created window.*at most 31 days/);
    },
  );

  it.each(["customer:'cus_qp1' AND currency:'usd'", "order_id:'ord_7' AND -status:'canceled'", "metadata['batch']:'odd' AND amount>1005", "amount:1007 AND currency:'usd'"])(
    "%s is bounded by its selective clause",
    async (q) => {
      for (const after of [null, token]) expectIndexed(await searchPlans(q, after));
    },
  );

  // OR: one range per clause, each in its index's order and stopping at the page's end; the page is
  // the newest of their rows. A clause with no index of its own cannot be one of them.
  it.each(["metadata['order']:'7' OR metadata['order']:'8'", "status:'canceled' OR customer:'cus_qp1'", "order_id:'ord_3' OR amount:1007"])("%s is a range of each clause's index", async (q) => {
    for (const after of [null, token]) {
      const all = await searchPlans(q, after);
      expectIndexed(all);
      expect(all.length).toBe(2);
    }
  });

  it("an OR with a clause no index serves is refused", () => {
    const { clauses, joiner } = parseSearch("status:'canceled' OR currency:'eur'");
    expect(() => searchPlan(clauses, joiner, scope)).toThrow(/OR query can only join clauses that have an index/);
  });
});

describe("charge search: the intent search's plans over the intents with a charge", () => {
  const chargePlans = (q: string, after: string | null = null, status: "succeeded" | "failed" = "succeeded") =>
    plans((db) => searchCharges(db, scope, chargeSearch(q, scope).plan, status, 10, after === null ? null : decodePageToken(after)));
  const token = btoa(JSON.stringify([1_700_000_015_000, deep])).replace(/=+$/, "");

  it.each([
    ["status:'succeeded'", "payment_intents_charged \\(merchant_id=\\? AND livemode=\\?"],
    ["customer:'cus_qp2'", "payment_intents_customer \\(merchant_id=\\? AND livemode=\\? AND customer=\\?"],
    ["amount:1007 AND status:'succeeded'", "payment_intents_amount \\(merchant_id=\\? AND livemode=\\? AND amount=\\?"],
    ["payment_method_details.card.last4:'4242'", "payment_intents_card_last4 \\(merchant_id=\\? AND livemode=\\? AND card_last4=\\?"],
    ["metadata['order']:'7'", "payment_intent_metadata_search \\(merchant_id=\\? AND livemode=\\? AND key=\\? AND value=\\?"],
    ["currency:'usd' AND created>=1699990000 AND created<1700100000", "payment_intents_(list|charged) \\(merchant_id=\\? AND livemode=\\? AND created>\\? AND created<\\?"],
  ])("%s is a range of its index, at depth", async (q, index) => {
    for (const after of [null, token]) {
      const all = await chargePlans(q, after);
      expectIndexed(all);
      const text = all.map((p) => p.plan.join("\n")).join("\n");
      expect(text).toMatch(new RegExp(index));
      if (after && !q.startsWith("currency")) expect(text).toMatch(/\(created,(id|intent_id)\)<\(\?,\?\)/);
      expect(all[0]?.sql).toMatch(/"charge_authorized_at" is not null/);
    }
  });

  it.each([
    ["status:'failed'", "payment_intents_declined \\(merchant_id=\\? AND livemode=\\?"],
    ["customer:'cus_qp2'", "payment_intents_customer \\(merchant_id=\\? AND livemode=\\? AND customer=\\?"],
    ["metadata['order']:'7'", "payment_intent_metadata_search \\(merchant_id=\\? AND livemode=\\? AND key=\\? AND value=\\?"],
    ["currency:'usd' AND created>=1699990000 AND created<1700100000", "payment_intents_(list|declined) \\(merchant_id=\\? AND livemode=\\? AND created>\\? AND created<\\?"],
  ])("failed charges: %s is a range of its index, at depth", async (q, index) => {
    for (const after of [null, token]) {
      const all = await chargePlans(q, after, "failed");
      expectIndexed(all);
      const text = all.map((p) => p.plan.join("\n")).join("\n");
      expect(text).toMatch(new RegExp(index));
      expect(all[0]?.sql).toMatch(/"declined_charges" > 0/);
    }
  });

  it("an OR is one range per clause", async () => {
    for (const after of [null, token]) {
      const all = await chargePlans("metadata['order']:'7' OR payment_method_details.card.last4:'4242'", after);
      expectIndexed(all);
      expect(all.length).toBe(2);
    }
  });

  it.each(["currency:'usd'", "amount>1005 AND status:'succeeded'", "-customer:'cus_qp1'"])("%s with no created window is refused, naming what to add", (q) => {
    expect(() => chargeSearch(q, scope)).toThrow(/cannot be served from an index on its own/);
  });
});

describe("metadata search rows are written with the intent", () => {
  const search = (q: string) => get<{ data: PaymentIntentJson[] }>(`/v1/payment_intents/search?query=${encodeURIComponent(q)}`, opts);
  const shelfRows = async (id: string) =>
    (await env.DB.prepare("SELECT key, value FROM payment_intent_metadata WHERE intent_id = ? ORDER BY key").bind(id).all<{ key: string; value: string }>()).results;

  it("finds, replaces on update, keeps negations right and ignores stale writes", async () => {
    const [a, b, c] = real;
    if (!a || !b || !c) throw new Error("seeded intents missing");
    expect((await search("metadata['shelf']:'s1'")).body.data.map((p) => p.id)).toEqual([b.id]);
    expect(await shelfRows(b.id)).toEqual([
      { key: "colour", value: "teal" },
      { key: "shelf", value: "s1" },
    ]);
    const before = await readModelIntent(b.id);
    const updated = await post(`/v1/payment_intents/${b.id}`, { metadata: { shelf: "s9", colour: "" } }, opts);
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(await shelfRows(b.id)).toEqual([{ key: "shelf", value: "s9" }]);
    expect((await search("metadata['shelf']:'s1'")).body.data).toEqual([]);
    expect((await search("metadata['shelf']:'s9'")).body.data.map((p) => p.id)).toEqual([b.id]);
    expect((await search(`-metadata['shelf']:'s9' AND customer:'${CUSTOMER}'`)).body.data.map((p) => p.id).sort()).toEqual([a.id, c.id].sort());
    expect((await search(`-metadata['colour']:'teal' AND customer:'${CUSTOMER}'`)).body.data.map((p) => p.id)).toEqual([b.id]);
    // A late write of the older version changes neither the intent row nor its metadata rows.
    if (!before) throw new Error("no read model row");
    await writeIntent(env.DB, before);
    expect(await shelfRows(b.id)).toEqual([{ key: "shelf", value: "s9" }]);
  });
});

describe("the write path's statements are built once and are index lookups", () => {
  it("writeIntent (intent, metadata rows, charge, refund, number, audit) and the events consumer's fan-out", async () => {
    const [a] = real;
    if (!a) throw new Error("seeded intents missing");
    const refund = await post("/v1/refunds", { payment_intent: a.id, amount: 100 }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    const intent = await readModelIntent(a.id);
    if (!intent) throw new Error("no read model row");
    expect(intent.refunds).toHaveLength(1);
    const { number: _number, ...unnumbered } = intent;
    const audit = { id: "aud_qp_write", merchantId: M, livemode: false, actor: "system", actorRoles: "[]", action: "qp.write", objectType: "payment_intent", objectId: a.id, httpStatus: 200, created: Date.now() };
    const written = await plans((db) => writeIntent(db, unnumbered, [audit]));
    expect(written.map((w) => w.sql.split(" ").slice(0, 3).join(" "))).toEqual([
      'insert into "payment_intents"',
      'delete from "payment_intent_metadata"',
      'insert into "payment_intent_metadata"',
      'insert into "charges"',
      'insert into "refunds"',
      'insert into "intent_numbers"',
      'insert into "audit_log"',
    ]);
    expectIndexed(written);
    // Written as a stale version: nothing moved (the same row, the same metadata rows, the audit row once).
    const after = await env.DB.prepare("SELECT version FROM payment_intents WHERE id = ?").bind(a.id).first<{ version: number }>();
    expect(after?.version).toBe(intent.version);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE id = 'aud_qp_write'").first<{ n: number }>())?.n).toBe(1);

    // A create (version 1, no metadata) has no metadata rows to replace: no delete is sent.
    const fresh = await createIntent({ amount: 990, currency: "usd" }, opts);
    expect(fresh.status).toBe(200);
    const freshIntent = await readModelIntent(fresh.body.id);
    if (!freshIntent) throw new Error("no read model row");
    expect(freshIntent.version).toBe(1);
    const freshWrite = await plans((db) => writeIntent(db, freshIntent));
    expect(freshWrite.map((w) => w.sql.split(" ").slice(0, 3).join(" ")).filter((s) => s.includes("payment_intent_metadata"))).toEqual([]);
    expectIndexed(freshWrite);

    const endpoint = await post("/v1/webhook_endpoints", { url: "https://hooks.example.com/qp", enabled_events: ["payment_intent.created"] }, opts);
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(200);
    const event: EventRecord = { id: "evt_qp_write", type: "payment_intent.created", merchantId: M, livemode: false, created: Date.now(), object: { object: "payment_intent", id: a.id }, requestId: null, idempotencyKey: null };
    const captured: Captured[] = [];
    // The first attempt is queued here, not sent (hooks.example.com is not reachable from the tests).
    const queued: unknown[] = [];
    await fanOut({ ...env, DB: recording(env.DB, captured), WEBHOOK_QUEUE: recordingQueue(queued) }, [event]);
    expect(queued).toEqual([{ deliveryId: expect.stringMatching(/^wd_/) as unknown, attempt: 1 }]);
    const fanned = await Promise.all(captured.map(async (c) => ({ sql: c.sql, plan: await planOf(c) })));
    // No query before the batch: the deliveries are one INSERT ... SELECT over the endpoints.
    expect(fanned.map((f) => f.sql.trim().split(/\s+/).slice(0, 3).join(" ").toLowerCase())).toEqual(['insert into "events"', 'update "events" set', "insert into webhook_deliveries"]);
    expectIndexed(fanned);
    expect(fanned[2]?.plan.join("\n")).toMatch(/SEARCH w USING INDEX webhook_endpoints_list \(merchant_id=\? AND livemode=\?\)/);
    const stored = await env.DB.prepare("SELECT livemode, fanned_out FROM events WHERE id = 'evt_qp_write'").first<{ livemode: number; fanned_out: number }>();
    expect(stored).toEqual({ livemode: 0, fanned_out: 1 });
    const deliveries = await env.DB.prepare("SELECT status, attempts, retrying FROM webhook_deliveries WHERE event_id = 'evt_qp_write'").all();
    expect(deliveries.results).toEqual([{ status: "pending", attempts: 0, retrying: 1 }]);

    // The delivery consumer's batch: the claims, then its deliveries' endpoints, events and pending
    // counts (each a range over the batch's ids, one JSON value), then the attempt and its outcome.
    const consumed: Captured[] = [];
    const answered = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("ok"));
    try {
      await deliverAttempts({ ...env, DB: recording(env.DB, consumed), WEBHOOK_QUEUE: recordingQueue([]) }, queued as DeliveryMessage[]);
    } finally {
      answered.mockRestore();
    }
    const delivered = await Promise.all(consumed.map(async (c) => ({ sql: c.sql, plan: await planOf(c) })));
    expect(delivered.map((f) => f.sql.trim().split(/\s+/).slice(0, 3).join(" ").toLowerCase())).toEqual([
      'update "webhook_deliveries" set',
      'select "id", "merchant_id",',
      'select "data", "id",',
      'select "event_id", count(*)',
      'insert into "webhook_attempts"',
      'update "webhook_deliveries" set',
    ]);
    expectIndexed(delivered);
    expect(delivered[1]?.plan.join("\n")).toMatch(/SEARCH webhook_endpoints USING INDEX sqlite_autoindex_webhook_endpoints_1 \(id=\?\)/);
    expect(delivered[2]?.plan.join("\n")).toMatch(/SEARCH events USING INDEX sqlite_autoindex_events_1 \(id=\?\)/);
    expect(delivered[3]?.plan.join("\n")).toMatch(/SEARCH webhook_deliveries USING INDEX webhook_deliveries_event_endpoint \(event_id=\?\)/);
    expect(delivered[3]?.plan.join("\n")).not.toMatch(/TEMP B-TREE/);
    const done = await env.DB.prepare("SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE event_id = 'evt_qp_write'").all();
    expect(done.results).toEqual([{ status: "succeeded", attempts: 1, last_status_code: 200 }]);
  });
});

describe("the fan-out of a batch with several merchants", () => {
  it("makes every delivery in one indexed statement of its D1 batch, and each event reaches only its own merchant's subscribed endpoints, once", async () => {
    const [one, two, three] = await Promise.all([newMerchant("fan-one"), newMerchant("fan-two"), newMerchant("fan-three")]);
    if (!one || !two || !three) throw new Error("no merchants");
    const subscribed = await createEndpoint("https://hooks.example.com/one", ["payment_intent.created"], one.opts);
    const disabled = await createEndpoint("https://hooks.example.com/one-off", ["payment_intent.created"], one.opts);
    expect((await post(`/v1/webhook_endpoints/${disabled.id}`, { disabled: true }, one.opts)).status).toBe(200);
    const everything = await createEndpoint("https://hooks.example.com/two", ["*"], two.opts);
    await createEndpoint("https://hooks.example.com/three", ["charge.succeeded"], three.opts);
    const event = (id: string, merchantId: string, livemode = false): EventRecord => ({
      id,
      type: "payment_intent.created",
      merchantId,
      livemode,
      created: Date.now(),
      object: { object: "payment_intent", id: `pi_${id}` },
      requestId: null,
      idempotencyKey: null,
    });
    const batch = [event("evt_fan_one", one.id), event("evt_fan_two", two.id), event("evt_fan_three", three.id), event("evt_fan_one_live", one.id, true), event("evt_fan_two_b", two.id)];
    const captured: Captured[] = [];
    const queued: unknown[] = [];
    await fanOut({ ...env, DB: recording(env.DB, captured), WEBHOOK_QUEUE: recordingQueue(queued) }, batch);

    expect(captured.filter((c) => /^\s*select/i.test(c.sql))).toEqual([]);
    const inserts = captured.filter((c) => /^\s*insert into webhook_deliveries/i.test(c.sql));
    expect(inserts).toHaveLength(1);
    const [insert] = inserts;
    if (!insert) throw new Error("no insert");
    const plan = await planOf(insert);
    expect(plan.join("\n")).toMatch(/SEARCH w USING INDEX webhook_endpoints_list \(merchant_id=\? AND livemode=\?\)/);
    expect(plan.join("\n")).not.toMatch(/SCAN (w|webhook_endpoints)\b/);

    const rows = await env.DB.prepare("SELECT event_id, endpoint_id FROM webhook_deliveries WHERE event_id LIKE 'evt_fan_%' ORDER BY event_id").all<{ event_id: string; endpoint_id: string }>();
    expect(rows.results).toEqual([
      { event_id: "evt_fan_one", endpoint_id: subscribed.id },
      { event_id: "evt_fan_two", endpoint_id: everything.id },
      { event_id: "evt_fan_two_b", endpoint_id: everything.id },
    ]);
    expect(queued).toHaveLength(3);
    const ids = await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE event_id LIKE 'evt_fan_%'").all<{ id: string }>();
    expect(new Set(ids.results.map((r) => r.id)).size).toBe(3);
    for (const { id } of ids.results) expect(id).toMatch(/^wd_[0-9a-f]{32}$/);
    // The same batch again (a redelivered queue batch): no second delivery, nothing queued.
    const again: unknown[] = [];
    await fanOut({ ...env, WEBHOOK_QUEUE: recordingQueue(again) }, batch);
    expect(again).toEqual([]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id LIKE 'evt_fan_%'").first<{ n: number }>();
    expect(count?.n).toBe(3);
  });
});

describe("migration 0014 backfills what the read model now writes", () => {
  it("metadata rows and charges' customers of rows written before it", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0014"));
    const statement = (start: string) => {
      const found = migration?.queries.find((q) => q.trim().startsWith(start));
      if (!found) throw new Error(`0014 has no statement starting with ${start}`);
      return found;
    };
    // The rows inserted above bypassed the read model: no metadata rows, charges' customer cleared.
    await env.DB.prepare("UPDATE charges SET customer = NULL WHERE merchant_id = ?").bind(M).run();
    expect(await env.DB.prepare("SELECT count(*) AS n FROM payment_intent_metadata WHERE intent_id = 'pi_qp00000007'").first("n")).toBe(0);
    await env.DB.prepare(statement("UPDATE charges SET customer")).run();
    // Rows the read model wrote are already there: the backfill is replayed without them.
    // (0018 dropped the metadata column that 0014 read: the same statement over data's metadata.)
    await env.DB.prepare(
      statement("INSERT INTO payment_intent_metadata")
        .replace("INSERT INTO", "INSERT OR IGNORE INTO")
        .replaceAll("p.metadata", "json_extract(p.data, '$.metadata')"),
    ).run();
    const rows = await env.DB.prepare("SELECT key, value, created FROM payment_intent_metadata WHERE intent_id = 'pi_qp00000007' ORDER BY key").all();
    expect(rows.results).toEqual([
      { key: "batch", value: "odd", created: 1_700_000_007_000 },
      { key: "order", value: "7", created: 1_700_000_007_000 },
    ]);
    expect(await env.DB.prepare("SELECT customer FROM charges WHERE id = 'ch_qp7'").first("customer")).toBe("cus_qp3");
    const found = await searchIntents(env.DB, scope, searchPlan(parseSearch("metadata['order']:'7'").clauses, "AND", scope), 10, null);
    expect(found.items.map((i) => i.id)).toEqual(["pi_qp00000007"]);
  });
});
