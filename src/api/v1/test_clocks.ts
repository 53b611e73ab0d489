// /v1/test_helpers/test_clocks (test mode, after Stripe's): a clock customers live in. Advancing it
// moves its time forward and runs, in time order, every renewal and payment retry that falls due on
// the way, so a year of billing takes seconds. A clock left `advancing` by a request that died is
// finished by the cron sweep.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest } from "../../core/errors";
import { randomId } from "../../core/ids";
import type { Principal } from "../../auth/permissions";
import { finishTestClock, processDue } from "../../billing/engine";
import { boundary, clockAdvanceLimit, type Interval } from "../../billing/periods";
import { cancelSubscriptions } from "../../billing/subscriptions";
import { clockIntervals, db, ENDED_STATUSES, findTestClock, LIVE_SUBSCRIPTION, renderTestClock, type TestClockRow } from "../../billing/store";
import { Writes } from "../../billing/writes";
import { INVOCATION_STATEMENTS, StatementBudget } from "../../db/budget";
import { listable, pageOf } from "../../db/queries";
import { wrapDb } from "../../db/shards";
import { customers, subscriptions, testClocks } from "../../db/schema";
import { TestClockSchema } from "./billing_schemas";
import { addCustomerDeletion } from "./customers";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { DELETE_TRIES, untilWritten } from "./updates";
import { json, listObject, pageRequest, publicBase } from "./respond";
import { expandPaths } from "./expand";
import { route, type App, type Ctx } from "./route";
import { listOf } from "./schemas";

const TAG = "Billing";
const CLOCKS = listable(testClocks, "test_clock");
/** At most this many renewals and payment attempts per advance; the cron sweep finishes the rest. */
const ADVANCE_LIMIT = 500;
/** 2100-01-01: far enough for any demonstration, and periods computed from it stay valid dates. */
const MAX_SECONDS = 4102444800;

const timestamp = f.integer.pipe(z.number().min(0).max(MAX_SECONDS, "must be Unix seconds before 2100"));
// Stripe's expand[] on each: a test clock has nothing to expand, so any path is a 400.
const CreateBody = z.object({ frozen_time: timestamp, name: f.text(300).optional(), expand: f.expand.optional() }).strict();
const AdvanceBody = z
  .object({
    frozen_time: timestamp.describe(
      "The time to move the clock to (Unix seconds): after its current frozen_time, and, as at Stripe, at most two intervals of its shortest subscription that has not ended beyond it (two years with none); further is a 400 test_clock_advance_too_far.",
    ),
    expand: f.expand.optional(),
  })
  .strict();
const ListQuery = z.object(f.listFields).strict();

function testModeOnly(principal: Principal): void {
  if (principal.livemode) throw invalidRequest("Test clocks exist only in test mode (a sk_test_ key).", undefined, "livemode_mismatch");
}

/** Stripe's answer to advancing a clock in internal_failure: it cannot be advanced, only deleted. */
function internalFailure(id: string) {
  return invalidRequest(`The test clock ${id} failed to advance (internal_failure) and cannot be advanced again: delete it and start over with a new one.`, undefined, "test_clock_internal_failure");
}

function tooFar(from: number, limit: number, intervals: readonly { interval: Interval; intervalCount: number }[]) {
  const shortest = intervals.find((i) => boundary(from, i.interval, i.intervalCount, 2) === limit);
  const span = shortest ? `two intervals of its shortest subscription (${shortest.intervalCount} ${shortest.interval}${shortest.intervalCount === 1 ? "" : "s"} each)` : "two years (it has no subscription)";
  return invalidRequest(
    `A test clock cannot be advanced more than ${span} beyond its current frozen_time (${Math.floor(from / 1000)}) in one go: frozen_time must be at most ${Math.floor(limit / 1000)}. Advance it in steps.`,
    "frozen_time",
    "test_clock_advance_too_far",
  );
}

async function clockOf(c: Ctx, principal: Principal, id: string): Promise<TestClockRow> {
  testModeOnly(principal);
  return findTestClock(c.env.DB, principal, id, "id");
}

