// Stripe's SetupAttempts (GET /v1/setup_attempts, src/api/v1/setup_attempts.ts): each confirmation of a
// setup intent that checks its card records one (succeeded, or failed with its setup_error), in the
// same batch as the setup's new status; the setup's latest_attempt names the newest, expand[] turns it
// into the object, and the list (setup_intent required) pages them newest first. A confirmation that
// lost to another change records none; another merchant's setup intent shows nothing.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { confirmSetup, findSetupIntent } from "../../src/billing/setup-intents";
import { findPaymentMethod } from "../../src/billing/store";
import { expectError, get, newMerchant, ok, post, waitFor, type CallOptions, type ListJson } from "../helpers";

interface AttemptJson {
  id: string;
  object: string;
  application: null;
  attach_to_self: boolean;
  created: number;
  customer: string | { id: string } | null;
  flow_directions: null;
  livemode: boolean;
  on_behalf_of: null;
  payment_method: string | { id: string; object: string };
  payment_method_details: { type: string; card?: { brand: string; last4: string; exp_month: number; exp_year: number; fingerprint: string; three_d_secure: null; network: string } };
  setup_error: { type: string; code: string; decline_code: string; message: string; payment_method: { id: string } } | null;
  setup_intent: string | { id: string; object: string; latest_attempt: unknown };
  status: string;
  usage: string;
}

interface SetupJson {
  id: string;
  status: string;
  payment_method: string | null;
  latest_attempt: string | AttemptJson | null;
}

interface SetupErrorJson {
  error: { code: string; setup_intent?: SetupJson };
}

const attemptsOf = async (opts: CallOptions, setup: string, query = "") => ok(get<ListJson<AttemptJson>>(`/v1/setup_attempts?setup_intent=${setup}${query}`, opts));

