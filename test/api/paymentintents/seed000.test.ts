// Seed 000: /api/v1/PaymentIntents. The seed's example requests sent verbatim, their answers checked
// field by field; JWT auth and roles; problem details on every class of error; exact decimals for
// EUR, JPY and KWD; a payment made here read back through /v1; the PSP webhook route.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { canonicalPath } from "../../../src/api/paymentintents/index";
import { inSurfaceWords } from "../../../src/api/paymentintents/problem";
import { signSandboxWebhook } from "../../../src/connectors/sandbox/webhooks";
import { addConnector, get, hsToken, KEY_A, MERCHANT_A, newMerchant, post, readModelIntent, type ListJson, type PaymentIntentJson, type TransactionJson } from "../../helpers";

const BASE = "/api/v1/PaymentIntents";
const SANDBOX_SECRET = "sandbox_webhook_secret_for_development";

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function send(method: string, path: string, options: { token?: string | null; body?: string; contentType?: string | null; headers?: Record<string, string> } = {}): Promise<Raw> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined && options.contentType !== null) headers["content-type"] = options.contentType ?? "application/json";
  const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers, body: options.body }));
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

type Intent = {
  id: number;
  invoiceId: number | null;
  orderId: number | null;
  customerId: number | null;
  amount: number;
  currency: string;
  status: string;
  paymentGatewayId: number;
  gatewayIntentId: string;
  clientSecret: string;
  description: string | null;
  authorizedAt: string | null;
  capturedAt: string | null;
  failedAt: string | null;
  failureReason: string;
  createdAt: string;
};

const SEED_CREATE = `{
  "invoiceId": 123,
  "orderId": null,
  "amount": 99.99,
  "currency": "EUR",
  "paymentGatewayId": 1,
  "returnUrl": "https://example.com/success",
  "cancelUrl": "https://example.com/cancel",
  "description": "Payment for invoice #123"
}`;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

const user = (sub = "456", merchant: string | null = MERCHANT_A) => hsToken({ roles: ["merchant"], sub, merchant });
const admin = () => hsToken({ roles: ["admin"], merchant: null, sub: "admin-1" });
const support = () => hsToken({ roles: ["support"], merchant: null, sub: "support-1" });

function expectProblem(res: Raw, status: number): { type: string; title: string; status: number; detail: string; traceId: string; errors?: Record<string, string[]> } {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = res.json as { type: string; title: string; status: number; detail: string; traceId: string };
  expect(typeof body.type).toBe("string");
  expect(body.type).toMatch(/^https:\/\/tools\.ietf\.org\/html\/rfc/);
  expect(typeof body.title).toBe("string");
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe("string");
  expect(body.traceId).toMatch(/^req_/);
  return body;
}

async function create(body = SEED_CREATE, token?: string): Promise<Intent> {
  const res = await send("POST", BASE, { token: token ?? (await user()), body });
  expect(res.status, res.text).toBe(201);
  return res.json as Intent;
}

