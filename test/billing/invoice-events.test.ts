// An invoice's events as Stripe sends them: invoice.created and invoice.finalized when it is made (an
// invoice here is finalized at once, never a draft), invoice.paid and invoice.payment_succeeded when it
// is paid, invoice.payment_failed when an attempt fails. Each is written in the billing change's own D1
// transaction, once, and reaches the endpoints subscribed to it like any event.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attemptIntentId } from "../../src/billing/engine";
import { onIntentEvents } from "../../src/billing/hooks";
import type { EventRecord } from "../../src/core/types";
import { createEndpoint, get, newMerchant, ok, post, receivedBy, receiverHook, waitFor, type CallOptions, type ListJson } from "../helpers";

interface InvoiceJson {
  id: string;
  status: string;
  amount_paid: number;
  payment_intent: string | null;
}
interface SubscriptionJson {
  id: string;
  status: string;
  latest_invoice: string | null;
}
interface EventJson {
  id: string;
  type: string;
  data: { object: { id: string; object: string; status?: string; amount_paid?: number; subscription?: string } };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** A merchant with a customer on a test clock, a default card (`token`) and a monthly price of 19.99 USD. */
async function setup(label: string, token = "tok_visa") {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-02-01T00:00:00Z") }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: token, set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, m.opts));
  return { id: m.id, opts: m.opts, clock: clock.id, customer: customer.id, price: price.id };
}

/** The invoice events about one invoice, by type, from GET /v1/events (written with their change: no waiting). */
async function invoiceEvents(opts: CallOptions, invoice: string): Promise<Map<string, EventJson[]>> {
  const list = await ok(get<ListJson<EventJson>>(`/v1/events?type=${encodeURIComponent("invoice.*")}&limit=100`, opts));
  const byType = new Map<string, EventJson[]>();
  for (const e of list.data.filter((e) => e.data.object.id === invoice)) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  return byType;
}

const counts = (events: Map<string, EventJson[]>) => Object.fromEntries([...events].map(([type, list]) => [type, list.length]));

describe("invoice events as Stripe sends them", () => {
  it("an invoice charged at creation: invoice.created and invoice.finalized, then invoice.paid and invoice.payment_succeeded, once each", async () => {
    const s = await setup("inv-events-paid");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(sub.status).toBe("active");
    const invoice = sub.latest_invoice ?? "";
    const events = await invoiceEvents(s.opts, invoice);
    expect(counts(events)).toEqual({ "invoice.created": 1, "invoice.finalized": 1, "invoice.paid": 1, "invoice.payment_succeeded": 1 });
    // finalized: the invoice as it was made (open, to be charged); payment_succeeded: the paid invoice, as invoice.paid has it.
    expect(events.get("invoice.finalized")?.[0]?.data.object).toMatchObject({ object: "invoice", id: invoice, status: "open", subscription: sub.id });
    const paid = events.get("invoice.paid")?.[0]?.data.object;
    expect(events.get("invoice.payment_succeeded")?.[0]?.data.object).toEqual(paid);
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1999 });
    // Stored in D1 with the change, as invoice.paid is: handed to the events queue, never only in memory.
    const rows = await env.DB.prepare("SELECT type FROM events WHERE merchant_id = ? AND json_extract(data, '$.object.id') = ? ORDER BY type").bind(s.id, invoice).all<{ type: string }>();
    expect(rows.results.map((r) => r.type)).toEqual(["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]);
  });

  it("a renewal sends the same four; a trial's zero invoice is finalized and paid at once", async () => {
    const s = await setup("inv-events-renewal");
    const trial = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 7 }, s.opts));
    expect(trial.status).toBe("trialing");
    expect(counts(await invoiceEvents(s.opts, trial.latest_invoice ?? ""))).toEqual({ "invoice.created": 1, "invoice.finalized": 1, "invoice.paid": 1, "invoice.payment_succeeded": 1 });
    // The trial ends: the first paid period's invoice is made by the sweep and charged.
    await ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-02-08T01:00:00Z") }, s.opts));
    const renewed = await ok(get<SubscriptionJson>(`/v1/subscriptions/${trial.id}`, s.opts));
    expect(renewed.status).toBe("active");
    expect(renewed.latest_invoice).not.toBe(trial.latest_invoice);
    const events = await invoiceEvents(s.opts, renewed.latest_invoice ?? "");
    expect(counts(events)).toEqual({ "invoice.created": 1, "invoice.finalized": 1, "invoice.paid": 1, "invoice.payment_succeeded": 1 });
    expect(events.get("invoice.payment_succeeded")?.[0]?.data.object).toMatchObject({ status: "paid", amount_paid: 1999 });
  });

  it("a declined attempt sends invoice.payment_failed and no invoice.payment_succeeded", async () => {
    const s = await setup("inv-events-declined", "tok_chargeDeclined");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    expect(sub.status).toBe("incomplete");
    const events = await invoiceEvents(s.opts, sub.latest_invoice ?? "");
    expect(counts(events)).toEqual({ "invoice.created": 1, "invoice.finalized": 1, "invoice.payment_failed": 1 });
    expect(events.get("invoice.payment_failed")?.[0]?.data.object).toMatchObject({ status: "open", amount_paid: 0 });
  });

  it("default_incomplete: finalized at creation; the customer's payment settles it with invoice.paid and invoice.payment_succeeded once, however often the intent's event comes", async () => {
    const s = await setup("inv-events-quickstart");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, items: [{ price: s.price }], payment_behavior: "default_incomplete" }, s.opts));
    const invoice = sub.latest_invoice ?? "";
    expect(counts(await invoiceEvents(s.opts, invoice))).toEqual({ "invoice.created": 1, "invoice.finalized": 1 });
    // The intent's payment_intent.succeeded reaches the billing hook twice (delivery is at least once).
    const own = await attemptIntentId(invoice, 1);
    const succeeded: EventRecord = {
      id: `evt_settle_${own}`,
      type: "payment_intent.succeeded",
      created: Date.now(),
      merchantId: s.id,
      livemode: false,
      object: { id: own, object: "payment_intent", status: "succeeded", amount: 1999, invoice, metadata: { invoice, invoice_attempt: "1" } },
      requestId: null,
      idempotencyKey: null,
      paymentIntentId: own,
      orderId: null,
    };
    await onIntentEvents(env, [succeeded]);
    await onIntentEvents(env, [succeeded]);
    expect(await ok(get<InvoiceJson>(`/v1/invoices/${invoice}`, s.opts))).toMatchObject({ status: "paid", payment_intent: own });
    expect(counts(await invoiceEvents(s.opts, invoice))).toEqual({ "invoice.created": 1, "invoice.finalized": 1, "invoice.paid": 1, "invoice.payment_succeeded": 1 });
  });

  it("an endpoint subscribed to invoice.finalized and invoice.payment_succeeded receives them, signed", async () => {
    const s = await setup("inv-events-hook");
    const hook = receiverHook("invoice-handlers");
    await createEndpoint(hook.url, ["invoice.finalized", "invoice.payment_succeeded"], s.opts);
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    const got = await waitFor(async () => {
      const received = (await receivedBy(hook.name)).map((r) => ({ headers: r.headers, event: JSON.parse(r.body) as EventJson }));
      const types = new Set(received.map((r) => r.event.type));
      return types.has("invoice.finalized") && types.has("invoice.payment_succeeded") ? received : undefined;
    }, 20_000, "invoice.finalized and invoice.payment_succeeded at the endpoint");
    // Only what it subscribed to, each about the subscription's invoice.
    expect(new Set(got.map((r) => r.event.type))).toEqual(new Set(["invoice.finalized", "invoice.payment_succeeded"]));
    expect(got.every((r) => r.event.data.object.id === sub.latest_invoice && typeof r.headers["stripe-signature"] === "string")).toBe(true);
  });
});
