// Incoming PSP webhooks: a good signature is applied once, a duplicate is ignored, a bad or stale
// signature is a 400 that changes nothing, and events out of order never move an intent backwards.
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { stripeClearFaults, stripeFault } from "../chaos/harness";
import { describe, expect, it } from "vitest";
import { signSandboxWebhook } from "../../src/connectors/sandbox/webhooks";
import {
  addConnector,
  call,
  createIntent,
  expectError,
  get,
  newMerchant,
  post,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
} from "../helpers";

const SECRET = "sandbox_webhook_secret_for_development";
const cryptoProvider = Stripe.createSubtleCryptoProvider();

async function sandboxWebhook(body: Record<string, unknown>, options: { secret?: string; timestamp?: number; path?: string } = {}) {
  const text = JSON.stringify(body);
  return call<{ received: boolean; applied: number; duplicates: number }>("POST", options.path ?? "/v1/psp_webhooks/sandbox", {
    key: null,
    body: text,
    headers: { "sandbox-signature": await signSandboxWebhook(options.secret ?? SECRET, text, options.timestamp) },
  });
}

/** An intent waiting for its customer (3DS): only a webhook settles it, so nothing else races the tests. */
async function waitingIntent(label: string) {
  const { opts } = await newMerchant(label);
  const pi = (await createIntent({ payment_method: "pm_card_threeDSecure2Required", confirm: true }, opts)).body;
  const [attempt] = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
  return { opts, pi, attempt: attempt as TransactionJson };
}

