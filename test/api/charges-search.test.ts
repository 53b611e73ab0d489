// GET /v1/charges/search: Stripe's charge search on the payment intents' search index. It finds
// successful charges (an intent's authorization, captured or not) and failed ones (its declined
// authorizations) by status, metadata, customer, amount, card last4, currency and created, joined by
// AND or OR, in pages; never an intent without a charge, or another merchant's; a field no index
// serves is a 400 naming it.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { paymentMilestones } from "../../src/core/intent";
import { bearer, createIntent, expectError, get, hsToken, newMerchant, post, readModelIntent, seedCustomer, stripeClient, type CallOptions, type ChargeJson, type PaymentIntentJson } from "../helpers";

interface SearchJson {
  object: "search_result";
  data: (ChargeJson & { payment_intent: string | PaymentIntentJson })[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

let merchant: { id: string; key: string; opts: CallOptions };
let other: { id: string; key: string; opts: CallOptions };
const ALICE = "cus_chSearchAlice1";
const BOB = "cus_chSearchBob001";
/** The intents by name; the charge of each is `latest_charge` (null for none). */
const pi: Record<string, PaymentIntentJson> = {};
let otherCharge = "";

const search = (query: string, opts: CallOptions = merchant.opts, extra = "") => get<SearchJson>(`/v1/charges/search?query=${encodeURIComponent(query)}${extra}`, opts);
const ids = (res: { body: SearchJson }) => res.body.data.map((c) => c.id);
const chargeOf = (...names: string[]) => names.map((n) => String(pi[n]?.latest_charge));
/** Every page of a query, following next_page (at most 10): the charges' ids, the pages and each page's size. */
async function allPages(query: string, limit: number): Promise<{ seen: string[]; pages: number; sizes: number[] }> {
  const seen: string[] = [];
  const sizes: number[] = [];
  let page: string | null = null;
  do {
    const res: { status: number; body: SearchJson } = await search(query, merchant.opts, `&limit=${limit}${page ? `&page=${encodeURIComponent(page)}` : ""}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...ids(res));
    sizes.push(res.body.data.length);
    page = res.body.next_page;
    expect(page === null).toBe(!res.body.has_more);
  } while (page && sizes.length < 10);
  return { seen, pages: sizes.length, sizes };
}
/** Newest intent first (ties by id, descending), as the search pages go. */
const newestFirst = (...names: string[]) =>
  names
    .map((n) => pi[n] as PaymentIntentJson)
    .sort((a, b) => b.created_ms - a.created_ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((p) => String(p.latest_charge));

beforeAll(async () => {
  merchant = await newMerchant("charge-search");
  other = await newMerchant("charge-search-other");
  await seedCustomer(merchant.id, ALICE);
  await seedCustomer(merchant.id, BOB);
  const make = async (name: string, body: Record<string, unknown>, opts = merchant.opts) => {
    const res = await createIntent(body, opts);
    pi[name] = res.body.object === "payment_intent" ? res.body : (res.body as unknown as { error: { payment_intent: PaymentIntentJson } }).error.payment_intent;
    return res;
  };
  await make("visa", { amount: 1000, customer: ALICE, metadata: { batch: "one" }, payment_method: "pm_card_visa", confirm: true });
  await make("mastercard", { amount: 2000, customer: ALICE, metadata: { batch: "one" }, payment_method: "pm_card_mastercard", confirm: true });
  await make("uncaptured", { amount: 3000, customer: BOB, metadata: { batch: "two" }, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
  await make("unpaid", { amount: 1000, customer: ALICE, metadata: { batch: "one" } });
  const declined = await make("declined", { amount: 1000, customer: ALICE, metadata: { batch: "one" }, payment_method: "pm_card_chargeDeclined", confirm: true });
  expect(declined.status).toBe(402);
  await make("euro", { amount: 1500, currency: "eur", customer: BOB, metadata: { batch: "two" }, payment_method: "pm_card_visa", confirm: true });
  await make("moved", { amount: 1000, customer: ALICE, metadata: { batch: "one" }, payment_method: "pm_card_visa", confirm: true });
  // This charge's own metadata (its intent's stays batch one).
  expect((await post(`/v1/charges/${String(pi.moved?.latest_charge)}`, { metadata: { batch: "moved" } }, merchant.opts)).status).toBe(200);
  const foreign = await createIntent({ amount: 1000, metadata: { batch: "one" }, payment_method: "pm_card_visa", confirm: true }, other.opts);
  otherCharge = String(foreign.body.latest_charge);

  expect(pi.visa?.status).toBe("succeeded");
  expect(pi.uncaptured?.status).toBe("requires_capture");
  expect(pi.unpaid?.latest_charge).toBeNull();
  expect(pi.declined?.status).toBe("requires_payment_method");
  expect(pi.declined?.latest_charge).toMatch(/^ch_/); // its failed charge
});

describe("GET /v1/charges/search", () => {
  it("finds charges by their metadata: Stripe's search_result, successful and failed ones, not an intent without a charge, not a charge whose own metadata differs", async () => {
    const res = await search("metadata['batch']:'one'");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ object: "search_result", has_more: false, next_page: null, url: "/v1/charges/search" });
    expect(ids(res)).toEqual(newestFirst("visa", "mastercard", "declined"));
    for (const charge of res.body.data) expect(charge).toMatchObject({ object: "charge", metadata: { batch: "one" } });
    expect(res.body.data.find((c) => c.id === pi.declined?.latest_charge)).toMatchObject({ status: "failed", paid: false, failure_code: "card_declined" });
    expect(ids(await search("metadata['batch']:'two'"))).toEqual(newestFirst("uncaptured", "euro"));
  });

  it("finds a customer's charges", async () => {
    expect(ids(await search(`customer:'${ALICE}'`))).toEqual(newestFirst("visa", "mastercard", "declined", "moved"));
    expect(ids(await search(`customer:'${BOB}'`))).toEqual(newestFirst("uncaptured", "euro"));
  });

  it("status:'succeeded' is every successful charge, an uncaptured one too; status:'failed' the declined ones; no card charge is pending", async () => {
    const res = await search("status:'succeeded'", merchant.opts, "&limit=100");
    expect(ids(res)).toEqual(newestFirst("visa", "mastercard", "uncaptured", "euro", "moved"));
    expect(res.body.data.find((c) => c.id === pi.uncaptured?.latest_charge)).toMatchObject({ status: "succeeded", captured: false });
    expect(ids(await search("-status:'failed'", merchant.opts, "&limit=100"))).toEqual(ids(res));
    for (const q of ["status:'failed'", "-status:'succeeded'", `status:'failed' AND customer:'${ALICE}'`, "status:'failed' AND metadata['batch']:'one'"]) {
      const failed = await search(q);
      expect(failed.status, `${q}: ${JSON.stringify(failed.body)}`).toBe(200);
      expect(ids(failed), q).toEqual(chargeOf("declined"));
      expect(failed.body.data[0]).toMatchObject({ status: "failed", paid: false, captured: false, payment_intent: pi.declined?.id });
    }
    expect(ids(await search(`status:'failed' AND customer:'${BOB}'`))).toEqual([]);
    expect((await search("status:'pending'")).body).toMatchObject({ data: [], has_more: false, next_page: null });
    expectError(await search("status:'paid'"), 400, "search_query_invalid");
    expect(expectError(await search(`status:'failed' OR customer:'${ALICE}'`), 400, "search_query_invalid").message).toMatch(/status clause joins the others with AND/);
  });

  it("by amount, card last4 and currency", async () => {
    expect(ids(await search("amount:2000"))).toEqual(chargeOf("mastercard"));
    expect(ids(await search("amount:1000"))).toEqual(newestFirst("visa", "declined", "moved"));
    expect(ids(await search("payment_method_details.card.last4:'4444'"))).toEqual(chargeOf("mastercard"));
    expect(ids(await search("payment_method_details.card.last4:'4242'", merchant.opts, "&limit=100"))).toEqual(newestFirst("visa", "uncaptured", "euro", "moved"));
    const since = Math.min(...Object.values(pi).map((p) => p.created)) - 1;
    expect(ids(await search(`currency:'eur' AND created>${since}`))).toEqual(chargeOf("euro"));
    expect(ids(await search(`amount>1000 AND customer:'${BOB}'`))).toEqual(newestFirst("uncaptured", "euro"));
  });

  it("combines clauses with AND, and with OR", async () => {
    expect(ids(await search(`customer:'${ALICE}' AND metadata['batch']:'one' AND amount:1000`))).toEqual(newestFirst("visa", "declined"));
    expect(ids(await search(`metadata['batch']:'one' AND payment_method_details.card.last4:'4444' AND status:'succeeded'`))).toEqual(chargeOf("mastercard"));
    expect(ids(await search(`customer:'${BOB}' AND -currency:'eur'`))).toEqual(chargeOf("uncaptured"));
    expect(ids(await search("amount:2000 OR amount:3000"))).toEqual(newestFirst("mastercard", "uncaptured"));
    expect(ids(await search("metadata['batch']:'two' OR payment_method_details.card.last4:'4444'"))).toEqual(newestFirst("mastercard", "uncaptured", "euro"));
  });

  it("expand[]=total_count counts the charges found (successful and failed), as the intent search's does", async () => {
    for (const q of [`customer:'${ALICE}'`, "status:'succeeded'", "status:'failed'", "amount:2000 OR amount:3000", "metadata['batch']:'two'", `status:'failed' AND customer:'${BOB}'`, "status:'pending'"]) {
      const counted = await search(q, merchant.opts, "&limit=1&expand[]=total_count");
      expect(counted.status, `${q}: ${JSON.stringify(counted.body)}`).toBe(200);
      const all = await search(q, merchant.opts, "&limit=100");
      expect((counted.body as SearchJson & { total_count?: number }).total_count, q).toBe(all.body.data.length);
      expect(all.body, q).not.toHaveProperty("total_count");
    }
    // Beside the objects' own expansions.
    const both = await search(`customer:'${BOB}'`, merchant.opts, "&expand[]=total_count&expand[]=data.payment_intent");
    expect(both.body).toMatchObject({ total_count: 2 });
    expect(typeof both.body.data[0]?.payment_intent).toBe("object");
  });

  it("pages with next_page until has_more is false, each charge once, newest first", async () => {
    const succeeded = await allPages("status:'succeeded'", 2);
    expect(succeeded.pages).toBe(3);
    expect(succeeded.seen).toEqual(newestFirst("visa", "mastercard", "uncaptured", "euro", "moved"));
    // Successful and failed charges together (two ranges merged).
    for (const limit of [1, 3]) expect((await allPages(`customer:'${ALICE}'`, limit)).seen, `limit ${limit}`).toEqual(newestFirst("visa", "mastercard", "declined", "moved"));
    expectError(await search("status:'succeeded'", merchant.opts, "&page=nonsense"), 400, "search_page_invalid");
  });

  it("never shows another merchant's charges", async () => {
    const mine = await search("metadata['batch']:'one'");
    expect(ids(mine)).not.toContain(otherCharge);
    expect(ids(await search("metadata['batch']:'one'", other.opts))).toEqual([otherCharge]);
    expect(ids(await search("status:'succeeded'", other.opts))).toEqual([otherCharge]);
    expect(ids(await search(`customer:'${ALICE}'`, other.opts))).toEqual([]);
  });

  it("refuses a field no index serves, naming it, and a query that would walk every charge", async () => {
    for (const field of ["payment_method_details.card.brand:'visa'", "billing_details.address.postal_code:'12345'", "refunded:'true'", "disputed:'false'", "payment_method_details.card.fingerprint:'abc'"]) {
      const error = expectError(await search(`${field} AND customer:'${ALICE}'`), 400, "search_query_invalid");
      expect(error).toMatchObject({ type: "invalid_request_error", param: "query" });
      expect(error.message).toContain(`\`${field.split(":")[0] ?? ""}\``);
    }
    expect(expectError(await search("order_id:'ord_1'"), 400, "search_query_invalid").message).toMatch(/`order_id` is an unsupported search field for charges/);
    expect(expectError(await search("currency:'usd'"), 400, "search_query_unbounded").message).toMatch(/currency:/);
    expect(expectError(await search("currency:'usd' OR customer:'x'"), 400, "search_query_invalid").message).toMatch(/OR query/);
    expectError(await search("payment_method_details.card.last4>'4242'"), 400, "search_query_invalid");
  });

