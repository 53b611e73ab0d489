// A shopper coming back from the provider's page (Stripe's 3D Secure) by the return's POST after the
// Checkout Session's expires_at, before the cron expired it. As at Stripe, an expired session cannot
// complete: the return expires it first (its intent canceled, the challenge canceled at Stripe, so
// passing it later takes nothing), and sends the shopper to the session's "Checkout expired" page.
// Only money the provider already took (the challenge passed before the expiry could cancel it) is
// recorded, and then the session completes: the merchant is told (checkout.session.completed), never
// left with money captured on a session it was told expired.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { stripeLedger } from "../chaos/harness";
import { addConnector, get, newMerchant, post, type CallOptions, type ListJson, type PaymentIntentJson } from "../helpers";

interface SessionJson {
  id: string;
  url: string;
  status: string;
  payment_status: string;
  payment_intent: string;
}

async function stripeSession(label: string): Promise<{ opts: CallOptions; s: SessionJson; stripeId: string; secret: string }> {
  const { opts } = await newMerchant(label);
  await addConnector(opts, { connector: "stripe", credentials: { secret_key: `sk_test_fake_${label.replace(/-/g, "_")}` } });
  const s = (await post<SessionJson>("/v1/checkout/sessions", {
    mode: "payment",
    line_items: [{ price_data: { currency: "usd", unit_amount: 2600, product_data: { name: "Tea" } }, quantity: 1 }],
    success_url: "https://shop.example/thanks",
    cancel_url: "https://shop.example/cart",
  }, opts)).body;
  // The 3DS card on the session's page: the challenge is on Stripe's page.
  const paid = await exports.default.fetch(
    new Request(s.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "card_number=4000002760003184&expiry=12/34&cvc=123", redirect: "manual" }),
  );
  expect(paid.status).toBe(303);
  await paid.arrayBuffer();
  const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`, opts)).body;
  expect(pi.status).toBe("requires_action");
  const ledger = await stripeLedger(pi.id);
  expect(ledger.intents.map((i) => i.status)).toEqual(["requires_action"]);
  // Past its expires_at; the cron has not come by yet.
  await env.DB.prepare("UPDATE checkout_sessions SET expires_at = ? WHERE id = ?").bind(Date.now() - 1000, s.id).run();
  return { opts, s, stripeId: ledger.intents[0]?.id ?? "", secret: pi.client_secret };
}

function postReturn(intent: string, secret: string, canceled = false): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://gateway.test/connectors/return/${intent}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(secret)}${canceled ? "&canceled=true" : ""}`,
      redirect: "manual",
    }),
  );
}

async function passAtStripe(stripeId: string): Promise<void> {
  const res = await fetch(`${env.STRIPE_API_BASE}/3ds/${stripeId}`);
  await res.body?.cancel();
}

const received = async (intent: string) => (await stripeLedger(intent)).intents.reduce((sum, i) => sum + i.amount_received + i.amount_capturable, 0);

describe("the provider return of a Checkout Session past its expires_at", () => {
  it("expires the session (its intent canceled, the challenge canceled at Stripe) and leads to its 'Checkout expired' page: passing the challenge later takes nothing", async () => {
    for (const canceled of [false, true]) {
      const { opts, s, stripeId, secret } = await stripeSession(`return-overdue-${canceled ? "cancel" : "back"}`);
      const res = await postReturn(s.payment_intent, secret, canceled);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/checkout/${s.id}`);
      await res.arrayBuffer();
      expect((await get<SessionJson>(`/v1/checkout/sessions/${s.id}`, opts)).body.status).toBe("expired");
      expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`, opts)).body.status).toBe("canceled");
      expect((await stripeLedger(s.payment_intent)).intents.map((i) => i.status)).toEqual(["canceled"]);
      await passAtStripe(stripeId);
      expect(await received(s.payment_intent)).toBe(0);
      const page = await exports.default.fetch(new URL(res.headers.get("location") ?? "", s.url));
      expect(page.status).toBe(410);
      expect(await page.text()).toContain("<h1>Checkout expired</h1>");
    }
  });

  it("a challenge passed at Stripe before the return (Stripe cannot cancel it any more) is recorded and completes the session, with its event: never money taken on an expired session", async () => {
    const { opts, s, stripeId, secret } = await stripeSession("return-overdue-passed");
    await passAtStripe(stripeId);
    const res = await postReturn(s.payment_intent, secret);
    expect(res.status).toBe(303);
    await res.arrayBuffer();
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${s.payment_intent}`, opts)).body.status).toBe("succeeded");
    const session = (await get<SessionJson>(`/v1/checkout/sessions/${s.id}`, opts)).body;
    expect(session).toMatchObject({ status: "complete", payment_status: "paid" });
    const events = (await get<ListJson<{ type: string; data: { object: { id: string } } }>>("/v1/events?type=checkout.session.completed", opts)).body.data;
    expect(events.map((e) => e.data.object.id)).toContain(s.id);
    expect(await received(s.payment_intent)).toBe(2600);
  });
});
