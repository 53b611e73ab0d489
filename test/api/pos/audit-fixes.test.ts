// Seed 002, as a black-box audit found it wanting:
// - a failed sale made with a stored card of "cust-d1" (the seed's style of customer id) was never
//   retried with that card, omitted or named: the card's customer (the cus_ id derived from cust-d1)
//   was compared with the payment's "cust-d1". A card of another customer, or a removed one, is
//   still refused; a sale made without a customer is retried with a stored card for the customerId
//   the retry names.
// - metadata took string values only, though the seed's own holds a boolean: numbers and booleans
//   are taken and answered as they were sent.
// - a customerId that looks like ours (cus_...) but is no customer of this merchant (unknown, or
//   another merchant's) was refused (404): it is the POS system's own id like any other.
import { describe, expect, it } from "vitest";
import { call, get, newMerchant, post, uniqueKey, type CallOptions } from "../../helpers";

const EXPIRY = "1239";
type Data = { data: Record<string, unknown> };
type Err = { error: { code: string; message: string } };

function expectError(res: { status: number; body: unknown }, status: number, code: string): Err["error"] {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const { error } = res.body as Err;
  expect(error.code).toBe(code);
  return error;
}

async function saveCard(opts: CallOptions, customer: string, token: string): Promise<string> {
  const saved = await post<Data>(`/api/v1/customers/${customer}/payment-methods`, { clientRequestId: uniqueKey("save"), token, expiry: EXPIRY }, opts);
  expect(saved.status, JSON.stringify(saved.body)).toBe(201);
  return String(saved.body.data.id);
}

async function declinedSale(opts: CallOptions, body: Record<string, unknown>): Promise<string> {
  const res = await post<Data>("/api/v1/payments/sale", { amountCents: 2500, currency: "USD", ...body }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.data.status).toBe("declined");
  return String(res.body.data.id);
}

const retry = (opts: CallOptions, id: string, body: Record<string, unknown>) => post<Data>(`/api/v1/payments/failed/${id}/retry`, body, opts);

