// The PayPal connector against the local PayPal fake: token caching, the approval redirect, capture
// (at once, or authorize then capture), refunds, declines.
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IntentRecord } from "../../src/core/types";
import { PayPalConnector } from "../../src/connectors/paypal/connector";
import {
  addConnector,
  call,
  createIntent,
  get,
  newMerchant,
  paypalFakeStats,
  post,
  storedEventRecords,
  uniqueKey,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
} from "../helpers";
import { armBinding, paypalClearFaults, paypalFault, paypalLedger, reconcileNow, resetObject } from "../chaos/harness";

/**
 * The browser back on the gateway's return page: the GET only shows a page (it changes nothing), whose
 * form the browser POSTs (its inline script submits it at once) to complete the payment.
 */
async function submitReturnPage(back: string): Promise<Response> {
  const shown = await exports.default.fetch(new Request(back, { redirect: "manual" }));
  expect(shown.status).toBe(200);
  const html = await shown.text();
  const action = /<form id="complete" method="post" action="([^"]+)">/.exec(html)?.[1] ?? "";
  const secret = /name="client_secret" value="([^"]+)"/.exec(html)?.[1] ?? "";
  expect(action).toContain("/connectors/return/");
  const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1] ?? "";
  expect(shown.headers.get("content-security-policy")).toContain(`script-src 'nonce-${nonce}'`);
  const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
  return exports.default.fetch(
    new Request(new URL(decode(action), back), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(decode(secret))}${html.includes('name="canceled" value="true"') ? "&canceled=true" : ""}`,
      redirect: "manual",
    }),
  );
}

/** The result page a return's POST leads to without a return_url (redirect-after-POST: a GET that only reads). */
async function resultOf(posted: Response): Promise<Response> {
  expect(posted.status).toBe(303);
  const location = posted.headers.get("location") ?? "";
  expect(location).toMatch(/^\/connectors\/return\/pi_[^/?]+\?client_secret=[^&]+&result=1$/);
  return exports.default.fetch(new Request(`http://gateway.test${location}`, { redirect: "manual" }));
}

/** The payer at PayPal: follow the approval link, then come back through the gateway to the merchant. */
async function approveAtPayPal(approvalUrl: string, decision: "approve" | "deny" = "approve"): Promise<Response> {
  const atPayPal = await fetch(`${approvalUrl}${decision === "deny" ? "&decision=deny" : ""}`, { redirect: "manual" });
  expect(atPayPal.status).toBe(302);
  const back = atPayPal.headers.get("location") ?? "";
  expect(back).toContain("/connectors/return/");
  return submitReturnPage(back);
}

async function paypalMerchant(label: string, webhookSecret?: string): Promise<{ opts: CallOptions; clientId: string; accountId: string }> {
  const { opts } = await newMerchant(label);
  const clientId = uniqueKey(`client-${label}`).replace(/[^A-Za-z0-9-]/g, "");
  const account = await addConnector(opts, { connector: "paypal", credentials: { client_id: clientId, client_secret: "paypal-secret-9876" }, ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) });
  return { opts, clientId, accountId: account.id };
}

type PayPalMerchant = Awaited<ReturnType<typeof paypalMerchant>>;

/** A manual-capture PayPal payment the payer approved: the intent and its authorization's id at PayPal. */
async function authorizedAtPayPal(m: PayPalMerchant, amount: number): Promise<{ pi: PaymentIntentJson; authorization: string }> {
  const pi = (await createIntent({ amount, payment_method: { type: "paypal" }, confirm: true, capture_method: "manual" }, m.opts)).body;
  await approveAtPayPal(pi.next_action?.url ?? "");
  const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, m.opts)).body.data;
  return { pi, authorization: history.find((t) => t.type === "authorize" && t.status === "succeeded")?.provider_reference ?? "" };
}

