// Two sweeps of one test clock at once (an advance and the cron's, or two crons): each subscription's
// steps still happen in the order of their times. A retry of a past_due renewal held by the other
// sweep holds back that subscription's next renewal, so dunning's final failure ends the subscription
// when it happened, and no period after it is invoiced or charged. The pass that left it to the other
// sweep does not call the clock ready.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingSweep } from "../../src/billing/engine";
import { get, newMerchant, ok, post, type ListJson } from "../helpers";
import { planOf, recording, type Captured } from "../db/recording";

interface InvoiceJson {
  id: string;
  status: string;
  billing_reason: string;
  period_start: number;
  attempt_count: number;
  next_payment_attempt: number | null;
}

const DAY = 86_400;
const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

describe("concurrent sweeps of one test clock", () => {
  it("a retry held by another sweep holds back its subscription's next renewal; dunning then ends it on time, with no invoice after", async () => {
    const m = await newMerchant("sweep-order");
    await ok(post("/v1/account", { settings: { subscription_dunning_final_action: "canceled" } }, m.opts));
    const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t("2026-01-05T10:00:00Z") }, m.opts));
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "order@example.com", test_clock: clock.id }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 700, currency: "usd", recurring: { interval: "week" }, product_data: { name: "Weekly" } }, m.opts));
    const sub = await ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts));
    expect(sub.status).toBe("active");
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "pm_card_chargeCustomerFail", set_default: true }, m.opts));

    // The renewal of Jan 12 fails; its retries are due Jan 13, 15 and 17, the next renewal Jan 19.
    await ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t("2026-01-12T11:00:00Z") }, m.opts));
    const invoicesOf = async () => (await ok(get<ListJson<InvoiceJson>>(`/v1/invoices?subscription=${sub.id}&limit=100`, m.opts))).data.reverse();
    const [, renewal] = await invoicesOf();
    expect(renewal).toMatchObject({ status: "open", billing_reason: "subscription_cycle", attempt_count: 1, next_payment_attempt: t("2026-01-13T10:00:00Z") });

    // Another sweep holds that invoice (it is charging its retry right now) while an advance runs, two
    // weeks on (the most one advance may go with a weekly subscription): past the renewals of Jan 19 and 26.
    await env.DB.prepare("UPDATE invoices SET claimed_until = ? WHERE id = ?").bind(Date.now() + 60_000, renewal!.id).run();
    const advanced = await ok(post<{ status: string }>(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: t("2026-01-26T11:00:00Z") }, m.opts));
    // Nothing of that subscription went past the retry held: no renewal was made, and the clock is not ready.
    expect((await invoicesOf()).length).toBe(2);
    expect(advanced.status).toBe("advancing");

    // The other sweep lets go; the cron's sweep goes on, in order.
    await env.DB.prepare("UPDATE invoices SET claimed_until = NULL WHERE id = ?").bind(renewal!.id).run();
    const captured: Captured[] = [];
    await billingSweep({ ...env, DB: recording(env.DB, captured) }, Date.now());
    const after = await invoicesOf();
    expect(after.map((i) => [i.billing_reason, i.status, i.attempt_count])).toEqual([
      ["subscription_create", "paid", 1],
      ["subscription_cycle", "uncollectible", 4],
    ]);
    const ended = await ok(get<{ status: string; canceled_at: number; ended_at: number }>(`/v1/subscriptions/${sub.id}`, m.opts));
    expect(ended).toMatchObject({ status: "canceled", canceled_at: t("2026-01-12T10:00:00Z") + 5 * DAY, ended_at: t("2026-01-12T10:00:00Z") + 5 * DAY });
    expect((await ok(get<{ status: string }>(`/v1/test_helpers/test_clocks/${clock.id}`, m.opts))).status).toBe("ready");

    // Each read is an index range: the due subscriptions and invoices look up their subscription's
    // earlier attempts through invoices_period, and the check for attempts held walks invoices_due.
    const ordered = captured.filter((c) => c.sql.includes("AS earlier"));
    const heldReads = captured.filter((c) => c.sql.includes('"claimed_until" >='));
    expect(ordered.length).toBeGreaterThan(0);
    expect(heldReads.length).toBeGreaterThan(0);
    for (const read of [...ordered, ...heldReads]) {
      const plan = await planOf(read);
      expect(plan.filter((line) => /^SCAN /.test(line) && !/^SCAN json_each\b/.test(line)), read.sql).toEqual([]);
      if (ordered.includes(read)) expect(plan.join("\n"), read.sql).toMatch(/SEARCH earlier USING INDEX invoices_period \(subscription=\?\)/);
      else expect(plan.join("\n"), read.sql).toMatch(/SEARCH invoices USING INDEX invoices_due \(status=\? AND next_payment_attempt<\?\)/);
    }
  });
});