describe("incoming PSP webhooks", () => {
  it("a good signature is applied once; the duplicate is acknowledged and ignored", async () => {
    const { opts, pi, attempt } = await waitingIntent("webhook-once");
    const event = { id: `sbxevt_once_${pi.id}`, type: "authorization.approved", data: { intent: pi.id, attempt: attempt.id } };
    expect((await sandboxWebhook(event)).body).toEqual({ received: true, applied: 1, duplicates: 0 });
    expect((await sandboxWebhook(event)).body).toEqual({ received: true, applied: 0, duplicates: 1 });
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(after.status).toBe("succeeded");
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(rows.filter((t) => t.status === "succeeded")).toHaveLength(1);
  });

  it("a bad, missing or stale signature is a 400 and changes nothing", async () => {
    const { opts, pi, attempt } = await waitingIntent("webhook-bad");
    const event = { id: `sbxevt_bad_${pi.id}`, type: "authorization.approved", data: { intent: pi.id, attempt: attempt.id } };
    expectError(await sandboxWebhook(event, { secret: "not-the-secret" }), 400, "webhook_signature_invalid");
    expectError(await sandboxWebhook(event, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), 400, "webhook_signature_invalid");
    expectError(await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: JSON.stringify(event) }), 400, "webhook_signature_invalid");
    const tampered = JSON.stringify(event);
    const header = await signSandboxWebhook(SECRET, tampered);
    expectError(await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: tampered.replace("approved", "declined"), headers: { "sandbox-signature": header } }), 400);
    expectError(await call("POST", "/v1/psp_webhooks/mca_doesnotexist00000000", { key: null, body: "{}" }), 404);
    // Well signed but not an event object (null, an array, a number, data not an object): a 400, never a 500.
    for (const body of ["null", "[]", "42", JSON.stringify({ id: "sbxevt_x", type: "authorization.approved", data: null })]) {
      const res = await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body, headers: { "sandbox-signature": await signSandboxWebhook(SECRET, body) } });
      expect(res.status, body).toBeLessThan(500);
    }
    expectError(await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "null", headers: { "sandbox-signature": await signSandboxWebhook(SECRET, "null") } }), 400, "webhook_signature_invalid");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
  });

  it("out of order: succeeded before processing leaves the intent succeeded; a late decline changes nothing", async () => {
    const { opts, pi, attempt } = await waitingIntent("webhook-order");
    const data = { intent: pi.id, attempt: attempt.id };
    await sandboxWebhook({ id: `sbxevt_ok_${pi.id}`, type: "authorization.approved", data });
    await sandboxWebhook({ id: `sbxevt_proc_${pi.id}`, type: "authorization.processing", data });
    await sandboxWebhook({ id: `sbxevt_no_${pi.id}`, type: "authorization.declined", data: { ...data, code: "card_declined", decline_code: "generic_decline" } });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 2000 });
  });

  it("an event for another merchant's account does not reach the intent", async () => {
    const { opts, pi, attempt } = await waitingIntent("webhook-owner");
    const intruder = await newMerchant("webhook-intruder");
    const account = await addConnector(intruder.opts, { connector: "sandbox", webhook_secret: "intruder-secret" });
    const res = await sandboxWebhook({ id: "sbxevt_intruder", type: "authorization.approved", data: { intent: pi.id, attempt: attempt.id } }, { secret: "intruder-secret", path: `/v1/psp_webhooks/${account.id}` });
    expect(res.body).toMatchObject({ received: true, applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
  });

  it("an event from another account of the same merchant does not settle an attempt made through the first", async () => {
    // The payment went through the built-in sandbox; the merchant's own sandbox account (its own
    // webhook secret, which the merchant sets) must not settle it, nor the reverse.
    const { opts, pi, attempt } = await waitingIntent("webhook-other-account");
    const own = await addConnector(opts, { connector: "sandbox", webhook_secret: "merchant-chosen-secret", priority: 9 });
    const event = { id: `sbxevt_other_${pi.id}`, type: "authorization.approved", data: { intent: pi.id, attempt: attempt.id } };
    const res = await sandboxWebhook(event, { secret: "merchant-chosen-secret", path: `/v1/psp_webhooks/${own.id}` });
    expect(res.body).toMatchObject({ received: true, applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
    // The account the attempt went through settles it.
    expect((await sandboxWebhook({ ...event, id: `sbxevt_own_${pi.id}` })).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("succeeded");
  });

  it("a merchant's sandbox account without a webhook secret takes no webhook: 400, not a 500", async () => {
    const { opts, pi, attempt } = await waitingIntent("webhook-nosecret");
    const account = await addConnector(opts, { connector: "sandbox" });
    const body = JSON.stringify({ id: "sbxevt_nosecret", type: "authorization.approved", data: { intent: pi.id, attempt: attempt.id } });
    const now = Math.floor(Date.now() / 1000);
    for (const header of [`t=${now},v1=00`, `t=${now},v1=${"ab".repeat(32)}`, ""]) {
      expectError(await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body, headers: { "sandbox-signature": header } }), 400, "webhook_signature_invalid");
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
  });

  it("Stripe's webhooks are verified with constructEventAsync and applied: a refund that fails later", async () => {
    const { opts } = await newMerchant("webhook-stripe");
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_webhooks" }, webhook_secret: "whsec_stripe_test_secret" });
    const pi = (await createIntent({ amount: 3000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body;
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    const refundAttempt = rows.find((t) => t.type === "refund");
    const payload = JSON.stringify({
      id: "evt_stripe_refund_failed_1",
      object: "event",
      type: "refund.updated",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: refundAttempt?.provider_reference, object: "refund", status: "failed", failure_reason: "expired_or_canceled_card", metadata: { gateway_intent: pi.id, gateway_attempt: refundAttempt?.id } } },
    });
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_stripe_test_secret", cryptoProvider });
    const bad = await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: payload, headers: { "stripe-signature": header.replace(/v1=(\w)/, (_m, ch: string) => `v1=${ch === "0" ? "1" : "0"}`) } });
    expectError(bad, 400, "webhook_signature_invalid");
    const good = await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: payload, headers: { "stripe-signature": header } });
    expect(good.body).toMatchObject({ applied: 1 });
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, opts)).body).toMatchObject({ status: "failed", failure_reason: "expired_or_canceled_card" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(0);
    const again = await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: payload, headers: { "stripe-signature": header } });
    expect(again.body).toMatchObject({ applied: 0, duplicates: 1 });
  });

  it("a capture made in Stripe's dashboard is recorded from its payment_intent.succeeded, once; one naming another authorization, or more than was authorized, changes nothing", async () => {
    const { opts } = await newMerchant("webhook-stripe-oob");
    const secretKey = "sk_test_fake_oob_capture";
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey }, webhook_secret: "whsec_stripe_oob_secret" });
    const pi = (await createIntent({ amount: 10000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect(pi.status).toBe("requires_capture");
    const auth = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data.find((t) => t.type === "authorize");
    const stripeId = auth?.provider_reference ?? "";
    expect(stripeId).toMatch(/^pi_/);
    // The merchant captures 70.00 in Stripe's dashboard: Stripe's own payment intent, as its event carries it.
    const captured = await fetch(`${env.STRIPE_API_BASE}/v1/payment_intents/${stripeId}/capture`, {
      method: "POST",
      headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/x-www-form-urlencoded" },
      body: "amount_to_capture=7000",
    });
    const stripePi = (await captured.json()) as Record<string, unknown>;
    expect(stripePi).toMatchObject({ status: "succeeded", amount_received: 7000 });
    let n = 0;
    const send = async (object: Record<string, unknown>, via = { id: account.id, secret: "whsec_stripe_oob_secret" }) => {
      const payload = JSON.stringify({ id: `evt_oob_${++n}`, object: "event", type: "payment_intent.succeeded", created: Math.floor(Date.now() / 1000), livemode: false, data: { object } });
      const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: via.secret, cryptoProvider });
      return call<{ applied: number; duplicates: number }>("POST", `/v1/psp_webhooks/${via.id}`, { key: null, body: payload, headers: { "stripe-signature": header } });
    };
    const unchanged = async () => expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_capture", amount_received: 0, amount_capturable: 10000 });
    expect((await send({ ...stripePi, id: "pi_someone_else" })).body).toMatchObject({ applied: 0 });
    await unchanged();
    expect((await send({ ...stripePi, amount_received: 20000 })).body).toMatchObject({ applied: 0 });
    await unchanged();
    expect((await send({ ...stripePi, currency: "eur" })).body).toMatchObject({ applied: 0 });
    await unchanged();
    // The merchant's other Stripe account (its own webhook secret) cannot report this authorization's capture.
    const other = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_oob_other" }, webhook_secret: "whsec_stripe_oob_other" });
    expect((await send(stripePi, { id: other.id, secret: "whsec_stripe_oob_other" })).body).toMatchObject({ applied: 0 });
    await unchanged();

    const good = await send(stripePi);
    expect(good.body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 7000, amount_capturable: 0 });
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(rows.filter((t) => t.type === "capture").map((t) => [t.status, t.amount, t.provider_reference])).toEqual([["succeeded", 7000, stripeId]]);
    // Once: the same money reported again (a later event of Stripe's) finds nothing open.
    expect((await send(stripePi)).body).toMatchObject({ applied: 0 });
    expect((await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data.filter((t) => t.type === "capture")).toHaveLength(1);
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, {}, opts), 400);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 2000 }, opts)).body.status).toBe("succeeded");
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 5001 }, opts), 400);
  });

  it("a pending capture is settled by a webhook only for the amount and currency it asked (other money is left to reconciliation)", async () => {
    const { opts } = await newMerchant("webhook-capture-amount");
    const secretKey = `sk_test_fake_capamount_${Date.now()}`;
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey }, webhook_secret: "whsec_capamount" });
    const pi = (await createIntent({ amount: 10000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    const stripeId = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data.find((t) => t.type === "authorize")?.provider_reference ?? "";
    // The capture of 60.00 times out, and every replay meanwhile fails: its outcome stays unknown.
    await stripeFault(secretKey, "capture", "timeout");
    for (let i = 0; i < 10; i++) await stripeFault(secretKey, "capture", "error");
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 6000 }, opts)).body.status).toBe("processing");
    let n = 0;
    const send = async (amount: number, currency = "usd") => {
      const object = { id: stripeId, object: "payment_intent", status: "succeeded", amount: 10000, amount_received: amount, currency, metadata: { gateway_intent: pi.id } };
      const payload = JSON.stringify({ id: `evt_capamount_${++n}`, object: "event", type: "payment_intent.succeeded", created: Math.floor(Date.now() / 1000), livemode: false, data: { object } });
      const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_capamount", cryptoProvider });
      return call<{ applied: number }>("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: payload, headers: { "stripe-signature": header } });
    };
    // Stripe reports 100.00 captured (the whole, from its dashboard): not the capture we asked for.
    expect((await send(10000)).body).toMatchObject({ applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "processing", amount_received: 0 });
    // 6000 in another currency is not the capture we asked for either.
    expect((await send(6000, "jpy")).body).toMatchObject({ applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "processing", amount_received: 0 });
    // 60.00: the capture we asked for.
    expect((await send(6000)).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 6000 });
    await stripeClearFaults(secretKey);
  });

  it("an approval of other money than the attempt asked for (another amount or currency) settles nothing", async () => {
    const { opts } = await newMerchant("webhook-approval-amount");
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: `sk_test_fake_approvalamount_${Date.now()}` }, webhook_secret: "whsec_approvalamount" });
    const pi = (await createIntent({ amount: 3000, payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" }, opts)).body;
    expect(pi.status).toBe("requires_action");
    const attempt = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data.find((t) => t.type === "authorize");
    let n = 0;
    const send = async (amount: number, currency: string) => {
      const object = { id: attempt?.provider_reference, object: "payment_intent", status: "succeeded", amount, amount_received: amount, currency, metadata: { gateway_intent: pi.id, gateway_attempt: attempt?.id } };
      const payload = JSON.stringify({ id: `evt_approvalamount_${++n}`, object: "event", type: "payment_intent.succeeded", created: Math.floor(Date.now() / 1000), livemode: false, data: { object } });
      const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: "whsec_approvalamount", cryptoProvider });
      return call<{ applied: number }>("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: payload, headers: { "stripe-signature": header } });
    };
    expect((await send(1, "usd")).body).toMatchObject({ applied: 0 });
    expect((await send(3000, "jpy")).body).toMatchObject({ applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_action", amount_received: 0 });
    expect((await send(3000, "usd")).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 3000 });
  });

  it("PayPal's webhooks are checked by PayPal's verification call", async () => {
    const { opts } = await newMerchant("webhook-paypal");
    const account = await addConnector(opts, { connector: "paypal", credentials: { client_id: "webhook-client", client_secret: "s" }, webhook_secret: "WH-123" });
    const pi = (await createIntent({ amount: 1500, payment_method_data: { type: "paypal" }, confirm: true }, opts)).body;
    const order = new URL(pi.next_action?.url ?? "").searchParams.get("token");
    const event = JSON.stringify({ id: "WH-EVT-1", event_type: "PAYMENT.CAPTURE.COMPLETED", resource: { id: "CAPX", status: "COMPLETED", custom_id: pi.id, supplementary_data: { related_ids: { order_id: order } } } });
    const headers = (sig: string) => ({ "paypal-transmission-id": "t1", "paypal-transmission-time": new Date().toISOString(), "paypal-transmission-sig": sig, "paypal-auth-algo": "SHA256withRSA", "paypal-cert-url": "https://api.paypal.com/cert" });
    expectError(await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: event, headers: headers("forged") }), 400, "webhook_signature_invalid");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
    // PayPal confirms the signature, but the transmission time is stale (or absent): a replayed capture is refused, nothing changes.
    for (const time of [new Date(Date.now() - 6 * 60_000).toISOString(), "2019-01-01T00:00:00Z", "not a time", null]) {
      const stale: Record<string, string> = headers("valid-signature");
      if (time === null) delete stale["paypal-transmission-time"];
      else stale["paypal-transmission-time"] = time;
      expectError(await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: event, headers: stale }), 400, "webhook_signature_invalid");
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
    // A signed body that is not an object (null, an array) is a 400, never a 500.
    for (const bad of ["null", "[]", "7"]) expectError(await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: bad, headers: headers("valid-signature") }), 400, "webhook_signature_invalid");
    const ok = await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: event, headers: headers("valid-signature") });
    expect(ok.body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", connector: "paypal" });
  });

  it("PayPal down during the verification is a 503 to retry, not a forged signature, and applies nothing", async () => {
    const { opts } = await newMerchant("webhook-paypal-outage");
    // The fake PayPal answers 503 to every call of a client whose id says "down" (its token still comes).
    const account = await addConnector(opts, { connector: "paypal", credentials: { client_id: "webhook-down", client_secret: "s" }, webhook_secret: "WH-9" });
    const event = JSON.stringify({ id: "WH-EVT-9", event_type: "PAYMENT.CAPTURE.COMPLETED", resource: { id: "CAP9", status: "COMPLETED", custom_id: "pi_unknown" } });
    const headers = { "paypal-transmission-id": "t9", "paypal-transmission-time": new Date().toISOString(), "paypal-transmission-sig": "valid-signature", "paypal-auth-algo": "SHA256withRSA", "paypal-cert-url": "https://api.paypal.com/cert" };
    const res = await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: event, headers });
    expectError(res, 503, "provider_unavailable");
    expect(res.headers.get("retry-after")).toBe("60");
  });
});
