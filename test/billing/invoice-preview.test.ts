// Stripe's invoices.createPreview (POST /v1/invoices/create_preview): the invoice a subscription's
// next renewal will make, as a draft that is never written; it matches the invoice the renewal then
// makes. By subscription, or by customer (the soonest renewal among its subscriptions).
import { describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, ok, post, type CallOptions, type ListJson } from "../helpers";

interface LineJson {
  id: string;
  amount: number;
  quantity: number;
  price: string;
  invoice: string | null;
  period: { start: number; end: number };
}

interface InvoiceJson {
  id: string;
  object: string;
  status: string;
  paid: boolean;
  customer: string;
  subscription: string;
  amount_due: number;
  total: number;
  currency: string;
  billing_reason: string;
  period_start: number;
  period_end: number;
  hosted_invoice_url: string | null;
  payment_intent: unknown;
  status_transitions: { finalized_at: number | null };
  lines: { data: LineJson[] };
}

interface SubscriptionJson {
  id: string;
  status: string;
  current_period_end: number;
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

async function setup(label: string): Promise<{ opts: CallOptions; clock: string; customer: string; price: string }> {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-31T10:00:00Z") }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro plan" } }, m.opts));
  return { opts: m.opts, clock: clock.id, customer: customer.id, price: price.id };
}

describe("POST /v1/invoices/create_preview", () => {
  it("previews the next renewal as a draft, writes nothing, and matches the invoice the renewal then makes", async () => {
    const s = await setup("preview-renewal");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, quantity: 3 }, s.opts));
    expect(sub.status).toBe("active");
    const invoices = async () => (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}`, s.opts))).data;
    const before = await invoices();

    const preview = await ok(post<InvoiceJson>("/v1/invoices/create_preview", { subscription: sub.id }, s.opts));
    expect(preview).toMatchObject({
      object: "invoice",
      status: "draft",
      paid: false,
      customer: s.customer,
      subscription: sub.id,
      amount_due: 5997,
      total: 5997,
      currency: "usd",
      billing_reason: "subscription_cycle",
      // Stripe's invoice period: the current period, over which the renewal collects (its line bills the next).
      period_start: t("2026-01-31T10:00:00Z"),
      period_end: t("2026-02-28T10:00:00Z"),
      hosted_invoice_url: null,
      payment_intent: null,
      status_transitions: { finalized_at: null },
    });
    expect(preview.id).toMatch(/^upcoming_in_/);
    expect(preview.lines.data).toEqual([expect.objectContaining({ amount: 5997, quantity: 3, price: s.price, invoice: null, period: { start: t("2026-02-28T10:00:00Z"), end: t("2026-03-31T10:00:00Z") } })]);
    expect(preview.lines.data[0]?.id).toMatch(/^il_tmp_/);
    // Nothing was written: a preview is not an invoice.
    expect(await invoices()).toEqual(before);
    expectError(await get(`/v1/invoices/${preview.id}`, s.opts), 404);

    // By customer: the soonest renewal among its subscriptions (the same one here).
    const byCustomer = await ok(post<InvoiceJson>("/v1/invoices/create_preview", { customer: s.customer }, s.opts));
    expect(byCustomer).toMatchObject({ subscription: sub.id, amount_due: 5997, period_start: preview.period_start });

    // The renewal makes what was previewed.
    await ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-02-28T11:00:00Z") }, s.opts));
    const renewed = (await invoices()).find((i) => i.billing_reason === "subscription_cycle");
    expect(renewed).toMatchObject({ amount_due: preview.amount_due, period_start: preview.period_start, period_end: preview.period_end, currency: preview.currency, status: "paid" });
    expect(renewed?.lines.data[0]?.period).toEqual(preview.lines.data[0]?.period);
  });

  it("a subscription that will not renew has none (400 invoice_upcoming_none); bad input is a 400 that names it", async () => {
    const s = await setup("preview-none");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price }, s.opts));
    await ok(post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }, s.opts));
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: sub.id }, s.opts), 400, "invoice_upcoming_none").param).toBe("subscription");
    expect(expectError(await post("/v1/invoices/create_preview", { customer: s.customer }, s.opts), 400, "invoice_upcoming_none").param).toBe("customer");
    expect(expectError(await post("/v1/invoices/create_preview", {}, s.opts), 400, "parameter_missing").param).toBe("subscription");
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: "sub_nope0000000000000000000" }, s.opts), 400, "resource_missing").param).toBe("subscription");
    // Another merchant's subscription is unknown here.
    const other = await setup("preview-other");
    const theirs = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: other.customer, price: other.price }, other.opts));
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: theirs.id }, s.opts), 400, "resource_missing").param).toBe("subscription");
    // A subscription and a customer that is not its own.
    const mine = await ok(post<{ id: string }>("/v1/customers", { email: "else@example.com" }, s.opts));
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: sub.id, customer: mine.id }, s.opts), 400).param).toBe("customer");
    // A change's preview is not served: said, not ignored.
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: theirs.id, subscription_details: { cancel_at_period_end: true } }, s.opts), 400).param).toBe("subscription_details");
    // The canceled one has none either.
    await ok(post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: false }, s.opts));
    await ok(call("DELETE", `/v1/subscriptions/${sub.id}`, s.opts));
    expect(expectError(await post("/v1/invoices/create_preview", { subscription: sub.id }, s.opts), 400, "invoice_upcoming_none").param).toBe("subscription");
  });
});
