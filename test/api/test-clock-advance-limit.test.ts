// POST /v1/test_helpers/test_clocks/:id/advance goes at most as far as Stripe's allows in one go: two
// intervals (interval × interval_count) of the shortest subscription on the clock that has not ended,
// counted on the calendar from the clock's frozen_time, or two years when it has none. Further is a 400
// invalid_request_error naming frozen_time, and nothing changes: the clock keeps its status and time,
// and no event is sent.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clockIntervals } from "../../src/billing/store";
import { planOf, recording, type Captured } from "../db/recording";
import { call, expectError, get, newMerchant, ok, post, type CallOptions, type ListJson } from "../helpers";

const t = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const START = "2026-01-31T10:00:00Z";

interface ClockJson {
  id: string;
  status: string;
  frozen_time: number;
}

type Recurring = { interval: "day" | "week" | "month" | "year"; interval_count?: number };

/** A merchant with a clock frozen on Jan 31 and a customer on it with a default card. */
async function setup(label: string) {
  const m = await newMerchant(label);
  const clock = await ok(post<ClockJson>("/v1/test_helpers/test_clocks", { frozen_time: t(START), name: label }, m.opts));
  const customer = await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com`, test_clock: clock.id }, m.opts));
  await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
  const subscribe = async (recurring: Recurring) => {
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 500, currency: "usd", recurring, product_data: { name: "Plan" } }, m.opts));
    return ok(post<{ id: string; status: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts));
  };
  return { opts: m.opts, clock: clock.id, subscribe };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const clockOf = (s: Setup) => ok(get<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock}`, s.opts));
const clockEvents = async (opts: CallOptions) => (await ok(get<ListJson<{ type: string }>>("/v1/events?limit=100", opts))).data.filter((e) => e.type.startsWith("test_helpers.test_clock.")).length;

/** One second past `limit` is refused, and changes nothing; `limit` itself is accepted. */
async function expectLimit(s: Setup, limit: number): Promise<void> {
  const before = await clockOf(s);
  const events = await clockEvents(s.opts);
  const refused = expectError(await post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: limit + 1 }, s.opts), 400, "test_clock_advance_too_far");
  expect(refused).toMatchObject({ type: "invalid_request_error", param: "frozen_time" });
  expect(refused.message).toContain(`frozen_time must be at most ${limit}`);
  expect(await clockOf(s)).toEqual(before);
  expect(await clockEvents(s.opts)).toBe(events);
  expect(await ok(post<ClockJson>(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: limit }, s.opts))).toMatchObject({ status: "ready", frozen_time: limit });
}

describe("a test clock's advance limit, as at Stripe's", () => {
  it("without a subscription: two years", async () => {
    const s = await setup("advance-limit-none");
    const refused = expectError(await post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2028-01-31T10:00:01Z") }, s.opts), 400);
    expect(refused.message).toContain("two years");
    await expectLimit(s, t("2028-01-31T10:00:00Z"));
    // Counted from where the clock now is.
    await expectLimit(s, t("2030-01-31T10:00:00Z"));
  });

  it("monthly: two months on the calendar (from Jan 31: Mar 31), and two of interval_count months", async () => {
    const monthly = await setup("advance-limit-month");
    await monthly.subscribe({ interval: "month" });
    await expectLimit(monthly, t("2026-03-31T10:00:00Z"));
    const quarterly = await setup("advance-limit-quarter");
    await quarterly.subscribe({ interval: "month", interval_count: 3 });
    await expectLimit(quarterly, t("2026-07-31T10:00:00Z"));
  });

  it("yearly: two years, and two of interval_count years (more than without a subscription)", async () => {
    const yearly = await setup("advance-limit-year");
    await yearly.subscribe({ interval: "year" });
    await expectLimit(yearly, t("2028-01-31T10:00:00Z"));
    const biennial = await setup("advance-limit-year2");
    await biennial.subscribe({ interval: "year", interval_count: 2 });
    await expectLimit(biennial, t("2030-01-31T10:00:00Z"));
  });

  it("daily and weekly, with interval_count", async () => {
    const daily = await setup("advance-limit-day");
    await daily.subscribe({ interval: "day", interval_count: 3 });
    await expectLimit(daily, t("2026-02-06T10:00:00Z"));
    const weekly = await setup("advance-limit-week");
    await weekly.subscribe({ interval: "week", interval_count: 2 });
    await expectLimit(weekly, t("2026-02-28T10:00:00Z"));
  });

  it("the shortest subscription wins; canceled ones do not count", async () => {
    const s = await setup("advance-limit-mixed");
    await s.subscribe({ interval: "year" });
    await s.subscribe({ interval: "month" });
    const weekly = await s.subscribe({ interval: "week" });
    const daily = await s.subscribe({ interval: "day" });
    // The daily one is canceled: the weekly one is the shortest left.
    expect(await ok(call<{ status: string }>("DELETE", `/v1/subscriptions/${daily.id}`, s.opts))).toMatchObject({ status: "canceled" });
    const refused = expectError(await post(`/v1/test_helpers/test_clocks/${s.clock}/advance`, { frozen_time: t("2026-02-14T10:00:01Z") }, s.opts), 400);
    expect(refused.message).toContain("1 week each");
    await expectLimit(s, t("2026-02-14T10:00:00Z"));
    // The weekly one canceled too: the monthly one's two months (Feb 14 to Apr 14).
    await ok(call("DELETE", `/v1/subscriptions/${weekly.id}`, s.opts));
    await expectLimit(s, t("2026-04-14T10:00:00Z"));
  });

  it("a clock whose only subscription was canceled goes two years, as one without", async () => {
    const s = await setup("advance-limit-canceled");
    const daily = await s.subscribe({ interval: "day" });
    await ok(call("DELETE", `/v1/subscriptions/${daily.id}`, s.opts));
    await expectLimit(s, t("2028-01-31T10:00:00Z"));
  });

  it("reads the clock's subscriptions through their index, and their prices by id", async () => {
    const s = await setup("advance-limit-plan");
    await s.subscribe({ interval: "week" });
    const captured: Captured[] = [];
    expect(await clockIntervals(recording(env.DB, captured), s.clock)).toEqual([{ interval: "week", intervalCount: 1 }]);
    expect(captured).toHaveLength(1);
    const plan = await planOf(captured[0] as Captured);
    expect(plan.filter((line) => /^SCAN /.test(line)), plan.join("\n")).toEqual([]);
    expect(plan.join("\n")).toMatch(/SEARCH subscriptions USING INDEX subscriptions_clock \(test_clock=\?\)/);
    expect(plan.join("\n")).toMatch(/SEARCH prices USING INDEX sqlite_autoindex_prices_1 \(id=\?\)/);
  });
});

describe("the advance limit in the API reference", () => {
  it("/openapi.json says what frozen_time may be on an advance", async () => {
    const doc = (await (await exports.default.fetch("http://gateway.test/openapi.json")).json()) as {
      paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { properties?: Record<string, { description?: string }> } }> } } }>;
    };
    const content = doc.paths["/v1/test_helpers/test_clocks/{id}/advance"]?.post?.requestBody?.content ?? {};
    const descriptions = Object.values(content).map((m) => m.schema.properties?.frozen_time?.description ?? "");
    expect(descriptions.length).toBeGreaterThan(0);
    for (const d of descriptions) expect(d).toContain("test_clock_advance_too_far");
  });
});
