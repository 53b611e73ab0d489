// Products and prices tell what happens to them, as at Stripe: product.created, .updated, .deleted and
// price.created, .updated, each written in the D1 batch of its change (an update's with Stripe's
// previous_attributes), listed by GET /v1/events and delivered to the endpoints subscribed to them.
import { describe, expect, it } from "vitest";
import { call, createEndpoint, expectError, get, newMerchant, ok, post, receivedBy, receiverHook, stripeClient, waitFor, type CallOptions, type ListJson } from "../helpers";

interface EventJson {
  id: string;
  type: string;
  request: { id: string | null };
  data: { object: Record<string, unknown> & { id: string }; previous_attributes?: Record<string, unknown> };
}

/** The merchant's events of `type`s (oldest first) about the object `id`. */
async function eventsOf(opts: CallOptions, id: string, type = "*"): Promise<EventJson[]> {
  const query = type === "*" ? "" : `&type=${encodeURIComponent(type)}`;
  const listed = await ok(get<ListJson<EventJson>>(`/v1/events?limit=100${query}`, opts));
  return listed.data.filter((e) => e.data.object.id === id).reverse();
}

describe("product events", () => {
  it("product.created, product.updated (with previous_attributes) and product.deleted carry the product as rendered", async () => {
    const { key, opts } = await newMerchant("product-events");
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Gold plan", metadata: { tier: "gold" } });
    const renamed = await stripe.products.update(product.id, { name: "Gold plan (2026)", metadata: { tier: "", region: "eu" } });
    const deleted = await stripe.products.del(product.id);
    expect(deleted.deleted).toBe(true);

    const events = await eventsOf(opts, product.id);
    expect(events.map((e) => e.type)).toEqual(["product.created", "product.updated", "product.deleted"]);
    const [created, updated, gone] = events;
    expect(created?.data.object).toEqual(JSON.parse(JSON.stringify(product)));
    expect(created?.data.previous_attributes).toBeUndefined();
    expect(updated?.data.object).toEqual(JSON.parse(JSON.stringify(renamed)));
    // Stripe's previous_attributes: the old values of what changed; a metadata key added was null.
    expect(updated?.data.previous_attributes).toMatchObject({ name: "Gold plan", metadata: { tier: "gold", region: null } });
    expect(Object.keys(updated?.data.previous_attributes ?? {}).sort()).toEqual(renamed.updated === product.updated ? ["metadata", "name"] : ["metadata", "name", "updated"]);
    expect(gone?.data.object).toMatchObject({ id: product.id, object: "product", name: "Gold plan (2026)", deleted: true });
    // Each event names the request that made it.
    for (const e of events) expect(e.request.id).toMatch(/^req_/);
  });

  it("an update that changes nothing, a refused update and a refused deletion write no event", async () => {
    const { key, opts } = await newMerchant("product-events-none");
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Silver", metadata: { a: "1" } });
    await stripe.products.update(product.id, {});
    await stripe.products.update(product.id, { name: "Silver", metadata: { a: "1" } });
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    expectError(await post(`/v1/products/${product.id}`, { metadata: tooMany }, opts), 400);
    expectError(await post(`/v1/products/${product.id}`, { name: 42 }, opts), 400);
    await stripe.prices.create({ unit_amount: 500, currency: "usd", product: product.id });
    expectError(await call("DELETE", `/v1/products/${product.id}`, opts), 400);
    expect((await eventsOf(opts, product.id)).map((e) => e.type)).toEqual(["product.created"]);
  });
});

