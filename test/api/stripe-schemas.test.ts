// Every object /v1 returns in the success, decline, 3DS, refund, subscription and checkout flows,
// checked against Stripe's schemas (test/fixtures/stripe-schemas.json, made from the stripe package's
// types by scripts/stripe-schemas-fixture.ts): each field Stripe always returns is present, with
// Stripe's JSON type, nullability and enum values; nested objects likewise. Our extra fields are
// allowed. The differences we keep are listed in ALLOWED, each with its reason.
import { describe, expect, it } from "vitest";
import fixture from "../fixtures/stripe-schemas.json";
import type { Alt, Definition, Fixture, Schema } from "../../scripts/stripe-schemas-fixture";
import { exports } from "cloudflare:workers";
import { approverOf, call, get, newMerchant, post, receiverHook, waitFor, type CallOptions, type CallResult, type ListJson } from "../helpers";

const schemas = fixture as unknown as Fixture;

/**
 * Differences kept on purpose: fields Stripe always returns that our objects leave out, as
 * `Definition.field` (the definition is the Stripe type the field belongs to, e.g. `Charge.Outcome`
 * for a field of a charge's outcome), grouped by why. Empty: every field Stripe always returns is
 * rendered (null, or Stripe's default, where a feature is not served: README, "Stripe's objects").
 * Only missing fields may ever be listed here, each group with its reason; an entry that no flow
 * shows any more fails the stale-entry test (remove it).
 */
const ALLOWED: { reason: string; missing: string[] }[] = [];
const ALLOWED_MISSING = new Set(ALLOWED.flatMap((group) => group.missing.map((field) => `${field}: missing`)));
/** Every difference any flow showed, for the stale-entry check. */
const SEEN = new Set<string>();

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function jsonType(value: Json): Alt["type"] {
  if (Array.isArray(value)) return "array";
  if (value === null) return "any";
  return typeof value as "string" | "number" | "boolean" | "object";
}

const definitionOf = (name: string): Definition => {
  const def = schemas.definitions[name];
  if (!def) throw new Error(`no schema ${name} in the fixture`);
  return def;
};

/** The schema of a Stripe object by its `object` value, if we keep it. */
const byObject = (value: Json): string | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) && typeof value.object === "string" ? schemas.objects[value.object] : undefined;

function checkSchema(value: Json, schema: Schema, where: string, errors: Set<string>): void {
  if (value === null) {
    if (!schema.nullable && !schema.anyOf.some((a) => a.type === "any")) errors.add(`${where}: null where Stripe never answers null`);
    return;
  }
  const type = jsonType(value);
  const alts = schema.anyOf.filter((a) => a.type === type || a.type === "any");
  if (alts.length === 0) {
    errors.add(`${where}: ${type} where Stripe answers ${schema.anyOf.map((a) => a.type).join(" | ")}`);
    return;
  }
  const own = byObject(value);
  const alt = alts.find((a) => a.type === "object" && a.ref !== undefined && a.ref === own) ?? alts.find((a) => a.type !== "object" || a.ref !== undefined) ?? alts[0];
  if (!alt || alt.type === "any" || alt.type === "number" || alt.type === "boolean") return;
  if (alt.type === "string") {
    if (alt.enum && typeof value === "string" && !alt.enum.includes(value)) errors.add(`${where}: "${value}" is not one of Stripe's values`);
    return;
  }
  if (alt.type === "array") {
    if (Array.isArray(value)) value.forEach((item) => checkSchema(item, alt.items, where, errors));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) return;
  if (alt.values) {
    for (const item of Object.values(value)) checkSchema(item, alt.values, `${where}[]`, errors);
    return;
  }
  if (alt.ref) checkDefinition(value, alt.ref, errors);
  else if (own) checkDefinition(value, own, errors);
}

function checkDefinition(value: { [key: string]: Json }, name: string, errors: Set<string>): void {
  const def = definitionOf(name);
  // An empty schema (an event's data.object): the object is checked as what it says it is.
  const own = byObject(value);
  if (Object.keys(def.properties).length === 0 && own) return checkDefinition(value, own, errors);
  for (const [field, { schema, optional }] of Object.entries(def.properties)) {
    if (!(field in value)) {
      if (!optional) errors.add(`${name}.${field}: missing`);
      continue;
    }
    checkSchema(value[field] as Json, schema, `${name}.${field}`, errors);
  }
}

