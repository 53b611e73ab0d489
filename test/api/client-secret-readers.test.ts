// A client secret is a credential (with it the hosted page, or a publishable key, confirms the
// payment or saves the card): /v1 answers it only to a credential that may do that itself. A reader
// (support, a restricted key or token narrowed to viewing) gets client_secret null, and no challenge
// address carrying it, wherever the object appears (src/api/v1/secrets.ts); as seed 000's surface does.
import { describe, expect, it } from "vitest";
import { bearer, get, hsToken, newMerchant, ok, post, waitFor, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface SetupIntentJson {
  id: string;
  object: "setup_intent";
  client_secret: string | null;
}
interface EventJson {
  type: string;
  data: { object: { id: string; object: string; client_secret?: string | null } };
}
interface InvoiceJson {
  id: string;
  payment_intent: string | PaymentIntentJson | null;
  confirmation_secret?: { client_secret: string; type: string } | null;
}

async function restrictedKey(opts: CallOptions, permissions: string[]): Promise<CallOptions> {
  const key = await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, opts));
  return { key: key.secret ?? "" };
}

/** A payment waiting on a 3D Secure challenge: its next_action's address carries the client secret. */
async function challenged(opts: CallOptions): Promise<PaymentIntentJson> {
  const made = await ok(post<PaymentIntentJson>("/v1/payment_intents", { amount: 2500, currency: "usd", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" }, opts));
  expect(made.status).toBe("requires_action");
  expect(made.next_action?.redirect_to_url.url).toContain(made.client_secret);
  return made;
}

describe("client secrets in /v1 answers", () => {
  it("a reader gets client_secret null and no challenge address on retrieve, list, search and events; the merchant's key still gets both", async () => {
    const m = await newMerchant("secret-readers");
    const pi = await challenged(m.opts);
    const support = { ...bearer(await hsToken({ roles: ["support"], merchant: null })), headers: { "merchant-id": m.id } };
    const viewer = await restrictedKey(m.opts, ["payments.transactions.view"]);
    for (const reader of [support, viewer]) {
      const one = await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, reader));
      expect(one.id).toBe(pi.id);
      expect(one.client_secret).toBeNull();
      expect(one.next_action?.type).toBe("redirect_to_url");
      expect(one.next_action?.redirect_to_url.url).toBeNull();
      expect(one.next_action?.redirect_to_url.return_url).toBe("https://shop.example/back");
      const list = await ok(get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=10", reader));
      expect(list.data.map((i) => i.id)).toContain(pi.id);
      for (const item of list.data) expect(item.client_secret).toBeNull();
      const found = await ok(get<ListJson<PaymentIntentJson>>(`/v1/payment_intents/search?query=${encodeURIComponent("status:'requires_action'")}`, reader));
      expect(found.data.map((i) => i.id)).toEqual([pi.id]);
      expect(found.data[0]?.client_secret).toBeNull();
      // Nothing of the secret anywhere in the answer (nor the seed 001 flat next_action.url).
      expect(JSON.stringify(one)).not.toContain(pi.client_secret);
    }
    // Events are read by support too: the intent in data.object without its secret.
    const events = await waitFor(async () => {
      const page = await ok(get<ListJson<EventJson>>(`/v1/events?limit=20`, support));
      return page.data.some((e) => e.data.object.id === pi.id) ? page : undefined;
    }, 15_000, "the intent's events");
    for (const e of events.data.filter((e) => e.data.object.id === pi.id)) expect(e.data.object.client_secret).toBeNull();
    expect(JSON.stringify(events)).not.toContain(pi.client_secret);
    // The merchant's own key (it may confirm) is answered the secret as before, and a restricted key that may make payments too.
    const own = await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts));
    expect(own.client_secret).toBe(pi.client_secret);
    expect(own.next_action?.redirect_to_url.url).toBe(pi.next_action?.redirect_to_url.url);
    const payer = await restrictedKey(m.opts, ["payments.transactions.view", "payments.transactions.create"]);
    expect((await ok(get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, payer))).client_secret).toBe(pi.client_secret);
    const ownEvents = await ok(get<ListJson<EventJson>>(`/v1/events?limit=20`, m.opts));
    expect(ownEvents.data.find((e) => e.data.object.id === pi.id)?.data.object.client_secret).toBe(pi.client_secret);
  });

  it("a setup intent's secret goes only to a credential that may save cards", async () => {
    const m = await newMerchant("secret-setup");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "setup@example.com" }, m.opts));
    const setup = await ok(post<SetupIntentJson>("/v1/setup_intents", { customer: customer.id, payment_method_types: ["card"] }, m.opts));
    expect(setup.client_secret).toMatch(/^seti_.+_secret_/);
    const viewer = await restrictedKey(m.opts, ["payments.methods.view"]);
    expect((await ok(get<SetupIntentJson>(`/v1/setup_intents/${setup.id}`, viewer))).client_secret).toBeNull();
    expect((await ok(get<ListJson<SetupIntentJson>>(`/v1/setup_intents?customer=${customer.id}`, viewer))).data.map((s) => s.client_secret)).toEqual([null]);
    // A payments-only payer may not save cards: its answer leaves the setup's secret out, not a payment's.
    const payerOnly = await restrictedKey(m.opts, ["payments.methods.view", "payments.transactions.create", "payments.transactions.view"]);
    expect((await ok(get<SetupIntentJson>(`/v1/setup_intents/${setup.id}`, payerOnly))).client_secret).toBeNull();
    const manager = await restrictedKey(m.opts, ["payments.methods.view", "payments.methods.manage"]);
    expect((await ok(get<SetupIntentJson>(`/v1/setup_intents/${setup.id}`, manager))).client_secret).toBe(setup.client_secret);
  });

  it("an invoice read by a billing reader: its confirmation_secret is null and its expanded intent has no secret", async () => {
    const m = await newMerchant("secret-invoice");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "inv@example.com" }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, m.opts));
    const sub = await ok(post<{ latest_invoice: InvoiceJson }>("/v1/subscriptions", { customer: customer.id, items: [{ price: price.id }], payment_behavior: "default_incomplete", expand: ["latest_invoice.payment_intent"] }, m.opts));
    const intent = sub.latest_invoice.payment_intent as PaymentIntentJson;
    const reader = await restrictedKey(m.opts, ["billing.view", "payments.transactions.view"]);
    const path = `/v1/invoices/${sub.latest_invoice.id}?expand[]=confirmation_secret&expand[]=payment_intent`;
    const read = await ok(get<InvoiceJson>(path, reader));
    expect(read.confirmation_secret).toBeNull();
    expect((read.payment_intent as PaymentIntentJson).id).toBe(intent.id);
    expect((read.payment_intent as PaymentIntentJson).client_secret).toBeNull();
    expect(JSON.stringify(read)).not.toContain(intent.client_secret);
    // The merchant's key: both, as Stripe's quickstart reads them.
    const own = await ok(get<InvoiceJson>(path, m.opts));
    expect(own.confirmation_secret).toEqual({ client_secret: intent.client_secret, type: "payment_intent" });
  });
});
