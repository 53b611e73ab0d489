// Stripe fidelity of refunds and payment methods, as the stripe package sees them:
// - a refund's customer and payment_method are its charge's (they were always null), and expand them;
// - GET /v1/payment_methods takes every `type` of Stripe's PaymentMethodListParams.Type (only "card" did);
// - a payment method not saved to a customer cannot be updated (it answered 200);
// - payment_method.detached carries previous_attributes.customer.
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { PAYMENT_METHOD_LIST_TYPES } from "../../src/api/v1/payment_methods";
import { expectError, get, newMerchant, ok, post, storedEventRecords, stripeClient, waitFor, type ListJson, type RefundJson } from "../helpers";

interface EventJson {
  type: string;
  data: { object: { id: string } & Record<string, unknown>; previous_attributes?: Record<string, unknown> };
}

/** A merchant with a customer who paid 3000 with a card saved to them, and refunded 1000 of it. */
async function refundedCustomerPayment(label: string) {
  const m = await newMerchant(label);
  const stripe = stripeClient(m.key);
  const customer = await stripe.customers.create({ name: "Jenny Rosen" });
  const pm = await stripe.paymentMethods.attach((await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } })).id, { customer: customer.id });
  const pi = await stripe.paymentIntents.create({ amount: 3000, currency: "usd", customer: customer.id, payment_method: pm.id, confirm: true });
  expect(pi.status).toBe("succeeded");
  const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 });
  return { m, stripe, customer, pm, pi, refund };
}

/** A restricted key of the merchant behind `key`, with just these permissions. */
async function restrictedKey(key: string, permissions: string[]): Promise<string> {
  const res = await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.secret ?? "";
}

describe("a refund's customer and payment_method are its charge's", () => {
  it("on create, retrieve, list, update, a charge's refunds and the refund's events", async () => {
    const { m, stripe, customer, pm, pi, refund } = await refundedCustomerPayment("fidelity-refund-parties");
    const charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect([charge.customer, charge.payment_method]).toEqual([customer.id, pm.id]);
    const mine = { customer: customer.id, payment_method: pm.id };
    expect(refund).toMatchObject(mine);
    // The read model (retrieve and list without expand) and the intent's object agree.
    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject(mine);
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data).toMatchObject([mine]);
    expect((await stripe.refunds.list({ payment_intent: pi.id, expand: ["data.charge"] })).data).toMatchObject([mine]);
    expect((await ok(get<ListJson<RefundJson>>(`/v1/charges/${charge.id}/refunds`, m.opts))).data).toMatchObject([mine]);
    expect((await ok(get<RefundJson>(`/v1/charges/${charge.id}/refunds/${refund.id}`, m.opts)))).toMatchObject(mine);
    expect((await stripe.charges.retrieve(charge.id, { expand: ["refunds"] })).refunds?.data).toMatchObject([mine]);
    expect(await stripe.refunds.update(refund.id, { metadata: { ticket: "T-1" } })).toMatchObject(mine);
    const events = await waitFor(async () => {
      const found = (await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.object.id === refund.id);
      return found.some((e) => e.type === "refund.updated") ? found : undefined;
    }, 15_000, "the refund's events");
    for (const e of events) expect(e.object).toMatchObject(mine);
    // Unchanged, they are no previous attribute of refund.updated.
    expect(events.find((e) => e.type === "refund.updated")?.previousAttributes).toEqual({ metadata: { ticket: null } });
  });

  it("without a customer: customer null, payment_method the payment's (a test card, never saved)", async () => {
    const m = await newMerchant("fidelity-refund-guest");
    const stripe = stripeClient(m.key);
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const paidWith = String(pi.payment_method);
    expect(paidWith).toMatch(/^pm_/);
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    expect(refund).toMatchObject({ customer: null, payment_method: paidWith });
    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ customer: null, payment_method: paidWith });
    // Expanded from the intent that carries it, as GET /v1/payment_methods/{id} finds it.
    const expanded = await stripe.refunds.retrieve(refund.id, { expand: ["payment_method", "customer"] });
    expect(expanded.customer).toBeNull();
    expect(expanded.payment_method).toMatchObject({ id: paidWith, object: "payment_method", type: "card", customer: null, card: { last4: "4242" } });
  });

  it("expand[]=customer and expand[]=payment_method answer the objects (data. on lists), with the permission reading them needs", async () => {
    const { m, stripe, customer, pm, pi, refund } = await refundedCustomerPayment("fidelity-refund-expand");
    const one = await stripe.refunds.retrieve(refund.id, { expand: ["customer", "payment_method"] });
    expect(one.customer).toMatchObject({ id: customer.id, object: "customer", name: "Jenny Rosen" });
    expect(one.payment_method).toMatchObject({ id: pm.id, object: "payment_method", customer: customer.id, card: { last4: "4242" } });
    // Nested: the payment method's customer.
    const nested = await stripe.refunds.retrieve(refund.id, { expand: ["payment_method.customer"] });
    expect((nested.payment_method as Stripe.PaymentMethod).customer).toMatchObject({ id: customer.id, object: "customer" });
    const listed = await stripe.refunds.list({ payment_intent: pi.id, expand: ["data.customer", "data.payment_method"] });
    expect(listed.data[0]?.customer).toMatchObject({ id: customer.id, object: "customer" });
    expect(listed.data[0]?.payment_method).toMatchObject({ id: pm.id, object: "payment_method" });
    const updated = await stripe.refunds.update(refund.id, { expand: ["customer"] });
    expect(updated.customer).toMatchObject({ id: customer.id, object: "customer" });
    expectError(await get(`/v1/refunds?expand[]=customer`, m.opts), 400);
    // A key that may read payments but not customers or payment methods may not expand them.
    const viewer = await restrictedKey(m.key, ["payments.transactions.view"]);
    expect((await ok(get<RefundJson>(`/v1/refunds/${refund.id}`, { key: viewer }))).customer).toBe(customer.id);
    expectError(await get(`/v1/refunds/${refund.id}?expand[]=customer`, { key: viewer }), 403);
    expectError(await get(`/v1/refunds/${refund.id}?expand[]=payment_method`, { key: viewer }), 403);
  });
});

