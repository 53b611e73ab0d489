// A payment stopped by a provider error (the provider itself failed: no money moved, the card was not
// refused) is a failed payment whose reason is provider_error. Listed, it says so (failure_reason), and
// a retry without a payment method tries its card again, on /v1's operator route and seed 002's, rather
// than answering that "the failed payment method cannot be used again" (it never failed).
import { describe, expect, it } from "vitest";
import { createIntent, expectError, get, newMerchant, post, uniqueKey, type PaymentIntentJson } from "../helpers";

interface FailedItem extends PaymentIntentJson {
  failure_reason: string;
}

describe("a payment stopped by a provider error", () => {
  it("/v1: is listed with failure_reason provider_error, and retried with its own card when none is given", async () => {
    const { opts } = await newMerchant("retry-provider-error");
    const declined = await createIntent({ amount: 1500, payment_method: "pm_card_chargeDeclinedInsufficientFunds", confirm: true }, opts);
    expect(declined.status).toBe(402);
    const stopped = await createIntent({ amount: 1234, payment_method: "pm_card_sandboxProviderError", confirm: true }, opts);
    const id = (expectError(stopped, 502, "provider_error").payment_intent as PaymentIntentJson).id;

    const list = await get<{ data: FailedItem[]; counts_by_reason: Record<string, number> }>("/v1/admin/failed_payments", opts);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const reasons = Object.fromEntries(list.body.data.map((i) => [i.amount, i.failure_reason]));
    expect(reasons).toEqual({ 1234: "provider_error", 1500: "insufficient_funds" });
    expect(list.body.counts_by_reason).toMatchObject({ provider_error: 1, insufficient_funds: 1 });

    // Its card (the sandbox's provider-error card) is tried again: the provider fails again, so the
    // retry is another provider error, not a refusal to try.
    const retried = await post<{ retry: PaymentIntentJson | null; error?: { code: string } }>(`/v1/admin/failed_payments/${id}/retry`, {}, { ...opts, idempotencyKey: uniqueKey("r") });
    expect(retried.body.error?.code, JSON.stringify(retried.body)).toBe("provider_error");
    expect(retried.body.retry).toMatchObject({ retry_of: id, amount: 1234 });
    const card = (await get<{ card: { last4: string } }>(`/v1/payment_methods/${String(retried.body.retry?.payment_method)}`, opts)).body;
    expect(card.card.last4).toBe("7023");
  });

  it("/v1: declined on one card, then stopped by a provider error on another: provider_error, and the retry tries the second card", async () => {
    const { opts } = await newMerchant("retry-provider-error-mixed");
    const created = await createIntent({ amount: 1234 }, opts);
    expect(created.status).toBe(200);
    const id = (created.body as PaymentIntentJson).id;
    expectError(await post(`/v1/payment_intents/${id}/confirm`, { payment_method: "pm_card_chargeDeclined" }, opts), 402);
    expectError(await post(`/v1/payment_intents/${id}/confirm`, { payment_method: "pm_card_sandboxProviderError" }, opts), 502, "provider_error");
    const list = await get<{ data: FailedItem[] }>("/v1/admin/failed_payments", opts);
    expect(list.body.data.map((i) => [i.id, i.failure_reason])).toEqual([[id, "provider_error"]]);
    // The declined card is not charged again: the provider-error card is tried (and fails at the provider again).
    const retried = await post<{ retry: PaymentIntentJson | null; error?: { code: string } }>(`/v1/admin/failed_payments/${id}/retry`, {}, { ...opts, idempotencyKey: uniqueKey("r") });
    expect(retried.body.error?.code, JSON.stringify(retried.body)).toBe("provider_error");
    const card = (await get<{ card: { last4: string } }>(`/v1/payment_methods/${String(retried.body.retry?.payment_method)}`, opts)).body;
    expect(card.card.last4).toBe("7023");
  });

  it("seed 002: a retry without a card tries the payment's own card again", async () => {
    const { opts } = await newMerchant("retry-provider-error-pos");
    const sale = await post<{ error: { code: string; details: { paymentIntentId?: string }[] } }>(
      "/api/v1/payments/sale",
      { clientRequestId: uniqueKey("s"), amountCents: 2500, token: "9418594164547023", expiry: "1239", currency: "USD" },
      opts,
    );
    expect(sale.body.error.code, JSON.stringify(sale.body)).toBe("PROVIDER_ERROR");
    const id = sale.body.error.details[0]?.paymentIntentId ?? "";
    const failed = await get<{ data: { id: string; failureReason?: string }[] }>("/api/v1/payments/failed", opts);
    expect(failed.body.data.map((f) => f.id), JSON.stringify(failed.body)).toEqual([id]);
    // Its card is tried again (and the provider fails again): not "no card to try again".
    const retry = await post<{ error?: { code: string; message: string } }>(`/api/v1/payments/failed/${id}/retry`, {}, opts);
    expect(retry.body.error?.code, JSON.stringify(retry.body)).toBe("PROVIDER_ERROR");
  });
});