/** Everything a response said, checked: an object, a list, or an error carrying an intent or a setup intent. */
function check(body: unknown, errors: Set<string>): void {
  const value = body as Json;
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`not an object: ${JSON.stringify(body)}`);
  if (value.object === "list") {
    // Stripe's ApiList<T>: object, data, has_more, url (its items are checked as what they are).
    const { data, has_more: hasMore, url } = value;
    if (!Array.isArray(data) || typeof hasMore !== "boolean" || typeof url !== "string") errors.add(`ApiList: ${JSON.stringify({ data: jsonType(data ?? null), has_more: typeof hasMore, url: typeof url })}`);
    for (const item of Array.isArray(data) ? data : []) check(item, errors);
    return;
  }
  if (typeof value.error === "object" && value.error !== null && !Array.isArray(value.error)) {
    const intent = value.error.payment_intent;
    if (intent) check(intent, errors);
    const setup = value.error.setup_intent;
    if (setup) check(setup, errors);
    return;
  }
  const own = byObject(value);
  if (!own) throw new Error(`an object the fixture does not know: ${String(value.object)}`);
  // A DELETE's answer is Stripe's Deleted<Object>: its id, its object and `deleted: true`, nothing else.
  if (value.deleted === true) {
    if (typeof value.id !== "string") errors.add(`Deleted${own}.id: missing`);
    return;
  }
  checkDefinition(value, own, errors);
}

class Recorder {
  readonly errors = new Set<string>();
  readonly seen = new Set<string>();
  constructor(readonly opts: CallOptions) {}
  async call<T>(res: Promise<CallResult<T>>, status = 200): Promise<T> {
    const r = await res;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    check(r.body, this.errors);
    this.note(r.body as Json);
    return r.body;
  }
  private note(value: Json): void {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) return value.forEach((v) => this.note(v));
    if (typeof value.object === "string") this.seen.add(value.object);
    Object.values(value).forEach((v) => this.note(v));
  }
  post<T = { id: string }>(path: string, body: Record<string, unknown> = {}, status = 200) {
    return this.call(post<T>(path, body, this.opts), status);
  }
  form<T = { id: string }>(path: string, form: string, status = 200) {
    return this.call(call<T>("POST", path, { ...this.opts, form }), status);
  }
  get<T = { id: string }>(path: string) {
    return this.call(get<T>(path, this.opts));
  }
}

function unexpected(errors: Set<string>): string[] {
  errors.forEach((e) => SEEN.add(e));
  return [...errors].filter((e) => !ALLOWED_MISSING.has(e)).sort();
}

interface IntentJson {
  id: string;
  status: string;
  latest_charge: string | null;
  client_secret: string;
  next_action: { redirect_to_url: { url: string } } | null;
}

