// Stripe's search of the billing objects: GET /v1/products/search, /v1/prices/search,
// /v1/subscriptions/search and /v1/invoices/search (stripe-node's products.search etc.). Each field
// Stripe names is served from an index or refused with a 400 naming it; metadata through the
// object_metadata side table, kept by triggers on every write; AND and OR; created windows; pages;
// only the merchant's objects of the key's mode.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, ok, post, seedMerchant, stripeClient, type CallOptions } from "../helpers";

interface SearchJson<T = { id: string }> {
  object: string;
  data: T[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

const now = () => Math.floor(Date.now() / 1000);
const q = (resource: string, query: string, extra = "") => `/v1/${resource}/search?query=${encodeURIComponent(query)}${extra}`;

async function search<T = { id: string }>(opts: CallOptions, resource: string, query: string, extra = ""): Promise<SearchJson<T>> {
  return ok(get<SearchJson<T>>(q(resource, query, extra), opts));
}
const ids = async (opts: CallOptions, resource: string, query: string, extra = "") => (await search(opts, resource, query, extra)).data.map((o) => o.id);

let m: { id: string; key: string; opts: CallOptions };
const made = { gold: "", silver: "", archived: "", goldMonthly: "", goldOnce: "", silverYearly: "", customer: "", customer2: "", subGold: "", subSilver: "", invoiceGold: "", invoiceSilver: "" };

beforeAll(async () => {
  m = await newMerchant("billing-search");
  const o = m.opts;
  made.gold = (await ok(post<{ id: string }>("/v1/products", { name: "Gold plan", description: "The best plan there is", metadata: { tier: "gold", team: "core" } }, o))).id;
  made.silver = (await ok(post<{ id: string }>("/v1/products", { name: "Silver plan", description: "A fine plan", metadata: { tier: "silver", team: "core" } }, o))).id;
  made.archived = (await ok(post<{ id: string }>("/v1/products", { name: "Bronze plan", active: false, metadata: { tier: "bronze" } }, o))).id;
  made.goldMonthly = (await ok(post<{ id: string }>("/v1/prices", { product: made.gold, unit_amount: 2000, currency: "usd", recurring: { interval: "month" }, lookup_key: "gold_monthly", metadata: { cycle: "monthly" } }, o))).id;
  made.goldOnce = (await ok(post<{ id: string }>("/v1/prices", { product: made.gold, unit_amount: 50_000, currency: "eur", metadata: { cycle: "once" } }, o))).id;
  made.silverYearly = (await ok(post<{ id: string }>("/v1/prices", { product: made.silver, unit_amount: 9000, currency: "usd", recurring: { interval: "year" }, active: false }, o))).id;
  made.customer = (await ok(post<{ id: string }>("/v1/customers", { email: "ada@example.com", payment_method: "pm_card_visa" }, o))).id;
  made.customer2 = (await ok(post<{ id: string }>("/v1/customers", { email: "grace@example.com", payment_method: "pm_card_visa" }, o))).id;
  const silverMonthly = (await ok(post<{ id: string }>("/v1/prices", { product: made.silver, unit_amount: 1000, currency: "usd", recurring: { interval: "month" } }, o))).id;
  const subGold = await ok(post<{ id: string; latest_invoice: string }>("/v1/subscriptions", { customer: made.customer, price: made.goldMonthly, metadata: { seat: "a1" } }, o));
  made.subGold = subGold.id;
  made.invoiceGold = subGold.latest_invoice;
  const subSilver = await ok(post<{ id: string; latest_invoice: string }>("/v1/subscriptions", { customer: made.customer2, price: silverMonthly, metadata: { seat: "b2" } }, o));
  made.subSilver = subSilver.id;
  made.invoiceSilver = subSilver.latest_invoice;
});

describe("GET /v1/products/search", () => {
  it("answers Stripe's search_result: name (exact), active, metadata, created", async () => {
    const gold = await search(m.opts, "products", "name:'Gold plan'");
    expect(gold).toMatchObject({ object: "search_result", has_more: false, next_page: null, url: "/v1/products/search" });
    expect(gold.data.map((p) => p.id)).toEqual([made.gold]);
    expect(await ids(m.opts, "products", "active:'false'")).toEqual([made.archived]);
    expect(await ids(m.opts, "products", "active:'true'")).toEqual([made.silver, made.gold]);
    expect(await ids(m.opts, "products", "metadata['tier']:'silver'")).toEqual([made.silver]);
    expect(await ids(m.opts, "products", "metadata['team']:'core'")).toEqual([made.silver, made.gold]);
    expect(await ids(m.opts, "products", `created>=${now() - 3600}`)).toEqual([made.archived, made.silver, made.gold]);
    expect(await ids(m.opts, "products", `created<${now() - 3600}`)).toEqual([]);
  });

  it("AND narrows (each clause kept), OR unites, newest first and each product once", async () => {
    expect(await ids(m.opts, "products", "metadata['team']:'core' AND active:'true' AND name:'Gold plan'")).toEqual([made.gold]);
    expect(await ids(m.opts, "products", "metadata['team']:'core' AND metadata['tier']:'gold'")).toEqual([made.gold]);
    expect(await ids(m.opts, "products", "metadata['team']:'core' AND -metadata['tier']:'gold'")).toEqual([made.silver]);
    expect(await ids(m.opts, "products", "name:'Gold plan' AND active:'false'")).toEqual([]);
    expect(await ids(m.opts, "products", "name:'Gold plan' OR metadata['tier']:'bronze' OR metadata['team']:'core'")).toEqual([made.archived, made.silver, made.gold]);
    expect(await ids(m.opts, "products", "name:'Gold plan' or name:'Nothing'")).toEqual([made.gold]);
  });

  it("contains (~) on name and description, bounded by an exact clause or a created window", async () => {
    const window = `created>=${now() - 3600}`;
    expect(await ids(m.opts, "products", `name~'plan' AND ${window}`)).toEqual([made.archived, made.silver, made.gold]);
    expect(await ids(m.opts, "products", `description~'best' AND ${window}`)).toEqual([made.gold]);
    expect(await ids(m.opts, "products", "description~'plan' AND metadata['team']:'core'")).toEqual([made.silver, made.gold]);
    expect(await ids(m.opts, "products", `description:'A fine plan' AND ${window}`)).toEqual([made.silver]);
    // Alone, with only an unselective clause, in an OR, or over a window wider than 31 days: refused.
    for (const query of ["name~'plan'", "name~'plan' AND active:'true'", "name~'Gold' OR name:'Silver plan'", `description~'plan' AND created>=${now() - 40 * 86_400}`]) {
      const err = expectError(await get(q("products", query), m.opts), 400, "search_query_unbounded");
      expect(err.param, query).toBe("query");
      expect(err.message, query).toMatch(/created/);
    }
  });

  it("metadata follows the product: an update replaces its keys, a deletion removes them", async () => {
    const p = await ok(post<{ id: string }>("/v1/products", { name: "Shifting", metadata: { phase: "one", keep: "yes" } }, m.opts));
    expect(await ids(m.opts, "products", "metadata['phase']:'one'")).toEqual([p.id]);
    await ok(post(`/v1/products/${p.id}`, { metadata: { phase: "two", keep: "" } }, m.opts));
    expect(await ids(m.opts, "products", "metadata['phase']:'one'")).toEqual([]);
    expect(await ids(m.opts, "products", "metadata['phase']:'two'")).toEqual([p.id]);
    expect(await ids(m.opts, "products", "metadata['keep']:'yes'")).toEqual([]);
    await ok(post(`/v1/products/${p.id}`, { name: "Shifted" }, m.opts));
    expect(await ids(m.opts, "products", "metadata['phase']:'two'")).toEqual([p.id]);
    await ok(call("DELETE", `/v1/products/${p.id}`, m.opts));
    expect(await ids(m.opts, "products", "metadata['phase']:'two'")).toEqual([]);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM object_metadata WHERE object_id = ?").bind(p.id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("fields Stripe has and the gateway does not serve are a 400 naming them, as is an unknown field", async () => {
    for (const [query, field] of [["url:'https://x.example'", "url"], ["shippable:'true'", "shippable"], ["colour:'red'", "colour"], ["name:'Gold plan' AND sku:'1'", "sku"]] as const) {
      const err = expectError(await get(q("products", query), m.opts), 400, "search_query_invalid");
      expect(err.type).toBe("invalid_request_error");
      expect(err.param).toBe("query");
      expect(err.message, query).toContain(`\`${field}\``);
    }
    expectError(await get(q("products", "name>'Gold'"), m.opts), 400, "search_query_invalid");
    expectError(await get(q("products", "active:'maybe'"), m.opts), 400, "search_query_invalid");
    expectError(await get(q("products", "name:'Gold plan' AND active:'true' OR active:'false'"), m.opts), 400, "search_query_invalid");
  });

  it("pages with next_page until has_more is false (stripe-node's products.search and its auto-paging too)", async () => {
    const first = await search(m.opts, "products", "metadata['team']:'core' OR active:'false'", "&limit=2");
    expect(first.data.map((p) => p.id)).toEqual([made.archived, made.silver]);
    expect(first).toMatchObject({ has_more: true, next_page: made.silver });
    const second = await search(m.opts, "products", "metadata['team']:'core' OR active:'false'", `&limit=2&page=${first.next_page ?? ""}`);
    expect(second.data.map((p) => p.id)).toEqual([made.gold]);
    expect(second).toMatchObject({ has_more: false, next_page: null });
    const byMetadata = await search(m.opts, "products", "metadata['team']:'core'", "&limit=1");
    expect(byMetadata.data.map((p) => p.id)).toEqual([made.silver]);
    expect(await ids(m.opts, "products", "metadata['team']:'core'", `&limit=1&page=${byMetadata.next_page ?? ""}`)).toEqual([made.gold]);
    expectError(await get(q("products", "active:'true'", "&page=prod_unknown00000000"), m.opts), 400, "search_page_invalid");

    const stripe = stripeClient(m.key);
    const result = await stripe.products.search({ query: "active:'true'", limit: 1 });
    expect(result.data.map((p) => p.id)).toEqual([made.silver]);
    expect(result.has_more).toBe(true);
    const all = await stripe.products.search({ query: "metadata['team']:'core' OR active:'false'", limit: 1 }).autoPagingToArray({ limit: 10 });
    expect(all.map((p) => p.id)).toEqual([made.archived, made.silver, made.gold]);
  });

  it("another merchant's products, and the other mode's, never appear", async () => {
    const other = await newMerchant("billing-search-other");
    await ok(post("/v1/products", { name: "Gold plan", metadata: { team: "core" } }, other.opts));
    expect(await ids(other.opts, "products", "name:'Gold plan' AND metadata['team']:'core'")).toHaveLength(1);
    expect(await ids(m.opts, "products", "name:'Gold plan'")).toEqual([made.gold]);
    // The same merchant's live key sees only live-mode products.
    const live = `sk_live_${m.id.slice(5)}`;
    await seedMerchant(m.id, "billing-search", `key_live_${m.id.slice(5)}`, live, true);
    const liveGold = await ok(post<{ id: string; livemode: boolean }>("/v1/products", { name: "Gold plan", metadata: { team: "core" } }, { key: live }));
    expect(liveGold.livemode).toBe(true);
    expect(await ids({ key: live }, "products", "name:'Gold plan' OR metadata['team']:'core'")).toEqual([liveGold.id]);
    expect(await ids(m.opts, "products", "name:'Gold plan' OR metadata['team']:'core'")).toEqual([made.silver, made.gold]);
  });

  it("needs billing.view, as the list does", async () => {
    const viewer = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["billing.view"] }, m.opts))).secret ?? "";
    expect(await ids({ key: viewer }, "products", "name:'Gold plan'")).toEqual([made.gold]);
    const other = (await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.methods.view"] }, m.opts))).secret ?? "";
    for (const resource of ["products", "prices", "subscriptions", "invoices"]) expectError(await get(q(resource, `created>=${now() - 60}`), { key: other }), 403);
  });
});

