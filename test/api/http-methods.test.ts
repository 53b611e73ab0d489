// A wrong method on a path a surface serves is a 405 in that surface's format, naming the methods the
// path takes in `Allow` (seed 002's POS routes and seed 004's backend routes, as seed 000 and iCliGo
// already answer); an unknown path is still a 404. A path under /api/ that no surface serves is a 404
// in the /api/v1 surfaces' format, not /v1's (whose message points at Stripe's documentation).
import { describe, expect, it } from "vitest";
import { call, get, newMerchant } from "../helpers";

describe("HTTP methods and unknown paths on the /api/v1 surfaces", () => {
  it("seed 002: 405 with Allow for a path it serves, in its own format; nothing is made", async () => {
    const m = await newMerchant("methods-pos");
    const sale = await call<{ error: { code: string; message: string } }>("DELETE", "/api/v1/payments/sale", m.opts);
    expect(sale.status).toBe(405);
    expect(sale.headers.get("Allow")).toBe("POST");
    expect(sale.body.error.code).toBe("METHOD_NOT_ALLOWED");
    expect(sale.body.error.message).toContain("use POST");
    // A path two routes serve (save a card, list the cards): both named, HEAD with GET.
    const cards = await call<{ error: { code: string } }>("PUT", "/api/v1/customers/cust-1/payment-methods", m.opts);
    expect(cards.status).toBe(405);
    expect(cards.headers.get("Allow")).toBe("POST, GET, HEAD");
    // A path it does not serve: 404, as before.
    const unknown = await call<{ error: { code: string } }>("DELETE", "/api/v1/payments/pi_x/nothing", m.opts);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
    expect(unknown.headers.get("Allow")).toBeNull();
    expect((await get<{ data: unknown[] }>("/v1/payment_intents", m.opts)).body.data).toEqual([]);
  });

  it("seed 004: 405 with Allow for its endpoints, with or without the trailing slash, in its own format", async () => {
    const m = await newMerchant("methods-backend");
    for (const path of ["/api/v1/payments/stripe/create-payment-intent/", "/api/v1/payments/stripe/create-payment-intent"]) {
      const res = await call<{ error: string }>("GET", path, m.opts);
      expect(res.status, path).toBe(405);
      expect(res.headers.get("Allow")).toBe("POST");
      expect(typeof res.body.error).toBe("string");
      expect(res.body.error).toContain("use POST");
    }
    const unknown = await call<{ error: string }>("POST", "/api/v1/payments/stripe/nothing-here/", m.opts);
    expect(unknown.status).toBe(404);
    expect(typeof unknown.body.error).toBe("string");
  });

  it("a path under /api/ that no surface serves: a JSON 404 in the /api/v1 format, not /v1's pointer to Stripe", async () => {
    for (const path of ["/api/v1/nope", "/api", "/api/v2/payments", "/api/v1//PaymentIntents/13"]) {
      const res = await call<{ error: { code: string; message: string } }>("GET", path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(res.body.error.code, path).toBe("NOT_FOUND");
      expect(JSON.stringify(res.body)).not.toContain("stripe.com");
    }
    // /v1 keeps Stripe's answer.
    const v1 = await call<{ error: { message: string } }>("GET", "/v1/unicorns");
    expect(v1.body.error.message).toContain("Unrecognized request URL");
  });

  it("a 401 names its challenge (WWW-Authenticate: Bearer) on /v1, seed 002 and seed 004, as on seed 000", async () => {
    const answers = [
      await call("GET", "/v1/payment_intents", { key: null }),
      await call("POST", "/v1/payment_intents", { key: "sk_test_nobody_at_all", body: { amount: 100, currency: "usd" } }),
      await call("GET", "/api/v1/payments/transactions", { key: null }),
      await call("POST", "/api/v1/payments/stripe/create-payment-intent/", { key: null, body: { amount: 1, currency: "usd" } }),
      await call("GET", "/api/v1/PaymentIntents", { key: null }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    }
  });
});

