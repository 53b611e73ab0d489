// 3D Secure for setup intents (src/billing/setup-intents.ts, src/pages/setup-threeds.ts): a card that
// requires 3D Secure sends the setup to requires_action (next_action.redirect_to_url, its SetupAttempt
// requires_action, setup_intent.requires_action); the customer's answer on the sandbox's challenge page
// saves the card (succeeded) or fails the setup (requires_payment_method, setup_intent_authentication_failure),
// once however many answers race; a GET of the page changes nothing; another merchant's secret opens
// nothing; a reader is not given the challenge's address.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { completeSetupChallenge, findSetupIntent } from "../../src/billing/setup-intents";
import { call, expectError, get, newMerchant, ok, post, waitFor, type CallOptions, type ListJson } from "../helpers";

interface AttemptJson {
  id: string;
  object: "setup_attempt";
  status: string;
  payment_method: string;
  payment_method_details: { type: string; card: { last4: string; three_d_secure: { authentication_flow: string; result: string } | null } };
  setup_error: { type: string; code: string; message: string; payment_method: { id: string } } | null;
}

interface SetupJson {
  id: string;
  object: "setup_intent";
  status: string;
  client_secret: string | null;
  customer: string | null;
  payment_method: string | null;
  last_setup_error: { type: string; code: string; decline_code?: string; message: string; payment_method: { id: string } } | null;
  latest_attempt: string | AttemptJson | null;
  next_action: { type: string; redirect_to_url: { url: string | null; return_url: string | null } } | null;
}

const GATEWAY = "http://gateway.test";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function customerOf(opts: CallOptions, label: string): Promise<string> {
  return (await ok(post<{ id: string }>("/v1/customers", { email: `${label}@example.com` }, opts))).id;
}

const cardsOf = async (opts: CallOptions, customer: string) => (await ok(get<ListJson<{ id: string }>>(`/v1/payment_methods?customer=${customer}`, opts))).data.map((c) => c.id);
const attemptsOf = async (opts: CallOptions, setup: string) => (await ok(get<ListJson<AttemptJson>>(`/v1/setup_attempts?setup_intent=${setup}`, opts))).data;
const eventsOf = async (opts: CallOptions, type: string) => (await ok(get<ListJson<{ type: string; data: { object: SetupJson } }>>(`/v1/events?type=${type}&limit=100`, opts))).data;

/** The setup's row as stored: what a GET must leave alone. */
async function stored(id: string): Promise<string> {
  const setup = await env.DB.prepare("SELECT status, version, payment_method, latest_attempt, last_setup_error, next_action FROM setup_intents WHERE id = ?").bind(id).first();
  const attempts = await env.DB.prepare("SELECT id, status, setup_error FROM setup_attempts WHERE setup_intent = ? ORDER BY id").bind(id).all();
  return JSON.stringify({ setup, attempts: attempts.results });
}

const open = (url: string) => exports.default.fetch(new Request(new URL(url, GATEWAY), { redirect: "manual" }));

function answer(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  const target = new URL(url, GATEWAY);
  return exports.default.fetch(new Request(`${target.origin}${target.pathname}`, { method: "POST", headers: { ...FORM, ...headers }, body: new URLSearchParams(fields).toString(), redirect: "manual" }));
}

/** The answer the challenge page's own form sends: its hidden fields and the button's outcome. */
async function answerOnPage(url: string, outcome: "approve" | "fail"): Promise<Response> {
  const html = await (await open(url)).text();
  const fields: Record<string, string> = { outcome };
  for (const name of ["client_secret", "attempt"]) {
    const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
    if (value === undefined) throw new Error(`no ${name} on the challenge page: ${html.slice(0, 400)}`);
    fields[name] = value;
  }
  return answer(url, fields);
}

/** A setup for a new customer, confirmed with a 3D Secure card: requires_action. */
async function challenged(label: string, returnUrl?: string): Promise<{ merchant: string; opts: CallOptions; customer: string; setup: SetupJson }> {
  const m = await newMerchant(label);
  const customer = await customerOf(m.opts, label);
  const made = await ok(post<SetupJson>("/v1/setup_intents", { customer }, m.opts));
  const setup = await ok(post<SetupJson>(`/v1/setup_intents/${made.id}/confirm`, { payment_method: "pm_card_threeDSecure2Required", ...(returnUrl ? { return_url: returnUrl } : {}) }, m.opts));
  return { merchant: m.id, opts: m.opts, customer, setup };
}

