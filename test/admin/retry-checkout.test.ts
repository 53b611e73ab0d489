// Retrying failed payments (POST /v1/admin/failed_payments/:id/retry, seed 002's
// /payments/failed/:id/retry) keeps what the original was. A Checkout Session's payment declined on
// the session's page is not retried as a new payment: it would pay the order outside the session (no
// checkout.session.completed, never its success_url) while the session's page could still take
// another card; the shopper pays it there. A card that was to be held (payment_method_options[card]
// [capture_method]=manual) is held by the retry too.
import { describe, expect, it } from "vitest";
import { get, post, type ListJson, type PaymentIntentJson } from "../helpers";
import { open, sessionPath, submit } from "../pages/card-form";

describe("retrying a Checkout Session's failed payment", () => {
  it("is refused on /v1 (400 surface_payment_not_retryable) and on seed 002 (409 INVALID_STATE); nothing is charged; the session's page still pays it", async () => {
    const path = await sessionPath({ name: "Retry tea", unitAmount: 2100 });
    const declined = await submit(path, { card_number: "4000 0000 0000 0002" });
    expect(declined.status).toBe(303);
    const session = await get<{ payment_intent: string; status: string }>(`/v1/checkout/sessions/${path.split("/").pop() ?? ""}`);
    const intent = session.body.payment_intent;
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${intent}`)).body.status).toBe("requires_payment_method");
    const before = (await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100")).body.data.length;

    const v1 = await post<{ error: { code: string; message: string } }>(`/v1/admin/failed_payments/${intent}/retry`, { payment_method: "pm_card_visa" });
    expect(v1.status, JSON.stringify(v1.body)).toBe(400);
    expect(v1.body.error.code).toBe("surface_payment_not_retryable");
    expect(v1.body.error.message).toContain("Checkout Session");
    const pos = await post<{ error: { code: string } }>(`/api/v1/payments/failed/${intent}/retry`, { token: "9418594164541111", expiry: "1239" });
    expect(pos.status, JSON.stringify(pos.body)).toBe(409);
    expect(pos.body.error.code).toBe("INVALID_STATE");
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100")).body.data.length).toBe(before);
    // The failed-payments list says so up front (the dashboard then offers no Retry); an ordinary failed payment has no refusal.
    const plain = await post<{ error: { payment_intent?: PaymentIntentJson } }>("/v1/payment_intents", { amount: 900, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true });
    const listed = (await get<ListJson<PaymentIntentJson & { retry_refusal: string | null }>>("/v1/admin/failed_payments?limit=100")).body.data;
    expect(listed.find((p) => p.id === intent)?.retry_refusal).toContain("Checkout Session");
    expect(listed.find((p) => p.id === plain.body.error.payment_intent?.id)?.retry_refusal).toBeNull();

    // The shopper pays on the session's page: the session completes.
    const paid = await submit(path, {});
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe("https://shop.example/thanks");
    await (await open(path)).arrayBuffer();
    expect((await get<{ status: string }>(`/v1/checkout/sessions/${path.split("/").pop() ?? ""}`)).body.status).toBe("complete");
  });
});

describe("retrying a failed payment whose card was to be held", () => {
  it("payment_method_options[card][capture_method]=manual: the retry holds too (requires_capture), it captures nothing", async () => {
    const declined = await post<{ error: { payment_intent?: PaymentIntentJson } }>("/v1/payment_intents", {
      amount: 4200,
      currency: "usd",
      payment_method: "pm_card_chargeDeclined",
      confirm: true,
      payment_method_options: { card: { capture_method: "manual" } },
    });
    expect(declined.status).toBe(402);
    const failed = declined.body.error.payment_intent?.id ?? "";
    const retried = await post<{ retry: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed}/retry`, { payment_method: "pm_card_visa" });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.retry).toMatchObject({ status: "requires_capture", amount_capturable: 4200, amount_received: 0 });
  });
});