describe("GET /v1/prices/search", () => {
  it("by product, lookup_key, active, currency, type and metadata", async () => {
    expect(await ids(m.opts, "prices", `product:'${made.gold}'`)).toEqual([made.goldOnce, made.goldMonthly]);
    expect(await ids(m.opts, "prices", "lookup_key:'gold_monthly'")).toEqual([made.goldMonthly]);
    expect(await ids(m.opts, "prices", "active:'false'")).toEqual([made.silverYearly]);
    expect(await ids(m.opts, "prices", "currency:'EUR'")).toEqual([made.goldOnce]);
    expect(await ids(m.opts, "prices", "type:'one_time'")).toEqual([made.goldOnce]);
    expect((await ids(m.opts, "prices", "type:'recurring'")).slice(-2)).toEqual([made.silverYearly, made.goldMonthly]);
    expect(await ids(m.opts, "prices", "metadata['cycle']:'monthly'")).toEqual([made.goldMonthly]);
    expectError(await get(q("prices", "type:'metered'"), m.opts), 400, "search_query_invalid");
  });

  it("AND, OR, created windows and expand[]=data.product", async () => {
    expect(await ids(m.opts, "prices", `product:'${made.gold}' AND type:'recurring'`)).toEqual([made.goldMonthly]);
    expect(await ids(m.opts, "prices", `product:'${made.gold}' AND currency:'usd' AND active:'true'`)).toEqual([made.goldMonthly]);
    expect(await ids(m.opts, "prices", `lookup_key:'gold_monthly' OR metadata['cycle']:'once' OR product:'${made.silver}'`)).toHaveLength(4);
    expect(await ids(m.opts, "prices", "type:'recurring'")).toHaveLength(3);
    expect(await ids(m.opts, "prices", "lookup_key:'gold_monthly' OR metadata['cycle']:'once'")).toEqual([made.goldOnce, made.goldMonthly]);
    expect(await ids(m.opts, "prices", `product:'${made.gold}' AND created<${now() - 3600}`)).toEqual([]);
    expect(await ids(m.opts, "prices", `type:'one_time' AND created>=${now() - 3600} AND created<=${now() + 5}`)).toEqual([made.goldOnce]);
    const expanded = await search<{ id: string; product: { id: string; name: string } }>(m.opts, "prices", "lookup_key:'gold_monthly'", "&expand[]=data.product");
    expect(expanded.data[0]?.product).toMatchObject({ id: made.gold, name: "Gold plan" });
    const err = expectError(await get(q("prices", "nickname:'x'"), m.opts), 400, "search_query_invalid");
    expect(err.message).toContain("`nickname`");
  });

  it("metadata follows the price through its updates", async () => {
    await ok(post(`/v1/prices/${made.silverYearly}`, { metadata: { cycle: "yearly" } }, m.opts));
    expect(await ids(m.opts, "prices", "metadata['cycle']:'yearly'")).toEqual([made.silverYearly]);
    expect(await ids(m.opts, "prices", "metadata['cycle']:'yearly' AND active:'true'")).toEqual([]);
  });

  it("another merchant's prices never appear", async () => {
    const other = await newMerchant("price-search-other");
    expect(await ids(other.opts, "prices", `product:'${made.gold}'`)).toEqual([]);
    expect(await ids(other.opts, "prices", "lookup_key:'gold_monthly' OR metadata['cycle']:'monthly'")).toEqual([]);
  });
});

