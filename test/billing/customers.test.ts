// Customers and saved payment methods: CRUD, tenancy, the same card attached more than once (also under concurrency),
// defaults, setup_future_usage and off-session charges, and no card number or CVC in any storage.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TEST_CARDS } from "../../src/connectors/sandbox/cards";
import { call, expectError, get, KEY_B, newMerchant, post, uniqueKey, waitFor, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface CustomerJson {
  id: string;
  object: "customer";
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Record<string, string>;
  invoice_settings: { default_payment_method: string | null };
  deleted?: boolean;
}

interface PmJson {
  id: string;
  object: "payment_method";
  customer: string | null;
  nickname: string | null;
  card: { brand: string; last4: string; exp_month: number; exp_year: number; funding: string; fingerprint: string } | null;
}

interface EventListJson {
  data: { type: string; data: { object: Record<string, unknown> } }[];
}

async function customer(opts: CallOptions, body: Record<string, unknown> = {}): Promise<CustomerJson> {
  const res = await post<CustomerJson>("/v1/customers", { email: "jenny@example.com", name: "Jenny Rosen", ...body }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function savedCard(opts: CallOptions, body: Record<string, unknown>): Promise<PmJson> {
  const res = await post<PmJson>("/v1/payment_methods", body, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function eventTypes(opts: CallOptions, type: string): Promise<EventListJson["data"]> {
  return (await get<EventListJson>(`/v1/events?type=${encodeURIComponent(type)}&limit=100`, opts)).body.data;
}

describe("customers", () => {
  it("are created, retrieved, updated, listed by email, searched and deleted", async () => {
    const m = await newMerchant("cust-crud");
    const created = await customer(m.opts, { phone: "+15555550100", description: "VIP", metadata: { crm_id: "42", tier: "gold" } });
    expect(created).toMatchObject({ object: "customer", email: "jenny@example.com", name: "Jenny Rosen", phone: "+15555550100", description: "VIP", metadata: { crm_id: "42", tier: "gold" } });
    expect(created.id).toMatch(/^cus_/);

    expect((await get<CustomerJson>(`/v1/customers/${created.id}`, m.opts)).body).toEqual(created);

    const updated = await post<CustomerJson>(`/v1/customers/${created.id}`, { name: "", email: "jenny.r@example.com", metadata: { tier: "", plan: "pro" } }, m.opts);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: null, email: "jenny.r@example.com", metadata: { crm_id: "42", plan: "pro" } });
    expect(updated.body.metadata).not.toHaveProperty("tier");

    const other = await customer(m.opts, { email: "ada@example.com", name: "Ada" });
    const byEmail = await get<ListJson<CustomerJson>>("/v1/customers?email=jenny.r%40example.com", m.opts);
    expect(byEmail.body.data.map((c) => c.id)).toEqual([created.id]);
    const all = await get<ListJson<CustomerJson>>("/v1/customers", m.opts);
    expect(all.body.data.map((c) => c.id)).toEqual([other.id, created.id]);
    const found = await get<ListJson<CustomerJson>>(`/v1/customers/search?query=${encodeURIComponent("email:'ada@example.com'")}`, m.opts);
    expect(found.body.data.map((c) => c.id)).toEqual([other.id]);
    // Contains clauses (~) need a created window of at most 31 days (or an exact clause) beside them.
    const window = `created>=${Math.floor(Date.now() / 1000) - 86_400}`;
    const contains = await get<ListJson<CustomerJson>>(`/v1/customers/search?query=${encodeURIComponent(`email~'example.com' AND name~'Ad' AND ${window}`)}`, m.opts);
    expect(contains.body.data.map((c) => c.id)).toEqual([other.id]);
    expectError(await get(`/v1/customers/search?query=${encodeURIComponent("email~'example.com' AND name~'Ad'")}`, m.opts), 400, "search_query_unbounded");
    expectError(await get(`/v1/customers/search?query=${encodeURIComponent("email = x")}`, m.opts), 400, "search_query_invalid");
    // By metadata (Stripe's most common customer search: the merchant's own user id), as it now is.
    const search = async (q: string) => (await get<ListJson<CustomerJson>>(`/v1/customers/search?query=${encodeURIComponent(q)}`, m.opts)).body.data.map((c) => c.id);
    expect(await search("metadata['crm_id']:'42'")).toEqual([created.id]);
    expect(await search("metadata['tier']:'gold'")).toEqual([]);
    expect(await search("metadata['plan']:'pro' AND email:'jenny.r@example.com'")).toEqual([created.id]);
    // A space between clauses is an AND, as at Stripe (its docs' own example).
    expect(await search("metadata['plan']:'pro' email:'jenny.r@example.com'")).toEqual([created.id]);
    expect(await search("metadata['plan']:'pro' email:'ada@example.com'")).toEqual([]);
    expect(await search("metadata['crm_id']:'42' OR email:'ada@example.com'")).toEqual([other.id, created.id]);
    expect((await get<ListJson<CustomerJson>>(`/v1/customers/search?query=${encodeURIComponent("metadata['crm_id']:'42'")}`, { ...m.opts, key: KEY_B })).body.data).toEqual([]);

    const deleted = await call<CustomerJson>("DELETE", `/v1/customers/${created.id}`, m.opts);
    expect(deleted.body).toEqual({ id: created.id, object: "customer", deleted: true });
    expect((await get<CustomerJson>(`/v1/customers/${created.id}`, m.opts)).body).toEqual({ id: created.id, object: "customer", deleted: true });
    expect((await get<ListJson<CustomerJson>>("/v1/customers", m.opts)).body.data.map((c) => c.id)).toEqual([other.id]);
    expect(await search("metadata['crm_id']:'42'")).toEqual([]);
    expectError(await post(`/v1/customers/${created.id}`, { name: "x" }, m.opts), 404, "resource_missing");
    expectError(await call("DELETE", `/v1/customers/${created.id}`, m.opts), 404, "resource_missing");

    const types = (await eventTypes(m.opts, "customer.*")).map((e) => e.type).sort();
    expect(types).toEqual(["customer.created", "customer.created", "customer.deleted", "customer.updated"]);
  });

  it("name the request that made them in their events, with its Idempotency-Key (Stripe's event.request), their deletion's too", async () => {
    const m = await newMerchant("customer-event-request");
    const key = uniqueKey();
    const made = await post<CustomerJson>("/v1/customers", { email: "keyed@example.com" }, { ...m.opts, idempotencyKey: key });
    expect(made.status).toBe(200);
    const requestId = made.headers.get("request-id");
    const events = (await get<{ data: { type: string; data: { object: { id: string } }; request: { id: string | null; idempotency_key: string | null } }[] }>("/v1/events?type=customer.created", m.opts)).body.data;
    const created = events.find((e) => e.data.object.id === made.body.id);
    expect(created?.request).toEqual({ id: requestId, idempotency_key: key });
    // Without a key: the request's id alone.
    const plain = await post<CustomerJson>("/v1/customers", { email: "plain@example.com" }, m.opts);
    const again = (await get<{ data: { data: { object: { id: string } }; request: { id: string | null; idempotency_key: string | null } }[] }>("/v1/events?type=customer.created", m.opts)).body.data;
    expect(again.find((e) => e.data.object.id === plain.body.id)?.request).toEqual({ id: plain.headers.get("request-id"), idempotency_key: null });
    // Its customer.deleted names the request that deleted it, as product.deleted does.
    const deleted = await call("DELETE", `/v1/customers/${plain.body.id}`, m.opts);
    expect(deleted.status).toBe(200);
    const gone = (await get<{ data: { data: { object: { id: string } }; request: { id: string | null; idempotency_key: string | null } }[] }>("/v1/events?type=customer.deleted", m.opts)).body.data;
    expect(gone.find((e) => e.data.object.id === plain.body.id)?.request).toEqual({ id: deleted.headers.get("request-id"), idempotency_key: null });
  });

  it("reject bad input with a 4xx and change nothing", async () => {
    const m = await newMerchant("cust-bad");
    expectError(await post("/v1/customers", { email: "not-an-email" }, m.opts), 400);
    expectError(await post("/v1/customers", { name: 42 }, m.opts), 400);
    expectError(await post("/v1/customers", { unknown_field: "x" }, m.opts), 400);
    expectError(await call("POST", "/v1/customers", { ...m.opts, body: "{not json" }), 400);
    // An object a parameter names that does not exist: a 400 resource_missing, as at Stripe.
    expectError(await post("/v1/customers", { test_clock: "clock_doesnotexist1234" }, m.opts), 400, "resource_missing");
    expect((await get<ListJson<CustomerJson>>("/v1/customers", m.opts)).body.data).toEqual([]);
  });

  it("a create refused for its card leaves no customer, no customer.created event and no stored card", async () => {
    const m = await newMerchant("cust-bad-card");
    const owner = await customer(m.opts, { payment_method: "pm_card_visa" });
    const owned = owner.invoice_settings.default_payment_method ?? "";
    const loose = (await post<PmJson>("/v1/payment_methods", { payment_method: "pm_card_mastercard" }, m.opts)).body.id;
    const gone = (await post<PmJson>("/v1/payment_methods/pm_card_amex/attach", { customer: owner.id }, m.opts)).body.id;
    expect((await post(`/v1/payment_methods/${gone}/detach`, {}, m.opts)).status).toBe(200);
    const before = await get<ListJson<CustomerJson>>("/v1/customers?limit=100", m.opts);
    const methodsBefore = await get<ListJson<PmJson>>("/v1/payment_methods?limit=100", m.opts);
    expectError(await post("/v1/customers", { email: "a@example.com", invoice_settings: { default_payment_method: "pm_nonexistent" } }, m.opts), 400, "resource_missing");
    expectError(await post("/v1/customers", { email: "b@example.com", payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_nonexistent" } }, m.opts), 400, "resource_missing");
    expectError(await post("/v1/customers", { email: "c@example.com", invoice_settings: { default_payment_method: loose } }, m.opts), 400, "payment_method_not_attached");
    expectError(await post("/v1/customers", { email: "d@example.com", payment_method: owned }, m.opts), 400, "payment_method_already_attached");
    expectError(await post("/v1/customers", { email: "e@example.com", payment_method: gone }, m.opts), 400, "payment_method_unexpected_state");
    expect((await get<ListJson<CustomerJson>>("/v1/customers?limit=100", m.opts)).body.data).toEqual(before.body.data);
    expect((await get<ListJson<PmJson>>("/v1/payment_methods?limit=100", m.opts)).body.data.map((p) => p.id)).toEqual(methodsBefore.body.data.map((p) => p.id));
    const created = (await get<EventListJson>("/v1/events?type=customer.created&limit=100", m.opts)).body.data;
    expect(created.map((e) => e.data.object.id)).toEqual([owner.id]);
    // Stripe's test pattern: the same test card as the card and as the default.
    const both = await post<CustomerJson>("/v1/customers", { email: "f@example.com", payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } }, m.opts);
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    const saved = (await get<ListJson<PmJson>>(`/v1/customers/${both.body.id}/payment_methods`, m.opts)).body.data;
    expect(saved.map((p) => p.card?.last4)).toEqual(["4242"]);
    expect(both.body.invoice_settings.default_payment_method).toBe(saved[0]?.id);
  });

  it("belong to their merchant: another merchant's customer, card or subscription is 404", async () => {
    const a = await newMerchant("cust-ten-a");
    const b = await newMerchant("cust-ten-b");
    const cus = await customer(a.opts);
    const pm = await savedCard(a.opts, { card: { token: "tok_visa" } });
    expectError(await get(`/v1/customers/${cus.id}`, b.opts), 404, "resource_missing");
    expectError(await post(`/v1/customers/${cus.id}`, { name: "Mallory" }, b.opts), 404, "resource_missing");
    expectError(await call("DELETE", `/v1/customers/${cus.id}`, b.opts), 404, "resource_missing");
    expectError(await get(`/v1/customers/${cus.id}/payment_methods`, b.opts), 404, "resource_missing");
    expectError(await get(`/v1/payment_methods/${pm.id}`, b.opts), 404, "resource_missing");
    const bCustomer = await customer(b.opts);
    expectError(await post(`/v1/payment_methods/${pm.id}/attach`, { customer: bCustomer.id }, b.opts), 404, "resource_missing");
    // Another merchant's object named in a parameter: missing, a 400 resource_missing (a 404 only for the path's object).
    expectError(await post(`/v1/payment_methods/${pm.id}/attach`, { customer: cus.id }, b.opts), 400, "resource_missing");
    expectError(await post("/v1/payment_intents", { amount: 1000, currency: "usd", customer: bCustomer.id, payment_method: pm.id, confirm: true }, b.opts), 400, "resource_missing");
    // Still A's, unchanged.
    expect((await get<CustomerJson>(`/v1/customers/${cus.id}`, a.opts)).body.name).toBe("Jenny Rosen");
    expect((await get<PmJson>(`/v1/payment_methods/${pm.id}`, a.opts)).body.customer).toBeNull();
  });
});

describe("payment methods", () => {
  it("keep brand, last4, expiry, funding and a fingerprint; attach, list, default and detach", async () => {
    const m = await newMerchant("pm-crud");
    const cus = await customer(m.opts);
    const fromCard = await savedCard(m.opts, { type: "card", card: { number: "4000056655665556", exp_month: 7, exp_year: 2031, cvc: "314" }, nickname: "Debit" });
    expect(fromCard).toMatchObject({ object: "payment_method", customer: null, nickname: "Debit", card: { brand: "visa", last4: "5556", exp_month: 7, exp_year: 2031, funding: "debit" } });
    expect(fromCard.card?.fingerprint).toMatch(/^[A-Za-z0-9]{8,}$/);
    const fromToken = await savedCard(m.opts, { card: { token: "tok_mastercard" } });
    expect(fromToken.card).toMatchObject({ brand: "mastercard", last4: "4444" });

    const attached = await post<PmJson>(`/v1/payment_methods/${fromCard.id}/attach`, { customer: cus.id }, m.opts);
    expect(attached.body).toMatchObject({ id: fromCard.id, customer: cus.id });
    // Seed 002: save a card on file with a nickname, and make it the default.
    const onFile = await post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { token: "tok_mastercard", nickname: "Personal Mastercard", set_default: true }, m.opts);
    expect(onFile.body).toMatchObject({ customer: cus.id, nickname: "Personal Mastercard", card: { last4: "4444" } });
    expect((await get<CustomerJson>(`/v1/customers/${cus.id}`, m.opts)).body.invoice_settings.default_payment_method).toBe(onFile.body.id);

    const list = await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods`, m.opts);
    expect(list.body.data.map((p) => p.id)).toEqual([onFile.body.id, fromCard.id]);
    // Stripe's type filter (customers.listPaymentMethods(id, {type: "card"}) sends it): cards are all there is.
    expect((await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods?type=card`, m.opts)).body.data.map((p) => p.id)).toEqual([onFile.body.id, fromCard.id]);
    expect((await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods?type=sepa_debit`, m.opts)).body.data).toEqual([]);
    expectError(await get(`/v1/customers/${cus.id}/payment_methods?type=Not%20A%20Type`, m.opts), 400);
    expect((await get<ListJson<PmJson>>(`/v1/payment_methods?customer=${cus.id}`, m.opts)).body.data).toHaveLength(2);

    const renamed = await post<PmJson>(`/v1/payment_methods/${fromCard.id}`, { nickname: "Old debit", card: { exp_year: 2032 } }, m.opts);
    expect(renamed.body).toMatchObject({ nickname: "Old debit", card: { exp_year: 2032, last4: "5556" } });

    const removed = await call<PmJson>("DELETE", `/v1/customers/${cus.id}/payment_methods/${onFile.body.id}`, m.opts);
    expect(removed.body.customer).toBeNull();
    expect((await get<CustomerJson>(`/v1/customers/${cus.id}`, m.opts)).body.invoice_settings.default_payment_method).toBeNull();
    const detached = await post<PmJson>(`/v1/payment_methods/${fromCard.id}/detach`, {}, m.opts);
    expect(detached.body.customer).toBeNull();
    expectError(await post(`/v1/payment_methods/${fromCard.id}/detach`, {}, m.opts), 400, "payment_method_not_attached");
    expect((await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods`, m.opts)).body.data).toEqual([]);
    // A detached card may not be used again (Stripe's rule): not to pay, with its old customer, another
    // or none, and not to attach again. It can still be read.
    const other = await customer(m.opts);
    for (const pm of [fromCard.id, onFile.body.id]) {
      for (const owner of [{ customer: cus.id }, { customer: other.id }, {}]) {
        expectError(await post("/v1/payment_intents", { amount: 1100, currency: "usd", payment_method: pm, confirm: true, ...owner }, m.opts), 400, "payment_method_unexpected_state");
      }
      expectError(await post(`/v1/payment_methods/${pm}/attach`, { customer: other.id }, m.opts), 400, "payment_method_unexpected_state");
      expect((await get<PmJson>(`/v1/payment_methods/${pm}`, m.opts)).body).toMatchObject({ id: pm, customer: null });
    }
    // A card saved without a customer, never attached, still pays (and attaches).
    const loose = await savedCard(m.opts, { card: { token: "tok_visa" } });
    expect((await post<{ status: string }>("/v1/payment_intents", { amount: 1100, currency: "usd", payment_method: loose.id, confirm: true }, m.opts)).body.status).toBe("succeeded");

    const types = (await eventTypes(m.opts, "payment_method.*")).map((e) => e.type);
    expect(types.filter((t) => t === "payment_method.attached")).toHaveLength(2);
    expect(types.filter((t) => t === "payment_method.detached")).toHaveLength(2);
  });

  it("take Stripe's test ids in test mode, as Stripe does: attach pm_card_visa, create a customer with pm_card_mastercard", async () => {
    const m = await newMerchant("pm-test-ids");
    const cus = await customer(m.opts);
    const attached = await post<PmJson>("/v1/payment_methods/pm_card_visa/attach", { customer: cus.id }, m.opts);
    expect(attached.status, JSON.stringify(attached.body)).toBe(200);
    expect(attached.body.id).toMatch(/^pm_/);
    expect(attached.body.id).not.toBe("pm_card_visa");
    expect(attached.body).toMatchObject({ customer: cus.id, card: { brand: "visa", last4: "4242" } });
    const withCard = await customer(m.opts, { payment_method: "pm_card_mastercard" });
    const methods = (await get<ListJson<PmJson>>(`/v1/customers/${withCard.id}/payment_methods`, m.opts)).body.data;
    expect(methods.map((p) => p.card?.last4)).toEqual(["4444"]);
    expect(withCard.invoice_settings.default_payment_method).toBe(methods[0]?.id);
    expectError(await post("/v1/payment_methods/pm_card_doesNotExist/attach", { customer: cus.id }, m.opts), 404);
    expectError(await post("/v1/payment_methods/pm_card_visa/attach", { customer: "cus_doesNotExist0001" }, m.opts), 400, "resource_missing");
  });

  it("a payment method made for a payment (test card, token, card details) is retrieved unattached, as at Stripe: the one paid with and the one declined; another merchant's is 404", async () => {
    const m = await newMerchant("pm-one-off");
    const other = await newMerchant("pm-one-off-other");
    const paid = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "pm_card_visa", confirm: true }, m.opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    const pmId = paid.body.payment_method as string;
    expect(pmId).toMatch(/^pm_/);
    const got = await get<PmJson & { created: number }>(`/v1/payment_methods/${pmId}`, m.opts);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    expect(got.body).toMatchObject({ id: pmId, object: "payment_method", customer: null, card: { brand: "visa", last4: "4242" } });
    expect(got.body.created).toBe(paid.body.created);
    const byToken = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "tok_mastercard", confirm: true }, m.opts);
    expect((await get<PmJson>(`/v1/payment_methods/${byToken.body.payment_method as string}`, m.opts)).body.card?.last4).toBe("4444");
    const declined = expectError(await post("/v1/payment_intents", { amount: 1000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true }, m.opts), 402);
    const failedPm = (declined.payment_method as { id: string }).id;
    expect((await get<PmJson>(`/v1/payment_methods/${failedPm}`, m.opts)).body).toMatchObject({ id: failedPm, customer: null, card: { last4: "0002" } });
    expectError(await get(`/v1/payment_methods/${pmId}`, other.opts), 404, "resource_missing");
    expectError(await get("/v1/payment_methods/pm_neverMadeAnywhere000", m.opts), 404, "resource_missing");
    // Attached to a customer, it is Stripe's refusal of a payment method used without a customer, not
    // a "no such payment method" about an id that can be read.
    const cus = await customer(m.opts);
    expect(expectError(await post(`/v1/payment_methods/${pmId}/attach`, { customer: cus.id }, m.opts), 400, "payment_method_unexpected_state").message).toContain("may not be used again");
    const otherCustomer = await customer(other.opts);
    expectError(await post(`/v1/payment_methods/${pmId}/attach`, { customer: otherCustomer.id }, other.opts), 404, "resource_missing");
  });

  it("expand, as at Stripe: a customer's default payment method, a payment method's customer, a charge's payment intent", async () => {
    const m = await newMerchant("pm-expand");
    const cus = await customer(m.opts, { payment_method: "pm_card_visa" });
    const pmId = cus.invoice_settings.default_payment_method ?? "";
    const key = "invoice_settings.default_payment_method";
    const one = await get<{ invoice_settings: { default_payment_method: PmJson } }>(`/v1/customers/${cus.id}?expand[]=${key}`, m.opts);
    expect(one.body.invoice_settings.default_payment_method).toMatchObject({ id: pmId, object: "payment_method", card: { last4: "4242" } });
    const many = await get<ListJson<{ id: string; invoice_settings: { default_payment_method: PmJson } }>>(`/v1/customers?expand[]=data.${key}`, m.opts);
    expect(many.body.data.find((x) => x.id === cus.id)?.invoice_settings.default_payment_method.id).toBe(pmId);
    expect((await get<CustomerJson>(`/v1/customers/${cus.id}`, m.opts)).body.invoice_settings.default_payment_method).toBe(pmId);
    // Stripe's legacy default_source expands, to null here (there are no sources); a field that is not expandable is a 400.
    expect((await get<{ default_source: unknown }>(`/v1/customers/${cus.id}?expand[]=default_source`, m.opts)).body.default_source).toBeNull();
    expectError(await get(`/v1/customers/${cus.id}?expand[]=email`, m.opts), 400);

    // One of the customer's cards by its id (customers.retrievePaymentMethod); another customer's is a 404.
    expect((await get<PmJson>(`/v1/customers/${cus.id}/payment_methods/${pmId}`, m.opts)).body).toMatchObject({ id: pmId, customer: cus.id });
    const stranger = await customer(m.opts);
    expectError(await get(`/v1/customers/${stranger.id}/payment_methods/${pmId}`, m.opts), 404, "resource_missing");
    expectError(await get(`/v1/customers/${cus.id}/payment_methods/pm_doesNotExist0001`, m.opts), 404, "resource_missing");
    const method = await get<{ customer: CustomerJson }>(`/v1/payment_methods/${pmId}?expand[]=customer`, m.opts);
    expect(method.body.customer).toMatchObject({ id: cus.id, object: "customer" });
    const methods = await get<ListJson<{ customer: CustomerJson }>>(`/v1/payment_methods?customer=${cus.id}&expand[]=data.customer`, m.opts);
    expect(methods.body.data.map((x) => x.customer.id)).toEqual([cus.id]);

    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 500, currency: "usd", payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const charge = await get<{ payment_intent: PaymentIntentJson }>(`/v1/charges/${String(pi.latest_charge)}?expand[]=payment_intent`, m.opts);
    expect(charge.body.payment_intent).toMatchObject({ id: pi.id, object: "payment_intent", status: "succeeded" });
    const charges = await get<ListJson<{ payment_intent: PaymentIntentJson }>>(`/v1/charges?payment_intent=${pi.id}&expand[]=data.payment_intent`, m.opts);
    expect(charges.body.data.map((x) => x.payment_intent.id)).toEqual([pi.id]);
    // Stripe's "get the fees" expansion: accepted, null here (no balance transactions); a field that is not expandable is a 400.
    expect((await get<{ balance_transaction: unknown }>(`/v1/charges/${String(pi.latest_charge)}?expand[]=balance_transaction`, m.opts)).body.balance_transaction).toBeNull();
    expectError(await get(`/v1/charges/${String(pi.latest_charge)}?expand[]=amount`, m.opts), 400);
  });

  it("rejects what cannot be saved, with a 4xx", async () => {
    const m = await newMerchant("pm-bad");
    const cus = await customer(m.opts);
    expectError(await post("/v1/payment_methods", {}, m.opts), 400, "parameter_missing");
    expectError(await post("/v1/payment_methods", { card: { number: "4242424242424241", exp_month: 1, exp_year: 2031 } }, m.opts), 402, "incorrect_number");
    expectError(await post("/v1/payment_methods", { card: { token: "tok_nope" } }, m.opts), 400, "resource_missing");
    expectError(await post(`/v1/customers/${cus.id}/payment_methods`, { payment_method: { type: "paypal" } }, m.opts), 400, "payment_method_unsupported_type");
    expectError(await post("/v1/payment_methods/pm_doesnotexist12345/attach", { customer: cus.id }, m.opts), 404);
    const other = await customer(m.opts, { email: "other@example.com" });
    const pm = await savedCard(m.opts, { card: { token: "tok_visa" } });
    await post(`/v1/payment_methods/${pm.id}/attach`, { customer: cus.id }, m.opts);
    expectError(await post(`/v1/payment_methods/${pm.id}/attach`, { customer: other.id }, m.opts), 400, "payment_method_already_attached");
    expectError(await post(`/v1/customers/${other.id}`, { invoice_settings: { default_payment_method: pm.id } }, m.opts), 400, "payment_method_not_attached");
  });

  it("attaches the same card more than once, as at Stripe: each attach answers the payment method named; two attaches racing on one attach it once", async () => {
    const m = await newMerchant("pm-duplicates");
    const cus = await customer(m.opts);
    const first = await post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_visa" }, m.opts);
    const again = await post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_visa", nickname: "dup" }, m.opts);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.id).not.toBe(first.body.id);
    expect(again.body).toMatchObject({ customer: cus.id, nickname: "dup" });
    expect(again.body.card?.fingerprint).toBe(first.body.card?.fingerprint);

    // Two stored copies of one card, attached at the same time: both attached, each answered itself.
    const card = { number: "5555555555554444", exp_month: 12, exp_year: 2030 };
    const x = await savedCard(m.opts, { card });
    const y = await savedCard(m.opts, { card });
    expect(x.card?.fingerprint).toBe(y.card?.fingerprint);
    const [ax, ay] = await Promise.all([post<PmJson>(`/v1/payment_methods/${x.id}/attach`, { customer: cus.id }, m.opts), post<PmJson>(`/v1/payment_methods/${y.id}/attach`, { customer: cus.id }, m.opts)]);
    expect(ax.status).toBe(200);
    expect(ay.status).toBe(200);
    expect([ax.body.id, ay.body.id]).toEqual([x.id, y.id]);
    expect([ax.body.customer, ay.body.customer]).toEqual([cus.id, cus.id]);
    const list = await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods`, m.opts);
    expect(list.body.data.map((p) => p.id).sort()).toEqual([first.body.id, again.body.id, x.id, y.id].sort());

    // Two attaches of one payment method racing: attached once (one payment_method.attached event), both answer it.
    const z = await savedCard(m.opts, { card });
    const [az, bz] = await Promise.all([post<PmJson>(`/v1/payment_methods/${z.id}/attach`, { customer: cus.id }, m.opts), post<PmJson>(`/v1/payment_methods/${z.id}/attach`, { customer: cus.id }, m.opts)]);
    expect([az.status, bz.status]).toEqual([200, 200]);
    expect([az.body.id, bz.body.id]).toEqual([z.id, z.id]);
    expect((await eventTypes(m.opts, "payment_method.attached")).filter((e) => e.data.object.id === z.id)).toHaveLength(1);
    // A detached copy stays detached; another customer's copy is refused.
    expect((await post(`/v1/payment_methods/${y.id}/detach`, {}, m.opts)).status).toBe(200);
    expectError(await post(`/v1/payment_methods/${y.id}/attach`, { customer: cus.id }, m.opts), 400, "payment_method_unexpected_state");
    const other = await customer(m.opts, { email: "other@example.com" });
    expectError(await post(`/v1/payment_methods/${x.id}/attach`, { customer: other.id }, m.opts), 400, "payment_method_already_attached");
  });
});

describe("cards on file in payments", () => {
  it("the card already on an intent is checked again where it would pay: another customer's after a customer change, or detached since", async () => {
    const m = await newMerchant("pm-held");
    const [one, two] = [await customer(m.opts), await customer(m.opts)];
    const twosCard = await savedCard(m.opts, { card: { token: "tok_mastercard" } });
    expect((await post(`/v1/payment_methods/${twosCard.id}/attach`, { customer: two.id }, m.opts)).status).toBe(200);

    // Its customer changed to another: the card stays the first customer's, so neither the update nor
    // a confirm by the new customer's own token may pay with it.
    const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 4200, currency: "usd", customer: two.id, payment_method: twosCard.id }, m.opts);
    expect(pi.status, JSON.stringify(pi.body)).toBe(200);
    expectError(await post(`/v1/payment_intents/${pi.body.id}`, { customer: one.id }, m.opts), 400, "payment_method_customer_mismatch");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.body.id}`, m.opts)).body.customer).toBe(two.id);
    // With a new card in the same request, the change is fine.
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.body.id}`, { customer: one.id, payment_method: "pm_card_visa" }, m.opts)).body.customer).toBe(one.id);

    // Detached after it was put on an intent: confirming with it (on /v1 or seed 004) is refused, nothing charged.
    const held = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 5100, currency: "usd", customer: two.id, payment_method: twosCard.id }, m.opts);
    expect((await post(`/v1/payment_methods/${twosCard.id}/detach`, {}, m.opts)).status).toBe(200);
    expectError(await post(`/v1/payment_intents/${held.body.id}/confirm`, {}, m.opts), 400, "payment_method_unexpected_state");
    const seed004 = await post<{ error: string }>("/api/v1/payments/stripe/confirm-payment/", { payment_intent_id: held.body.id }, m.opts);
    expect(seed004.status, JSON.stringify(seed004.body)).toBe(400);
    expect(seed004.body.error).toMatch(/detached/);
    const after = await get<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}`, m.opts);
    expect(after.body).toMatchObject({ status: "requires_confirmation", amount_received: 0 });
    // Another card given with the confirm pays.
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${held.body.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts)).body.status).toBe("succeeded");
  });

  it("setup_future_usage saves the card used; a later off-session charge uses it", async () => {
    const m = await newMerchant("pm-sfu");
    const cus = await customer(m.opts);
    const first = await post<PaymentIntentJson>(
      "/v1/payment_intents",
      { amount: 1500, currency: "usd", customer: cus.id, payment_method: "pm_card_visa", setup_future_usage: "off_session", confirm: true },
      m.opts,
    );
    expect(first.body).toMatchObject({ status: "succeeded", setup_future_usage: "off_session" });
    const saved = await get<ListJson<PmJson>>(`/v1/customers/${cus.id}/payment_methods`, m.opts);
    expect(saved.body.data).toHaveLength(1);
    const pm = saved.body.data[0] as PmJson;
    expect(pm.id).toBe(first.body.payment_method);

    const offSession = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd", customer: cus.id, payment_method: pm.id, off_session: true, confirm: true }, m.opts);
    expect(offSession.status).toBe(200);
    expect(offSession.body).toMatchObject({ status: "succeeded", amount_received: 2500, payment_method: pm.id, customer: cus.id });
    const payments = await get<ListJson<PaymentIntentJson>>(`/v1/customers/${cus.id}/payment_intents`, m.opts);
    expect(payments.body.data.map((p) => p.id)).toEqual([offSession.body.id, first.body.id]);
    // The customer is checked beside the page (one round trip), and its answer comes first: an unknown
    // or another merchant's customer is a 404 naming it whatever the cursor; a known one with an
    // unknown cursor is the cursor's (a 404 naming starting_after, as on every list).
    const stranger = await newMerchant("cus-pi-precedence");
    for (const who of ["cus_doesNotExist0001", cus.id]) {
      const missing = expectError(await get(`/v1/customers/${who}/payment_intents?starting_after=pi_noSuchIntent0001`, stranger.opts), 404, "resource_missing");
      expect(missing.param).toBe("id");
      expect(missing.message).toContain(who);
    }
    const badCursor = expectError(await get(`/v1/customers/${cus.id}/payment_intents?starting_after=pi_noSuchIntent0001`, m.opts), 400, "resource_missing");
    expect(badCursor.param).toBe("starting_after");

    // A saved card pays only for its customer; off_session needs a confirmation.
    const other = await customer(m.opts, { email: "someone@example.com" });
    expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd", customer: other.id, payment_method: pm.id, confirm: true }, m.opts), 400, "payment_method_customer_mismatch");
    // The same on update (then a confirm without payment_method would charge it), and on seed 004's create and confirm.
    const otherIntent = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 100, currency: "usd", customer: other.id }, m.opts)).body;
    expectError(await post(`/v1/payment_intents/${otherIntent.id}`, { payment_method: pm.id }, m.opts), 400, "payment_method_customer_mismatch");
    expectError(await post(`/v1/payment_intents/${otherIntent.id}/confirm`, {}, m.opts), 400);
    expect((await post("/api/v1/payments/stripe/create-payment-intent", { amount: 1, currency: "usd", customer: other.id, payment_method: pm.id }, m.opts)).status).toBe(400);
    expect((await post("/api/v1/payments/stripe/confirm-payment", { payment_intent_id: otherIntent.id, payment_method: pm.id }, m.opts)).status).toBe(400);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${otherIntent.id}`, m.opts)).body.status).toBe("requires_payment_method");
    expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd", customer: cus.id, payment_method: pm.id, off_session: true }, m.opts), 400);
    // setup_future_usage without a customer: as at Stripe, the payment goes through and nothing is saved.
    const unsaved = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 100, currency: "usd", payment_method: "pm_card_visa", setup_future_usage: "off_session", confirm: true }, m.opts);
    expect(unsaved.body).toMatchObject({ status: "succeeded", setup_future_usage: "off_session", customer: null });
  });

  it("an off-session charge on a card that wants 3DS is declined with authentication_required", async () => {
    const m = await newMerchant("pm-offsession-3ds");
    const cus = await customer(m.opts);
    const pm = await post<PmJson>(`/v1/customers/${cus.id}/payment_methods`, { payment_method: "tok_threeDSecure2Required" }, m.opts);
    const res = await post<{ error: { code: string; decline_code: string; payment_intent: PaymentIntentJson } }>(
      "/v1/payment_intents",
      { amount: 2500, currency: "usd", customer: cus.id, payment_method: pm.body.id, off_session: true, confirm: true },
      m.opts,
    );
    const error = expectError(res, 402, "authentication_required");
    expect(error.decline_code).toBe("authentication_required");
    expect(error.payment_intent?.status).toBe("requires_payment_method");
    expect(error.payment_intent?.next_action).toBeNull();
    // On session the same card gets its challenge.
    const onSession = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd", customer: cus.id, payment_method: pm.body.id, confirm: true }, m.opts);
    expect(onSession.body.status).toBe("requires_action");
  });
});

describe("storage", () => {
  it("holds no card number or CVC anywhere: every D1 table and the intents' Durable Objects", async () => {
    const m = await newMerchant("pm-scan");
    const cus = await customer(m.opts);
    const number = "4000056655665556";
    const cvc = "947";
    await savedCard(m.opts, { card: { number, exp_month: 3, exp_year: 2033, cvc } });
    await post(`/v1/customers/${cus.id}/payment_methods`, { payment_method: { type: "card", card: { number: "5200828282828210", exp_month: 4, exp_year: 2034, cvc: "582" } } }, m.opts);
    const paid = await post<PaymentIntentJson>(
      "/v1/payment_intents",
      { amount: 990, currency: "usd", customer: cus.id, payment_method_data: { type: "card", card: { number: "6011111111111117", exp_month: 5, exp_year: 2035, cvc: "837" } }, setup_future_usage: "on_session", confirm: true },
      { ...m.opts, idempotencyKey: uniqueKey("scan") },
    );
    expect(paid.body.status).toBe("succeeded");
    await waitFor(async () => (await get<EventListJson>(`/v1/events?payment_intent=${paid.body.id}`, m.opts)).body.data.length > 0, 10_000, "the intent's events in D1");

    const numbers = [number, "5200828282828210", "6011111111111117", ...TEST_CARDS.map((c) => c.number)];
    const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).toEqual(expect.arrayContaining(["customers", "payment_methods", "payment_intents", "events", "idempotency_keys", "audit_log", "invoices"]));
    for (const { name } of tables.results) {
      const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
      const text = JSON.stringify(rows.results);
      for (const n of numbers) expect(text.includes(n), `card number in D1 table ${name}`).toBe(false);
      expect(/"cvc"\s*:/.test(text) || /\\"cvc\\"/.test(text), `a cvc field in D1 table ${name}`).toBe(false);
    }
    const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(paid.body.id));
    const stored = await runInDurableObject(stub, async (_instance, state) => JSON.stringify([...(await state.storage.list()).entries()]));
    expect(stored).toContain(paid.body.id);
    for (const n of numbers) expect(stored.includes(n), "card number in the intent's Durable Object").toBe(false);
    for (const secret of ["837", "cvc"]) expect(stored.includes(`"${secret}"`), `${secret} in the intent's Durable Object`).toBe(false);
  });
});
