// The wire format: JSON and Stripe's bracketed form encoding, errors always JSON in Stripe's shape,
// a Request-Id on every response, size limits, and the OpenAPI document.
import { exports } from "cloudflare:workers";
import { STRIPE_ERROR_CODES } from "../../src/core/stripe-error-codes";
import { describe, expect, it } from "vitest";
import { call, expectError, get, KEY_A, newMerchant, post, succeededIntent, type ListJson, type PaymentIntentJson } from "../helpers";

async function raw(method: string, path: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}) {
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { method, headers: { authorization: `Bearer ${KEY_A}`, ...(init.headers ?? {}) }, body: init.body }));
}

describe("form encoding", () => {
  it("nests Stripe's brackets: metadata[key], expand[0], payment_method_data[card][number]", async () => {
    const form =
      "amount=1999&currency=usd&confirm=true&metadata[order]=42&metadata[note]=hello%20world&expand[0]=latest_charge" +
      "&payment_method_data[type]=card&payment_method_data[card][number]=4242424242424242&payment_method_data[card][exp_month]=12&payment_method_data[card][exp_year]=2040";
    const res = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.amount).toBe(1999);
    expect(res.body.metadata).toEqual({ order: "42", note: "hello world" });
    expect(res.body.status).toBe("succeeded");
    expect(typeof res.body.latest_charge).toBe("object");
  });

  it("accepts expand[]= and long arrays (more than qs's default 20)", async () => {
    const expand = Array.from({ length: 2 }, () => "expand[]=latest_charge").join("&");
    const res = await call<PaymentIntentJson>("POST", "/v1/payment_intents", { form: `amount=100&currency=usd&${expand}` });
    expect(res.status).toBe(200);
    const many = Array.from({ length: 30 }, (_, i) => `expand[${i}]=latest_charge`).join("&");
    const tooMany = await call("POST", "/v1/payment_intents", { form: `amount=100&currency=usd&${many}` });
    // Thirty entries stay an array (not an object with numeric keys) and hit our own limit of 20.
    expect(expectError(tooMany, 400).param).toBe("expand");
  });

  it("reports form type errors with the bracketed parameter name", async () => {
    const res = await call("POST", "/v1/payment_intents", { form: "amount=12.5&currency=usd" });
    // Not an integer: Stripe's parameter_invalid_integer (with its doc_url), here and for "abc".
    expect(expectError(res, 400, "parameter_invalid_integer")).toMatchObject({ param: "amount", doc_url: "https://stripe.com/docs/error-codes/parameter-invalid-integer" });
    expect(expectError(await call("POST", "/v1/payment_intents", { form: "amount=abc&currency=usd" }), 400, "parameter_invalid_integer").param).toBe("amount");
    // Out of bounds: Stripe's own codes (clients branch on them).
    expect(expectError(await call("POST", "/v1/payment_intents", { form: "amount=100000000&currency=usd" }), 400, "amount_too_large").param).toBe("amount");
    expect(expectError(await call("POST", "/v1/payment_intents", { form: "amount=0&currency=usd" }), 400, "amount_too_small").param).toBe("amount");
    // Far beyond it (past 2^53 too): still too large, and the message says the maximum, not "expected an integer".
    for (const form of ["amount=100000000000000000000&currency=usd", "amount=9007199254740993&currency=usd"]) {
      expect(expectError(await call("POST", "/v1/payment_intents", { form }), 400, "amount_too_large").message, form).toBe("Invalid amount: must be at most 99999999 minor units");
    }
    expect(expectError(await call("POST", "/v1/payment_intents", { body: { amount: 1e20, currency: "usd" } }), 400, "amount_too_large").message).toContain("at most 99999999");
    const meta = await call("POST", "/v1/payment_intents", { form: `amount=100&currency=usd&metadata[${"k".repeat(41)}]=v` });
    const metaError = expectError(meta, 400, "parameter_invalid");
    expect(metaError.param).toBe(`metadata[${"k".repeat(41)}]`);
    // An enum's refusal names its values as Stripe words it, not the schema library's 'Invalid option: expected one of "a"|"b"'.
    const method = expectError(await call("POST", "/v1/payment_intents", { form: "amount=100&currency=usd&capture_method=bogus" }), 400, "parameter_invalid");
    expect(method).toMatchObject({ param: "capture_method", message: "Invalid capture_method: must be one of automatic, manual, or automatic_async" });
    // In plain words, not the schema library's "Invalid key in record".
    expect(metaError.message).toBe(`Invalid metadata[${"k".repeat(41)}]: keys must be at most 40 characters`);
    for (const [key, why] of [["a[b", "keys must not contain brackets or control characters"]] as const) {
      const res = await call("POST", "/v1/customers", { body: { metadata: { [key]: "v", ok: "v" } } });
      expect(expectError(res, 400, "parameter_invalid").message).toBe(`Invalid metadata[${key}]: ${why}`);
    }
  });
});