/**
 * Deletes a clock as deleting each of its customers would (src/api/v1/customers.ts): their
 * subscriptions are canceled at the clock's time, each with its customer.subscription.deleted, 50 to
 * a transaction; then, in one transaction, each customer deleted with its customer.deleted, the clock
 * with Stripe's test_helpers.test_clock.deleted (the clock as it was). That transaction happens only
 * if the clock is still there and has no customer but those read (a customer that joined meanwhile
 * would be deleted without its event) and no subscription that has not ended (one created meanwhile
 * would stay live on a deleted customer): false when it did not.
 */
async function deleteClock(c: Ctx, principal: Principal, clock: TestClockRow): Promise<boolean> {
  const livemode = principal.livemode ? 1 : 0;
  const [members, subs] = await Promise.all([
    db(c.env.DB)
      .select()
      .from(customers)
      .where(and(eq(customers.merchantId, principal.merchantId), eq(customers.livemode, principal.livemode), eq(customers.testClock, clock.id), eq(customers.deleted, false))),
    db(c.env.DB).select({ id: subscriptions.id, status: subscriptions.status }).from(subscriptions).where(eq(subscriptions.testClock, clock.id)),
  ]);
  const live = subs.filter((s) => !ENDED_STATUSES.includes(s.status)).map((s) => s.id);
  await cancelSubscriptions(c.env, principal, live, clock.frozenTime, c.get("requestId"));
  // Nor a subscription created meanwhile for one of its customers (which would stay live on a deleted customer).
  const others = {
    sql:
      "NOT EXISTS (SELECT 1 FROM customers WHERE merchant_id = ? AND livemode = ? AND test_clock = ? AND deleted = 0 AND id NOT IN (SELECT value FROM json_each(?))) " +
      `AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE merchant_id = ? AND livemode = ? AND test_clock = ? AND ${LIVE_SUBSCRIPTION})`,
    binds: [principal.merchantId, livemode, clock.id, JSON.stringify(members.map((m) => m.id)), principal.merchantId, livemode, clock.id],
  };
  const clockThere = { sql: `EXISTS (SELECT 1 FROM test_clocks WHERE id = ?) AND ${others.sql}`, binds: [clock.id, ...others.binds] };
  const w = new Writes(c.env.DB, principal);
  for (const member of members) await addCustomerDeletion(w, member, c.get("requestId"), clockThere);
  const deletion = w.size;
  w.add(`DELETE FROM test_clocks WHERE id = ? AND ${others.sql}`, [clock.id, ...others.binds]);
  await w.event("test_helpers.test_clock.deleted", renderTestClock(clock), [clock.id, "deleted"], { requestId: c.get("requestId") });
  const changed = await w.commit(c.env);
  return (changed[deletion] ?? 0) > 0;
}

