// Seed 003: iCliGo /payments. The seed's example requests sent verbatim (its payload's missing comma
// after "amount": 25.0 corrected), answers checked field by field; the auth headers; the one error
// payload on every class of error; exact decimals for EUR, JPY and KWD; the AUTHORIZED / COMPLETED /
// CONFIRMED / CANCELED / REFUNDED webhooks in order; one payment read through every surface.
import { exports } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { icligoError } from "../../../src/api/icligo/errors";
import { webhookBody } from "../../../src/core/surface-events";
import { signPayload } from "../../../src/webhooks/signing";
import { approverOf, createEndpoint, get, hsToken, KEY_A, KEY_B, MERCHANT_A, newMerchant, post, receivedBy, receiverHook, storedEventRecords, waitFor, type PaymentIntentJson } from "../../helpers";

const MISSING = "Headers 'X-Access-Token' and 'X-Application-Id' are necessary.";

interface Raw {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

interface Credentials {
  appId: string;
  token: string;
}

async function newApplication(key = KEY_A): Promise<Credentials> {
  const res = await post<{ application_id: string; access_token: string }>(
    "/v1/api_keys",
    { type: "application", permissions: ["payments.transactions.create", "payments.transactions.view", "payments.transactions.void"] },
    { key },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { appId: res.body.application_id, token: res.body.access_token };
}

async function send(method: string, path: string, options: { app?: Credentials | null; headers?: Record<string, string>; body?: string; contentType?: string | null } = {}): Promise<Raw> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.app) {
    headers["X-Application-Id"] = options.app.appId;
    headers["X-Access-Token"] = options.app.token;
  }
  if (options.body !== undefined && options.contentType !== null) headers["Content-Type"] = options.contentType ?? "application/json";
  const res = await exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers, body: options.body }));
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

interface MoneyJson {
  currency: string;
  value: number;
}
interface PaymentDto {
  id: number;
  paymentIntentId: string;
  status: string;
  userId: string;
  productId: string;
  productType: string;
  products: { id: string; name: string; quantity: number; price: MoneyJson }[];
  company: string;
  currency: string;
  microsite: string;
  country: string;
  amount: number;
  manualCapture: boolean;
  capturedAmount: MoneyJson;
  refundedAmount: MoneyJson;
  paymentUrl: string | null;
}

// The seed's "Full Payload Example", its missing comma after "amount": 25.0 corrected.
const SEED_CREATE = `{
  "userId": "user_1234",
  "productId": "product_1234",
  "productType": "BOOKING",
  "products": [
    {
      "id": "prod_001",
      "name": "Hotel Room",
      "quantity": 1,
      "price": {
        "currency": "EUR",
        "value": 100.00
      }
    }
  ],
  "company": "icligo.pt",
  "currency": "EUR",
  "microsite": "icligo.pt",
  "country": "PT",
  "amount": 25.0,
  "manualCapture": false
}`;
const SEED_CAPTURE = `{
    "amount": 10.0,
    "description": "Captured description."
}`;
const MANUAL = SEED_CREATE.replace('"manualCapture": false', '"manualCapture": true');

