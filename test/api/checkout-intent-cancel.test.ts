// A Checkout Session's payment intent, while the session is open, is the session's: canceling it
// alone (/v1, the dashboard, another surface) is refused, as at Stripe, and the session is expired
// instead, which cancels it. Once paid (authorized for a later capture), the intent may be canceled.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expireSession, sessionById } from "../../src/checkout/sessions";
import { expectError, get, post, type PaymentIntentJson } from "../helpers";

interface SessionJson {
  id: string;
  status: string;
  payment_intent: string;
  url: string | null;
}

async function session(extra: Record<string, unknown> = {}): Promise<SessionJson> {
  const res = await post<SessionJson>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: 1500, product_data: { name: "Beans" } }, quantity: 1 }],
    success_url: "https://shop.example/thanks",
    cancel_url: "https://shop.example/cart",
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The shopper pays the session on its page with a Visa (the page's 303 answer, its body dropped). */
async function payOnPage(s: SessionJson): Promise<Response> {
  const paid = await exports.default.fetch(
    new Request(`http://gateway.test/checkout/${s.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "card_number=4242424242424242&expiry=12%2F34&cvc=123",
      redirect: "manual",
    }),
  );
  await paid.body?.cancel();
  return paid;
}

describe("a Checkout Session's payment intent", () => {
  it("is not canceled alone while its session is open: the session says open, its page still takes the card", async () => {
    const s = await session();
    const refused = expectError(await post(`/v1/payment_intents/${s.payment_intent}/cancel`), 400, "payment_intent_unexpected_state");
    expect(refused.message).toContain("/expire");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`)).body.status).toBe("requires_payment_method");
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("open");
    const page = await (await exports.default.fetch(`http://gateway.test/checkout/${s.id}`)).text();
    expect(page).toContain("<form");
    // Expiring the session cancels it.
    expect((await post<SessionJson>(`/v1/checkout/sessions/${s.id}/expire`)).body.status).toBe("expired");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`)).body.status).toBe("canceled");
  });

  it("may be canceled once authorized (the session is complete): the hold is released", async () => {
    const s = await session({ payment_intent_data: { capture_method: "manual" } });
    await payOnPage(s);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`)).body.status).toBe("requires_capture");
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("complete");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}/cancel`)).body.status).toBe("canceled");
  });

  it("is never voided by its session's expiry once authorized: an expiry that meets a paid session (still open in D1) completes it and the hold stays capturable", async () => {
    const s = await session({ payment_intent_data: { capture_method: "manual" } });
    const paid = await payOnPage(s);
    expect(paid.status).toBe(303);
    // The expiry as it runs when it read the session in the instant between the authorization and the
    // session's completion (the page's, or the events consumer's): the merchant's expire, or the cron's at expires_at.
    const row = await sessionById(env.DB, s.id);
    expect(row?.status).toBe("complete");
    if (!row) return;
    const expired = await expireSession(env, { ...row, status: "open", paymentStatus: "unpaid", completedAt: null }, "http://gateway.test", "test");
    expect(expired.kind).toBe("complete");
    expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`)).body.status).toBe("complete");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`)).body.status).toBe("requires_capture");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}/capture`)).body.status).toBe("succeeded");
  });
});
