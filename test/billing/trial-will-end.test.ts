// Stripe's customer.subscription.trial_will_end: sent once, three days before a trial ends (on the
// first sweep for a shorter trial), before the trial's end renews it; never for a subscription no
// longer trialing; one only when sweeps race on it. (Its due trials' plan: test/db/background-query-plans.test.ts.)
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { billingSweep, processDue } from "../../src/billing/engine";
import { call, get, newMerchant, ok, post, type CallOptions, type ListJson } from "../helpers";

interface SubscriptionJson {
  id: string;
  status: string;
  trial_end: number | null;
}

interface EventJson {
  id: string;
  type: string;
  created: number;
  data: { object: { id: string; status: string; trial_end: number | null } };
}

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);

async function setup(label: string, start: string): Promise<{ opts: CallOptions; clock: string; customer: string; price: string }> {
  const m = await newMerchant(label);
  const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: t(start) }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "pm_card_visa", set_default: true }, m.opts));
  const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1500, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Trial plan" } }, m.opts));
  return { opts: m.opts, clock: clock.id, customer: customer.id, price: price.id };
}

async function subscriptionEvents(opts: CallOptions, id: string): Promise<EventJson[]> {
  const page = await ok(get<ListJson<EventJson>>("/v1/events?limit=100", opts));
  return page.data.filter((e) => e.data.object.id === id && e.type.startsWith("customer.subscription.")).reverse();
}

const advance = (s: { opts: CallOptions; clock: string }, iso: string) => ok(post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t(iso) }, s.opts));

describe("customer.subscription.trial_will_end", () => {
  it("is sent once, three days before the trial ends, with the trialing subscription, and before the trial's end renews it", async () => {
    const s = await setup("trial-will-end", "2027-03-01T12:00:00Z");
    const sub = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 14 }, s.opts));
    expect(sub).toMatchObject({ status: "trialing", trial_end: t("2027-03-15T12:00:00Z") });
    const notices = async () => (await subscriptionEvents(s.opts, sub.id)).filter((e) => e.type === "customer.subscription.trial_will_end");

    // A minute short of three days before the end: not yet.
    await advance(s, "2027-03-12T11:59:00Z");
    expect(await notices()).toEqual([]);
    await advance(s, "2027-03-12T12:00:00Z");
    const [notice, ...more] = await notices();
    expect(more).toEqual([]);
    expect(notice?.data.object).toMatchObject({ id: sub.id, status: "trialing", trial_end: t("2027-03-15T12:00:00Z") });
    // Later sweeps and advances within the trial send no second one.
    await advance(s, "2027-03-14T12:00:00Z");
    await billingSweep(env, Date.now());
    expect(await notices()).toHaveLength(1);

    // The trial ends: renewed, and the notice came before the subscription's change to active.
    await advance(s, "2027-03-15T13:00:00Z");
    expect((await ok(get<SubscriptionJson>(`/v1/subscriptions/${sub.id}`, s.opts))).status).toBe("active");
    const types = (await subscriptionEvents(s.opts, sub.id)).map((e) => `${e.type}:${e.data.object.status}`);
    expect(types).toEqual(["customer.subscription.created:trialing", "customer.subscription.trial_will_end:trialing", "customer.subscription.updated:active"]);
  });

  it("a trial shorter than three days is told on the first sweep; a whole advance past several trials tells each once, before its renewal", async () => {
    const s = await setup("trial-will-end-short", "2027-05-10T08:00:00Z");
    const short = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 2 }, s.opts));
    const long = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 30 }, s.opts));
    await advance(s, "2027-05-10T08:01:00Z");
    expect((await subscriptionEvents(s.opts, short.id)).map((e) => e.type)).toEqual(["customer.subscription.created", "customer.subscription.trial_will_end"]);
    expect((await subscriptionEvents(s.opts, long.id)).map((e) => e.type)).toEqual(["customer.subscription.created"]);
    // One advance past the long trial's notice and its end: notice, then renewal.
    await advance(s, "2027-06-10T09:00:00Z");
    expect((await subscriptionEvents(s.opts, long.id)).map((e) => `${e.type}:${e.data.object.status}`)).toEqual([
      "customer.subscription.created:trialing",
      "customer.subscription.trial_will_end:trialing",
      "customer.subscription.updated:active",
    ]);
    expect((await subscriptionEvents(s.opts, short.id)).filter((e) => e.type === "customer.subscription.trial_will_end")).toHaveLength(1);
  });

  it("a trial canceled before its notice gets none; sweeps racing on a due notice send it once", async () => {
    const s = await setup("trial-will-end-cancel", "2027-07-01T00:00:00Z");
    const canceled = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 10 }, s.opts));
    const raced = await ok(post<SubscriptionJson>("/v1/subscriptions", { customer: s.customer, price: s.price, trial_period_days: 10 }, s.opts));
    await ok(call("DELETE", `/v1/subscriptions/${canceled.id}`, s.opts));
    // The clock is moved without its own sweep (as an advance whose request died), then several sweeps race on it.
    await env.DB.prepare("UPDATE test_clocks SET frozen_time = ?, status = 'advancing' WHERE id = ?").bind(t("2027-07-08T00:00:00Z") * 1000, s.clock).run();
    await Promise.all(Array.from({ length: 4 }, () => processDue(env, { testClock: s.clock, now: t("2027-07-08T00:00:00Z") * 1000, limit: 10, origin: "" })));
    expect((await subscriptionEvents(s.opts, raced.id)).filter((e) => e.type === "customer.subscription.trial_will_end")).toHaveLength(1);
    expect((await subscriptionEvents(s.opts, canceled.id)).map((e) => e.type)).toEqual(["customer.subscription.created", "customer.subscription.deleted"]);
  });
});