/** The merchant captures in PayPal's dashboard (straight at PayPal, not through the gateway): PayPal's capture id. */
async function dashboardCapture(m: PayPalMerchant, intentId: string, authorization: string, amount: number): Promise<string> {
  const dashboard = new PayPalConnector({ accountId: m.accountId, clientId: m.clientId, clientSecret: "paypal-secret-9876", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
  const atPayPal = await dashboard.capture({ intentId, merchantId: "", attemptId: "dashboard", idempotencyKey: `dashboard-${intentId}`, amount, currency: "usd", providerReference: authorization, paymentMethod: null });
  expect(atPayPal).toMatchObject({ kind: "succeeded", responseCode: "COMPLETED" });
  return atPayPal.kind === "succeeded" ? atPayPal.providerReference : "";
}

describe("PayPal connector", () => {
  it("caches the OAuth token until it expires", async () => {
    const clientId = uniqueKey("token-cache").replace(/[^A-Za-z0-9-]/g, "");
    const paypal = new PayPalConnector({ accountId: "mca_x", clientId, clientSecret: "s", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
    const tokens = await Promise.all([paypal.accessToken(), paypal.accessToken(), paypal.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(await paypal.accessToken()).toBe(tokens[0]);
    expect((await paypalFakeStats()).tokenRequests[clientId]).toBe(1);
    // Close to expiry (the fake's tokens last 9 hours), a new one is fetched.
    await paypal.accessToken(Date.now() + 9 * 3600 * 1000);
    expect((await paypalFakeStats()).tokenRequests[clientId]).toBe(2);
  });

  it("a cached token belongs to its client id and secret: another account naming the same client id with a wrong secret gets none", async () => {
    // PayPal client ids are public (they sit in every checkout page's JS SDK URL); only the secret proves the account.
    const clientId = uniqueKey("token-owner").replace(/[^A-Za-z0-9-]/g, "");
    const owner = new PayPalConnector({ accountId: "mca_owner", clientId, clientSecret: "the-real-secret", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
    const token = await owner.accessToken();
    const impostor = new PayPalConnector({ accountId: "mca_impostor", clientId, clientSecret: "a-guess", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
    await expect(impostor.accessToken()).rejects.toThrow(/401/);
    // Nor does the impostor's call move anything with the owner's token.
    expect(await impostor.refund({ intentId: "pi_x", merchantId: "", attemptId: "txn_x", idempotencyKey: uniqueKey("impostor"), amount: 100, currency: "usd", providerReference: "CAPTURE-X", paymentMethod: null })).toMatchObject({ kind: "unknown" });
    expect(await owner.accessToken()).toBe(token);
  });

  it("answers with PayPal's approval link, then captures when the payer comes back", async () => {
    const { opts, accountId, clientId } = await paypalMerchant("paypal-capture");
    const created = await createIntent({ amount: 2999, payment_method_data: { type: "paypal" }, confirm: true, return_url: "https://shop.example/paid" }, opts);
    expect(created.status).toBe(200);
    const pi = created.body;
    expect(pi).toMatchObject({ status: "requires_action", connector: null });
    const approval = pi.next_action?.redirect_to_url.url ?? "";
    expect(approval).toContain(`${env.PAYPAL_API_BASE}/checkoutnow?token=ORDER`);

    // The return page's GET alone completes nothing, and its form may follow the 303 to the shop.
    const atPayPal = await fetch(approval, { redirect: "manual" });
    const returnLink = atPayPal.headers.get("location") ?? "";
    const shown = await exports.default.fetch(new Request(returnLink, { redirect: "manual" }));
    expect(shown.status).toBe(200);
    expect(shown.headers.get("content-security-policy")).toMatch(/form-action 'self' https:\/\/shop\.example(;|$)/);
    await shown.text();
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");

    const back = await submitReturnPage(returnLink);
    expect(back.status).toBe(303);
    const location = new URL(back.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://shop.example/paid");
    expect(location.searchParams.get("redirect_status")).toBe("succeeded");

    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(after).toMatchObject({ status: "succeeded", amount_received: 2999, connector: "paypal", connector_account: accountId });
    const refund = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 999 }, opts);
    expect(refund.body.status).toBe("succeeded");
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(history.map((t) => `${t.type}:${t.status}`)).toEqual(["authorize:requires_action", "authorize:succeeded", "refund:succeeded"]);
    expect(history[1]?.provider_reference).toMatch(/^CAP/);
    expect((await paypalFakeStats()).tokenRequests[clientId]).toBe(1);
  });

  it("authorizes at approval, then captures part and refunds part; voids another", async () => {
    const { opts, accountId, clientId } = await paypalMerchant("paypal-authorize");
    const pi = (await createIntent({ amount: 5000, payment_method: { type: "paypal" }, confirm: true, capture_method: "manual" }, opts)).body;
    const back = await approveAtPayPal(pi.next_action?.url ?? "");
    expect((await resultOf(back)).status).toBe(200); // no return_url: the gateway shows the result itself
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_capture", amount_capturable: 5000 });
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 4000 }, opts);
    expect(captured.body).toMatchObject({ status: "succeeded", amount_received: 4000 });
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1500 }, opts)).body.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 2500 }, opts)).body.status).toBe("succeeded");

    const other = (await createIntent({ amount: 700, payment_method: { type: "paypal" }, confirm: true, capture_method: "manual" }, opts)).body;
    await approveAtPayPal(other.next_action?.url ?? "");
    const voided = await post<PaymentIntentJson>(`/v1/payment_intents/${other.id}/cancel`, {}, opts);
    expect(voided.body.status).toBe("canceled");

    // One voided at PayPal first (in its dashboard, say): our cancel finds it PREVIOUSLY_VOIDED, and
    // the authorization is released all the same.
    const third = (await createIntent({ amount: 800, payment_method: { type: "paypal" }, confirm: true, capture_method: "manual" }, opts)).body;
    await approveAtPayPal(third.next_action?.url ?? "");
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${third.id}/transactions`, opts)).body.data;
    const authorization = history.find((t) => t.type === "authorize" && t.status === "succeeded")?.provider_reference ?? "";
    expect(authorization).toMatch(/^AUTH/);
    const dashboard = new PayPalConnector({ accountId, clientId, clientSecret: "paypal-secret-9876", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
    const voidAt = { intentId: third.id, merchantId: "", attemptId: "dashboard", idempotencyKey: `dashboard-${third.id}`, amount: 800, currency: "usd", providerReference: authorization, paymentMethod: null };
    expect(await dashboard.void(voidAt)).toMatchObject({ kind: "succeeded", responseCode: "204" });
    const canceled = await post<PaymentIntentJson>(`/v1/payment_intents/${third.id}/cancel`, {}, opts);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    expect(canceled.body.status).toBe("canceled");
    // A captured one cannot be voided: PREVIOUSLY_CAPTURED stays a refusal.
    const paid = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    const paidAuthorization = paid.find((t) => t.type === "authorize" && t.status === "succeeded")?.provider_reference ?? "";
    expect(await dashboard.void({ ...voidAt, idempotencyKey: `dashboard-captured-${pi.id}`, providerReference: paidAuthorization })).toMatchObject({ kind: "failed", code: "previously_captured" });
  });

  it("an authorization captured in PayPal's dashboard first: a capture of another amount records nothing and names it; of the same amount it records PayPal's capture, once", async () => {
    const m = await paypalMerchant("paypal-dashboard-capture");
    const { opts } = m;
    const { pi, authorization } = await authorizedAtPayPal(m, 5000);
    const captureId = await dashboardCapture(m, pi.id, authorization, 5000);
    expect(captureId).toMatch(/^CAP/);

    // Another amount: PayPal holds 50.00, not 40.00. Refused, naming it; nothing recorded.
    const other = await post<{ error: { code: string; message: string } }>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 4000 }, opts);
    expect(other.status).toBe(402);
    expect(other.body.error.code).toBe("authorization_already_captured");
    expect(other.body.error.message).toContain(`${captureId} 50.00 USD`);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_capture", amount_received: 0 });

    // The same amount: PayPal's capture is this payment's, recorded as it stands; refunds go against it.
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body).toMatchObject({ status: "succeeded", amount_received: 5000 });
    const after = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(after.filter((t) => t.type === "capture").map((t) => `${t.status}:${t.provider_reference ?? ""}`)).toEqual([`failed:`, `succeeded:${captureId}`]);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body.status).toBe("succeeded");
    const ledger = (await (await fetch(`${env.PAYPAL_API_BASE}/__ledger?intent=${pi.id}`)).json()) as { orders: { captures: { id: string; amount: number; refunds: { amount: number }[] }[] }[] };
    const captures = ledger.orders.flatMap((o) => o.captures);
    expect(captures.map((c) => [c.id, c.amount, c.refunds.map((r) => r.amount)])).toEqual([[captureId, 5000, [1000]]]);
  });

  it("a capture made in PayPal's dashboard is recorded from its PAYMENT.CAPTURE.COMPLETED webhook, for the amount PayPal captured, once", async () => {
    const m = await paypalMerchant("paypal-dashboard-webhook", "WH-OOB");
    const { opts } = m;
    const account = { id: m.accountId };
    const { pi, authorization } = await authorizedAtPayPal(m, 5000);
    const order = new URL(pi.next_action?.url ?? "").searchParams.get("token") ?? "";
    const captureId = await dashboardCapture(m, pi.id, authorization, 3500);

    const webhook = (id: string, resource: Record<string, unknown>) =>
      call<{ applied: number; duplicates: number }>("POST", `/v1/psp_webhooks/${account.id}`, {
        key: null,
        body: JSON.stringify({ id, event_type: "PAYMENT.CAPTURE.COMPLETED", resource }),
        headers: { "paypal-transmission-id": id, "paypal-transmission-time": new Date().toISOString(), "paypal-transmission-sig": "valid-signature", "paypal-auth-algo": "SHA256withRSA", "paypal-cert-url": "https://api.paypal.com/cert" },
      });
    const resource = { id: captureId, status: "COMPLETED", amount: { currency_code: "USD", value: "35.00" }, custom_id: pi.id, supplementary_data: { related_ids: { order_id: order, authorization_id: authorization } } };
    // Another authorization's capture, or one PayPal does not report completed, changes nothing.
    expect((await webhook("WH-OOB-0", { ...resource, supplementary_data: { related_ids: { order_id: order, authorization_id: "AUTH-OTHER" } } })).body).toMatchObject({ applied: 0 });
    expect((await webhook("WH-OOB-1", { ...resource, status: "PENDING" })).body).toMatchObject({ applied: 0 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_capture", amount_received: 0 });

    expect((await webhook("WH-OOB-2", resource)).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 3500, amount_capturable: 0 });
    expect((await webhook("WH-OOB-2", resource)).body).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await webhook("WH-OOB-3", resource)).body).toMatchObject({ applied: 0 });
    const after = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(after.filter((t) => t.type === "capture").map((t) => [t.status, t.amount, t.provider_reference])).toEqual([["succeeded", 3500, captureId]]);
    // Refunds go against PayPal's capture.
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body.status).toBe("succeeded");
    const ledger = (await (await fetch(`${env.PAYPAL_API_BASE}/__ledger?intent=${pi.id}`)).json()) as { orders: { captures: { id: string; amount: number; refunds: { amount: number }[] }[] }[] };
    expect(ledger.orders.flatMap((o) => o.captures).map((c) => [c.id, c.amount, c.refunds.map((r) => r.amount)])).toEqual([[captureId, 3500, [1000]]]);
  });

  it("a cancel of an authorization captured in PayPal's dashboard is refused, and PayPal's capture recorded", async () => {
    const m = await paypalMerchant("paypal-dashboard-cancel");
    const { opts } = m;
    const { pi, authorization } = await authorizedAtPayPal(m, 5000);
    const captureId = await dashboardCapture(m, pi.id, authorization, 4200);

    const canceled = await post<{ error: { code: string } }>(`/v1/payment_intents/${pi.id}/cancel`, {}, opts);
    expect(canceled.status).toBe(400);
    expect(canceled.body.error.code).toBe("payment_intent_unexpected_state");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 4200, cancellation_reason: null });
    const after = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(after.filter((t) => t.type === "capture").map((t) => [t.status, t.amount, t.provider_reference])).toEqual([["succeeded", 4200, captureId]]);
  });

  it("a capture whose answer was lost is settled by PayPal's PAYMENT.CAPTURE.COMPLETED, named by its authorization, with PayPal's capture id", async () => {
    const m = await paypalMerchant("paypal-lost-capture-webhook", "WH-LOST");
    const { opts, clientId } = m;
    const account = { id: m.accountId };
    const { pi, authorization } = await authorizedAtPayPal(m, 2500);
    // PayPal captures, but its answer comes after the connector gave up.
    const armed = await fetch(`${env.PAYPAL_API_BASE}/__faults`, { method: "POST", body: JSON.stringify({ key: clientId, op: "capture", kind: "lost" }) });
    expect(armed.status).toBe(200);
    await armed.body?.cancel();
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, opts);
    expect(captured.body.status).toBe("processing");
    let ledger: { orders: { captures: { id: string; amount: number }[] }[] } = { orders: [] };
    for (let i = 0; i < 40 && ledger.orders.flatMap((o) => o.captures).length === 0; i++) {
      ledger = (await (await fetch(`${env.PAYPAL_API_BASE}/__ledger?intent=${pi.id}`)).json()) as typeof ledger;
      if (ledger.orders.flatMap((o) => o.captures).length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    const [capture] = ledger.orders.flatMap((o) => o.captures);
    expect(capture?.amount).toBe(2500);

    const event = JSON.stringify({
      id: "WH-LOST-1",
      event_type: "PAYMENT.CAPTURE.COMPLETED",
      resource: { id: capture?.id, status: "COMPLETED", amount: { currency_code: "USD", value: "25.00" }, custom_id: pi.id, supplementary_data: { related_ids: { authorization_id: authorization } } },
    });
    const headers = { "paypal-transmission-id": "t-lost", "paypal-transmission-time": new Date().toISOString(), "paypal-transmission-sig": "valid-signature", "paypal-auth-algo": "SHA256withRSA", "paypal-cert-url": "https://api.paypal.com/cert" };
    expect((await call("POST", `/v1/psp_webhooks/${account.id}`, { key: null, body: event, headers })).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "succeeded", amount_received: 2500 });
    const after = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(after.filter((t) => t.type === "capture").map((t) => [t.status, t.provider_reference])).toEqual([["succeeded", capture?.id]]);
  });

  it("coming back before approving changes nothing; a denial declines", async () => {
    const { opts } = await paypalMerchant("paypal-deny");
    const pi = (await createIntent({ amount: 1200, payment_method_data: { type: "paypal" }, confirm: true }, opts)).body;
    const early = await resultOf(await submitReturnPage(`http://gateway.test/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}`));
    expect(early.status).toBe(200);
    expect(await early.text()).toContain("waiting for you to finish");
    const waiting = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(waiting.status).toBe("requires_action");
    expect(waiting.next_action?.url).toBe(pi.next_action?.url);
    const wrongSecret = await exports.default.fetch(new Request(`http://gateway.test/connectors/return/${pi.id}?client_secret=nope`, { redirect: "manual" }));
    expect(wrongSecret.status).toBe(404);

    await approveAtPayPal(pi.next_action?.url ?? "", "deny");
    const denied = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(denied.status).toBe("requires_payment_method");
    expect(denied.last_payment_error?.code).toBe("card_declined");
  });

  it("back through PayPal's cancel link (its cancel_url) the wait ends: the payment asks for a payment method again, and PayPal's order is never captured", async () => {
    const { opts } = await paypalMerchant("paypal-cancel-link");
    const pi = (await createIntent({ amount: 1300, payment_method_data: { type: "paypal" }, confirm: true }, opts)).body;
    expect(pi.status).toBe("requires_action");
    // The wait is in PayPal's words, not a card's 3DS.
    const waiting = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data[0];
    expect(waiting).toMatchObject({ response_code: "payer_approval_required", response_text: "Waiting for the payer to approve the payment on PayPal." });
    const back = await resultOf(await submitReturnPage(`http://gateway.test/connectors/return/${pi.id}?client_secret=${encodeURIComponent(pi.client_secret)}&canceled=true`));
    expect(back.status).toBe(200);
    expect(await back.text()).toContain("You canceled the PayPal payment, so nothing was charged.");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(after).toMatchObject({ status: "requires_payment_method", next_action: null, last_payment_error: { code: "payment_intent_payment_attempt_failed" } });
    expect(after.last_payment_error?.message).toContain("canceled at PayPal");
    const ledger = await paypalLedger(pi.id);
    expect(ledger.orders.flatMap((o) => o.captures)).toEqual([]);
  });

  it("cards do not go to PayPal; without a PayPal account (test mode) the sandbox acts as PayPal", async () => {
    const { opts } = await paypalMerchant("paypal-only");
    const card = await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    expect(card.status).toBe(400);
    const sandboxOnly = await newMerchant("no-paypal");
    const res = await createIntent({ payment_method_data: { type: "paypal" }, confirm: true }, sandboxOnly.opts);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("requires_action");
    expect(res.body.next_action?.redirect_to_url?.url).toMatch(/\/sandbox\/paypal\/checkoutnow\?token=[0-9A-Z]{17}$/);
  });
});

