// Prices keep Stripe's lookup_key (it was accepted and dropped): set on create and update, read on
// retrieve and list, found by GET /v1/prices?lookup_keys[]=. A key names at most one of a merchant's
// prices in a mode, archived ones too, as at Stripe: another price's key is a 400 naming the holder,
// unless transfer_lookup_key=true moves it, in one transaction. Concurrent creates never leave a key
// held twice (nor an inline product of a refused price behind).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";
import { call, expectError, get, KEY_B, newMerchant, post, seedMerchant, stripeClient, uniqueKey, type ListJson } from "../helpers";

interface PriceJson {
  id: string;
  object: "price";
  active: boolean;
  lookup_key: string | null;
  product: string;
  unit_amount: number;
}

const keysOf = (prices: { id: string; lookup_key: string | null }[]) => prices.map((p) => [p.id, p.lookup_key]);

async function priceHolding(key: string, merchantKey: string): Promise<string[]> {
  const res = await get<ListJson<PriceJson>>(`/v1/prices?lookup_keys[]=${encodeURIComponent(key)}`, { key: merchantKey });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.map((p) => p.id);
}

describe("prices: lookup_key", () => {
  it("the stripe client sets it on create and update, reads it on retrieve and list, and finds prices by lookup_keys", async () => {
    const m = await newMerchant("price-lookup");
    const stripe = stripeClient(m.key);
    const product = await stripe.products.create({ name: "Pro" });
    const monthly = await stripe.prices.create({ product: product.id, unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, lookup_key: "pro_monthly" });
    const yearly = await stripe.prices.create({ product: product.id, unit_amount: 15000, currency: "usd", recurring: { interval: "year" }, lookup_key: "pro_yearly" });
    const plain = await stripe.prices.create({ product: product.id, unit_amount: 900, currency: "usd" });
    expect([monthly.lookup_key, yearly.lookup_key, plain.lookup_key]).toEqual(["pro_monthly", "pro_yearly", null]);
    expect((await stripe.prices.retrieve(monthly.id)).lookup_key).toBe("pro_monthly");
    expect(keysOf((await stripe.prices.list({ limit: 100 })).data)).toEqual([
      [plain.id, null],
      [yearly.id, "pro_yearly"],
      [monthly.id, "pro_monthly"],
    ]);

    // By keys: newest first; a key no price holds finds nothing; the other filters still apply.
    const both = await stripe.prices.list({ lookup_keys: ["pro_monthly", "pro_yearly", "nobody"] });
    expect(both.data.map((p) => p.id)).toEqual([yearly.id, monthly.id]);
    expect(both.has_more).toBe(false);
    expect((await stripe.prices.list({ lookup_keys: ["pro_monthly"], expand: ["data.product"] })).data.map((p) => [p.id, (p.product as Stripe.Product).name])).toEqual([[monthly.id, "Pro"]]);
    expect((await stripe.prices.list({ lookup_keys: ["pro_monthly", "pro_yearly"], recurring: undefined, currency: "eur" })).data).toEqual([]);
    // Pages across them, both ways.
    const first = await stripe.prices.list({ lookup_keys: ["pro_monthly", "pro_yearly"], limit: 1 });
    expect([first.data.map((p) => p.id), first.has_more]).toEqual([[yearly.id], true]);
    const second = await stripe.prices.list({ lookup_keys: ["pro_monthly", "pro_yearly"], limit: 1, starting_after: yearly.id });
    expect([second.data.map((p) => p.id), second.has_more]).toEqual([[monthly.id], false]);
    const back = await stripe.prices.list({ lookup_keys: ["pro_monthly", "pro_yearly"], limit: 1, ending_before: monthly.id });
    expect([back.data.map((p) => p.id), back.has_more]).toEqual([[yearly.id], false]);

    // Update: rename it, then take it off ("" from the client unsets).
    const renamed = await stripe.prices.update(monthly.id, { lookup_key: "pro_monthly_2026" });
    expect(renamed.lookup_key).toBe("pro_monthly_2026");
    expect(await priceHolding("pro_monthly", m.key)).toEqual([]);
    expect(await priceHolding("pro_monthly_2026", m.key)).toEqual([monthly.id]);
    // The old key is free again for another price.
    const successor = await stripe.prices.create({ product: product.id, unit_amount: 1600, currency: "usd", recurring: { interval: "month" }, lookup_key: "pro_monthly" });
    expect(await priceHolding("pro_monthly", m.key)).toEqual([successor.id]);
    const unset = await stripe.prices.update(monthly.id, { lookup_key: "" });
    expect(unset.lookup_key).toBeNull();
    expect((await stripe.prices.retrieve(monthly.id)).lookup_key).toBeNull();
    // An update that does not name it keeps it.
    expect((await stripe.prices.update(yearly.id, { nickname: "Yearly" })).lookup_key).toBe("pro_yearly");
  });

  it("another price's key is Stripe's 400 naming it, archived or not, on create and update; transfer_lookup_key moves it in one transaction", async () => {
    const m = await newMerchant("price-lookup-taken");
    const stripe = stripeClient(m.key);
    const holder = await stripe.prices.create({ product_data: { name: "Basic" }, unit_amount: 500, currency: "usd", recurring: { interval: "month" }, lookup_key: "basic" });
    const taken = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e);

    const error = await taken(stripe.prices.create({ product: String(holder.product), unit_amount: 600, currency: "usd", lookup_key: "basic" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, param: "lookup_key", message: `A price (\`${holder.id}\`) already uses that lookup key.` });
    // An archived holder still holds it, as at Stripe.
    await stripe.prices.update(holder.id, { active: false });
    await expect(stripe.prices.create({ product: String(holder.product), unit_amount: 600, currency: "usd", lookup_key: "basic" })).rejects.toMatchObject({ statusCode: 400, param: "lookup_key" });
    // An inline product of a refused price is not made.
    const productsBefore = (await stripe.products.list({ limit: 100 })).data.length;
    await expect(stripe.prices.create({ product_data: { name: "Orphan?" }, unit_amount: 600, currency: "usd", lookup_key: "basic" })).rejects.toMatchObject({ statusCode: 400 });
    expect((await stripe.products.list({ limit: 100 })).data.length).toBe(productsBefore);

    // transfer_lookup_key: the new price holds it; the old one keeps everything else (still archived).
    const next = await stripe.prices.create({ product: String(holder.product), unit_amount: 700, currency: "usd", recurring: { interval: "month" }, lookup_key: "basic", transfer_lookup_key: true });
    expect(next.lookup_key).toBe("basic");
    const old = await stripe.prices.retrieve(holder.id);
    expect([old.lookup_key, old.active, old.unit_amount]).toEqual([null, false, 500]);
    expect(await priceHolding("basic", m.key)).toEqual([next.id]);

    // On update likewise: refused without transfer, moved with it.
    const other = await stripe.prices.create({ product: String(holder.product), unit_amount: 800, currency: "usd", lookup_key: "other" });
    await expect(stripe.prices.update(other.id, { lookup_key: "basic" })).rejects.toMatchObject({ statusCode: 400, param: "lookup_key", message: `A price (\`${next.id}\`) already uses that lookup key.` });
    expect((await stripe.prices.retrieve(other.id)).lookup_key).toBe("other");
    const moved = await stripe.prices.update(other.id, { lookup_key: "basic", transfer_lookup_key: true });
    expect(moved.lookup_key).toBe("basic");
    expect(await priceHolding("basic", m.key)).toEqual([other.id]);
    expect(await priceHolding("other", m.key)).toEqual([]);
    expect([(await stripe.prices.retrieve(next.id)).lookup_key, (await stripe.prices.retrieve(next.id)).active]).toEqual([null, true]);
    // A price given its own key again, with or without transfer, keeps it.
    expect((await stripe.prices.update(other.id, { lookup_key: "basic" })).lookup_key).toBe("basic");
    expect((await stripe.prices.update(other.id, { lookup_key: "basic", transfer_lookup_key: true })).lookup_key).toBe("basic");
    // A transfer of a key nobody holds just sets it.
    expect((await stripe.prices.create({ product: String(holder.product), unit_amount: 900, currency: "usd", lookup_key: "fresh", transfer_lookup_key: true })).lookup_key).toBe("fresh");
  });

  it("form-encoded as the stripe client sends it: lookup_key and transfer_lookup_key; lookup_keys[]=, lookup_keys[0]= and lookup_keys= on the list", async () => {
    const m = await newMerchant("price-lookup-form");
    const a = await call<PriceJson>("POST", "/v1/prices", { ...m.opts, form: "unit_amount=100&currency=usd&product_data[name]=A&lookup_key=team%20seat%2Fmonthly" });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.lookup_key).toBe("team seat/monthly");
    const b = await call<PriceJson>("POST", "/v1/prices", { ...m.opts, form: "unit_amount=200&currency=usd&product_data[name]=B&lookup_key=b" });
    const moved = await call<PriceJson>("POST", "/v1/prices", { ...m.opts, form: "unit_amount=300&currency=usd&product_data[name]=C&lookup_key=b&transfer_lookup_key=true" });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    for (const query of ["lookup_keys[]=team%20seat%2Fmonthly&lookup_keys[]=b", "lookup_keys[0]=team%20seat%2Fmonthly&lookup_keys[1]=b"]) {
      const listed = await get<ListJson<PriceJson>>(`/v1/prices?${query}`, m.opts);
      expect(listed.status, JSON.stringify(listed.body)).toBe(200);
      expect(keysOf(listed.body.data)).toEqual([
        [moved.body.id, "b"],
        [a.body.id, "team seat/monthly"],
      ]);
    }
    expect((await get<ListJson<PriceJson>>("/v1/prices?lookup_keys=b", m.opts)).body.data.map((p) => p.id)).toEqual([moved.body.id]);
    // The same key twice is one key.
    expect((await get<ListJson<PriceJson>>("/v1/prices?lookup_keys[]=b&lookup_keys[]=b", m.opts)).body.data.map((p) => p.id)).toEqual([moved.body.id]);
    expect((await get<PriceJson>(`/v1/prices/${b.body.id}`, m.opts)).body.lookup_key).toBeNull();
    // lookup_key= on an update takes it off.
    const cleared = await call<PriceJson>("POST", `/v1/prices/${moved.body.id}`, { ...m.opts, form: "lookup_key=" });
    expect(cleared.body.lookup_key).toBeNull();
    // Up to 10 keys.
    const ten = Array.from({ length: 10 }, (_, i) => `lookup_keys[]=k${i}`).join("&");
    expect((await get(`/v1/prices?${ten}`, m.opts)).status).toBe(200);
  });

  it("bad input is a Stripe-shaped 400 naming the parameter, never a 500, and stores nothing", async () => {
    const m = await newMerchant("price-lookup-bad");
    const base = { unit_amount: 100, currency: "usd", product_data: { name: "Bad" } };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...base, lookup_key: "k".repeat(201) }, "parameter_invalid", "lookup_key"],
      [{ ...base, lookup_key: { a: "b" } }, "parameter_invalid", "lookup_key"],
      [{ ...base, lookup_key: 42 }, "parameter_invalid", "lookup_key"],
      [{ ...base, lookup_key: ["a"] }, "parameter_invalid", "lookup_key"],
      [{ ...base, lookup_key: "ok", transfer_lookup_key: "maybe" }, "parameter_invalid", "transfer_lookup_key"],
      [{ ...base, lookup_key: "ok", transfer_lookup_key: { yes: true } }, "parameter_invalid", "transfer_lookup_key"],
    ];
    for (const [body, code, param] of cases) expect(expectError(await post("/v1/prices", body, m.opts), 400, code).param, JSON.stringify(body).slice(0, 100)).toBe(param);
    const price = (await post<PriceJson>("/v1/prices", { ...base, lookup_key: "kept" }, m.opts)).body;
    for (const [body, code, param] of cases) {
      const { unit_amount: _a, currency: _c, product_data: _p, ...update } = body;
      expect(expectError(await post(`/v1/prices/${price.id}`, update, m.opts), 400, code).param).toBe(param);
    }
    expect((await get<PriceJson>(`/v1/prices/${price.id}`, m.opts)).body.lookup_key).toBe("kept");
    expect((await get<ListJson<PriceJson>>("/v1/prices", m.opts)).body.data.map((p) => p.id)).toEqual([price.id]);

    const eleven = Array.from({ length: 11 }, (_, i) => `lookup_keys[]=k${i}`).join("&");
    const listCases: [string, string][] = [
      [eleven, "lookup_keys"],
      [`lookup_keys[]=${"k".repeat(201)}`, "lookup_keys[0]"],
      ["lookup_keys[a]=b", "lookup_keys"],
      ["lookup_keys[0][x]=y", "lookup_keys[0]"],
      ["lookup_key=kept", "lookup_key"],
    ];
    for (const [query, param] of listCases) {
      const res = await get(`/v1/prices?${query}`, m.opts);
      expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(expectError(res, 400).param, query).toBe(param);
    }
    await expect(stripeClient(m.key).prices.list({ lookup_keys: Array.from({ length: 11 }, (_, i) => `k${i}`) })).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400, param: "lookup_keys" });
  });

  it("keys are a merchant's and a mode's own: another merchant (or the live mode) may hold the same key, sees none of the other's, and cannot take it", async () => {
    const a = await newMerchant("price-lookup-tenancy");
    const mine = await stripeClient(a.key).prices.create({ product_data: { name: "Mine" }, unit_amount: 100, currency: "usd", lookup_key: "shared" });
    const other = stripeClient(KEY_B);
    expect((await other.prices.list({ lookup_keys: ["shared"] })).data.map((p) => p.id)).not.toContain(mine.id);
    // Merchant B's transfer moves only B's key: A's price keeps its own.
    const theirs = await other.prices.create({ product_data: { name: "Theirs" }, unit_amount: 100, currency: "usd", lookup_key: "shared", transfer_lookup_key: true });
    expect(theirs.lookup_key).toBe("shared");
    expect((await stripeClient(a.key).prices.retrieve(mine.id)).lookup_key).toBe("shared");
    expect(await priceHolding("shared", a.key)).toEqual([mine.id]);
    expect(await priceHolding("shared", KEY_B)).toContain(theirs.id);
    expect(await priceHolding("shared", KEY_B)).not.toContain(mine.id);
    await expect(other.prices.update(mine.id, { lookup_key: "" })).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    expect((await stripeClient(a.key).prices.retrieve(mine.id)).lookup_key).toBe("shared");

    // The same merchant's live mode is another namespace.
    const live = `sk_live_${uniqueKey("lookup").replace(/[^A-Za-z0-9]/g, "")}`;
    await seedMerchant(a.id, "price-lookup-tenancy", `key_live_${live.slice(-12)}`, live, true);
    const livePrice = await post<PriceJson>("/v1/prices", { product_data: { name: "Live" }, unit_amount: 100, currency: "usd", lookup_key: "shared" }, { key: live });
    expect(livePrice.status, JSON.stringify(livePrice.body)).toBe(200);
    expect(await priceHolding("shared", live)).toEqual([livePrice.body.id]);
    expect(await priceHolding("shared", a.key)).toEqual([mine.id]);
  });

  it("concurrent creates of one key: exactly one holds it, the others are 400 and leave nothing (no inline product either)", async () => {
    const m = await newMerchant("price-lookup-race");
    const product = (await post<{ id: string }>("/v1/products", { name: "Race" }, m.opts)).body;
    for (let round = 0; round < 3; round++) {
      const key = `race_${round}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          post<PriceJson>("/v1/prices", i % 2 ? { unit_amount: 100 + i, currency: "usd", product: product.id, lookup_key: key } : { unit_amount: 100 + i, currency: "usd", product_data: { name: `Inline ${round}-${i}` }, lookup_key: key }, m.opts),
        ),
      );
      const won = results.filter((r) => r.status === 200);
      expect(won.length, JSON.stringify(results.map((r) => r.status))).toBe(1);
      for (const lost of results.filter((r) => r.status !== 200)) expect(expectError(lost, 400).param).toBe("lookup_key");
      expect(await priceHolding(key, m.key)).toEqual([won[0]?.body.id]);
    }
    // Every price there is holds its key: no refused create left a price, nor a product of its own.
    const prices = (await get<ListJson<PriceJson>>("/v1/prices?limit=100", m.opts)).body.data;
    expect(prices.map((p) => p.lookup_key).sort()).toEqual(["race_0", "race_1", "race_2"]);
    const inline = (await get<ListJson<{ id: string; name: string }>>("/v1/products?limit=100", m.opts)).body.data.filter((p) => p.name.startsWith("Inline"));
    expect(inline.map((p) => p.id).sort()).toEqual(prices.map((p) => p.product).filter((id) => id !== product.id).sort());
  });

  it("a create that loses the race after its check (another price took the key meanwhile) is the same 400, and its batch, inline product included, is not written", async () => {
    const m = await newMerchant("price-lookup-late");
    const product = (await post<{ id: string }>("/v1/products", { name: "Late" }, m.opts)).body;
    const rival = `price_${"r".repeat(14)}`;
    // A D1 binding that lets a rival price take the key just before the create's batch runs.
    const racing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            await target
              .prepare("INSERT INTO prices (id, merchant_id, livemode, currency, unit_amount, interval, interval_count, product_name, active, metadata, created, product, lookup_key) VALUES (?, ?, 0, 'usd', 1, 'one_time', 0, 'Late', 1, '{}', ?, ?, 'late')")
              .bind(rival, m.id, Date.now(), product.id)
              .run();
            return target.batch(statements);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://gateway.test/v1/prices", { method: "POST", headers: { authorization: `Bearer ${m.key}`, "content-type": "application/x-www-form-urlencoded" }, body: "unit_amount=100&currency=usd&product_data[name]=Late%20inline&lookup_key=late" }),
      { ...env, DB: racing },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const body = (await res.json()) as { error: { param: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ param: "lookup_key", message: `A price (\`${rival}\`) already uses that lookup key.` });
    expect(await priceHolding("late", m.key)).toEqual([rival]);
    expect((await get<ListJson<{ name: string }>>("/v1/products?limit=100", m.opts)).body.data.map((p) => p.name)).toEqual(["Late"]);
  });

  it("concurrent transfers of one key: every create succeeds, and exactly one price holds the key at the end", async () => {
    const m = await newMerchant("price-lookup-transfer-race");
    const product = (await post<{ id: string }>("/v1/products", { name: "Transfer race" }, m.opts)).body;
    await post("/v1/prices", { unit_amount: 50, currency: "usd", product: product.id, lookup_key: "hot" }, m.opts);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post<PriceJson>("/v1/prices", { unit_amount: 100 + i, currency: "usd", product: product.id, lookup_key: "hot", transfer_lookup_key: true }, m.opts)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const holders = await priceHolding("hot", m.key);
    expect(holders).toHaveLength(1);
    expect(results.map((r) => r.body.id)).toContain(holders[0]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM prices WHERE merchant_id = ? AND lookup_key = 'hot'").bind(m.id).first<{ n: number }>();
    expect(rows?.n).toBe(1);
    // And updates racing to take it, with and without transfer: one holder, always.
    const prices = (await get<ListJson<PriceJson>>("/v1/prices?limit=100", m.opts)).body.data.filter((p) => p.lookup_key === null);
    const updates = await Promise.all(prices.map((p, i) => post<PriceJson>(`/v1/prices/${p.id}`, i % 2 ? { lookup_key: "hot", transfer_lookup_key: true } : { lookup_key: "hot" }, m.opts)));
    for (const res of updates) if (res.status !== 200) expect(expectError(res, 400).param).toBe("lookup_key");
    expect(await priceHolding("hot", m.key)).toHaveLength(1);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM prices WHERE merchant_id = ? AND lookup_key = 'hot'").bind(m.id).first<{ n: number }>();
    expect(after?.n).toBe(1);
  });
});
