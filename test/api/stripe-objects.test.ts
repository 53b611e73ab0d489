// Objects /v1 renders with Stripe's fields (stripe-node 23's types, node_modules/stripe/esm/resources):
// a Checkout line item's Price is the whole Price (its price_data makes one, and a Product of
// product_data, as at Stripe), a Plan's transform_usage, a test clock's deletes_after and
// status_details, GET /v1/account as an Account, and deleted objects as Stripe answers them.
import { describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, ok, post, stripeClient, type ListJson } from "../helpers";

/** The fields Stripe's Price always has (stripe-node's Price, without `?`). */
const PRICE_FIELDS = [
  "id", "object", "active", "billing_scheme", "created", "currency", "custom_unit_amount", "livemode", "lookup_key", "metadata", "nickname", "product",
  "recurring", "tax_behavior", "tiers_mode", "transform_quantity", "type", "unit_amount", "unit_amount_decimal",
];
/** Stripe's Plan's (stripe-node's Plan, without `?`). */
const PLAN_FIELDS = [
  "id", "object", "active", "amount", "amount_decimal", "billing_scheme", "created", "currency", "interval", "interval_count", "livemode", "metadata", "meter",
  "nickname", "product", "tiers_mode", "transform_usage", "trial_period_days", "usage_type",
];
/** Stripe's TestClock's. */
const TEST_CLOCK_FIELDS = ["id", "object", "created", "deletes_after", "frozen_time", "livemode", "name", "status", "status_details"];
/** Stripe's Account's, and its Settings' that are always there. */
const ACCOUNT_FIELDS = ["id", "object", "charges_enabled", "details_submitted", "email", "payouts_enabled", "type"];
const ACCOUNT_SETTINGS = {
  branding: ["icon", "logo", "primary_color", "secondary_color"],
  card_payments: ["statement_descriptor_prefix", "statement_descriptor_prefix_kana", "statement_descriptor_prefix_kanji"],
  dashboard: ["display_name", "timezone"],
  payments: ["statement_descriptor", "statement_descriptor_kana", "statement_descriptor_kanji", "statement_descriptor_prefix_kana", "statement_descriptor_prefix_kanji"],
};

const missing = (object: Record<string, unknown> | undefined, fields: readonly string[]) => fields.filter((f) => !(object && f in object));

interface LineItemJson {
  price: Record<string, unknown> & { id: string; product: string | null };
}

describe("a Checkout line item's price", () => {
  it("is the whole Price: for price_data with product_data, a Price and a Product made with the session (archived, each with its event), retrievable", async () => {
    const m = await newMerchant("line-item-price-data");
    const session = await ok(
      post<{ id: string }>(
        "/v1/checkout/sessions",
        { mode: "payment", success_url: "https://example.com/ok", line_items: [{ price_data: { currency: "usd", unit_amount: 1200, product_data: { name: "Poster", description: "A2", metadata: { sku: "P-2" } } }, quantity: 2 }] },
        m.opts,
      ),
    );
    const items = await ok(get<ListJson<LineItemJson>>(`/v1/checkout/sessions/${session.id}/line_items`, m.opts));
    const price = items.data[0]?.price;
    expect(missing(price, PRICE_FIELDS)).toEqual([]);
    expect(price).toMatchObject({ object: "price", active: false, billing_scheme: "per_unit", currency: "usd", unit_amount: 1200, unit_amount_decimal: "1200", type: "one_time", recurring: null, livemode: false, metadata: {} });
    expect(price?.product).toMatch(/^prod_/);
    // The Price and the Product are real objects of the merchant's.
    expect(await ok(get<Record<string, unknown>>(`/v1/prices/${price?.id ?? ""}`, m.opts))).toMatchObject({ id: price?.id, product: price?.product, active: false });
    expect(await ok(get<Record<string, unknown>>(`/v1/products/${price?.product ?? ""}`, m.opts))).toMatchObject({ object: "product", name: "Poster", description: "A2", metadata: { sku: "P-2" }, active: false });
    const created = await ok(get<ListJson<{ type: string; data: { object: { id: string } } }>>("/v1/events?types[]=product.created&types[]=price.created", m.opts));
    expect(created.data.map((e) => `${e.type} ${e.data.object.id}`).sort()).toEqual([`price.created ${price?.id ?? ""}`, `product.created ${price?.product ?? ""}`]);
    // The session with its line items says the same.
    const expanded = await ok(get<{ line_items: ListJson<LineItemJson> }>(`/v1/checkout/sessions/${session.id}?expand[]=line_items`, m.opts));
    expect(expanded.line_items.data[0]?.price).toEqual(price);
  });

  it("is the whole Price for a price id, and for price_data with product (a Price of that product made with the session)", async () => {
    const m = await newMerchant("line-item-price");
    const product = await ok(post<{ id: string }>("/v1/products", { name: "Beans" }, m.opts));
    const named = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 900, currency: "usd", product: product.id, lookup_key: "beans", nickname: "Beans 1kg" }, m.opts));
    const session = await ok(
      post<{ id: string }>(
        "/v1/checkout/sessions",
        { mode: "payment", success_url: "https://example.com/ok", line_items: [{ price: named.id, quantity: 1 }, { price_data: { currency: "usd", unit_amount: 300, product: product.id }, quantity: 1 }] },
        m.opts,
      ),
    );
    const [first, second] = (await ok(get<ListJson<LineItemJson>>(`/v1/checkout/sessions/${session.id}/line_items`, m.opts))).data;
    expect(missing(first?.price, PRICE_FIELDS)).toEqual([]);
    expect(first?.price).toMatchObject({ id: named.id, active: true, lookup_key: "beans", nickname: "Beans 1kg", product: product.id });
    expect(missing(second?.price, PRICE_FIELDS)).toEqual([]);
    expect(second?.price).toMatchObject({ active: false, unit_amount: 300, product: product.id });
    expect(await ok(get<Record<string, unknown>>(`/v1/prices/${second?.price.id ?? ""}`, m.opts))).toMatchObject({ product: product.id, unit_amount: 300 });
  });

  it("stripe-node's checkout.sessions.listLineItems gets Prices with their product", async () => {
    const m = await newMerchant("line-item-sdk");
    const stripe = stripeClient(m.key);
    const session = await stripe.checkout.sessions.create({ mode: "payment", success_url: "https://example.com/ok", line_items: [{ price_data: { currency: "eur", unit_amount: 450, product_data: { name: "Tea" } }, quantity: 3 }] });
    const items = await stripe.checkout.sessions.listLineItems(session.id, { expand: ["data.price.product"] });
    const product = items.data[0]?.price?.product;
    expect(typeof product === "object" && product !== null && "name" in product ? product.name : null).toBe("Tea");
  });
});

