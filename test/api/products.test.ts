// DELETE /v1/products/{id} (Stripe's products.del): only a product without prices is deleted, as at
// Stripe; one with prices is a 400 (archive it instead). A price created at the same moment and the
// deletion never both succeed.
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { insertPriceOfProduct } from "../../src/api/v1/prices";
import { ONE_TIME, type PriceRow } from "../../src/billing/store";
import { bearer, call, expectError, get, hsToken, KEY_B, newMerchant, post, stripeClient, type ListJson } from "../helpers";

describe("DELETE /v1/products/:id", () => {
  it("deletes a product without prices: Stripe's deleted object, then a 404 everywhere", async () => {
    const { key } = await newMerchant("product-delete");
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Old plan", metadata: { tier: "bronze" } });
    const kept = await stripe.products.create({ name: "Kept plan" });
    const deleted = await stripe.products.del(product.id);
    expect({ id: deleted.id, object: deleted.object, deleted: deleted.deleted }).toEqual({ id: product.id, object: "product", deleted: true });
    await expect(stripe.products.retrieve(product.id)).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404, code: "resource_missing" });
    await expect(stripe.products.update(product.id, { name: "Back" })).rejects.toMatchObject({ statusCode: 404 });
    await expect(stripe.products.del(product.id)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    // The product named in a parameter: a 400 resource_missing, as at Stripe (only the path's object is a 404).
    await expect(stripe.prices.create({ unit_amount: 500, currency: "usd", product: product.id })).rejects.toMatchObject({ statusCode: 400, code: "resource_missing", param: "product" });
    expect((await stripe.products.list({ limit: 100 })).data.map((p) => p.id)).toEqual([kept.id]);
  });

  it("refuses a product with prices (active or archived, by product= or product_data) with a 400, and deletes nothing", async () => {
    const { key } = await newMerchant("product-delete-prices");
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Gold" });
    const price = await stripe.prices.create({ unit_amount: 900, currency: "usd", recurring: { interval: "month" }, product: product.id });
    const error = await stripe.products.del(product.id).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, message: expect.stringContaining("cannot be deleted because it has one or more user-created prices") });
    // Archived, price and product alike: still refused (a price is never deleted, as at Stripe).
    await stripe.prices.update(price.id, { active: false });
    await stripe.products.update(product.id, { active: false });
    await expect(stripe.products.del(product.id)).rejects.toMatchObject({ statusCode: 400 });
    expect((await stripe.products.retrieve(product.id)).name).toBe("Gold");
    expect((await stripe.prices.retrieve(price.id, { expand: ["product"] })).product).toMatchObject({ id: product.id, object: "product" });
    const inline = await stripe.prices.create({ unit_amount: 500, currency: "usd", product_data: { name: "Inline" } });
    await expect(stripe.products.del(String(inline.product))).rejects.toMatchObject({ statusCode: 400 });
    expect((await stripe.products.retrieve(String(inline.product))).name).toBe("Inline");
  });

  it("a price created while the product is deleted: exactly one of them succeeds, and no price is left without its product", async () => {
    const { key, opts } = await newMerchant("product-delete-race");
    for (let i = 0; i < 8; i++) {
      const product = (await post<{ id: string }>("/v1/products", { name: `Race ${i}` }, opts)).body;
      // The deletion goes first on odd rounds: either may win.
      const deleting = () => call("DELETE", `/v1/products/${product.id}`, { key });
      const pricing = () => post<{ id: string }>("/v1/prices", { unit_amount: 700, currency: "usd", product: product.id }, opts);
      const [price, deletion] = i % 2 ? await Promise.all([pricing(), deleting()]) : await Promise.all([deleting(), pricing()]).then(([d, p]) => [p, d] as const);
      const listed = await get<ListJson<{ id: string }>>(`/v1/prices?product=${product.id}`, opts);
      const still = await get(`/v1/products/${product.id}`, opts);
      if (deletion.status === 200) {
        expectError(price, 400, "resource_missing");
        // A deleted product is gone: a list by it names nothing (a 400 resource_missing, as at Stripe).
        expect(expectError(listed, 400, "resource_missing").param).toBe("product");
        expect(still.status).toBe(404);
      } else {
        expect(price.status, JSON.stringify(price.body)).toBe(200);
        expectError(deletion, 400);
        expect(listed.body.data.map((p) => p.id)).toEqual([price.body.id]);
        expect(still.status).toBe(200);
      }
    }
  });

  it("a price's insert checks its product in the same statement: a product deleted after the price's lookup gets no price", async () => {
    const m = await newMerchant("product-delete-guard");
    const product = (await post<{ id: string }>("/v1/products", { name: "Vanishing" }, m.opts)).body;
    const row = (id: string): PriceRow => ({ id, merchantId: m.id, livemode: false, currency: "usd", unitAmount: 700, interval: ONE_TIME, intervalCount: 0, productName: "Vanishing", nickname: null, active: true, metadata: "{}", created: Date.now(), product: product.id, lookupKey: null });
    expect(await insertPriceOfProduct(env.DB, row(`price_${"a".repeat(14)}`), product.id)).toBe(true);
    // Another merchant's product of the same id is not this merchant's.
    expect(await insertPriceOfProduct(env.DB, { ...row(`price_${"c".repeat(14)}`), merchantId: "acct_someone_else" }, product.id)).toBe(false);
    await env.DB.prepare("DELETE FROM products WHERE id = ?").bind(product.id).run();
    expect(await insertPriceOfProduct(env.DB, row(`price_${"b".repeat(14)}`), product.id)).toBe(false);
    const ids = (await env.DB.prepare("SELECT id FROM prices WHERE product = ? ORDER BY id").bind(product.id).all<{ id: string }>()).results.map((r) => r.id);
    expect(ids).toEqual([`price_${"a".repeat(14)}`]);
  });

  it("needs billing.manage; another merchant's product, an unknown or a foreign id is a 404, and nothing is deleted", async () => {
    const m = await newMerchant("product-delete-perms");
    const product = (await post<{ id: string }>("/v1/products", { name: "Guarded" }, m.opts)).body;
    for (const permissions of [["billing.view"], ["payments.transactions.void", "payments.methods.manage"]]) {
      const restricted = (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, m.opts)).body.secret ?? "";
      await expect(stripeClient(restricted).products.del(product.id)).rejects.toMatchObject({ type: "StripePermissionError", statusCode: 403 });
    }
    const support = bearer(await hsToken({ roles: ["support"], merchant: null }));
    expectError(await call("DELETE", `/v1/products/${product.id}`, { ...support, headers: { "Merchant-Id": m.id } }), 403);
    const shopper = bearer(await hsToken({ roles: ["customer"], merchant: m.id, customer: "cus_nobody12345" }));
    expectError(await call("DELETE", `/v1/products/${product.id}`, shopper), 403);
    await expect(stripeClient(KEY_B).products.del(product.id)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    expectError(await call("DELETE", `/v1/products/prod_${"q".repeat(14)}`, m.opts), 404, "resource_missing");
    expectError(await call("DELETE", `/v1/products/price_${"q".repeat(14)}`, m.opts), 404, "resource_missing");
    expect((await get<{ name: string }>(`/v1/products/${product.id}`, m.opts)).body.name).toBe("Guarded");
    const manager = (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["billing.manage"] }, m.opts)).body.secret ?? "";
    expect((await stripeClient(manager).products.del(product.id)).deleted).toBe(true);
  });
});
