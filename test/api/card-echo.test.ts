// A card number a client sends where the gateway wants a token or an id is never quoted back: error
// messages that name what was sent show it as [card] on every surface (answers are commonly logged).
import { describe, expect, it } from "vitest";
import { get, newApplication, newMerchant, post, rawCall } from "../helpers";

const PAN = "4242424242424242";

describe("a card number sent as a payment method", () => {
  it("is refused without being echoed, on /v1, seed 002 and seed 004", async () => {
    const { opts } = await newMerchant("card-echo");
    const answers = [
      await post("/v1/payment_intents", { amount: 100, currency: "usd", payment_method: PAN, confirm: true }, opts),
      await post("/v1/payment_intents", { amount: 100, currency: "usd", payment_method: "4242 4242 4242 4242", confirm: true }, opts),
      await post("/api/v1/payments/sale", { amountCents: 100, currency: "USD", token: PAN, expiry: "1239" }, opts),
      await post("/api/v1/payments/stripe/create-payment-intent/", { amount: 1, currency: "usd", payment_method: PAN }, opts),
      // Where the surfaces quote an id they could not find.
      await post("/api/v1/payments/sale", { amountCents: 100, currency: "USD", paymentMethodId: PAN }, opts),
      await post("/api/v1/payments/stripe/retrieve-payment/", { payment_intent_id: PAN }, opts),
      // One digit off a card (it fails the Luhn check), and a card written with dots.
      await post("/v1/payment_intents", { amount: 100, currency: "usd", payment_method: "4539578763621487", confirm: true }, opts),
      await post("/api/v1/payments/stripe/create-payment-intent/", { amount: 1, currency: "usd", payment_method: "4012.8888.8888.1881" }, opts),
    ];
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/4242\s?4242\s?4242\s?4242|4539578763621487|4012\.8888/);
      expect(text).toContain("[card]");
    }
  });

  it("a decimal's long fraction is no card: an amount quoted back stays as it was sent", async () => {
    const { opts } = await newMerchant("fraction-echo");
    const seed004 = await post<{ error: string }>("/api/v1/payments/stripe/create-payment-intent/", { amount: 0.30000000000000004, currency: "usd" }, opts);
    expect(seed004.status).toBe(400);
    expect(seed004.body.error).toBe("Amount 0.30000000000000004 has more decimal places than USD allows (2).");
    // A card written after a decimal point's digits is still one when it stands apart.
    const after = await post("/v1/payment_intents", { amount: 100, currency: "usd", payment_method: "1.5 4242424242424242", confirm: true }, opts);
    expect(JSON.stringify(after.body)).not.toContain("4242424242424242");
  });

  it("an idempotency key that is no card number (a timestamp after a digit, a UUID) is quoted back as sent", async () => {
    const { opts } = await newMerchant("key-echo");
    for (const key of [`k2-${Date.UTC(2026, 11, 6)}`, "be904df8-972a-43e3-9de2-123456789012"]) {
      expect((await post("/v1/customers", { name: "a" }, { ...opts, idempotencyKey: key })).status).toBe(200);
      const reused = await post<{ error: { message: string } }>("/v1/customers", { name: "b" }, { ...opts, idempotencyKey: key });
      expect(reused.status).toBe(400);
      expect(reused.body.error.message).toContain(`'${key}'`);
    }
    // One holding a card number, grouped as people write them, is not.
    const carded = "order-4242 4242-4242 4242";
    expect((await post("/v1/customers", { name: "a" }, { ...opts, idempotencyKey: carded })).status).toBe(200);
    const reused = await post<{ error: { message: string } }>("/v1/customers", { name: "b" }, { ...opts, idempotencyKey: carded });
    expect(reused.body.error.message).toContain("'order-[card]'");
  });

  it("what is kept stays masked for any grouping: an event's idempotency key and a request id; a card after '1,' is masked in a message too", async () => {
    const { opts } = await newMerchant("kept-masked");
    for (const key of ["1,4111111111111111", "42424242 42424242"]) {
      const res = await post<{ id: string }>("/v1/payment_intents", { amount: 100, currency: "usd" }, { ...opts, idempotencyKey: key });
      expect(res.status).toBe(200);
      const events = await get<{ data: { request: { idempotency_key: string | null } }[] }>(`/v1/events?limit=1`, opts);
      const kept = events.body.data[0]?.request.idempotency_key ?? "";
      expect(kept).toContain("[card]");
      expect(kept).not.toMatch(/4111111111111111|42424242 42424242/);
    }
    const withId = await post("/v1/customers", { name: "a" }, { ...opts, headers: { "x-request-id": "r1.4111111111111111" } });
    expect(withId.headers.get("request-id")).toMatch(/^req_/);
    const expand = await get<{ error: { message: string } }>("/v1/payment_intents?expand[]=1,4111111111111111", opts);
    expect(expand.status).toBe(400);
    expect(expand.body.error.message).not.toContain("4111111111111111");
    expect(expand.body.error.message).toContain("1,[card]");
  });

  it("a client_secret sent as a payment method is said to be one, never quoted back, on /v1 and seed 004", async () => {
    const { opts } = await newMerchant("secret-echo");
    const pi = (await post<{ id: string; client_secret: string }>("/v1/payment_intents", { amount: 100, currency: "usd" }, opts)).body;
    const answers = [
      await post(`/v1/payment_intents/${pi.id}/confirm`, { payment_method: pi.client_secret }, opts),
      await post("/api/v1/payments/stripe/confirm-payment/", { payment_intent_id: pi.id, payment_method: pi.client_secret }, opts),
    ];
    const secretPart = pi.client_secret.split("_secret_")[1] as string;
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(secretPart);
      expect(text).toContain("A client_secret is not a payment method");
    }
  });

  it("a card number in a path no route serves is not quoted back: /v1's 404 message, iCliGo's path field", async () => {
    const m = await newMerchant("card-path");
    const app = await newApplication(m.opts);
    const v1 = await rawCall("GET", `/v1/${PAN}`, { authorization: `Bearer ${m.key}` });
    expect(v1.status).toBe(404);
    expect((v1.json as { error: { message: string } }).error.message).toBe("Unrecognized request URL (GET: /v1/[card]). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");
    const icligo = await rawCall("GET", `/payments/${PAN}/x`, { "X-Application-Id": app.appId, "X-Access-Token": app.token });
    expect(icligo.status).toBe(404);
    expect(icligo.json).toMatchObject({ status: 404, path: "/payments/[card]/x" });
    for (const res of [v1, icligo]) expect(res.text).not.toContain(PAN);
    // A path with no card in it is quoted as sent.
    expect((await rawCall("GET", "/v1/nope/123", { authorization: `Bearer ${m.key}` })).text).toContain("(GET: /v1/nope/123)");
  });
});
