import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createIntent, expectError, get, post, seedCustomer, seedMerchant, type ListJson, type PaymentIntentJson } from "../helpers";

// A merchant of its own, so these lists see only what this file creates.
const KEY = "sk_test_list_search_merchant";
const opts = { key: KEY };
const created: PaymentIntentJson[] = [];

interface SearchJson {
  object: "search_result";
  data: PaymentIntentJson[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

beforeAll(async () => {
  await seedMerchant("acct_list_search", "List and search", "key_list_search", KEY, false);
  await seedCustomer("acct_list_search", "cus_aliceList01");
  await seedCustomer("acct_list_search", "cus_bobList0001");
  for (let i = 0; i < 12; i++) {
    const succeed = i % 3 === 0;
    const res = await createIntent(
      {
        amount: 1000 + i * 100,
        currency: i % 2 === 0 ? "usd" : "eur",
        customer: i < 4 ? "cus_aliceList01" : "cus_bobList0001",
        order_id: `ord_${i}`,
        metadata: { batch: i < 6 ? "first" : "second", index: String(i) },
        ...(succeed ? { payment_method: "pm_card_visa", confirm: true } : {}),
      },
      opts,
    );
    created.push(res.body);
  }
});

/** The list order: created descending, ties broken by id descending. */
const newestFirst = () =>
  [...created].sort((a, b) => b.created_ms - a.created_ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((p) => p.id);

describe("GET /v1/payment_intents (list)", () => {
  it("returns Stripe's list object, newest first, 10 by default", async () => {
    const res = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", opts);
    expect(res.status).toBe(200);
    expect(res.body.object).toBe("list");
    expect(res.body.url).toBe("/v1/payment_intents");
    expect(res.body.data.map((p) => p.id)).toEqual(newestFirst().slice(0, 10));
    expect(res.body.has_more).toBe(true);
  });

  it("pages forward with starting_after and back with ending_before", async () => {
    const first = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=5", opts);
    const second = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?limit=5&starting_after=${first.body.data[4]?.id}`, opts);
    expect(second.body.data.map((p) => p.id)).toEqual(newestFirst().slice(5, 10));
    const third = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?limit=5&starting_after=${second.body.data[4]?.id}`, opts);
    expect(third.body.data.map((p) => p.id)).toEqual(newestFirst().slice(10));
    expect(third.body.has_more).toBe(false);
    const back = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?limit=3&ending_before=${second.body.data[0]?.id}`, opts);
    expect(back.body.data.map((p) => p.id)).toEqual(newestFirst().slice(2, 5));
    expect(back.body.has_more).toBe(true);
  });

  it("filters by status, customer, order_id and created", async () => {
    const succeeded = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?status=succeeded&limit=100", opts);
    expect(succeeded.body.data.map((p) => p.id).sort()).toEqual(created.filter((p) => p.status === "succeeded").map((p) => p.id).sort());
    const alice = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?customer=cus_aliceList01&limit=100", opts);
    expect(alice.body.data).toHaveLength(4);
    const order = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?order_id=ord_7", opts);
    expect(order.body.data.map((p) => p.id)).toEqual([created[7]?.id]);
    const since = created[0]?.created ?? 0;
    const window = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?created[gte]=${since}&created[lte]=${since + 3600}&limit=100`, opts);
    expect(window.body.data).toHaveLength(12);
    const future = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?created[gt]=${since + 3600}`, opts);
    expect(future.body.data).toEqual([]);
  });

  it("validates its parameters", async () => {
    expectError(await get("/v1/payment_intents?limit=0", opts), 400);
    expectError(await get("/v1/payment_intents?limit=101", opts), 400);
    expectError(await get("/v1/payment_intents?limit=abc", opts), 400);
    expectError(await get("/v1/payment_intents?status=paid", opts), 400);
    expectError(await get("/v1/payment_intents?color=blue", opts), 400, "parameter_unknown");
    expectError(await get(`/v1/payment_intents?starting_after=${created[0]?.id}&ending_before=${created[1]?.id}`, opts), 400);
    // A cursor that names no intent: a 400 resource_missing naming starting_after, as at Stripe.
    expect(expectError(await get(`/v1/payment_intents?starting_after=pi_${"n".repeat(24)}`, opts), 400, "resource_missing").param).toBe("starting_after");
  });

  it("never shows another merchant's intents, even as a cursor", async () => {
    const demo = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100");
    const mine = new Set(created.map((p) => p.id));
    expect(demo.body.data.some((p) => mine.has(p.id))).toBe(false);
    expectError(await get(`/v1/payment_intents?starting_after=${created[3]?.id}`), 400, "resource_missing");
  });
});

describe("GET /v1/payment_intents/search", () => {
  const search = (q: string, extra = "") => get<SearchJson>(`/v1/payment_intents/search?query=${encodeURIComponent(q)}${extra}`, opts);

  it("matches status, currency, customer and order_id", async () => {
    // currency has no index of its own: a created window (at most 31 days; the end defaults to now) bounds it.
    const res = await search(`status:"succeeded" AND currency:"usd" AND created>=${Math.floor(Date.now() / 1000) - 86_400}`);
    expect(res.status).toBe(200);
    expect(res.body.object).toBe("search_result");
    const expected = created.filter((p) => p.status === "succeeded" && p.currency === "usd").map((p) => p.id);
    expect(res.body.data.map((p) => p.id).sort()).toEqual(expected.sort());
    expect((await search("customer:'cus_aliceList01' AND order_id:'ord_2'")).body.data.map((p) => p.id)).toEqual([created[2]?.id]);
    // Clauses separated by a space alone are ANDed, as at Stripe.
    const spaced = await search(`status:"succeeded" currency:"usd"  created>=${Math.floor(Date.now() / 1000) - 86_400}`);
    expect(spaced.status, JSON.stringify(spaced.body)).toBe(200);
    expect(spaced.body.data.map((p) => p.id).sort()).toEqual(expected.sort());
    expect((await search("customer:'cus_aliceList01' order_id:'ord_2'")).body.data.map((p) => p.id)).toEqual([created[2]?.id]);
    // ...so a space beside an OR mixes the two.
    expect(expectError(await search("customer:'cus_aliceList01' order_id:'ord_2' OR order_id:'ord_3'"), 400, "search_query_invalid").message).toMatch(/cannot mix AND and OR/);
  });

  it("compares amounts and matches metadata keys", async () => {
    const res = await search("amount>1800 AND amount<=2000 AND metadata['batch']:'second'");
    expect(res.body.data.map((p) => p.amount).sort()).toEqual([1900, 2000]);
    const neg = await search(`-customer:"cus_bobList0001" AND metadata["batch"]:"first"`);
    expect(neg.body.data).toHaveLength(4);
  });

  it("pages with next_page", async () => {
    const recent = `amount>0 AND created>=${Math.floor(Date.now() / 1000) - 86_400}`;
    const first = await search(recent, "&limit=5");
    expect(first.body.has_more).toBe(true);
    expect(first.body.next_page).toBeTruthy();
    const second = await search(recent, `&limit=5&page=${encodeURIComponent(first.body.next_page ?? "")}`);
    expect(second.body.data.map((p) => p.id)).toEqual(newestFirst().slice(5, 10));
  });

  it("rejects queries it does not understand with 400", async () => {
    for (const q of ["", "status:", "color:'red'", "status:'succeeded' OR status:'canceled' AND amount>0", "status:'paid'", "amount>abc", "status:'succeeded'status:'canceled'", "metadata['x']>3", "card_last4:'4242'"]) {
      expectError(await search(q), 400);
    }
    expect(expectError(await search("color:'red'"), 400, "search_query_invalid").message).toMatch(/`color` is an unsupported search field for payment_intents/);
    expectError(await get("/v1/payment_intents/search?query=amount>0&page=garbage", opts), 400);
  });

  it("refuses, naming the created window to add, what no index serves alone; serves it within 31 days", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const q of ["currency:'usd'", "amount>1800", "-status:'succeeded'", `currency:'usd' AND created>=${now - 40 * 86_400}`, "status:'succeeded' OR currency:'usd'"]) {
      const error = expectError(await search(q), 400, q.includes(" OR ") ? "search_query_invalid" : "search_query_unbounded");
      expect(error.param).toBe("query");
      expect(error.message).toMatch(/created>=/);
    }
    for (const q of [`currency:'usd' AND created>=${now - 86_400} AND created<${now + 60}`, `amount>1800 AND created>${now - 30 * 86_400}`, "customer:'cus_aliceList01' AND currency:'usd'"]) {
      expect((await search(q)).status, q).toBe(200);
    }
  });

  it("cannot be used to inject SQL", async () => {
    const res = await search(`order_id:"x' OR 1=1 --"`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = 'acct_list_search'").first<{ n: number }>();
    expect(count?.n).toBe(12);
  });
});

describe("auto-pagination reaches every intent exactly once", () => {
  it("walks all pages with starting_after", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const res = await get<ListJson<PaymentIntentJson>>(`/v1/payment_intents?limit=4${cursor ? `&starting_after=${cursor}` : ""}`, opts);
      seen.push(...res.body.data.map((p) => p.id));
      if (!res.body.has_more) break;
      cursor = res.body.data[res.body.data.length - 1]?.id;
    }
    expect(seen).toEqual(newestFirst());
    // Form-encoded update keeps working on listed intents.
    expect((await post(`/v1/payment_intents/${seen[0]}`, { description: "seen" }, opts)).status).toBe(200);
  });
});
