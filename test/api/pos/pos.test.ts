// Seed 002, the POS gateway surface: every example request of the seed (with a future expiry), the
// seed's error codes, permissions per route, clientRequestId replay and conflict, the transaction
// filters, failed payments, cards on file, and a POS payment read back through /v1.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, get, hsToken, newMerchant, post, uniqueKey, type CallOptions, type PaymentIntentJson } from "../../helpers";

const EXPIRY = "1239"; // the seed's "1225" has passed
type Data = { data: Record<string, unknown>; meta?: { cursor: string | null; hasMore: boolean } };
type Err = { error: { code: string; message: string; details: unknown[] } };

function expectPosError(res: { status: number; body: unknown }, status: number, code: string): Err["error"] {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as Err;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(Array.isArray(body.error.details)).toBe(true);
  return body.error;
}

const authorizeExample = (id: string) => ({
  clientRequestId: id,
  amountCents: 5000,
  token: "9418594164541111",
  expiry: EXPIRY,
  cvv: "123",
  currency: "USD",
  paymentMethodType: "card",
  ecomind: "E",
  orderId: "order-abc",
  customerId: "cust-123",
  terminalId: "term-1",
  name: "John Doe",
});

const saleExample = (id: string) => ({
  clientRequestId: id,
  amountCents: 1500,
  token: "9418594164541111",
  expiry: EXPIRY,
  tipCents: 200,
  currency: "USD",
  orderId: "order-xyz",
  customerId: "cust-456",
  paymentMethodType: "card",
  paymentMethodId: "pm-stored-1",
  metadata: { source: "pos" },
});

async function sale(opts: CallOptions, body: Record<string, unknown> = {}) {
  const res = await post<Data>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 1000, token: "9418594164541111", expiry: EXPIRY, currency: "USD", ...body }, opts);
  return res;
}

describe("seed 002: input that is not a card", () => {
  it("a token named after an Object property (constructor, __proto__) is a 400 VALIDATION_ERROR, never a 500, and records nothing", async () => {
    const { opts } = await newMerchant("pos-proto");
    for (const token of ["constructor", "__proto__", "toString"]) {
      expectPosError(await sale(opts, { token }), 400, "VALIDATION_ERROR");
    }
    const listed = await get<{ data: unknown[] }>("/api/v1/payments/transactions", opts);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
  });
});

