// The Stripe connector against the local Stripe fake over loopback: directly, and through the API
// with a merchant whose connector account is a Stripe account.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { StripeConnector } from "../../src/connectors/stripe/connector";
import type { AuthorizeRequest, FollowUpRequest } from "../../src/connectors/types";
import type { PaymentMethodDetails } from "../../src/core/types";
import {
  addConnector,
  createIntent,
  expectError,
  get,
  newMerchant,
  post,
  stripeFakeStats,
  type ChargeJson,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
  waitFor,
} from "../helpers";
import { stripeFault, stripeLedger, stripeRelease } from "../chaos/harness";

const card = (alias: string): PaymentMethodDetails => ({
  id: "pm_local",
  type: "card",
  card: { brand: "visa", last4: "4242", expMonth: 12, expYear: 2034, funding: "credit", country: "US", fingerprint: "fp" },
  source: "test_payment_method",
  sandboxScenario: "success",
  testAlias: alias,
  created: Date.now(),
});

let n = 0;
function request(alias: string, capture = true, offSession = false): AuthorizeRequest {
  n += 1;
  const attemptId = `txn_stripeunit${Date.now()}${n}`;
  return {
    intentId: `pi_stripeunit${n}`,
    merchantId: "acct_unit",
    attemptId,
    idempotencyKey: `pi_stripeunit${n}:${attemptId}`,
    amount: 5000,
    currency: "usd",
    capture,
    paymentMethod: card(alias),
    authenticated: false,
    returnUrl: null,
    gatewayReturnUrl: "http://gateway.test/connectors/return/pi_x?client_secret=s",
    description: null,
    offSession,
  };
}

const follow = (req: AuthorizeRequest, ref: string, amount: number, suffix: string): FollowUpRequest => ({
  intentId: req.intentId,
  merchantId: req.merchantId,
  attemptId: `${req.attemptId}${suffix}`,
  idempotencyKey: `${req.idempotencyKey}${suffix}`,
  amount,
  currency: "usd",
  providerReference: ref,
  paymentMethod: req.paymentMethod,
});

const connector = (key = "sk_test_fake_healthy") => new StripeConnector({ accountId: "mca_unit", secretKey: key, apiBase: env.STRIPE_API_BASE, timeoutMs: 3000 });