/** PayPal's webhook of `type` about `resource`, signed as the fake's verification accepts. */
function paypalWebhook(accountId: string, id: string, type: string, resource: Record<string, unknown>) {
  return call<{ applied: number; duplicates: number }>("POST", `/v1/psp_webhooks/${accountId}`, {
    key: null,
    body: JSON.stringify({ id, event_type: type, resource }),
    headers: { "paypal-transmission-id": id, "paypal-transmission-time": new Date().toISOString(), "paypal-transmission-sig": "valid-signature", "paypal-auth-algo": "SHA256withRSA", "paypal-cert-url": "https://api.paypal.com/cert" },
  });
}

/** PayPal's PAYMENT.CAPTURE.COMPLETED for a capture of `value` USD, naming its order or its authorization. */
const captureCompleted = (accountId: string, id: string, capture: { id: string; value: string; intent: string; related: { order_id?: string; authorization_id?: string } }) =>
  paypalWebhook(accountId, id, "PAYMENT.CAPTURE.COMPLETED", {
    id: capture.id,
    status: "COMPLETED",
    amount: { currency_code: "USD", value: capture.value },
    custom_id: capture.intent,
    supplementary_data: { related_ids: capture.related },
  });

const settleAtPayPal = async (id: string, status: string) => {
  const res = await fetch(`${env.PAYPAL_API_BASE}/__settle`, { method: "POST", body: JSON.stringify({ id, status }) });
  expect(res.status).toBe(200);
  await res.body?.cancel();
};