describe("seed 000: the seed's examples, verbatim", () => {
  it("POST creates (201) with every field as the seed shows it", async () => {
    const res = await send("POST", BASE, { token: await user("456"), body: SEED_CREATE });
    expect(res.status, res.text).toBe(201);
    const body = res.json as Intent;
    expect(Object.keys(body).sort()).toEqual(
      ["id", "invoiceId", "orderId", "customerId", "amount", "currency", "status", "paymentGatewayId", "gatewayIntentId", "clientSecret", "description", "authorizedAt", "capturedAt", "failedAt", "failureReason", "createdAt"].sort(),
    );
    expect(Number.isInteger(body.id) && body.id > 0).toBe(true);
    expect(body.invoiceId).toBe(123);
    expect(body.orderId).toBeNull();
    expect(body.customerId).toBe(456);
    expect(body.amount).toBe(99.99);
    expect(res.text).toContain('"amount":99.99,');
    expect(body.currency).toBe("EUR");
    expect(body.status).toBe("RequiresPaymentMethod");
    expect(body.paymentGatewayId).toBe(1);
    expect(body.gatewayIntentId).toMatch(/^pi_[A-Za-z0-9]+$/);
    expect(body.clientSecret.startsWith(`${body.gatewayIntentId}_secret_`)).toBe(true);
    expect(body.description).toBe("Payment for invoice #123");
    expect(body.authorizedAt).toBeNull();
    expect(body.capturedAt).toBeNull();
    expect(body.failedAt).toBeNull();
    expect(body.failureReason).toBe("");
    expect(body.createdAt).toMatch(ISO_UTC);
    expect(res.headers.get("location")).toBe(`${BASE}/${body.id}`);
    // returnUrl and cancelUrl are kept on the intent.
    const record = await env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(body.gatewayIntentId)).retrieve({ merchantId: MERCHANT_A, livemode: false }, body.gatewayIntentId);
    expect(record?.returnUrl).toBe("https://example.com/success");
    expect(record?.cancelUrl).toBe("https://example.com/cancel");
  });

  it("ids are stable integers, increasing with each payment", async () => {
    const a = await create();
    const b = await create();
    expect(b.id).toBeGreaterThan(a.id);
    const again = await send("GET", `${BASE}/${a.id}`, { token: await admin() });
    expect((again.json as Intent).gatewayIntentId).toBe(a.gatewayIntentId);
  });

  it("GET list, GET by id and GET by customer (admin, support) answer the seed's shape", async () => {
    const made = await create(SEED_CREATE, await user("78901"));
    const list = await send("GET", BASE, { token: await admin() });
    expect(list.status, list.text).toBe(200);
    expect(Array.isArray(list.json)).toBe(true);
    const listed = (list.json as Intent[]).find((i) => i.id === made.id);
    expect(listed).toEqual(made);

    const one = await send("GET", `${BASE}/${made.id}`, { token: await support() });
    expect(one.status, one.text).toBe(200);
    // Support reads every field; the client secret (a credential to pay) is withheld from it: null.
    expect(one.json).toEqual({ ...made, clientSecret: null });

    const mine = await send("GET", `${BASE}/customer/78901`, { token: await support() });
    expect(mine.status, mine.text).toBe(200);
    const ids = (mine.json as Intent[]).map((i) => i.id);
    expect(ids).toContain(made.id);
    expect((mine.json as Intent[]).every((i) => i.customerId === 78901)).toBe(true);
    const nobody = await send("GET", `${BASE}/customer/nobody-here`, { token: await admin() });
    expect(nobody.json).toEqual([]);
    // The customer's list without its id: a 400 saying so (it was a 404 for a payment named "customer").
    for (const path of [`${BASE}/customer/`, `${BASE}/customer`]) {
      const empty = expectProblem(await send("GET", path, { token: await admin() }), 400);
      expect(empty.errors?.customerId?.[0], path).toMatch(/customer id is missing/);
    }
  });

  it("says when a list goes on (Link rel=next, X-Has-More), and the next page follows it exactly", async () => {
    const m = await newMerchant("seed000-pages");
    const made: Intent[] = [];
    for (let i = 0; i < 3; i++) made.push(await create(SEED_CREATE, await user("99123", m.id)));
    const asAdmin = { token: await admin(), headers: { "merchant-id": m.id } };
    const first = await send("GET", `${BASE}?limit=2`, asAdmin);
    expect((first.json as Intent[]).map((i) => i.id)).toEqual([made[2]?.id, made[1]?.id]);
    expect(first.headers.get("X-Has-More")).toBe("true");
    const link = first.headers.get("Link") ?? "";
    expect(link).toBe(`<${BASE}?limit=2&beforeId=${String(made[1]?.id)}>; rel="next"`);
    const next = await send("GET", link.slice(1, link.indexOf(">")), asAdmin);
    expect((next.json as Intent[]).map((i) => i.id)).toEqual([made[0]?.id]);
    expect(next.headers.get("Link")).toBeNull();
    expect(next.headers.get("X-Has-More")).toBeNull();
    // A customer's list pages the same way.
    const mine = await send("GET", `${BASE}/customer/99123?limit=2`, asAdmin);
    expect((mine.json as Intent[]).map((i) => i.id)).toEqual([made[2]?.id, made[1]?.id]);
    const rest = mine.headers.get("Link") ?? "";
    expect(rest).toContain("beforeId=");
    expect(((await send("GET", rest.slice(1, rest.indexOf(">")), asAdmin)).json as Intent[]).map((i) => i.id)).toEqual([made[0]?.id]);
    expect((await send("GET", `${BASE}/customer/99123`, asAdmin)).headers.get("Link")).toBeNull();
    expectProblem(await send("GET", `${BASE}/customer/99123?limit=0`, asAdmin), 400);
  });

  it("without a limit, a list holds every payment up to 1,000 (the document's \"all\" in one answer)", async () => {
    const m = await newMerchant("seed000-all");
    const token = await user("99124", m.id);
    for (let i = 0; i < 105; i += 15) await Promise.all(Array.from({ length: Math.min(15, 105 - i) }, () => create(SEED_CREATE, token)));
    const asAdmin = { token: await admin(), headers: { "merchant-id": m.id } };
    const all = await send("GET", BASE, asAdmin);
    expect((all.json as Intent[]).length).toBe(105);
    expect(all.headers.get("X-Has-More")).toBeNull();
    expect(((await send("GET", `${BASE}/customer/99124`, asAdmin)).json as Intent[]).length).toBe(105);
  });

  it("a customer's list, followed page by page, answers every payment once, in the order of the whole list", async () => {
    // Made at once, their numbers (allocated before creation) and creation times need not agree: the
    // customer's list is newest first by creation time, so its next page must continue from the last
    // row's place in that order, not from the payments numbered below it.
    const m = await newMerchant("seed000-customer-pages");
    const token = await user("55321", m.id);
    const made = await Promise.all(Array.from({ length: 20 }, () => create(`{"amount": 1.00, "currency": "EUR"}`, token)));
    const asAdmin = { token: await admin(), headers: { "merchant-id": m.id } };
    const whole = ((await send("GET", `${BASE}/customer/55321`, asAdmin)).json as Intent[]).map((i) => i.id);
    expect([...whole].sort((a, b) => a - b)).toEqual(made.map((i) => i.id).sort((a, b) => a - b));
    for (const limit of [1, 3]) {
      const seen: number[] = [];
      let path: string | null = `${BASE}/customer/55321?limit=${limit}`;
      for (let pages = 0; path !== null && pages < 30; pages++) {
        const res: Raw = await send("GET", path, asAdmin);
        expect(res.status, res.text).toBe(200);
        seen.push(...(res.json as Intent[]).map((i) => i.id));
        const link = res.headers.get("Link");
        path = link === null ? null : link.slice(1, link.indexOf(">"));
      }
      expect(seen, `limit=${limit}`).toEqual(whole);
    }
  });

  it("a list's next link holds only limit and beforeId: other query parameters are ignored, never echoed", async () => {
    const m = await newMerchant("seed000-link-params");
    const made: Intent[] = [];
    for (let i = 0; i < 2; i++) made.push(await create(SEED_CREATE, await user("99124", m.id)));
    const asAdmin = { token: await admin(), headers: { "merchant-id": m.id } };
    const noise = Array.from({ length: 1000 }, () => "expand[]=nonsense").join("&");
    for (const path of [BASE, `${BASE}/customer/99124`]) {
      const first = await send("GET", `${path}?limit=1&${noise}&beforeId=${String((made[1]?.id ?? 0) + 1)}&other=1`, asAdmin);
      expect(first.status, first.text).toBe(200);
      expect((first.json as Intent[]).map((i) => i.id)).toEqual([made[1]?.id]);
      expect(first.headers.get("Link")).toBe(`<${path}?limit=1&beforeId=${String(made[1]?.id)}>; rel="next"`);
    }
  });

  it("admin and support read across merchants", async () => {
    const other = await newMerchant("seed000-other");
    const made = await create(SEED_CREATE, await user("456", other.id));
    const one = await send("GET", `${BASE}/${made.id}`, { token: await admin() });
    expect(one.status, one.text).toBe(200);
    const list = await send("GET", BASE, { token: await support() });
    expect((list.json as Intent[]).map((i) => i.id)).toContain(made.id);
    // Merchant-Id narrows an admin's view to one merchant.
    const narrowed = await send("GET", `${BASE}/${made.id}`, { token: await admin(), headers: { "merchant-id": MERCHANT_A } });
    expectProblem(narrowed, 404);
  });

  it('POST confirm takes a JSON string ("pm_...") and answers 200; cancel answers 200', async () => {
    const made = await create();
    const confirmed = await send("POST", `${BASE}/${made.id}/confirm`, { token: await user(), body: '"pm_card_visa"' });
    expect(confirmed.status, confirmed.text).toBe(200);
    const paid = confirmed.json as Intent;
    expect(paid.status).toBe("Succeeded");
    expect(paid.authorizedAt).toMatch(ISO_UTC);
    expect(paid.capturedAt).toMatch(ISO_UTC);
    expect(paid.failedAt).toBeNull();
    expect(paid.amount).toBe(99.99);

    const other = await create();
    const canceled = await send("POST", `${BASE}/${other.id}/cancel`, { token: await user() });
    expect(canceled.status, canceled.text).toBe(200);
    expect((canceled.json as Intent).status).toBe("Canceled");
  });

  it('POST confirm with the seed\'s body "pm_123456789" verbatim answers 200 (the sandbox\'s succeeding Visa in test mode)', async () => {
    const made = await create();
    const res = await send("POST", `${BASE}/${made.id}/confirm`, { token: await user(), body: '"pm_123456789"' });
    expect(res.status, res.text).toBe(200);
    expect((res.json as Intent).status).toBe("Succeeded");
    // A payment method nobody knows is invalid data (400), not a missing payment intent (404).
    const other = await create();
    const unknown = await send("POST", `${BASE}/${other.id}/confirm`, { token: await user(), body: '"pm_987654321"' });
    expect(expectProblem(unknown, 400).detail).toContain("pm_987654321");
  });

  it("a decline leaves the payment RequiresPaymentMethod with failedAt and failureReason", async () => {
    const made = await create();
    const res = await send("POST", `${BASE}/${made.id}/confirm`, { token: await user(), body: '"pm_card_chargeDeclined"' });
    expectProblem(res, 400);
    const after = (await send("GET", `${BASE}/${made.id}`, { token: await admin() })).json as Intent;
    expect(after.status).toBe("RequiresPaymentMethod");
    expect(after.failedAt).toMatch(ISO_UTC);
    expect(after.failureReason).toContain("declined");
  });

  it("paymentGatewayId picks the connector account (1: the built-in sandbox; others: the merchant's accounts)", async () => {
    const m = await newMerchant("seed000-gw");
    const account = await addConnector(m.opts, { connector: "sandbox" });
    const row = await env.DB.prepare("SELECT number FROM gateway_numbers WHERE account_id = ?").bind(account.id).first<{ number: number }>();
    expect(row?.number).toBeGreaterThan(1);
    // /v1 shows each connector account's gateway number.
    expect((account as unknown as { payment_gateway_id: number }).payment_gateway_id).toBe(row?.number);
    expect((await get<{ payment_gateway_id: number }>(`/v1/connector_accounts/${account.id}`, m.opts)).body.payment_gateway_id).toBe(row?.number);
    const token = await user("456", m.id);
    const made = await create(SEED_CREATE.replace('"paymentGatewayId": 1', `"paymentGatewayId": ${row?.number}`), token);
    expect(made.paymentGatewayId).toBe(row?.number);
    const confirmed = (await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_visa"' })).json as Intent;
    expect(confirmed.status).toBe("Succeeded");
    const v1 = await get<PaymentIntentJson & { connector_account?: string }>(`/v1/payment_intents/${made.gatewayIntentId}`, m.opts);
    expect(JSON.stringify(v1.body)).toContain(account.id);
    // The built-in sandbox (1) is still there for this merchant; an unknown gateway is a 400.
    const sandbox = await create(SEED_CREATE, token);
    expect(sandbox.paymentGatewayId).toBe(1);
    const unknown = await send("POST", BASE, { token, body: SEED_CREATE.replace('"paymentGatewayId": 1', '"paymentGatewayId": 99999') });
    expect(expectProblem(unknown, 400).errors?.paymentGatewayId).toBeDefined();
  });
});