/** The shopper's answer on the 3DS challenge page (the sandbox's). */
async function passChallenge(intent: IntentJson): Promise<void> {
  const res = await exports.default.fetch(
    new Request(intent.next_action?.redirect_to_url.url ?? "", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(intent.client_secret)}&outcome=approve`,
      redirect: "manual",
    }),
  );
  expect(res.status).toBeLessThan(400);
}

describe("objects /v1 returns validate against Stripe's schemas", () => {
  it("in the payment flows: success, decline, 3DS, refund (intents, charges, refunds, customers, payment methods, events, webhook endpoints)", async () => {
    const m = await newMerchant("stripe-schemas-payments");
    const r = new Recorder(m.opts);
    await r.post("/v1/webhook_endpoints", { url: receiverHook("stripe-schemas").url, enabled_events: ["*"] });
    const customer = await r.form("/v1/customers", "email=jenny@example.com&name=Jenny&address[country]=US&address[line1]=1%20Main%20St&shipping[name]=Jenny&shipping[address][city]=Paris&metadata[a]=b");
    await r.get(`/v1/customers/${customer.id}`);
    const pm = await r.form("/v1/payment_methods", "type=card&card[token]=tok_visa&billing_details[name]=Jenny");
    await r.form(`/v1/payment_methods/${pm.id}/attach`, `customer=${customer.id}`);
    await r.get(`/v1/payment_methods/${pm.id}`);

    // Success: Stripe's quickstart (with the options a real integration sends, echoed).
    const intent = await r.form<IntentJson>(
      "/v1/payment_intents",
      `amount=2000&currency=usd&automatic_payment_methods[enabled]=true&customer=${customer.id}&payment_method_options[card][request_three_d_secure]=automatic&shipping[name]=Jenny&shipping[address][line1]=1 Main St&shipping[address][country]=US&statement_descriptor=SHOP&statement_descriptor_suffix=ORDER42&receipt_email=jenny@example.com`,
    );
    const paid = await r.form<IntentJson>(`/v1/payment_intents/${intent.id}/confirm`, "payment_method=pm_card_visa&return_url=https://example.com/back");
    expect(paid.status).toBe("succeeded");
    const echoed = await r.get<Record<string, unknown>>(`/v1/payment_intents/${intent.id}?expand[]=latest_charge&expand[]=customer&expand[]=payment_method`);
    // What was sent at creation is echoed, on the intent and on its charge.
    expect(echoed).toMatchObject({
      automatic_payment_methods: { enabled: true },
      payment_method_options: { card: { request_three_d_secure: "automatic", installments: null, mandate_options: null, network: null } },
      shipping: { name: "Jenny", address: { line1: "1 Main St", country: "US", city: null }, carrier: null, phone: null, tracking_number: null },
      statement_descriptor_suffix: "ORDER42",
      application: null,
      transfer_data: null,
      transfer_group: null,
      latest_charge: { shipping: { name: "Jenny" }, statement_descriptor: "SHOP", statement_descriptor_suffix: "ORDER42", calculated_statement_descriptor: "SHOP", receipt_email: "jenny@example.com", fraud_details: {} },
    });
    await r.get(`/v1/charges/${paid.latest_charge ?? ""}`);
    await r.get("/v1/payment_intents?limit=5");
    await r.get("/v1/charges?limit=5");

    // Refund.
    const refund = await r.form("/v1/refunds", `payment_intent=${intent.id}&amount=500`);
    await r.get(`/v1/refunds/${refund.id}?expand[]=charge`);
    await r.form(`/v1/refunds/${refund.id}`, "metadata[ticket]=T-1");
    // One held for approval (refunds above 10.00), then canceled.
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts))).status).toBe(200);
    const held = await r.form("/v1/refunds", `payment_intent=${intent.id}&amount=1200`);
    await r.form(`/v1/refunds/${held.id}/cancel`, "expand[]=payment_intent");
    await r.get("/v1/refunds?limit=5");

    // Decline: the error's intent, then the intent as it stays.
    const declined = await r.form<IntentJson>("/v1/payment_intents", "amount=1500&currency=usd&payment_method_types[]=card");
    await r.form(`/v1/payment_intents/${declined.id}/confirm`, "payment_method=pm_card_chargeDeclined", 402);
    await r.get(`/v1/payment_intents/${declined.id}`);

    // An unknown outcome (the PSP timed out): processing, with Stripe's processing details.
    const pending = await r.form<IntentJson & { processing: unknown }>("/v1/payment_intents", "amount=1900&currency=usd&confirm=true&payment_method=pm_card_sandboxTimeoutThenSuccess");
    expect(pending).toMatchObject({ status: "processing", processing: { type: "card", card: {} } });

    // 3DS: one challenge abandoned, one passed (its charge says so), with a manual capture.
    const challenged = await r.form<IntentJson>("/v1/payment_intents", "amount=1700&currency=usd&confirm=true&payment_method=pm_card_threeDSecure2Required&return_url=https://example.com/back");
    expect(challenged.status).toBe("requires_action");
    await r.form(`/v1/payment_intents/${challenged.id}/cancel`, "");
    const passed = await r.form<IntentJson>("/v1/payment_intents", "amount=1800&currency=usd&capture_method=manual&confirm=true&payment_method=pm_card_threeDSecure2Required&return_url=https://example.com/back");
    await passChallenge(passed);
    const authorized = await r.get<IntentJson>(`/v1/payment_intents/${passed.id}?expand[]=latest_charge`);
    expect(authorized.status).toBe("requires_capture");
    const captured = await r.form<IntentJson>(`/v1/payment_intents/${passed.id}/capture`, "amount_to_capture=1500");
    const charge = await r.get<{ payment_method_details: { card: { three_d_secure: unknown } } }>(`/v1/charges/${captured.latest_charge ?? ""}`);
    expect(charge.payment_method_details.card.three_d_secure).toMatchObject({ authentication_flow: "challenge", result: "authenticated" });

    await waitFor(async () => ((await get<ListJson<unknown>>("/v1/events?limit=100", m.opts)).body.data.length >= 5 ? true : undefined), 15_000, "the events");
    await r.get("/v1/events?limit=100");
    expect([...r.seen].sort()).toEqual(expect.arrayContaining(["charge", "customer", "event", "list", "payment_intent", "payment_method", "refund", "webhook_endpoint"]));
    expect(unexpected(r.errors)).toEqual([]);
  });

  it("in the subscription and checkout flows (products, prices, subscriptions, items, invoices, checkout sessions)", async () => {
    const m = await newMerchant("stripe-schemas-billing");
    const r = new Recorder(m.opts);
    const product = await r.form("/v1/products", "name=Gold plan");
    await r.get(`/v1/products/${product.id}`);
    const price = await r.form("/v1/prices", `unit_amount=1500&currency=usd&recurring[interval]=month&product=${product.id}&lookup_key=schemas_monthly`);
    await r.get(`/v1/prices/${price.id}`);
    // With an address and shipping: the invoices keep them (customer_address, customer_shipping).
    const customer = await r.form("/v1/customers", "email=sub@example.com&address[country]=US&address[line1]=1%20Main%20St&shipping[name]=Sub&shipping[address][city]=Austin");
    // The subscription quickstart: default_incomplete, confirmed by the customer.
    const sub = await r.form<{ id: string; latest_invoice: { id: string; payment_intent: IntentJson } }>(
      "/v1/subscriptions",
      `customer=${customer.id}&items[0][price]=${price.id}&payment_behavior=default_incomplete&expand[]=latest_invoice.payment_intent&expand[]=latest_invoice.confirmation_secret`,
    );
    await r.form(`/v1/payment_intents/${sub.latest_invoice.payment_intent.id}/confirm`, "payment_method=pm_card_visa");
    await waitFor(async () => ((await get<{ status: string }>(`/v1/subscriptions/${sub.id}`, m.opts)).body.status === "active" ? true : undefined), 15_000, "the subscription to activate");
    await r.get(`/v1/subscriptions/${sub.id}?expand[]=latest_invoice`);
    await r.get("/v1/subscriptions");
    const items = await r.get<ListJson<{ id: string }>>(`/v1/subscription_items?subscription=${sub.id}`);
    await r.get(`/v1/subscription_items/${items.data[0]?.id ?? ""}`);
    await r.get(`/v1/invoices/${sub.latest_invoice.id}?expand[]=payment_intent&expand[]=confirmation_secret`);
    await r.get(`/v1/invoices/${sub.latest_invoice.id}/lines`);
    // Stripe's InvoicePayment: the invoice's includable list, its list route and one by id.
    await r.get(`/v1/invoices/${sub.latest_invoice.id}?expand[]=payments`);
    const payments = await r.get<ListJson<{ id: string }>>(`/v1/invoice_payments?invoice=${sub.latest_invoice.id}`);
    await r.get(`/v1/invoice_payments/${payments.data[0]?.id ?? ""}`);
    await r.get(`/v1/invoices?subscription=${sub.id}`);
    // stripe.invoices.createPreview: the next renewal's draft.
    await r.form("/v1/invoices/create_preview", `subscription=${sub.id}`);
    await r.call(call("DELETE", `/v1/subscriptions/${sub.id}`, m.opts));

    // Checkout.
    const session = await r.post("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 2 }],
      success_url: "https://example.com/ok",
      cancel_url: "https://example.com/cancel",
    });
    await r.get(`/v1/checkout/sessions/${session.id}?expand[]=payment_intent&expand[]=line_items`);
    // The Checkout quickstart: a one-time price of a product.
    const oneTime = await r.form<{ id: string }>("/v1/prices", `unit_amount=2000&currency=usd&product=${product.id}`);
    await r.get(`/v1/prices/${oneTime.id}`);
    const quickstart = await r.post<{ id: string }>("/v1/checkout/sessions", { mode: "payment", line_items: [{ price: oneTime.id, quantity: 1 }], success_url: "https://example.com/ok" });
    await r.get(`/v1/checkout/sessions/${quickstart.id}?expand[]=line_items`);
    await r.get("/v1/checkout/sessions");
    await r.post(`/v1/checkout/sessions/${session.id}/expire`);
    // A session the shopper pays on the hosted page.
    const paidSession = await r.post<{ id: string; url: string }>("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 2500, product_data: { name: "Mug" } }, quantity: 1 }],
      customer_email: "shopper@example.com",
      success_url: "https://example.com/ok?session={CHECKOUT_SESSION_ID}",
    });
    const page = await exports.default.fetch(
      new Request(`http://gateway.test${new URL(paidSession.url).pathname}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ card_number: "4242424242424242", expiry: "12 / 34", cvc: "123" }),
        redirect: "manual",
      }),
    );
    expect(page.status).toBe(303);
    const complete = await r.get<{ status: string; customer_details: unknown }>(`/v1/checkout/sessions/${paidSession.id}?expand[]=payment_intent`);
    expect(complete).toMatchObject({ status: "complete", customer_details: { email: "shopper@example.com" } });

    await r.get("/v1/events?limit=100");
    expect([...r.seen].sort()).toEqual(expect.arrayContaining(["checkout.session", "event", "invoice", "invoice_payment", "line_item", "price", "product", "subscription", "subscription_item"]));
    expect(unexpected(r.errors)).toEqual([]);
  });

  it("the account, test clocks and a session's line items (Account, TestClock, LineItem)", async () => {
    const m = await newMerchant("stripe-schemas-misc");
    const r = new Recorder(m.opts);
    await r.get("/v1/account");
    const clock = await r.form<{ id: string; frozen_time: number }>("/v1/test_helpers/test_clocks", "frozen_time=1767225600&name=Schemas");
    await r.get(`/v1/test_helpers/test_clocks/${clock.id}`);
    await r.form(`/v1/test_helpers/test_clocks/${clock.id}/advance`, `frozen_time=${clock.frozen_time + 86_400}`);
    await r.get("/v1/test_helpers/test_clocks");
    const session = await r.post("/v1/checkout/sessions", {
      mode: "payment",
      line_items: [{ price_data: { currency: "usd", unit_amount: 1000, product_data: { name: "T-shirt" } }, quantity: 2 }],
      success_url: "https://example.com/ok",
    });
    await r.get(`/v1/checkout/sessions/${session.id}/line_items`);
    await r.get(`/v1/checkout/sessions/${session.id}/line_items?expand[]=data.price.product`);
    await r.call(call("DELETE", `/v1/test_helpers/test_clocks/${clock.id}`, m.opts));
    expect([...r.seen].sort()).toEqual(expect.arrayContaining(["account", "item", "test_helpers.test_clock"]));
    expect(unexpected(r.errors)).toEqual([]);
  });

  it("sends the optional fields Stripe sends by default where the gateway has a true value for them", async () => {
    // Stripe's own responses carry these (its fixtures do); optional in its schema, so only this checks them.
    const m = await newMerchant("stripe-schemas-defaults");
    const intent = await post<Record<string, unknown>>("/v1/payment_intents", { amount: 500, currency: "usd" }, m.opts);
    expect(intent.body).toMatchObject({ transfer_data: null, transfer_group: null, on_behalf_of: null });
    const listed = await get<ListJson<Record<string, unknown>>>("/v1/payment_intents?limit=1", m.opts);
    expect(listed.body.data[0]).toHaveProperty("transfer_data", null);
    const customer = await post<Record<string, unknown>>("/v1/customers", { email: "defaults@example.com" }, m.opts);
    expect(customer.body).toHaveProperty("discount", null);
    const session = await post<Record<string, unknown>>(
      "/v1/checkout/sessions",
      { mode: "payment", line_items: [{ price_data: { currency: "usd", unit_amount: 700, product_data: { name: "Mug" } }, quantity: 1 }], success_url: "https://example.com/ok" },
      m.opts,
    );
    expect(session.body).toHaveProperty("phone_number_collection", { enabled: false });
  });

  it("setup intents: made, confirmed, declined, challenged (3D Secure), canceled, listed (SetupIntent, its last_setup_error, its SetupAttempts, its events)", async () => {
    const m = await newMerchant("stripe-schemas-setup");
    const r = new Recorder(m.opts);
    const customer = await r.form<{ id: string }>("/v1/customers", "email=setup-schemas%40example.com");
    const setup = await r.form<{ id: string }>("/v1/setup_intents", `customer=${customer.id}&metadata[k]=v`);
    await r.form(`/v1/setup_intents/${setup.id}/confirm`, "payment_method=pm_card_visa");
    await r.get(`/v1/setup_intents/${setup.id}?expand[]=payment_method&expand[]=customer`);
    // A decline: the 402's setup_intent, with its last_setup_error.
    const declined = await r.call(post<{ error: { setup_intent: { id: string } } }>("/v1/setup_intents", { customer: customer.id, payment_method: "pm_card_chargeDeclined", confirm: true }, m.opts), 402);
    // Its attempts: a succeeded one (expanded from the setup, with its fields), a failed one with its setup_error.
    await r.get(`/v1/setup_intents/${setup.id}?expand[]=latest_attempt.payment_method&expand[]=latest_attempt.customer`);
    await r.get(`/v1/setup_attempts?setup_intent=${setup.id}&expand[]=data.setup_intent`);
    await r.get(`/v1/setup_attempts?setup_intent=${declined.error.setup_intent.id}`);
    const other = await r.form<{ id: string }>("/v1/setup_intents", "usage=on_session");
    await r.form(`/v1/setup_intents/${other.id}/cancel`, "cancellation_reason=abandoned");
    await r.get(`/v1/setup_intents?customer=${customer.id}`);
    // 3D Secure: requires_action with its next_action and a requires_action attempt; a failed challenge
    // (setup_intent_authentication_failure, the attempt failed); a canceled challenge (abandoned).
    const challenged = await r.form<{ id: string; latest_attempt: string; next_action: { redirect_to_url: { url: string } } }>("/v1/setup_intents", `customer=${customer.id}&payment_method=pm_card_threeDSecure2Required&confirm=true&return_url=https%3A%2F%2Fshop.example%2Fback`);
    await r.get(`/v1/setup_intents/${challenged.id}?expand[]=latest_attempt`);
    const challenge = new URL(challenged.next_action.redirect_to_url.url);
    const answer = (outcome: string) =>
      exports.default.fetch(new Request(`${challenge.origin}${challenge.pathname}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(challenge.searchParams.get("client_secret") ?? "")}&attempt=${challenged.latest_attempt}&outcome=${outcome}`, redirect: "manual" }));
    expect((await answer("fail")).status).toBe(303);
    await r.get(`/v1/setup_intents/${challenged.id}?expand[]=latest_attempt`);
    await r.get(`/v1/setup_attempts?setup_intent=${challenged.id}`);
    const abandoned = await r.form<{ id: string }>("/v1/setup_intents", "payment_method=pm_card_threeDSecure2Required&confirm=true");
    await r.form(`/v1/setup_intents/${abandoned.id}/cancel`, "");
    await r.get(`/v1/setup_attempts?setup_intent=${abandoned.id}`);
    await waitFor(async () => (await get<ListJson<unknown>>("/v1/events?type=setup_intent.succeeded", m.opts)).body.data.length > 0, 15_000, "setup_intent.succeeded");
    await waitFor(async () => (await get<ListJson<unknown>>("/v1/events?type=setup_intent.requires_action", m.opts)).body.data.length > 1, 15_000, "setup_intent.requires_action");
    await r.get("/v1/events?type=setup_intent.succeeded");
    await r.get("/v1/events?type=setup_intent.setup_failed");
    await r.get("/v1/events?type=setup_intent.requires_action");
    expect([...r.seen].sort()).toEqual(expect.arrayContaining(["setup_intent", "setup_attempt", "event"]));
    expect(unexpected(r.errors)).toEqual([]);
  });

  it("keeps no stale allow-list entries (each one is still a difference the flows above show)", () => {
    expect([...ALLOWED_MISSING].filter((e) => !SEEN.has(e))).toEqual([]);
  });

  it("the checker itself catches a missing field, a wrong type, a null and an unknown enum value", () => {
    const errors = new Set<string>();
    check({ object: "refund", id: "re_1", amount: "5", status: "lost", currency: null }, errors);
    expect([...errors]).toEqual(expect.arrayContaining(["Refund.amount: string where Stripe answers number", "Refund.currency: null where Stripe never answers null", "Refund.created: missing"]));
    const enums = new Set<string>();
    check({ object: "subscription", status: "paused_forever" }, enums);
    expect([...enums]).toContain('Subscription.status: "paused_forever" is not one of Stripe\'s values');
    // Stripe's decimals (stripe-node's Decimal) are strings on the wire.
    const decimals = new Set<string>();
    check({ object: "price", unit_amount_decimal: "1500" }, decimals);
    expect([...decimals].filter((e) => e.startsWith("Price.unit_amount_decimal"))).toEqual([]);
    check({ object: "price", unit_amount_decimal: 1500 }, decimals);
    expect([...decimals]).toContain("Price.unit_amount_decimal: number where Stripe answers string");
  });
});