async function restrictedKey(opts: CallOptions, permissions: string[]): Promise<CallOptions> {
  const key = await ok(post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, opts));
  if (!key.secret) throw new Error("no secret");
  return { key: key.secret };
}

describe("3D Secure for setup intents", () => {
  it("a 3D Secure card: requires_action with next_action and a requires_action attempt; the passed challenge saves the card and goes back to return_url", async () => {
    const { opts, customer, setup } = await challenged("seti-3ds-pass", "https://shop.example/saved?step=2");
    expect(setup.status).toBe("requires_action");
    expect(setup.last_setup_error).toBeNull();
    expect(setup.payment_method).toMatch(/^pm_/);
    const attempt = setup.latest_attempt as string;
    expect(attempt).toMatch(/^setatt_/);
    expect(setup.next_action?.type).toBe("redirect_to_url");
    expect(setup.next_action?.redirect_to_url.return_url).toBe("https://shop.example/saved?step=2");
    const url = setup.next_action?.redirect_to_url.url ?? "";
    expect(url).toBe(`${GATEWAY}/sandbox/3ds/${setup.id}?client_secret=${encodeURIComponent(setup.client_secret ?? "")}&attempt=${attempt}`);
    // Nothing saved yet; retrieve and the attempt say the same.
    expect(await cardsOf(opts, customer)).toEqual([]);
    const read = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}?expand[]=latest_attempt`, opts));
    expect(read).toMatchObject({ status: "requires_action", next_action: setup.next_action });
    expect(read.latest_attempt).toMatchObject({ id: attempt, object: "setup_attempt", status: "requires_action", setup_error: null, payment_method: setup.payment_method, payment_method_details: { type: "card", card: { last4: "3220", three_d_secure: null } } });
    const event = await waitFor(async () => (await eventsOf(opts, "setup_intent.requires_action"))[0], 15_000, "setup_intent.requires_action");
    expect(event.data.object).toMatchObject({ id: setup.id, status: "requires_action", latest_attempt: attempt });
    expect(event.data.object.next_action?.redirect_to_url.url).toBe(url);

    // The page: the challenge, in the checkout's look, fit for a phone; opened twice it changes nothing.
    const before = await stored(setup.id);
    const page = await open(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("form-action 'self' https://shop.example");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    expect(html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    expect(html).toContain("<main>");
    expect(html).toContain("<h1>3D Secure test challenge</h1>");
    expect(html).toContain("Visa •••• 3220");
    expect(html).toContain('<button class="approve" type="submit">Complete authentication</button>');
    expect(html).not.toContain("4000000000003220");
    expect((await open(`${url}&result=1`)).status).toBe(200);
    expect(await stored(setup.id)).toBe(before);

    const done = await answerOnPage(url, "approve");
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get("location") ?? "");
    expect(`${back.origin}${back.pathname}`).toBe("https://shop.example/saved");
    expect(Object.fromEntries(back.searchParams)).toEqual({ step: "2", setup_intent: setup.id, setup_intent_client_secret: setup.client_secret, redirect_status: "succeeded" });

    const saved = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts));
    expect(saved).toMatchObject({ status: "succeeded", next_action: null, last_setup_error: null, payment_method: setup.payment_method, latest_attempt: attempt });
    expect(await cardsOf(opts, customer)).toEqual([setup.payment_method]);
    expect((await attemptsOf(opts, setup.id)).map((a) => [a.id, a.status, a.setup_error])).toEqual([[attempt, "succeeded", null]]);
    expect((await attemptsOf(opts, setup.id))[0]?.payment_method_details.card).toMatchObject({ last4: "3220", three_d_secure: { authentication_flow: "challenge", result: "authenticated" } });
    await waitFor(async () => (await eventsOf(opts, "setup_intent.succeeded")).length > 0, 15_000, "setup_intent.succeeded");
    expect((await eventsOf(opts, "setup_intent.succeeded")).map((e) => [e.data.object.id, e.data.object.status, e.data.object.next_action])).toEqual([[setup.id, "succeeded", null]]);
    expect((await eventsOf(opts, "payment_method.attached")).length).toBe(1);
    expect(await eventsOf(opts, "setup_intent.setup_failed")).toEqual([]);

    // The challenge, answered: its page says so, offers no form, and changes nothing.
    const after = await stored(setup.id);
    const again = await open(url);
    expect(again.status).toBe(200);
    const answered = await again.text();
    expect(answered).toContain("<h1>Card saved</h1>");
    expect(answered).not.toContain("<form");
    expect(await stored(setup.id)).toBe(after);
  });

  it("a failed challenge: requires_payment_method with setup_intent_authentication_failure, the attempt failed with it, setup_intent.setup_failed; another card then saves", async () => {
    const { opts, customer, setup } = await challenged("seti-3ds-fail");
    // Without a return_url: still a redirect, as a payment intent's challenge is.
    expect(setup.next_action?.redirect_to_url.return_url).toBeNull();
    const attempt = setup.latest_attempt as string;
    const done = await answerOnPage(setup.next_action?.redirect_to_url.url ?? "", "fail");
    expect(done.status).toBe(303);
    const result = done.headers.get("location") ?? "";
    expect(result).toBe(`/sandbox/3ds/${setup.id}?client_secret=${encodeURIComponent(setup.client_secret ?? "")}&attempt=${attempt}&result=1`);
    const page = await open(result);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("<h1>Card not saved</h1>");
    expect(html).toContain('role="alert"');
    expect(html).not.toContain("<form");

    const failed = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts));
    expect(failed).toMatchObject({ status: "requires_payment_method", payment_method: null, next_action: null, latest_attempt: attempt });
    expect(failed.last_setup_error).toMatchObject({ type: "invalid_request_error", code: "setup_intent_authentication_failure", payment_method: { id: setup.payment_method } });
    expect(failed.last_setup_error?.decline_code).toBeUndefined();
    expect(await cardsOf(opts, customer)).toEqual([]);
    const [row] = await attemptsOf(opts, setup.id);
    expect(row).toMatchObject({ id: attempt, status: "failed", setup_error: { type: "invalid_request_error", code: "setup_intent_authentication_failure" } });
    expect(row?.payment_method_details.card.three_d_secure).toMatchObject({ authentication_flow: "challenge", result: "failed" });
    const event = await waitFor(async () => (await eventsOf(opts, "setup_intent.setup_failed"))[0], 15_000, "setup_intent.setup_failed");
    expect(event.data.object).toMatchObject({ id: setup.id, status: "requires_payment_method", last_setup_error: { code: "setup_intent_authentication_failure" } });

    const saved = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: "pm_card_visa" }, opts));
    expect(saved.status).toBe("succeeded");
    expect((await attemptsOf(opts, setup.id)).map((a) => a.status)).toEqual(["succeeded", "failed"]);
    // The old challenge's page now only says where things stand.
    expect((await open(setup.next_action?.redirect_to_url.url ?? "")).status).toBe(409);
  });

  it("in requires_action: confirming again or another card is a 400 setup_intent_unexpected_state; cancel abandons the attempt, and the page then answers nothing", async () => {
    const { opts, setup } = await challenged("seti-3ds-cancel", "https://shop.example/back");
    expectError(await post(`/v1/setup_intents/${setup.id}/confirm`, {}, opts), 400, "setup_intent_unexpected_state");
    expectError(await post(`/v1/setup_intents/${setup.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "setup_intent_unexpected_state");
    const methods = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM payment_methods WHERE merchant_id = (SELECT merchant_id FROM setup_intents WHERE id = ?)").bind(setup.id).first<{ n: number }>())?.n;
    const methodsBefore = await methods();
    expectError(await post(`/v1/setup_intents/${setup.id}`, { payment_method: "pm_card_visa" }, opts), 400, "setup_intent_unexpected_state");
    expectError(await post(`/v1/setup_intents/${setup.id}`, { payment_method_data: { type: "card", card: { token: "tok_visa" } } }, opts), 400, "setup_intent_unexpected_state");
    // Refused, it saved no payment method either.
    expect(await methods()).toBe(methodsBefore);
    // Its own customer named again (a client sending the object back) changes nothing and is no error;
    // another customer is refused as a change.
    const same = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}`, { customer: setup.customer, metadata: { order: "42" } }, opts));
    expect(same).toMatchObject({ status: "requires_action", customer: setup.customer, payment_method: setup.payment_method, metadata: { order: "42" } });
    const other = (await ok(post<{ id: string }>("/v1/customers", {}, opts))).id;
    expectError(await post(`/v1/setup_intents/${setup.id}`, { customer: other }, opts), 400);
    // A return_url belongs to a confirmation.
    expectError(await post("/v1/setup_intents", { return_url: "https://shop.example/back" }, opts), 400);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts))).status).toBe("requires_action");

    const canceled = await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/cancel`, { cancellation_reason: "abandoned" }, opts));
    expect(canceled).toMatchObject({ status: "canceled", next_action: null });
    expect((await attemptsOf(opts, setup.id)).map((a) => a.status)).toEqual(["abandoned"]);
    const before = await stored(setup.id);
    const late = await answerOnPage(`${setup.next_action?.redirect_to_url.url ?? ""}&result=1`, "approve").catch(() => null);
    expect(late).toBeNull(); // the result page has no form
    const posted = await answer(setup.next_action?.redirect_to_url.url ?? "", { client_secret: setup.client_secret ?? "", attempt: setup.latest_attempt as string, outcome: "approve" });
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get("location") ?? "").searchParams.get("redirect_status")).toBe("failed");
    expect(await stored(setup.id)).toBe(before);
    expect(await eventsOf(opts, "setup_intent.succeeded")).toEqual([]);
  });

  it("answers sent together complete the challenge exactly once: one card attached, one event, the attempt answered once", async () => {
    const { opts, customer, setup } = await challenged("seti-3ds-race", "https://shop.example/back");
    const url = setup.next_action?.redirect_to_url.url ?? "";
    const fields = { client_secret: setup.client_secret ?? "", attempt: setup.latest_attempt as string };
    const answers = await Promise.all(["approve", "fail", "approve", "fail", "approve", "approve"].map((outcome) => answer(url, { ...fields, outcome })));
    expect(answers.map((r) => r.status)).toEqual([303, 303, 303, 303, 303, 303]);
    const after = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts));
    expect(["succeeded", "requires_payment_method"]).toContain(after.status);
    // Every answer leads to where the setup now stands.
    const statuses = new Set(answers.map((r) => new URL(r.headers.get("location") ?? "").searchParams.get("redirect_status")));
    expect([...statuses]).toEqual([after.status === "succeeded" ? "succeeded" : "failed"]);
    const attempts = await attemptsOf(opts, setup.id);
    expect(attempts.map((a) => a.status)).toEqual([after.status === "succeeded" ? "succeeded" : "failed"]);
    expect(await cardsOf(opts, customer)).toEqual(after.status === "succeeded" ? [setup.payment_method] : []);
    const type = after.status === "succeeded" ? "setup_intent.succeeded" : "setup_intent.setup_failed";
    await waitFor(async () => (await eventsOf(opts, type)).length > 0, 15_000, type);
    expect((await eventsOf(opts, "setup_intent.succeeded")).length + (await eventsOf(opts, "setup_intent.setup_failed")).length).toBe(1);
    expect((await eventsOf(opts, "payment_method.attached")).length).toBe(after.status === "succeeded" ? 1 : 0);
  });

  it("two answers made from the same read (a race, each checked its state first): one completes the challenge, the other writes nothing", async () => {
    for (const outcomes of [[true, false], [false, true], [true, true], [false, false]]) {
      const { merchant, opts, customer, setup } = await challenged(`seti-3ds-same-read-${outcomes.join("-")}`);
      const scope = { merchantId: merchant, livemode: false };
      const row = await findSetupIntent(env.DB, scope, setup.id);
      const attempt = setup.latest_attempt as string;
      const done = await Promise.all(outcomes.map((approved) => completeSetupChallenge(env, scope, row, attempt, approved, null)));
      const won = done.filter((d) => d.kind !== "lost");
      expect(won.length, JSON.stringify(done)).toBe(1);
      const status = won[0]?.kind === "succeeded" ? "succeeded" : "requires_payment_method";
      const now = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts));
      expect(now.status).toBe(status);
      expect((await attemptsOf(opts, setup.id)).map((a) => a.status)).toEqual([status === "succeeded" ? "succeeded" : "failed"]);
      expect(await cardsOf(opts, customer)).toEqual(status === "succeeded" ? [setup.payment_method] : []);
      // Late, with the same stale read: nothing.
      expect((await completeSetupChallenge(env, scope, row, attempt, status !== "succeeded", null)).kind).toBe("lost");
      expect((await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, opts))).status).toBe(status);
      const events = async () => [...(await eventsOf(opts, "setup_intent.succeeded")), ...(await eventsOf(opts, "setup_intent.setup_failed"))];
      await waitFor(async () => (await events()).length > 0, 15_000, "the answer's event");
      expect((await events()).length).toBe(1);
    }
  });

  it("a customer deleted while the challenge waits gets no card: the passed challenge is a 409 page, nothing saved, and the setup can still be canceled", async () => {
    const { opts, customer, setup } = await challenged("seti-3ds-deleted", "https://shop.example/back");
    await ok(call("DELETE", `/v1/customers/${customer}`, opts));
    const before = await stored(setup.id);
    const res = await answerOnPage(setup.next_action?.redirect_to_url.url ?? "", "approve");
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toContain("<h1>Card not saved</h1>");
    expect(html).toContain('role="alert"');
    expect(await stored(setup.id)).toBe(before);
    expect((await ok(get<{ customer: string | null }>(`/v1/payment_methods/${setup.payment_method ?? ""}`, opts))).customer).toBeNull();
    expect((await ok(post<SetupJson>(`/v1/setup_intents/${setup.id}/cancel`, {}, opts))).status).toBe("canceled");
  });

  it("another merchant's setup is never reachable: not with another setup's secret, not through the API; a cross-site answer is refused", async () => {
    const a = await challenged("seti-3ds-owner-a");
    const b = await challenged("seti-3ds-owner-b");
    const before = await stored(a.setup.id);
    const aUrl = a.setup.next_action?.redirect_to_url.url ?? "";
    // B's secret (and attempt) on A's setup, a payment's page path with A's secret, a made-up secret: not found.
    const forged = `/sandbox/3ds/${a.setup.id}?client_secret=${encodeURIComponent(b.setup.client_secret ?? "")}&attempt=${b.setup.latest_attempt as string}`;
    expect((await open(forged)).status).toBe(404);
    expect((await open(`/sandbox/3ds/${a.setup.id}?client_secret=${a.setup.id}_secret_AAAAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404);
    expect((await open(`/sandbox/3ds/${a.setup.id}`)).status).toBe(404);
    expect((await answer(forged, { client_secret: b.setup.client_secret ?? "", attempt: b.setup.latest_attempt as string, outcome: "approve" })).status).toBe(404);
    expect((await answer(aUrl, { client_secret: b.setup.client_secret ?? "", attempt: a.setup.latest_attempt as string, outcome: "approve" })).status).toBe(404);
    // Its own attempt's id on B's page is not B's challenge: refused, nothing changed.
    expect((await answer(b.setup.next_action?.redirect_to_url.url ?? "", { client_secret: b.setup.client_secret ?? "", attempt: a.setup.latest_attempt as string, outcome: "approve" })).status).toBe(409);
    // A form another site makes the browser send: 403, nothing done.
    expect((await answer(aUrl, { client_secret: a.setup.client_secret ?? "", attempt: a.setup.latest_attempt as string, outcome: "approve" }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    // B's key does not see, confirm or cancel A's setup.
    expectError(await get(`/v1/setup_intents/${a.setup.id}`, b.opts), 404, "resource_missing");
    expectError(await post(`/v1/setup_intents/${a.setup.id}/cancel`, {}, b.opts), 404, "resource_missing");
    expectError(await post(`/v1/setup_intents/${a.setup.id}/confirm`, {}, b.opts), 404, "resource_missing");
    expect(await stored(a.setup.id)).toBe(before);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${b.setup.id}`, b.opts))).status).toBe("requires_action");
  });

  it("a reader (no payments.methods.manage) gets neither the secret nor the challenge's address; return_url stays", async () => {
    const { opts, setup } = await challenged("seti-3ds-reader", "https://shop.example/back");
    const viewer = await restrictedKey(opts, ["payments.methods.view"]);
    const read = await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, viewer));
    expect(read.client_secret).toBeNull();
    expect(read.next_action).toEqual({ type: "redirect_to_url", redirect_to_url: { url: null, return_url: "https://shop.example/back" } });
    const listed = await ok(get<ListJson<SetupJson>>("/v1/setup_intents", viewer));
    expect(listed.data.map((s) => s.next_action?.redirect_to_url.url)).toEqual([null]);
    const manager = await restrictedKey(opts, ["payments.methods.view", "payments.methods.manage"]);
    expect((await ok(get<SetupJson>(`/v1/setup_intents/${setup.id}`, manager))).next_action?.redirect_to_url.url).toBe(setup.next_action?.redirect_to_url.url);
    expect(JSON.stringify(read)).not.toContain(setup.client_secret ?? "-");
  });
});