describe("seed 002: a failed payment retried with a stored card of its customer", () => {
  it("retries with the original stored card (token omitted): accepted, as the seed says", async () => {
    const { opts } = await newMerchant("pos-retry-stored-omit");
    const pm = await saveCard(opts, "cust-d1", "9418594164540002");
    const failed = await declinedSale(opts, { customerId: "cust-d1", paymentMethodId: pm });
    const again = await retry(opts, failed, {});
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    // The same card declines again: a retry was made (not refused).
    expect(again.body.data).toMatchObject({ status: "declined", cardLast4: "0002", customerId: "cust-d1" });
    expect(again.body.data.id).not.toBe(failed);
  });

  it("retries with a stored card named by paymentMethodId (the failing one, then another of the customer, which pays)", async () => {
    const { opts } = await newMerchant("pos-retry-stored-named");
    const bad = await saveCard(opts, "cust-d1", "9418594164540002");
    const good = await saveCard(opts, "cust-d1", "9418594164541111");
    const failed = await declinedSale(opts, { customerId: "cust-d1", paymentMethodId: bad });
    const same = await retry(opts, failed, { paymentMethodId: bad });
    expect(same.status, JSON.stringify(same.body)).toBe(201);
    expect(same.body.data.status).toBe("declined");
    const paid = await retry(opts, failed, { paymentMethodId: good });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.data).toMatchObject({ status: "captured", amountCents: 2500, cardLast4: "1111", customerId: "cust-d1" });
    expect(paid.body.data.metadata).toMatchObject({ retryOf: failed, originalIntentId: failed, retryAttempt: true });
  });

  it("refuses another customer's stored card, and a card removed since: nothing is charged", async () => {
    const { opts } = await newMerchant("pos-retry-stored-refused");
    const mine = await saveCard(opts, "cust-d1", "9418594164540002");
    const theirs = await saveCard(opts, "cust-d2", "9418594164541111");
    const failed = await declinedSale(opts, { customerId: "cust-d1", paymentMethodId: mine });
    expectError(await retry(opts, failed, { paymentMethodId: theirs }), 400, "VALIDATION_ERROR");
    // customerId may not move the payment to another customer.
    expectError(await retry(opts, failed, { paymentMethodId: theirs, customerId: "cust-d2" }), 400, "VALIDATION_ERROR");
    expect((await call("DELETE", `/api/v1/customers/cust-d1/payment-methods/${mine}`, opts)).status).toBe(200);
    expectError(await retry(opts, failed, {}), 400, "VALIDATION_ERROR");
    expectError(await retry(opts, failed, { paymentMethodId: mine }), 404, "NOT_FOUND");
    const detail = await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${failed}`, opts);
    expect(detail.body.data.intent.status).toBe("declined");
  });

  it("a sale made without a customer: a stored card needs the retry's customerId, and pays for that customer", async () => {
    const { opts } = await newMerchant("pos-retry-stored-anon");
    const pm = await saveCard(opts, "cust-d3", "9418594164541111");
    const failed = await declinedSale(opts, { token: "9418594164540002", expiry: EXPIRY });
    const without = expectError(await retry(opts, failed, { paymentMethodId: pm }), 400, "VALIDATION_ERROR");
    expect(without.message).toContain("customerId");
    expectError(await retry(opts, failed, { paymentMethodId: pm, customerId: "cust-other" }), 400, "VALIDATION_ERROR");
    const paid = await retry(opts, failed, { paymentMethodId: pm, customerId: "cust-d3" });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.data).toMatchObject({ status: "captured", customerId: "cust-d3", cardLast4: "1111" });
  });
});

describe("seed 002: metadata values are strings, numbers or booleans, answered as sent", () => {
  it("a sale with numbers and booleans in its metadata: 201, read back with their types", async () => {
    const { opts } = await newMerchant("pos-metadata-types");
    const res = await post<Data>("/api/v1/payments/sale", { amountCents: 100, token: "9418594164541111", expiry: EXPIRY, metadata: { source: "pos", table: 12, ratio: 0.5, vip: true, late: false, code: "12" } }, opts);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const detail = await get<{ data: { intent: { metadata: Record<string, unknown> } } }>(`/api/v1/payments/transactions/${String(res.body.data.id)}`, opts);
    expect(detail.status).toBe(200);
    expect(detail.body.data.intent.metadata).toEqual({ source: "pos", table: 12, ratio: 0.5, vip: true, late: false, code: "12" });
  });

  it("a retry answers the failed sale's metadata with its types, beside retryAttempt: true", async () => {
    const { opts } = await newMerchant("pos-metadata-retry");
    const failed = await declinedSale(opts, { token: "9418594164540002", expiry: EXPIRY, metadata: { table: 7, vip: true } });
    const paid = await retry(opts, failed, { token: "9418594164541111", expiry: EXPIRY });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.data.metadata).toEqual({ table: 7, vip: true, retryOf: failed, originalIntentId: failed, retryAttempt: true });
  });

  it("refuses objects, arrays and null as values, and the reserved key", async () => {
    const { opts } = await newMerchant("pos-metadata-refused");
    for (const metadata of [{ a: { b: 1 } }, { a: [1] }, { a: null }, { pos_value_types: "x" }]) {
      expectError(await post("/api/v1/payments/sale", { amountCents: 100, token: "9418594164541111", expiry: EXPIRY, metadata }, opts), 400, "VALIDATION_ERROR");
    }
  });
});

describe("seed 002: a customerId that looks like ours but is no customer of this merchant is the POS system's own", () => {
  it("an unknown cus_ id: the sale goes through and keeps it; cards saved for it pay for it", async () => {
    const { opts } = await newMerchant("pos-cus-unknown");
    const sale = await post<Data>("/api/v1/payments/sale", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY, customerId: "cus_abc123def" }, opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(sale.body.data).toMatchObject({ status: "captured", customerId: "cus_abc123def" });
    const pm = await saveCard(opts, "cus_abc123def", "9418594164541111");
    const paid = await post<Data>("/api/v1/payments/sale", { amountCents: 400, customerId: "cus_abc123def", paymentMethodId: pm }, opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.data.status).toBe("captured");
  });

  it("another merchant's customer id is an opaque id here: answered as an unknown one, that customer untouched", async () => {
    const other = await newMerchant("pos-cus-other-owner");
    const theirs = (await post<{ id: string }>("/v1/customers", { email: "b@example.com" }, other.opts)).body.id;
    const theirCard = await saveCard(other.opts, theirs, "9418594164541111");
    const { opts } = await newMerchant("pos-cus-other");
    const sale = await post<Data>("/api/v1/payments/sale", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY, customerId: theirs }, opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(sale.body.data.customerId).toBe(theirs);
    // Their card is no card here; their customer's cards are not listed here.
    expectError(await post("/api/v1/payments/sale", { amountCents: 300, customerId: theirs, paymentMethodId: theirCard }, opts), 404, "NOT_FOUND");
    const listed = await get<{ data: unknown[] }>(`/api/v1/customers/${theirs}/payment-methods`, opts);
    expect(listed.body.data).toEqual([]);
    // Their customer has no payment of ours.
    const payments = await get<{ data: unknown[] }>(`/v1/payment_intents?customer=${theirs}`, other.opts);
    expect(payments.body.data).toEqual([]);
    const still = await get<{ data: unknown[] }>(`/api/v1/customers/${theirs}/payment-methods`, other.opts);
    expect(still.body.data).toHaveLength(1);
  });

  it("a customer of this merchant is still that customer; one deleted since is still refused", async () => {
    const { opts } = await newMerchant("pos-cus-own");
    const mine = (await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, opts)).body.id;
    const sale = await post<Data>("/api/v1/payments/sale", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY, customerId: mine }, opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const payments = await get<{ data: { id: string }[] }>(`/v1/payment_intents?customer=${mine}`, opts);
    expect(payments.body.data.map((p) => p.id)).toEqual([sale.body.data.id]);
    expect((await call("DELETE", `/v1/customers/${mine}`, opts)).status).toBe(200);
    expectError(await post("/api/v1/payments/sale", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY, customerId: mine }, opts), 404, "NOT_FOUND");
  });
});