describe("GET /v1/subscriptions/search", () => {
  it("by status, metadata and created; AND and OR; canceled ones too", async () => {
    expect(await ids(m.opts, "subscriptions", "status:'active'")).toEqual([made.subSilver, made.subGold]);
    expect(await ids(m.opts, "subscriptions", "metadata['seat']:'a1'")).toEqual([made.subGold]);
    expect(await ids(m.opts, "subscriptions", "metadata['seat']:'a1' AND status:'active'")).toEqual([made.subGold]);
    expect(await ids(m.opts, "subscriptions", "metadata['seat']:'a1' OR metadata['seat']:'b2'")).toEqual([made.subSilver, made.subGold]);
    expect(await ids(m.opts, "subscriptions", `status:'active' AND created>=${now() - 3600}`)).toEqual([made.subSilver, made.subGold]);
    expect(await ids(m.opts, "subscriptions", `status:'active' AND created<${now() - 3600}`)).toEqual([]);
    const page = await search(m.opts, "subscriptions", "status:'active'", "&limit=1");
    expect(page).toMatchObject({ has_more: true, next_page: made.subSilver });
    expect(await ids(m.opts, "subscriptions", "status:'active'", `&page=${page.next_page ?? ""}`)).toEqual([made.subGold]);
    const rendered = (await search<{ id: string; object: string; items: { data: { price: { id: string } }[] } }>(m.opts, "subscriptions", "metadata['seat']:'a1'")).data[0];
    expect(rendered).toMatchObject({ id: made.subGold, object: "subscription" });
    expect(rendered?.items.data[0]?.price.id).toBe(made.goldMonthly);

    // On a customer and price of its own, so the invoices below stay the two of the setup.
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "extra@example.com", payment_method: "pm_card_visa" }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { product_data: { name: "Extra" }, unit_amount: 777, currency: "gbp", recurring: { interval: "week" } }, m.opts));
    const extra = await ok(post<{ id: string }>("/v1/subscriptions", { customer: customer.id, price: price.id, metadata: { seat: "c3" } }, m.opts));
    await ok(post(`/v1/subscriptions/${extra.id}`, { metadata: { seat: "c4" } }, m.opts));
    await ok(call("DELETE", `/v1/subscriptions/${extra.id}`, m.opts));
    expect(await ids(m.opts, "subscriptions", "status:'canceled'")).toEqual([extra.id]);
    expect(await ids(m.opts, "subscriptions", "metadata['seat']:'c4'")).toEqual([extra.id]);
    expect(await ids(m.opts, "subscriptions", "metadata['seat']:'c3'")).toEqual([]);
  });

  it("refuses unknown statuses and fields, and unbounded filters", async () => {
    expectError(await get(q("subscriptions", "status:'sleeping'"), m.opts), 400, "search_query_invalid");
    const err = expectError(await get(q("subscriptions", "customer:'cus_x'"), m.opts), 400, "search_query_invalid");
    expect(err.message).toContain("`customer`");
    expectError(await get(q("subscriptions", "-status:'active'"), m.opts), 400, "search_query_unbounded");
    expect(await ids(m.opts, "subscriptions", `-status:'active' AND created>=${now() - 3600}`)).toHaveLength(1);
  });

  it("another merchant's subscriptions never appear", async () => {
    const other = await newMerchant("sub-search-other");
    expect(await ids(other.opts, "subscriptions", "status:'active' OR metadata['seat']:'a1'")).toEqual([]);
  });
});