describe("a JSON body sent as a form (curl -d '{...}' without -H 'Content-Type: application/json')", () => {
  it("is read as the JSON it is, on /v1 and on seed 002 (it was one form parameter named after the text: 'amount missing')", async () => {
    for (const headers of [{ "content-type": "application/x-www-form-urlencoded" }, {}] as Record<string, string>[]) {
      const res = await exports.default.fetch(
        new Request("http://gateway.test/v1/payment_intents", { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, ...headers }, body: new TextEncoder().encode(' {"amount": 1234, "currency": "usd"}') }),
      );
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(((await res.json()) as { amount: number }).amount).toBe(1234);
    }
    const sale = await raw("POST", "/api/v1/payments/sale", { body: JSON.stringify({ amountCents: 1500, currency: "USD", token: "9418594164541111", expiry: "1239" }), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(sale.status).toBe(201);
    // Still JSON's rules: a malformed one is a 400 saying so.
    const bad = await raw("POST", "/v1/payment_intents", { body: '{"amount": 10', headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  it("seed 002 reads JSON alone: form parameters, or another type, are a 415 naming application/json (not its fields refused one by one)", async () => {
    for (const [body, type] of [["amountCents=5000&currency=USD&token=9418594164541111&expiry=1239", "application/x-www-form-urlencoded"], ["amountCents=5000", ""], ["<sale/>", "application/xml"]]) {
      const res = await raw("POST", "/api/v1/payments/sale", { body, headers: type ? { "content-type": type } : {} });
      expect(res.status, type).toBe(415);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(error.message).toContain("Send a JSON object as application/json.");
      expect(error.message).not.toContain("x-www-form-urlencoded.");
    }
    // /v1 still takes forms.
    expect((await raw("POST", "/v1/payment_intents", { body: "amount=100&currency=usd", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(200);
  });
});

describe("errors", () => {
  it("malformed JSON is a 400 in Stripe's shape", async () => {
    const res = await raw("POST", "/v1/payment_intents", { body: '{"amount": 10', headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.code).toBe("invalid_json");
  });

  it("a JSON number beyond a double's range (1e-400 reads as 0, 1e400 as Infinity) is a 400, never taken as 0", async () => {
    const json = { "content-type": "application/json" };
    for (const body of ['{"frozen_time": 1e-400}', '{"frozen_time": 5E-999}', '{"frozen_time": 1e400}']) {
      const res = await raw("POST", "/v1/test_helpers/test_clocks", { body, headers: json });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_json", message: expect.stringContaining("out of range") });
    }
    // Zero written with any exponent is zero; small and large numbers in range stay numbers.
    const amount = await raw("POST", "/v1/payment_intents", { body: '{"amount": 0e-500, "currency": "usd"}', headers: json });
    expect(amount.status).toBe(400);
    expect(((await amount.json()) as { error: { code: string } }).error.code).toBe("amount_too_small");
    const fine = await raw("POST", "/v1/payment_intents", { body: '{"amount": 1.5e3, "currency": "usd", "metadata": {"tiny": "1e-400"}}', headers: json });
    expect(fine.status).toBe(200);
  });

  it("a JSON number that a double would round to another integer is a 400, never that integer (999.99999999999999 read as 1000)", async () => {
    const json = { "content-type": "application/json" };
    for (const literal of ["999.99999999999999", "1000.00000000000001", "9007199254740993", "1000.000000000000000001e0"]) {
      const res = await raw("POST", "/v1/payment_intents", { body: `{"amount": ${literal}, "currency": "usd"}`, headers: json });
      expect(res.status, literal).toBe(400);
      expect(((await res.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: "invalid_json", param: "amount" });
    }
    // A refund's amount and seed 002's amountCents alike.
    const intent = await raw("POST", "/v1/payment_intents", { body: '{"amount": 2000, "currency": "usd", "confirm": true, "payment_method": "pm_card_visa"}', headers: json });
    const { id } = (await intent.json()) as { id: string };
    expect((await raw("POST", "/v1/refunds", { body: `{"payment_intent": "${id}", "amount": 999.99999999999999}`, headers: json })).status).toBe(400);
    const pos = await raw("POST", "/api/v1/payments/sale", { body: '{"amountCents": 1000.00000000000001, "token": "9418594164549999", "expiry": "1239", "clientRequestId": "r-1"}', headers: json });
    expect(pos.status).toBe(400);
    expect(JSON.stringify(await pos.json())).toContain("cannot be read exactly");
    // Integers written with zeros after the point or an exponent are the integers they write.
    for (const literal of ["1000.00", "1e3", "1.5e3", "100000e-2"]) {
      const ok = await raw("POST", "/v1/payment_intents", { body: `{"amount": ${literal}, "currency": "usd", "description": "4242424242424242 digits"}`, headers: json });
      expect(ok.status, literal).toBe(200);
    }
  });

  it("a JSON array or scalar body is a 400", async () => {
    for (const body of ["[1,2]", "42", '"x"', "null"]) {
      const res = await raw("POST", "/v1/payment_intents", { body, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
    }
  });

  it("a parameter named __proto__ (a metadata key), in JSON or in a form, is a 400, never silently dropped", async () => {
    const json = { "content-type": "application/json" };
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const [body, headers] of [
      ['{"amount":100,"currency":"eur","metadata":{"__proto__":"x","k":"v"}}', json],
      ['{"amount":100,"currency":"eur","__proto__":{"k":"v"}}', json],
      ["amount=100&currency=eur&metadata[__proto__]=x&metadata[k]=v", form],
      ["amount=100&currency=eur&metadata%5B__proto__%5D=x", form],
      ["amount=100&currency=eur&__proto__[k]=v", form],
    ] as const) {
      const res = await raw("POST", "/v1/payment_intents", { body, headers });
      expect(res.status, body).toBe(400);
      const err = ((await res.json()) as { error: { message: string; code: string } }).error;
      expect(err).toMatchObject({ code: "parameter_invalid", message: "A parameter may not be named __proto__ (not even a metadata key)." });
    }
    // A key that only looks like it is kept.
    const ok = await raw("POST", "/v1/payment_intents", { body: "amount=100&currency=eur&metadata[proto]=x&metadata[__proto]=y", headers: form });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { metadata: Record<string, string> }).metadata).toEqual({ proto: "x", __proto: "y" });
  });

  it("a JSON body nested thousands of levels deep is a 400 invalid_json, never a stack overflow (a 500), whatever else it holds", async () => {
    const json = { "content-type": "application/json" };
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    // Each of these made a check after parsing walk the value recursively: a __proto__ anywhere, a
    // 3-digit exponent (even in a string), a 16-digit number.
    for (const body of [
      `{"amount":100,"currency":"usd","x":"__proto__","y":${deep(20_000)}}`,
      `{"amount":100,"currency":"usd","x":"1e400","y":${deep(20_000)}}`,
      `{"amount":1000000000000000,"currency":"usd","y":${deep(20_000)}}`,
      `{"amount":100,"currency":"usd","metadata":{"k":${deep(33)}}}`,
    ]) {
      const res = await raw("POST", "/v1/payment_intents", { body, headers: json });
      expect(res.status, body.slice(0, 60)).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_json", message: "The JSON request body nests objects or arrays more than 32 levels deep." });
    }
    // Brackets inside strings are text, not depth.
    const ok = await raw("POST", "/v1/payment_intents", { body: `{"amount":100,"currency":"usd","description":${JSON.stringify("[{".repeat(100))}}`, headers: json });
    expect(ok.status).toBe(200);
  });

  it("a payment method or card token named after an Object property (__proto__, constructor, toString) is an unknown one, a 400, never a 500", async () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
      const created = await post("/v1/payment_intents", { amount: 777, currency: "usd", payment_method: name, confirm: true });
      expect(created.status, `${name}: ${JSON.stringify(created.body)}`).toBe(400);
      const method = await post("/v1/payment_methods", { type: "card", "card[token]": name });
      expect(method.status, `${name}: ${JSON.stringify(method.body)}`).toBe(400);
    }
  });

  it("missing and unknown parameters are named", async () => {
    expect(expectError(await post("/v1/payment_intents", { currency: "usd" }), 400, "parameter_missing").param).toBe("amount");
    expect(expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd", colour: "red" }), 400, "parameter_unknown").param).toBe("colour");
    expect(expectError(await post("/v1/payment_intents", { amount: 100, currency: "xyz" }), 400).param).toBe("currency");
  });

  it("more parameters than the limit is a 400, never a request cut short (everything after the 2000th '&' was dropped, and a refund of 1 cent refunded it all)", async () => {
    const pi = await succeededIntent(5000);
    const padding = "&".repeat(2000);
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const refund = await raw("POST", "/v1/refunds", { body: `payment_intent=${pi.id}${padding}amount=1`, headers: form });
    expect(refund.status).toBe(400);
    expect(((await refund.json()) as { error: { code: string; type: string } }).error).toMatchObject({ type: "invalid_request_error", code: "parameters_exceeded" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
    const list = await raw("GET", `/v1/payment_intents?limit=1${padding}customer=cus_nobody`);
    expect(list.status).toBe(400);
    await list.body?.cancel();
    // An array over 1,000 elements too (it became an object before).
    const expand = Array.from({ length: 1002 }, (_, i) => `expand[${i}]=customer`).join("&");
    const arrayed = await raw("GET", `/v1/payment_intents/${pi.id}?${expand}`);
    expect(arrayed.status).toBe(400);
    await arrayed.body?.cancel();
    // Within the limits, form bodies work as before.
    const ok = await raw("POST", "/v1/refunds", { body: `payment_intent=${pi.id}&amount=1`, headers: form });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it("a parameter name with text after a ']' (which qs would drop: metadata[1]xyz read as metadata[1]) is a 400 naming it, in a body or a query, and changes nothing", async () => {
    const { key, opts } = await newMerchant("wire-bracket-tail");
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const body of ["email=a@example.com&metadata[plan]x=gold", "email=a@example.com&metadata%5Bplan%5Dx=gold", "email=a@example.com&shipping[name]first=Jo"]) {
      const res = await raw("POST", "/v1/customers", { body, headers: { ...form, authorization: `Bearer ${key}` } });
      expect(res.status, body).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("parameter_invalid");
      expect(error.message).toContain("after a ']'");
    }
    expect((await get<ListJson<unknown>>("/v1/customers", opts)).body.data).toEqual([]);
    const listed = await raw("GET", "/v1/customers?limit=1&created[gte]x=5", { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(400);
    await listed.body?.cancel();
    // Brackets as Stripe's clients send them, plain or escaped, are read as before.
    const ok = await raw("POST", "/v1/customers", { body: "email=b@example.com&metadata%5Bplan%5D=gold&metadata[tier]=1", headers: { ...form, authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { metadata: Record<string, string> }).metadata).toEqual({ plan: "gold", tier: "1" });
  });

  it("bodies over 64 KiB are refused with 413 before they are read", async () => {
    const big = JSON.stringify({ amount: 100, currency: "usd", description: "x".repeat(70 * 1024) });
    const res = await raw("POST", "/v1/payment_intents", { body: big, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("request_too_large");
  });

  it("unsupported content types are a 415", async () => {
    const res = await raw("POST", "/v1/payment_intents", { body: "<xml/>", headers: { "content-type": "application/xml" } });
    expect(res.status).toBe(415);
  });

  it("unknown routes answer JSON 404, in Stripe's words", async () => {
    const res = await get("/v1/unicorns");
    const err = expectError(res, 404);
    expect(err.message).toBe("Unrecognized request URL (GET: /v1/unicorns). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");
    expect(err.type).toBe("invalid_request_error");
    // No code, so no doc_url (as Stripe's).
    expect(err.code).toBeUndefined();
    expect("doc_url" in err).toBe(false);
    const deleted = await call("DELETE", "/v1/payment_intents");
    expect(deleted.status).toBe(404);
    expect(expectError(deleted, 404).message).toBe("Unrecognized request URL (DELETE: /v1/payment_intents). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");
  });

  it("an error with a code carries Stripe's doc_url (the code, _ as -); one without a code has none", async () => {
    const missing = expectError(await get("/v1/payment_intents/pi_nope"), 404, "resource_missing");
    expect(missing.doc_url).toBe("https://stripe.com/docs/error-codes/resource-missing");
    const invalid = expectError(await post("/v1/payment_intents", { amount: -1, currency: "usd" }), 400);
    expect(invalid.code).toBeTypeOf("string");
    expect(invalid.doc_url).toBe(`https://stripe.com/docs/error-codes/${(invalid.code ?? "").replaceAll("_", "-")}`);
    const declined = expectError(await post("/v1/payment_intents", { amount: 1000, currency: "usd", confirm: true, payment_method: "pm_card_chargeDeclined" }), 402, "card_declined");
    expect(declined.doc_url).toBe("https://stripe.com/docs/error-codes/card-declined");
    expect(declined.decline_code).toBe("generic_decline");
    // An error from the route table's handler (an unknown parameter) and one from the app's (a missing key) alike.
    const unknownParam = expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd", colour: "red" }), 400, "parameter_unknown");
    expect(unknownParam.doc_url).toBe("https://stripe.com/docs/error-codes/parameter-unknown");
    const unauth = expectError(await get("/v1/payment_intents", { key: null }), 401);
    if (unauth.code === undefined || !STRIPE_ERROR_CODES.has(unauth.code)) expect("doc_url" in unauth).toBe(false);
    else expect(unauth.doc_url).toBe(`https://stripe.com/docs/error-codes/${unauth.code.replaceAll("_", "-")}`);
    // A code of the gateway's own has no page at Stripe: no doc_url.
    const unbounded = expectError(await get("/v1/payment_intents/search?query=" + encodeURIComponent("currency:'usd'")), 400, "search_query_unbounded");
    expect("doc_url" in unbounded).toBe(false);
    // The decline kept on the intent carries it too, as Stripe's last_payment_error does.
    const intent = (await post<{ error: { payment_intent: { last_payment_error: { code: string; doc_url?: string } } } }>("/v1/payment_intents", { amount: 1000, currency: "usd", confirm: true, payment_method: "pm_card_chargeDeclined" })).body.error.payment_intent;
    expect(intent.last_payment_error).toMatchObject({ code: "card_declined", doc_url: "https://stripe.com/docs/error-codes/card-declined" });
  });
});

describe("request ids", () => {
  it("every response, errors included, carries a Request-Id", async () => {
    const ok = await get("/v1/payment_intents?limit=1");
    expect(ok.headers.get("request-id")).toMatch(/^req_/);
    const bad = await get("/v1/payment_intents/nope");
    expect(bad.headers.get("request-id")).toMatch(/^req_/);
    const unauth = await get("/v1/payment_intents", { key: null });
    expect(unauth.headers.get("request-id")).toMatch(/^req_/);
  });

  it("an error's body names its request (request_id), on the routes whose Idempotency-Key is kept in D1 too", async () => {
    for (const [path, body] of [
      ["/v1/payment_intents/nope", null],
      ["/v1/prices", { product: "prod_nopeNopeNope", currency: "usd", unit_amount: 100 }],
      ["/v1/customers/cus_nopeNopeNope", { name: "x" }],
    ] as const) {
      // With an Idempotency-Key, as stripe-node sends one on every POST: the refusal is the key's stored answer.
      const res = body === null ? await get(path) : await post(path, body, { idempotencyKey: `request-id-${path}-${Date.now()}` });
      const error = (res.body as { error?: { request_id?: string } }).error;
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(error?.request_id, path).toBe(res.headers.get("request-id"));
    }
  });

  it("echoes a caller's X-Request-Id, and ignores an unsafe one", async () => {
    const res = await get("/v1/payment_intents?limit=1", { headers: { "x-request-id": "trace-abc.123" } });
    expect(res.headers.get("request-id")).toBe("trace-abc.123");
    const unsafe = await get("/v1/payment_intents?limit=1", { headers: { "x-request-id": "bad id <script>" } });
    expect(unsafe.headers.get("request-id")).toMatch(/^req_/);
  });

  it("sets security headers", async () => {
    const res = await get("/v1/payment_intents?limit=1");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("GET /openapi.json", () => {
  it("is generated from the route schemas", async () => {
    const res = await exports.default.fetch("http://gateway.test/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/payment_intents",
      "/v1/payment_intents/{id}",
      "/v1/payment_intents/{id}/confirm",
      "/v1/payment_intents/{id}/capture",
      "/v1/payment_intents/{id}/cancel",
      "/v1/payment_intents/search",
      "/v1/refunds",
      "/v1/refunds/{id}",
      "/v1/charges",
      "/v1/charges/{id}",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["PaymentIntent", "Refund", "Charge", "Error"]));
    const create = doc.paths["/v1/payment_intents"]?.post as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(create.requestBody.content)).toEqual(expect.arrayContaining(["application/json", "application/x-www-form-urlencoded"]));
  });
});