async function customerOf(opts: CallOptions, label: string): Promise<string> {
  return (await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com` }, opts))).id;
}

describe("/v1/setup_attempts and a setup intent's latest_attempt", () => {
  it("a setup not yet confirmed has no attempt; a confirmation that saves the card records a succeeded one, named by latest_attempt and expandable", async () => {
    const m = await newMerchant("setatt-basic");
    const customer = await customerOf(m.opts, "setatt-basic");
    const created = await ok(post<SetupJson>("/v1/setup_intents", { customer, usage: "on_session" }, m.opts));
    expect(created.latest_attempt).toBeNull();
    expect((await attemptsOf(m.opts, created.id)).data).toEqual([]);

    const confirmed = await ok(post<SetupJson>(`/v1/setup_intents/${created.id}/confirm`, { payment_method: "pm_card_visa" }, m.opts));
    expect(confirmed.status).toBe("succeeded");
    const attemptId = confirmed.latest_attempt as string;
    expect(attemptId).toMatch(/^setatt_/);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${created.id}`, m.opts))).latest_attempt).toBe(attemptId);

    const read = await ok(get<SetupJson>(`/v1/setup_intents/${created.id}?expand[]=latest_attempt`, m.opts));
    const attempt = read.latest_attempt as AttemptJson;
    expect(attempt).toMatchObject({
      id: attemptId,
      object: "setup_attempt",
      application: null,
      attach_to_self: false,
      customer,
      flow_directions: null,
      livemode: false,
      on_behalf_of: null,
      payment_method: confirmed.payment_method,
      payment_method_details: { type: "card", card: { brand: "visa", last4: "4242", network: "visa", three_d_secure: null } },
      setup_error: null,
      setup_intent: created.id,
      status: "succeeded",
      usage: "on_session",
    });
    expect(attempt.created).toBeGreaterThan(1_600_000_000);
    expect(attempt.created).toBeLessThan(10_000_000_000);

    // The list, and the attempt's own fields expanded through it (and through the setup's expand).
    const listed = await ok(get<ListJson<AttemptJson>>(`/v1/setup_attempts?setup_intent=${created.id}&expand[]=data.payment_method&expand[]=data.setup_intent&expand[]=data.customer`, m.opts));
    expect(listed).toMatchObject({ object: "list", has_more: false, url: "/v1/setup_attempts" });
    expect(listed.data.map((a) => a.id)).toEqual([attemptId]);
    expect(listed.data[0]?.payment_method).toMatchObject({ id: confirmed.payment_method, object: "payment_method" });
    expect(listed.data[0]?.setup_intent).toMatchObject({ id: created.id, object: "setup_intent", latest_attempt: attemptId });
    expect(listed.data[0]?.customer).toMatchObject({ id: customer });
    const deep = await ok(get<SetupJson>(`/v1/setup_intents/${created.id}?expand[]=latest_attempt.payment_method`, m.opts));
    expect((deep.latest_attempt as AttemptJson).payment_method).toMatchObject({ id: confirmed.payment_method, object: "payment_method" });
    // On the setup intents' list, through data.
    const setups = await ok(get<ListJson<SetupJson>>(`/v1/setup_intents?customer=${customer}&expand[]=data.latest_attempt`, m.opts));
    expect((setups.data[0]?.latest_attempt as AttemptJson).id).toBe(attemptId);

    // The setup_intent.succeeded event's setup names the attempt.
    const succeeded = await waitFor(async () => {
      const events = await ok(get<ListJson<{ data: { object: SetupJson } }>>("/v1/events?type=setup_intent.succeeded", m.opts));
      return events.data[0];
    }, 15_000, "setup_intent.succeeded");
    expect(succeeded.data.object.latest_attempt).toBe(attemptId);
  });

  it("a declined card records a failed attempt with its setup_error; the next card a succeeded one; listed newest first, paged and filtered", async () => {
    const m = await newMerchant("setatt-decline");
    const customer = await customerOf(m.opts, "setatt-decline");
    const declined = await post<SetupErrorJson>("/v1/setup_intents", { customer, confirm: true, payment_method: "pm_card_chargeDeclined" }, m.opts);
    expectError(declined, 402, "card_declined");
    const setup = declined.body.error.setup_intent as SetupJson;
    const failedId = setup.latest_attempt as string;
    expect(failedId).toMatch(/^setatt_/);
    expect(setup.status).toBe("requires_payment_method");

    // A 3D Secure card: its attempt waits (requires_action) until the challenge is answered, here failed.
    const threeDs = await ok(post<SetupJson & { next_action: { redirect_to_url: { url: string } } }>(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: "pm_card_threeDSecureRequired" }, m.opts));
    expect(threeDs.status).toBe("requires_action");
    const authId = threeDs.latest_attempt as string;
    expect(authId).toMatch(/^setatt_/);
    expect(authId).not.toBe(failedId);
    expect((await attemptsOf(m.opts, setup.id)).data.map((a) => [a.id, a.status])).toEqual([
      [authId, "requires_action"],
      [failedId, "failed"],
    ]);
    const challenge = new URL(threeDs.next_action.redirect_to_url.url);
    const answered = await exports.default.fetch(
      new Request(`${challenge.origin}${challenge.pathname}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_secret: challenge.searchParams.get("client_secret") ?? "", attempt: authId, outcome: "fail" }).toString(),
        redirect: "manual",
      }),
    );
    expect(answered.status).toBe(303);

    const saved = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: "pm_card_mastercard" }, m.opts));
    const wonId = saved.latest_attempt as string;

    const all = await attemptsOf(m.opts, setup.id);
    expect(all.data.map((a) => [a.id, a.status])).toEqual([
      [wonId, "succeeded"],
      [authId, "failed"],
      [failedId, "failed"],
    ]);
    const failed = all.data[2];
    expect(failed?.setup_error).toMatchObject({ type: "card_error", code: "card_declined", decline_code: "generic_decline" });
    expect(failed?.payment_method_details.card?.last4).toBe("0002");
    expect(failed?.setup_error?.payment_method.id).toBe(failed?.payment_method);
    expect(all.data[1]?.setup_error).toMatchObject({ type: "invalid_request_error", code: "setup_intent_authentication_failure" });
    expect(all.data[0]?.setup_error).toBeNull();
    expect(all.data[0]?.payment_method_details.card?.last4).toBe("4444");

    // Pages: limit, starting_after, ending_before.
    const first = await attemptsOf(m.opts, setup.id, "&limit=2");
    expect(first.data.map((a) => a.id)).toEqual([wonId, authId]);
    expect(first.has_more).toBe(true);
    const next = await attemptsOf(m.opts, setup.id, `&limit=2&starting_after=${authId}`);
    expect(next.data.map((a) => a.id)).toEqual([failedId]);
    expect(next.has_more).toBe(false);
    const before = await attemptsOf(m.opts, setup.id, `&limit=1&ending_before=${failedId}`);
    expect(before.data.map((a) => a.id)).toEqual([authId]);
    expect(before.has_more).toBe(true);
    // created filters (seconds).
    const at = all.data[2]?.created ?? 0;
    expect((await attemptsOf(m.opts, setup.id, `&created[gte]=${at}`)).data.length).toBe(3);
    expect((await attemptsOf(m.opts, setup.id, `&created[lt]=${at}`)).data).toEqual([]);
    // Another setup's attempts are not this one's.
    const other = await ok(post<SetupJson>("/v1/setup_intents", { customer, confirm: true, payment_method: "pm_card_visa" }, m.opts));
    expect((await attemptsOf(m.opts, other.id)).data.map((a) => a.id)).toEqual([other.latest_attempt]);
    expect((await attemptsOf(m.opts, setup.id)).data.length).toBe(3);
  });

  it("setup_intent is required; bad parameters are 400s; another merchant's setup intent is resource_missing and shows nothing; reading needs payments.methods.view", async () => {
    const m = await newMerchant("setatt-access");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", { confirm: true, payment_method: "pm_card_visa" }, m.opts));
    expect(setup.latest_attempt).toMatch(/^setatt_/);

    const missing = expectError(await get("/v1/setup_attempts", m.opts), 400, "parameter_missing");
    expect(missing.param).toBe("setup_intent");
    expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}&limit=0`, m.opts), 400);
    expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}&customer=cus_x`, m.opts), 400, "parameter_unknown");
    expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}&expand[]=payment_method`, m.opts), 400);
    expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}&expand[]=data.mandate`, m.opts), 400);
    expect(expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}&starting_after=setatt_nope`, m.opts), 400, "resource_missing").param).toBe("starting_after");
    expect(expectError(await get("/v1/setup_attempts?setup_intent=seti_nope", m.opts), 400, "resource_missing").param).toBe("setup_intent");

    const other = await newMerchant("setatt-access-other");
    const foreign = await get<Record<string, unknown>>(`/v1/setup_attempts?setup_intent=${setup.id}`, other.opts);
    const err = expectError(foreign, 400, "resource_missing");
    expect(err.param).toBe("setup_intent");
    expect(JSON.stringify(foreign.body)).not.toContain(setup.latest_attempt as string);
    // Its attempt is not another merchant's to expand either, nor to page from.
    const theirs = await ok(post<SetupJson>("/v1/setup_intents", { confirm: true, payment_method: "pm_card_visa" }, other.opts));
    expectError(await get(`/v1/setup_attempts?setup_intent=${theirs.id}&starting_after=${setup.latest_attempt as string}`, other.opts), 400, "resource_missing");

    const viewer = await ok(post<{ secret: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.methods.view"] }, m.opts));
    expect((await ok(get<ListJson<AttemptJson>>(`/v1/setup_attempts?setup_intent=${setup.id}`, { key: viewer.secret }))).data.length).toBe(1);
    const payments = await ok(post<{ secret: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, m.opts));
    expectError(await get(`/v1/setup_attempts?setup_intent=${setup.id}`, { key: payments.secret }), 403);
  });

  it("a confirmation that lost to another change records no attempt: the attempt is written only with the setup's own change", async () => {
    const m = await newMerchant("setatt-lost");
    const scope = { merchantId: m.id, livemode: false };
    const setup = await ok(post<SetupJson>("/v1/setup_intents", { payment_method: "pm_card_visa" }, m.opts));
    const stale = await findSetupIntent(env.DB, scope, setup.id);
    const card = await findPaymentMethod(env.DB, scope, setup.payment_method ?? "");
    const won = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/confirm`, {}, m.opts));
    // The same confirmation again, from the setup as read before: the batch refuses it, and writes no attempt.
    expect((await confirmSetup(env, scope, stale, card, { requestId: null, livemode: false, challenge: { origin: "http://gateway.test", returnUrl: null } })).kind).toBe("lost");
    const declining = await findPaymentMethod(env.DB, scope, (await ok(post<{ id: string }>("/v1/payment_methods", { payment_method: "pm_card_chargeDeclined" }, m.opts))).id);
    expect((await confirmSetup(env, scope, stale, declining, { requestId: null, livemode: false, challenge: { origin: "http://gateway.test", returnUrl: null } })).kind).toBe("lost");
    expect((await attemptsOf(m.opts, setup.id)).data.map((a) => a.id)).toEqual([won.latest_attempt]);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM setup_attempts WHERE setup_intent = ?").bind(setup.id).first<{ n: number }>())?.n).toBe(1);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, m.opts))).latest_attempt).toBe(won.latest_attempt);
  });

  it("concurrent confirmations of one setup record exactly one attempt, the one the setup names", async () => {
    const m = await newMerchant("setatt-race");
    const setup = await ok(post<SetupJson>("/v1/setup_intents", {}, m.opts));
    const answers = await Promise.all(["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_chargeDeclined"].map((pm) => post<SetupJson>(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: pm }, m.opts)));
    const read = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, m.opts));
    const attempts = (await attemptsOf(m.opts, setup.id)).data;
    // Each confirmation that changed the setup recorded its attempt; the newest is the setup's latest.
    const changed = answers.filter((r) => r.status === 200 || r.status === 402).length;
    expect(attempts.length, JSON.stringify(answers.map((r) => r.status))).toBe(changed);
    expect(attempts.filter((a) => a.status === "succeeded").length).toBeLessThanOrEqual(1);
    expect(attempts[0]?.id).toBe(read.latest_attempt);
  });
});
