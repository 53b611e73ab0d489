// Seed 002's answers in its own words: error details name the fields of its own requests (an error
// the core raises with /v1's parameter names, amount_to_capture or payment_method, is told in this
// surface's), and a void says void_pending while the refund that voids a sale waits.
import { describe, expect, it } from "vitest";
import { approverOf, get, newMerchant, post, uniqueKey, type CallOptions } from "../../helpers";

type Err = { error: { code: string; message: string; details: { field?: string; message: string }[] } };

/** A 50.00 USD authorization of the merchant of `opts`. */
async function authorized(opts: CallOptions): Promise<{ body: { data: { id: string } } }> {
  const auth = await post<{ data: { id: string } }>(
    "/api/v1/payments/authorize",
    { clientRequestId: uniqueKey("a"), amountCents: 5000, currency: "USD", token: "9418594164541111", expiry: "1239", cvv: "123" },
    opts,
  );
  expect(auth.status, JSON.stringify(auth.body)).toBe(201);
  return auth;
}

describe("seed 002 error details", () => {
  it("name amountCents, token and paymentIntentId, never a /v1 parameter", async () => {
    const { opts } = await newMerchant("pos-error-fields");
    const auth = await authorized(opts);

    const tooMuch = await post<Err>("/api/v1/payments/capture", { paymentIntentId: auth.body.data.id, amountCents: 5001 }, opts);
    expect(tooMuch.status, JSON.stringify(tooMuch.body)).toBe(400);
    expect(tooMuch.body.error.code).toBe("VALIDATION_ERROR");
    expect(tooMuch.body.error.details.map((d) => d.field)).toEqual(["amountCents"]);

    const badToken = await post<Err>("/api/v1/payments/sale", { amountCents: 100, currency: "USD", token: "123", expiry: "1239" }, opts);
    expect(badToken.status, JSON.stringify(badToken.body)).toBe(400);
    expect(badToken.body.error.details.map((d) => d.field)).toEqual(["token"]);

    const unknown = await post<Err>("/api/v1/payments/capture", { paymentIntentId: "pi_doesnotexist00000000000", amountCents: 100 }, opts);
    expect(unknown.status, JSON.stringify(unknown.body)).toBe(404);
    for (const detail of unknown.body.error.details) expect(detail.field).toBe("paymentIntentId");

    const v1Names = /"field":"(amount|amount_to_capture|payment_method|intent|payment_intent)"/;
    for (const res of [tooMuch, badToken, unknown]) expect(JSON.stringify(res.body)).not.toMatch(v1Names);
  });
});

describe("seed 002 fields a request does not take", () => {
  it("are refused by name (a partial void's amountCents, a retry's amountCents), and nothing is done", async () => {
    const { opts } = await newMerchant("pos-unknown-fields");
    const auth = await authorized(opts);
    const partialVoid = await post<Err>("/api/v1/payments/void", { paymentIntentId: auth.body.data.id, amountCents: 100 }, opts);
    expect(partialVoid.status, JSON.stringify(partialVoid.body)).toBe(400);
    expect(partialVoid.body.error.code).toBe("VALIDATION_ERROR");
    expect(partialVoid.body.error.details).toEqual([{ field: "amountCents", message: "amountCents is not a field of this request" }]);
    // A key that is a card number is not echoed.
    const cardKey = await post<Err>("/api/v1/payments/sale", { amountCents: 100, currency: "USD", token: "9418594164541111", expiry: "1239", "4242424242424242": 1 }, opts);
    expect(cardKey.status, JSON.stringify(cardKey.body)).toBe(400);
    expect(JSON.stringify(cardKey.body)).not.toContain("4242424242424242");
    for (const body of [
      { amountCents: 100, currency: "USD", token: "9418594164541111", expiry: "1239", foo: 1 },
      { amountCents: 100, currency: "USD", token: "9418594164541111", expiry: "1239", amountDollars: "1.00" },
    ]) {
      const res = await post<Err>("/api/v1/payments/sale", body, opts);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
    }
    // Nothing was voided or sold: the authorization stands, and it is the merchant's only payment.
    const still = await get<{ data: { intent: { status: string } } }>(`/api/v1/payments/transactions/${auth.body.data.id}`, opts);
    expect(still.body.data.intent.status, JSON.stringify(still.body)).toBe("authorized");
    const list = await get<{ data: unknown[] }>("/v1/payment_intents", opts);
    expect(list.body.data).toHaveLength(1);
    // A retry of a declined sale with an amount of its own: refused by name, nothing charged.
    const declined = await post<{ data: { id: string; status: string } }>("/api/v1/payments/sale", { amountCents: 2500, currency: "USD", token: "9418594164540002", expiry: "1239" }, opts);
    expect(declined.body.data.status, JSON.stringify(declined.body)).toBe("declined");
    const retry = await post<Err>(`/api/v1/payments/failed/${declined.body.data.id}/retry`, { token: "9418594164549999", expiry: "1239", amountCents: 1 }, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(400);
    expect(retry.body.error.details).toEqual([{ field: "amountCents", message: "amountCents is not a field of this request" }]);
    expect((await get<{ data: unknown[] }>("/v1/payment_intents", opts)).body.data).toHaveLength(2);
  });
});

describe("seed 002 void of a sale held for approval", () => {
  it("answers void_pending, not voided, while the refund that voids it waits for an approver", async () => {
    const m = await newMerchant("pos-void-held");
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts))).status).toBe(200);
    const sale = await post<{ data: { id: string; status: string } }>(
      "/api/v1/payments/sale",
      { clientRequestId: uniqueKey("s"), amountCents: 5000, currency: "USD", token: "9418594164541111", expiry: "1239", cvv: "123" },
      m.opts,
    );
    expect(sale.body.data.status, JSON.stringify(sale.body)).toBe("captured");
    const voided = await post<{ data: { status: string } }>("/api/v1/payments/void", { clientRequestId: uniqueKey("v"), paymentIntentId: sale.body.data.id }, m.opts);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body.data.status).toBe("void_pending");
    // Below the threshold the void goes through at once.
    const small = await post<{ data: { id: string } }>(
      "/api/v1/payments/sale",
      { clientRequestId: uniqueKey("s2"), amountCents: 500, currency: "USD", token: "9418594164541111", expiry: "1239", cvv: "123" },
      m.opts,
    );
    expect((await post<{ data: { status: string } }>("/api/v1/payments/void", { paymentIntentId: small.body.data.id }, m.opts)).body.data.status).toBe("voided");
  });
});