describe("seed 000: authentication and roles", () => {
  it("every route without a token, or with a bad one, is a 401 problem", async () => {
    const made = await create();
    const routes: [string, string, string?][] = [
      ["GET", BASE],
      ["GET", `${BASE}/${made.id}`],
      ["GET", `${BASE}/customer/456`],
      ["POST", BASE, SEED_CREATE],
      ["POST", `${BASE}/${made.id}/confirm`, '"pm_card_visa"'],
      ["POST", `${BASE}/${made.id}/cancel`],
    ];
    const forged = (await user()).replace(/\.[^.]+$/, ".c2lnbmF0dXJl");
    for (const [method, path, body] of routes) {
      const anonymous = await send(method, path, { token: null, body });
      expectProblem(anonymous, 401);
      expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
      expectProblem(await send(method, path, { token: forged, body }), 401);
      expectProblem(await send(method, path, { token: KEY_A, body }), 401);
    }
    const after = (await send("GET", `${BASE}/${made.id}`, { token: await admin() })).json as Intent;
    expect(after.status).toBe("RequiresPaymentMethod");
  });

  it("reads need admin or support (403 otherwise); create, confirm and cancel need any user allowed to pay", async () => {
    const made = await create();
    for (const path of [BASE, `${BASE}/${made.id}`, `${BASE}/customer/456`]) {
      expectProblem(await send("GET", path, { token: await user() }), 403);
      expectProblem(await send("GET", path, { token: await hsToken({ roles: ["customer"], customer: "456" }) }), 403);
    }
    // A shopper's token creates for itself (customerId is its customer claim) and confirms its own payment.
    const shopper = await hsToken({ roles: ["customer"], customer: "9876", sub: "shopper" });
    const own = await create(SEED_CREATE, shopper);
    expect(own.customerId).toBe(9876);
    expect((await send("POST", `${BASE}/${own.id}/confirm`, { token: shopper, body: '"pm_card_visa"' })).status).toBe(200);
    // ...but never touches another customer's payment, nor cancels a paid one.
    const stranger = await hsToken({ roles: ["customer"], customer: "1111", sub: "stranger" });
    expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token: stranger, body: '"pm_card_visa"' }), 404);
    expectProblem(await send("POST", `${BASE}/${own.id}/cancel`, { token: shopper }), 400);
    const unpaid = await create(SEED_CREATE, shopper);
    expectProblem(await send("POST", `${BASE}/${unpaid.id}/cancel`, { token: stranger }), 404);
    expect(((await send("POST", `${BASE}/${unpaid.id}/cancel`, { token: shopper })).json as Intent).status).toBe("Canceled");
    // Support reads but does not pay.
    expectProblem(await send("POST", BASE, { token: await support(), body: SEED_CREATE }), 403);
  });

  it("an authenticated user whose token names none of the gateway's roles (its own 'User', or none) pays for itself: create, confirm and cancel as its merchant's customer, reads still 403", async () => {
    for (const roles of [["User"], []]) {
      const user42 = await hsToken({ roles, sub: "42" });
      const own = await create(SEED_CREATE, user42);
      expect(own.customerId, JSON.stringify(roles)).toBe(42);
      const paid = await send("POST", `${BASE}/${own.id}/confirm`, { token: user42, body: '"pm_card_visa"' });
      expect(paid.status, paid.text).toBe(200);
      expect((paid.json as Intent).status).toBe("Succeeded");
      const unpaid = await create(SEED_CREATE, user42);
      expect(((await send("POST", `${BASE}/${unpaid.id}/cancel`, { token: user42 })).json as Intent).status).toBe("Canceled");
      // Only its own payments: another user's is a 404, and it reads no list.
      const other = await create(SEED_CREATE, await hsToken({ roles, sub: "43" }));
      expectProblem(await send("POST", `${BASE}/${other.id}/cancel`, { token: user42 }), 404);
      expectProblem(await send("POST", `${BASE}/${other.id}/confirm`, { token: user42, body: '"pm_card_visa"' }), 404);
      for (const path of [BASE, `${BASE}/${own.id}`, `${BASE}/customer/42`]) expectProblem(await send("GET", path, { token: user42 }), 403);
    }
    // A token naming no role and no merchant is still refused; on /v1 a token naming no role does nothing at all.
    expectProblem(await send("POST", BASE, { token: await hsToken({ roles: ["User"], merchant: null, sub: "42" }), body: SEED_CREATE }), 403);
    expect((await post("/v1/payment_intents", { amount: 500, currency: "usd" }, { key: await hsToken({ roles: ["User"], sub: "42" }) })).status).toBe(403);
  });
});

describe("seed 000: saved payment methods", () => {
  it("a saved card pays only for the customer it is attached to", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { email: "owner@example.com" })).body.id;
    const pm = (await post<{ id: string }>("/v1/payment_methods", { card: { token: "tok_visa" } })).body.id;
    expect((await post(`/v1/payment_methods/${pm}/attach`, { customer })).status).toBe(200);
    const thief = await hsToken({ roles: ["customer"], customer: "1111", sub: "thief" });
    const theirs = await create(SEED_CREATE, thief);
    expectProblem(await send("POST", `${BASE}/${theirs.id}/confirm`, { token: thief, body: JSON.stringify(pm) }), 400);
    expect(((await send("GET", `${BASE}/${theirs.id}`, { token: await admin() })).json as Intent).status).toBe("RequiresPaymentMethod");
    const owner = await hsToken({ roles: ["customer"], customer, sub: "owner" });
    const own = await create(SEED_CREATE, owner);
    const paid = await send("POST", `${BASE}/${own.id}/confirm`, { token: owner, body: JSON.stringify(pm) });
    expect(paid.status, paid.text).toBe(200);
    expect((paid.json as Intent).status).toBe("Succeeded");
  });
});