function expectError(res: Raw, status: number, path: string): { timestamp: number; status: number; error: string; message: string; path: string } {
  expect(res.status, res.text).toBe(status);
  const body = res.json as { timestamp: number; status: number; error: string; message: string; path: string };
  expect(Object.keys(body).sort()).toEqual(["error", "message", "path", "status", "timestamp"]);
  expect(Number.isInteger(body.timestamp)).toBe(true);
  expect(Math.abs(body.timestamp - Date.now())).toBeLessThan(10 * 60_000);
  expect(body.status).toBe(status);
  expect(body.error).toBe(({ 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large", 415: "Unsupported Media Type" } as Record<number, string>)[status]);
  expect(typeof body.message).toBe("string");
  expect(body.path).toBe(path);
  return body;
}

async function createPayment(app: Credentials, body = SEED_CREATE): Promise<PaymentDto> {
  const res = await send("POST", "/payments/create-payment-intent", { app, body });
  expect(res.status, res.text).toBe(200);
  return res.json as PaymentDto;
}

/** The customer pays on the hosted page; here, the same confirmation through /v1. */
async function customerPays(payment: PaymentDto): Promise<void> {
  const res = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function status(app: Credentials, payment: PaymentDto): Promise<string> {
  return ((await send("GET", `/payments/${payment.id}`, { app })).json as PaymentDto).status;
}

describe("seed 003: the seed's examples, verbatim", () => {
  it("POST /payments/create-payment-intent answers 200 with the PaymentDto", async () => {
    const app = await newApplication();
    const res = await send("POST", "/payments/create-payment-intent", { app, body: SEED_CREATE });
    expect(res.status, res.text).toBe(200);
    const dto = res.json as PaymentDto;
    expect(dto.userId).toBe("user_1234");
    expect(dto.productId).toBe("product_1234");
    expect(dto.productType).toBe("BOOKING");
    expect(dto.products).toEqual([{ id: "prod_001", name: "Hotel Room", quantity: 1, price: { currency: "EUR", value: 100 } }]);
    expect(res.text).toContain('"value":100.00');
    expect(dto.company).toBe("icligo.pt");
    expect(dto.currency).toBe("EUR");
    expect(dto.microsite).toBe("icligo.pt");
    expect(dto.country).toBe("PT");
    expect(dto.amount).toBe(25);
    expect(res.text).toContain('"amount":25.00');
    expect(dto.manualCapture).toBe(false);
    expect(Number.isInteger(dto.id) && dto.id > 0).toBe(true);
    expect(dto.status).toBe("Created");
    expect(dto.paymentIntentId).toMatch(/^pi_/);
    expect(dto.paymentUrl).toMatch(new RegExp(`^http://gateway\\.test/pay/${dto.paymentIntentId}\\?client_secret=${dto.paymentIntentId}_secret_`));
    // GET answers the same payment.
    const again = await send("GET", `/payments/${dto.id}`, { app });
    expect(again.json).toEqual(dto);
    expect(((await send("GET", `/payments/${dto.paymentIntentId}`, { app })).json as PaymentDto).id).toBe(dto.id);
  });

  it("the seed's payload as printed (a comma missing) is a 400 in the error format", async () => {
    const app = await newApplication();
    const res = await send("POST", "/payments/create-payment-intent", { app, body: SEED_CREATE.replace('"amount": 25.0,', '"amount": 25.0') });
    expectError(res, 400, "/payments/create-payment-intent");
  });

  it("PUT /payments/{id}/capture with the seed's body answers the ConfirmPaymentResponse, once", async () => {
    const app = await newApplication();
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    expect(await status(app, payment)).toBe("Authorized");
    // More than was authorized (25.00 EUR): told in the surface's decimals, not in minor units.
    const over = expectError(await send("PUT", `/payments/${payment.id}/capture`, { app, body: '{"amount": 25.01, "description": "too much"}' }), 400, `/payments/${payment.id}/capture`);
    expect(over.message).toBe("The amount to capture (25.01 EUR) is greater than the amount that can be captured (25.00 EUR).");
    // "The request specifies the amount to be captured": without it, a 400 and nothing captured.
    for (const body of ["{}", '{"amount": null, "description": "all of it?"}', '{"description": "Captured description."}']) {
      const missing = expectError(await send("PUT", `/payments/${payment.id}/capture`, { app, body }), 400, `/payments/${payment.id}/capture`);
      expect(missing.message, body).toBe("Invalid request: missing required field 'amount'.");
    }
    expect(await status(app, payment)).toBe("Authorized");
    const res = await send("PUT", `/payments/${payment.id}/capture`, { app, body: SEED_CAPTURE });
    expect(res.status, res.text).toBe(200);
    const body = res.json as { date: number; capturedAmountInfo: MoneyJson; captures: { id: string; description: string; captureTime: number; amount: MoneyJson }[] };
    expect(Object.keys(body).sort()).toEqual(["capturedAmountInfo", "captures", "date"]);
    expect(Number.isInteger(body.date)).toBe(true);
    expect(body.capturedAmountInfo).toEqual({ currency: "EUR", value: 10 });
    expect(res.text).toContain('"value":10.00');
    expect(body.captures).toHaveLength(1);
    const [capture] = body.captures;
    expect(capture?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(capture?.description).toBe("Captured description.");
    expect(capture?.captureTime).toBe(body.date);
    expect(capture?.amount).toEqual({ currency: "EUR", value: 10 });
    const after = (await send("GET", `/payments/${payment.id}`, { app })).json as PaymentDto;
    expect(after.status).toBe("Confirmed");
    expect(after.capturedAmount).toEqual({ currency: "EUR", value: 10 });
    // A payment is captured once.
    expectError(await send("PUT", `/payments/${payment.id}/capture`, { app, body: SEED_CAPTURE }), 400, `/payments/${payment.id}/capture`);
  });

  it("capturing a payment that is not Authorized is a 400", async () => {
    const app = await newApplication();
    const created = await createPayment(app, MANUAL);
    expectError(await send("PUT", `/payments/${created.id}/capture`, { app, body: SEED_CAPTURE }), 400, `/payments/${created.id}/capture`);
    const automatic = await createPayment(app);
    await customerPays(automatic);
    expect(await status(app, automatic)).toBe("Completed");
    expectError(await send("PUT", `/payments/${automatic.id}/capture`, { app, body: SEED_CAPTURE }), 400, `/payments/${automatic.id}/capture`);
  });

  it("cancel only from Created or Authorized (PUT or POST)", async () => {
    const app = await newApplication();
    const created = await createPayment(app);
    const res = await send("PUT", `/payments/${created.id}/cancel`, { app });
    expect(res.status, res.text).toBe(200);
    expect((res.json as PaymentDto).status).toBe("Canceled");
    expectError(await send("POST", `/payments/${created.id}/cancel`, { app }), 400, `/payments/${created.id}/cancel`);

    const authorized = await createPayment(app, MANUAL);
    await customerPays(authorized);
    expect(((await send("POST", `/payments/${authorized.id}/cancel`, { app })).json as PaymentDto).status).toBe("Canceled");

    const completed = await createPayment(app);
    await customerPays(completed);
    expectError(await send("PUT", `/payments/${completed.id}/cancel`, { app }), 400, `/payments/${completed.id}/cancel`);
    expect(await status(app, completed)).toBe("Completed");
  });

  it("refunds: only from Completed or Confirmed, partial and repeated up to the captured amount, never above", async () => {
    const app = await newApplication();
    const created = await createPayment(app);
    expectError(await send("POST", `/payments/${created.id}/refund`, { app, body: '{"amount": 1.00}' }), 400, `/payments/${created.id}/refund`);

    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    expectError(await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 1.00}' }), 400, `/payments/${payment.id}/refund`);
    await send("PUT", `/payments/${payment.id}/capture`, { app, body: SEED_CAPTURE });
    const first = await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 4.0}' });
    expect(first.status, first.text).toBe(200);
    // Refunded in part, it is still Confirmed (seed 003 refunds a payment in that state, again and again).
    expect((first.json as PaymentDto).status).toBe("Confirmed");
    expect((first.json as PaymentDto).refundedAmount).toEqual({ currency: "EUR", value: 4 });
    const over = expectError(await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 6.01}' }), 400, `/payments/${payment.id}/refund`);
    expect(over.message).toMatch(/'amount' is more than the 6\.00 EUR of payment \d+ left to refund\./);
    // PUT, the document's verb for capture, refunds as POST does.
    const rest = await send("PUT", `/payments/${payment.id}/refund`, { app, body: '{"amount": 6.00}' });
    expect((rest.json as PaymentDto).status, rest.text).toBe("Refunded");
    expect((rest.json as PaymentDto).refundedAmount).toEqual({ currency: "EUR", value: 10 });
    expectError(await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 0.01}' }), 400, `/payments/${payment.id}/refund`);

    // Without an amount: all that is left.
    const whole = await createPayment(app);
    await customerPays(whole);
    const all = await send("POST", `/payments/${whole.id}/refund`, { app });
    expect((all.json as PaymentDto).status, all.text).toBe("Refunded");
    expect((all.json as PaymentDto).refundedAmount).toEqual({ currency: "EUR", value: 25 });

    // "amount": null is an amount not given (the document does not show the refund's body; a Java
    // client, Jackson's default, writes an unset Double as null): all that is left, after a partial.
    // Anything else that is not a positive amount is a 400 in the error format, and refunds nothing.
    const nulled = await createPayment(app);
    await customerPays(nulled);
    expect((await send("POST", `/payments/${nulled.id}/refund`, { app, body: '{"amount": 5.00}' })).status).toBe(200);
    const path = `/payments/${nulled.id}/refund`;
    for (const body of ['{"amount": "x"}', '{"amount": 0}', '{"amount": -1.00}', '{"amount": {}}', '{"amount": 1.001}']) {
      expectError(await send("POST", path, { app, body }), 400, path);
    }
    const remaining = await send("POST", path, { app, body: '{"amount": null}' });
    expect(remaining.status, remaining.text).toBe(200);
    expect((remaining.json as PaymentDto).status).toBe("Refunded");
    expect((remaining.json as PaymentDto).refundedAmount).toEqual({ currency: "EUR", value: 25 });
  });
});

describe("seed 003: authentication", () => {
  it("a missing header is a 400 with the seed's message; a wrong pair a 401; another application's payment a 403", async () => {
    const app = await newApplication();
    const path = "/payments/create-payment-intent";
    const partial: Record<string, string>[] = [{}, { "X-Application-Id": app.appId }, { "X-Access-Token": app.token }, { authorization: `Bearer ${KEY_A}` }];
    for (const headers of partial) {
      const res = await send("POST", path, { headers, body: SEED_CREATE });
      expect(expectError(res, 400, path).message).toBe(MISSING);
    }
    expectError(await send("POST", path, { app: { appId: app.appId, token: "tok_wrong" }, body: SEED_CREATE }), 401, path);
    expectError(await send("POST", path, { app: { appId: "app_unknownUnknownUnknown1", token: app.token }, body: SEED_CREATE }), 401, path);

    const mine = await createPayment(app);
    const other = await newMerchant("icligo-other");
    const stranger = await newApplication(other.key);
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PUT", "/capture", SEED_CAPTURE],
      ["PUT", "/cancel", undefined],
      ["POST", "/cancel", undefined],
      ["POST", "/refund", '{"amount": 1.0}'],
    ] as const) {
      const p = `/payments/${mine.id}${suffix}`;
      expectError(await send(method, p, { app: stranger, body }), 403, p);
      expect(expectError(await send(method, p, { body }), 400, p).message).toBe(MISSING);
      expectError(await send(method, p, { app: { ...app, token: "tok_wrong" }, body }), 401, p);
    }
    expect(await status(app, mine)).toBe("Created");
  });

  it("an X-Application-Id that is not an application id at all is invalid (400); a well-formed one naming no application is incorrect (401)", async () => {
    const app = await newApplication();
    const path = "/payments/create-payment-intent";
    for (const appId of ["garbage", "app_", "app_short", "APP_aaaaaaaaaaaaaaaaaaaaaaaa", "app_aaaa-bbbb-cccc", `app_${"a".repeat(65)}`, "pi_aaaaaaaaaaaaaaaaaaaaaaaa"]) {
      const res = await send("POST", path, { app: { appId, token: app.token }, body: SEED_CREATE });
      expect(expectError(res, 400, path).message, appId).toBe("Header 'X-Application-Id' is invalid: an application id is 'app_' followed by letters and digits.");
    }
    // Well-formed but unknown, or known with the wrong token: a 401, on every route.
    expectError(await send("POST", path, { app: { appId: "app_000000000000000000000000", token: app.token }, body: SEED_CREATE }), 401, path);
    expectError(await send("POST", path, { app: { appId: app.appId, token: "tok_wrong" }, body: SEED_CREATE }), 401, path);
    expectError(await send("GET", "/payments/1", { app: { appId: "garbage", token: app.token } }), 400, "/payments/1");
    expectError(await send("GET", "/payments/1", { app: { appId: "app_000000000000000000000000", token: app.token } }), 401, "/payments/1");
    expect((await send("POST", path, { app, body: SEED_CREATE })).status).toBe(200);
  });

  it("an X-Access-Token that is not an access token at all is invalid (400), as an id is; blanks around either header are not part of it", async () => {
    const app = await newApplication();
    const path = "/payments/create-payment-intent";
    for (const token of ["abc", "tok_", "tok_with-dash", "Bearer tok_abc", `tok_${"a".repeat(201)}`]) {
      const res = await send("POST", path, { app: { appId: app.appId, token }, body: SEED_CREATE });
      expect(expectError(res, 400, path).message, token).toBe("Header 'X-Access-Token' is invalid: an access token is 'tok_' followed by letters and digits.");
    }
    // Well-formed but wrong: incorrect, a 401.
    expectError(await send("POST", path, { app: { appId: app.appId, token: "tok_wrongWrongWrong" }, body: SEED_CREATE }), 401, path);
    const padded = await send("POST", path, { app: { appId: `  ${app.appId} `, token: ` ${app.token}  ` }, body: SEED_CREATE });
    expect(padded.status, padded.text).toBe(200);
  });

  it("a userId naming a customer of ours is the merchant's own; another merchant's, or an unknown one, is the application's opaque id", async () => {
    const app = await newApplication(KEY_A);
    const theirs = await post<{ id: string }>("/v1/customers", { email: "b@example.com" }, { key: KEY_B });
    const mine = await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, { key: KEY_A });
    const path = "/payments/create-payment-intent";
    const body = (userId: string) => JSON.stringify({ userId, currency: "EUR", amount: 10.0 });
    for (const userId of [theirs.body.id, "cus_doesnotexist000000000"]) {
      const opaque = await send("POST", path, { app, body: body(userId) });
      expect(opaque.status, opaque.text).toBe(200);
      expect((opaque.json as PaymentDto).userId).toBe(userId);
    }
    const own = await send("POST", path, { app, body: body(mine.body.id) });
    expect(own.status, own.text).toBe(200);
    expect((own.json as PaymentDto).userId).toBe(mine.body.id);
    // The application's own user ids are taken as they are.
    expect((await send("POST", path, { app, body: body("user_1234") })).status).toBe(200);
  });

  it("an application without the permission is a 403", async () => {
    const res = await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.view"] });
    const viewer = { appId: res.body.application_id, token: res.body.access_token };
    expectError(await send("POST", "/payments/create-payment-intent", { app: viewer, body: SEED_CREATE }), 403, "/payments/create-payment-intent");
  });

  it("paymentUrl (it carries the client secret) goes only to an application that may make payments; a reader gets null", async () => {
    const app = await newApplication();
    const made = await send("POST", "/payments/create-payment-intent", { app, body: SEED_CREATE });
    expect(made.status, made.text).toBe(200);
    const dto = made.json as PaymentDto;
    expect(dto.paymentUrl).toContain(`client_secret=${dto.paymentIntentId}_secret_`);
    const res = await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.view"] });
    const viewer = { appId: res.body.application_id, token: res.body.access_token };
    const read = await send("GET", `/payments/${dto.id}`, { app: viewer });
    expect(read.status, read.text).toBe(200);
    expect((read.json as PaymentDto).id).toBe(dto.id);
    expect((read.json as PaymentDto).paymentUrl).toBeNull();
    expect(read.text).not.toContain("_secret_");
    // The application that may pay still reads it.
    expect(((await send("GET", `/payments/${dto.id}`, { app })).json as PaymentDto).paymentUrl).toBe(dto.paymentUrl);
  });
});

describe("seed 003: every error is {timestamp, status, error, message, path}", () => {
  it("400 validation, 404 unknown payment and route, 413, 415", async () => {
    const app = await newApplication();
    const path = "/payments/create-payment-intent";
    for (const body of [
      SEED_CREATE.replace('"amount": 25.0,', '"amount": "25.0",'),
      SEED_CREATE.replace('"amount": 25.0,', ""),
      SEED_CREATE.replace('"currency": "EUR",', '"currency": "EURO",'),
      SEED_CREATE.replace('"userId": "user_1234",', ""),
      SEED_CREATE.replace('"quantity": 1', '"quantity": 0'),
      SEED_CREATE.replace('"value": 100.00', '"value": 100.001'),
      SEED_CREATE.replace('"manualCapture": false', '"manualCapture": "no"'),
      SEED_CREATE.replace('"country": "PT"', '"country": "Portugal"'),
      "[]",
      "{",
    ]) {
      expectError(await send("POST", path, { app, body }), 400, path);
    }
    // Each message names the field that is wrong, where it is.
    for (const [body, message] of [
      [SEED_CREATE.replace(/"price": \{[^}]*\}/, '"x": 1'), "Invalid request: missing required field 'products[0].price'."],
      [SEED_CREATE.replace(/"price": \{[^}]*\}/, '"price": 100'), "Invalid request: 'products[0].price' must be a JSON object."],
      [SEED_CREATE.replace('"id": "prod_001"', '"id": 1'), "Invalid request: 'products[0].id' must be a string."],
      [SEED_CREATE.replace('"name": "Hotel Room"', '"name": 7'), "Invalid request: 'products[0].name' must be a string."],
      [SEED_CREATE.replace(/"currency": "EUR",(\s+"microsite")/, '"currency": 978,$1'), "Invalid request: 'currency' must be a string: an ISO 4217 code such as 'EUR'."],
      [SEED_CREATE.replace(/"currency": "EUR",(\s+"microsite")/, "$1"), "Invalid request: missing required field 'currency'."],
    ] as const) {
      expect(body, "the replacement applied").not.toBe(SEED_CREATE);
      expect(expectError(await send("POST", path, { app, body }), 400, path).message).toBe(message);
    }
    expectError(await send("POST", path, { app, body: "userId=1", contentType: "application/x-www-form-urlencoded" }), 415, path);
    expectError(await send("POST", path, { app, body: JSON.stringify({ userId: "x".repeat(70_000) }) }), 413, path);
    expectError(await send("GET", "/payments/99999999", { app }), 404, "/payments/99999999");
    expectError(await send("GET", "/payments/pi_doesNotExist0000000000", { app }), 404, "/payments/pi_doesNotExist0000000000");
    expectError(await send("GET", "/payments/not-an-id", { app }), 404, "/payments/not-an-id");
    expectError(await send("GET", "/payments/1/what/ever", { app }), 404, "/payments/1/what/ever");
    const wrongMethod = await send("DELETE", "/payments/1", { app });
    expectError(wrongMethod, 405, "/payments/1");
    expect(wrongMethod.headers.get("allow")).toBe("GET");
    expect((await send("GET", "/payments/1/capture", { app })).headers.get("allow")).toBe("PUT");
    // The create route read with GET: a 405 naming POST, not "no such payment".
    const getCreate = await send("GET", "/payments/create-payment-intent", { app });
    expectError(getCreate, 405, "/payments/create-payment-intent");
    expect(getCreate.headers.get("allow")).toBe("POST");
    expect((await send("GET", "/payments/1/refund", { app })).headers.get("allow")).toBe("PUT, POST");
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    const capturePath = `/payments/${payment.id}/capture`;
    expectError(await send("PUT", capturePath, { app, body: '{"amount": 30.00}' }), 400, capturePath);
    expectError(await send("PUT", capturePath, { app, body: '{"amount": 1.001}' }), 400, capturePath);
    expect(await status(app, payment)).toBe("Authorized");
  });
});