  it("expands data.payment_intent, needs payments.transactions.view, and serves stripe-node's charges.search", async () => {
    const expanded = await search("amount:2000", merchant.opts, "&expand[]=data.payment_intent");
    expect(expanded.body.data[0]?.payment_intent).toMatchObject({ object: "payment_intent", id: pi.mastercard?.id });
    // A charge's customer expands (a charge without one keeps null); a field Stripe cannot expand is a 400.
    expect((await search("amount:2000", merchant.opts, "&expand[]=data.customer")).status).toBe(200);
    expectError(await search("amount:2000", merchant.opts, "&expand[]=data.amount"), 400);
    const reader = bearer(await hsToken({ merchant: merchant.id, permissions: ["payments.transactions.view"] }));
    expect(ids(await search("amount:2000", reader))).toEqual(chargeOf("mastercard"));
    const writer = bearer(await hsToken({ merchant: merchant.id, permissions: ["payments.methods.view"] }));
    expectError(await search("amount:2000", writer), 403);
    const stripe = stripeClient(merchant.key);
    const result = await stripe.charges.search({ query: `customer:'${ALICE}'`, limit: 2 });
    expect(result.object).toBe("search_result");
    expect(result.data.map((c) => c.id)).toEqual(newestFirst("visa", "mastercard", "declined", "moved").slice(0, 2));
    expect(result.has_more).toBe(true);
    const rest = await stripe.charges.search({ query: `customer:'${ALICE}'`, limit: 2, page: result.next_page ?? "" });
    expect(rest.data.map((c) => c.id)).toEqual(newestFirst("visa", "mastercard", "declined", "moved").slice(2));
  });