describe("Stripe's field names and required fields", () => {
  it("a subscription item's plan has transform_usage (not a Price's transform_quantity)", async () => {
    const m = await newMerchant("plan-transform-usage");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "plan@example.com" }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1000, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, m.opts));
    const sub = await ok(post<{ items: { data: { plan: Record<string, unknown>; price: Record<string, unknown> }[] } }>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts));
    const item = sub.items.data[0];
    expect(missing(item?.plan, PLAN_FIELDS)).toEqual([]);
    expect(item?.plan.transform_usage).toBeNull();
    expect(item?.plan).not.toHaveProperty("transform_quantity");
    expect(item?.price.transform_quantity).toBeNull();
  });

  it("a test clock has deletes_after (created + 30 days) and status_details ({} when ready)", async () => {
    const m = await newMerchant("clock-fields");
    const clock = await ok(post<Record<string, unknown> & { id: string; created: number }>("/v1/test_helpers/test_clocks", { frozen_time: 1_800_000_000 }, m.opts));
    expect(missing(clock, TEST_CLOCK_FIELDS)).toEqual([]);
    expect(clock.deletes_after).toBe(clock.created + 30 * 86_400);
    expect(clock.status_details).toEqual({});
    const advanced = await ok(post<Record<string, unknown>>(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: 1_800_086_400 }, m.opts));
    expect(advanced).toMatchObject({ status: "ready", status_details: {}, deletes_after: clock.deletes_after });
    const listed = await ok(get<ListJson<Record<string, unknown>>>("/v1/test_helpers/test_clocks", m.opts));
    expect(missing(listed.data[0], TEST_CLOCK_FIELDS)).toEqual([]);
  });

  it("GET /v1/account is Stripe's Account (object account, its required fields and settings), our settings kept beside", async () => {
    const m = await newMerchant("account-shape");
    const account = await ok(get<Record<string, unknown> & { settings: Record<string, Record<string, unknown>> }>("/v1/account", m.opts));
    expect(account.object).toBe("account");
    expect(account.id).toBe(m.id);
    expect(missing(account, ACCOUNT_FIELDS)).toEqual([]);
    expect(account).toMatchObject({ charges_enabled: true, details_submitted: true, payouts_enabled: false, type: "standard", email: null });
    for (const [name, fields] of Object.entries(ACCOUNT_SETTINGS)) expect(missing(account.settings[name], fields), name).toEqual([]);
    expect(account.settings.dashboard?.display_name).toBe("account-shape");
    expect(account.settings).toHaveProperty("refund_approval_thresholds");
    const stripe = stripeClient(m.key);
    const retrieved = await stripe.accounts.retrieveCurrent();
    expect((await stripe.accounts.retrieve(null)).id).toBe(m.id);
    expect(retrieved).toMatchObject({ object: "account", id: m.id, charges_enabled: true, settings: { dashboard: { display_name: "account-shape" } } });
    // The update answers the Account too.
    const renamed = await ok(post<Record<string, unknown>>("/v1/account", { name: "Renamed shop" }, m.opts));
    expect(renamed).toMatchObject({ object: "account", name: "Renamed shop", settings: { dashboard: { display_name: "Renamed shop" } } });
  });
});

describe("deleted objects", () => {
  it("a deleted customer is {id, object, deleted: true} only; a deleted product is a 404", async () => {
    const m = await newMerchant("deleted-objects");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "bye@example.com", name: "Bye" }, m.opts));
    expect(await ok(call("DELETE", `/v1/customers/${customer.id}`, m.opts))).toEqual({ id: customer.id, object: "customer", deleted: true });
    expect(await ok(get(`/v1/customers/${customer.id}`, m.opts))).toEqual({ id: customer.id, object: "customer", deleted: true });
    expect(await ok(get(`/v1/customers/${customer.id}?expand[]=test_clock`, m.opts))).toEqual({ id: customer.id, object: "customer", deleted: true });
    const product = await ok(post<{ id: string }>("/v1/products", { name: "Temp" }, m.opts));
    expect(await ok(call("DELETE", `/v1/products/${product.id}`, m.opts))).toEqual({ id: product.id, object: "product", deleted: true });
    expect(expectError(await get(`/v1/products/${product.id}`, m.opts), 404, "resource_missing").param).toBe("id");
  });
});
