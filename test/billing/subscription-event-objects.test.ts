// A customer.subscription.* event's data.object is the subscription as GET /v1/subscriptions/{id} shows
// it at that moment, as at Stripe: its items' metadata (items[0][metadata], written with the create)
// and its cancellation_details whichever change wrote the event (a renewal, a customer's deletion, not
// only the changes that read them). And an invoice's parent.subscription_details.metadata (and its
// subscription line's metadata) is the subscription's metadata as the invoice was finalized (at its
// creation here), not null.
import { describe, expect, it } from "vitest";
import { call, get, newMerchant, ok, post, type CallOptions, type ListJson } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  latest_invoice: string;
  metadata: Record<string, string>;
  items: { data: { metadata: Record<string, string> }[] };
  cancellation_details: { comment: string | null; reason: string | null };
}

interface InvoiceJson {
  id: string;
  billing_reason: string;
  lines: { data: { metadata: Record<string, string> }[] };
  parent: { type: string; subscription_details: { metadata: Record<string, string> | null; subscription: string } };
}

interface EventJson {
  id: string;
  type: string;
  data: { object: { id: string } & Record<string, unknown> };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
/** The events about an object, oldest first. */
const eventsAbout = async (opts: CallOptions, id: string) => (await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts))).data.filter((e) => e.data.object.id === id).reverse();
const lastOf = async (opts: CallOptions, id: string, type: string) => (await eventsAbout(opts, id)).filter((e) => e.type === type).pop();

/** A merchant with a test clock, a customer on it with a default card, and a monthly price. */
async function setup(label: string) {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-10T10:00:00Z"), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, m.opts));
  const advance = (iso: string) => ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t(iso) }, m.opts));
  return { opts: m.opts, customer: customer.id, price: price.id, advance };
}

describe("items[0][metadata] is written with the create", () => {
  it("paid in the create: customer.subscription.created carries the item's metadata, as the answer and a GET do", async () => {
    const s = await setup("item-meta-paid");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price, metadata: { seat: "a1" } }] }, s.opts));
    expect(sub.status).toBe("active");
    expect(sub.items.data[0]?.metadata).toEqual({ seat: "a1" });
    const created = await lastOf(s.opts, sub.id, "customer.subscription.created");
    expect((created?.data.object as unknown as SubscriptionJson | undefined)?.items.data[0]?.metadata).toEqual({ seat: "a1" });
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).items.data[0]?.metadata).toEqual({ seat: "a1" });
  });

  it("with a trial (an event not held): the same", async () => {
    const s = await setup("item-meta-trial");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, trial_period_days: 7, items: [{ price: s.price, metadata: { seat: "b2" } }] }, s.opts));
    expect(sub.status).toBe("trialing");
    const created = await lastOf(s.opts, sub.id, "customer.subscription.created");
    expect((created?.data.object as unknown as SubscriptionJson | undefined)?.items.data[0]?.metadata).toEqual({ seat: "b2" });
  });
});

describe("a customer.subscription.* event's object is the subscription as a GET shows it then", () => {
  it("created, updated by the API, renewed by the clock, deleted with its customer: each deep-equals a GET made right after", async () => {
    const s = await setup("event-equals-get");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, metadata: { plan: "gold" }, items: [{ price: s.price, metadata: { seat: "c3" } }] }, s.opts));
    const getNow = () => ok(get<Record<string, unknown>>(`/v1/subscriptions/${sub.id}`, s.opts));

    expect((await lastOf(s.opts, sub.id, "customer.subscription.created"))?.data.object).toEqual(await getNow());

    await ok(post(`/v1/subscriptions/${sub.id}`, { cancellation_details: { comment: "thinking about it" } }, s.opts));
    expect((await lastOf(s.opts, sub.id, "customer.subscription.updated"))?.data.object).toEqual(await getNow());

    // The renewal's change reads neither the item's metadata nor the cancellation_details.
    await s.advance("2026-02-11T00:00:00Z");
    const renewed = await lastOf(s.opts, sub.id, "customer.subscription.updated");
    const afterRenewal = await getNow();
    expect(afterRenewal).toMatchObject({ items: { data: [{ metadata: { seat: "c3" } }] }, cancellation_details: { comment: "thinking about it" } });
    expect(renewed?.data.object).toEqual(afterRenewal);

    // Deleting the customer cancels its subscriptions in chunks, reading no details either.
    expect((await call("DELETE", `/v1/customers/${s.customer}`, s.opts)).status).toBe(200);
    const deleted = await lastOf(s.opts, sub.id, "customer.subscription.deleted");
    const afterDelete = await getNow();
    expect(afterDelete).toMatchObject({ status: "canceled", items: { data: [{ metadata: { seat: "c3" } }] }, cancellation_details: { comment: "thinking about it" } });
    expect(deleted?.data.object).toEqual(afterDelete);
  });

  it("DELETE: customer.subscription.deleted deep-equals a GET made right after", async () => {
    const s = await setup("event-equals-get-delete");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price, metadata: { seat: "d4" } }] }, s.opts));
    await ok(call("DELETE", `/v1/subscriptions/${sub.id}?cancellation_details[feedback]=too_expensive`, s.opts));
    const deleted = await lastOf(s.opts, sub.id, "customer.subscription.deleted");
    expect(deleted?.data.object).toEqual(await ok(get(`/v1/subscriptions/${sub.id}`, s.opts)));
  });
});