  it("migration 0041 gives the rows 0024 left without it their charge_authorized_at, so their charges are found", async () => {
    const column = (id: string) => env.DB.prepare("SELECT charge_authorized_at AS at FROM payment_intents WHERE id = ?").bind(id).first<number | null>("at");
    const [paid, unpaid] = [pi.visa?.id ?? "", pi.unpaid?.id ?? ""];
    const authorizedAt = await column(paid);
    const record = await readModelIntent(paid);
    if (!record) throw new Error("no read model row");
    expect(authorizedAt).toBe(paymentMilestones(record).authorizedAt);
    // As a database on which 0024 was skipped has it.
    await env.DB.prepare("UPDATE payment_intents SET charge_authorized_at = NULL WHERE id = ?").bind(paid).run();
    expect(ids(await search("status:'succeeded' AND amount:1000"))).toEqual(chargeOf("moved"));
    const statement = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0041_"))?.queries.find((q) => q.includes("UPDATE payment_intents"));
    if (!statement) throw new Error("migration 0041 has no UPDATE payment_intents");
    await env.DB.prepare(statement).run();
    expect(await column(paid)).toBe(authorizedAt);
    expect(await column(unpaid)).toBeNull();
    expect(ids(await search("status:'succeeded' AND amount:1000"))).toEqual(newestFirst("visa", "moved"));
  });