describe("a card set up with a passed 3D Secure challenge, charged later off session", () => {
  /** A customer whose `card` was saved through a setup's 3D Secure challenge, passed. */
  async function setUp(label: string, card: string): Promise<{ opts: CallOptions; customer: string; pm: string }> {
    const m = await newMerchant(label);
    const customer = await customerOf(m.opts, label);
    const made = await ok(post<SetupJson>("/v1/setup_intents", { customer }, m.opts));
    const setup = await ok(post<SetupJson>(`/v1/setup_intents/${made.id}/confirm`, { payment_method: card }, m.opts));
    expect(setup.status).toBe("requires_action");
    expect((await answerOnPage(setup.next_action?.redirect_to_url.url ?? "", "approve")).status).toBe(303);
    const done = await ok(get<SetupJson>(`/v1/setup_intents/${made.id}`, m.opts));
    expect(done.status).toBe("succeeded");
    return { opts: m.opts, customer, pm: done.payment_method ?? "" };
  }

  const offSession = (opts: CallOptions, customer: string, pm: string) =>
    post<{ status: string; id: string }>("/v1/payment_intents", { amount: 2500, currency: "usd", customer, payment_method: pm, off_session: true, confirm: true }, opts);

  it("4000002500003155 (pm_card_authenticationRequiredOnSetup) is charged without a challenge, as at Stripe; on session it still asks for one", async () => {
    const { opts, customer, pm } = await setUp("seti-3155-offsession", "pm_card_authenticationRequiredOnSetup");
    const charged = await offSession(opts, customer, pm);
    expect(charged.status, JSON.stringify(charged.body)).toBe(200);
    expect(charged.body.status).toBe("succeeded");
    const onSession = await ok(post<{ status: string }>("/v1/payment_intents", { amount: 2500, currency: "usd", customer, payment_method: pm, confirm: true, return_url: "https://shop.example/back" }, opts));
    expect(onSession.status).toBe("requires_action");
  });

  it("4000002500003155 saved by a payment (setup_future_usage) whose 3D Secure challenge passed is set up too: charged off session", async () => {
    const m = await newMerchant("pi-3155-saved");
    const customer = await customerOf(m.opts, "pi-3155-saved");
    const paid = await ok(
      post<{ id: string; status: string; next_action: { redirect_to_url: { url: string } } | null }>(
        "/v1/payment_intents",
        { amount: 1200, currency: "usd", customer, payment_method: "pm_card_authenticationRequiredOnSetup", setup_future_usage: "off_session", confirm: true, return_url: "https://shop.example/back" },
        m.opts,
      ),
    );
    expect(paid.status).toBe("requires_action");
    expect((await answerOnPage(paid.next_action?.redirect_to_url.url ?? "", "approve")).status).toBe(303);
    expect((await ok(get<{ status: string }>(`/v1/payment_intents/${paid.id}`, m.opts))).status).toBe("succeeded");
    const [pm] = await waitFor(async () => {
      const cards = await cardsOf(m.opts, customer);
      return cards.length > 0 && cards;
    }, 15_000, "the card saved by the payment");
    const charged = await offSession(m.opts, customer, pm ?? "");
    expect(charged.status, JSON.stringify(charged.body)).toBe(200);
    expect(charged.body.status).toBe("succeeded");
  });

  it("the same card saved without a setup's challenge, and 4000002760003184 (always asks) even after one, are declined authentication_required off session", async () => {
    const m = await newMerchant("seti-3155-no-setup");
    const customer = await customerOf(m.opts, "seti-3155-no-setup");
    const saved = await ok(post<{ id: string }>(`/v1/customers/${customer}/payment_methods`, { payment_method: "pm_card_authenticationRequiredOnSetup" }, m.opts));
    expect(expectError(await offSession(m.opts, customer, saved.id), 402)).toMatchObject({ code: "authentication_required" });

    const always = await setUp("seti-3184-offsession", "pm_card_authenticationRequired");
    expect(expectError(await offSession(always.opts, always.customer, always.pm), 402)).toMatchObject({ code: "authentication_required" });
  });
});