describe("GET /v1/invoices/search", () => {
  it("by customer, subscription, currency, total and created; AND and OR", async () => {
    expect(await ids(m.opts, "invoices", `customer:'${made.customer}'`)).toEqual([made.invoiceGold]);
    expect(await ids(m.opts, "invoices", `subscription:'${made.subSilver}'`)).toEqual([made.invoiceSilver]);
    expect(await ids(m.opts, "invoices", "total:2000")).toEqual([made.invoiceGold]);
    expect(await ids(m.opts, "invoices", "currency:'usd' AND total:1000")).toEqual([made.invoiceSilver]);
    expect(await ids(m.opts, "invoices", `customer:'${made.customer}' OR subscription:'${made.subSilver}'`)).toEqual([made.invoiceSilver, made.invoiceGold]);
    expect(await ids(m.opts, "invoices", `customer:'${made.customer}' AND total>1500`)).toEqual([made.invoiceGold]);
    expect(await ids(m.opts, "invoices", `customer:'${made.customer}' AND total<1500`)).toEqual([]);
    expect(await ids(m.opts, "invoices", `total>=1000 AND created>=${now() - 3600}`)).toContain(made.invoiceSilver);
    expect(await ids(m.opts, "invoices", `currency:'usd' AND created<${now() - 3600}`)).toEqual([]);
    // status, as Stripe's search has it: both were paid when made; none is open; draft matches none here.
    const paid = await search<{ id: string; status: string }>(m.opts, "invoices", "status:'paid'", "&limit=100");
    expect(paid.data.map((i) => i.id)).toEqual(expect.arrayContaining([made.invoiceSilver, made.invoiceGold]));
    expect(paid.data.every((i) => i.status === "paid")).toBe(true);
    expect(await ids(m.opts, "invoices", `status:'paid' AND customer:'${made.customer}'`)).toEqual([made.invoiceGold]);
    expect(await ids(m.opts, "invoices", "status:'open'")).toEqual([]);
    expect(await ids(m.opts, "invoices", "status:'draft'")).toEqual([]);
    expectError(await get(q("invoices", "status:'sleeping'"), m.opts), 400, "search_query_invalid");
    const invoice = (await search<{ id: string; object: string; total: number; payment_intent: unknown }>(m.opts, "invoices", "total:2000", "&expand[]=data.payment_intent")).data[0];
    expect(invoice).toMatchObject({ id: made.invoiceGold, object: "invoice", total: 2000 });
    expect(invoice?.payment_intent).toMatchObject({ object: "payment_intent" });
  });

  it("number, receipt_number and metadata (which invoices here never have) are a 400 naming them; ranges of totals need a bound", async () => {
    for (const [query, field] of [["number:'INV-0001'", "number"], ["receipt_number:'1234'", "receipt_number"], ["metadata['a']:'b'", "metadata"]] as const) {
      const err = expectError(await get(q("invoices", query), m.opts), 400, "search_query_invalid");
      expect(err.message, query).toContain(`\`${field}\``);
    }
    expectError(await get(q("invoices", "total>1000"), m.opts), 400, "search_query_unbounded");
    expectError(await get(q("invoices", "total>1000 OR currency:'usd'"), m.opts), 400, "search_query_unbounded");
    expectError(await get(q("invoices", "total:'lots'"), m.opts), 400, "search_query_invalid");
  });

  it("another merchant's invoices never appear", async () => {
    const other = await newMerchant("invoice-search-other");
    expect(await ids(other.opts, "invoices", `customer:'${made.customer}' OR total:2000`)).toEqual([]);
  });
});