describe("seed 003: decimal amounts convert exactly", () => {
  it.each([
    ["EUR", "10.05", 1005, "10.05"],
    ["EUR", "25.0", 2500, "25.00"],
    ["JPY", "1000", 1000, "1000"],
    ["KWD", "1.234", 1234, "1.234"],
    ["KWD", "7.5", 7500, "7.500"],
  ])("%s %s is %i minor units, rendered %s", async (currency, amount, minor, rendered) => {
    const app = await newApplication();
    const res = await send("POST", "/payments/create-payment-intent", { app, body: `{"userId": "u1", "currency": "${currency}", "amount": ${amount}}` });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain(`"amount":${rendered},`);
    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${(res.json as PaymentDto).paymentIntentId}`);
    expect(v1.body.amount).toBe(minor);
  });

  // A Java client (the seed's amounts, 25.0 and 10.0, are Java doubles as Jackson writes them) writes a
  // double of 10^7 or more in exponent notation: 1.5E7 is the JSON number 15000000, a valid KRW amount.
  it.each([
    ["KRW", "1.5E7", 15_000_000, "15000000"],
    ["JPY", "1.0E7", 10_000_000, "10000000"],
    ["EUR", "2.5e1", 2500, "25.00"],
    ["EUR", "1.05E+2", 10500, "105.00"],
    ["EUR", "1234E-2", 1234, "12.34"],
  ])("%s %s in exponent notation is %i minor units, rendered %s", async (currency, amount, minor, rendered) => {
    const app = await newApplication();
    const body = `{"userId": "u1", "currency": "${currency}", "amount": ${amount}, "products": [{"id": "p1", "name": "Room", "quantity": 1, "price": {"currency": "${currency}", "value": ${amount}}}]}`;
    const res = await send("POST", "/payments/create-payment-intent", { app, body });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain(`"amount":${rendered},`);
    expect(res.text).toContain(`"value":${rendered}}`);
    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${(res.json as PaymentDto).paymentIntentId}`);
    expect(v1.body.amount).toBe(minor);
  });

  it.each([
    ["EUR", "1.00001E2"],
    ["JPY", "1.5E-1"],
    ["EUR", "1E400"],
    ["EUR", "1E-400"],
  ])("%s %s in exponent notation with too many decimals (or out of range) is a 400", async (currency, amount) => {
    const app = await newApplication();
    const res = await send("POST", "/payments/create-payment-intent", { app, body: `{"userId": "u1", "currency": "${currency}", "amount": ${amount}}` });
    expectError(res, 400, "/payments/create-payment-intent");
  });

  it.each([
    ["EUR", "10.001"],
    ["JPY", "10.5"],
    ["KWD", "1.2345"],
    ["EUR", "0"],
    ["EUR", "-1.00"],
  ])("%s %s is a 400", async (currency, amount) => {
    const app = await newApplication();
    const res = await send("POST", "/payments/create-payment-intent", { app, body: `{"userId": "u1", "currency": "${currency}", "amount": ${amount}}` });
    expectError(res, 400, "/payments/create-payment-intent");
  });
});