  it("migration 0045 counts the failed charges of rows written before it, so they are found", async () => {
    const column = (id: string) => env.DB.prepare("SELECT declined_charges AS n FROM payment_intents WHERE id = ?").bind(id).first<number>("n");
    const declined = pi.declined?.id ?? "";
    expect(await column(declined)).toBe(1);
    expect(await column(pi.visa?.id ?? "")).toBe(0);
    await env.DB.prepare("UPDATE payment_intents SET declined_charges = 0 WHERE id = ?").bind(declined).run();
    expect(ids(await search("status:'failed'"))).toEqual([]);
    const statement = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0045_"))?.queries.find((q) => q.includes("UPDATE payment_intents"));
    if (!statement) throw new Error("migration 0045 has no UPDATE payment_intents");
    await env.DB.prepare(statement).run();
    expect(await column(declined)).toBe(1);
    expect(await column(pi.visa?.id ?? "")).toBe(0);
    expect(ids(await search("status:'failed'"))).toEqual(chargeOf("declined"));
  });

  it("pages inside an intent: a declined charge and the successful one of the same payment come one per page with limit=1, each once", async () => {
    const carol = "cus_chSearchCarol1";
    await seedCustomer(merchant.id, carol);
    const intent = await createIntent({ amount: 4100, customer: carol }, merchant.opts);
    expect((await post(`/v1/payment_intents/${intent.body.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }, merchant.opts)).status).toBe(402);
    expect((await post(`/v1/payment_intents/${intent.body.id}/confirm`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }, merchant.opts)).status).toBe(402);
    const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${intent.body.id}/confirm`, { payment_method: "pm_card_visa" }, merchant.opts);
    expect(paid.body.status).toBe("succeeded");
    const all = (await get<{ data: ChargeJson[] }>(`/v1/charges?payment_intent=${intent.body.id}&limit=10`, merchant.opts)).body.data.map((c) => c.id);
    expect(all).toHaveLength(3);
    const whole = await search(`customer:'${carol}'`);
    expect(ids(whole)).toEqual([paid.body.latest_charge, ...all.filter((id) => id !== paid.body.latest_charge)]);
    expect(whole.body.data.map((c) => c.status)).toEqual(["succeeded", "failed", "failed"]);
    const paged = await allPages(`customer:'${carol}'`, 1);
    expect(paged.seen).toEqual(ids(whole));
    expect(paged.sizes).toEqual([1, 1, 1]);
    // The failed ones alone, one per page too.
    const first = await search(`status:'failed' AND customer:'${carol}'`, merchant.opts, "&limit=1");
    const second = await search(`status:'failed' AND customer:'${carol}'`, merchant.opts, `&limit=1&page=${encodeURIComponent(first.body.next_page ?? "")}`);
    expect([...ids(first), ...ids(second)]).toEqual(ids(whole).slice(1));
    expect(second.body.has_more).toBe(false);
  });
});
