// Stripe's expand[] everywhere Stripe declares it (src/api/v1/expand.ts): every GET the gateway serves
// accepts it, expands what Stripe can expand (with `data.` on lists and search results), answers a 400
// for what cannot be expanded, and the stripe-node calls of Stripe's docs work unchanged.
import { describe, expect, it } from "vitest";
import type Stripe from "stripe";
import { call, expectError, get, newMerchant, ok, post, stripeClient, succeededIntent, type CallOptions, type ListJson } from "../helpers";

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

interface World {
  opts: CallOptions;
  stripe: Stripe;
  clock: string;
  customer: string;
  card: string;
  product: string;
  price: string;
  subscription: string;
  item: string;
  invoice: string;
  session: string;
  event: string;
  intent: string;
  refund: string;
  charge: string;
}

/** A merchant with a customer on a test clock (its card the default), a product and its monthly price, a subscription, a paid intent with a refund, and a Checkout Session. */
async function world(label: string): Promise<World> {
  const m = await newMerchant(label);
  const opts = m.opts;
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z") }, opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, opts));
  const card = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts));
  const product = await ok(post<{ id: string }>("/v1/products", { name: "Gold" }, opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product: product.id }, opts));
  const sub = await ok(post<{ id: string; latest_invoice: string; items: { data: { id: string }[] } }>("/v1/subscriptions", { customer: customer.id, items: [{ price: price.id }], default_payment_method: card.id }, opts));
  const intent = await succeededIntent(2000, opts);
  const refund = await ok(post<{ id: string }>("/v1/refunds", { payment_intent: intent.id, amount: 500 }, opts));
  const session = await ok(
    post<{ id: string }>("/v1/checkout/sessions", { mode: "payment", customer: customer.id, line_items: [{ price_data: { currency: "usd", unit_amount: 900, product_data: { name: "Mug" } }, quantity: 1 }], success_url: "https://example.com/ok" }, opts),
  );
  const events = await ok(get<ListJson<{ id: string }>>("/v1/events?limit=1", opts));
  return {
    opts,
    stripe: stripeClient(m.key),
    clock: clock.id,
    customer: customer.id,
    card: card.id,
    product: product.id,
    price: price.id,
    subscription: sub.id,
    item: sub.items.data[0]?.id ?? "",
    invoice: sub.latest_invoice,
    session: session.id,
    event: events.data[0]?.id ?? "",
    intent: intent.id,
    refund: refund.id,
    charge: String(intent.latest_charge),
  };
}