describe("seed 000: errors are problem details, on every class of error", () => {
  it("404: unknown id, non-numeric id, unknown route under the prefix", async () => {
    const token = await admin();
    expect(expectProblem(await send("GET", `${BASE}/99999999`, { token }), 404).title).toBe("Not Found");
    expectProblem(await send("GET", `${BASE}/abc`, { token }), 404);
    expectProblem(await send("POST", `${BASE}/99999999/confirm`, { token: await user(), body: '"pm_card_visa"' }), 404);
    expectProblem(await send("POST", `${BASE}/99999999/cancel`, { token: await user() }), 404);
    expectProblem(await send("GET", `${BASE}/1/nothing/here`, { token }), 404);
  });

  it("405 (with Allow) for a known path and another method", async () => {
    const token = await admin();
    const res = await send("DELETE", `${BASE}/1`, { token });
    expect(expectProblem(res, 405).title).toBe("Method Not Allowed");
    expect(res.headers.get("allow")).toBe("GET");
    expect((await send("PUT", BASE, { token })).headers.get("allow")).toBe("GET, POST");
    expect((await send("GET", `${BASE}/1/confirm`, { token })).headers.get("allow")).toBe("POST");
    // ASP.NET matches a trailing slash: the list, not a 404.
    expect((await send("GET", `${BASE}/`, { token })).status).toBe(200);
  });

  it("400: invalid data, with the field named in errors", async () => {
    const token = await user();
    const cases: [string, string][] = [
      [SEED_CREATE.replace('"amount": 99.99', '"amount": "ninety"'), "amount"],
      [SEED_CREATE.replace('"amount": 99.99', '"amount": -5'), "amount"],
      [SEED_CREATE.replace('"amount": 99.99', '"amount": 0'), "amount"],
      [SEED_CREATE.replace('"amount": 99.99,', ""), "amount"],
      [SEED_CREATE.replace('"currency": "EUR"', '"currency": "XYZ"'), "currency"],
      [SEED_CREATE.replace('"invoiceId": 123', '"invoiceId": 12.5'), "invoiceId"],
      [SEED_CREATE.replace('"returnUrl": "https://example.com/success"', '"returnUrl": "not a url"'), "returnUrl"],
    ];
    for (const [body, field] of cases) {
      const problem = expectProblem(await send("POST", BASE, { token, body }), 400);
      expect(problem.errors?.[field], `${field}: ${JSON.stringify(problem)}`).toBeDefined();
    }
    expectProblem(await send("POST", BASE, { token, body: "{not json" }), 400);
    expectProblem(await send("POST", BASE, { token, body: "[1,2]" }), 400);
    const made = await create();
    expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '{"paymentMethodId":"pm_card_visa"}' }), 400);
    // Every confirm error names this surface's field, paymentMethodId, whatever the core called it.
    for (const body of ['"4242424242424242"', '"pm_doesnotexist"', "12"]) {
      const problem = expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token, body }), 400);
      expect(Object.keys(problem.errors ?? {}), `${body}: ${JSON.stringify(problem)}`).toEqual(["paymentMethodId"]);
    }
    // An unknown payment method in this API's words, not /v1's parameter name.
    expect(expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_doesnotexist"' }), 400).detail).toBe("No such payment method: 'pm_doesnotexist'");
  });

  it("a currency sent as something else than a string is told so, not called missing; an unknown one in this API's words", async () => {
    const token = await user();
    for (const currency of ["978", "true", '{"code": "EUR"}']) {
      const problem = expectProblem(await send("POST", BASE, { token, body: SEED_CREATE.replace('"currency": "EUR"', `"currency": ${currency}`) }), 400);
      expect(problem.errors?.currency?.[0], currency).toMatch(/^The field currency must be a string/);
    }
    const missing = expectProblem(await send("POST", BASE, { token, body: SEED_CREATE.replace('"currency": "EUR",', "") }), 400);
    expect(missing.errors?.currency?.[0]).toBe("The currency field is required.");
    // An unknown code is named as this API writes currencies (upper case), not as /v1 does.
    const unknown = expectProblem(await send("POST", BASE, { token, body: SEED_CREATE.replace('"currency": "EUR"', '"currency": "EURO"') }), 400);
    expect(unknown.errors?.currency?.[0]).toBe('The field currency must be a supported ISO 4217 code such as "EUR" or "USD", not "EURO".');
    expect(unknown.detail).not.toMatch(/'usd'|'eur'/);
  });

  it("415 and 413 are problem details too", async () => {
    const token = await user();
    expectProblem(await send("POST", BASE, { token, body: "amount=1", contentType: "application/x-www-form-urlencoded" }), 415);
    // text/json is JSON (ASP.NET sends and accepts it).
    expect((await send("POST", BASE, { token, body: SEED_CREATE, contentType: "text/json; charset=utf-8" })).status).toBe(201);
    const huge = JSON.stringify({ amount: 1, currency: "EUR", description: "x".repeat(70_000) });
    expectProblem(await send("POST", BASE, { token, body: huge }), 413);
  });

  it("a state conflict (cancel a canceled payment) is a 400 problem", async () => {
    const made = await create();
    expect((await send("POST", `${BASE}/${made.id}/cancel`, { token: await user() })).status).toBe(200);
    expectProblem(await send("POST", `${BASE}/${made.id}/cancel`, { token: await user() }), 400);
  });
});