describe("seed 002 examples, verbatim", () => {
  it("authorize -> capture (partial) -> transaction history", async () => {
    const { opts } = await newMerchant("pos-auth");
    const auth = await post<Data>("/api/v1/payments/authorize", authorizeExample(uniqueKey("auth-001")), opts);
    expect(auth.status, JSON.stringify(auth.body)).toBe(201);
    const a = auth.body.data;
    expect(a.id).toMatch(/^pi_/);
    expect(a.status).toBe("authorized");
    expect(a.amountCents).toBe(5000);
    expect(a.currency).toBe("USD");
    expect(typeof a.providerReference).toBe("string");
    expect(a.cardLast4).toBe("1111");
    expect(a.cardBrand).toBe("visa");
    expect(a.authCode).toMatch(/^\d{6}$/);
    expect(a.avsResponse).toBe("Y");
    expect(a.cvvResponse).toBe("M");

    const cap = await post<Data>("/api/v1/payments/capture", { clientRequestId: uniqueKey("cap-001"), paymentIntentId: a.id, amountCents: 4500 }, opts);
    expect(cap.status, JSON.stringify(cap.body)).toBe(200);
    expect(cap.body.data).toEqual({ id: a.id, status: "captured", amountCents: 4500, tipCents: 0, capturedAmountCents: 4500, currency: "USD", providerReference: a.providerReference });

    const detail = await get<{ data: { intent: Record<string, unknown>; transactions: Record<string, unknown>[] } }>(`/api/v1/payments/transactions/${String(a.id)}`, opts);
    expect(detail.status).toBe(200);
    const intent = detail.body.data.intent;
    expect(intent).toMatchObject({ id: a.id, status: "captured", amountCents: 5000, capturedAmountCents: 4500, refundedAmountCents: 0, currency: "USD", paymentMethodType: "card", cardLast4: "1111", cardBrand: "visa", orderId: "order-abc", customerId: "cust-123", metadata: {} });
    expect(new Date(String(intent.createdAt)).toISOString()).toBe(intent.createdAt);
    expect(typeof intent.updatedAt).toBe("string");
    const [first, second] = detail.body.data.transactions;
    expect(first).toMatchObject({ type: "authorize", status: "approved", amountDollars: "50.00", providerReference: a.providerReference, responseCode: "00", responseText: "Approval" });
    expect(second).toMatchObject({ type: "capture", status: "approved", amountDollars: "45.00", responseCode: "00", responseText: "Approval" });
    expect(typeof first?.id).toBe("string");
    expect(typeof first?.createdAt).toBe("string");

    // A second capture: INVALID_STATE; more than authorized: invalid input (the seed: "must be <= authorized amount").
    expectPosError(await post("/api/v1/payments/capture", { paymentIntentId: a.id }, opts), 409, "INVALID_STATE");
    const auth2 = await post<Data>("/api/v1/payments/authorize", authorizeExample(uniqueKey("auth")), opts);
    expectPosError(await post("/api/v1/payments/capture", { paymentIntentId: auth2.body.data.id, amountCents: 5001 }, opts), 400, "VALIDATION_ERROR");
    // Refund of an uncaptured authorization: INVALID_STATE.
    expectPosError(await post("/api/v1/payments/refund", { paymentIntentId: auth2.body.data.id, amountCents: 100 }, opts), 409, "INVALID_STATE");
    // Void of an authorization.
    const v = await post<Data>("/api/v1/payments/void", { clientRequestId: uniqueKey("void"), paymentIntentId: auth2.body.data.id }, opts);
    expect(v.status).toBe(200);
    expect(v.body.data).toEqual({ id: auth2.body.data.id, status: "voided", providerReference: auth2.body.data.providerReference });
  });

  it("sale: token and paymentMethodId together are refused; the sale charges the tip on top; void; refund", async () => {
    const { opts } = await newMerchant("pos-sale");
    // The seed's example names both a token and a stored card, which its own note forbids.
    expectPosError(await post("/api/v1/payments/sale", saleExample(uniqueKey("sale-001")), opts), 400, "VALIDATION_ERROR");
    const { paymentMethodId: _pm, ...withToken } = saleExample(uniqueKey("sale-001"));
    void _pm;
    const res = await post<Data>("/api/v1/payments/sale", withToken, opts);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const s = res.body.data;
    expect(s).toMatchObject({ status: "captured", amountCents: 1500, tipCents: 200, currency: "USD", cardLast4: "1111", cardBrand: "visa" });
    expect(s.authCode).toMatch(/^\d{6}$/);
    expect(typeof s.providerReference).toBe("string");

    // Read back through /v1: the charged amount is amount + tip, the tip shown as such.
    const v1 = await get<PaymentIntentJson>(`/v1/payments_intents_placeholder`.replace("/v1/payments_intents_placeholder", `/v1/payment_intents/${String(s.id)}`), opts);
    expect(v1.status).toBe(200);
    expect(v1.body.amount).toBe(1700);
    expect(v1.body.amount_received).toBe(1700);
    expect(v1.body.status).toBe("succeeded");
    expect(v1.body.currency).toBe("usd");
    expect(v1.body.metadata).toEqual({ source: "pos" });

    // Void (same day, before settlement).
    const voided = await post<Data>("/api/v1/payments/void", { clientRequestId: uniqueKey("void-001"), paymentIntentId: s.id }, opts);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body.data).toEqual({ id: s.id, status: "voided", providerReference: s.providerReference });
    expectPosError(await post("/api/v1/payments/refund", { paymentIntentId: s.id, amountCents: 1 }, opts), 409, "INVALID_STATE");
    // Its history: the sale (its authorize and its capture, in the seed's words), then the void (the
    // refund that gives it back is the void's row).
    const history = (await get<{ data: { transactions: { type: string; status: string; amountCents: number }[] } }>(`/api/v1/payments/transactions/${String(s.id)}`, opts)).body.data.transactions;
    expect(history.map((t) => [t.type, t.status, t.amountCents])).toEqual([
      ["authorize", "approved", 1700],
      ["capture", "approved", 1700],
      ["void", "approved", 1700],
    ]);

    // Refund: partial, repeated, never above captured.
    const other = (await sale(opts, { amountCents: 2000 })).body.data;
    const r1 = await post<Data>("/api/v1/payments/refund", { clientRequestId: uniqueKey("refund-001"), paymentIntentId: other.id, amountCents: 500 }, opts);
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body.data).toMatchObject({ id: other.id, status: "refunded", refundedAmountCents: 500 });
    expect(typeof r1.body.data.providerReference).toBe("string");
    const r2 = await post<Data>("/api/v1/payments/refund", { paymentIntentId: other.id, amountCents: 500 }, opts);
    expect(r2.body.data.refundedAmountCents).toBe(1000);
    expectPosError(await post("/api/v1/payments/refund", { paymentIntentId: other.id, amountCents: 1001 }, opts), 400, "VALIDATION_ERROR");
    const r3 = await post<Data>("/api/v1/payments/refund", { paymentIntentId: other.id }, opts);
    expect(r3.body.data.refundedAmountCents).toBe(2000);
    const v1b = await get<PaymentIntentJson>(`/v1/payment_intents/${String(other.id)}`, opts);
    expect(v1b.body.amount_received).toBe(2000);
    expect((v1b.body as unknown as { amount_refunded?: number }).amount_refunded ?? 2000).toBe(2000);
  });

  it("failed payments: list, counts, retry (201 with retry metadata), resolve", async () => {
    const { opts } = await newMerchant("pos-failed");
    const declined = await post<Data>("/api/v1/payments/sale", { clientRequestId: uniqueKey("d"), amountCents: 2500, token: "9418594164540002", expiry: EXPIRY, currency: "USD" }, opts);
    expect(declined.status, JSON.stringify(declined.body)).toBe(201);
    expect(declined.body.data.status).toBe("declined");
    const errored = await sale(opts, { amountCents: 700, token: "9418594164540119" });
    expect(errored.body.data.status).toBe("error");
    const another = await sale(opts, { amountCents: 800, token: "9418594164549995" });
    expect(another.body.data.status).toBe("declined");

    const counts = await get<Data>("/api/v1/payments/failed?counts=true", opts);
    expect(counts.body).toEqual({ data: { total: 3, declined: 2, error: 1 } });
    const list = await get<{ data: Record<string, unknown>[]; meta: unknown }>("/api/v1/payments/failed", opts);
    expect(list.body.meta).toEqual({ cursor: null, hasMore: false });
    const row = list.body.data.find((r) => r.id === declined.body.data.id);
    expect(row).toMatchObject({ status: "declined", amountCents: 2500, currency: "USD", paymentMethodType: "card", cardLast4: "0002", attemptCount: 1 });
    expect(typeof row?.errorMessage).toBe("string");
    expect(typeof row?.latestResponseText).toBe("string");
    const paged = await get<{ data: unknown[]; meta: { cursor: string; hasMore: boolean } }>("/api/v1/payments/failed?limit=2", opts);
    expect(paged.body.meta.hasMore).toBe(true);
    const rest = await get<{ data: unknown[]; meta: { hasMore: boolean } }>(`/api/v1/payments/failed?limit=2&cursor=${paged.body.meta.cursor}`, opts);
    expect(rest.body.data.length).toBe(1);

    // The seed's retry body, verbatim: a token without expiry (the vault's own expiry is used).
    const retry = await post<Data>(`/api/v1/payments/failed/${String(declined.body.data.id)}/retry`, { token: "9418594164549999", paymentMethodType: "card" }, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.data).toMatchObject({ status: "captured", amountCents: 2500, metadata: { retryOf: declined.body.data.id, originalIntentId: declined.body.data.id, retryAttempt: true } });
    // Without a token: the original card (declines again).
    const again = await post<Data>(`/api/v1/payments/failed/${String(another.body.data.id)}/retry`, {}, opts);
    expect(again.status).toBe(201);
    expect(again.body.data).toMatchObject({ status: "declined", cardLast4: "9995" });

    const resolved = await post<Data>(`/api/v1/payments/failed/${String(errored.body.data.id)}/resolve`, { resolution: "resolved", reason: "Customer paid with cash at the counter", paidByOtherMeans: true, otherMeansType: "cash" }, opts);
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body.data).toMatchObject({ id: errored.body.data.id, status: "resolved", resolution: "resolved" });
    expectPosError(await post(`/api/v1/payments/failed/${String(errored.body.data.id)}/resolve`, { resolution: "dismissed" }, opts), 409, "INVALID_STATE");
    const detail = await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${String(errored.body.data.id)}`, opts);
    expect(detail.body.data.intent).toMatchObject({ status: "resolved", otherMeansType: "cash", paidByOtherMeans: true });
    const after = await get<Data>("/api/v1/payments/failed?counts=true", opts);
    // Open: `another` alone; its declined retry is its second attempt, not a failed payment of its own.
    expect(after.body.data).toEqual({ total: 1, declined: 1, error: 0 });
    const open = await get<{ data: Record<string, unknown>[] }>("/api/v1/payments/failed", opts);
    expect(open.body.data).toEqual([expect.objectContaining({ id: another.body.data.id, status: "declined", attemptCount: 2, cardLast4: "9995" })]);
    // A third attempt, with another card that declines: counted on the same row, its answer the latest.
    const third = await post<Data>(`/api/v1/payments/failed/${String(another.body.data.id)}/retry`, { token: "9418594164540119", expiry: EXPIRY }, opts);
    expect(third.body.data.status).toBe("error");
    const latest = (await get<{ data: Record<string, unknown>[] }>("/api/v1/payments/failed", opts)).body.data;
    expect(latest).toEqual([expect.objectContaining({ id: another.body.data.id, attemptCount: 3 })]);
    const history = await get<{ data: { transactions: { responseText: string }[] } }>(`/api/v1/payments/transactions/${String(third.body.data.id)}`, opts);
    expect(latest[0]?.latestResponseText).toBe(history.body.data.transactions.at(-1)?.responseText);
    expect(latest[0]?.latestResponseText).not.toBe(open.body.data[0]?.latestResponseText);
  });

  it("a sale the processor failed (502 PROVIDER_ERROR) is a failed payment, status error: listed, counted, and retried or resolved", async () => {
    const { opts } = await newMerchant("pos-provider-error");
    const failed = await post<{ error: { code: string; details?: { paymentIntentId?: string }[] } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("pe"), amountCents: 2500, token: "9418594164547023", expiry: EXPIRY, currency: "USD" }, opts);
    const error = expectPosError(failed, 502, "PROVIDER_ERROR");
    const id = String((error as { details?: { paymentIntentId?: string }[] }).details?.[0]?.paymentIntentId ?? "");
    expect(id).toMatch(/^pi_/);
    expect((await get<Data>(`/api/v1/payments/transactions/${id}`, opts)).body.data).toMatchObject({ intent: { status: "error" } });
    expect((await get<Data>("/api/v1/payments/failed?counts=true", opts)).body).toEqual({ data: { total: 1, declined: 0, error: 1 } });
    const row = (await get<{ data: Record<string, unknown>[] }>("/api/v1/payments/failed", opts)).body.data.find((r) => r.id === id);
    expect(row).toMatchObject({ status: "error", amountCents: 2500 });
    // A void is refused (nothing is held); a retry with another card pays it.
    expectPosError(await post("/api/v1/payments/void", { paymentIntentId: id }, opts), 409, "INVALID_STATE");
    const retry = await post<Data>(`/api/v1/payments/failed/${id}/retry`, { token: "9418594164541111", expiry: EXPIRY }, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.data).toMatchObject({ status: "captured", amountCents: 2500 });
    expect((await get<Data>("/api/v1/payments/failed?counts=true", opts)).body).toEqual({ data: { total: 0, declined: 0, error: 0 } });
  });

  it("a declined sale cannot be voided: nothing was held, and it stays a failed payment", async () => {
    const { opts } = await newMerchant("pos-void-declined");
    const declined = await sale(opts, { token: "9418594164540002" });
    expect(declined.body.data.status).toBe("declined");
    expectPosError(await post("/api/v1/payments/void", { paymentIntentId: declined.body.data.id }, opts), 409, "INVALID_STATE");
    expect((await get<Data>("/api/v1/payments/failed?counts=true", opts)).body).toEqual({ data: { total: 1, declined: 1, error: 0 } });
  });

  it("cards on file: save (verbatim), list, pay with the stored card, delete", async () => {
    const { opts } = await newMerchant("pos-cards");
    const saveBody = { clientRequestId: uniqueKey("save-001"), token: "9418594164541111", expiry: EXPIRY, nickname: "Personal Visa", isDefault: true };
    const saved = await post<Data>("/api/v1/customers/cust-123/payment-methods", saveBody, opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    expect(saved.headers.get("idempotent-replayed")).toBeNull();
    // The same clientRequestId again: the same card, marked as a replay (as the payment routes mark theirs).
    const again = await post<Data>("/api/v1/customers/cust-123/payment-methods", saveBody, opts);
    expect(again.status).toBe(201);
    expect(again.body.data.id).toBe(saved.body.data.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(saved.body.data).toMatchObject({ customerId: "cust-123", cardLast4: "1111", cardBrand: "visa", expiry: EXPIRY, nickname: "Personal Visa", isDefault: true });
    const pmId = String(saved.body.data.id);
    const list = await get<{ data: Record<string, unknown>[]; meta: unknown }>("/api/v1/customers/cust-123/payment-methods", opts);
    expect(list.body.data.map((m) => m.id)).toEqual([pmId]);
    expect(list.body.meta).toEqual({ cursor: null, hasMore: false });

    // A stored card needs its customer: without one, the error says so (and names customerId); with another, paymentMethodId.
    const bare = expectPosError(await post("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 900, currency: "USD", paymentMethodId: pmId }, opts), 400, "VALIDATION_ERROR");
    expect(bare.message).toContain("pass that customer's customerId");
    expect(bare.details[0]).toMatchObject({ field: "customerId" });
    const other = expectPosError(await post("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 900, currency: "USD", customerId: "cust-999", paymentMethodId: pmId }, opts), 400, "VALIDATION_ERROR");
    expect(other.details[0]).toMatchObject({ field: "paymentMethodId" });
    const paid = await post<Data>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 900, currency: "USD", customerId: "cust-123", paymentMethodId: pmId }, opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.data).toMatchObject({ status: "captured", cardLast4: "1111", customerId: "cust-123" });
    // Another customer cannot pay with it.
    expectPosError(await post("/api/v1/payments/sale", { amountCents: 900, customerId: "cust-999", paymentMethodId: pmId }, opts), 400, "VALIDATION_ERROR");
    // Nor when the saved card is named as a token.
    const asToken = expectPosError(await post("/api/v1/payments/sale", { amountCents: 700, currency: "USD", token: pmId, expiry: EXPIRY, customerId: "cust-999" }, opts), 400, "VALIDATION_ERROR");
    // In this surface's words: not our customer id (cus_...), which its client never saw.
    expect(asToken.message).not.toMatch(/cus_/);
    expect(asToken.message).toMatch(/another customer/);
    expectPosError(await post("/api/v1/payments/sale", { amountCents: 900, paymentMethodId: "pm_doesnotexist000000" }, opts), 404, "NOT_FOUND");

    // A shopper's token pays only with its own saved cards: another customer's, or the merchant's
    // unattached ones, do not exist for it.
    const { id: merchant } = await get<{ id: string }>("/v1/account", opts).then((r) => r.body);
    const unattached = (await post<{ id: string }>("/v1/payment_methods", { payment_method: "pm_card_visa" }, opts)).body.id;
    const evil = { key: await hsToken({ roles: ["customer"], merchant, customer: "cust-evil" }) };
    for (const card of [unattached, pmId]) {
      expectPosError(await post("/api/v1/payments/sale", { amountCents: 1000, currency: "USD", paymentMethodId: card }, evil), 404, "NOT_FOUND");
    }
    const own = { key: await hsToken({ roles: ["customer"], merchant, customer: "cust-123" }) };
    expect((await post<Data>("/api/v1/payments/sale", { amountCents: 800, currency: "USD", paymentMethodId: pmId }, own)).status).toBe(201);

    const del = await call<Data>("DELETE", `/api/v1/customers/cust-123/payment-methods/${pmId}`, opts);
    expect(del.status).toBe(200);
    expect((await get<{ data: unknown[] }>("/api/v1/customers/cust-123/payment-methods", opts)).body.data).toEqual([]);
    expectPosError(await call("DELETE", `/api/v1/customers/cust-123/payment-methods/${pmId}`, opts), 404, "NOT_FOUND");
    // A removed card pays for no one any more: not its customer, not another, not without a customer.
    for (const customerId of ["cust-123", "cust-999", undefined]) {
      expectPosError(await post("/api/v1/payments/sale", { amountCents: 1100, currency: "USD", paymentMethodId: pmId, ...(customerId ? { customerId } : {}) }, opts), 404, "NOT_FOUND");
    }
    // An id that looks like ours (cus_...) but is no customer of this merchant is the POS system's own,
    // as any other (a card saved for it pays for it: see audit-fixes.test.ts), and any customer id is at
    // most 255 characters, as a payment's customerId.
    expect((await post<Data>("/api/v1/customers/cus_nonexistent00000/payment-methods", { token: "9418594164541111", expiry: EXPIRY }, opts)).body.data).toMatchObject({ customerId: "cus_nonexistent00000" });
    const long = "c".repeat(256);
    expectPosError(await post(`/api/v1/customers/${long}/payment-methods`, { token: "9418594164541111", expiry: EXPIRY }, opts), 400, "VALIDATION_ERROR");
    expectPosError(await get(`/api/v1/customers/${long}/payment-methods`, opts), 400, "VALIDATION_ERROR");
    expectPosError(await call("DELETE", `/api/v1/customers/${long}/payment-methods/${pmId}`, opts), 400, "VALIDATION_ERROR");
    expect((await post(`/api/v1/customers/${"c".repeat(255)}/payment-methods`, { token: "9418594164541111", expiry: EXPIRY }, opts)).status).toBe(201);
    // The first clientRequestId again, after the delete: its first answer replayed, no card saved again
    // (it saved a new card, the customer's default, again).
    const replay = await post<Data>("/api/v1/customers/cust-123/payment-methods", saveBody, opts);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(pmId);
    expect((await get<{ data: unknown[] }>("/api/v1/customers/cust-123/payment-methods", opts)).body.data).toEqual([]);
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 1100, currency: "USD", token: pmId, expiry: EXPIRY }, opts), 400, "VALIDATION_ERROR");
  });
});

describe("seed 002 errors", () => {
  it("every unknown path under /api/v1/customers is the surface's 404, and the other surfaces under /api/v1 keep their routes", async () => {
    const { opts } = await newMerchant("pos-unknown-customers");
    const unknown: [string, string][] = [
      ["GET", "/api/v1/customers"],
      ["GET", "/api/v1/customers/"],
      ["GET", "/api/v1/customers/cust-123"],
      ["POST", "/api/v1/customers/cust-123"],
      ["POST", "/api/v1/customers//payment-methods"],
      ["GET", "/api/v1/customers//payment-methods"],
      ["DELETE", "/api/v1/customers//payment-methods/pm_x"],
      ["GET", "/api/v1/customers/cust-123/cards"],
      ["GET", "/api/v1/customers/cust-123/payment-methods/pm_x/extra"],
    ];
    for (const [method, path] of unknown) {
      const res = await call(method, path, { ...opts, ...(method === "GET" || method === "DELETE" ? {} : { body: {} }) });
      expect(expectPosError(res, 404, "NOT_FOUND").message, `${method} ${path}`).toContain(path);
    }
    // A path it serves, with a method it does not take: 405, naming the ones it does (test/api/http-methods.test.ts).
    expect(expectPosError(await call("PUT", "/api/v1/customers/cust-123/payment-methods", { ...opts, body: {} }), 405, "METHOD_NOT_ALLOWED").message).toContain("use POST or GET");
    // Seed 002's own routes answer as before.
    expect((await get("/api/v1/customers/cust-123/payment-methods", opts)).status).toBe(200);
    // Seed 000 (/api/v1/PaymentIntents: problem details) and seed 004 (/api/v1/payments/stripe: its {"error": "..."}) keep theirs.
    const seed000 = await call("GET", "/api/v1/PaymentIntents", { key: null });
    expect(seed000.status).toBe(401);
    expect(seed000.headers.get("content-type")).toContain("application/problem+json");
    const seed004 = await call("POST", "/api/v1/payments/stripe/nowhere", { ...opts, body: {} });
    expect(Object.keys(seed004.body)).toEqual(["error"]);
    expect(typeof (seed004.body as { error: unknown }).error).toBe("string");
  });


  it("gives one reason per bad amount, the one that applies: too large, not whole, below the least", async () => {
    const { opts } = await newMerchant("pos-amount-reasons");
    for (const [amountCents, says] of [
      [9007199254740993, "amountCents must be at most 99999999"],
      [1e21, "amountCents must be at most 99999999"],
      [100000000, "amountCents must be at most 99999999"],
      [12.5, "amountCents must be a positive integer"],
      [0, "amountCents must be a positive integer"],
      [-5, "amountCents must be a positive integer"],
    ] as const) {
      const err = expectPosError(await post("/api/v1/payments/authorize", { amountCents, token: "9418594164541111", expiry: EXPIRY }, opts), 400, "VALIDATION_ERROR");
      expect(err.details, String(amountCents)).toEqual([{ field: "amountCents", message: says }]);
    }
    for (const [query, says] of [
      ["amountMinCents=-5", "amountMinCents must be between 0 and 99999999999"],
      ["amountMinCents=1.5", "amountMinCents must be an integer"],
      ["amountMaxCents=abc", "amountMaxCents must be an integer"],
    ] as const) {
      const err = expectPosError(await get(`/api/v1/payments/transactions?${query}`, opts), 400, "VALIDATION_ERROR");
      expect((err.details as { message: string }[]).map((d) => d.message), query).toEqual([says]);
    }
  });

  it("each error code of the table, and the surface's format for auth, unknown routes and bad bodies", async () => {
    const { opts } = await newMerchant("pos-errors");
    const v = expectPosError(await post("/api/v1/payments/authorize", { amountCents: -5, token: "9418594164541111", expiry: EXPIRY }, opts), 400, "VALIDATION_ERROR");
    expect(v.message).toBe("amountCents must be a positive integer");
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 100, token: "9418594164541111", expiry: "1220" }, opts), 400, "VALIDATION_ERROR");
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 100, token: "9418594164541111", expiry: EXPIRY, currency: "XYZ" }, opts), 400, "VALIDATION_ERROR");
    expectPosError(await post("/api/v1/payments/authorize", "{not json", opts), 400, "VALIDATION_ERROR");
    expectPosError(await post("/api/v1/payments/capture", { paymentIntentId: "01JEXAMPLE000001" }, opts), 404, "NOT_FOUND");
    expectPosError(await post("/api/v1/payments/capture", { paymentIntentId: "pi_doesnotexist00000000" }, opts), 404, "NOT_FOUND");
    expectPosError(await get("/api/v1/payments/transactions/pi_nope0000000000000", opts), 404, "NOT_FOUND");
    expectPosError(await get("/api/v1/payments/nowhere", opts), 404, "NOT_FOUND");
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 100, token: "9418594164547023", expiry: EXPIRY }, opts), 502, "PROVIDER_ERROR");
    const timeout = expectPosError(await post("/api/v1/payments/authorize", { amountCents: 100, token: "9418594164547007", expiry: EXPIRY }, opts), 504, "PROVIDER_TIMEOUT");
    const pending = (timeout.details[0] as { paymentIntentId: string }).paymentIntentId;
    const v1 = await get<PaymentIntentJson>(`/v1/payment_intents/${pending}`, opts);
    expect(v1.body.status).toBe("processing");
    const first = await post<Data>("/api/v1/payments/authorize", { clientRequestId: "dup-1", amountCents: 100, token: "9418594164541111", expiry: EXPIRY }, opts);
    expect(first.status).toBe(201);
    expectPosError(await post("/api/v1/payments/authorize", { clientRequestId: "dup-1", amountCents: 101, token: "9418594164541111", expiry: EXPIRY }, opts), 409, "DUPLICATE_REQUEST");
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 100 }, { key: null }), 401, "UNAUTHORIZED");
    expectPosError(await call("POST", "/api/v1/payments/sale", { ...opts, body: "x" }), 400, "VALIDATION_ERROR");
    const raw = async (body: string, type: string) => {
      const res = await exports.default.fetch(new Request("http://gateway.test/api/v1/payments/sale", { method: "POST", headers: { authorization: `Bearer ${String(opts.key)}`, "content-type": type }, body }));
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expectPosError(await raw("x", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE");
    // Malformed JSON is told to be JSON: this API reads no form parameters.
    const malformed = await raw("{\"amountCents\": ", "application/json");
    expectPosError(malformed, 400, "VALIDATION_ERROR");
    expect((malformed.body as { error: { message: string } }).error.message).toBe("Invalid JSON in the request body. Send a JSON object.");
    expectPosError(await raw(JSON.stringify({ pad: "x".repeat(70_000) }), "application/json"), 413, "PAYLOAD_TOO_LARGE");
  });
});

describe("seed 002 permissions and entitlement", () => {
  const routes: [string, string, string][] = [
    ["POST", "/api/v1/payments/authorize", "payments.transactions.create"],
    ["POST", "/api/v1/payments/sale", "payments.transactions.create"],
    ["POST", "/api/v1/payments/capture", "payments.transactions.create"],
    ["POST", "/api/v1/payments/void", "payments.transactions.void"],
    ["POST", "/api/v1/payments/refund", "payments.transactions.void"],
    ["GET", "/api/v1/payments/transactions", "payments.transactions.view"],
    ["GET", "/api/v1/payments/transactions/pi_x00000000000000", "payments.transactions.view"],
    ["GET", "/api/v1/payments/failed", "payments.transactions.view"],
    // The seed's permission: payments.transactions.void ("write access").
    ["POST", "/api/v1/payments/failed/pi_x00000000000000/retry", "payments.transactions.void"],
    ["POST", "/api/v1/payments/failed/pi_x00000000000000/resolve", "payments.transactions.void"],
    ["POST", "/api/v1/customers/cust-1/payment-methods", "payments.methods.manage"],
    ["GET", "/api/v1/customers/cust-1/payment-methods", "payments.methods.view"],
    ["DELETE", "/api/v1/customers/cust-1/payment-methods/pm_x", "payments.methods.manage"],
  ];
  it("each route needs its permission (403 FORBIDDEN without it, past auth with it)", async () => {
    const { id } = await newMerchant("pos-perms");
    const all = ["payments.transactions.create", "payments.transactions.void", "payments.transactions.view", "payments.methods.manage", "payments.methods.view"];
    for (const [method, path, permission] of routes) {
      const needed = permission.split("+");
      // Without any one of them (the others all held): 403.
      for (const missing of needed) {
        const without = await hsToken({ merchant: id, permissions: all.filter((p) => p !== missing) });
        expectPosError(await call(method, path, { key: without, body: method === "GET" || method === "DELETE" ? undefined : {} }), 403, "FORBIDDEN");
      }
      const withIt = await hsToken({ merchant: id, permissions: needed });
      const res = await call(method, path, { key: withIt, body: method === "GET" || method === "DELETE" ? undefined : {} });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).not.toBe(403);
    }
  });

  it("a customer's token pays for itself only and never captures or refunds", async () => {
    const { id, opts } = await newMerchant("pos-shopper");
    const shopper = await hsToken({ merchant: id, roles: ["customer"], customer: "cust-shopper" });
    const own = await post<Data>("/api/v1/payments/authorize", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY }, { key: shopper });
    expect(own.status).toBe(201);
    expect(own.body.data.customerId).toBe("cust-shopper");
    expectPosError(await post("/api/v1/payments/authorize", { amountCents: 300, token: "9418594164541111", expiry: EXPIRY, customerId: "cust-other" }, { key: shopper }), 403, "FORBIDDEN");
    expectPosError(await post("/api/v1/payments/capture", { paymentIntentId: own.body.data.id }, { key: shopper }), 403, "FORBIDDEN");
    expectPosError(await post("/api/v1/payments/refund", { paymentIntentId: own.body.data.id }, { key: shopper }), 403, "FORBIDDEN");
    const merchantSale = (await sale(opts, { customerId: "cust-other" })).body.data;
    expectPosError(await get(`/api/v1/payments/transactions/${String(merchantSale.id)}`, { key: shopper }), 404, "NOT_FOUND");
    const mine = await get<{ data: { id: string }[] }>("/api/v1/payments/transactions", { key: shopper });
    expect(mine.body.data.map((r) => r.id)).toEqual([own.body.data.id]);
  });

  it("a merchant without the payments entitlement gets 403 on every route of the surface", async () => {
    const { id, opts } = await newMerchant("pos-noent");
    await env.DB.prepare("UPDATE merchants SET payments_entitlement = 0 WHERE id = ?").bind(id).run();
    for (const [method, path] of routes) {
      expectPosError(await call(method, path, { ...opts, body: method === "GET" || method === "DELETE" ? undefined : {} }), 403, "FORBIDDEN");
    }
    // /v1 is not gated by it.
    expect((await get("/v1/payment_intents", opts)).status).toBe(200);
  });
});

describe("seed 002 clientRequestId", () => {
  it("a retry of a failed payment sent again with its clientRequestId replays its answer (201, the same payment), not INVALID_STATE", async () => {
    const { opts } = await newMerchant("pos-idem-retry");
    const failed = await sale(opts, { amountCents: 2500, token: "9418594164540002" });
    expect(failed.body.data.status).toBe("declined");
    const body = { clientRequestId: uniqueKey("retry-001"), token: "9418594164549999", paymentMethodType: "card" };
    const first = await post<Data>(`/api/v1/payments/failed/${String(failed.body.data.id)}/retry`, body, opts);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.data.status).toBe("captured");
    const again = await post<Data>(`/api/v1/payments/failed/${String(failed.body.data.id)}/retry`, body, opts);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.data).toEqual(first.body.data);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    // Another retry (another clientRequestId, or none) of the now resolved payment is still refused.
    expectPosError(await post(`/api/v1/payments/failed/${String(failed.body.data.id)}/retry`, { ...body, clientRequestId: uniqueKey("retry-002") }, opts), 409, "INVALID_STATE");
    expectPosError(await post(`/api/v1/payments/failed/${String(failed.body.data.id)}/retry`, { token: "9418594164549999" }, opts), 409, "INVALID_STATE");
  });

  it("the standard Idempotency-Key header works as clientRequestId: a sale and a refund sent twice happen once; header and field differing is a 400", async () => {
    const { opts } = await newMerchant("pos-idem-header");
    const key = uniqueKey("sale-h");
    const body = { amountCents: 5000, token: "9418594164541111", expiry: EXPIRY };
    const first = await post<Data>("/api/v1/payments/sale", body, { ...opts, idempotencyKey: key });
    const again = await post<Data>("/api/v1/payments/sale", body, { ...opts, idempotencyKey: key });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(again.body.data.id).toBe(first.body.data.id);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const id = String(first.body.data.id);
    const refund = { paymentIntentId: id, amountCents: 1000 };
    const refundKey = uniqueKey("refund-h");
    for (let i = 0; i < 2; i++) expect((await post("/api/v1/payments/refund", refund, { ...opts, idempotencyKey: refundKey })).status).toBe(200);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.amount_refunded).toBe(1000);
    // The same key, another body: refused as a reused clientRequestId is.
    expectPosError(await post("/api/v1/payments/refund", { ...refund, amountCents: 500 }, { ...opts, idempotencyKey: refundKey }), 409, "DUPLICATE_REQUEST");
    expectPosError(await post("/api/v1/payments/refund", { ...refund, clientRequestId: "other" }, { ...opts, idempotencyKey: uniqueKey("refund-x") }), 400, "VALIDATION_ERROR");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body.amount_refunded).toBe(1000);
  });

  it("a request refused by validation binds nothing: the corrected request with the same id goes through", async () => {
    const { opts } = await newMerchant("pos-idem-invalid");
    const body = { clientRequestId: "fix-me", amountCents: 700, token: "9418594164541111", currency: "USD" };
    expectPosError(await post("/api/v1/payments/sale", { ...body, expiry: "0120" }, opts), 400, "VALIDATION_ERROR");
    expectPosError(await post("/api/v1/payments/sale", { ...body, token: "not-a-token", expiry: EXPIRY }, opts), 400, "VALIDATION_ERROR");
    const ok = await post<Data>("/api/v1/payments/sale", { ...body, expiry: EXPIRY }, opts);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const saved = await post("/api/v1/customers/cust-fix/payment-methods", { clientRequestId: "save-fix", token: "9418594164541111", expiry: "0120" }, opts);
    expectPosError(saved, 400, "VALIDATION_ERROR");
    expect((await post("/api/v1/customers/cust-fix/payment-methods", { clientRequestId: "save-fix", token: "9418594164541111", expiry: EXPIRY }, opts)).status).toBe(201);
  });

  it("the same id and body replay the first answer, even concurrently: one payment", async () => {
    const { opts } = await newMerchant("pos-idem");
    const body = { clientRequestId: "sale-same", amountCents: 1234, token: "9418594164541111", expiry: EXPIRY, currency: "USD" };
    const results = await Promise.all(Array.from({ length: 6 }, () => post<Data>("/api/v1/payments/sale", body, opts)));
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(201);
    const ids = new Set(results.map((r) => r.body.data.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBe(5);
    const list = await get<{ data: unknown[] }>("/api/v1/payments/transactions", opts);
    expect(list.body.data.length).toBe(1);
    // One call to the processor: the sale's authorize and capture rows.
    const detail = await get<{ data: { transactions: { type: string }[] } }>(`/api/v1/payments/transactions/${String(results[0]?.body.data.id)}`, opts);
    expect(detail.body.data.transactions.map((t) => t.type)).toEqual(["authorize", "capture"]);
  });

  it("the same id with different bodies, concurrently: exactly one wins, the others are DUPLICATE_REQUEST", async () => {
    const { opts } = await newMerchant("pos-idem-conflict");
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => post<Data>("/api/v1/payments/sale", { clientRequestId: "sale-race", amountCents: 100 + i, token: "9418594164541111", expiry: EXPIRY }, opts)),
    );
    expect(results.filter((r) => r.status === 201).length).toBe(1);
    for (const r of results.filter((x) => x.status !== 201)) expectPosError(r, 409, "DUPLICATE_REQUEST");
    // The key is bound merchant-wide: the same key on /v1 is refused too.
    const v1 = await post("/v1/payment_intents", { amount: 100, currency: "usd" }, { ...opts, idempotencyKey: "sale-race" });
    expect(v1.status).toBe(400);
    // A capture replays too.
    const auth = (await post<Data>("/api/v1/payments/authorize", { amountCents: 500, token: "9418594164541111", expiry: EXPIRY }, opts)).body.data;
    const cap = { clientRequestId: "cap-same", paymentIntentId: auth.id, amountCents: 300 };
    const [c1, c2] = await Promise.all([post<Data>("/api/v1/payments/capture", cap, opts), post<Data>("/api/v1/payments/capture", cap, opts)]);
    expect(c1.status).toBe(200);
    expect(c2.status).toBe(200);
    expect(c2.body.data).toEqual(c1.body.data);
    expectPosError(await post("/api/v1/payments/capture", { ...cap, amountCents: 200 }, opts), 409, "DUPLICATE_REQUEST");
  });
});

describe("seed 002 transaction filters", () => {
  it("GET /failed with only dateTo: dateFrom defaults to 30 days ago, so a dateTo before it is an empty answer, not a 400 about dateFrom", async () => {
    const { opts } = await newMerchant("pos-failed-dateto");
    const declined = await sale(opts, { amountCents: 2500, token: "9418594164540002" });
    expect(declined.body.data.status).toBe("declined");
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const old = await get<{ data: unknown[]; meta: unknown }>(`/api/v1/payments/failed?dateTo=${day(60)}`, opts);
    expect(old.status, JSON.stringify(old.body)).toBe(200);
    expect(old.body).toEqual({ data: [], meta: { cursor: null, hasMore: false } });
    const counts = await get<Data>(`/api/v1/payments/failed?counts=true&dateTo=${day(45)}`, opts);
    expect(counts.status, JSON.stringify(counts.body)).toBe(200);
    expect(counts.body).toEqual({ data: { total: 0, declined: 0, error: 0 } });
    // The day 30 days ago itself overlaps the default window: an answer too.
    expect((await get(`/api/v1/payments/failed?dateTo=${day(30)}`, opts)).status).toBe(200);
    // A dateTo in the window lists what it covers; a dateTo before a dateFrom the client sent is still a 400.
    const today = await get<{ data: { id: string }[] }>(`/api/v1/payments/failed?dateTo=${day(0)}`, opts);
    expect(today.body.data.map((r) => r.id)).toEqual([declined.body.data.id]);
    expectPosError(await get(`/api/v1/payments/failed?dateFrom=${day(1)}&dateTo=${day(2)}`, opts), 400, "VALIDATION_ERROR");
  });

  it("GET /failed over any window (longer than 31 days, or from a date on), list and counts: the failed payments' own indexes serve it", async () => {
    const { opts } = await newMerchant("pos-failed-long");
    const declined = await sale(opts, { amountCents: 2500, token: "9418594164540002" });
    expect(declined.body.data.status).toBe("declined");
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    for (const window of [`dateFrom=${day(90)}`, `dateFrom=2020-01-01&dateTo=${day(0)}`, `dateFrom=${day(400)}&dateTo=${day(-1)}`]) {
      const list = await get<{ data: { id: string }[]; meta: unknown }>(`/api/v1/payments/failed?${window}`, opts);
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      expect(list.body.data.map((r) => r.id)).toEqual([declined.body.data.id]);
      expect(list.body.meta).toEqual({ cursor: null, hasMore: false });
      const counts = await get<Data>(`/api/v1/payments/failed?counts=true&${window}`, opts);
      expect(counts.status, JSON.stringify(counts.body)).toBe(200);
      expect(counts.body).toEqual({ data: { total: 1, declined: 1, error: 0 } });
    }
    expectPosError(await get(`/api/v1/payments/failed?dateFrom=${day(40)}&dateTo=${day(90)}`, opts), 400, "VALIDATION_ERROR");
  });

  it("every filter against a few hundred payments, with cursor pages", async () => {
    const { opts } = await newMerchant("pos-filters");
    const locations = ["loc-1", "loc-2", "loc-3"];
    const cards = ["1111", "4444", "0002"];
    const made: { id: string; amount: number; loc: string; card: string; order: string; customer: string; status: string }[] = [];
    for (let batch = 0; batch < 12; batch++) {
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const i = batch * 20 + j;
          const card = cards[i % 3] ?? "1111";
          const body = { amountCents: 100 + i, token: `941859416454${card}`, expiry: EXPIRY, locationId: locations[i % 3], orderId: `order-${i % 7}`, customerId: `cust-${i % 5}` };
          return post<Data>(i % 4 === 0 ? "/api/v1/payments/authorize" : "/api/v1/payments/sale", body, opts).then((r) => ({ r, i, card }));
        }),
      );
      for (const { r, i, card } of rs) {
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        made.push({ id: String(r.body.data.id), amount: 100 + i, loc: locations[i % 3] ?? "", card, order: `order-${i % 7}`, customer: `cust-${i % 5}`, status: String(r.body.data.status) });
      }
    }
    expect(made.length).toBe(240);
    const all = async (query: string): Promise<string[]> => {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 50; guard++) {
        const res: { status: number; body: { data: { id: string }[]; meta: { cursor: string | null; hasMore: boolean } } } = await get(`/api/v1/payments/transactions?limit=100&${query}${cursor ? `&cursor=${cursor}` : ""}`, opts);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        ids.push(...res.body.data.map((d) => d.id));
        if (!res.body.meta.hasMore) break;
        cursor = res.body.meta.cursor;
      }
      return ids.sort();
    };
    const expectIds = (rows: typeof made) => rows.map((m) => m.id).sort();
    expect(await all("")).toEqual(expectIds(made));
    expect(await all("status=authorized")).toEqual(expectIds(made.filter((m) => m.status === "authorized")));
    expect(await all("status=captured")).toEqual(expectIds(made.filter((m) => m.status === "captured")));
    expect(await all("status=declined")).toEqual(expectIds(made.filter((m) => m.status === "declined")));
    expect(await all("locationId=loc-2")).toEqual(expectIds(made.filter((m) => m.loc === "loc-2")));
    expect(await all("cardLast4=4444")).toEqual(expectIds(made.filter((m) => m.card === "4444")));
    expect(await all("orderId=order-3")).toEqual(expectIds(made.filter((m) => m.order === "order-3")));
    expect(await all("customerId=cust-2&locationId=loc-1")).toEqual(expectIds(made.filter((m) => m.customer === "cust-2" && m.loc === "loc-1")));
    const today = new Date().toISOString().slice(0, 10);
    // An amount range has no index of its own: in a date window (at most 31 days) one query, alone a
    // bounded walk (the paging of the walk is tested below); the same answers.
    expect(await all(`amountMinCents=150&amountMaxCents=199&dateFrom=${today}&dateTo=${today}`)).toEqual(expectIds(made.filter((m) => m.amount >= 150 && m.amount <= 199)));
    expect(await all("amountMinCents=150")).toEqual(expectIds(made.filter((m) => m.amount >= 150)));
    expect(await all("amountMaxCents=120&locationId=loc-2")).toEqual(expectIds(made.filter((m) => m.amount <= 120 && m.loc === "loc-2")));
    expect(await all("amountMinCents=300&dateFrom=2020-01-01")).toEqual(expectIds(made.filter((m) => m.amount >= 300)));
    expectPosError(await get("/api/v1/payments/transactions?amountMinCents=150&amountMaxCents=149", opts), 400, "VALIDATION_ERROR");
    expect((await all(`dateFrom=${today}&dateTo=${today}`)).length).toBe(240);
    expect(await all("dateTo=2020-01-01")).toEqual([]);
    const page = await get<{ data: unknown[]; meta: { cursor: string; hasMore: boolean } }>("/api/v1/payments/transactions", opts);
    expect(page.body.data.length).toBe(25);
    expect(page.body.meta.hasMore).toBe(true);
    expect(page.body.meta.cursor).toMatch(/^pi_/);
    expectPosError(await get("/api/v1/payments/transactions?limit=101", opts), 400, "VALIDATION_ERROR");
    expectPosError(await get("/api/v1/payments/transactions?limit=0", opts), 400, "VALIDATION_ERROR");
    expectPosError(await get("/api/v1/payments/transactions?dateFrom=2026-13-01", opts), 400, "VALIDATION_ERROR");
    expectPosError(await get("/api/v1/payments/transactions?cardLast4=12", opts), 400, "VALIDATION_ERROR");
    expectPosError(await get("/api/v1/payments/transactions?cursor=bogus", opts), 400, "VALIDATION_ERROR");
    expectPosError(await get("/api/v1/payments/transactions?status=weird", opts), 400, "VALIDATION_ERROR");
    // The filters are answered from indexes.
    const plan = await env.DB.prepare("EXPLAIN QUERY PLAN SELECT data FROM payment_intents WHERE merchant_id = ? AND livemode = 0 AND location_id = ? ORDER BY created DESC, id DESC LIMIT 26").bind("x", "loc-1").all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join(" ")).toMatch(/USING INDEX payment_intents_location/);
  }, 300_000);
});

describe("seed 002: an amount range alone, served by a bounded walk (partial pages)", () => {
  // Read-model rows written directly (3,600 of them, cheaper than as many payments): i = 0 is the
  // newest; a page walks at most 1,000 rows (AMOUNT_WALK_ROWS of src/api/pos/reads.ts).
  const ROWS = 3600;
  const MATCHES = [3, 7, 8, 9, 950, 999, 1000, 3500, 3599];

  async function seeded(label: string): Promise<{ opts: CallOptions; ids: string[] }> {
    const merchant = await newMerchant(label);
    const prefix = `pi_${merchant.id.slice(5)}`;
    const base = Date.now() - 60_000;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, location_id, amount_refunded, created, updated, version, data)
       SELECT ?2 || printf('%06d', i), ?3, 0, 'succeeded', CASE WHEN i IN (SELECT value FROM json_each(?4)) THEN 5000 + i ELSE 100 END, 'usd', 'loc-1', 0, ?5 - i * 1000, ?5 - i * 1000, 1,
         json_object('tipAmount', 0, 'metadata', json('{}'), 'attempts', json('[]'), 'refunds', json('[]'), 'lineItems', json('[]'))
       FROM n`,
    )
      .bind(ROWS - 1, prefix, merchant.id, JSON.stringify(MATCHES), base)
      .run();
    return { opts: merchant.opts, ids: Array.from({ length: ROWS }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`) };
  }

  type ListPage = { data: { id: string; amountCents: number }[]; meta: { cursor: string | null; hasMore: boolean } };
  async function loop(opts: CallOptions, query: string): Promise<ListPage[]> {
    const pages: ListPage[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const res: { status: number; body: ListPage } = await get(`/api/v1/payments/transactions?${query}${cursor ? `&cursor=${cursor}` : ""}`, opts);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      pages.push(res.body);
      if (!res.body.meta.hasMore) break;
      cursor = res.body.meta.cursor;
    }
    return pages;
  }

  it("a client looping on hasMore gets every match once, newest first, across partial and empty pages", async () => {
    const { opts, ids } = await seeded("pos-walk");
    const expected = MATCHES.map((i) => ids[i]);
    const pages = await loop(opts, "limit=3&amountMinCents=5000");
    expect(pages.flatMap((p) => p.data.map((d) => d.id))).toEqual(expected);
    // Page 1 and 2: full pages from the first walks; page 3: row 1000 only of a walk of rows 1000-1999,
    // ending on that walk's last row (not a match); page 4: none of rows 2000-2999; page 5: the rest, the end.
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1, 0, 2]);
    expect(pages.map((p) => p.meta)).toEqual([
      { cursor: ids[8], hasMore: true },
      { cursor: ids[999], hasMore: true },
      { cursor: ids[1999], hasMore: true },
      { cursor: ids[2999], hasMore: true },
      { cursor: null, hasMore: false },
    ]);
    for (const p of pages) for (const d of p.data) expect(d.amountCents).toBeGreaterThanOrEqual(5000);
    // Bigger pages, both bounds, a window longer than 31 days, a location: the same matches.
    expect((await loop(opts, "limit=100&amountMinCents=5000&amountMaxCents=99999")).flatMap((p) => p.data.map((d) => d.id))).toEqual(expected);
    const since = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
    expect((await loop(opts, `amountMinCents=5950&dateFrom=${since}`)).flatMap((p) => p.data.map((d) => d.id))).toEqual(expected.slice(4));
    expect((await loop(opts, "limit=100&amountMaxCents=5009&locationId=loc-1")).flatMap((p) => p.data.map((d) => d.id))).toEqual(ids.filter((_, i) => !MATCHES.includes(i) || i <= 9));
  }, 120_000);
});

describe("seed 002 in the OpenAPI document", () => {
  it("registers every route", async () => {
    const doc = await get<{ paths: Record<string, Record<string, unknown>> }>("/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    const expected: [string, string][] = [
      ["/api/v1/payments/authorize", "post"],
      ["/api/v1/payments/capture", "post"],
      ["/api/v1/payments/sale", "post"],
      ["/api/v1/payments/void", "post"],
      ["/api/v1/payments/refund", "post"],
      ["/api/v1/payments/transactions", "get"],
      ["/api/v1/payments/transactions/{id}", "get"],
      ["/api/v1/payments/failed", "get"],
      ["/api/v1/payments/failed/{id}/retry", "post"],
      ["/api/v1/payments/failed/{id}/resolve", "post"],
      ["/api/v1/customers/{id}/payment-methods", "post"],
      ["/api/v1/customers/{id}/payment-methods", "get"],
      ["/api/v1/customers/{id}/payment-methods/{methodId}", "delete"],
    ];
    for (const [path, method] of expected) expect(doc.body.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });
});