interface Delivered {
  id: string;
  type: string;
  created_ms: number;
  data: { object: { id: number; paymentIntentId: string; status: string; amount: number; currency: string; refund?: { id: string; amount: MoneyJson }; refundedAmount: MoneyJson } };
}

async function icligoWebhooks(name: string, secret: string, paymentIntentId: string, count: number): Promise<Delivered[]> {
  return waitFor(async () => {
    const received = await receivedBy(name);
    const events = received
      .map((r) => new Webhook(secret).verify(r.body, r.headers) as Delivered)
      .filter((e) => e.type.startsWith("icligo.") && e.data.object.paymentIntentId === paymentIntentId)
      .sort((a, b) => a.created_ms - b.created_ms);
    return events.length >= count ? events : undefined;
  }, 20_000, `${count} icligo webhooks`);
}

describe("seed 003: webhooks, signed, in order", () => {
  it("manual capture: AUTHORIZED, then CONFIRMED after the capture, then REFUNDED", async () => {
    const app = await newApplication();
    const hook = receiverHook("icligo-manual");
    const endpoint = await createEndpoint(hook.url, ["icligo.payment.authorized", "icligo.payment.completed", "icligo.payment.confirmed", "icligo.payment.canceled", "icligo.payment.refunded"]);
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    await send("PUT", `/payments/${payment.id}/capture`, { app, body: SEED_CAPTURE });
    await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 10.0}' });
    const events = await icligoWebhooks(hook.name, endpoint.secret ?? "", payment.paymentIntentId, 3);
    expect(events.map((e) => [e.type, e.data.object.status])).toEqual([
      ["icligo.payment.authorized", "AUTHORIZED"],
      ["icligo.payment.confirmed", "CONFIRMED"],
      ["icligo.payment.refunded", "REFUNDED"],
    ]);
    for (const e of events) {
      expect(e.data.object.id).toBe(payment.id);
      expect(e.data.object.amount).toBe(25);
      expect(e.data.object.currency).toBe("EUR");
    }
    // Only seed 003's types reach an endpoint that subscribed to them; this payment's are exactly these
    // three (counted by event id: delivery is at least once; and other tests' payments of this merchant
    // may reach the endpoint too when the queues run late on a busy machine).
    const received = (await receivedBy(hook.name)).map((r) => new Webhook(endpoint.secret ?? "").verify(r.body, r.headers) as Delivered);
    expect(received.every((e) => e.type.startsWith("icligo."))).toBe(true);
    expect(new Set(received.filter((e) => e.data.object.paymentIntentId === payment.paymentIntentId).map((e) => e.id)).size).toBe(3);
  });

  it("manual capture canceled once authorized: AUTHORIZED, then CANCELED, never REFUNDED (the released hold is no refund)", async () => {
    const app = await newApplication();
    const hook = receiverHook("icligo-manual-cancel");
    const endpoint = await createEndpoint(hook.url, ["icligo.payment.authorized", "icligo.payment.canceled", "icligo.payment.refunded"]);
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    expect((await send("POST", `/payments/${payment.id}/cancel`, { app })).status).toBe(200);
    const events = await icligoWebhooks(hook.name, endpoint.secret ?? "", payment.paymentIntentId, 2);
    expect(events.map((e) => [e.type, e.data.object.status])).toEqual([
      ["icligo.payment.authorized", "AUTHORIZED"],
      ["icligo.payment.canceled", "CANCELED"],
    ]);
    // And nothing more comes for it: the /v1 charge.refunded of the released hold has no seed 003 word.
    const core = await waitFor(async () => {
      const stored = await storedEventRecords({ paymentIntent: payment.paymentIntentId });
      return stored.some((e) => e.type === "payment_intent.canceled") && stored;
    });
    expect(core.map((e) => e.type)).toContain("charge.refunded");
    expect(core.filter((e) => e.type.startsWith("icligo.")).map((e) => e.type)).toEqual(["icligo.payment.authorized", "icligo.payment.canceled"]);
  });

  it("automatic capture: COMPLETED (no AUTHORIZED), then REFUNDED; a canceled payment: CANCELED; endpoints on '*' get them too", async () => {
    const app = await newApplication();
    const hook = receiverHook("icligo-auto");
    const endpoint = await createEndpoint(hook.url, ["*"]);
    const payment = await createPayment(app);
    await customerPays(payment);
    await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 5.0}' });
    const events = await icligoWebhooks(hook.name, endpoint.secret ?? "", payment.paymentIntentId, 2);
    expect(events.map((e) => e.data.object.status)).toEqual(["COMPLETED", "REFUNDED"]);
    expect(events[1]?.data.object.refund?.amount).toEqual({ currency: "EUR", value: 5 });
    expect(events[1]?.data.object.refund?.id).toMatch(/^re_/);
    expect(events[1]?.data.object.refundedAmount).toEqual({ currency: "EUR", value: 5 });

    const canceled = await createPayment(app);
    await send("PUT", `/payments/${canceled.id}/cancel`, { app });
    const cancelEvents = await icligoWebhooks(hook.name, endpoint.secret ?? "", canceled.paymentIntentId, 1);
    expect(cancelEvents.map((e) => [e.type, e.data.object.status])).toEqual([["icligo.payment.canceled", "CANCELED"]]);

    // A payment made through /v1 sends no seed 003 webhooks.
    const v1 = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 500, currency: "eur", payment_method: "pm_card_visa", confirm: true });
    await waitFor(async () => (await receivedBy(hook.name)).some((r) => r.body.includes(v1.body.id) && r.body.includes("payment_intent.succeeded")), 20_000, "the /v1 payment's events");
    expect((await receivedBy(hook.name)).filter((r) => r.body.includes(v1.body.id) && r.body.includes('"icligo.')).length).toBe(0);
  });
});