describe("invoice parent.subscription_details.metadata", () => {
  it("is the subscription's metadata when the invoice was finalized: in the answer and in its events; a later change shows on the next invoice only", async () => {
    const s = await setup("invoice-sub-metadata");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, metadata: { plan: "gold" }, items: [{ price: s.price }] }, s.opts));
    const first = await ok(get<InvoiceJson>(`/v1/invoices/${sub.latest_invoice}`, s.opts));
    expect(first.parent).toEqual({ type: "subscription_details", quote_details: null, subscription_details: { metadata: { plan: "gold" }, subscription: sub.id } });
    for (const type of ["invoice.created", "invoice.finalized", "invoice.paid"]) {
      expect(((await lastOf(s.opts, first.id, type))?.data.object as unknown as InvoiceJson | undefined)?.parent.subscription_details.metadata).toEqual({ plan: "gold" });
    }

    await ok(post(`/v1/subscriptions/${sub.id}`, { metadata: { plan: "platinum" } }, s.opts));
    await s.advance("2026-02-11T00:00:00Z");
    const invoices = (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}`, s.opts))).data.reverse();
    // A subscription line's metadata is the subscription's as the line was made, as at Stripe.
    expect(invoices.map((i) => [i.billing_reason, i.parent.subscription_details.metadata, i.lines.data[0]?.metadata])).toEqual([
      ["subscription_create", { plan: "gold" }, { plan: "gold" }],
      ["subscription_cycle", { plan: "platinum" }, { plan: "platinum" }],
    ]);
    // The preview of the next renewal shows what it would be finalized with: the metadata as it is now.
    const preview = await ok(post<InvoiceJson>("/v1/invoices/create_preview", { subscription: sub.id }, s.opts));
    expect(preview.parent.subscription_details.metadata).toEqual({ plan: "platinum" });
  });
});

describe("an update that changes nothing", () => {
  it("writes no customer.subscription.updated (Stripe sends none with empty previous_attributes); asking again to cancel at the period's end keeps the first canceled_at", async () => {
    const s = await setup("noop-update");
    const sub = await ok(post<SubscriptionJson & { canceled_at: number | null; cancel_at_period_end: boolean }>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price }], metadata: { plan: "gold" } }, s.opts));
    const updates = async () => (await eventsAbout(s.opts, sub.id)).filter((e) => e.type === "customer.subscription.updated");
    // The same metadata, the same key order or another: nothing changes.
    expect((await ok(post<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, { metadata: { plan: "gold" } }, s.opts))).metadata).toEqual({ plan: "gold" });
    expect(await updates()).toEqual([]);
    // A real change: one event, naming what it was.
    await ok(post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }, s.opts));
    const first = await ok(get<{ canceled_at: number | null; cancel_at_period_end: boolean }>(`/v1/subscriptions/${sub.id}`, s.opts));
    expect(first.cancel_at_period_end).toBe(true);
    expect(first.canceled_at).not.toBeNull();
    expect((await updates()).length).toBe(1);
    // Asked again a day later (on the clock): the same canceled_at, no second event.
    await s.advance("2026-01-11T10:00:00Z");
    await ok(post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true, metadata: { plan: "gold" } }, s.opts));
    expect((await ok(get<{ canceled_at: number | null }>(`/v1/subscriptions/${sub.id}`, s.opts))).canceled_at).toBe(first.canceled_at);
    expect((await updates()).length).toBe(1);
  });
});
