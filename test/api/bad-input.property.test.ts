// Bad input, property-based: whatever a client sends, the answer is a 4xx in Stripe's error shape,
// never a 500, and nothing is stored.
import { exports, env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { isKnownCurrency, MAX_AMOUNT } from "../../src/core/money";
import { authorizedIntent, get, post, seedMerchant, type PaymentIntentJson } from "../helpers";

const KEY = "sk_test_bad_input_merchant";
const MERCHANT = "acct_bad_input";

beforeAll(async () => {
  await seedMerchant(MERCHANT, "Bad input", "key_bad_input", KEY, false);
});

async function send(method: string, path: string, body: string, contentType: string) {
  const res = await exports.default.fetch(
    new Request(`http://gateway.test${path}`, { method, headers: { authorization: `Bearer ${KEY}`, "content-type": contentType }, body }),
  );
  const text = await res.text();
  return { status: res.status, text };
}

function expectClientError(res: { status: number; text: string }): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  const body = JSON.parse(res.text) as { error?: { type?: unknown; message?: unknown } };
  expect(typeof body.error?.type).toBe("string");
  expect(typeof body.error?.message).toBe("string");
}

async function storedIntents(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?").bind(MERCHANT).first<{ n: number }>();
  return row?.n ?? 0;
}

const badAmount = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: MAX_AMOUNT + 1 }),
  fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, 1e300, -0.5, 0.1),
  fc.constantFrom("1e3", "12.5", "-1", "abc", "", " 100", "0x10", "١٠٠", "100000000000000000000000"),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const unknownCurrency = fc.string({ minLength: 0, maxLength: 6 }).filter((s) => !isKnownCurrency(s));

describe("bad input never reaches storage (property)", () => {
  it("random JSON values as the body of a create", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        fc.pre(!(value && typeof value === "object" && !Array.isArray(value) && "amount" in value && "currency" in value));
        expectClientError(await send("POST", "/v1/payment_intents", JSON.stringify(value), "application/json"));
      }),
      { numRuns: 60 },
    );
  });

  it("random text as JSON and as a form", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.constantFrom("application/json", "application/x-www-form-urlencoded"), async (text, type) => {
        fc.pre(!(text.includes("amount") && text.includes("currency")));
        const res = await send("POST", "/v1/payment_intents", text, type);
        expectClientError(res);
      }),
      { numRuns: 80 },
    );
  });

  it("wrong, huge, negative and fractional amounts", async () => {
    await fc.assert(
      fc.asyncProperty(badAmount, fc.constantFrom("usd", "jpy", "kwd", "eur", "bhd"), async (amount, currency) => {
        expectClientError(await send("POST", "/v1/payment_intents", JSON.stringify({ amount, currency }), "application/json"));
        if (typeof amount === "string" || typeof amount === "number") {
          expectClientError(await send("POST", "/v1/payment_intents", `amount=${encodeURIComponent(String(amount))}&currency=${currency}`, "application/x-www-form-urlencoded"));
        }
      }),
      { numRuns: 80 },
    );
  });

  it("unknown currencies and wrongly typed fields", async () => {
    await fc.assert(
      fc.asyncProperty(
        unknownCurrency,
        fc.record({
          field: fc.constantFrom("capture_method", "confirm", "metadata", "description", "return_url", "payment_method", "payment_method_data", "order_id"),
          value: fc.oneof(fc.integer(), fc.constant([1, 2]), fc.constant({ nested: { deep: [1] } }), fc.constant("not-a-valid-value-for-this-field"), fc.string({ minLength: 1001, maxLength: 1100 })),
        }),
        async (currency, { field, value }) => {
          expectClientError(await send("POST", "/v1/payment_intents", JSON.stringify({ amount: 100, currency }), "application/json"));
          const body = { amount: 100, currency: "usd", [field]: value };
          const res = await send("POST", "/v1/payment_intents", JSON.stringify(body), "application/json");
          // A few of these are valid by chance (description: 1000 chars is fine; metadata {} is fine): only check the rest.
          if (res.status !== 200) expectClientError(res);
          else await env.DB.prepare("DELETE FROM payment_intents WHERE merchant_id = ?").bind(MERCHANT).run();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("nothing was stored by any of the rejected requests", async () => {
    expect(await storedIntents()).toBe(0);
    const listed = await get<{ data: unknown[] }>("/v1/payment_intents", { key: KEY });
    expect(listed.body.data).toEqual([]);
  });
});

describe("amounts keep their minor units exactly in every currency (property)", () => {
  it("zero-, two- and three-decimal currencies", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: MAX_AMOUNT }), fc.constantFrom("jpy", "krw", "usd", "eur", "kwd", "bhd", "JOD", "TND"), async (amount, currency) => {
        const res = await post<PaymentIntentJson>("/v1/payment_intents", { amount, currency }, { key: KEY });
        expect(res.status).toBe(200);
        expect(res.body.amount).toBe(amount);
        expect(res.body.currency).toBe(currency.toLowerCase());
      }),
      { numRuns: 25 },
    );
  });
});

describe("bad input on operations changes nothing (property)", () => {
  it("random bodies to capture, confirm, cancel and refund", async () => {
    const pi = await authorizedIntent(4000);
    const snapshot = JSON.stringify((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(`/v1/payment_intents/${pi.id}/capture`, `/v1/payment_intents/${pi.id}/confirm`, `/v1/payment_intents/${pi.id}/cancel`, "/v1/refunds"),
        fc.oneof(
          fc.record({ amount_to_capture: badAmount }),
          fc.record({ cancellation_reason: fc.string({ maxLength: 30 }) }),
          fc.record({ payment_intent: fc.constant(pi.id), amount: badAmount }),
          fc.record({ unknown_field: fc.jsonValue() }),
        ),
        async (path, body) => {
          const res = await send("POST", path, JSON.stringify(body), "application/json");
          expectClientError(res);
        },
      ),
      { numRuns: 60 },
    );
    expect(JSON.stringify((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body)).toBe(snapshot);
  });
});