const historyOf = async (id: string, opts: CallOptions) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data;

/** Reconciliation asked (as its queue would) until `done` holds of the intent. */
async function reconciledUntil(id: string, opts: CallOptions, done: (pi: PaymentIntentJson) => boolean): Promise<PaymentIntentJson> {
  return waitFor(async () => {
    await reconcileNow(id);
    const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
    return done(pi) ? pi : undefined;
  }, 20_000, `reconciliation of ${id}`);
}

describe("PayPal: webhooks settle the right attempt, and pending payments settle", () => {
  it("a capture webhook after the payer came back changes nothing: the approval page's attempt is history, not open", async () => {
    const m = await paypalMerchant("paypal-late-webhook", "WH-LATE");
    const pi = (await createIntent({ amount: 2100, payment_method_data: { type: "paypal" }, confirm: true }, m.opts)).body;
    await approveAtPayPal(pi.next_action?.url ?? "");
    const order = new URL(pi.next_action?.url ?? "").searchParams.get("token") ?? "";
    const [capture] = (await paypalLedger(pi.id)).orders.flatMap((o) => o.captures);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 2100 });

    const late = await captureCompleted(m.accountId, "WH-LATE-1", { id: capture?.id ?? "", value: "21.00", intent: pi.id, related: { order_id: order } });
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ applied: 0 });
    expect((await historyOf(pi.id, m.opts)).map((t) => `${t.type}:${t.status}`)).toEqual(["authorize:requires_action", "authorize:succeeded"]);
    const succeeded = (await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.type === "payment_intent.succeeded");
    expect(succeeded).toHaveLength(1);
  });

  it("a completion whose answer was lost is settled by PayPal's webhook on that completion, with the capture's id: refunds reach PayPal", async () => {
    const m = await paypalMerchant("paypal-lost-completion", "WH-LOSTC");
    const pi = (await createIntent({ amount: 3300, payment_method_data: { type: "paypal" }, confirm: true }, m.opts)).body;
    const order = new URL(pi.next_action?.url ?? "").searchParams.get("token") ?? "";
    await paypalFault(m.clientId, "complete", "lost");
    // Reconciliation cannot read the order meanwhile: the webhook is what settles it.
    for (let i = 0; i < 40; i++) await paypalFault(m.clientId, "read", "error");
    try {
      await approveAtPayPal(pi.next_action?.url ?? "");
      expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body.status).toBe("processing");
      const [capture] = (await paypalLedger(pi.id)).orders.flatMap((o) => o.captures);
      expect(capture?.amount).toBe(3300);

      const event = await captureCompleted(m.accountId, "WH-LOSTC-1", { id: capture?.id ?? "", value: "33.00", intent: pi.id, related: { order_id: order } });
      expect(event.body).toMatchObject({ applied: 1 });
      const history = await historyOf(pi.id, m.opts);
      // The completion (the second attempt) is the charge, referenced by PayPal's capture; the page's attempt stays as it was.
      expect(history.map((t) => `${t.type}:${t.status}:${t.provider_reference ?? ""}`)).toEqual([`authorize:requires_action:${order}`, `authorize:succeeded:${capture?.id ?? ""}`]);
    } finally {
      await paypalClearFaults(m.clientId);
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 3300 });
    // Reconciliation finds nothing left to ask.
    await reconcileNow(pi.id);
    const refund = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1300 }, m.opts);
    expect(refund.body.status).toBe("succeeded");
    const ledger = await paypalLedger(pi.id);
    expect(ledger.orders.flatMap((o) => o.captures).map((c) => [c.amount, c.refunds.map((r) => r.amount)])).toEqual([[3300, [1300]]]);
  });

  it("a completion PayPal holds PENDING settles when PayPal does: read back by reconciliation (completed or declined), or from the webhook", async () => {
    const m = await paypalMerchant("paypal-pending-completion", "WH-PEND");
    const pending = async (amount: number) => {
      const pi = (await createIntent({ amount, payment_method_data: { type: "paypal" }, confirm: true }, m.opts)).body;
      await paypalFault(m.clientId, "complete", "pending");
      await approveAtPayPal(pi.next_action?.url ?? "");
      const order = new URL(pi.next_action?.url ?? "").searchParams.get("token") ?? "";
      const [capture] = (await paypalLedger(pi.id)).orders.flatMap((o) => o.captures);
      expect(capture?.status).toBe("PENDING");
      return { pi, order, captureId: capture?.id ?? "" };
    };

    // Completed at PayPal: reconciliation reads the order back (it never asks for the capture again).
    const completed = await pending(1500);
    await reconcileNow(completed.pi.id);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${completed.pi.id}`, m.opts)).body.status).toBe("processing");
    expect((await historyOf(completed.pi.id, m.opts)).at(-1)).toMatchObject({ type: "authorize", status: "pending", provider_reference: completed.order });
    await settleAtPayPal(completed.captureId, "COMPLETED");
    const paid = await reconciledUntil(completed.pi.id, m.opts, (pi) => pi.status !== "processing");
    expect(paid).toMatchObject({ status: "succeeded", amount_received: 1500 });
    expect((await historyOf(completed.pi.id, m.opts)).at(-1)).toMatchObject({ type: "authorize", status: "succeeded", provider_reference: completed.captureId });
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: completed.pi.id, amount: 500 }, m.opts)).body.status).toBe("succeeded");

    // Declined at PayPal: the payment asks for another method.
    const denied = await pending(1600);
    await settleAtPayPal(denied.captureId, "DECLINED");
    const back = await reconciledUntil(denied.pi.id, m.opts, (pi) => pi.status !== "processing");
    expect(back).toMatchObject({ status: "requires_payment_method", amount_received: 0 });
    expect(back.last_payment_error?.code).toBe("card_declined");

    // PayPal's webhook settles it too, with the capture's id.
    const hooked = await pending(1700);
    const event = await captureCompleted(m.accountId, "WH-PEND-1", { id: hooked.captureId, value: "17.00", intent: hooked.pi.id, related: { order_id: hooked.order } });
    expect(event.body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${hooked.pi.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 1700 });
    expect((await historyOf(hooked.pi.id, m.opts)).at(-1)).toMatchObject({ status: "succeeded", provider_reference: hooked.captureId });
  });

  it("a completion parked by older code with its pending capture's id (not the order's) is read back by that capture", async () => {
    const m = await paypalMerchant("paypal-legacy-pending");
    const pi = (await createIntent({ amount: 1900, payment_method_data: { type: "paypal" }, confirm: true }, m.opts)).body;
    await paypalFault(m.clientId, "complete", "pending");
    await approveAtPayPal(pi.next_action?.url ?? "");
    const [capture] = (await paypalLedger(pi.id)).orders.flatMap((o) => o.captures);
    const captureId = capture?.id ?? "";
    // As the gateway stored it before: the pending attempt's reference is the capture's id.
    await runInDurableObject(env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(pi.id)), async (_instance, state) => {
      const stored = await state.storage.get<IntentRecord>("intent");
      const pending = stored?.attempts.find((a) => a.status === "pending");
      if (!stored || !pending) throw new Error("no pending attempt");
      pending.providerReference = captureId;
      await state.storage.put("intent", stored);
    });
    // The object reads its stored record again (as after a deploy).
    await resetObject(pi.id);
    expect((await historyOf(pi.id, m.opts)).at(-1)).toMatchObject({ status: "pending", provider_reference: captureId });
    await settleAtPayPal(captureId, "COMPLETED");
    expect(await reconciledUntil(pi.id, m.opts, (x) => x.status !== "processing")).toMatchObject({ status: "succeeded", amount_received: 1900 });
    expect((await historyOf(pi.id, m.opts)).at(-1)).toMatchObject({ type: "authorize", status: "succeeded", provider_reference: captureId });
  });

  it("a capture PayPal holds PENDING keeps its capture id and settles by reading it back, or from the webhook naming it", async () => {
    const m = await paypalMerchant("paypal-pending-capture", "WH-PCAP");
    const pendingCapture = async (amount: number) => {
      const { pi, authorization } = await authorizedAtPayPal(m, amount);
      await paypalFault(m.clientId, "capture", "pending");
      const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, m.opts);
      expect(captured.body.status).toBe("processing");
      const capture = (await historyOf(pi.id, m.opts)).find((t) => t.type === "capture");
      expect(capture).toMatchObject({ status: "pending" });
      expect(capture?.provider_reference).toMatch(/^CAP/);
      return { pi, authorization, captureId: capture?.provider_reference ?? "" };
    };

    const read = await pendingCapture(2500);
    await reconcileNow(read.pi.id);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${read.pi.id}`, m.opts)).body.status).toBe("processing");
    await settleAtPayPal(read.captureId, "COMPLETED");
    expect(await reconciledUntil(read.pi.id, m.opts, (pi) => pi.status !== "processing")).toMatchObject({ status: "succeeded", amount_received: 2500 });
    expect((await historyOf(read.pi.id, m.opts)).filter((t) => t.type === "capture").map((t) => [t.status, t.provider_reference])).toEqual([["succeeded", read.captureId]]);

    const hooked = await pendingCapture(2600);
    const event = await captureCompleted(m.accountId, "WH-PCAP-1", { id: hooked.captureId, value: "26.00", intent: hooked.pi.id, related: { authorization_id: hooked.authorization } });
    expect(event.body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${hooked.pi.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 2600 });

    // A capture PayPal declines after holding it: the authorization can be captured again.
    const declined = await pendingCapture(2700);
    await settleAtPayPal(declined.captureId, "DECLINED");
    expect(await reconciledUntil(declined.pi.id, m.opts, (pi) => pi.status !== "processing")).toMatchObject({ status: "requires_capture", amount_received: 0 });

    // PAYMENT.CAPTURE.DENIED naming the pending capture fails it too; naming another capture, nothing.
    const denied = await pendingCapture(2800);
    const deny = (id: string, capture: string) =>
      paypalWebhook(m.accountId, id, "PAYMENT.CAPTURE.DENIED", { id: capture, status: "DECLINED", amount: { currency_code: "USD", value: "28.00" }, custom_id: denied.pi.id, supplementary_data: { related_ids: { authorization_id: denied.authorization } } });
    expect((await deny("WH-PCAP-2", "CAP-OTHER")).body).toMatchObject({ applied: 0 });
    expect((await deny("WH-PCAP-3", denied.captureId)).body).toMatchObject({ applied: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${denied.pi.id}`, m.opts)).body).toMatchObject({ status: "requires_capture", amount_received: 0, amount_capturable: 2800 });
  });

  it("a capture and a refund PayPal held PENDING whose answers were lost (the object reset before recording them) keep the id reconciliation learns, and settle by reading it back", async () => {
    const m = await paypalMerchant("paypal-pending-lost");
    const { pi } = await authorizedAtPayPal(m, 3100);
    const lostPending = async (op: "capture" | "refund", send: () => Promise<{ status: number }>) => {
      await paypalFault(m.clientId, op, "pending");
      let fired = false;
      await armBinding(pi.id, { step: "read_model", kind: "reset_before", nth: 1 }, () => {
        fired = true;
      });
      expect((await send()).status).toBeGreaterThanOrEqual(500);
      expect(fired).toBe(true);
      await paypalClearFaults(m.clientId);
      const attempt = () => historyOf(pi.id, m.opts).then((h) => h.filter((t) => t.type === op).at(-1));
      expect(await attempt()).toMatchObject({ status: "pending", provider_reference: null });
      // Reconciliation replays the call (same PayPal-Request-Id): PayPal still holds it PENDING, and names it.
      await reconcileNow(pi.id);
      const named = await attempt();
      expect(named).toMatchObject({ status: "pending" });
      expect(named?.provider_reference).toMatch(op === "capture" ? /^CAP/ : /^REF/);
      await settleAtPayPal(named?.provider_reference ?? "", "COMPLETED");
      await waitFor(async () => {
        await reconcileNow(pi.id);
        return (await attempt())?.status === "succeeded" ? true : undefined;
      }, 20_000, `the ${op} read back`);
    };
    await lostPending("capture", () => post(`/v1/payment_intents/${pi.id}/capture`, {}, m.opts));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 3100 });
    await lostPending("refund", () => post("/v1/refunds", { payment_intent: pi.id, amount: 1100 }, m.opts));
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body).toMatchObject({ amount_received: 3100, amount_refunded: 1100 });
    const ledger = await paypalLedger(pi.id);
    expect(ledger.orders.flatMap((o) => o.captures).map((c) => [c.status, c.amount, c.refunds.map((r) => [r.status, r.amount])])).toEqual([["COMPLETED", 3100, [["COMPLETED", 1100]]]]);
  });

  it("a refund PayPal holds PENDING settles from PAYMENT.CAPTURE.REFUNDED (named by its id), or fails when PayPal fails it: the money comes back to refund", async () => {
    const m = await paypalMerchant("paypal-pending-refund", "WH-PREF");
    const pi = (await createIntent({ amount: 4000, payment_method_data: { type: "paypal" }, confirm: true }, m.opts)).body;
    await approveAtPayPal(pi.next_action?.url ?? "");
    const refundPending = async (amount: number) => {
      await paypalFault(m.clientId, "refund", "pending");
      const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount }, m.opts)).body;
      expect(refund.status).toBe("pending");
      const attempt = (await historyOf(pi.id, m.opts)).filter((t) => t.type === "refund").at(-1);
      expect(attempt?.provider_reference).toMatch(/^REF/);
      return { refund, refundRef: attempt?.provider_reference ?? "" };
    };

    const hooked = await refundPending(1000);
    // PayPal has it: it cannot be taken back (Stripe's refunds.cancel is only for a refund nothing was sent for).
    const cancel = await post<{ error: { type: string; message: string } }>(`/v1/refunds/${hooked.refund.id}/cancel`, {}, m.opts);
    expect(cancel.status).toBe(400);
    expect(cancel.body.error.message).toContain("sent to the payment provider");
    const event = await paypalWebhook(m.accountId, "WH-PREF-1", "PAYMENT.CAPTURE.REFUNDED", { id: hooked.refundRef, status: "COMPLETED", amount: { currency_code: "USD", value: "10.00" }, custom_id: pi.id });
    expect(event.body).toMatchObject({ applied: 1 });
    expect((await get<RefundJson>(`/v1/refunds/${hooked.refund.id}`, m.opts)).body.status).toBe("succeeded");

    const failing = await refundPending(3000);
    await settleAtPayPal(failing.refundRef, "FAILED");
    await waitFor(async () => {
      await reconcileNow(pi.id);
      return (await get<RefundJson>(`/v1/refunds/${failing.refund.id}`, m.opts)).body.status === "failed";
    }, 20_000, "the failed refund");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body).toMatchObject({ amount_received: 4000, amount_refunded: 1000 });
    // What failed can be refunded again.
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, m.opts)).body.status).toBe("succeeded");
  });
});

describe("PayPal: amounts in PayPal's own decimals", () => {
  it("HUF goes to PayPal in whole forints; a fraction, or a currency PayPal does not take, is refused before anything is sent", async () => {
    const m = await paypalMerchant("paypal-huf");
    const huf = await createIntent({ amount: 500000, currency: "huf", payment_method_data: { type: "paypal" }, confirm: true }, m.opts);
    expect(huf.status, JSON.stringify(huf.body)).toBe(200);
    await approveAtPayPal(huf.body.next_action?.url ?? "");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${huf.body.id}`, m.opts)).body).toMatchObject({ status: "succeeded", amount_received: 500000 });
    // PayPal's ledger counts whole forints: 5000, refunded 1000.
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: huf.body.id, amount: 100000 }, m.opts)).body.status).toBe("succeeded");
    const fraction = await post<{ error: { code: string; message: string } }>("/v1/refunds", { payment_intent: huf.body.id, amount: 150 }, m.opts);
    expect(fraction.status).toBe(402);
    expect(fraction.body.error.code).toBe("amount_not_supported");
    const ledger = await paypalLedger(huf.body.id);
    expect(ledger.orders.flatMap((o) => o.captures).map((c) => [c.amount, c.refunds.map((r) => r.amount)])).toEqual([[5000, [1000]]]);

    const yen = await createIntent({ amount: 5000, currency: "jpy", payment_method_data: { type: "paypal" }, confirm: true }, m.opts);
    expect(yen.body.status).toBe("requires_action");

    const ordersBefore = (await paypalFakeStats()).calls["POST /v2/checkout/orders"] ?? 0;
    const half = await createIntent({ amount: 500050, currency: "huf", payment_method_data: { type: "paypal" } }, m.opts);
    const refused = await post<{ error: { code: string; message: string; type: string } }>(`/v1/payment_intents/${half.body.id}/confirm`, {}, m.opts);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: "invalid_request_error", code: "amount_not_supported" });
    expect(refused.body.error.message).toContain("whole units");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${half.body.id}`, m.opts)).body.status).toBe("requires_confirmation");
    expect(await historyOf(half.body.id, m.opts)).toEqual([]);

    const kwd = await createIntent({ amount: 5000, currency: "kwd", payment_method_data: { type: "paypal" }, confirm: true }, m.opts);
    expect(kwd.status).toBe(400);
    expect((kwd.body as unknown as { error: { code: string } }).error.code).toBe("currency_not_supported");
    expect((await paypalFakeStats()).calls["POST /v2/checkout/orders"] ?? 0).toBe(ordersBefore);
  });
});

describe("PayPal: a refund whose answer was lost, reconciled after PayPal forgot its PayPal-Request-Id", () => {
  it("is not sent again past 45 days (it would be a second refund); within them the replay stands and refunds once", async () => {
    const m = await paypalMerchant("paypal-old-refund");
    const { pi, authorization } = await authorizedAtPayPal(m, 5000);
    const captureId = await dashboardCapture(m, pi.id, authorization, 5000);
    const paypal = new PayPalConnector({ accountId: m.accountId, clientId: m.clientId, clientSecret: "paypal-secret-9876", apiBase: env.PAYPAL_API_BASE, timeoutMs: 3000 });
    const refunds = async () => {
      const ledger = (await (await fetch(`${env.PAYPAL_API_BASE}/__ledger?intent=${pi.id}`)).json()) as { orders: { captures: { refunds: { amount: number }[] }[] }[] };
      return ledger.orders.flatMap((o) => o.captures).flatMap((c) => c.refunds.map((r) => r.amount));
    };
    const req = (attemptId: string) => ({ intentId: pi.id, merchantId: "", attemptId, idempotencyKey: `${attemptId}-key`, amount: 1000, currency: "usd", providerReference: captureId, paymentMethod: null });
    // PayPal made the refund; its answer never came back (sent once here, then asked again).
    const lost = req(uniqueKey("txn_lost"));
    expect(await paypal.refund(lost)).toMatchObject({ kind: "succeeded" });
    expect(await refunds()).toEqual([1000]);
    const daysAgo = (days: number) => Date.now() - days * 24 * 60 * 60 * 1000;
    const old = await paypal.reconcileFollowUp("refund", lost, null, daysAgo(46));
    expect(old).toMatchObject({ kind: "unknown" });
    expect(old.kind === "unknown" ? old.message : "").toContain(captureId);
    expect(await refunds()).toEqual([1000]);
    // Within the window the same PayPal-Request-Id gets PayPal's first answer: no second refund.
    expect(await paypal.reconcileFollowUp("refund", lost, null, daysAgo(10))).toMatchObject({ kind: "succeeded" });
    expect(await refunds()).toEqual([1000]);
  });
});
