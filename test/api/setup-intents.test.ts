// Stripe's Setup Intents (/v1/setup_intents, src/billing/setup-intents.ts): a card saved for a
// customer without a payment. Confirming checks the card (the sandbox's zero-amount verification) and
// attaches it to the setup's customer, with the setup's status, its events and the attach in one
// transaction; a declined card is a 402 card_error carrying the setup, which goes back to
// requires_payment_method with its last_setup_error; concurrent confirmations save one card once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { confirmSetup, findSetupIntent } from "../../src/billing/setup-intents";
import { findPaymentMethod } from "../../src/billing/store";
import { call, expectError, get, newMerchant, ok, post, waitFor, type CallOptions, type ListJson } from "../helpers";

interface SetupJson {
  id: string;
  object: string;
  status: string;
  client_secret: string;
  customer: string | { id: string } | null;
  payment_method: string | { id: string; customer: string | null } | null;
  usage: string;
  cancellation_reason: string | null;
  last_setup_error: { type: string; code: string; decline_code: string; message: string; payment_method: { id: string; card: { last4: string } } } | null;
  metadata: Record<string, string>;
  next_action: null;
  payment_method_types: string[];
  livemode: boolean;
  created: number;
}

interface SetupErrorJson {
  error: { type: string; code: string; decline_code?: string; message: string; setup_intent?: SetupJson; payment_method?: { id: string } };
}

