// A JSON body that names a field twice in one object is refused with a 400 in the surface's format,
// and nothing is made: JSON.parse would keep the last value silently, while a proxy, a signature check
// or a log reading the first would see another amount than the one charged.
import { describe, expect, it } from "vitest";
import { duplicateJsonKey } from "../../src/http/body";
import { get, hsToken, newMerchant, rawCall } from "../helpers";

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