describe("expand[] is accepted wherever Stripe declares it", () => {
  it("every GET answers expand[] of a field it cannot expand with 400 'cannot be expanded', never parameter_unknown", async () => {
    const w = await world("expand-everywhere");
    const gets = [
      "/v1/payment_intents", `/v1/payment_intents/${w.intent}`, "/v1/payment_intents/search?query=status:'succeeded'",
      "/v1/charges", `/v1/charges/${w.charge}`, "/v1/charges/search?query=amount:2000",
      "/v1/refunds", `/v1/refunds/${w.refund}`,
      "/v1/customers", `/v1/customers/${w.customer}`, "/v1/customers/search?query=email:'x@example.com'",
      `/v1/customers/${w.customer}/payment_methods`, `/v1/customers/${w.customer}/payment_methods/${w.card}`,
      `/v1/payment_methods?customer=${w.customer}`, `/v1/payment_methods/${w.card}`,
      "/v1/products", `/v1/products/${w.product}`, "/v1/products/search?query=name:'Gold'",
      "/v1/prices", `/v1/prices/${w.price}`, "/v1/prices/search?query=active:'true'",
      "/v1/subscriptions", `/v1/subscriptions/${w.subscription}`, "/v1/subscriptions/search?query=status:'active'",
      `/v1/subscription_items?subscription=${w.subscription}`, `/v1/subscription_items/${w.item}`,
      "/v1/invoices", `/v1/invoices/${w.invoice}`, `/v1/invoices/${w.invoice}/lines`, "/v1/invoices/search?query=total:1500",
      "/v1/checkout/sessions", `/v1/checkout/sessions/${w.session}`, `/v1/checkout/sessions/${w.session}/line_items`,
      "/v1/events", `/v1/events/${w.event}`, "/v1/webhook_endpoints", `/v1/test_helpers/test_clocks/${w.clock}`, "/v1/test_helpers/test_clocks", "/v1/account",
    ];
    const wrong: string[] = [];
    for (const path of gets) {
      const res = await get<{ error?: { code?: string; message: string; param?: string } }>(`${path}${path.includes("?") ? "&" : "?"}expand[]=zzz_not_a_field`, w.opts);
      const error = res.body.error;
      if (res.status !== 400 || error?.param !== "expand" || !error.message.startsWith("This property cannot be expanded")) wrong.push(`${path}: ${res.status} ${JSON.stringify(error)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("stripe-node's expansions of products, subscriptions and subscription items work unchanged", async () => {
    const w = await world("expand-sdk");
    const product = await w.stripe.products.retrieve(w.product, { expand: ["default_price"] });
    expect(product).toMatchObject({ id: w.product, object: "product", default_price: null });
    const products = await w.stripe.products.list({ expand: ["data.default_price"] });
    expect(products.data.map((p) => p.id)).toContain(w.product);
    const subs = await w.stripe.subscriptions.list({ expand: ["data.latest_invoice", "data.customer", "data.items.data.price.product"] });
    const [sub] = subs.data;
    expect(sub?.latest_invoice).toMatchObject({ object: "invoice", id: w.invoice });
    expect(sub?.customer).toMatchObject({ object: "customer", id: w.customer });
    expect(sub?.items.data[0]?.price.product).toMatchObject({ object: "product", id: w.product, name: "Gold" });
    const items = await w.stripe.subscriptionItems.list({ subscription: w.subscription, expand: ["data.price.product"] });
    expect(items.data[0]?.price.product).toMatchObject({ object: "product", id: w.product });
    const item = await w.stripe.subscriptionItems.retrieve(w.item, { expand: ["price.product", "plan.product"] });
    expect(item.price.product).toMatchObject({ object: "product", id: w.product });
    expect(item.plan.product).toMatchObject({ object: "product", id: w.product });
    const found = await w.stripe.subscriptions.search({ query: "status:'active'", expand: ["data.customer"] });
    expect(found.data[0]?.customer).toMatchObject({ object: "customer" });
    const clocks = await w.stripe.testHelpers.testClocks.list();
    expect(clocks.data.map((c) => c.id)).toContain(w.clock);
  });
});

describe("what Stripe can expand is expanded", () => {
  it("a subscription's customer, default_payment_method and test_clock; null fields (schedule, pending_setup_intent) stay null", async () => {
    const w = await world("expand-subscription");
    const sub = await ok(
      get<Record<string, unknown>>(`/v1/subscriptions/${w.subscription}?expand[]=customer&expand[]=default_payment_method&expand[]=test_clock&expand[]=schedule&expand[]=pending_setup_intent&expand[]=latest_invoice.customer`, w.opts),
    );
    expect(sub.customer).toMatchObject({ object: "customer", id: w.customer });
    expect(sub.default_payment_method).toMatchObject({ object: "payment_method", id: w.card });
    expect(sub.test_clock).toMatchObject({ object: "test_helpers.test_clock", id: w.clock });
    expect(sub.schedule).toBeNull();
    expect(sub.pending_setup_intent).toBeNull();
    expect(sub.latest_invoice).toMatchObject({ object: "invoice", id: w.invoice, customer: { object: "customer", id: w.customer } });
  });

  it("an invoice's customer and test_clock; default_payment_method and latest_revision stay null; lines expand their subscription", async () => {
    const w = await world("expand-invoice");
    const invoice = await ok(get<Record<string, unknown>>(`/v1/invoices/${w.invoice}?expand[]=customer&expand[]=test_clock&expand[]=default_payment_method&expand[]=latest_revision`, w.opts));
    expect(invoice.customer).toMatchObject({ object: "customer", id: w.customer });
    expect(invoice.test_clock).toMatchObject({ object: "test_helpers.test_clock", id: w.clock });
    expect(invoice.default_payment_method).toBeNull();
    expect(invoice.latest_revision).toBeNull();
    const listed = await ok(get<ListJson<Record<string, unknown>>>(`/v1/invoices?subscription=${w.subscription}&expand[]=data.customer`, w.opts));
    expect(listed.data[0]?.customer).toMatchObject({ object: "customer", id: w.customer });
    const lines = await ok(get<ListJson<{ subscription: unknown; pricing: { price_details: { price: unknown } } }>>(`/v1/invoices/${w.invoice}/lines?expand[]=data.subscription&expand[]=data.pricing.price_details.price`, w.opts));
    expect(lines.data[0]?.subscription).toMatchObject({ object: "subscription", id: w.subscription });
    expect(lines.data[0]?.pricing.price_details.price).toMatchObject({ object: "price", id: w.price });
  });

  it("a customer's test_clock; a charge's customer; a session's customer and its null invoice, subscription, setup_intent and payment_link", async () => {
    const w = await world("expand-customer");
    const customer = await ok(get<Record<string, unknown>>(`/v1/customers/${w.customer}?expand[]=test_clock`, w.opts));
    expect(customer.test_clock).toMatchObject({ object: "test_helpers.test_clock", id: w.clock });
    const listed = await ok(get<ListJson<Record<string, unknown>>>(`/v1/customers?test_clock=${w.clock}&expand[]=data.test_clock`, w.opts));
    expect(listed.data[0]?.test_clock).toMatchObject({ object: "test_helpers.test_clock" });
    const created = await ok(post<Record<string, unknown>>("/v1/customers", { email: "new@example.com", test_clock: w.clock, expand: ["test_clock"] }, w.opts));
    expect(created.test_clock).toMatchObject({ object: "test_helpers.test_clock", id: w.clock });

    const paid = await ok(post<{ id: string; latest_charge: string }>("/v1/payment_intents", { amount: 700, currency: "usd", customer: w.customer, payment_method: w.card, confirm: true, off_session: true }, w.opts));
    const charge = await ok(get<Record<string, unknown>>(`/v1/charges/${paid.latest_charge}?expand[]=customer`, w.opts));
    expect(charge.customer).toMatchObject({ object: "customer", id: w.customer });
    const intent = await ok(get<{ latest_charge: { customer: unknown }; customer: { test_clock: unknown } }>(`/v1/payment_intents/${paid.id}?expand[]=latest_charge.customer&expand[]=customer.test_clock`, w.opts));
    expect(intent.latest_charge.customer).toMatchObject({ object: "customer", id: w.customer });
    expect(intent.customer.test_clock).toMatchObject({ object: "test_helpers.test_clock", id: w.clock });

    const session = await ok(
      get<Record<string, unknown>>(`/v1/checkout/sessions/${w.session}?expand[]=customer&expand[]=invoice&expand[]=subscription&expand[]=setup_intent&expand[]=payment_link&expand[]=line_items.data.price.product`, w.opts),
    );
    expect(session.customer).toMatchObject({ object: "customer", id: w.customer });
    expect([session.invoice, session.subscription, session.setup_intent, session.payment_link]).toEqual([null, null, null, null]);
    expect((session.line_items as ListJson<{ price: { product: unknown } }>).data[0]?.price.product).toMatchObject({ object: "product", name: "Mug" });
    const lineItems = await ok(get<ListJson<{ price: { product: unknown } }>>(`/v1/checkout/sessions/${w.session}/line_items?expand[]=data.price.product`, w.opts));
    expect(lineItems.data[0]?.price.product).toMatchObject({ object: "product", name: "Mug" });
  });

  it("a customer's subscriptions (Stripe's includable list), with their own expansions, on retrieve, list and through stripe-node; canceled ones left out", async () => {
    const w = await world("expand-customer-subs");
    const second = await ok(post<{ id: string }>("/v1/subscriptions", { customer: w.customer, price: w.price, default_payment_method: w.card }, w.opts));
    const gone = await ok(post<{ id: string }>("/v1/subscriptions", { customer: w.customer, price: w.price, default_payment_method: w.card }, w.opts));
    await ok(call("DELETE", `/v1/subscriptions/${gone.id}`, w.opts));
    const customer = await ok(get<{ subscriptions: ListJson<{ id: string; latest_invoice: unknown }> & { url: string } }>(`/v1/customers/${w.customer}?expand[]=subscriptions&expand[]=subscriptions.data.latest_invoice`, w.opts));
    expect(customer.subscriptions).toMatchObject({ object: "list", has_more: false, url: `/v1/customers/${w.customer}/subscriptions` });
    // Both made at the clock's one instant: their order is their ids' (created ties), so compared as a set.
    const both = [second.id, w.subscription].sort();
    expect(customer.subscriptions.data.map((s) => s.id).sort()).toEqual(both);
    expect(customer.subscriptions.data[0]?.latest_invoice).toMatchObject({ object: "invoice" });
    // Not asked for: not there, as at Stripe.
    expect(await ok(get<Record<string, unknown>>(`/v1/customers/${w.customer}`, w.opts))).not.toHaveProperty("subscriptions");
    const listed = await ok(get<ListJson<{ id: string; subscriptions?: ListJson<{ id: string }> }>>(`/v1/customers?test_clock=${w.clock}&expand[]=data.subscriptions`, w.opts));
    expect(listed.data.find((c) => c.id === w.customer)?.subscriptions?.data.map((s) => s.id).sort()).toEqual(both);
    // Its url is served: the list, paged.
    const page = await ok(get<ListJson<{ id: string }>>(`/v1/customers/${w.customer}/subscriptions?limit=1`, w.opts));
    expect(page.data.map((s) => s.id)).toEqual(customer.subscriptions.data.slice(0, 1).map((s) => s.id));
    expect(page.has_more).toBe(true);
    const sdk = await w.stripe.customers.retrieve(w.customer, { expand: ["subscriptions"] });
    expect("deleted" in sdk ? [] : (sdk.subscriptions?.data ?? []).map((s) => s.id).sort()).toEqual(both);
  });

  it("an intent's saved card, expanded or in last_payment_error (and a decline's error), is the payment method as saved: its customer and metadata", async () => {
    const m = await newMerchant("expand-saved-card");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "saved-card@example.com" }, m.opts));
    const card = await ok(post<{ id: string }>("/v1/payment_methods/pm_card_visa/attach", { customer: customer.id }, m.opts));
    await ok(post(`/v1/payment_methods/${card.id}`, { metadata: { tier: "gold" } }, m.opts));
    type Pm = { id: string; customer: unknown; metadata: Record<string, string> };
    const paid = await ok(post<{ id: string; payment_method: Pm }>("/v1/payment_intents", { amount: 900, currency: "usd", customer: customer.id, payment_method: card.id, confirm: true, expand: ["payment_method"] }, m.opts));
    expect(paid.payment_method).toMatchObject({ id: card.id, customer: customer.id, metadata: { tier: "gold" } });
    const read = await ok(get<{ payment_method: Pm }>(`/v1/payment_intents/${paid.id}?expand[]=payment_method&expand[]=payment_method.customer`, m.opts));
    expect(read.payment_method).toMatchObject({ id: card.id, customer: { id: customer.id, object: "customer" }, metadata: { tier: "gold" } });
    // A declined saved card: the error's payment method and the intent's last_payment_error say whose it is.
    const declinedCard = await ok(post<{ id: string }>("/v1/payment_methods/pm_card_chargeDeclined/attach", { customer: customer.id }, m.opts));
    const res = await post<{ error: { payment_method?: Pm; payment_intent?: { id: string; last_payment_error: { payment_method: Pm } } } }>("/v1/payment_intents", { amount: 900, currency: "usd", customer: customer.id, payment_method: declinedCard.id, confirm: true, off_session: true }, m.opts);
    expect(res.status).toBe(402);
    expect(res.body.error.payment_method).toMatchObject({ id: declinedCard.id, customer: customer.id });
    expect(res.body.error.payment_intent?.last_payment_error.payment_method).toMatchObject({ id: declinedCard.id, customer: customer.id });
    const after = await ok(get<{ last_payment_error: { payment_method: Pm } }>(`/v1/payment_intents/${res.body.error.payment_intent?.id ?? ""}`, m.opts));
    expect(after.last_payment_error.payment_method).toMatchObject({ id: declinedCard.id, customer: customer.id });
    // A card made for one payment (never saved) stays unattached.
    const once = await ok(post<{ payment_method: Pm }>("/v1/payment_intents", { amount: 900, currency: "usd", payment_method: "pm_card_visa", confirm: true, expand: ["payment_method"] }, m.opts));
    expect(once.payment_method).toMatchObject({ customer: null, metadata: {} });
  });

  it("a refund list expands data.charge and data.payment_intent", async () => {
    const w = await world("expand-refunds");
    const refunds = await ok(get<ListJson<{ id: string; charge: unknown; payment_intent: unknown }>>(`/v1/refunds?payment_intent=${w.intent}&expand[]=data.charge&expand[]=data.payment_intent`, w.opts));
    expect(refunds.data[0]).toMatchObject({ id: w.refund, charge: { object: "charge", id: w.charge }, payment_intent: { object: "payment_intent", id: w.intent } });
  });

  it("a deleted customer expands to Stripe's DeletedCustomer", async () => {
    const w = await world("expand-deleted");
    const other = await ok(post<{ id: string }>("/v1/customers", { email: "gone@example.com" }, w.opts));
    const pi = await ok(post<{ id: string }>("/v1/payment_intents", { amount: 500, currency: "usd", customer: other.id }, w.opts));
    expect((await call("DELETE", `/v1/customers/${other.id}`, w.opts)).status).toBe(200);
    const got = await ok(get<{ customer: unknown }>(`/v1/payment_intents/${pi.id}?expand[]=customer`, w.opts));
    expect(got.customer).toEqual({ id: other.id, object: "customer", deleted: true });
  });
});

describe("what Stripe cannot expand is a 400", () => {
  it("a list expands its items' fields only as data.<field>; a retrieve's unknown field is a 400", async () => {
    const w = await world("expand-strict");
    const invoices = expectError(await get(`/v1/invoices?expand[]=payment_intent`, w.opts), 400);
    expect(invoices.param).toBe("expand");
    expect(invoices.message).toContain("data.payment_intent");
    expectError(await get(`/v1/checkout/sessions?expand[]=payment_intent`, w.opts), 400);
    expectError(await get(`/v1/payment_intents?expand[]=customer`, w.opts), 400);
    expectError(await get(`/v1/refunds?expand[]=zzz`, w.opts), 400);
    expectError(await get(`/v1/refunds?expand[]=data.zzz`, w.opts), 400);
    expectError(await get(`/v1/subscriptions/${w.subscription}?expand[]=items`, w.opts), 400);
    expectError(await get(`/v1/subscriptions/${w.subscription}?expand[]=customer.zzz`, w.opts), 400);
    // Names of JavaScript's objects are no fields either.
    for (const name of ["constructor", "toString.x", "__proto__", "customer.hasOwnProperty"]) expectError(await get(`/v1/subscriptions/${w.subscription}?expand[]=${name}`, w.opts), 400);
    expect((await get(`/v1/invoices?expand[]=data.payment_intent`, w.opts)).status).toBe(200);
    expect((await get(`/v1/checkout/sessions?expand[]=data.payment_intent`, w.opts)).status).toBe(200);
  });

  it("a single expand=path is capped as each expand[] path is: over 100 characters is the same parameter_invalid 400, in a query or a body", async () => {
    const w = await world("expand-cap");
    const long = `${"customer.".repeat(2_000)}id`;
    for (const res of [
      await get(`/v1/payment_intents/${w.intent}?expand=${long}`, w.opts),
      await get(`/v1/refunds?expand=${long}`, w.opts),
      await post(`/v1/refunds/${w.refund}`, { expand: long }, w.opts),
    ]) {
      const err = expectError(res, 400, "parameter_invalid");
      expect(err.param).toBe("expand");
      expect(err.message).toContain("100 characters");
      expect(err.message.length).toBeLessThan(300);
    }
    const asArray = expectError(await get(`/v1/payment_intents/${w.intent}?expand[]=${long}`, w.opts), 400, "parameter_invalid");
    expect(asArray.message).toContain("100 characters");
    // A short single path still works.
    expect((await get(`/v1/payment_intents/${w.intent}?expand=latest_charge`, w.opts)).status).toBe(200);
  });
});