describe("price events", () => {
  it("price.created (and product.created for product_data), price.updated with previous_attributes", async () => {
    const { key, opts } = await newMerchant("price-events");
    const stripe = stripeClient(key);
    const price = await stripe.prices.create({ unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Inline plan" } });
    const archived = await stripe.prices.update(price.id, { active: false, nickname: "Legacy", metadata: { cohort: "2025" } });

    const events = await eventsOf(opts, price.id);
    expect(events.map((e) => e.type)).toEqual(["price.created", "price.updated"]);
    expect(events[0]?.data.object).toEqual(JSON.parse(JSON.stringify(price)));
    expect(events[1]?.data.object).toEqual(JSON.parse(JSON.stringify(archived)));
    expect(events[1]?.data.previous_attributes).toEqual({ active: true, nickname: null, metadata: { cohort: null } });
    // The inline product is a product like any other: created, and told.
    const made = await eventsOf(opts, String(price.product), "product.created");
    expect(made.map((e) => e.data.object)).toEqual([expect.objectContaining({ id: price.product, object: "product", name: "Inline plan" })]);
    // Nothing changed: nothing told.
    await stripe.prices.update(price.id, { active: false, nickname: "Legacy" });
    expect(await eventsOf(opts, price.id)).toHaveLength(2);
  });

  it("a lookup key transferred is a price.updated of the price it is taken from, in the same transaction", async () => {
    const { key, opts } = await newMerchant("price-events-transfer");
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Plans" });
    const old = await stripe.prices.create({ unit_amount: 1000, currency: "usd", product: product.id, lookup_key: "standard" });
    const created = await stripe.prices.create({ unit_amount: 1200, currency: "usd", product: product.id, lookup_key: "standard", transfer_lookup_key: true });
    const other = await stripe.prices.create({ unit_amount: 1400, currency: "usd", product: product.id });
    const updated = await stripe.prices.update(other.id, { lookup_key: "standard", transfer_lookup_key: true });
    expect(updated.lookup_key).toBe("standard");

    const taken = await eventsOf(opts, old.id, "price.updated");
    expect(taken.map((e) => [e.data.object.lookup_key, e.data.previous_attributes])).toEqual([[null, { lookup_key: "standard" }]]);
    const takenAgain = await eventsOf(opts, created.id, "price.updated");
    expect(takenAgain.map((e) => [e.data.object.lookup_key, e.data.previous_attributes])).toEqual([[null, { lookup_key: "standard" }]]);
    expect((await eventsOf(opts, other.id, "price.updated")).map((e) => e.data.previous_attributes)).toEqual([{ lookup_key: null }]);
    // Refused (the key is taken, no transfer): no event anywhere.
    const refused = await post(`/v1/prices/${old.id}`, { lookup_key: "standard", nickname: "x" }, opts);
    expectError(refused, 400);
    expect(await eventsOf(opts, old.id, "price.updated")).toHaveLength(1);
    expect(await eventsOf(opts, other.id, "price.updated")).toHaveLength(1);
  });
});

describe("catalog events at a webhook endpoint", () => {
  it("an endpoint may subscribe to Stripe's product and price events (price.deleted too), and gets them signed", async () => {
    const { key, opts } = await newMerchant("catalog-webhooks");
    const hook = receiverHook("catalog");
    const types = ["product.created", "product.updated", "product.deleted", "price.created", "price.updated", "price.deleted"];
    const endpoint = await createEndpoint(hook.url, types, opts);
    expect(endpoint.enabled_events).toEqual(types);
    const stripe = stripeClient(key);
    const product = await stripe.products.create({ name: "Webhook plan" });
    await stripe.products.update(product.id, { description: "Told" });
    const price = await stripe.prices.create({ unit_amount: 700, currency: "eur", product: product.id });
    await stripe.prices.update(price.id, { metadata: { x: "1" } });
    const doomed = await stripe.products.create({ name: "Doomed" });
    await stripe.products.del(doomed.id);

    const expected = [
      ["product.created", product.id],
      ["product.updated", product.id],
      ["price.created", price.id],
      ["price.updated", price.id],
      ["product.created", doomed.id],
      ["product.deleted", doomed.id],
    ];
    const got = await waitFor(async () => {
      const received = (await receivedBy(hook.name)).map((r) => ({ event: JSON.parse(r.body) as EventJson, signed: typeof r.headers["stripe-signature"] === "string" }));
      return received.length >= expected.length ? received : undefined;
    }, 20_000, "the catalog events at the endpoint");
    expect(got.map((r) => [r.event.type, r.event.data.object.id]).sort()).toEqual(expected.sort());
    expect(got.every((r) => r.signed)).toBe(true);
    expect(got.find((r) => r.event.type === "product.updated")?.event.data.previous_attributes).toMatchObject({ description: null });
  });

  it("an unknown event type is still a 400 in enabled_events", async () => {
    const { opts } = await newMerchant("catalog-webhooks-bad");
    expectError(await post("/v1/webhook_endpoints", { url: receiverHook("catalog-bad").url, enabled_events: ["product.exploded"] }, opts), 400);
  });
});