async function customerOf(opts: CallOptions, label: string): Promise<string> {
  return (await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com` }, opts))).id;
}

const cardsOf = async (opts: CallOptions, customer: string) => (await ok(get<ListJson<{ id: string; card: { last4: string } }>>(`/v1/payment_methods?customer=${customer}`, opts))).data;
const eventsOf = async (opts: CallOptions, type: string) => (await ok(get<ListJson<{ type: string; data: { object: { id: string; status?: string; customer?: string } } }>>(`/v1/events?type=${type}&limit=100`, opts))).data;

describe("/v1/setup_intents", () => {
  it("takes Stripe's older payment_method_types=[card] (its save-card sample) on create and update; another type is a 400", async () => {
    const { opts } = await newMerchant("setup-method-types");
    const customer = (await post<{ id: string }>("/v1/customers", { email: "types@example.com" }, opts)).body;
    const made = await post<{ id: string; payment_method_types: string[] }>("/v1/setup_intents", { customer: customer.id, payment_method_types: ["card"] }, opts);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body.payment_method_types).toEqual(["card"]);
    expect((await post(`/v1/setup_intents/${made.body.id}`, { payment_method_types: ["card"] }, opts)).status).toBe(200);
    expect(expectError(await post("/v1/setup_intents", { customer: customer.id, payment_method_types: ["paypal"] }, opts), 400).param).toMatch(/^payment_method_types/);
  });

  it("saves a card for a customer: created without one, then confirmed with it, the card attached; retrieve, list and events say so", async () => {
    const m = await newMerchant("setup-basic");
    const customer = await customerOf(m.opts, "setup-basic");
    const created = await ok(post<SetupJson>("/v1/setup_intents", { customer, metadata: { order: "42" }, description: "Card on file" }, m.opts));
    expect(created).toMatchObject({ object: "setup_intent", status: "requires_payment_method", customer, payment_method: null, usage: "off_session", next_action: null, last_setup_error: null, payment_method_types: ["card"], livemode: false, metadata: { order: "42" } });
    expect(created.id).toMatch(/^seti_/);
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_[A-Za-z0-9]{24}$`));
    expect(await cardsOf(m.opts, customer)).toEqual([]);

    const confirmed = await ok(post<SetupJson>(`/v1/setup_intents/${created.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts));
    expect(confirmed.status).toBe("succeeded");
    expect(confirmed.client_secret).toBe(created.client_secret);
    const pm = confirmed.payment_method as string;
    expect(pm).toMatch(/^pm_/);
    expect(pm).not.toBe("pm_card_visa");
    expect((await cardsOf(m.opts, customer)).map((c) => [c.id, c.card.last4])).toEqual([[pm, "4242"]]);

    const read = await ok(get<SetupJson>(`/v1/setup_intents/${created.id}?expand[]=payment_method&expand[]=customer`, m.opts));
    expect(read.status).toBe("succeeded");
    expect(read.payment_method).toMatchObject({ id: pm, customer });
    expect(read.customer).toMatchObject({ id: customer });
    const listed = await ok(get<ListJson<SetupJson>>(`/v1/setup_intents?customer=${customer}`, m.opts));
    expect(listed.data.map((s) => s.id)).toEqual([created.id]);
    expect((await ok(get<ListJson<SetupJson>>(`/v1/setup_intents?payment_method=${pm}`, m.opts))).data.map((s) => s.id)).toEqual([created.id]);

    await waitFor(async () => (await eventsOf(m.opts, "setup_intent.succeeded")).length === 1, 15_000, "setup_intent.succeeded");
    expect((await eventsOf(m.opts, "setup_intent.created")).map((e) => e.data.object.id)).toEqual([created.id]);
    expect((await eventsOf(m.opts, "setup_intent.succeeded"))[0]?.data.object).toMatchObject({ id: created.id, status: "succeeded" });
    expect((await eventsOf(m.opts, "payment_method.attached")).map((e) => e.data.object.id)).toEqual([pm]);

    // Done: confirmed again, canceled or given another card, it answers Stripe's 400.
    expectError(await post(`/v1/setup_intents/${created.id}/confirm`, {}, m.opts), 400, "setup_intent_unexpected_state");
    expectError(await post(`/v1/setup_intents/${created.id}/cancel`, {}, m.opts), 400, "setup_intent_unexpected_state");
    expectError(await post(`/v1/setup_intents/${created.id}`, { payment_method: "pm_card_mastercard" }, m.opts), 400, "setup_intent_unexpected_state");
    // Its metadata can still change.
    expect((await ok(post<SetupJson>(`/v1/setup_intents/${created.id}`, { metadata: { order: "", note: "kept" } }, m.opts))).metadata).toEqual({ note: "kept" });
  });

  it("a declined card is a 402 card_error carrying the setup, back to requires_payment_method with its last_setup_error; another card then succeeds", async () => {
    const m = await newMerchant("setup-decline");
    const customer = await customerOf(m.opts, "setup-decline");
    const res = await post<SetupErrorJson>("/v1/setup_intents", { customer, confirm: true, payment_method_data: { type: "card", card: { number: "4000000000000002", exp_month: 12, exp_year: 2034, cvc: "123" } } }, m.opts);
    const error = expectError(res, 402, "card_declined");
    expect(error.type).toBe("card_error");
    const body = res.body.error;
    expect(body.decline_code).toBe("generic_decline");
    const setup = body.setup_intent;
    expect(setup).toMatchObject({ object: "setup_intent", status: "requires_payment_method", payment_method: null, customer });
    expect(setup?.last_setup_error).toMatchObject({ type: "card_error", code: "card_declined", decline_code: "generic_decline", payment_method: { card: { last4: "0002" } } });
    expect(body.payment_method?.id).toBe(setup?.last_setup_error?.payment_method.id);
    // Nothing saved for the customer; the card number is nowhere in the answer.
    expect(await cardsOf(m.opts, customer)).toEqual([]);
    expect(JSON.stringify(res.body)).not.toContain("4000000000000002");

    const id = setup?.id ?? "";
    const again = await ok(post<SetupJson>(`/v1/setup_intents/${id}/confirm`, { payment_method: "tok_mastercard" }, m.opts));
    expect(again).toMatchObject({ status: "succeeded", last_setup_error: null });
    expect((await cardsOf(m.opts, customer)).map((c) => c.card.last4)).toEqual(["4444"]);
    await waitFor(async () => (await eventsOf(m.opts, "setup_intent.setup_failed")).length === 1, 15_000, "setup_intent.setup_failed");
  });

  it("checks cards as Stripe's test cards say: the attach-then-decline card is saved, a 3D Secure card asks for a challenge (requires_action), insufficient funds declines", async () => {
    const m = await newMerchant("setup-cards");
    const customer = await customerOf(m.opts, "setup-cards");
    const saved = await ok(post<SetupJson>("/v1/setup_intents", { customer, confirm: true, payment_method: "pm_card_chargeCustomerFail" }, m.opts));
    expect(saved.status).toBe("succeeded");
    // Not saved until its customer passes the challenge (test/api/setup-intents-3ds.test.ts).
    const threeDs = await ok(post<{ status: string; next_action: { type: string } | null }>("/v1/setup_intents", { customer, confirm: true, payment_method: "pm_card_threeDSecureRequired" }, m.opts));
    expect(threeDs.status).toBe("requires_action");
    expect(threeDs.next_action?.type).toBe("redirect_to_url");
    const funds = await post<SetupErrorJson>("/v1/setup_intents", { customer, confirm: true, payment_method: "pm_card_chargeDeclinedInsufficientFunds" }, m.opts);
    expect(expectError(funds, 402, "card_declined").decline_code).toBe("insufficient_funds");
    expect((await cardsOf(m.opts, customer)).map((c) => c.card.last4)).toEqual(["0341"]);
  });

  it("update names the card (requires_confirmation), a confirmation without a card is refused, cancel ends it with its reason", async () => {
    const m = await newMerchant("setup-update");
    const customer = await customerOf(m.opts, "setup-update");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", {}, m.opts));
    expectError(await post(`/v1/setup_intents/${setup.id}/confirm`, {}, m.opts), 400, "setup_intent_unexpected_state");
    const named = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}`, { customer, payment_method: "pm_card_amex" }, m.opts));
    expect(named).toMatchObject({ status: "requires_confirmation", customer });
    expect(named.payment_method).toMatch(/^pm_/);
    // The customer, once set, stays.
    const other = await customerOf(m.opts, "setup-update-other");
    expectError(await post(`/v1/setup_intents/${setup.id}`, { customer: other }, m.opts), 400);
    const canceled = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/cancel`, { cancellation_reason: "requested_by_customer" }, m.opts));
    expect(canceled).toMatchObject({ status: "canceled", cancellation_reason: "requested_by_customer" });
    expectError(await post(`/v1/setup_intents/${setup.id}/confirm`, {}, m.opts), 400, "setup_intent_unexpected_state");
    expect(await cardsOf(m.opts, customer)).toEqual([]);
    expectError(await post("/v1/setup_intents", { cancellation_reason: "abandoned" }, m.opts), 400, "parameter_unknown");
    expectError(await post("/v1/setup_intents", { single_use: { amount: 100, currency: "usd" } }, m.opts), 400, "parameter_not_supported");
  });

  it("never saves a card for two customers or across merchants: another customer's card, a detached one, another merchant's setup", async () => {
    const m = await newMerchant("setup-owners");
    const a = await customerOf(m.opts, "setup-owner-a");
    const b = await customerOf(m.opts, "setup-owner-b");
    const card = await ok(post<{ id: string }>("/v1/payment_methods", { payment_method: "pm_card_visa" }, m.opts));
    await ok(post(`/v1/payment_methods/${card.id}/attach`, { customer: a }, m.opts));
    expectError(await post("/v1/setup_intents", { customer: b, payment_method: card.id }, m.opts), 400, "payment_method_already_attached");
    const forB = await ok(post<SetupJson>("/v1/setup_intents", { customer: b }, m.opts));
    expectError(await post(`/v1/setup_intents/${forB.id}/confirm`, { payment_method: card.id }, m.opts), 400, "payment_method_already_attached");
    await ok(post(`/v1/payment_methods/${card.id}/detach`, {}, m.opts));
    expectError(await post(`/v1/setup_intents/${forB.id}/confirm`, { payment_method: card.id }, m.opts), 400, "payment_method_unexpected_state");
    expect(await cardsOf(m.opts, b)).toEqual([]);

    const other = await newMerchant("setup-owners-other");
    expectError(await get(`/v1/setup_intents/${forB.id}`, other.opts), 404, "resource_missing");
    expectError(await post(`/v1/setup_intents/${forB.id}/confirm`, { payment_method: "pm_card_visa" }, other.opts), 404, "resource_missing");
    expectError(await post("/v1/setup_intents", { customer: a }, other.opts), 400, "resource_missing");
    expect((await ok(get<ListJson<SetupJson>>("/v1/setup_intents", other.opts))).data).toEqual([]);
  });

  it("a deleted customer gets no card: the confirmation is refused, and the batch itself refuses a setup read before the deletion", async () => {
    const m = await newMerchant("setup-deleted");
    const customer = await customerOf(m.opts, "setup-deleted");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", { customer, payment_method: "pm_card_visa" }, m.opts));
    const pm = setup.payment_method as string;
    const second = await ok(post<SetupJson>("/v1/setup_intents", { customer, payment_method: "pm_card_mastercard" }, m.opts));
    const row = await findSetupIntent(env.DB, { merchantId: m.id, livemode: false }, second.id);
    const card = await findPaymentMethod(env.DB, { merchantId: m.id, livemode: false }, second.payment_method as string);
    await ok(call("DELETE", `/v1/customers/${customer}`, m.opts));
    const refused = expectError(await post(`/v1/setup_intents/${setup.id}/confirm`, {}, m.opts), 400, "resource_missing");
    expect(refused.param).toBe("customer");
    expect((await ok(get<{ customer: string | null }>(`/v1/payment_methods/${pm}`, m.opts))).customer).toBeNull();
    // The check in the request came before the deletion (a race): the transaction refuses it itself.
    const outcome = await confirmSetup(env, { merchantId: m.id, livemode: false }, row, card, { requestId: null, livemode: false, challenge: { origin: "http://gateway.test", returnUrl: null } });
    expect(outcome.kind).toBe("lost");
    expect((await ok(get<{ customer: string | null }>(`/v1/payment_methods/${card.id}`, m.opts))).customer).toBeNull();
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${second.id}`, m.opts))).status).toBe("requires_confirmation");
  });

  it("concurrent confirmations of one setup, each with its own card: one succeeds, the others are refused, and one card is saved once", async () => {
    const m = await newMerchant("setup-race");
    const customer = await customerOf(m.opts, "setup-race");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", { customer }, m.opts));
    const cards = ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover", "pm_card_visa_debit", "pm_card_jcb"];
    const answers = await Promise.all(cards.map((pm) => post<SetupJson>(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: pm }, m.opts)));
    const won = answers.filter((r) => r.status === 200);
    expect(won.length, JSON.stringify(answers.map((r) => r.status))).toBe(1);
    for (const r of answers) if (r.status !== 200) expectError(r, 400, "setup_intent_unexpected_state");
    const pm = won[0]?.body.payment_method;
    expect((await cardsOf(m.opts, customer)).map((c) => c.id)).toEqual([pm]);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, m.opts))).payment_method).toBe(pm);
    await waitFor(async () => (await eventsOf(m.opts, "setup_intent.succeeded")).length >= 1, 15_000, "setup_intent.succeeded");
    expect((await eventsOf(m.opts, "setup_intent.succeeded")).length).toBe(1);
    expect((await eventsOf(m.opts, "payment_method.attached")).map((e) => e.data.object.id)).toEqual([pm]);
  });

  it("a saved card is charged off session afterwards, as a card saved by a setup is meant to be", async () => {
    const m = await newMerchant("setup-charge");
    const customer = await customerOf(m.opts, "setup-charge");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", { customer, payment_method: "pm_card_visa", confirm: true }, m.opts));
    const charged = await ok(post<{ status: string; amount_received: number }>("/v1/payment_intents", { amount: 1500, currency: "usd", customer, payment_method: setup.payment_method, confirm: true, off_session: true }, m.opts));
    expect(charged).toMatchObject({ status: "succeeded", amount_received: 1500 });
  });
});
