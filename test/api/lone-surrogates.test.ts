// A JSON string that writes half of a surrogate pair alone ("\ud800") is valid JSON but no Unicode
// text. Kept, it was answered and put in the event as sent, while D1 stored it as three U+FFFD: the
// customer's list said "zz���zz" where its create's answer and its webhook said "zz\ud800zz". Refused
// with a 400 in each surface's format, and nothing is made; a whole pair (an emoji) and a backslash
// written before "ud800" are text, and kept as sent.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, get, hsToken, newApplication, newMerchant, rawCall } from "../helpers";

const made = async (merchantId: string, table: "payment_intents" | "customers") =>
  (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE merchant_id = ?`).bind(merchantId).first<{ n: number }>())?.n;

describe("half of a surrogate pair alone in a JSON body", () => {
  it("is a 400 invalid_json on /v1, in a value, a metadata value or a key, and nothing is made", async () => {
    const m = await newMerchant("lone-surrogate");
    const auth = { authorization: `Bearer ${m.key}` };
    for (const [path, body] of [
      ["/v1/customers", '{"description":"zz\\ud800zz"}'],
      ["/v1/customers", '{"name":"\\uDFFF"}'],
      ["/v1/payment_intents", '{"amount":100,"currency":"usd","metadata":{"a":"\\udc00"}}'],
      ["/v1/payment_intents", '{"amount":100,"currency":"usd","metadata":{"k\\ud83d":"v"}}'],
      ["/v1/payment_intents", '{"amount":100,"currency":"usd","description":"\\ude00\\ud83d"}'],
    ] as const) {
      const res = await rawCall("POST", path, auth, body);
      expect(res.status, `${body}: ${res.text}`).toBe(400);
      expect((res.json as { error: { type: string; code: string; message: string } }).error, body).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
      expect(res.text, body).toContain("surrogate");
    }
    expect(await made(m.id, "customers")).toBe(0);
    expect(await made(m.id, "payment_intents")).toBe(0);
  });

  it("a whole pair and an escaped backslash are kept as sent, and read back the same from the list", async () => {
    const m = await newMerchant("whole-pair");
    const auth = { authorization: `Bearer ${m.key}` };
    const res = await rawCall("POST", "/v1/customers", auth, '{"description":"pay \\ud83d\\ude00","name":"\\\\ud800","metadata":{"e":"\\uD83D\\uDE00"}}');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ description: "pay \u{1F600}", name: "\\ud800", metadata: { e: "\u{1F600}" } });
    const listed = await get<{ data: { description: string; name: string; metadata: Record<string, string> }[] }>("/v1/customers", m.opts);
    expect(listed.body.data[0]).toMatchObject({ description: "pay \u{1F600}", name: "\\ud800", metadata: { e: "\u{1F600}" } });
  });

  it("is a 400 on seeds 000, 002, 003 and 004 too, in each one's format, and nothing is made", async () => {
    const m = await newMerchant("lone-surrogate-seeds");
    const token = await hsToken({ roles: ["merchant"], sub: "lone-user", merchant: m.id });
    const app = await newApplication(m.opts);
    const seed000 = await rawCall("POST", "/api/v1/PaymentIntents", { authorization: `Bearer ${token}` }, '{"amount":10,"currency":"EUR","description":"\\ud800"}');
    expect(seed000.status, seed000.text).toBe(400);
    expect(seed000.headers.get("content-type")).toContain("application/problem+json");
    expect(seed000.text).toContain("surrogate");

    const pos = await rawCall("POST", "/api/v1/payments/sale", { authorization: `Bearer ${m.key}` }, '{"amountCents":5000,"currency":"USD","token":"9418594164541111","expiry":"1239","description":"\\ud800"}');
    expect(pos.status, pos.text).toBe(400);
    expect((pos.json as { error: { code: string; message: string } }).error.message).toContain("surrogate");

    const icligo = await rawCall(
      "POST",
      "/payments/create-payment-intent",
      { "X-Application-Id": app.appId, "X-Access-Token": app.token },
      '{"userId":"u1","productId":"p1","currency":"EUR","amount":9.0,"description":"\\udbff"}',
    );
    expect(icligo.status, icligo.text).toBe(400);
    expect(icligo.text).toContain("surrogate");

    const seed004 = await rawCall("POST", "/api/v1/payments/stripe/create-payment-intent/", { authorization: `Bearer ${m.key}` }, '{"amount":10,"currency":"usd","description":"\\ud800"}');
    expect(seed004.status, seed004.text).toBe(400);
    expect((seed004.json as { error: string }).error).toContain("surrogate");

    expect(await made(m.id, "payment_intents")).toBe(0);
  });
});

describe("percent-escapes that write no UTF-8 text in a form body or a query string", () => {
  it("are a 400 parameter_invalid, and nothing is made (before, the parameter was stored unread: 'a%00b%FF', escapes and all)", async () => {
    const m = await newMerchant("bad-escapes");
    for (const form of ["description=a%00b%ED%A0%80", "name=%FF", "metadata[k]=%C3", "metadata[%FF]=v", "metadata[1]%FF=v", "description=%E2%82"]) {
      const res = await call<{ error: { type: string; code: string; message: string } }>("POST", "/v1/customers", { ...m.opts, form });
      expect(res.status, form).toBe(400);
      expect(res.body.error, form).toMatchObject({ type: "invalid_request_error", code: "parameter_invalid" });
      expect(res.body.error.message, form).toContain("UTF-8");
    }
    expect(await made(m.id, "customers")).toBe(0);
    const listed = await call<{ error: { code: string } }>("GET", "/v1/customers?email=%FF", m.opts);
    expect(listed.status).toBe(400);
    expect(listed.body.error.code).toBe("parameter_invalid");
  });

  it("UTF-8 escapes are read, and a % that starts no escape is taken as written (curl -d 'description=50% off')", async () => {
    const m = await newMerchant("good-escapes");
    const made1 = await call<{ description: string; name: string }>("POST", "/v1/customers", { ...m.opts, form: "description=50% off&name=caf%C3%A9+%F0%9F%98%80%00" });
    expect(made1.status).toBe(200);
    expect(made1.body).toMatchObject({ description: "50% off", name: "caf\u00e9 \u{1F600}\u0000" });
  });
});