export function registerTestClocks(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/test_helpers/test_clocks", permission: "billing.manage", summary: "Create a test clock frozen at a time", tag: TAG, body: CreateBody, response: TestClockSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "test_clocks.create", "", body, async () => {
        testModeOnly(principal);
        expandPaths(body.expand, "test_clock");
        const row: TestClockRow = { id: randomId("clock"), merchantId: principal.merchantId, livemode: false, name: body.name ?? null, frozenTime: body.frozen_time * 1000, status: "ready", created: Date.now() };
        // With Stripe's test_helpers.test_clock.created, in the same transaction.
        const w = new Writes(c.env.DB, principal);
        w.add("INSERT INTO test_clocks (id, merchant_id, livemode, name, frozen_time, status, created) VALUES (?, ?, 0, ?, ?, ?, ?)", [row.id, row.merchantId, row.name, row.frozenTime, row.status, row.created]);
        await w.event("test_helpers.test_clock.created", renderTestClock(row), [row.id, "created"], { requestId: c.get("requestId") });
        await w.commit(c.env);
        return { status: 200, body: renderTestClock(row) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/test_helpers/test_clocks/{id}", permission: "billing.view", summary: "Retrieve a test clock", tag: TAG, query: f.expandQuery, response: TestClockSchema },
    async (c, { params, query, principal }) => {
      expandPaths(query.expand, "test_clock");
      return json(c, renderTestClock(await clockOf(c, principal, params.id ?? "")));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/test_helpers/test_clocks", permission: "billing.view", summary: "List test clocks", tag: TAG, query: ListQuery, response: listOf(TestClockSchema, "TestClockList") },
    async (c, { query, principal }) => {
      testModeOnly(principal);
      expandPaths(query.expand, "test_clock", true);
      const page = await pageOf(c.env.DB, CLOCKS, principal, [], pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(testClocks).where(where).orderBy(...order).limit(limit));
      return json(c, listObject("/v1/test_helpers/test_clocks", page, renderTestClock));
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/test_helpers/test_clocks/{id}/advance",
      permission: "billing.manage",
      summary: "Move the clock forward and run the renewals and payment retries that fall due, in time order",
      tag: TAG,
      body: AdvanceBody,
      response: TestClockSchema,
    },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "test_clocks.advance", params.id ?? "", body, async () => {
        expandPaths(body.expand, "test_clock");
        const clock = await clockOf(c, principal, params.id ?? "");
        const to = body.frozen_time * 1000;
        // As at Stripe, a clock that failed to advance (internal_failure) advances no more: it may only be deleted.
        if (clock.status === "internal_failure") throw internalFailure(clock.id);
        if (to <= clock.frozenTime) throw invalidRequest("A test clock only moves forward: frozen_time must be after its current time.", "frozen_time", "test_clock_backwards");
        // As at Stripe, no further than two intervals of its shortest subscription, or two years without one.
        const intervals = await clockIntervals(c.env.DB, clock.id);
        const limit = clockAdvanceLimit(clock.frozenTime, intervals);
        if (to > limit) throw tooFar(clock.frozenTime, limit, intervals);
        // With Stripe's test_helpers.test_clock.advancing, only if this request started it.
        const advancing: TestClockRow = { ...clock, frozenTime: to, status: "advancing" };
        const w = new Writes(c.env.DB, principal);
        w.add("UPDATE test_clocks SET frozen_time = ?, status = 'advancing' WHERE id = ? AND status = 'ready'", [to, clock.id]);
        await w.event("test_helpers.test_clock.advancing", renderTestClock(advancing), [clock.id, String(to), "advancing"], { requestId: c.get("requestId") });
        const [started] = await w.commit(c.env);
        if ((started ?? 0) === 0) {
          // Another advance got there first: it is advancing, or it has failed meanwhile.
          const now = await findTestClock(c.env.DB, principal, clock.id, "id");
          if (now.status === "internal_failure") throw internalFailure(clock.id);
          throw invalidRequest("The test clock is already advancing; retry when it is ready.", undefined, "test_clock_advancing");
        }
        // As much as one invocation's D1 statements allow; the rest is left to the cron sweep, which
        // finishes a clock left advancing (src/billing/engine.ts billingSweep).
        const budget = new StatementBudget(INVOCATION_STATEMENTS);
        const env = wrapDb(c.env, (d1) => budget.counted(d1));
        const failed = new Set<string>();
        const { drained } = await processDue(env, { testClock: clock.id, now: to, limit: ADVANCE_LIMIT, origin: publicBase(c), budget, failed });
        // A step that failed (and was set aside) leaves the clock in Stripe's internal_failure, never ready.
        const status = failed.size > 0 ? "internal_failure" : drained ? "ready" : "advancing";
        if (status !== "advancing") await finishTestClock(c.env, advancing, status, c.get("requestId"));
        return { status: 200, body: renderTestClock({ ...clock, frozenTime: to, status }) };
      }),
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/test_helpers/test_clocks/{id}",
      permission: "billing.manage",
      summary: "Delete a test clock: its subscriptions are canceled and its customers deleted",
      tag: TAG,
      response: z.object({ id: z.string(), object: z.literal("test_helpers.test_clock"), deleted: z.literal(true) }),
    },
    async (c, { params, principal }) => {
      const id = params.id ?? "";
      // Not deleted: another request deleted it first (then a 404 here, as a second delete is), or a
      // customer joined it, or a subscription was created for one of its customers, meanwhile; read
      // again, and end those subscriptions as well.
      await untilWritten("test clock", id, DELETE_TRIES, async () => deleteClock(c, principal, await clockOf(c, principal, id)));
      return json(c, { id, object: "test_helpers.test_clock", deleted: true });
    },
  );
}