describe("seed 003: one payment, every surface", () => {
  it("a payment made here reads the same through /v1 and seed 000; one made through seed 000 reads here", async () => {
    const app = await newApplication();
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    await send("PUT", `/payments/${payment.id}/capture`, { app, body: SEED_CAPTURE });

    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}`);
    expect(v1.body.amount).toBe(2500);
    expect(v1.body.amount_received).toBe(1000);
    expect(v1.body.currency).toBe("eur");
    expect(v1.body.status).toBe("succeeded");
    expect(v1.body.capture_method).toBe("manual");

    const admin = await hsToken({ roles: ["admin"], merchant: null });
    const seed000 = await send("GET", `/api/v1/PaymentIntents/${payment.id}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(seed000.status, seed000.text).toBe(200);
    const pi = seed000.json as { id: number; amount: number; currency: string; status: string; gatewayIntentId: string; capturedAt: string | null };
    expect(pi.id).toBe(payment.id);
    expect(pi.gatewayIntentId).toBe(payment.paymentIntentId);
    expect(pi.amount).toBe(25);
    expect(pi.currency).toBe("EUR");
    expect(pi.status).toBe("Succeeded");
    expect(pi.capturedAt).not.toBeNull();

    const user = await hsToken({ roles: ["merchant"], merchant: MERCHANT_A, sub: "42" });
    const made = await send("POST", "/api/v1/PaymentIntents", { headers: { authorization: `Bearer ${user}` }, body: '{"amount": 12.34, "currency": "EUR", "paymentGatewayId": 1}' });
    const other = made.json as { id: number; gatewayIntentId: string };
    const here = await send("GET", `/payments/${other.id}`, { app });
    expect(here.status, here.text).toBe(200);
    const dto = here.json as PaymentDto;
    expect(dto.paymentIntentId).toBe(other.gatewayIntentId);
    expect(dto.amount).toBe(12.34);
    expect(dto.status).toBe("Created");
    expect(dto.userId).toBe("42");
  });

  it("a /v1 payment held for a capture by its card options reads manualCapture true, as its status (Authorized) and its webhooks say", async () => {
    const app = await newApplication();
    const v1 = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "eur", payment_method_options: { card: { capture_method: "manual" } }, payment_method: "pm_card_visa", confirm: true });
    expect(v1.body.status).toBe("requires_capture");
    const read = await send("GET", `/payments/${v1.body.id}`, { app });
    expect(read.status, read.text).toBe(200);
    const dto = read.json as PaymentDto;
    expect(dto.status).toBe("Authorized");
    expect(dto.manualCapture).toBe(true);
    const captured = await send("PUT", `/payments/${v1.body.id}/capture`, { app, body: '{"amount": 10.00}' });
    expect(captured.status, captured.text).toBe(200);
    const after = (await send("GET", `/payments/${v1.body.id}`, { app })).json as PaymentDto;
    expect([after.status, after.manualCapture]).toEqual(["Confirmed", true]);
  });
});

