// Seed 002 answers a refusal in the processor's words: its transaction history shows an approval as
// responseCode "00", responseText "Approval", and its failed list a decline as errorMessage
// "Insufficient funds", latestResponseText "Decline". We answered our long sentences there ("Your
// card has insufficient funds."), which stay /v1's (failure_message, last_payment_error).
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, uniqueKey, type ChargeJson, type ListJson } from "../../helpers";

interface Payment {
  id: string;
  status: string;
  errorMessage?: string;
  responseCode?: string;
  responseText?: string;
}
interface Row {
  id: string;
  type: string;
  status: string;
  responseCode: string;
  responseText: string;
}
interface FailedRow {
  id: string;
  errorMessage: string;
  latestResponseText: string;
}

// Vault tokens of the sandbox's declining cards (the last four name the card), their codes and words.
const CASES = [
  { token: "9418594164540002", status: "declined", code: "card_declined", text: "Decline", reason: "Card declined", v1: "Your card was declined." },
  { token: "9418594164549995", status: "declined", code: "card_declined", text: "Decline", reason: "Insufficient funds", v1: "Your card has insufficient funds." },
  { token: "9418594164549987", status: "declined", code: "card_declined", text: "Pick up card", reason: "Lost card", v1: "Your card was declined." },
  { token: "9418594164540069", status: "declined", code: "expired_card", text: "Expired card", reason: "Expired card", v1: "Your card has expired." },
  { token: "9418594164540127", status: "declined", code: "incorrect_cvc", text: "CVV mismatch", reason: "Incorrect CVV", v1: "Your card's security code is incorrect." },
  { token: "9418594164540119", status: "error", code: "processing_error", text: "System error", reason: "Processing error", v1: "An error occurred while processing your card. Try again in a little bit." },
] as const;

describe("seed 002: a refusal in the processor's words", () => {
  it("the sale's answer, its history row and its failed row: a short response text beside the code kept, a short errorMessage; /v1 keeps its sentences", async () => {
    const { opts } = await newMerchant("pos-response-texts");
    for (const c of CASES) {
      const sale = await post<{ data: Payment }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("rt"), amountCents: 2500, currency: "USD", token: c.token, expiry: "1239" }, opts);
      expect(sale.status, JSON.stringify(sale.body)).toBe(201);
      expect(sale.body.data, c.token).toMatchObject({ status: c.status, errorMessage: c.reason, responseCode: c.code, responseText: c.text });
      const id = sale.body.data.id;
      const history = await get<{ data: { transactions: Row[] } }>(`/api/v1/payments/transactions/${id}`, opts);
      expect(history.body.data.transactions, c.token).toEqual([expect.objectContaining({ type: "authorize", status: c.status, responseCode: c.code, responseText: c.text })]);
      const failed = await get<{ data: FailedRow[] }>("/api/v1/payments/failed?limit=100", opts);
      expect(failed.body.data.find((r) => r.id === id), c.token).toMatchObject({ errorMessage: c.reason, latestResponseText: c.text });
      const charges = await get<ListJson<ChargeJson>>(`/v1/charges?payment_intent=${id}`, opts);
      expect(charges.body.data[0]?.failure_message, c.token).toBe(c.v1);
    }
    // An approval reads as the seed shows it.
    const ok = await post<{ data: Payment }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("rt"), amountCents: 2500, currency: "USD", token: "9418594164541111", expiry: "1239" }, opts);
    const rows = await get<{ data: { transactions: Row[] } }>(`/api/v1/payments/transactions/${ok.body.data.id}`, opts);
    for (const row of rows.body.data.transactions) expect(row).toMatchObject({ status: "approved", responseCode: "00", responseText: "Approval" });
  });
});

describe("seed 002: a card that asks for 3D Secure", () => {
  it("is declined (authentication_required), a failed payment to retry, never a payment left pending with no step to finish it", async () => {
    const { opts } = await newMerchant("pos-3ds-declined");
    for (const path of ["/api/v1/payments/sale", "/api/v1/payments/authorize"]) {
      const res = await post<{ data: Payment }>(path, { clientRequestId: uniqueKey("3ds"), amountCents: 1500, currency: "USD", token: "9418594164543184", expiry: "1239" }, opts);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.data, path).toMatchObject({ status: "declined", responseCode: "authentication_required", responseText: "Decline", errorMessage: "Authentication required" });
      const failed = await get<{ data: FailedRow[] }>("/api/v1/payments/failed?limit=100", opts);
      expect(failed.body.data.map((r) => r.id), path).toContain(res.body.data.id);
    }
    // A retry with such a card: declined too.
    const declined = await post<{ data: Payment }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("3ds"), amountCents: 1500, currency: "USD", token: "9418594164540002", expiry: "1239" }, opts);
    const retry = await post<{ data: Payment }>(`/api/v1/payments/failed/${declined.body.data.id}/retry`, { token: "9418594164543184", expiry: "1239" }, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.data).toMatchObject({ status: "declined", responseCode: "authentication_required" });
    // And a card that passes goes through as before.
    const ok = await post<{ data: Payment }>(`/api/v1/payments/failed/${declined.body.data.id}/retry`, { token: "9418594164541111", expiry: "1239" }, opts);
    expect(ok.body.data).toMatchObject({ status: "captured" });
  });
});

describe("seed 002: the processor's failure (502 PROVIDER_ERROR) in this API's words", () => {
  it("says to retry the failed payment under /payments/failed, not to confirm it again (a /v1 word this API has no route for)", async () => {
    const { opts } = await newMerchant("pos-provider-error-words");
    type Err = { error: { code: string; message: string; details: { paymentIntentId?: string }[] } };
    const sale = await post<Err>("/api/v1/payments/sale", { clientRequestId: uniqueKey("pe"), amountCents: 1000, currency: "USD", token: "9418594164547023", expiry: "1239" }, opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(502);
    const id = sale.body.error.details[0]?.paymentIntentId ?? "";
    expect(sale.body.error.code).toBe("PROVIDER_ERROR");
    expect(sale.body.error.message).toBe(`The payment processor failed: sandbox PSP answered 503 Service Unavailable. No money moved; retry the payment with POST /api/v1/payments/failed/${id}/retry.`);
    // A retry that fails the same way names its original, the payment to retry.
    const retry = await post<Err>(`/api/v1/payments/failed/${id}/retry`, {}, opts);
    expect(retry.status, JSON.stringify(retry.body)).toBe(502);
    expect(retry.body.error.message).toContain(`/api/v1/payments/failed/${id}/retry`);
    for (const res of [sale, retry]) expect(res.body.error.message).not.toMatch(/confirm/);
  });
});