describe("Stripe connector against the Stripe fake", () => {
  it("authorizes, captures part, refunds in parts, and voids", async () => {
    const stripe = connector();
    const auth = request("pm_card_visa", false);
    const approved = await stripe.authorize(auth);
    expect(approved).toMatchObject({ kind: "approved", captured: false });
    if (approved.kind !== "approved") throw new Error("not approved");
    const captured = await stripe.capture(follow(auth, approved.providerReference, 3000, "c"));
    expect(captured).toMatchObject({ kind: "succeeded", providerReference: approved.providerReference });
    expect(await stripe.refund(follow(auth, approved.providerReference, 1000, "r1"))).toMatchObject({ kind: "succeeded" });
    expect(await stripe.refund(follow(auth, approved.providerReference, 1500, "r2"))).toMatchObject({ kind: "succeeded" });
    expect(await stripe.refund(follow(auth, approved.providerReference, 1000, "r3"))).toMatchObject({ kind: "failed", code: "amount_too_large" });

    const other = request("pm_card_mastercard", false);
    const second = await stripe.authorize(other);
    if (second.kind !== "approved") throw new Error("not approved");
    expect(await stripe.void(follow(other, second.providerReference, 5000, "v"))).toMatchObject({ kind: "succeeded" });
    // Canceled already (Stripe cancels an authorization nobody captured within 7 days on its own): a
    // void with a key of its own finds it so, and the authorization is released all the same.
    expect(await stripe.void(follow(other, second.providerReference, 5000, "v2"))).toMatchObject({ kind: "succeeded", responseCode: "already_canceled" });
    // A captured payment cannot be voided: that stays a refusal, saying what Stripe captured.
    expect(await stripe.void(follow(auth, approved.providerReference, 5000, "v3"))).toMatchObject({ kind: "failed", code: "payment_intent_unexpected_state", capturedElsewhere: { amount: 3000, reference: approved.providerReference } });
    // Captured already for this amount (in Stripe's dashboard, say): a capture with a key of its own
    // finds it so and puts it on record. Another amount, or a canceled one, stays a refusal.
    expect(await stripe.capture(follow(auth, approved.providerReference, 3000, "c2"))).toMatchObject({ kind: "succeeded", responseCode: "already_captured" });
    expect(await stripe.capture(follow(auth, approved.providerReference, 5000, "c3"))).toMatchObject({ kind: "failed", code: "payment_intent_unexpected_state" });
    expect(await stripe.capture(follow(other, second.providerReference, 5000, "c4"))).toMatchObject({ kind: "failed", code: "payment_intent_unexpected_state" });
  });

  it("maps declines to their codes, 5xx to provider errors, and lost answers to unknown outcomes", async () => {
    const stripe = connector();
    expect(await stripe.authorize(request("pm_card_chargeDeclinedInsufficientFunds"))).toMatchObject({ kind: "declined", code: "card_declined", declineCode: "insufficient_funds" });
    expect(await stripe.authorize(request("pm_card_chargeDeclinedExpiredCard"))).toMatchObject({ kind: "declined", code: "expired_card" });
    // A 5xx is indeterminate (the payment may have been made); a refused request (429) made nothing.
    expect(await stripe.authorize(request("pm_card_sandboxProviderError"))).toMatchObject({ kind: "unknown" });
    expect(await connector("sk_test_fake_down").authorize(request("pm_card_visa"))).toMatchObject({ kind: "unknown" });
    expect(await connector("sk_test_fake_refused").authorize(request("pm_card_visa"))).toMatchObject({ kind: "provider_error" });
    expect(await stripe.authorize(request("pm_card_sandboxTimeoutThenSuccess"))).toMatchObject({ kind: "unknown" });
    expect(await stripe.authorize(request("pm_card_threeDSecure2Required"))).toMatchObject({ kind: "requires_action" });
  });

  it("sends merchant-initiated charges off-session: a card that wants 3DS is declined with authentication_required", async () => {
    const stripe = connector();
    expect(await stripe.authorize(request("pm_card_threeDSecure2Required", true, true))).toMatchObject({ kind: "declined", code: "authentication_required", declineCode: "authentication_required" });
    expect(await stripe.authorize(request("pm_card_visa", true, true))).toMatchObject({ kind: "approved" });
  });

  it("a retried or reconciled authorization reaches Stripe's payment intent once", async () => {
    const stripe = connector();
    const req = request("pm_card_visa");
    const first = await stripe.authorize(req);
    const again = await stripe.authorize(req);
    const reconciled = await stripe.reconcileAuthorization(req, null, Date.now());
    expect(again).toEqual(first);
    expect(reconciled).toEqual(first);
    expect((await stripeFakeStats()).createdByAttempt[req.attemptId]).toBe(1);

    const late = request("pm_card_sandboxTimeoutThenSuccess");
    expect((await stripe.authorize(late)).kind).toBe("unknown");
    const truth = await stripe.reconcileAuthorization(late, null, Date.now());
    expect(truth).toMatchObject({ kind: "approved", captured: true });
    expect((await stripeFakeStats()).createdByAttempt[late.attemptId]).toBe(1);
  });
});

describe("Stripe connector: a 5xx at authorization, when Stripe's search lags", () => {
  it("a search that finds nothing past the settle time is not the last word: the consistent list of payments around the attempt is", async () => {
    const key = `sk_test_fake_searchlag_${Date.now()}`;
    const stripe = new StripeConnector({ accountId: "mca_unit", secretKey: key, apiBase: env.STRIPE_API_BASE, timeoutMs: 3000, searchSettleMs: 0 });
    // Stripe made the payment and answered 500 (kept as the key's answer); its search does not see it.
    const made = request("pm_card_visa");
    await stripeFault(key, "create", "error_after");
    expect(await stripe.authorize(made)).toMatchObject({ kind: "unknown" });
    expect(await stripe.reconcileAuthorization(made, null, Date.now())).toMatchObject({ kind: "approved", captured: true });
    expect((await stripeFakeStats()).createdByAttempt[made.attemptId]).toBe(1);
    // Stripe made nothing (500 to every try): the list has no payment of the attempt either.
    const none = request("pm_card_sandboxProviderError");
    expect(await stripe.authorize(none)).toMatchObject({ kind: "unknown" });
    expect(await stripe.reconcileAuthorization(none, null, Date.now())).toMatchObject({ kind: "provider_error" });
    // More payments around the attempt than it reads: unknown (asked again later), not "nothing moved".
    await stripe.authorize(request("pm_card_visa"));
    const small = new StripeConnector({ accountId: "mca_unit", secretKey: key, apiBase: env.STRIPE_API_BASE, timeoutMs: 3000, searchSettleMs: 0, listScanLimit: 1 });
    expect(await small.reconcileAuthorization(none, null, Date.now())).toMatchObject({ kind: "unknown", message: expect.stringContaining("more than 1 payments") });
  });
});

