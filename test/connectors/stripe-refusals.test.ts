// What Stripe refuses, as the merchant hears it: a 400 of Stripe's about the payment itself (an amount
// below its minimum) is the merchant's 400 invalid_request_error with Stripe's code, param and words,
// after failing over to any other connector; a follow-up Stripe refuses is a 400 too, with nothing
// recorded as moved; a rate limit (429) is a retryable provider error, never a refusal for good.
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { StripeConnector } from "../../src/connectors/stripe/connector";
import { fromAuthorizeError, fromFollowUpError } from "../../src/connectors/stripe/transformers";
import type { AuthorizeRequest } from "../../src/connectors/types";
import {
  addConnector,
  createIntent,
  expectError,
  get,
  newMerchant,
  post,
  stripeClient,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
} from "../helpers";
import { stripeFault, stripeLedger } from "../chaos/harness";

const history = async (id: string, opts: CallOptions) =>
  (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data.map((t) => `${t.type}:${t.status}:${t.connector}:${t.response_code ?? ""}`);

/** stripe-node's error for a call that should fail. */
async function thrown(run: () => Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

describe("Stripe's amount_too_small at authorization", () => {
  it("the connector reads it as a refusal of the payment's data, with Stripe's code, param and words; a 400 of our own making stays a provider error", async () => {
    const stripe = new StripeConnector({ accountId: "mca_unit", secretKey: "sk_test_fake_refusal_unit", apiBase: env.STRIPE_API_BASE, timeoutMs: 3000 });
    const request: AuthorizeRequest = {
      intentId: "pi_refusalunit",
      merchantId: "acct_unit",
      attemptId: `txn_refusalunit${Date.now()}`,
      idempotencyKey: `pi_refusalunit:${Date.now()}`,
      amount: 30,
      currency: "usd",
      capture: true,
      paymentMethod: {
        id: "pm_local",
        type: "card",
        card: { brand: "visa", last4: "4242", expMonth: 12, expYear: 2034, funding: "credit", country: "US", fingerprint: "fp" },
        source: "test_payment_method",
        sandboxScenario: "success",
        testAlias: "pm_card_visa",
        created: Date.now(),
      },
      authenticated: false,
      returnUrl: null,
      gatewayReturnUrl: "http://gateway.test/connectors/return/pi_x?client_secret=s",
      description: null,
      offSession: false,
    };
    expect(await stripe.authorize(request)).toEqual({ kind: "rejected", code: "amount_too_small", param: "amount", message: "Amount must be at least $0.50 usd" });
    // A payment method Stripe has no record of (resource_missing): a request we built, not the
    // merchant's amount: a provider error, failed over like any other.
    expect(await stripe.authorize({ ...request, amount: 5000, attemptId: `${request.attemptId}b`, idempotencyKey: `${request.idempotencyKey}b`, paymentMethod: { ...request.paymentMethod, testAlias: "pm_card_unknownToStripe" } })).toMatchObject({
      kind: "provider_error",
    });
  });

  it("with one Stripe connector: stripe-node gets Stripe's 400, nothing is charged, and the intent is confirmed again once its amount is updated", async () => {
    const { opts, key } = await newMerchant("stripe-too-small");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small" } });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 30, currency: "usd", payment_method: "pm_card_visa" });
    const err = await thrown(() => client.paymentIntents.confirm(pi.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", code: "amount_too_small", param: "amount", message: "Amount must be at least $0.50 usd" });

    const after = await client.paymentIntents.retrieve(pi.id);
    // Where a refused confirmation leaves it: its payment method kept, no payment error, nothing received.
    expect(after).toMatchObject({ status: "requires_confirmation", last_payment_error: null, amount_received: 0, latest_charge: null });
    expect(after.payment_method).not.toBeNull();
    expect(await history(pi.id, opts)).toEqual(["authorize:failed:stripe:amount_too_small"]);
    expect((await stripeLedger(pi.id)).intents).toEqual([]);
    // No failed charge: Stripe made none.
    expect((await client.charges.list({ payment_intent: pi.id })).data).toEqual([]);

    await client.paymentIntents.update(pi.id, { amount: 5000 });
    expect((await client.paymentIntents.confirm(pi.id)).status).toBe("succeeded");
    expect((await stripeLedger(pi.id)).intents.map((i) => i.amount_received)).toEqual([5000]);
  });

  it("created with confirm: the same 400, not a 502 provider_error", async () => {
    const { opts } = await newMerchant("stripe-too-small-create");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small_create" } });
    const res = await createIntent({ amount: 49, currency: "usd", payment_method: "pm_card_visa", confirm: true }, opts);
    const error = expectError(res, 400, "amount_too_small");
    expect(error).toMatchObject({ type: "invalid_request_error", param: "amount", message: "Amount must be at least $0.50 usd" });
    expect(res.headers.get("Stripe-Should-Retry")).toBeNull();
    // As Stripe's errors about an intent: it carries the intent, confirmable again.
    expect(error.payment_intent).toMatchObject({ status: "requires_confirmation", last_payment_error: null });
  });

  it("on seed 002's surface: a 4xx in its own error format with Stripe's words, never a 5xx", async () => {
    const { opts } = await newMerchant("stripe-too-small-pos");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small_pos" } });
    const res = await post<{ error: { code: string; message: string } }>("/api/v1/payments/sale", { amountCents: 30, currency: "USD", token: "tok_visa", expiry: "1239", cvv: "123" }, opts);
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    expect(res.body.error.message).toContain("Amount must be at least $0.50 usd");
  });

  it("a refusal by Stripe's own currency rules, checked before anything is sent, names the parameter at fault", async () => {
    const { opts } = await newMerchant("stripe-rules-param");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_rules_param" } });
    const refused = async (params: Record<string, unknown>) => expectError(await createIntent({ ...params, payment_method: "pm_card_visa", confirm: true }, opts), 400);
    expect(await refused({ amount: 5125, currency: "kwd" })).toMatchObject({ code: "amount_not_supported", param: "amount" });
    expect(await refused({ amount: 5000, currency: "iqd" })).toMatchObject({ code: "currency_not_supported", param: "currency" });
  });

  it("with two connectors: fails over to the next, which takes the amount; the refusal stays in the history", async () => {
    const { opts, key } = await newMerchant("stripe-too-small-failover");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small_failover" }, priority: 1 });
    await addConnector(opts, { connector: "sandbox", priority: 2 });
    const pi = await stripeClient(key).paymentIntents.create({ amount: 30, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(pi.status).toBe("succeeded");
    expect(await history(pi.id, opts)).toEqual(["authorize:failed:stripe:amount_too_small", "authorize:succeeded:sandbox:00"]);
    expect((await stripeLedger(pi.id)).intents).toEqual([]);
  });

  it("with two connectors that both refuse it: the last one's 400 is the answer, and each refusal is recorded", async () => {
    const { opts, key } = await newMerchant("stripe-too-small-both");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small_first" }, priority: 1 });
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_too_small_second" }, priority: 2 });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 25, currency: "usd", payment_method: "pm_card_visa" });
    const err = await thrown(() => client.paymentIntents.confirm(pi.id));
    expect(err).toMatchObject({ statusCode: 400, code: "amount_too_small", param: "amount" });
    expect(await history(pi.id, opts)).toEqual(["authorize:failed:stripe:amount_too_small", "authorize:failed:stripe:amount_too_small"]);
    expect((await client.paymentIntents.retrieve(pi.id)).status).toBe("requires_confirmation");
    // Refusals are no declines: they count nowhere near the decline limit, and no failed charge is listed.
    for (let i = 0; i < 4; i++) expect((await thrown(() => client.paymentIntents.confirm(pi.id))).code).toBe("amount_too_small");
    expect((await client.charges.list({ payment_intent: pi.id })).data).toEqual([]);
    expect((await client.paymentIntents.update(pi.id, { amount: 2500 })).amount).toBe(2500);
    expect((await client.paymentIntents.confirm(pi.id)).status).toBe("succeeded");
  });
});

describe("which of Stripe's 400s are the merchant's", () => {
  const invalid = (code: string | undefined, param: string | undefined, message = "refused") => ({ type: "StripeInvalidRequestError", statusCode: 400, code, param, message });
  it("the payment's amount (or a currency the account lacks) is the merchant's; a parameter we built wrong, our credentials or a rate limit is a provider error", () => {
    expect(fromAuthorizeError(invalid("amount_too_large", "amount", "Amount must be no more than $999,999.99"))).toEqual({ kind: "rejected", code: "amount_too_large", param: "amount", message: "Amount must be no more than $999,999.99" });
    expect(fromAuthorizeError(invalid(undefined, "currency", "Invalid currency: xyz."))).toEqual({ kind: "rejected", code: "currency_not_supported", param: "currency", message: "Invalid currency: xyz." });
    expect(fromAuthorizeError(invalid("parameter_unknown", "payment_method_options[card][foo]")).kind).toBe("provider_error");
    expect(fromAuthorizeError(invalid("resource_missing", "payment_method")).kind).toBe("provider_error");
    expect(fromAuthorizeError({ type: "StripeRateLimitError", statusCode: 429, code: "rate_limit", message: "Too many requests" }).kind).toBe("provider_error");
    expect(fromFollowUpError(invalid("amount_too_small", "amount_to_capture", "Amount must be at least $0.50 usd"))).toEqual({
      kind: "failed",
      code: "amount_too_small",
      message: "Amount must be at least $0.50 usd",
      invalidRequest: { param: "amount_to_capture" },
    });
    expect(fromFollowUpError(invalid("parameter_unknown", "foo")).kind).toBe("provider_error");
    expect(fromFollowUpError({ type: "StripeRateLimitError", statusCode: 429, code: "rate_limit", message: "Too many requests" }).kind).toBe("provider_error");
  });
});

describe("follow-ups Stripe refuses", () => {
  it("a capture below Stripe's minimum is Stripe's 400 (param amount_to_capture), and the payment stays capturable", async () => {
    const { opts, key } = await newMerchant("stripe-capture-small");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_capture_small" } });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect(pi.status).toBe("requires_capture");
    const err = await thrown(() => client.paymentIntents.capture(pi.id, { amount_to_capture: 20 }));
    expect(err).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", code: "amount_too_small", param: "amount_to_capture", message: "Amount must be at least $0.50 usd" });
    expect(await client.paymentIntents.retrieve(pi.id)).toMatchObject({ status: "requires_capture", amount_capturable: 5000, amount_received: 0 });
    expect((await stripeLedger(pi.id)).intents.map((i) => i.status)).toEqual(["requires_capture"]);
    expect((await client.paymentIntents.capture(pi.id, { amount_to_capture: 4000 })).status).toBe("succeeded");
  });

  it("a refund Stripe refuses (more than it has left: a refund made in Stripe's dashboard) is Stripe's 400, and nothing is recorded as refunded", async () => {
    const { opts, key } = await newMerchant("stripe-refund-refused");
    const secret = "sk_test_fake_refund_denied";
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secret } });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const [made] = (await stripeLedger(pi.id)).intents;
    // 3,000 refunded in Stripe's dashboard, unknown to the gateway.
    const dashboard = await fetch(`${env.STRIPE_API_BASE}/v1/refunds`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/x-www-form-urlencoded" },
      body: `payment_intent=${made?.id ?? ""}&amount=3000`,
    });
    expect(dashboard.status).toBe(200);
    const err = await thrown(() => client.refunds.create({ payment_intent: pi.id, amount: 4000 }));
    expect(err).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", code: "amount_too_large", param: "amount" });
    const after = await client.paymentIntents.retrieve(pi.id);
    expect(after.amount_received).toBe(5000);
    const charge = await client.charges.retrieve(String(after.latest_charge));
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false });
    expect((await client.refunds.list({ payment_intent: pi.id })).data.filter((r) => r.status === "succeeded" || r.status === "pending")).toEqual([]);
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([3000]);
    // What Stripe still holds can be refunded.
    expect((await client.refunds.create({ payment_intent: pi.id, amount: 2000 })).status).toBe("succeeded");
  });

  it("on seed 002's surface a capture Stripe refuses is a 4xx in its own error format, never a 5xx", async () => {
    const { opts } = await newMerchant("stripe-capture-small-seed");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_capture_small_seed" } });
    const pi = (await createIntent({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    const res = await post<{ error: { code: string; message: string } }>("/api/v1/payments/capture", { paymentIntentId: pi.id, amountCents: 20 }, opts);
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    expect(res.body.error.message).toContain("Amount must be at least $0.50 usd");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_capture");
  });
});

describe("Stripe's rate limit (429)", () => {
  it("at authorization: a retryable provider error (502), nothing charged, the intent confirmable again; with another connector, it fails over", async () => {
    const { opts, key } = await newMerchant("stripe-rate-limited");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_rate_limited" } });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa" });
    await stripeFault("sk_test_fake_rate_limited", "create", "rate_limit");
    const err = await thrown(() => client.paymentIntents.confirm(pi.id));
    expect(err).toMatchObject({ statusCode: 502, type: "StripeAPIError", code: "provider_error" });
    expect(err.message).toContain("No money moved");
    expect(err.message).not.toContain("..");
    expect(await client.paymentIntents.retrieve(pi.id)).toMatchObject({ status: "requires_confirmation", last_payment_error: null });
    expect((await client.paymentIntents.confirm(pi.id)).status).toBe("succeeded");
    expect(await history(pi.id, opts)).toEqual(["authorize:failed:stripe:provider_error", "authorize:succeeded:stripe:succeeded"]);

    const two = await newMerchant("stripe-rate-limited-failover");
    await addConnector(two.opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_limit" }, priority: 1 });
    await addConnector(two.opts, { connector: "sandbox", priority: 2 });
    const paid = await stripeClient(two.key).paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    expect(paid.status).toBe("succeeded");
    expect(await history(paid.id, two.opts)).toEqual(["authorize:failed:stripe:provider_error", "authorize:succeeded:sandbox:00"]);
  });

  it("at a refund or a capture: a retryable 502, nothing recorded as moved, and the retry goes through", async () => {
    const { opts, key } = await newMerchant("stripe-rate-limited-followups");
    const secret = "sk_test_fake_rate_limited_followups";
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secret } });
    const client = stripeClient(key);
    const pi = await client.paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    await stripeFault(secret, "capture", "rate_limit");
    expect(await thrown(() => client.paymentIntents.capture(pi.id))).toMatchObject({ statusCode: 502, code: "provider_error" });
    expect(await client.paymentIntents.retrieve(pi.id)).toMatchObject({ status: "requires_capture", amount_received: 0 });
    expect((await client.paymentIntents.capture(pi.id)).status).toBe("succeeded");

    await stripeFault(secret, "refund", "rate_limit");
    expect(await thrown(() => client.refunds.create({ payment_intent: pi.id, amount: 1000 }))).toMatchObject({ statusCode: 502, code: "provider_error" });
    expect((await client.charges.retrieve(String((await client.paymentIntents.retrieve(pi.id)).latest_charge))).amount_refunded).toBe(0);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts)).body.status).toBe("succeeded");
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([1000]);
  });
});