describe("seed 000: decimal amounts convert exactly", () => {
  const cases: [string, string, number, string][] = [
    ["EUR", "10.05", 1005, "10.05"],
    ["EUR", "100.00", 10000, "100.00"],
    ["EUR", "0.1", 10, "0.10"],
    ["JPY", "1000", 1000, "1000"],
    ["JPY", "1000.0", 1000, "1000"],
    ["KWD", "1.234", 1234, "1.234"],
    ["KWD", "12.5", 12500, "12.500"],
    // Exponent notation (a double as .NET or Java may print it), expanded exactly.
    ["EUR", "1e2", 10000, "100.00"],
    ["EUR", "1.5E3", 150000, "1500.00"],
    ["EUR", "2.5e-1", 25, "0.25"],
  ];
  it.each(cases)("%s %s is %i minor units, rendered %s", async (currency, amount, minor, rendered) => {
    const res = await send("POST", BASE, { token: await user(), body: `{"amount": ${amount}, "currency": "${currency}", "paymentGatewayId": 1}` });
    expect(res.status, res.text).toBe(201);
    expect(res.text).toContain(`"amount":${rendered},`);
    const made = res.json as Intent;
    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${made.gatewayIntentId}`);
    expect(v1.body.amount).toBe(minor);
    expect(v1.body.currency).toBe(currency.toLowerCase());
  });

  it.each([
    ["EUR", "10.001"],
    ["JPY", "10.5"],
    ["KWD", "1.2345"],
    ["EUR", "1.0000000000000001"],
    ["EUR", "1e-3"],
    ["EUR", "1e400"],
  ])("%s %s has too many decimals (or is not a plain decimal): 400", async (currency, amount) => {
    const res = await send("POST", BASE, { token: await user(), body: `{"amount": ${amount}, "currency": "${currency}"}` });
    expect(expectProblem(res, 400).errors?.amount).toBeDefined();
  });
});

describe("seed 000: one payment, every surface", () => {
  it("a payment made here reads the same through /v1", async () => {
    const made = await create();
    const paid = (await send("POST", `${BASE}/${made.id}/confirm`, { token: await user(), body: '"pm_card_visa"' })).json as Intent;
    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${made.gatewayIntentId}`);
    expect(v1.status).toBe(200);
    expect(v1.body.amount).toBe(9999);
    expect(v1.body.amount_received).toBe(9999);
    expect(v1.body.currency).toBe("eur");
    expect(v1.body.status).toBe("succeeded");
    expect(paid.status).toBe("Succeeded");
    expect(v1.body.customer).toBe("456");
    expect(v1.body.description).toBe("Payment for invoice #123");
  });

  it("a payment made through /v1 has a number here too", async () => {
    const v1 = await exports.default.fetch(
      new Request("http://gateway.test/v1/payment_intents", { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" }, body: JSON.stringify({ amount: 1234, currency: "jpy", order_id: "77" }) }),
    );
    const pi = (await v1.json()) as PaymentIntentJson;
    const list = (await send("GET", BASE, { token: await admin() })).json as Intent[];
    const found = list.find((i) => i.gatewayIntentId === pi.id);
    expect(found?.amount).toBe(1234);
    expect(found?.orderId).toBe(77);
    expect(found?.currency).toBe("JPY");
    const one = await send("GET", `${BASE}/${found?.id}`, { token: await admin() });
    expect((one.json as Intent).gatewayIntentId).toBe(pi.id);
  });

  it("references that are not integers (set through /v1) are null here, never strings a typed client cannot read", async () => {
    const customer = (await post<{ id: string }>("/v1/customers", { email: "typed@example.com" })).body.id;
    const pi = (await post<PaymentIntentJson>("/v1/payment_intents", { amount: 2599, currency: "eur", order_id: "ord_777", invoice_id: "INV-2024-001", customer })).body;
    const listed = ((await send("GET", BASE, { token: await admin() })).json as Intent[]).find((i) => i.gatewayIntentId === pi.id);
    const one = (await send("GET", `${BASE}/${String(listed?.id)}`, { token: await admin() })).json as Intent;
    expect(one.gatewayIntentId).toBe(pi.id);
    expect(listed).toEqual(one);
    expect(one.invoiceId).toBeNull();
    expect(one.orderId).toBeNull();
    expect(one.customerId).toBeNull();
    // Every row of the list, whatever surface made it: integers or null.
    const list = (await send("GET", BASE, { token: await admin() })).json as Intent[];
    for (const row of list) for (const field of ["invoiceId", "orderId", "customerId"] as const) expect(row[field] === null || Number.isInteger(row[field]), `${field} of ${row.id}: ${JSON.stringify(row[field])}`).toBe(true);
  });
});

describe("seed 000: POST webhook/{gatewayId}", () => {
  it("a signed provider payload in a JSON string is applied like /v1/psp_webhooks; unsigned or invalid is a 400", async () => {
    const made = await create();
    const waiting = (await send("POST", `${BASE}/${made.id}/confirm`, { token: await user(), body: '"pm_card_threeDSecure2Required"' })).json as Intent;
    expect(waiting.status).toBe("RequiresAction");
    const [attempt] = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${made.gatewayIntentId}/transactions`)).body.data;
    const payload = JSON.stringify({ id: `sbxevt_seed000_${made.gatewayIntentId}`, type: "authorization.approved", data: { intent: made.gatewayIntentId, attempt: attempt?.id } });
    const signature = await signSandboxWebhook(SANDBOX_SECRET, payload);

    expectProblem(await send("POST", `${BASE}/webhook/1`, { body: JSON.stringify(payload) }), 400);
    expectProblem(await send("POST", `${BASE}/webhook/1`, { body: JSON.stringify(payload), headers: { "sandbox-signature": signature.replace(/v1=(.)/, (_m, c: string) => `v1=${c === "0" ? "1" : "0"}`) } }), 400);
    expectProblem(await send("POST", `${BASE}/webhook/1`, { body: "12", headers: { "sandbox-signature": signature } }), 400);
    expectProblem(await send("POST", `${BASE}/webhook/99999`, { body: JSON.stringify(payload), headers: { "sandbox-signature": signature } }), 400);
    expect(((await send("GET", `${BASE}/${made.id}`, { token: await admin() })).json as Intent).status).toBe("RequiresAction");

    const ok = await send("POST", `${BASE}/webhook/1`, { body: JSON.stringify(payload), headers: { "sandbox-signature": signature } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({ received: true, applied: 1, duplicates: 0 });
    expect(((await send("GET", `${BASE}/${made.id}`, { token: await admin() })).json as Intent).status).toBe("Succeeded");
  });
});

describe("seed 000: POST webhook/{gatewayId} answers only the document's 200, 400 and 500", () => {
  it("an unknown or malformed gateway id is a 400 problem (the payload cannot be processed), never a 404", async () => {
    const payload = JSON.stringify({ id: "sbxevt_seed000_unknown_gateway", type: "authorization.approved", data: { intent: "pi_x", attempt: "txn_x" } });
    const signature = await signSandboxWebhook(SANDBOX_SECRET, payload);
    for (const gateway of ["99", "0", "abc", "99999999999999999999"]) {
      const res = expectProblem(await send("POST", `${BASE}/webhook/${gateway}`, { body: JSON.stringify(payload), headers: { "sandbox-signature": signature } }), 400);
      expect(res.errors?.gatewayId?.[0]).toMatch(/^Payment gateway .* does not exist/);
    }
    const doc = (await get<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>("/openapi.json", { key: null })).body;
    expect(Object.keys(doc.paths[`${BASE}/webhook/{gatewayId}`]?.post?.responses ?? {}).sort()).toEqual(["200", "400", "500"]);
  });
});

describe("seed 000: OpenAPI", () => {
  it("the document lists every route of the surface", async () => {
    const doc = (await get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json", { key: null })).body;
    expect(Object.keys(doc.paths[BASE] ?? {}).sort()).toEqual(["get", "post"]);
    expect(doc.paths[`${BASE}/{id}`]?.get).toBeDefined();
    expect(doc.paths[`${BASE}/customer/{customerId}`]?.get).toBeDefined();
    expect(doc.paths[`${BASE}/{id}/confirm`]?.post).toBeDefined();
    expect(doc.paths[`${BASE}/{id}/cancel`]?.post).toBeDefined();
    expect(doc.paths[`${BASE}/webhook/{gatewayId}`]?.post).toBeDefined();
  });

  it("create, confirm and cancel list the 403 they answer a token not allowed to pay (support)", async () => {
    const doc = (await get<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>("/openapi.json", { key: null })).body;
    const made = await create();
    const calls: [string, string, string | undefined][] = [[BASE, BASE, SEED_CREATE], [`${BASE}/{id}/confirm`, `${BASE}/${made.id}/confirm`, '"pm_card_visa"'], [`${BASE}/{id}/cancel`, `${BASE}/${made.id}/cancel`, undefined]];
    for (const [documented, path, body] of calls) {
      expectProblem(await send("POST", path, { token: await support(), body }), 403);
      expect(Object.keys(doc.paths[documented]?.post?.responses ?? {}), documented).toContain("403");
    }
  });
});

describe("seed 000: support reads, and can do nothing more", () => {
  it("support's answers carry clientSecret null and no nextActionUrl (both would let it pay on the hosted page); admin's carry them", async () => {
    const made = await create(SEED_CREATE, await user("67001"));
    const waiting = await create(SEED_CREATE, await user("67001"));
    const action = await send("POST", `${BASE}/${waiting.id}/confirm`, { token: await user("67001"), body: '"pm_card_threeDSecure2Required"' });
    expect((action.json as Intent & { status: string }).status).toBe("RequiresAction");
    const reads = [`${BASE}/${made.id}`, `${BASE}/${waiting.id}`, `${BASE}/customer/67001`, `${BASE}?limit=50`];
    for (const path of reads) {
      const res = await send("GET", path, { token: await support() });
      expect(res.status, res.text).toBe(200);
      const rows = (Array.isArray(res.json) ? res.json : [res.json]) as (Intent & { nextActionUrl?: string })[];
      expect(rows.length, path).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row, path).toHaveProperty("clientSecret", null);
        expect(row, path).not.toHaveProperty("nextActionUrl");
      }
      expect(res.text, path).not.toContain("_secret_");
    }
    const byAdmin = await send("GET", `${BASE}/${waiting.id}`, { token: await admin() });
    const adminRow = byAdmin.json as Intent & { nextActionUrl?: string };
    expect(adminRow.clientSecret).toBe(waiting.clientSecret);
    expect(adminRow.nextActionUrl).toContain("client_secret=");
  });

  it("support's cancel is the same 403 for a payment that exists and for a number that has none (no existence oracle)", async () => {
    const made = await create();
    const existing = expectProblem(await send("POST", `${BASE}/${made.id}/cancel`, { token: await support() }), 403);
    const unknown = expectProblem(await send("POST", `${BASE}/999999999999/cancel`, { token: await support() }), 403);
    expect(unknown.detail).toBe(existing.detail);
    const malformed = expectProblem(await send("POST", `${BASE}/not-a-number/cancel`, { token: await support() }), 403);
    expect(malformed.detail).toBe(existing.detail);
    // And nothing was canceled.
    const read = await send("GET", `${BASE}/${made.id}`, { token: await admin() });
    expect((read.json as Intent & { status: string }).status).toBe("RequiresPaymentMethod");
  });
});

describe("seed 000: Idempotency-Key, bound merchant-wide like every surface's", () => {
  it("a retried create with the same key answers the same intent; the key cannot then create anything else", async () => {
    const key = `seed000-${Date.now()}-${Math.random()}`;
    const token = await user("456");
    const first = await send("POST", BASE, { token, body: SEED_CREATE, headers: { "Idempotency-Key": key } });
    const second = await send("POST", BASE, { token, body: SEED_CREATE, headers: { "Idempotency-Key": key } });
    expect(first.status, first.text).toBe(201);
    expect(second.status, second.text).toBe(201);
    expect((second.json as Intent).id).toBe((first.json as Intent).id);
    expect((second.json as Intent).gatewayIntentId).toBe((first.json as Intent).gatewayIntentId);
    const other = await send("POST", BASE, { token, body: SEED_CREATE.replace("99.99", "1.00"), headers: { "Idempotency-Key": key } });
    expectProblem(other, 400);
    // The same key on /v1 (same merchant) is refused too, and creates no customer.
    const v1 = await post("/v1/customers", { email: "idem@example.com" }, { idempotencyKey: key });
    expect(v1.status).toBe(400);
  });

  it("another user's token with the same key and body gets no replay of this user's payment (nor its client secret)", async () => {
    const key = `seed000-users-${Date.now()}-${Math.random()}`;
    const first = await send("POST", BASE, { token: await user("456"), body: SEED_CREATE, headers: { "Idempotency-Key": key } });
    expect(first.status, first.text).toBe(201);
    const other = await send("POST", BASE, { token: await user("789"), body: SEED_CREATE, headers: { "Idempotency-Key": key } });
    expect(other.status).not.toBe(201);
    expect(other.text).not.toContain((first.json as Intent).clientSecret);
    expectProblem(other, other.status);
  });
});

describe("seed 000: 3D Secure", () => {
  it("a payment that needs 3D Secure names the page where the customer takes that step (nextActionUrl), absent otherwise", async () => {
    const made = await create();
    expect(made).not.toHaveProperty("nextActionUrl");
    const token = await user("456");
    const confirmed = await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_threeDSecure2Required"' });
    const action = confirmed.json as Intent & { status: string; nextActionUrl?: string; gatewayIntentId: string; clientSecret: string };
    expect(action.status).toBe("RequiresAction");
    expect(action.nextActionUrl).toBe(`http://gateway.test/pay/${action.gatewayIntentId}?client_secret=${encodeURIComponent(action.clientSecret)}`);
    // The page leads the customer to the bank's challenge.
    const page = await exports.default.fetch(new Request(action.nextActionUrl ?? ""));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Continue with your bank");
    const read = await send("GET", `${BASE}/${made.id}`, { token: await hsToken({ roles: ["admin"], merchant: MERCHANT_A }) });
    expect((read.json as { nextActionUrl?: string }).nextActionUrl).toBe(action.nextActionUrl);
  });
});

describe("seed 000: errors in the API's own words", () => {
  it("the provider's failure is the document's 500 (it knows no 502), with code provider_error, and the payment may be confirmed again", async () => {
    const made = await create();
    const token = await user("456");
    const failed = expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_sandboxProviderError"' }), 500);
    expect(failed).toMatchObject({ status: 500, code: "provider_error", title: "An error occurred while processing your request." });
    expect((await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_visa"' })).status).toBe(200);
  });

  it("a confirm or cancel in the wrong state names this API's statuses (Succeeded, RequiresPaymentMethod), not /v1's", async () => {
    const made = await create();
    const token = await user("456");
    expect((await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_visa"' })).status).toBe(200);
    const again = expectProblem(await send("POST", `${BASE}/${made.id}/confirm`, { token, body: '"pm_card_visa"' }), 400);
    expect(again.detail).toContain("Succeeded");
    expect(again.detail).toContain("RequiresPaymentMethod");
    expect(again.detail).not.toMatch(/\b(succeeded|requires_payment_method|requires_confirmation)\b/);
    const canceled = await create();
    expect((await send("POST", `${BASE}/${canceled.id}/cancel`, { token })).status).toBe(200);
    const twice = expectProblem(await send("POST", `${BASE}/${canceled.id}/cancel`, { token }), 400);
    expect(twice.detail).toContain("Canceled");
    // The status is PascalCase; the verb ("may be canceled") is not a status and stays as written.
    expect(twice.detail).toBe(
      "You cannot cancel this PaymentIntent because it has a status of Canceled. Only a PaymentIntent with one of the following statuses may be canceled: RequiresPaymentMethod, RequiresConfirmation, RequiresAction, RequiresCapture.",
    );
    expect(again.detail).toBe(
      "You cannot confirm this PaymentIntent because it has a status of Succeeded. Only a PaymentIntent with one of the following statuses may be confirmed: RequiresPaymentMethod, RequiresConfirmation, RequiresAction.",
    );
  });

  it("status words are PascalCase only where they are statuses, never an ordinary word (\"may be canceled\")", () => {
    expect(inSurfaceWords("You cannot capture this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.")).toBe(
      "You cannot capture this PaymentIntent because it has a status of Succeeded. Only a PaymentIntent with one of the following statuses may be captured: RequiresCapture.",
    );
    expect(inSurfaceWords("This PaymentIntent's authorization was captured at the payment provider already (10.00 eur, ref_1); it is succeeded now and cannot be canceled. Refund it instead.")).toBe(
      "This PaymentIntent's authorization was captured at the payment provider already (10.00 eur, ref_1); it is Succeeded now and cannot be canceled. Refund it instead.",
    );
    expect(inSurfaceWords("This PaymentIntent (pi_1) does not have a successful, captured charge to refund; its status is requires_capture.")).toBe(
      "This PaymentIntent (pi_1) does not have a successful, captured charge to refund; its status is RequiresCapture.",
    );
    expect(inSurfaceWords("The payment provider failed: timeout. No money moved; the payment may be confirmed again.")).toBe("The payment provider failed: timeout. No money moved; the payment may be confirmed again.");
    expect(inSurfaceWords("Stripe is still processing the payment; the refund failed.")).toBe("Stripe is still processing the payment; the refund failed.");
  });
});

describe("seed 000: a payment that cannot be canceled in its status is a 400, for a customer's token as for a merchant's", () => {
  it("a customer cancelling its own Succeeded payment gets the merchant's 400 (PascalCase statuses); another customer's payment stays a 404", async () => {
    const shopper = await hsToken({ roles: ["customer"], customer: "5150", sub: "shopper-5150" });
    const paid = await create(SEED_CREATE, shopper);
    expect(((await send("POST", `${BASE}/${paid.id}/confirm`, { token: shopper, body: '"pm_card_visa"' })).json as Intent).status).toBe("Succeeded");
    const byCustomer = expectProblem(await send("POST", `${BASE}/${paid.id}/cancel`, { token: shopper }), 400);
    const byMerchant = expectProblem(await send("POST", `${BASE}/${paid.id}/cancel`, { token: await user() }), 400);
    expect(byCustomer.detail).toBe(byMerchant.detail);
    expect(byCustomer.title).toBe(byMerchant.title);
    expect(byCustomer.detail).toContain("a status of Succeeded");
    expect(byCustomer.detail).not.toMatch(/\b(succeeded|requires_payment_method)\b|this one is/);
    // Retried with an Idempotency-Key, the stored answer is told the same way.
    const headers = { "Idempotency-Key": `seed000-cancel-${Date.now()}-${Math.random()}` };
    expectProblem(await send("POST", `${BASE}/${paid.id}/cancel`, { token: shopper, headers }), 400);
    expect(expectProblem(await send("POST", `${BASE}/${paid.id}/cancel`, { token: shopper, headers }), 400).detail).toBe(byMerchant.detail);

    // Waiting for 3DS: a merchant may cancel it, a customer's token may not: a 400 naming the statuses it may cancel from.
    const waiting = await create(SEED_CREATE, shopper);
    expect(((await send("POST", `${BASE}/${waiting.id}/confirm`, { token: shopper, body: '"pm_card_threeDSecure2Required"' })).json as Intent).status).toBe("RequiresAction");
    const refused = expectProblem(await send("POST", `${BASE}/${waiting.id}/cancel`, { token: shopper }), 400);
    expect(refused.detail).toBe(
      "You cannot cancel this PaymentIntent with a customer's token because it has a status of RequiresAction. Only a PaymentIntent with one of the following statuses may be canceled by its customer: RequiresPaymentMethod, RequiresConfirmation.",
    );

    // Another customer's payment, in any status, is not found.
    const stranger = await hsToken({ roles: ["customer"], customer: "1111", sub: "stranger" });
    expectProblem(await send("POST", `${BASE}/${paid.id}/cancel`, { token: stranger }), 404);
    expectProblem(await send("POST", `${BASE}/${waiting.id}/cancel`, { token: stranger }), 404);
    expect(((await send("GET", `${BASE}/${paid.id}`, { token: await admin() })).json as Intent).status).toBe("Succeeded");
    expect(((await send("GET", `${BASE}/${waiting.id}`, { token: await admin() })).json as Intent).status).toBe("RequiresAction");
  });
});

describe("seed 000: bodies as ASP.NET binds them (System.Text.Json's web defaults)", () => {
  it("property names in any case, and numbers written as strings, read exactly", async () => {
    const token = await user("456");
    const pascal = await send("POST", BASE, { token, body: JSON.stringify({ InvoiceId: 7, Amount: 10.5, Currency: "EUR", Description: "Pascal" }) });
    expect(pascal.status, pascal.text).toBe(201);
    expect(pascal.json).toMatchObject({ invoiceId: 7, amount: 10.5, currency: "EUR", description: "Pascal" });
    const quoted = await send("POST", BASE, { token, body: '{"amount": "10.00", "currency": "EUR", "invoiceId": "123", "paymentGatewayId": "1"}' });
    expect(quoted.status, quoted.text).toBe(201);
    expect(quoted.json).toMatchObject({ invoiceId: 123, amount: 10, paymentGatewayId: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${(quoted.json as Intent).gatewayIntentId}`)).body.amount).toBe(1000);
    // A string that is not a number is still refused, naming the field.
    expect(expectProblem(await send("POST", BASE, { token, body: '{"amount": "10,00", "currency": "EUR"}' }), 400).errors?.amount).toBeDefined();
  });
});

describe("seed 000: routes as ASP.NET matches them (any case, a trailing slash)", () => {
  it("the same actions answer whatever the path's case, with or without a trailing slash", async () => {
    const made = await create();
    const token = await user("456");
    const lower = await send("GET", `/api/v1/paymentintents/${made.id}`, { token: await admin() });
    expect(lower.status, lower.text).toBe(200);
    expect((lower.json as Intent).id).toBe(made.id);
    const slash = await send("GET", `${BASE}/`, { token: await admin() });
    expect(slash.status, slash.text).toBe(200);
    expect(Array.isArray(slash.json)).toBe(true);
    const upper = await send("GET", `/API/V1/PAYMENTINTENTS/customer/456/`, { token: await admin() });
    expect(upper.status, upper.text).toBe(200);
    const confirmed = await send("POST", `${BASE}/${made.id}/Confirm`, { token, body: '"pm_card_visa"' });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect((confirmed.json as Intent).status).toBe("Succeeded");
    // Still this surface's problem details for what it does not have.
    expectProblem(await send("GET", "/api/v1/paymentintents/1/nothing", { token: await admin() }), 404);
  });

  it("a long run of slashes is read once: the canonical path of any spelling, and a 404 for an unknown one", async () => {
    // Every request under the prefix is canonicalized before its credentials are read. Trailing slashes
    // were cut by /\/+$/, which tried each slash of a run as a start: 15,000 took 0.8 s, this a million.
    const slashes = "/".repeat(1_000_000);
    expect(canonicalPath(`/API/V1/PaymentIntents/12${slashes}x`)).toBe(`/api/v1/PaymentIntents/12${slashes}x`);
    expect(canonicalPath(`/API/V1/PaymentIntents/12/Confirm${slashes}`)).toBe("/api/v1/PaymentIntents/12/confirm");
    expect(canonicalPath(`/api/v1/paymentintents${slashes}`)).toBe("/api/v1/PaymentIntents");
    expect(canonicalPath("/api/v1/paymentintentsx")).toBeNull();
    expectProblem(await send("GET", `/api/v1/PaymentIntents/1${"/".repeat(15_000)}x`, { token: await admin() }), 404);
  });

  it("a problem answered under another spelling of the path has one request id: its traceId is the Request-Id header", async () => {
    for (const path of ["/api/v1/paymentintents/1", `${BASE}/1/`, "/api/v1/paymentintents/1/nothing"]) {
      const res = await send("GET", path);
      const problem = expectProblem(res, path.endsWith("nothing") ? 404 : 401);
      expect(res.headers.get("request-id"), path).toBe(problem.traceId);
    }
    const given = await send("GET", "/API/V1/PAYMENTINTENTS/1", { headers: { "x-request-id": "req_client_chosen_1" } });
    expect(expectProblem(given, 401).traceId).toBe("req_client_chosen_1");
    expect(given.headers.get("request-id")).toBe("req_client_chosen_1");
  });
});

describe("seed 000: the payment's customer from the token", () => {
  it("a token whose subject is another merchant's customer (cus_...) is refused with a 404, and nothing is made", async () => {
    const b = await newMerchant("seed000-foreign-cus");
    const foreign = (await post<{ id: string }>("/v1/customers", { email: "b@example.com" }, b.opts)).body.id;
    const refused = await send("POST", BASE, { token: await user(foreign), body: SEED_CREATE });
    expectProblem(refused, 404);
    expect(refused.text).toContain(foreign);
    const mine = (await post<{ id: string }>("/v1/customers", { email: "a@example.com" })).body.id;
    const made = await create(SEED_CREATE, await user(mine));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${made.gatewayIntentId}`)).body.customer).toBe(mine);
  });
});

describe("seed 000: lists render from the read model's columns (issue 15)", () => {
  it("every kind of payment lists exactly as GET by id shows it, without reading the row's data; a row from before migration 0023 too", async () => {
    const m = await newMerchant("seed000-summary");
    const token = await user("24680", m.id);
    const narrowed = { token: await admin(), headers: { "merchant-id": m.id } };
    const unpaid = await create(SEED_CREATE, token);
    const paid = await create(SEED_CREATE.replace('"orderId": null', '"orderId": 77'), token);
    expect((await send("POST", `${BASE}/${paid.id}/confirm`, { token, body: '"pm_card_visa"' })).status).toBe(200);
    const declined = await create(SEED_CREATE.replace('"description": "Payment for invoice #123"', '"description": null'), token);
    expectProblem(await send("POST", `${BASE}/${declined.id}/confirm`, { token, body: '"pm_card_chargeDeclined"' }), 400);
    const canceled = await create(SEED_CREATE, token);
    expect((await send("POST", `${BASE}/${canceled.id}/cancel`, { token })).status).toBe(200);
    // Through /v1: authorized and waiting for capture, captured later, and partly refunded.
    const held = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 5000, currency: "usd", capture_method: "manual", payment_method: "pm_card_visa", confirm: true, description: "held" }, m.opts);
    expect(held.body.status).toBe("requires_capture");
    const captured = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 6000, currency: "usd", capture_method: "manual", payment_method: "pm_card_visa", confirm: true }, m.opts);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${captured.body.id}/capture`, {}, m.opts)).body.status).toBe("succeeded");
    const refunded = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 7000, currency: "usd", payment_method: "pm_card_visa", confirm: true }, m.opts);
    expect((await post("/v1/refunds", { payment_intent: refunded.body.id, amount: 1000 }, m.opts)).status).toBe(200);

    const list = async (): Promise<Intent[]> => {
      const res = await send("GET", `${BASE}?limit=1000`, narrowed);
      expect(res.status, res.text).toBe(200);
      return res.json as Intent[];
    };
    const listed = await list();
    expect(listed).toHaveLength(7);
    for (const item of listed) {
      const one = await send("GET", `${BASE}/${item.id}`, narrowed);
      expect(item, item.gatewayIntentId).toEqual(one.json);
    }
    const byId = new Map(listed.map((i) => [i.id, i]));
    expect(byId.get(declined.id)).toMatchObject({ status: "RequiresPaymentMethod", description: null, failedAt: expect.stringMatching(ISO_UTC), failureReason: expect.stringContaining("declined") });
    expect(byId.get(paid.id)).toMatchObject({ status: "Succeeded", orderId: 77, authorizedAt: expect.stringMatching(ISO_UTC), capturedAt: expect.stringMatching(ISO_UTC) });
    expect(byId.get(unpaid.id)).toEqual(unpaid);
    expect(listed.find((i) => i.gatewayIntentId === held.body.id)).toMatchObject({ status: "RequiresCapture", capturedAt: null, description: "held" });
    expect(listed.find((i) => i.gatewayIntentId === captured.body.id)?.capturedAt).toMatch(ISO_UTC);
    const byCustomer = await send("GET", `${BASE}/customer/24680`, narrowed);
    expect(byCustomer.json).toEqual(listed.filter((i) => i.customerId === 24680));

    // The list reads columns only: with every row's data unreadable it answers the same.
    const rows = await env.DB.prepare("SELECT id, data FROM payment_intents WHERE merchant_id = ?").bind(m.id).all<{ id: string; data: string }>();
    await env.DB.prepare("UPDATE payment_intents SET data = 'not json' WHERE merchant_id = ?").bind(m.id).run();
    try {
      expect(await list()).toEqual(listed);
    } finally {
      await env.DB.batch(rows.results.map((r) => env.DB.prepare("UPDATE payment_intents SET data = ? WHERE id = ?").bind(r.data, r.id)));
    }

    // A row written before migration 0023: the moved fields in data, the new columns null. It lists the same.
    const legacy = await readModelIntent(declined.gatewayIntentId);
    if (!legacy) throw new Error("no read model row");
    await env.DB.prepare(
      "UPDATE payment_intents SET data = ?, invoice_id = NULL, client_secret = NULL, description = NULL, gateway_account = NULL, connector_account = NULL, last_payment_error = NULL, charge_authorized_at = NULL, charge_captured_at = NULL, failed_at = NULL, summary_version = NULL WHERE id = ?",
    )
      .bind(JSON.stringify(legacy), declined.gatewayIntentId)
      .run();
    expect(await readModelIntent(declined.gatewayIntentId)).toEqual(legacy);
    expect(await list()).toEqual(listed);

    // The previous version of the code, still running during a deployment, writes a newer version:
    // every field in data, the summary columns left as an earlier version wrote them. Its record wins.
    const current = await readModelIntent(unpaid.gatewayIntentId);
    if (!current) throw new Error("no read model row");
    const newer = { ...current, version: current.version + 1, description: "written by the previous release" };
    await env.DB.prepare("UPDATE payment_intents SET data = ?, version = ? WHERE id = ?").bind(JSON.stringify(newer), newer.version, unpaid.gatewayIntentId).run();
    expect(await readModelIntent(unpaid.gatewayIntentId)).toEqual(newer);
    const afterOldWriter = await list();
    expect(afterOldWriter.find((i) => i.id === unpaid.id)?.description).toBe("written by the previous release");
    expect(afterOldWriter.filter((i) => i.id !== unpaid.id)).toEqual(listed.filter((i) => i.id !== unpaid.id));
  });
});

describe("seed 000: invoiceId and orderId, integers of up to 15 digits", () => {
  it("15 digits are kept and answered exactly; 16 digits, a negative or a fraction is a 400 naming the range", async () => {
    const big = await create(SEED_CREATE.replace('"invoiceId": 123', '"invoiceId": 999999999999999').replace('"orderId": null', '"orderId": 100000000000000'));
    expect(big.invoiceId).toBe(999999999999999);
    expect(big.orderId).toBe(100000000000000);
    for (const [field, value] of [["invoiceId", "1000000000000000"], ["invoiceId", "-1"], ["orderId", "1.5"], ["orderId", "9007199254740993"]] as const) {
      const body = field === "invoiceId" ? SEED_CREATE.replace('"invoiceId": 123', `"invoiceId": ${value}`) : SEED_CREATE.replace('"orderId": null', `"orderId": ${value}`);
      const res = expectProblem(await send("POST", BASE, { token: await user(), body }), 400);
      expect(res.errors?.[field]?.[0], `${field} ${value}`).toBe(`The field ${field} must be a whole number from 0 to 999999999999999, or null.`);
    }
  });
});
