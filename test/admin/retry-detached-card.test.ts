// A failed payment's retry with "the card that failed" charged a saved card its customer had detached
// since (the retry took the card the failed payment remembers, re-badged it, and sent an authorize to
// the PSP). The card is now checked as it is stored now, as paying with a saved card is everywhere: a
// detached one is refused (400 payment_method_unexpected_state), and so is one that is no longer the
// payment's customer's, or whose customer was deleted. Nothing reaches the PSP. /v1's operator route
// and seed 002's retry alike.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createIntent, expectError, get, newMerchant, post, uniqueKey, type CallOptions, type PaymentIntentJson } from "../helpers";

const EXPIRY = "1239";

/** Authorizations sent to the PSP for the merchant's payments (the read model's attempts), and the payments made. */
async function authorizations(merchant: string): Promise<{ intents: number; authorizes: number }> {
  const rows = await env.DB.prepare("SELECT data FROM payment_intents WHERE merchant_id = ?").bind(merchant).all<{ data: string }>();
  const authorizes = rows.results.flatMap((r) => (JSON.parse(r.data) as { attempts?: { type: string }[] }).attempts ?? []).filter((a) => a.type === "authorize").length;
  return { intents: rows.results.length, authorizes };
}

/** Customer Z with pm_card_chargeDeclined saved (attached: a new pm_...), and a payment of Z with it, declined. */
async function declinedWithSavedCard(opts: CallOptions): Promise<{ customer: string; pm: string; failed: PaymentIntentJson }> {
  const customer = (await post<{ id: string }>("/v1/customers", { email: "z@example.com" }, opts)).body.id;
  const attached = await post<{ id: string; customer: string }>("/v1/payment_methods/pm_card_chargeDeclined/attach", { customer }, opts);
  expect(attached.status, JSON.stringify(attached.body)).toBe(200);
  const pm = attached.body.id;
  expect(pm).not.toBe("pm_card_chargeDeclined");
  const res = await createIntent({ amount: 3100, customer, payment_method: pm, confirm: true }, opts);
  const failed = expectError(res, 402).payment_intent as PaymentIntentJson;
  expect(failed.status).toBe("requires_payment_method");
  return { customer, pm, failed };
}

describe("/v1/admin/failed_payments/{id}/retry with the card that failed", () => {
  it("refuses a card detached since: 400 payment_method_unexpected_state, nothing sent to the PSP", async () => {
    const { id: merchant, opts } = await newMerchant("retry-detached");
    const { pm, failed } = await declinedWithSavedCard(opts);
    expect((await post(`/v1/payment_methods/${pm}/detach`, {}, opts)).status).toBe(200);
    const before = await authorizations(merchant);
    expect(before.authorizes).toBe(1);

    const retried = await post(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts);
    const error = expectError(retried, 400, "payment_method_unexpected_state");
    expect(error.param).toBe("payment_method");
    expect(await authorizations(merchant)).toEqual(before);
    const original = (await get<PaymentIntentJson & { resolution?: unknown }>(`/v1/payment_intents/${failed.id}`, opts)).body;
    expect(original.status).toBe("requires_payment_method");

    // With another card, the same failed payment is retried (and pays).
    const paid = await post<{ retry: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body.retry.status).toBe("succeeded");
  });

  it("refuses the card of a deleted customer, given or remembered", async () => {
    const { id: merchant, opts } = await newMerchant("retry-deleted-customer");
    const { customer, pm, failed } = await declinedWithSavedCard(opts);
    expect((await call("DELETE", `/v1/customers/${customer}`, opts)).status).toBe(200);
    const before = await authorizations(merchant);
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts), 400, "payment_method_unexpected_state");
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: pm }, opts), 400, "payment_method_unexpected_state");
    expect(await authorizations(merchant)).toEqual(before);
  });

  it("refuses a saved card that is no longer the payment's customer's", async () => {
    const { id: merchant, opts } = await newMerchant("retry-other-customer");
    const { failed } = await declinedWithSavedCard(opts);
    const other = (await post<{ id: string }>("/v1/customers", { email: "y@example.com" }, opts)).body.id;
    // The failed payment is given to another customer (its held payment method was cleared by the decline).
    const moved = await post<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, { customer: other }, opts);
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const before = await authorizations(merchant);
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts), 400, "payment_method_customer_mismatch");
    expect(await authorizations(merchant)).toEqual(before);
  });

  it("still retries with the card that failed while it is the customer's (and it declines again)", async () => {
    const { id: merchant, opts } = await newMerchant("retry-attached");
    const { failed } = await declinedWithSavedCard(opts);
    const retried = await post<{ retry: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts);
    expect(retried.status, JSON.stringify(retried.body)).toBe(402);
    expect(retried.body.retry.status).toBe("requires_payment_method");
    expect((await authorizations(merchant)).authorizes).toBe(2);
  });
});

describe("seed 002 /api/v1/payments/failed/{id}/retry with the card that failed", () => {
  type Data = { data: Record<string, unknown> };

  it("refuses a stored card removed since (400 VALIDATION_ERROR), nothing sent to the processor", async () => {
    const { id: merchant, opts } = await newMerchant("pos-retry-removed");
    const saved = await post<Data>("/api/v1/customers/cust-dz/payment-methods", { clientRequestId: uniqueKey("save"), token: "9418594164549995", expiry: EXPIRY }, opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const pmId = String(saved.body.data.id);
    const declined = await post<Data>("/api/v1/payments/sale", { amountCents: 900, currency: "USD", customerId: "cust-dz", paymentMethodId: pmId }, opts);
    expect(declined.status, JSON.stringify(declined.body)).toBe(201);
    expect(declined.body.data.status).toBe("declined");
    expect((await call("DELETE", `/api/v1/customers/cust-dz/payment-methods/${pmId}`, opts)).status).toBe(200);
    const before = await authorizations(merchant);

    const retried = await post<{ error: { code: string; message: string } }>(`/api/v1/payments/failed/${String(declined.body.data.id)}/retry`, {}, opts);
    expect(retried.status, JSON.stringify(retried.body)).toBe(400);
    expect(retried.body.error.code).toBe("VALIDATION_ERROR");
    expect(await authorizations(merchant)).toEqual(before);
  });
});
