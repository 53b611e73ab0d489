// Seed 002's cvvResponse is the processor's CVV check: M (match) only when the request carried a cvv;
// a payment without one (a new card sent without cvv, a card on file, a retry) is P, not processed.
// The cvv itself is never kept.
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, uniqueKey, type CallOptions } from "../../helpers";

const EXPIRY = "1239";
type Data = { data: Record<string, unknown> };

async function pay(path: string, body: Record<string, unknown>, opts: CallOptions): Promise<Record<string, unknown>> {
  const res = await post<Data>(path, { clientRequestId: uniqueKey("cvv"), ...body }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

describe("seed 002 cvvResponse", () => {
  it("is M when the request sent a cvv and P when it did not: new card, card on file, retry", async () => {
    const { opts } = await newMerchant("pos-cvv");
    const card = { token: "9418594164541111", expiry: EXPIRY, currency: "USD" };
    expect(await pay("/api/v1/payments/authorize", { amountCents: 5000, ...card, cvv: "123" }, opts)).toMatchObject({ status: "authorized", avsResponse: "Y", cvvResponse: "M" });
    expect(await pay("/api/v1/payments/authorize", { amountCents: 5000, ...card }, opts)).toMatchObject({ status: "authorized", avsResponse: "Y", cvvResponse: "P" });
    const sale = await pay("/api/v1/payments/sale", { amountCents: 1500, ...card }, opts);
    expect(sale).toMatchObject({ status: "captured", cvvResponse: "P" });

    // A card on file: no CVV unless the request sends one.
    const saved = await post<Data>("/api/v1/customers/cust-cvv/payment-methods", { token: card.token, expiry: EXPIRY }, opts);
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const pm = String(saved.body.data.id);
    expect(await pay("/api/v1/payments/sale", { amountCents: 700, customerId: "cust-cvv", paymentMethodId: pm }, opts)).toMatchObject({ status: "captured", cvvResponse: "P" });
    expect(await pay("/api/v1/payments/sale", { amountCents: 700, customerId: "cust-cvv", paymentMethodId: pm, cvv: "321" }, opts)).toMatchObject({ status: "captured", cvvResponse: "M" });

    // A retry with the original card sends no CVV (it was never kept); one with a new card and its cvv does.
    const declined = await pay("/api/v1/payments/sale", { amountCents: 2500, token: "9418594164540002", expiry: EXPIRY, cvv: "123" }, opts);
    expect(declined.status).toBe("declined");
    const retried = await pay(`/api/v1/payments/failed/${String(declined.id)}/retry`, { token: "9418594164549999", paymentMethodType: "card" }, opts);
    expect(retried).toMatchObject({ status: "captured", cvvResponse: "P" });
    const declined2 = await pay("/api/v1/payments/sale", { amountCents: 2500, token: "9418594164540002", expiry: EXPIRY }, opts);
    expect(await pay(`/api/v1/payments/failed/${String(declined2.id)}/retry`, { token: "9418594164549999", cvv: "999" }, opts)).toMatchObject({ status: "captured", cvvResponse: "M" });

    // /v1 reads the same check: unavailable, not pass, for the sale sent without a cvv.
    const v1 = await get<{ latest_charge: { payment_method_details: { card: { checks: { cvc_check: string | null } } } } }>(`/v1/payment_intents/${String(sale.id)}?expand[]=latest_charge`, opts);
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect(v1.body.latest_charge.payment_method_details.card.checks.cvc_check).toBe("unavailable");
  });
});