describe("seed 003: OpenAPI", () => {
  it("the document lists every route of the surface", async () => {
    const doc = (await get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json", { key: null })).body;
    expect(doc.paths["/payments/create-payment-intent"]?.post).toBeDefined();
    expect(doc.paths["/payments/{payment_id}"]?.get).toBeDefined();
    expect(doc.paths["/payments/{payment_id}/capture"]?.put).toBeDefined();
    expect(Object.keys(doc.paths["/payments/{payment_id}/cancel"] ?? {}).sort()).toEqual(["post", "put"]);
    expect(doc.paths["/payments/{payment_id}/refund"]?.post).toBeDefined();
  });

  it("the PaymentDto schema admits the answers as written: every field present, null where a payment has no value", async () => {
    type Schema = { type?: string | string[]; $ref?: string; properties?: Record<string, Schema>; required?: string[] };
    const doc = (await get<{ components: { schemas: Record<string, Schema> } }>("/openapi.json", { key: null })).body;
    const schema = doc.components.schemas.IcligoPaymentDto;
    const app = await newApplication();
    const bare = await createPayment(app, '{"userId": "u-1", "currency": "EUR", "amount": 5}');
    const v1 = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 700, currency: "eur" });
    for (const id of [bare.id, v1.body.id]) {
      const dto = (await send("GET", `/payments/${id}`, { app })).json as Record<string, unknown>;
      for (const [field, value] of Object.entries(dto)) {
        const property = schema?.properties?.[field];
        expect(property, field).toBeDefined();
        expect(schema?.required, field).toContain(field);
        if (value === null) expect([property?.type].flat(), `${field} is null in ${JSON.stringify(dto)}`).toContain("null");
      }
    }
    // A refund held for an approver answers 202: the document says so too.
    const paths = (await get<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>("/openapi.json", { key: null })).body.paths;
    for (const method of ["put", "post"]) expect(Object.keys(paths["/payments/{payment_id}/refund"]?.[method]?.responses ?? {}), method).toContain("202");
  });
});

describe("seed 003: Idempotency-Key, bound merchant-wide like every surface's", () => {
  it("a key that refunded one payment cannot refund another; a retried refund replays, refunding once", async () => {
    const app = await newApplication();
    const a = await createPayment(app);
    const b = await createPayment(app);
    await customerPays(a);
    await customerPays(b);
    const key = `seed003-${Date.now()}-${Math.random()}`;
    const headers = { "Idempotency-Key": key };
    const first = await send("POST", `/payments/${a.id}/refund`, { app, body: "{}", headers });
    expect(first.status, first.text).toBe(200);
    expect((first.json as PaymentDto).status).toBe("Refunded");
    // The same request again: the first answer, not "already refunded", and no second refund.
    const again = await send("POST", `/payments/${a.id}/refund`, { app, body: "{}", headers });
    expect(again.status, again.text).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((again.json as PaymentDto).refundedAmount).toEqual((first.json as PaymentDto).refundedAmount);
    const other = await send("POST", `/payments/${b.id}/refund`, { app, body: "{}", headers });
    expectError(other, 400, `/payments/${b.id}/refund`);
    expect(await status(app, b)).toBe("Completed");
    // Across surfaces: the key that refunded here is refused on /v1.
    const v1 = await post("/v1/refunds", { payment_intent: b.paymentIntentId }, { idempotencyKey: key });
    expect(v1.status).toBe(400);
    expect(await status(app, b)).toBe("Completed");
    const refunds = (await get<{ data: unknown[] }>(`/v1/refunds?payment_intent=${a.paymentIntentId}`)).body.data;
    expect(refunds).toHaveLength(1);
  });
});