describe("seed 002 customer ids", () => {
  it("a cus_ id names the merchant's own customer; another merchant's, or an unknown one, is the POS system's own id, as any other", async () => {
    const a = await newMerchant("pos-cus-a");
    const b = await newMerchant("pos-cus-b");
    const theirs = await post<{ id: string }>("/v1/customers", { email: "b@example.com" }, b.opts);
    const mine = await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, a.opts);
    const card = { currency: "USD", token: "9418594164541111", expiry: "1239", cvv: "123" };
    for (const customerId of [theirs.body.id, "cus_doesnotexist000000000"]) {
      const res = await post<{ data: { customerId: string } }>("/api/v1/payments/sale", { ...card, amountCents: 100, customerId }, a.opts);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.data.customerId).toBe(customerId);
    }
    // The other merchant's customer is untouched: no payment of theirs.
    expect((await get<{ data: unknown[] }>(`/v1/payment_intents?customer=${theirs.body.id}`, b.opts)).body.data).toEqual([]);
    const own = await post<{ data: { customerId: string } }>("/api/v1/payments/sale", { ...card, amountCents: 100, customerId: mine.body.id }, a.opts);
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    expect(own.body.data.customerId).toBe(mine.body.id);
    // The POS system's own ids (not ours) are taken as they are.
    expect((await post("/api/v1/payments/sale", { ...card, amountCents: 100, customerId: "cust-123" }, a.opts)).status).toBe(201);
    expect((await get<{ data: unknown[] }>("/v1/payment_intents?limit=10", a.opts)).body.data).toHaveLength(4);
  });
});

describe("seed 002 cards on file", () => {
  it("another customer's saved card named as the token is refused, not saved (nor made the default) for this one", async () => {
    const { opts } = await newMerchant("pos-card-theft");
    const card = { token: "9418594164545454", expiry: "1239" };
    const theirs = await post<{ data: { id: string } }>("/api/v1/customers/cust-owner/payment-methods", { ...card, isDefault: true }, opts);
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201);
    const taken = await post<Err>("/api/v1/customers/cust-thief/payment-methods", { token: theirs.body.data.id, expiry: "1239", isDefault: true }, opts);
    expect(taken.status, JSON.stringify(taken.body)).toBe(400);
    expect(taken.body.error.code).toBe("VALIDATION_ERROR");
    expect((await get<{ data: unknown[] }>("/api/v1/customers/cust-thief/payment-methods", opts)).body.data).toEqual([]);
    expect((await get<{ data: { id: string }[] }>("/api/v1/customers/cust-owner/payment-methods", opts)).body.data.map((m) => m.id)).toEqual([theirs.body.data.id]);
    // Saving the same card again for its own customer saves it again, as at Stripe: both are on file.
    const again = await post<{ data: { id: string } }>("/api/v1/customers/cust-owner/payment-methods", card, opts);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.data.id).not.toBe(theirs.body.data.id);
    expect((await get<{ data: { id: string }[] }>("/api/v1/customers/cust-owner/payment-methods", opts)).body.data.map((m) => m.id).sort()).toEqual([theirs.body.data.id, again.body.data.id].sort());
    // Its own saved card named as the token, with a clientRequestId: that card, not a copy.
    const own = await post<{ data: { id: string } }>("/api/v1/customers/cust-owner/payment-methods", { token: theirs.body.data.id, expiry: "1239", clientRequestId: `own-${theirs.body.data.id}` }, opts);
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    expect(own.body.data.id).toBe(theirs.body.data.id);
    // Another customer's saved card named as the token with a clientRequestId is refused too.
    const keyed = await post<Err>("/api/v1/customers/cust-thief/payment-methods", { token: theirs.body.data.id, expiry: "1239", clientRequestId: `thief-${theirs.body.data.id}` }, opts);
    expect(keyed.status, JSON.stringify(keyed.body)).toBe(400);
    expect((await get<{ data: unknown[] }>("/api/v1/customers/cust-thief/payment-methods", opts)).body.data).toEqual([]);
  });
});
