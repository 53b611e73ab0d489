/// <reference types="vite/client" />
// Issue 13, point 1: every parameter of Stripe's current API for the operations we serve is honoured,
// accepted and ignored (documented), or refused with a 400 that says it is not supported, never
// "unknown"; the table in src/api/v1/stripe-params.ts drives the routes and the README's matrix.
import { describe, expect, it } from "vitest";
import "../../src/app";
import { declaredShapes, paramsWith, STRIPE_PARAMS, supportMatrixMarkdown, type Operation } from "../../src/api/v1/stripe-params";
import fixture from "../fixtures/stripe-params.json";
import type Stripe from "stripe";
import { call, createIntent, expectError, get, newMerchant, post, stripeClient, succeededIntent, type ChargeJson, type ListJson, type PaymentIntentJson } from "../helpers";

const README = import.meta.glob("../../README.md", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

describe("the parameter table", () => {
  it("classifies every parameter Stripe's current API has for each operation we serve", () => {
    const missing: string[] = [];
    for (const [op, names] of Object.entries(fixture.operations)) {
      const table = (STRIPE_PARAMS as Record<string, Record<string, unknown>>)[op];
      expect(table, `${op} is in the table`).toBeDefined();
      for (const name of names) if (!table?.[name]) missing.push(`${op} ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it("is what the routes declare: the honoured parameters are exactly each route's own zod fields", () => {
    for (const op of Object.keys(STRIPE_PARAMS) as Operation[]) {
      expect(declaredShapes.get(op)?.slice().sort(), op).toEqual(paramsWith(op, "honoured", "extra").sort());
    }
  });

  it("is printed in the README's support matrix", () => {
    const readme = Object.values(README)[0] ?? "";
    expect(readme).toContain(supportMatrixMarkdown());
  });
});

describe("over the wire", () => {
  it("accepts Stripe's quickstart and documented create parameters; echoes automatic_payment_methods, payment_method_options, shipping and statement_descriptor_suffix", async () => {
    const form = [
      "amount=2000",
      "currency=usd",
      "automatic_payment_methods[enabled]=true",
      "automatic_payment_methods[allow_redirects]=never",
      "payment_method_options[card][request_three_d_secure]=automatic",
      "shipping[name]=Jenny Rosen",
      "shipping[address][line1]=1 Main St",
      "statement_descriptor_suffix=ORDER42",
      "confirmation_method=manual",
      "error_on_requires_action=true",
      "use_stripe_sdk=true",
      "mandate_data[customer_acceptance][type]=online",
      "transfer_group=group_1",
    ].join("&");
    const res = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe("requires_payment_method");
    expect(res.body).toMatchObject({
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
      payment_method_options: { card: { request_three_d_secure: "automatic", installments: null, mandate_options: null, network: null } },
      shipping: { name: "Jenny Rosen", address: { line1: "1 Main St", city: null, country: null, line2: null, postal_code: null, state: null }, carrier: null, phone: null, tracking_number: null },
      statement_descriptor_suffix: "ORDER42",
      transfer_group: null,
    });
    // Without them: null, and the card's default options.
    const bare = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form: "amount=2000&currency=usd" });
    expect(bare.body).toMatchObject({ automatic_payment_methods: null, shipping: null, statement_descriptor_suffix: null, payment_method_options: { card: { request_three_d_secure: "automatic" } } });
    // Updated, and cleared with "".
    const updated = await call<PaymentIntentJson>("POST", `/v1/payment_intents/${res.body.id}`, { form: "shipping=&statement_descriptor_suffix=NEW&payment_method_options[card][request_three_d_secure]=challenge" });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ shipping: null, statement_descriptor_suffix: "NEW", payment_method_options: { card: { request_three_d_secure: "challenge" } }, automatic_payment_methods: { enabled: true } });
    // Stripe's rules: a shipping needs its name and address, 3DS one of Stripe's words.
    expectError(await call("POST", "/v1/payment_intents", { form: "amount=2000&currency=usd&shipping[name]=Jenny" }), 400);
    expectError(await call("POST", "/v1/payment_intents", { form: "amount=2000&currency=usd&payment_method_options[card][request_three_d_secure]=always" }), 400);
    expectError(await call("POST", "/v1/payment_intents", { form: "amount=2000&currency=usd&automatic_payment_methods[enabled]=maybe" }), 400);
  });

  it("refuses Connect parameters with a clear 400 'not supported' that says why, and still calls unknown ones unknown", async () => {
    for (const [form, param] of [
      ["amount=2000&currency=usd&application_fee_amount=100", "application_fee_amount"],
      ["amount=2000&currency=usd&transfer_data[destination]=acct_1", "transfer_data"],
      ["amount=2000&currency=usd&on_behalf_of=acct_1", "on_behalf_of"],
    ] as const) {
      const err = expectError(await call("POST", "/v1/payment_intents", { form }), 400, "parameter_not_supported");
      expect(err.param).toBe(param);
      expect(err.message).toMatch(/not supported: Connect/);
    }
    const unknown = expectError(await call("POST", "/v1/payment_intents", { form: "amount=2000&currency=usd&no_such_param=1" }), 400, "parameter_unknown");
    expect(unknown.param).toBe("no_such_param");
  });

  it("confirm takes receipt_email, shipping and payment_method_options (honoured; a card's cvc_token is dropped) and client_secret (ignored)", async () => {
    const pi = (await createIntent()).body;
    const res = await call<PaymentIntentJson>("POST", `/v1/payment_intents/${pi.id}/confirm`, {
      form: `payment_method=pm_card_visa&receipt_email=jenny@example.com&shipping[name]=Jenny&shipping[address][country]=FR&payment_method_options[card][cvc_token]=x&payment_method_options[card][request_three_d_secure]=any&client_secret=${encodeURIComponent(pi.client_secret)}`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // request_three_d_secure=any asks the card for a challenge (test/api/card-options.test.ts).
    expect(res.body).toMatchObject({ status: "requires_action", receipt_email: "jenny@example.com", shipping: { name: "Jenny", address: { country: "FR" } }, payment_method_options: { card: { request_three_d_secure: "any" } } });
    expect(JSON.stringify(res.body)).not.toContain("cvc_token");
  });

  it("capture merges metadata and accepts statement descriptors and final_capture", async () => {
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual", metadata: { a: "1" } })).body;
    const res = await call<PaymentIntentJson>("POST", `/v1/payment_intents/${pi.id}/capture`, {
      form: "metadata[b]=2&statement_descriptor=SHOP&statement_descriptor_suffix=X&final_capture=true",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata).toEqual({ a: "1", b: "2" });
  });

  it("customers and payment methods take Stripe's documented parameters; billing_details are kept", async () => {
    const customer = await call<{ id: string }>("POST", "/v1/customers", {
      form: "name=Jenny&address[line1]=1 Main St&shipping[name]=Jenny&shipping[address][line1]=x&expand[]=default_source&preferred_locales[]=en&invoice_settings[footer]=Thanks&tax_exempt=none",
    });
    expect(customer.status, JSON.stringify(customer.body)).toBe(200);
    const updated = await call("POST", `/v1/customers/${customer.body.id}`, { form: "address[city]=Paris&invoice_settings[footer]=x" });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    const pm = await call<{ billing_details: { name: string | null; email: string | null; address: { postal_code: string | null } } }>("POST", "/v1/payment_methods", {
      form: "type=card&card[token]=tok_visa&billing_details[name]=Jenny Rosen&billing_details[email]=jenny@example.com&billing_details[address][postal_code]=94107&expand[]=customer",
    });
    expect(pm.status, JSON.stringify(pm.body)).toBe(200);
    expect(pm.body.billing_details).toMatchObject({ name: "Jenny Rosen", email: "jenny@example.com", address: { postal_code: "94107" } });
  });

  it("payment_method_data[billing_details] reaches the intent's payment method and its charge", async () => {
    const res = await post<PaymentIntentJson>("/v1/payment_intents?", {
      amount: 1500,
      currency: "usd",
      confirm: true,
      payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" }, billing_details: { name: "Jenny Rosen", address: { country: "US" } } },
      expand: ["latest_charge", "payment_method"],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const charge = res.body.latest_charge as ChargeJson;
    expect(charge.billing_details).toEqual({ name: "Jenny Rosen", email: null, phone: null, tax_id: null, address: { city: null, country: "US", line1: null, line2: null, postal_code: null, state: null } });
    expect((await get<ChargeJson>(`/v1/charges/${charge.id}`)).body.billing_details.name).toBe("Jenny Rosen");
  });
});

describe("expansions Stripe allows", () => {
  it("latest_charge.balance_transaction (Stripe's 'get the fees' example): the charge expanded, its balance transaction null as the field is", async () => {
    const pi = await succeededIntent(2500);
    const stripe = stripeClient();
    const got = await stripe.paymentIntents.retrieve(pi.id, { expand: ["latest_charge.balance_transaction"] });
    const charge = got.latest_charge as Stripe.Charge;
    expect(charge.object).toBe("charge");
    expect(charge.balance_transaction).toBeNull();
    // On the list too, with data.
    const listed = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=1&expand[]=data.latest_charge.balance_transaction");
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    // A field Stripe cannot expand is still a 400.
    expectError(await get(`/v1/payment_intents/${pi.id}?expand[]=latest_charge.amount`), 400);
    expectError(await get(`/v1/payment_intents/${pi.id}?expand[]=amount`), 400);
  });

  it("latest_charge.payment_intent and latest_charge.refunds expand within the latest charge", async () => {
    const pi = await succeededIntent(3000);
    expect((await post(`/v1/refunds`, { payment_intent: pi.id, amount: 500 })).status).toBe(200);
    const got = await get<{ latest_charge: { id: string; payment_intent: { id: string; object: string; latest_charge: string }; refunds: { object: string; data: { amount: number }[]; has_more: boolean; url: string } } }>(
      `/v1/payment_intents/${pi.id}?expand[]=latest_charge.payment_intent&expand[]=latest_charge.refunds`,
    );
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    const charge = got.body.latest_charge;
    expect(charge.payment_intent).toMatchObject({ id: pi.id, object: "payment_intent", latest_charge: charge.id });
    expect(charge.refunds).toMatchObject({ object: "list", has_more: false, url: `/v1/charges/${charge.id}/refunds` });
    expect(charge.refunds.data.map((r) => r.amount)).toEqual([500]);
  });

  it("a charge expands balance_transaction (null) and refunds (Stripe's list object), on retrieve, update and the list", async () => {
    const pi = await succeededIntent(4000);
    const chargeId = pi.latest_charge as string;
    await post(`/v1/refunds`, { charge: chargeId, amount: 1000 });
    await post(`/v1/refunds`, { charge: chargeId, amount: 700 });
    const stripe = stripeClient();
    const charge = await stripe.charges.retrieve(chargeId, { expand: ["balance_transaction", "refunds"] });
    expect(charge.balance_transaction).toBeNull();
    expect(charge.refunds).toMatchObject({ object: "list", has_more: false, url: `/v1/charges/${chargeId}/refunds` });
    expect(charge.refunds?.data.map((r) => r.amount)).toEqual([700, 1000]);
    const updated = await stripe.charges.update(chargeId, { description: "x", expand: ["refunds"] });
    expect(updated.refunds?.data).toHaveLength(2);
    const listed = await get<ListJson<{ id: string; refunds?: { data: unknown[] } }>>(`/v1/charges?payment_intent=${pi.id}&expand[]=data.refunds&expand[]=data.balance_transaction`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data[0]?.refunds?.data).toHaveLength(2);
    expectError(await get(`/v1/charges/${chargeId}?expand[]=default_source`), 400);
  });

  it("a customer's default_source expands to null (the legacy Sources API is not served)", async () => {
    const customer = await stripeClient().customers.create({ email: "sources@example.com" });
    const got = await get<{ id: string; default_source: unknown }>(`/v1/customers/${customer.id}?expand[]=default_source`);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.body.default_source ?? null).toBeNull();
  });
});

describe("filters Stripe's lists take", () => {
  it("prices by type, recurring[interval], recurring[usage_type] and created; products by ids[], created, and shippable, type and url (answered for products that are services without either)", async () => {
    const m = await newMerchant("list-filters");
    const stripe = stripeClient(m.key);
    const monthly = await stripe.prices.create({ unit_amount: 1000, currency: "usd", recurring: { interval: "month", usage_type: "licensed" }, product_data: { name: "Monthly", metadata: { tier: "gold" } } });
    const yearly = await stripe.prices.create({ unit_amount: 9000, currency: "usd", recurring: { interval: "year" }, product: monthly.product as string });
    const once = await stripe.prices.create({ unit_amount: 500, currency: "usd", product: monthly.product as string });
    const ids = (list: { data: { id: string }[] }) => list.data.map((x) => x.id);
    expect(ids(await stripe.prices.list({ type: "recurring" }))).toEqual([yearly.id, monthly.id]);
    expect(ids(await stripe.prices.list({ type: "one_time" }))).toEqual([once.id]);
    expect(ids(await stripe.prices.list({ recurring: { interval: "month" } }))).toEqual([monthly.id]);
    expect(ids(await stripe.prices.list({ recurring: { usage_type: "licensed" } }))).toEqual([yearly.id, monthly.id]);
    expect(ids(await stripe.prices.list({ recurring: { usage_type: "metered" } }))).toEqual([]);
    expect(ids(await stripe.prices.list({ created: { gte: monthly.created } }))).toEqual([once.id, yearly.id, monthly.id]);
    expect(ids(await stripe.prices.list({ created: { gt: once.created + 1 } }))).toEqual([]);
    // product_data[metadata] reached the product made with the price.
    expect((await stripe.products.retrieve(monthly.product as string)).metadata).toEqual({ tier: "gold" });
    const other = await stripe.products.create({ name: "Other" });
    const third = await stripe.products.create({ name: "Third" });
    expect(ids(await stripe.products.list({ ids: [other.id, monthly.product as string] }))).toEqual([other.id, monthly.product]);
    expect(ids(await stripe.products.list({ ids: [other.id, third.id, monthly.product as string], limit: 1, starting_after: third.id }))).toEqual([other.id]);
    expect(ids(await stripe.products.list({ created: { gte: monthly.created } }))).toEqual([third.id, other.id, monthly.product]);
    expect(ids(await stripe.products.list({ type: "service" }))).toEqual([third.id, other.id, monthly.product]);
    expect(ids(await stripe.products.list({ type: "good" }))).toEqual([]);
    expect(ids(await stripe.products.list({ shippable: true }))).toEqual([]);
    expect(ids(await stripe.products.list({ url: "https://shop.example/p" }))).toEqual([]);
    // Another merchant's product among ids[] is not found.
    const theirs = await post<{ id: string }>("/v1/products", { name: "Theirs" }, { key: "sk_test_merchant_b" });
    expect(ids(await stripe.products.list({ ids: [theirs.body.id] }))).toEqual([]);
  });

  it("prices: recurring[usage_type]=metered and recurring[trial_period_days] are refused by name, with why", async () => {
    const base = { unit_amount: 1000, currency: "usd", product_data: { name: "Metered" } };
    const metered = expectError(await post("/v1/prices", { ...base, recurring: { interval: "month", usage_type: "metered" } }), 400, "parameter_not_supported");
    expect(metered.param).toBe("recurring[usage_type]");
    const trial = expectError(await post("/v1/prices", { ...base, recurring: { interval: "month", trial_period_days: 7 } }), 400, "parameter_not_supported");
    expect(trial.param).toBe("recurring[trial_period_days]");
    expect(trial.message).toMatch(/POST \/v1\/subscriptions/);
  });

  it("payment methods by allow_redisplay: every one here is unspecified", async () => {
    const m = await newMerchant("pm-redisplay");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({ email: "redisplay@example.com" });
    const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    expect((await stripe.paymentMethods.list({ customer: customer.id, allow_redisplay: "unspecified" })).data.map((p) => p.id)).toEqual([pm.id]);
    expect((await stripe.paymentMethods.list({ customer: customer.id, allow_redisplay: "always" })).data).toEqual([]);
  });

  it("payment_method_data[metadata] is accepted (checked as metadata)", async () => {
    const res = await post<PaymentIntentJson>("/v1/payment_intents", {
      amount: 1500,
      currency: "usd",
      confirm: true,
      payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" }, metadata: { source: "kiosk" } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe("succeeded");
    expectError(await post("/v1/payment_intents", { amount: 1500, currency: "usd", payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040 }, metadata: "x" } }), 400);
  });

  it("charges by transfer_group: none has one here (transfers are not made), so it matches none", async () => {
    const pi = await succeededIntent(1200);
    const all = await get<ListJson<{ id: string }>>(`/v1/charges?payment_intent=${pi.id}`);
    expect(all.body.data).toHaveLength(1);
    const grouped = await get<ListJson<{ id: string }>>(`/v1/charges?payment_intent=${pi.id}&transfer_group=order_1`);
    expect(grouped.status, JSON.stringify(grouped.body)).toBe(200);
    expect(grouped.body.data).toEqual([]);
  });
});