/** Stripe's open enums end in OtherString (`string & {}`): their literal values only. */
type Known<T> = T extends unknown ? (string extends T ? never : T) : never;
type MissingListType = Exclude<Known<Stripe.PaymentMethodListParams.Type>, (typeof PAYMENT_METHOD_LIST_TYPES)[number]>;
type ExtraListType = Exclude<(typeof PAYMENT_METHOD_LIST_TYPES)[number], Known<Stripe.PaymentMethodListParams.Type>>;
// Checked by tsc: the gateway takes exactly Stripe's values.
const SAME_TYPES: [MissingListType, ExtraListType] extends [never, never] ? true : false = true;

describe("GET /v1/payment_methods?type=", () => {
  it("takes every type of Stripe's PaymentMethodListParams.Type: the customer's cards for card, an empty list for the others", async () => {
    expect(SAME_TYPES).toBe(true);
    const m = await newMerchant("fidelity-pm-types");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({});
    const card = await stripe.paymentMethods.attach((await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } })).id, { customer: customer.id });
    for (const type of PAYMENT_METHOD_LIST_TYPES) {
      const list = await stripe.paymentMethods.list({ customer: customer.id, type });
      expect({ type, ids: list.data.map((p) => p.id) }).toEqual({ type, ids: type === "card" ? [card.id] : [] });
    }
    expect((await stripe.paymentMethods.list({ type: "paypal" })).data).toEqual([]);
    expect((await stripe.paymentMethods.list({ type: "card" })).data.map((p) => p.id)).toEqual([card.id]);
  });

  it("an unknown type is Stripe's 400 naming the parameter, in plain words", async () => {
    const m = await newMerchant("fidelity-pm-type-unknown");
    const customer = await ok(post<{ id: string }>("/v1/customers", {}, m.opts));
    for (const type of ["bogus", "card_present", "CARD"]) {
      const err = expectError(await get(`/v1/payment_methods?customer=${customer.id}&type=${type}`, m.opts), 400, "parameter_invalid");
      expect(err).toMatchObject({ type: "invalid_request_error", param: "type" });
      expect(err.message).toContain("must be one of Stripe's payment method types");
      expect(err.message).not.toMatch(/Invalid input|expected/);
    }
  });
});

describe("POST /v1/payment_methods/:id of a payment method not saved to a customer", () => {
  it("is Stripe's 400, never attached or detached since; attached, it updates", async () => {
    const m = await newMerchant("fidelity-pm-update");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({});
    const pm = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    const refused = async () => {
      const err = expectError(await post(`/v1/payment_methods/${pm.id}`, { metadata: { a: "1" } }, m.opts), 400);
      expect(err).toMatchObject({ type: "invalid_request_error", message: "You must save this PaymentMethod to a customer before you can update it." });
      await expect(stripe.paymentMethods.update(pm.id, { billing_details: { name: "Jenny" } })).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    };
    await refused();
    await stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    expect((await stripe.paymentMethods.update(pm.id, { metadata: { a: "1" } })).metadata).toEqual({ a: "1" });
    await stripe.paymentMethods.detach(pm.id);
    await refused();
    // Nothing was written while it was refused, and no payment_method.updated told of it.
    expect((await stripe.paymentMethods.retrieve(pm.id)).metadata).toEqual({ a: "1" });
    const updated = (await ok(get<ListJson<EventJson>>("/v1/events?type=payment_method.updated", m.opts))).data;
    expect(updated).toHaveLength(1);
  });
});

describe("payment_method.detached", () => {
  // As Stripe's: the event's object has customer null, and previous_attributes names the one it left.
  it("carries previous_attributes: the customer it was detached from", async () => {
    const m = await newMerchant("fidelity-pm-detached");
    const stripe = stripeClient(m.key);
    const customer = await stripe.customers.create({});
    const pm = await stripe.paymentMethods.attach((await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } })).id, { customer: customer.id });
    await stripe.paymentMethods.detach(pm.id);
    const events = (await ok(get<ListJson<EventJson>>("/v1/events?type=payment_method.detached", m.opts))).data;
    expect(events.map((e) => [e.data.object.id, e.data.object.customer, e.data.previous_attributes])).toEqual([[pm.id, null, { customer: customer.id }]]);
  });
});