describe("seed 003: a refund held for approval", () => {
  it("answers 202 with the refund PENDING_APPROVAL beside the payment, which is not refunded yet", async () => {
    const m = await newMerchant("icligo-approval");
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { eur: 1000 } } }, await approverOf(m.opts))).status).toBe(200);
    const app = await newApplication(m.key);
    const payment = await createPayment(app);
    expect((await post(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_visa" }, m.opts)).status).toBe(200);
    const headers = { "Idempotency-Key": `seed003-held-${Date.now()}-${Math.random()}` };
    const held = await send("POST", `/payments/${payment.id}/refund`, { app, body: JSON.stringify({ amount: 20.0 }), headers });
    expect(held.status, held.text).toBe(202);
    expect(held.json).toMatchObject({ id: payment.id, status: "Completed", refundedAmount: { currency: "EUR", value: 0 }, refund: { status: "PENDING_APPROVAL", amount: { currency: "EUR", value: 20 } } });
    const replay = await send("POST", `/payments/${payment.id}/refund`, { app, body: JSON.stringify({ amount: 20.0 }), headers });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    // Below the threshold a refund is made at once: 200, and no refund object.
    const small = await send("POST", `/payments/${payment.id}/refund`, { app, body: JSON.stringify({ amount: 5.0 }) });
    expect(small.status, small.text).toBe(200);
    expect(small.json).toMatchObject({ status: "Completed", refundedAmount: { currency: "EUR", value: 5 } });
    expect((small.json as Record<string, unknown>).refund).toBeUndefined();
    // Nothing is left (20.00 waits for approval, 5.00 refunded): said in this API's words, not /v1's.
    const nothing = expectError(await send("POST", `/payments/${payment.id}/refund`, { app }), 400, `/payments/${payment.id}/refund`);
    expect(nothing.message).toBe(`Payment ${payment.id} has nothing left to refund: the rest is in refunds still waiting (for approval, or for the processor).`);
    const over = expectError(await send("POST", `/payments/${payment.id}/refund`, { app, body: JSON.stringify({ amount: 0.01 }) }), 400, `/payments/${payment.id}/refund`);
    expect(over.message).not.toContain("ch_");
  });
});

describe("seed 003: a payment at the processor", () => {
  it("shown as Processing (not Created, which may be canceled), it cannot be canceled until the processor answers, and the 400 says why", async () => {
    const app = await newApplication();
    const payment = await createPayment(app);
    const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${payment.paymentIntentId}/confirm`, { payment_method: "pm_card_sandboxTimeoutThenSuccess" });
    expect(paid.body.status).toBe("processing");
    expect(await status(app, payment)).toBe("Processing");
    const refused = await send("PUT", `/payments/${payment.id}/cancel`, { app });
    expectError(refused, 400, `/payments/${payment.id}/cancel`);
    expect((refused.json as { message: string }).message).toMatch(/being processed/);
  });
});

describe("seed 003: webhook amounts carry the currency's digits, as the API writes them", () => {
  it("a capture of 10.10 of 25.00 EUR sends 25.00, 10.10 and 0.00 (not 25, 10.1, 0), signed over the exact bytes sent", async () => {
    const app = await newApplication();
    const hook = receiverHook("icligo-digits");
    const endpoint = await createEndpoint(hook.url, ["icligo.payment.confirmed", "icligo.payment.refunded"]);
    const payment = await createPayment(app, MANUAL);
    await customerPays(payment);
    expect((await send("PUT", `/payments/${payment.id}/capture`, { app, body: '{"amount": 10.10}' })).status).toBe(200);
    expect((await send("POST", `/payments/${payment.id}/refund`, { app, body: '{"amount": 0.50}' })).status).toBe(200);
    const api = (await send("GET", `/payments/${payment.id}`, { app })).text;
    expect(api).toContain('"amount":25.00');
    expect(api).toContain('"capturedAmount":{"currency":"EUR","value":10.10}');
    const bodies = await waitFor(async () => {
      const mine = (await receivedBy(hook.name)).filter((r) => r.body.includes(payment.paymentIntentId));
      return mine.length >= 2 ? mine : undefined;
    }, 20_000, "the CONFIRMED and REFUNDED webhooks");
    const confirmed = bodies.find((r) => r.body.includes('"type":"icligo.payment.confirmed"'));
    const refunded = bodies.find((r) => r.body.includes('"type":"icligo.payment.refunded"'));
    expect(confirmed?.body).toContain('"amount":25.00,');
    expect(confirmed?.body).toContain('"capturedAmount":{"currency":"EUR","value":10.10}');
    expect(confirmed?.body).toContain('"refundedAmount":{"currency":"EUR","value":0.00}');
    expect(refunded?.body).toContain('"refundedAmount":{"currency":"EUR","value":0.50}');
    expect(refunded?.body).toMatch(/"refund":\{"id":"re_\w+","amount":\{"currency":"EUR","value":0\.50\}\}/);
    // The signatures are over these very bytes (Standard Webhooks and Stripe-Signature alike).
    for (const r of [confirmed, refunded]) {
      expect(r).toBeDefined();
      if (!r) continue;
      expect(() => new Webhook(endpoint.secret ?? "").verify(r.body, r.headers)).not.toThrow();
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)/.exec(r.headers["stripe-signature"] ?? "") ?? [];
      const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(endpoint.secret ?? ""), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${r.body}`)));
      expect([...mac].map((b) => b.toString(16).padStart(2, "0")).join("")).toBe(v1);
    }
  });

  it("webhookBody writes a seed 003 event's amounts with the currency's digits (EUR, JPY, KWD) and leaves every other event as JSON.stringify does", async () => {
    const event = (currency: string, amounts: { amount: number; captured: number; refunded: number; refund?: number }, userId = "user_1") => ({
      id: "evt_1",
      object: "event",
      type: amounts.refund === undefined ? "icligo.payment.confirmed" : "icligo.payment.refunded",
      data: {
        object: {
          object: "icligo.payment",
          id: 7,
          status: "CONFIRMED",
          userId,
          currency,
          amount: amounts.amount,
          capturedAmount: { currency, value: amounts.captured },
          refundedAmount: { currency, value: amounts.refunded },
          manualCapture: true,
          ...(amounts.refund === undefined ? {} : { refund: { id: "re_1", amount: { currency, value: amounts.refund } } }),
          timestamp: 1,
        },
        payment_intent_id: "pi_1",
        order_id: null,
      },
    });
    const eur = webhookBody(event("EUR", { amount: 25, captured: 10.1, refunded: 0.5, refund: 0.5 }));
    expect(eur).toContain('"amount":25.00,"capturedAmount":{"currency":"EUR","value":10.10},"refundedAmount":{"currency":"EUR","value":0.50}');
    expect(eur).toContain('"refund":{"id":"re_1","amount":{"currency":"EUR","value":0.50}}');
    expect(JSON.parse(eur)).toEqual(event("EUR", { amount: 25, captured: 10.1, refunded: 0.5, refund: 0.5 }));
    expect(webhookBody(event("JPY", { amount: 1000, captured: 1000, refunded: 0 }))).toContain('"amount":1000,"capturedAmount":{"currency":"JPY","value":1000},"refundedAmount":{"currency":"JPY","value":0}');
    expect(webhookBody(event("KWD", { amount: 7.5, captured: 1.25, refunded: 0 }))).toContain('"amount":7.500,"capturedAmount":{"currency":"KWD","value":1.250},"refundedAmount":{"currency":"KWD","value":0.000}');
    // A string in the payload is never taken for an amount, whatever it holds.
    const tricky = event("EUR", { amount: 25, captured: 0, refunded: 0 }, '"dec123" 10.1 \\"');
    expect(JSON.parse(webhookBody(tricky))).toEqual(tricky);
    // Any other event: byte for byte what JSON.stringify writes.
    const other = { id: "evt_2", type: "payment_intent.succeeded", data: { object: { object: "payment_intent", amount: 2500, currency: "eur", amount_received: 1010 } } };
    expect(webhookBody(other)).toBe(JSON.stringify(other));
    // Signed over the same text, it verifies.
    const headers = await signPayload("evt_1", eur, ["whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0"], Math.floor(Date.now() / 1000));
    expect(() => new Webhook("whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0").verify(eur, { ...headers })).not.toThrow();
  });
});

