// Logs: one JSON line per request (merchant, actor, route, intent, error code, latency), per webhook
// delivery attempt (endpoint, event, status, duration) and per PSP call (connector, outcome,
// latency); and no line of a run carries a secret or card data (keys, webhook secrets, JWTs, PANs).
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink, scrub } from "../../src/log";
import { call, createEndpoint, createIntent, get, KEY_A, MERCHANT_A, post, receiverHook, waitFor, type PaymentIntentJson } from "../helpers";

const lines: string[] = [];
type Line = Record<string, unknown> & { message: string };
const parsed = () => lines.map((l) => JSON.parse(l) as Line);

beforeAll(() => {
  setLogSink((_level, line) => lines.push(line));
});
afterAll(() => {
  setLogSink(null);
});

// The suite runs at LOG_LEVEL=error; a sink receives every level.
const withInfo = <T>(fn: () => Promise<T>): Promise<T> => fn();

describe("log lines", () => {
  const issued: string[] = [KEY_A];
  const cards = ["4242424242424242", "4000000000000002", "4242 4242 4242 4242"];

  it("one line per request: merchant, actor, route, intent id, error code, latency", async () => {
    await withInfo(async () => {
      const created = await createIntent({ amount: 1500, payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "123" } }, confirm: true });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const intent = created.body as PaymentIntentJson;
      await get(`/v1/payment_intents/${intent.id}`);
      const missing = await get("/v1/payment_intents/pi_doesnotexist");
      expect(missing.status).toBe(404);
      const requests = parsed().filter((l) => l.message === "request");
      const create = requests.find((l) => l.method === "POST" && l.route === "/v1/payment_intents" && l.intent === intent.id);
      expect(create, JSON.stringify(requests)).toMatchObject({ merchant: MERCHANT_A, status: 200, error_code: null });
      expect(typeof create?.actor).toBe("string");
      expect(typeof create?.latency_ms).toBe("number");
      expect(typeof create?.request_id).toBe("string");
      expect(requests.find((l) => l.method === "GET" && l.route === "/v1/payment_intents/:id" && l.intent === intent.id)).toMatchObject({ merchant: MERCHANT_A, status: 200 });
      expect(requests.find((l) => l.route === "/v1/payment_intents/:id" && l.status === 404)).toMatchObject({ error_code: "resource_missing", intent: "pi_doesnotexist" });
      const unauthenticated = await call("GET", "/v1/payment_intents", { key: null });
      expect(unauthenticated.status).toBe(401);
      expect(parsed().filter((l) => l.message === "request" && l.status === 401).at(-1)).toMatchObject({ merchant: null, actor: null, route: "/v1/payment_intents" });
    });
  });

  it("one line per PSP call: connector, outcome, latency", async () => {
    await withInfo(async () => {
      await createIntent({ amount: 1600, payment_method: "pm_card_visa", confirm: true });
      await createIntent({ amount: 1700, payment_method_data: { type: "card", card: { number: "4000000000000002", exp_month: 12, exp_year: 2040 } }, confirm: true });
      const calls = await waitFor(async () => {
        const found = parsed().filter((l) => l.message === "psp call");
        return found.some((l) => l.outcome === "declined") ? found : undefined;
      }, 15_000, "psp call lines");
      expect(calls.find((l) => l.outcome === "declined")).toMatchObject({ connector: "sandbox", result: "decline" });
      for (const l of calls) expect(typeof l.latency_ms).toBe("number");
    });
  });

  it("one line per webhook delivery attempt: endpoint, event, status, duration", async () => {
    await withInfo(async () => {
      const hook = receiverHook("log-attempts");
      const endpoint = await createEndpoint(hook.url, ["payment_intent.succeeded"]);
      if (endpoint.secret) issued.push(endpoint.secret);
      const intent = (await createIntent({ amount: 1800, payment_method: "pm_card_visa", confirm: true })).body as PaymentIntentJson;
      const attempt = await waitFor(async () => {
        return parsed().find((l) => l.message === "webhook delivery attempt" && l.endpoint === endpoint.id);
      }, 20_000, "a delivery attempt line");
      expect(attempt).toMatchObject({ status_code: 200, outcome: "succeeded", event_type: "payment_intent.succeeded" });
      expect(String(attempt.event)).toMatch(/^evt_/);
      expect(typeof attempt.duration_ms).toBe("number");
      // The refund of it, with an Idempotency-Key and a JWT-looking Authorization that is refused.
      await post("/v1/refunds", { payment_intent: intent.id, amount: 100 });
      const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
      issued.push(jwt);
      await call("GET", "/v1/payment_intents", { key: jwt });
    });
  });

  it("no line carries an issued secret, a token or a card number", () => {
    expect(lines.length).toBeGreaterThan(5);
    const all = lines.join("\n");
    for (const secret of issued) expect(all.includes(secret), "a secret in the logs").toBe(false);
    for (const card of cards) expect(all.includes(card), `card ${card} in the logs`).toBe(false);
    expect(all).not.toMatch(/sk_test_[A-Za-z0-9]/);
    expect(all).not.toMatch(/whsec_/);
  });

  it("scrubs secrets and card numbers that a caller passes by mistake", () => {
    const line = scrub(JSON.stringify({ key: "sk_test_abc123", w: "whsec_QUJD+/=", jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", pan: "card 4242 4242 4242 4242 and 4000000000000002", ts: 1764640000000, amount: 4242 }));
    expect(line).not.toMatch(/sk_test_abc|whsec_QUJD|eyJhbGci|4242 4242|4000000000000002/);
    expect(line).toContain("1764640000000");
    expect(line).toContain('"amount":4242');
    // Inside an id or a key too (a word character before the number), but not inside a longer run of digits.
    const inIds = scrub(JSON.stringify({ intent: "pi_4000056655665556", key: "x5555555555554444y", long: "140000566556655561" }));
    expect(JSON.parse(inIds)).toEqual({ intent: "pi_[card]", key: "x[card]y", long: "140000566556655561" });
    // A number one digit off a card (it fails the Luhn check) and one written with dots are card numbers too.
    const nearly = scrub(JSON.stringify({ typo: "4539578763621487", dots: "4012.8888.8888.1881" }));
    expect(JSON.parse(nearly)).toEqual({ typo: "[card]", dots: "[card]" });
    // A client_secret (it pays the payment) is a secret; a field named like one is not.
    const secrets = scrub(JSON.stringify({ error: "Unrecognized 'pi_3abcDEF_secret_QwErTyUiOpAsDfGhJkLzXcVbN'", seti: "seti_9x_secret_abcdefghijklmnopqrstuvwx", field: "webhook_secret_set" }));
    expect(secrets).not.toMatch(/QwErTyUiOp|abcdefghijklmnop/);
    expect(JSON.parse(secrets)).toMatchObject({ field: "webhook_secret_set" });
  });

  it("a path no route took is quoted in its request line up to 256 characters, not a URL's worth", async () => {
    const long = `/${"a".repeat(10_000)}`;
    expect((await call("GET", long)).status).toBe(404);
    const line = parsed().filter((l) => l.message === "request" && l.status === 404 && typeof l.route === "string" && l.route.startsWith("/aaaa")).at(-1);
    expect(line?.route).toBe(`${long.slice(0, 256)}...`);
    await call("GET", "/v1/nope/123");
    expect(parsed().filter((l) => l.message === "request").at(-1)).toMatchObject({ route: "/v1/nope/123", status: 404 });
  });

  it("scrubs a line of hostile length in one pass: a long run of letters or of `-eyJ` is not rescanned from each of its characters", () => {
    // Every line is scrubbed, and an unknown path (up to a URL's length) is quoted in its request line.
    // Before, each of these took seconds (quadratic backtracking); the test's timeout is the bound.
    const letters = "a".repeat(100_000);
    expect(scrub(letters)).toBe(letters);
    expect(scrub(`/${"-eyJ".repeat(25_000)}`)).toBe("/-[redacted]");
    expect(scrub(`'${"a".repeat(100_000)}_secret_${"b".repeat(24)}'`)).toBe("'[redacted]'");
    expect(scrub(`${"a_".repeat(50_000)}secret`)).toBe(`${"a_".repeat(50_000)}secret`);
  });

  it("a card-shaped request id or idempotency key is kept nowhere: not logged, not echoed, not in the audit log or the event", async () => {
    const pi = (await createIntent({ amount: 700 })).body;
    const res = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: "pm_card_visa" }, { headers: { "X-Request-Id": "4000056655665556" }, idempotencyKey: "ik-5555555555554444" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Request-Id")).toMatch(/^req_/);
    await waitFor(async () => (await get<{ data: unknown[] }>(`/v1/events?payment_intent=${pi.id}&type=payment_intent.succeeded`)).body.data.length > 0, 10_000, "the succeeded event");
    const stored = JSON.stringify([
      (await get(`/v1/events?payment_intent=${pi.id}`)).body,
      (await get(`/v1/admin/audit_log?object_id=${pi.id}`)).body,
    ]);
    expect(stored).toContain("ik-[card]");
    expect(stored).not.toMatch(/4000056655665556|5555555555554444/);
    // Nor in the event's row as D1 keeps it (events are kept for 30 days), nor in the intent's object's
    // outbox on the way there: the record is made with the key masked.
    const rows = await env.DB.prepare("SELECT data FROM events WHERE merchant_id = ? AND payment_intent = ?").bind(MERCHANT_A, pi.id).all<{ data: string }>();
    expect(rows.results.length).toBeGreaterThan(0);
    for (const row of rows.results) expect(row.data).not.toMatch(/5555555555554444/);
    expect(rows.results.map((r) => r.data).join("\n")).toContain("ik-[card]");
    expect(lines.join("\n")).not.toMatch(/4000056655665556|5555555555554444/);
  });

  it("API answers are not cacheable (they may carry secrets); pages keep their own no-store", async () => {
    for (const res of [await get("/v1/payment_intents?limit=1"), await call("POST", "/v1/payment_intents", { body: "amount=-1" }), await get("/v1/nope")]) {
      expect(res.headers.get("Cache-Control")).toBe("no-cache, no-store");
    }
  });
});
