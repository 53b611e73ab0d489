// A JSON body that names a field twice in one object is refused with a 400 in the surface's format,
// and nothing is made: JSON.parse would keep the last value silently, while a proxy, a signature check
// or a log reading the first would see another amount than the one charged.
import { describe, expect, it } from "vitest";
import { duplicateJsonKey } from "../../src/http/body";
import { env } from "cloudflare:workers";
import { get, hsToken, newApplication, newMerchant, rawCall } from "../helpers";

describe("a field named twice in a JSON body", () => {
  it("is found at any depth, escaped or not, and only within one object", () => {
    expect(duplicateJsonKey('{"amount":100,"currency":"usd","amount":1}')).toBe("amount");
    expect(duplicateJsonKey('{"metadata":{"k":"1","k":"2"}}')).toBe("k");
    expect(duplicateJsonKey('{"amount":100,"\\u0061mount":1}')).toBe("amount");
    expect(duplicateJsonKey('{"items":[{"id":"a"},{"id":"b"}],"x":{"id":"c"},"id":"d"}')).toBeNull();
    expect(duplicateJsonKey('{"a":"\\"a\\":1,","b":["a","a"],"c":{"a":1}}')).toBeNull();
    expect(duplicateJsonKey('[{"a":1},{"a":2}]')).toBeNull();
  });

  it("is a 400 on /v1, seed 000, seed 002 and seed 004, and nothing is made", async () => {
    const m = await newMerchant("dup-keys");
    const auth = { authorization: `Bearer ${m.key}` };
    const v1 = await rawCall("POST", "/v1/payment_intents", auth, '{"amount":100,"currency":"usd","amount":1}');
    expect(v1.status, v1.text).toBe(400);
    expect((v1.json as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_json" });
    expect(v1.text).toContain("'amount' twice");

    const token = await hsToken({ roles: ["merchant"], sub: "dup-user", merchant: m.id });
    const seed000 = await rawCall("POST", "/api/v1/PaymentIntents", { authorization: `Bearer ${token}` }, '{"amount":99.99,"currency":"EUR","paymentGatewayId":1,"amount":0.01}');
    expect(seed000.status, seed000.text).toBe(400);
    expect(seed000.headers.get("content-type")).toContain("application/problem+json");

    const pos = await rawCall("POST", "/api/v1/payments/sale", auth, '{"amountCents":5000,"currency":"USD","token":"9418594164541111","expiry":"1239","amountCents":1}');
    expect(pos.status, pos.text).toBe(400);
    expect((pos.json as { error: { code: string } }).error.code).toBe("VALIDATION_ERROR");

    const seed004 = await rawCall("POST", "/api/v1/payments/stripe/create-payment-intent/", auth, '{"amount":10,"currency":"usd","amount":0.5}');
    expect(seed004.status, seed004.text).toBe(400);
    expect(typeof (seed004.json as { error: unknown }).error).toBe("string");

    expect((await get<{ data: unknown[] }>("/v1/payment_intents", m.opts)).body.data).toEqual([]);
    // The same bodies with each field once are served.
    expect((await rawCall("POST", "/v1/payment_intents", auth, '{"amount":100,"currency":"usd"}')).status).toBe(200);
  });

  it("seed 000: a field named twice in different cases (amount and Amount) is a 400, and nothing is made", async () => {
    const m = await newMerchant("dup-case");
    const token = await hsToken({ roles: ["merchant"], sub: "dup-case-user", merchant: m.id });
    const auth = { authorization: `Bearer ${token}` };
    for (const body of ['{"amount":10,"currency":"EUR","Amount":11}', '{"amount":10,"currency":"EUR","CURRENCY":"JPY"}', '{"AMOUNT":10,"Amount":11,"currency":"EUR"}']) {
      const res = await rawCall("POST", "/api/v1/PaymentIntents", auth, body);
      expect(res.status, body).toBe(400);
      expect(res.headers.get("content-type"), body).toContain("application/problem+json");
      expect(res.text, body).toContain("twice");
    }
    // A number written as a string is read only as the digits alone, as System.Text.Json reads it.
    const padded = await rawCall("POST", "/api/v1/PaymentIntents", auth, '{"amount":" 10","currency":"EUR"}');
    expect(padded.status, padded.text).toBe(400);
    expect((await get<{ data: unknown[] }>("/v1/payment_intents", m.opts)).body.data).toEqual([]);
    // One spelling of each, in any case, is served.
    const served = await rawCall("POST", "/api/v1/PaymentIntents", auth, '{"Amount":"10.00","CURRENCY":"EUR"}');
    expect(served.status, served.text).toBe(201);
  });

  it("nesting deeper than 32 levels, or a key named __proto__, is a 400 on seeds 000, 003 and 004 too, and nothing is made", async () => {
    const m = await newMerchant("deep-json");
    const token = await hsToken({ roles: ["merchant"], sub: "deep-user", merchant: m.id });
    const app = await newApplication(m.opts);
    const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    const surfaces: { path: string; headers: Record<string, string>; body: (extra: string) => string }[] = [
      { path: "/api/v1/PaymentIntents", headers: { authorization: `Bearer ${token}` }, body: (extra) => `{"amount":10,"currency":"EUR",${extra}}` },
      {
        path: "/payments/create-payment-intent",
        headers: { "X-Application-Id": app.appId, "X-Access-Token": app.token },
        body: (extra) => `{"userId":"u1","productId":"p1","currency":"EUR","amount":9.0,${extra}}`,
      },
      { path: "/api/v1/payments/stripe/create-payment-intent/", headers: { authorization: `Bearer ${m.key}` }, body: (extra) => `{"amount":10,"currency":"usd",${extra}}` },
    ];
    const made = async () => (await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?").bind(m.id).first<{ n: number }>())?.n;
    for (const s of surfaces) {
      const before = await made();
      for (const [label, extra, says] of [
        ["200 levels", `"x":${deep(200)}`, "32 levels"],
        ["5000 levels", `"x":${deep(5000)}`, "32 levels"],
        ["__proto__ in metadata", '"metadata":{"__proto__":"x","k":"v"}', "__proto__"],
        ["__proto__ at the top", '"__proto__":{"admin":true}', "__proto__"],
      ] as const) {
        const res = await rawCall("POST", s.path, s.headers, s.body(extra));
        expect(res.status, `${s.path} ${label}: ${res.text}`).toBe(400);
        expect(res.text, `${s.path} ${label}`).toContain(says);
      }
      expect(await made(), s.path).toBe(before);
      // Malformed JSON (escapes a key cannot hold, cut short) is a 400 as before, never a 500.
      for (const bad of ['{"\\q":1}', '{"a\\', '{"amount":1,"\\x']) {
        const res = await rawCall("POST", s.path, s.headers, bad);
        expect(res.status, `${s.path} ${bad}: ${res.text}`).toBe(400);
      }
      // 32 levels are read (and the body then served or refused for its fields, never for its depth).
      const fine = await rawCall("POST", s.path, s.headers, s.body(`"x":${deep(31)}`));
      expect(fine.text, s.path).not.toContain("32 levels");
    }
  });

  it("seed 000: a body that is not a JSON object (a number too) is said to be one, whatever it holds", async () => {
    const m = await newMerchant("not-object");
    const token = await hsToken({ roles: ["merchant"], sub: "not-object-user", merchant: m.id });
    for (const body of ["42", '"x"', "null", "[]", "4.5"]) {
      const res = await rawCall("POST", "/api/v1/PaymentIntents", { authorization: `Bearer ${token}` }, body);
      expect(res.status, body).toBe(400);
      expect(res.text, body).toContain("must be a JSON object");
    }
  });
});