describe("seed 003: the core's errors in this API's words", () => {
  it("three captures at once: one 200, the others this API's 400 (never the core's Stripe wording), every time the same", async () => {
    const app = await newApplication();
    for (let round = 0; round < 3; round++) {
      const payment = await createPayment(app, MANUAL);
      await customerPays(payment);
      const path = `/payments/${payment.id}/capture`;
      const answers = await Promise.all([0, 1, 2].map(() => send("PUT", path, { app, body: SEED_CAPTURE })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
      for (const refused of answers.filter((a) => a.status !== 200)) {
        expect(refused.text).not.toMatch(/PaymentIntent|succeeded|requires_capture/);
        expect(expectError(refused, 400, path).message).toBe(`Payment ${payment.id} is Confirmed: only an Authorized payment can be captured, and only once.`);
      }
    }
  });

  it("a request retried with its Idempotency-Key (which skips the route's own check) is refused in the same words as the first time", async () => {
    const app = await newApplication();
    const retried = async (method: string, path: string, body?: string) => {
      const headers = { "Idempotency-Key": `seed003-words-${Date.now()}-${Math.random()}` };
      const first = expectError(await send(method, path, { app, body, headers }), 400, path);
      const again = await send(method, path, { app, body, headers });
      expect(again.text).not.toMatch(/PaymentIntent|charge|ch_|succeeded|requires_|status of/);
      expect(expectError(again, 400, path).message).toBe(first.message);
      return first.message;
    };
    // Capture of a payment not paid yet.
    const created = await createPayment(app, MANUAL);
    expect(await retried("PUT", `/payments/${created.id}/capture`, SEED_CAPTURE)).toBe(`Payment ${created.id} is Created: only an Authorized payment can be captured, and only once.`);
    // Refund before capture.
    const authorized = await createPayment(app, MANUAL);
    await customerPays(authorized);
    expect(await retried("POST", `/payments/${authorized.id}/refund`, '{"amount": 1.00}')).toBe(`Payment ${authorized.id} is Authorized: only a Completed or Confirmed payment can be refunded.`);
    // Cancel of a paid payment.
    const completed = await createPayment(app);
    await customerPays(completed);
    expect(await retried("PUT", `/payments/${completed.id}/cancel`)).toBe(`Payment ${completed.id} is Completed: only a Created or Authorized payment can be canceled.`);
    // Refund of more than is left, then of a payment refunded in full.
    expect(await retried("POST", `/payments/${completed.id}/refund`, '{"amount": 25.01}')).toBe(`Invalid request: 'amount' is more than the 25.00 EUR of payment ${completed.id} left to refund.`);
    expect((await send("POST", `/payments/${completed.id}/refund`, { app })).status).toBe(200);
    expect(await retried("POST", `/payments/${completed.id}/refund`, '{"amount": 1.00}')).toBe(`Payment ${completed.id} is Refunded: only a Completed or Confirmed payment can be refunded.`);
    expect(await status(app, created)).toBe("Created");
    expect(await status(app, authorized)).toBe("Authorized");
  });
});

describe("seed 003: server errors", () => {
  it("a provider's failure (the core's 502) is the document's 500, its one server error", () => {
    const err = icligoError({ status: 502, type: "api_error", code: "provider_error", message: "The payment provider failed." }, "/payments/1/capture", 1);
    expect(err).toMatchObject({ status: 500, error: "Internal Server Error", message: "The payment provider failed." });
  });
});

describe("seed 003 paths with a trailing slash", () => {
  it("each route also answers with a trailing slash (Spring matched one until Spring 6); a wrong method is still a 405", async () => {
    const app = await newApplication();
    const created = await send("POST", "/payments/create-payment-intent/", { app, body: MANUAL });
    expect(created.status, created.text).toBe(200);
    const payment = created.json as PaymentDto;
    expect(((await send("GET", `/payments/${payment.id}/`, { app })).json as PaymentDto).id).toBe(payment.id);
    await customerPays(payment);
    const capture = await send("PUT", `/payments/${payment.id}/capture/`, { app, body: SEED_CAPTURE });
    expect(capture.status, capture.text).toBe(200);
    const refund = await send("POST", `/payments/${payment.id}/refund/`, { app, body: '{"amount": 1.00}' });
    expect(refund.status, refund.text).toBe(200);
    expect((refund.json as PaymentDto & { refundedAmount: { value: number } }).refundedAmount.value).toBe(1);
    const other = await createPayment(app);
    const canceled = await send("PUT", `/payments/${other.id}/cancel/`, { app });
    expect(canceled.status, canceled.text).toBe(200);
    expect((canceled.json as PaymentDto).status).toBe("Canceled");
    const wrong = await send("GET", `/payments/${payment.id}/capture/`, { app });
    expectError(wrong, 405, `/payments/${payment.id}/capture/`);
    expect(wrong.headers.get("allow")).toBe("PUT");
    expectError(await send("GET", "/payments/create-payment-intent/", { app }), 405, "/payments/create-payment-intent/");
  });
});