describe("payments through a Stripe connector account", () => {
  it("a cancel of an authorization captured in Stripe's dashboard is refused, and the capture recorded: the payment is succeeded, for what Stripe captured", async () => {
    const { opts } = await newMerchant("stripe-dashboard-cancel");
    const secretKey = "sk_test_fake_dashboard_cancel";
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
    const pi = (await createIntent({ amount: 10000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect(pi.status).toBe("requires_capture");
    const stripeId = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data.find((t) => t.type === "authorize")?.provider_reference ?? "";
    const atStripe = await fetch(`${env.STRIPE_API_BASE}/v1/payment_intents/${stripeId}/capture`, { method: "POST", headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/x-www-form-urlencoded" }, body: "amount_to_capture=6000" });
    expect(atStripe.status).toBe(200);
    await atStripe.body?.cancel();

    const canceled = await post<{ error: { code: string; message: string; payment_intent?: PaymentIntentJson } }>(`/v1/payment_intents/${pi.id}/cancel`, {}, opts);
    expect(canceled.status).toBe(400);
    expect(canceled.body.error.code).toBe("payment_intent_unexpected_state");
    expect(canceled.body.error.message).toContain("captured at the payment provider already");
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(after).toMatchObject({ status: "succeeded", amount_received: 6000, amount_capturable: 0, canceled_at: null, cancellation_reason: null });
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(rows.filter((t) => t.type !== "authorize").map((t) => [t.type, t.status, t.amount])).toEqual([
      ["void", "failed", 10000],
      ["capture", "succeeded", 6000],
    ]);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 6000 }, opts)).body.status).toBe("succeeded");

    // The cron's expiry of an authorization 7 days old is the same cancel: it finds the capture, and
    // records it rather than voiding again at every sweep.
    const other = (await createIntent({ amount: 3000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    const otherId = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${other.id}/transactions`, opts)).body.data.find((t) => t.type === "authorize")?.provider_reference ?? "";
    const full = await fetch(`${env.STRIPE_API_BASE}/v1/payment_intents/${otherId}/capture`, { method: "POST", headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/x-www-form-urlencoded" }, body: "" });
    await full.body?.cancel();
    const expired = await env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(other.id)).expire(other.id, Date.now() + 8 * 86_400_000);
    expect(expired).toMatchObject({ status: "succeeded", amountReceived: 3000 });
  });

  it("a 3DS challenge the intent drops is canceled at Stripe first: passing it later charges nothing (confirm again, cancel, update)", async () => {
    const { opts } = await newMerchant("stripe-3ds-dropped");
    const secretKey = "sk_test_fake_dropped_3ds";
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
    const pass3ds = async (stripeId: string) => {
      const res = await fetch(`${env.STRIPE_API_BASE}/3ds/${stripeId}`);
      await res.body?.cancel();
    };
    const challenged = async (amount: number) => {
      const pi = (await createIntent({ amount, payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/back" }, opts)).body;
      expect(pi.status).toBe("requires_action");
      const ledger = await stripeLedger(pi.id);
      expect(ledger.intents.map((i) => i.status)).toEqual(["requires_action"]);
      return { pi, stripeId: ledger.intents[0]?.id ?? "" };
    };
    const received = async (id: string) => (await stripeLedger(id)).intents.reduce((sum, i) => sum + i.amount_received, 0);

    // Confirmed again with a card that needs no challenge: one charge, even once the first challenge is passed.
    const first = await challenged(3000);
    const paid = await post<PaymentIntentJson>(`/v1/payment_intents/${first.pi.id}/confirm`, { payment_method: "pm_card_visa" }, opts);
    expect(paid.body.status).toBe("succeeded");
    expect((await stripeLedger(first.pi.id)).intents.find((i) => i.id === first.stripeId)?.status).toBe("canceled");
    await pass3ds(first.stripeId);
    expect(await received(first.pi.id)).toBe(3000);

    // Canceled: nothing taken when the shopper passes the challenge afterwards.
    const second = await challenged(4200);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${second.pi.id}/cancel`, {}, opts)).body.status).toBe("canceled");
    await pass3ds(second.stripeId);
    expect(await received(second.pi.id)).toBe(0);

    // Its amount changed: the old challenge is canceled too.
    const third = await challenged(1500);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${third.pi.id}`, { amount: 1600 }, opts)).body.status).toBe("requires_confirmation");
    await pass3ds(third.stripeId);
    expect(await received(third.pi.id)).toBe(0);

    // Stripe cannot cancel it (an error): nothing changes here, and the challenge stays followed.
    const fourth = await challenged(2500);
    await stripeFault(secretKey, "cancel", "error");
    const refused = await post<{ error: { code: string; message: string } }>(`/v1/payment_intents/${fourth.pi.id}/cancel`, {}, opts);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("payment_intent_action_pending");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${fourth.pi.id}`, opts)).body.status).toBe("requires_action");
    // Asked again, it goes through.
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${fourth.pi.id}/cancel`, {}, opts)).body.status).toBe("canceled");
    await pass3ds(fourth.stripeId);
    expect(await received(fourth.pi.id)).toBe(0);
  });

  it("takes a payment end to end on Stripe, recording the connector, account and Stripe's reference", async () => {
    const { opts } = await newMerchant("stripe-flow");
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_merchant_1234" } });
    expect(account).toMatchObject({ connector: "stripe", credentials_last4: "1234", status: "enabled" });
    expect(JSON.stringify(account)).not.toContain("sk_test_fake_merchant");

    const pi = (await createIntent({ amount: 4200, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect(pi).toMatchObject({ status: "requires_capture", connector: "stripe", connector_account: account.id });
    const captured = (await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 4000 }, opts)).body;
    expect(captured.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500 }, opts)).body.status).toBe("succeeded");
    const charge = (await get<ChargeJson>(`/v1/charges/${pi.latest_charge}`, opts)).body;
    // 1,500 refunded, and the 200 of the 4,200 authorized that was never captured (Stripe counts it on the charge).
    expect(charge).toMatchObject({ connector: "stripe", connector_account: account.id, amount_refunded: 1700, refunded: false });
    expect(charge.provider_reference).toMatch(/^pi_fake/);
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(history.map((t) => `${t.type}:${t.status}:${t.connector}`)).toEqual(["authorize:succeeded:stripe", "capture:succeeded:stripe", "refund:succeeded:stripe", "refund:succeeded:stripe"]);
  });

  it("Stripe's currency rules hold before anything is sent: three-decimal amounts end in 0, ISK in whole kronur, no currency Stripe lacks", async () => {
    const { opts } = await newMerchant("stripe-currency-rules");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_currency_rules" } });
    const refusedAt = async (params: Record<string, unknown>, code: string) => {
      const pi = (await createIntent({ ...params, payment_method: "pm_card_visa" }, opts)).body;
      expectError(await post(`/v1/payment_intents/${pi.id}/confirm`, {}, opts), 400, code);
      expect((await stripeLedger(pi.id)).intents).toEqual([]);
    };
    await refusedAt({ amount: 5125, currency: "kwd" }, "amount_not_supported");
    await refusedAt({ amount: 550, currency: "isk" }, "amount_not_supported");
    await refusedAt({ amount: 5000, currency: "iqd" }, "currency_not_supported");
    // What Stripe takes goes through; a capture or refund its rules forbid is refused, and nothing moves.
    const pi = (await createIntent({ amount: 5120, currency: "kwd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect(pi.status).toBe("requires_capture");
    const odd = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 5115 }, opts);
    expect(odd.status).not.toBe(200);
    expect((await stripeLedger(pi.id)).intents.map((i) => i.status)).toEqual(["requires_capture"]);
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 5110 }, opts)).body.status).toBe("succeeded");
    const oddRefund = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1005 }, opts);
    expect(oddRefund.status === 200 ? oddRefund.body.status : "refused").not.toBe("succeeded");
    expect((await stripeLedger(pi.id)).refunds).toEqual([]);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body.status).toBe("succeeded");
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([1000]);
  });

  it("a Stripe decline is a 402 card_error and does not fail over", async () => {
    const { opts } = await newMerchant("stripe-decline");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_decline" }, priority: 1 });
    await addConnector(opts, { connector: "sandbox", priority: 2 });
    const res = await createIntent({ payment_method: "pm_card_chargeDeclined", confirm: true }, opts);
    const error = expectError(res, 402, "card_declined");
    expect(error.decline_code).toBe("generic_decline");
    const id = error.payment_intent?.id ?? "";
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data;
    expect(history.map((t) => `${t.connector}:${t.status}`)).toEqual(["stripe:failed"]);
  });

  it("validates connector accounts and never shows credentials", async () => {
    const { opts } = await newMerchant("stripe-accounts");
    expectError(await post("/v1/connector_accounts", { connector: "stripe" }, opts), 400, "parameter_missing");
    expectError(await post("/v1/connector_accounts", { connector: "stripe", credentials: { secret_key: "sk_live_wrongmode" } }, opts), 400, "livemode_mismatch");
    expectError(await post("/v1/connector_accounts", { connector: "paypal", credentials: { client_id: "x" } }, opts), 400);
    expectError(await post("/v1/connector_accounts", { connector: "adyen" }, opts), 400);
    const account = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_secret_abcd" }, webhook_secret: "whsec_test" });
    const listed = await get<ListJson<{ id: string }>>("/v1/connector_accounts", opts);
    expect(listed.body.data.map((a) => a.id)).toEqual([account.id]);
    expect(JSON.stringify(listed.body)).not.toContain("sk_test_fake_secret");
    const row = await env.DB.prepare("SELECT credentials, webhook_secret FROM connector_accounts WHERE id = ?").bind(account.id).first<{ credentials: string; webhook_secret: string }>();
    expect(row?.credentials).toMatch(/^v1\./);
    expect(row?.credentials).not.toContain("sk_test_fake_secret");
    expect(row?.webhook_secret).not.toContain("whsec_test");
    const other = await newMerchant("stripe-accounts-other");
    expectError(await get(`/v1/connector_accounts/${account.id}`, other.opts), 404);
    expectError(await post(`/v1/connector_accounts/${account.id}`, { disabled: true }, other.opts), 404);
  });
});

describe("Stripe connector: a refund whose answer was lost, reconciled after Stripe forgot its idempotency key", () => {
  it("is read back from Stripe's list, never sent again: the money goes back once", async () => {
    const key = `sk_test_fake_oldrefund_${Date.now()}`;
    const stripe = connector(key);
    const paid = request("pm_card_visa");
    const approved = await stripe.authorize(paid);
    expect(approved).toMatchObject({ kind: "approved", captured: true });
    const reference = approved.kind === "approved" ? approved.providerReference : "";
    // Stripe made the refund and answered 500 (kept as the key's answer): nobody knows it was made.
    const refund = follow(paid, reference, 2000, "_re");
    await stripeFault(key, "refund", "error_after");
    expect(await stripe.refund(refund)).toMatchObject({ kind: "unknown" });
    // A day later Stripe no longer knows the key (it keeps them 24 hours); reconciliation asks then.
    await fetch(`${env.STRIPE_API_BASE}/__idempotency/expire?key=${encodeURIComponent(key)}`, { method: "POST" });
    const dayAgo = Date.now() - 25 * 60 * 60 * 1000;
    const made = (await stripeLedger(paid.intentId)).refunds;
    expect(made).toHaveLength(1);
    expect(await stripe.reconcileFollowUp("refund", refund, null, dayAgo)).toMatchObject({ kind: "succeeded", providerReference: made[0]?.id });
    expect((await stripeLedger(paid.intentId)).refunds.map((r) => r.amount)).toEqual([2000]);
    // A refund Stripe never made, that old: nothing moved (the list is consistent), so it is not sent either.
    const never = follow(paid, reference, 1000, "_re2");
    expect(await stripe.reconcileFollowUp("refund", never, null, dayAgo)).toMatchObject({ kind: "provider_error" });
    expect((await stripeLedger(paid.intentId)).refunds.map((r) => r.amount)).toEqual([2000]);
    // Within the window the replay with the key stands: Stripe answers what it did.
    const fresh = follow(paid, reference, 500, "_re3");
    expect(await stripe.reconcileFollowUp("refund", fresh, null, Date.now())).toMatchObject({ kind: "succeeded" });
    expect((await stripeLedger(paid.intentId)).refunds.map((r) => r.amount).sort()).toEqual([2000, 500].sort());
  });
});

describe("Stripe connector: an incremental authorization whose answer was lost, reconciled after Stripe forgot its key", () => {
  it("is read back from the payment intent: Stripe holds the new total, so it succeeded (not failed on the replay's refusal)", async () => {
    const key = `sk_test_fake_oldincrement_${Date.now()}`;
    const stripe = connector(key);
    const held = { ...request("pm_card_visa", false), requestIncrementalAuthorization: true };
    const approved = await stripe.authorize(held);
    expect(approved).toMatchObject({ kind: "approved", captured: false, incrementalAuthorization: true });
    const reference = approved.kind === "approved" ? approved.providerReference : "";
    // Stripe raised the authorization to 7000 and answered 500 (kept as the key's answer).
    const increment = follow(held, reference, 7000, "_inc");
    await stripeFault(key, "increment", "error_after");
    expect(await stripe.incrementAuthorization(increment)).toMatchObject({ kind: "unknown" });
    // A day later the key is forgotten: the replay is refused (7000 is not above 7000), yet Stripe holds 7000.
    await fetch(`${env.STRIPE_API_BASE}/__idempotency/expire?key=${encodeURIComponent(key)}`, { method: "POST" });
    expect(await stripe.reconcileIncrement(increment)).toMatchObject({ kind: "succeeded", providerReference: reference });
  });
});

describe("Stripe connector: reconciliation while the lost request is still running at Stripe", () => {
  it("a refund Stripe has not finished (its key in use: 409) is not read back as never made: unknown until Stripe answers, then recorded once", async () => {
    const key = `sk_test_fake_inflight_${Date.now()}`;
    const stripe = new StripeConnector({ accountId: "mca_unit", secretKey: key, apiBase: env.STRIPE_API_BASE, timeoutMs: 500 });
    const paid = request("pm_card_visa");
    const approved = await stripe.authorize(paid);
    const reference = approved.kind === "approved" ? approved.providerReference : "";
    // The refund reaches Stripe, which is slow to do it: the connector gives up waiting (unknown).
    const refund = follow(paid, reference, 1500, "_re");
    await stripeFault(key, "refund", "slow");
    expect(await stripe.refund(refund)).toMatchObject({ kind: "unknown" });
    // Reconciliation meanwhile: the replay is answered 409 (key in use) and Stripe lists no refund yet.
    expect((await stripeLedger(paid.intentId)).refunds).toEqual([]);
    expect(await stripe.reconcileFollowUp("refund", refund, null, Date.now())).toMatchObject({ kind: "unknown" });
    // Stripe finishes the first request: the refund is made, once, and the next round records it.
    await stripeRelease(key);
    await waitFor(async () => ((await stripeLedger(paid.intentId)).refunds.length > 0 ? true : undefined), 10_000, "the slow refund to be made");
    expect(await stripe.reconcileFollowUp("refund", refund, null, Date.now())).toMatchObject({ kind: "succeeded" });
    expect((await stripeLedger(paid.intentId)).refunds.map((r) => r.amount)).toEqual([1500]);
  });
});

describe("Stripe connector: a capture or void whose answer was lost, replayed after Stripe forgot its key", () => {
  it("a capture Stripe made is read back as made, not recorded failed on the replay's 400 payment_intent_unexpected_state", async () => {
    const key = `sk_test_fake_oldcapture_${Date.now()}`;
    const stripe = connector(key);
    const held = request("pm_card_visa", false);
    const approved = await stripe.authorize(held);
    expect(approved).toMatchObject({ kind: "approved", captured: false });
    const reference = approved.kind === "approved" ? approved.providerReference : "";
    // Stripe captured and answered 500 (kept as the key's answer): nobody knows the money moved.
    const capture = follow(held, reference, 5000, "_cap");
    await stripeFault(key, "capture", "error_after");
    expect(await stripe.capture(capture)).toMatchObject({ kind: "unknown" });
    // Stripe forgets the key: the replay is a new capture of a payment already captured, Stripe's 400.
    await fetch(`${env.STRIPE_API_BASE}/__idempotency/expire?key=${encodeURIComponent(key)}`, { method: "POST" });
    expect(await stripe.reconcileFollowUp("capture", capture, null, Date.now() - 25 * 60 * 60 * 1000)).toMatchObject({ kind: "succeeded", providerReference: reference });
  });

  it("a void asked of a payment captured meanwhile at Stripe says it was captured there (capturedElsewhere), from Stripe's records", async () => {
    const key = `sk_test_fake_oldvoid_${Date.now()}`;
    const stripe = connector(key);
    const held = request("pm_card_visa", false);
    const approved = await stripe.authorize(held);
    const reference = approved.kind === "approved" ? approved.providerReference : "";
    // Captured at Stripe (its dashboard, say); our void's answer was lost before it reached Stripe.
    expect(await stripe.capture(follow(held, reference, 5000, "_dash"))).toMatchObject({ kind: "succeeded" });
    const voided = await stripe.reconcileFollowUp("void", follow(held, reference, 5000, "_void"), null, Date.now());
    expect(voided).toMatchObject({ kind: "failed", capturedElsewhere: { amount: 5000, reference } });
  });
});
