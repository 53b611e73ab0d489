// A failed payment is retried at most once successfully, however many retries arrive together: the
// original's object runs them one at a time, with the retry on record before its object hears of it.
// Before, each concurrent retry created and charged a payment of its own (seed 002's and /v1's).
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RETRY_CLAIM_GRACE_MS } from "../../src/intents/object";
import { createIntent, expectError, get, newMerchant, ok, post, uniqueKey, waitFor, type CallOptions, type PaymentIntentJson } from "../helpers";

const EXPIRY = "1239";
const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));

interface RetryAnswer {
  retry: PaymentIntentJson | null;
  original: PaymentIntentJson;
}

async function declined(opts: CallOptions, amount = 4200): Promise<PaymentIntentJson> {
  const res = await createIntent({ amount, payment_method: "pm_card_chargeDeclinedInsufficientFunds", confirm: true }, opts);
  const error = expectError(res, 402);
  return error.payment_intent as PaymentIntentJson;
}

/** Every payment of the merchant that took money (the read model), and their successful authorizations at the (sandbox) PSP. */
async function paid(merchant: string): Promise<{ intents: string[]; charges: number }> {
  const rows = await env.DB.prepare("SELECT id, data FROM payment_intents WHERE merchant_id = ? AND status IN ('succeeded', 'requires_capture')").bind(merchant).all<{ id: string; data: string }>();
  const intents = rows.results.map((r) => r.id);
  const charges = rows.results
    .flatMap((r) => (JSON.parse(r.data) as { attempts?: { type: string; status: string }[] }).attempts ?? [])
    .filter((a) => a.type === "authorize" && a.status === "succeeded").length;
  return { intents, charges };
}

type ChallengedIntent = PaymentIntentJson & { client_secret: string; next_action: { redirect_to_url: { url: string } } };

/** The customer passes the sandbox's 3D Secure challenge of `intent` (its next_action, as a browser posts it). */
function approveChallenge(intent: ChallengedIntent): Promise<Response> {
  return exports.default.fetch(
    new Request(intent.next_action.redirect_to_url.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `client_secret=${encodeURIComponent(intent.client_secret)}&outcome=approve`,
      redirect: "manual",
    }),
  );
}

const claimOf = (id: string) => runInDurableObject(stub(id), async (_instance, state) => (await state.storage.get<{ id: string; at: number }>("retry")) ?? null);

describe("retrying a failed payment", () => {
  it("/v1: five retries at once take the money once, and the original is resolved by that one", async () => {
    const { id: merchant, opts } = await newMerchant("retry-once-v1");
    const failed = await declined(opts);
    const answers = await Promise.all(Array.from({ length: 5 }, () => post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts)));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok, JSON.stringify(answers.map((a) => [a.status, a.body]))).toHaveLength(1);
    for (const refused of answers.filter((a) => a.status !== 200)) expectError(refused, 400, "failed_payment_already_resolved");
    const retry = ok[0]?.body.retry;
    expect(retry?.status).toBe("succeeded");
    const { intents, charges } = await paid(merchant);
    expect(intents).toEqual([retry?.id]);
    expect(charges).toBe(1);
    const original = (await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body;
    expect(original.failure_resolution).toMatchObject({ status: "resolved", retried_by: retry?.id });
    expect(await claimOf(failed.id)).toBeNull();
  });

  it("seed 002: four retries at once take the money once", async () => {
    const { id: merchant, opts } = await newMerchant("retry-once-pos");
    const sale = await post<{ data: { id: string; status: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 2500, token: "9418594164540002", expiry: EXPIRY, currency: "USD" }, opts);
    expect(sale.body.data.status).toBe("declined");
    const body = { token: "9418594164549999", paymentMethodType: "card", expiry: EXPIRY };
    const answers = await Promise.all(Array.from({ length: 4 }, () => post<{ data?: { status: string }; error?: { code: string } }>(`/api/v1/payments/failed/${sale.body.data.id}/retry`, body, opts)));
    const created = answers.filter((a) => a.status === 201);
    expect(created, JSON.stringify(answers.map((a) => [a.status, a.body]))).toHaveLength(1);
    expect(created[0]?.body.data?.status).toBe("captured");
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(refused.body.error?.code).toBe("INVALID_STATE");
    }
    const { charges, intents } = await paid(merchant);
    expect(intents).toHaveLength(1);
    expect(charges).toBe(1);
  });

  it("a retry and a resolution by hand at once: never both (the payment paid and marked paid by other means)", async () => {
    const { opts } = await newMerchant("retry-or-resolve");
    const failed = await declined(opts);
    const [retried, resolved] = await Promise.all([
      post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts),
      post<PaymentIntentJson>(`/v1/admin/failed_payments/${failed.id}/resolve`, { reason: "paid by bank transfer", paid_by_other_means: true }, opts),
    ]);
    expect([retried.status, resolved.status].filter((s) => s === 200), JSON.stringify([retried.body, resolved.body])).toHaveLength(1);
    const original = (await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body;
    if (retried.status === 200) {
      expect(original.failure_resolution).toMatchObject({ status: "resolved", retried_by: retried.body.retry?.id, paid_by_other_means: false });
      expectError(resolved, 400, "failed_payment_already_resolved");
    } else {
      expect(original.failure_resolution).toMatchObject({ status: "resolved", retried_by: null, paid_by_other_means: true });
      expectError(retried, 400, "failed_payment_already_resolved");
    }
  });

  it("a retry whose outcome is unknown stays on record; once it succeeds, the original is resolved by it without being asked", async () => {
    const { id: merchant, opts } = await newMerchant("retry-unknown");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_sandboxTimeoutThenSuccess" }, opts);
    expect(first.body.retry?.status).toBe("processing");
    expect(first.body.original.failure_resolution).toBeNull();
    expect((await claimOf(failed.id))?.id).toBe(first.body.retry?.id);
    // Reconciliation settles the retry (through its queue); its object tells the original, which is
    // resolved by it with no request of its own (before, it stayed listed as failed until one came).
    await waitFor(async () => ((await get<PaymentIntentJson>(`/v1/payment_intents/${first.body.retry?.id}`, opts)).body.status === "succeeded" ? true : undefined), 15_000, "the retry to succeed");
    await waitFor(async () => ((await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body.failure_resolution ? true : undefined), 15_000, "the original to be resolved");
    expect(await claimOf(failed.id)).toBeNull();
    const listed = await get<{ data: { id: string }[] }>("/v1/admin/failed_payments", opts);
    expect(listed.body.data.map((p) => p.id)).not.toContain(failed.id);
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/resolve`, { reason: "paid by bank transfer", paid_by_other_means: true }, opts), 400, "failed_payment_already_resolved");
    const original = (await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body;
    expect(original.failure_resolution).toMatchObject({ status: "resolved", retried_by: first.body.retry?.id, paid_by_other_means: false });
    expect(await claimOf(failed.id)).toBeNull();
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expect((await paid(merchant)).charges).toBe(1);
  });

  it("a retry on record that its object never heard of holds the way for its grace period, then lapses", async () => {
    const { id: merchant, opts } = await newMerchant("retry-lapsed");
    const failed = await declined(opts);
    const ghost = "pi_ghostretry000000000000";
    const claim = (at: number) => runInDurableObject(stub(failed.id), (_instance, state) => state.storage.put("retry", { id: ghost, at }));
    await claim(Date.now());
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts), 409, "failed_payment_retry_in_progress");
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/resolve`, { reason: "paid by bank transfer", paid_by_other_means: true }, opts), 409, "failed_payment_retry_in_progress");
    expect((await paid(merchant)).charges).toBe(0);
    await claim(Date.now() - RETRY_CLAIM_GRACE_MS - 1);
    const retried = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.original.failure_resolution).toMatchObject({ status: "resolved", retried_by: retried.body.retry?.id });
    expect((await paid(merchant)).charges).toBe(1);
  });

  it("a retry left waiting for its customer (3D Secure) is canceled by the next one, which alone can pay", async () => {
    const { id: merchant, opts } = await newMerchant("retry-3ds");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_threeDSecure2Required" }, opts);
    expect(first.body.retry?.status).toBe("requires_action");
    const second = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${first.body.retry?.id}`, opts)).body.status).toBe("canceled");
    expect(second.body.original.failure_resolution).toMatchObject({ retried_by: second.body.retry?.id });
    expect((await paid(merchant)).intents).toEqual([second.body.retry?.id]);
  });

  it("the original is not paid beside its retry: 409 while the retry's outcome is unknown, refused once the retry paid, on every surface's confirm", async () => {
    const { id: merchant, opts } = await newMerchant("retry-then-confirm");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_sandboxTimeoutThenSuccess" }, opts);
    expect(first.body.retry?.status).toBe("processing");
    // While the retry's PSP has not answered: neither /v1's confirm nor seed 004's may pay the original.
    expectError(await post(`/v1/payment_intents/${failed.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 409, "failed_payment_retry_in_progress");
    const backend = await post<{ error?: unknown }>("/api/v1/payments/stripe/confirm-payment/", { payment_intent_id: failed.id, payment_method: "pm_card_visa" }, opts);
    expect(backend.status, JSON.stringify(backend.body)).toBe(409);
    expect((await paid(merchant)).charges).toBe(0);
    await waitFor(async () => ((await get<PaymentIntentJson>(`/v1/payment_intents/${first.body.retry?.id}`, opts)).body.status === "succeeded" ? true : undefined), 15_000, "the retry to succeed");
    // The retry paid: the original's next confirm learns it, is resolved by it, and pays nothing.
    expectError(await post(`/v1/payment_intents/${failed.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body.failure_resolution).toMatchObject({ status: "resolved", retried_by: first.body.retry?.id });
    expect(await paid(merchant)).toEqual({ intents: [first.body.retry?.id], charges: 1 });
  });

  it("a retry that succeeded is found by the original's confirm even when nothing else asked (it was: paid twice)", async () => {
    const { id: merchant, opts } = await newMerchant("retry-3ds-then-confirm");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_threeDSecure2Required" }, opts);
    expect(first.body.retry?.status, JSON.stringify(first.body)).toBe("requires_action");
    // The customer passes the challenge of the retry: the original's object has not heard of it.
    const retry = first.body.retry as ChallengedIntent;
    expect((await approveChallenge(retry)).status).toBeLessThan(400);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${retry.id}`, opts)).body.status).toBe("succeeded");
    expectError(await post(`/v1/payment_intents/${failed.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expect(await paid(merchant)).toEqual({ intents: [retry.id], charges: 1 });
  });

  it("a retry paid after 3D Secure resolves its original at once, and seed 002's /failed stops listing it", async () => {
    const { opts } = await newMerchant("retry-3ds-tells");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_threeDSecure2Required" }, opts);
    const retry = first.body.retry as ChallengedIntent;
    expect(retry.status).toBe("requires_action");
    expect((await approveChallenge(retry)).status).toBeLessThan(400);
    // Only GETs from here on: the original learns of its retry from the retry's object.
    await waitFor(async () => ((await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body.failure_resolution ? true : undefined), 15_000, "the original to be resolved");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${failed.id}`, opts)).body.failure_resolution).toMatchObject({ status: "resolved", retried_by: retry.id });
    const pos = await get<{ data: { id: string }[] }>("/api/v1/payments/failed", opts);
    expect(pos.status).toBe(200);
    expect(pos.body.data.map((p) => p.id)).not.toContain(failed.id);
    expect(await claimOf(failed.id)).toBeNull();
  });

  it("confirming the original while its retry waits for 3D Secure cancels that retry: one of them pays, never both", async () => {
    const { id: merchant, opts } = await newMerchant("retry-3ds-superseded");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_threeDSecure2Required" }, opts);
    expect(first.body.retry?.status).toBe("requires_action");
    const paidOriginal = await post<PaymentIntentJson>(`/v1/payment_intents/${failed.id}/confirm`, { payment_method: "pm_card_visa" }, opts);
    expect(paidOriginal.status, JSON.stringify(paidOriginal.body)).toBe(200);
    expect(paidOriginal.body.status).toBe("succeeded");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${first.body.retry?.id}`, opts)).body.status).toBe("canceled");
    expect(await paid(merchant)).toEqual({ intents: [failed.id], charges: 1 });
    expect(await claimOf(failed.id)).toBeNull();
  });

  it("a failed payment resolved by a retry, by other means or dismissed cannot be paid again (it was: a second charge)", async () => {
    const { id: merchant, opts } = await newMerchant("retry-then-pay");
    const retried = await declined(opts);
    const retry = await post<RetryAnswer>(`/v1/admin/failed_payments/${retried.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(retry.body.retry?.status).toBe("succeeded");
    const byHand = await declined(opts);
    expect((await post(`/v1/admin/failed_payments/${byHand.id}/resolve`, { reason: "paid by bank transfer", paid_by_other_means: true }, opts)).status).toBe(200);
    const dismissed = await declined(opts);
    expect((await post(`/v1/admin/failed_payments/${dismissed.id}/dismiss`, { reason: "duplicate order" }, opts)).status).toBe(200);
    for (const original of [retried, byHand, dismissed]) {
      expectError(await post(`/v1/payment_intents/${original.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
      expect((await get<PaymentIntentJson>(`/v1/payment_intents/${original.id}`, opts)).body.status).toBe("requires_payment_method");
    }
    expect((await paid(merchant)).intents).toEqual([retry.body.retry?.id]);
  });

  it("a declined retry is retried, resolved or dismissed as its original, and is not confirmed again (it was: a retry of the retry paid, then a retry of the original paid again)", async () => {
    const { id: merchant, opts } = await newMerchant("retry-of-retry");
    const failed = await declined(opts);
    const first = await post<RetryAnswer>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }, opts);
    const r1 = first.body.retry;
    expect(r1?.status).toBe("requires_payment_method");
    // The declined retry's own confirm (any surface's) is refused: it would pay beside its original's retries.
    expectError(await post(`/v1/payment_intents/${r1?.id}/confirm`, { payment_method: "pm_card_visa" }, opts), 400, "payment_intent_is_a_retry");
    const backend = await post("/api/v1/payments/stripe/confirm-payment/", { payment_intent_id: r1?.id, payment_method: "pm_card_visa" }, opts);
    expect(backend.status).toBeGreaterThanOrEqual(400);
    expect((await paid(merchant)).charges).toBe(0);
    // Retrying the declined retry retries the original: the new retry is the original's, which it resolves.
    const second = await post<RetryAnswer>(`/v1/admin/failed_payments/${r1?.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.retry).toMatchObject({ status: "succeeded", retry_of: failed.id });
    expect(second.body.original).toMatchObject({ id: failed.id, failure_resolution: { status: "resolved", retried_by: second.body.retry?.id } });
    // So neither the original nor the declined retry can be paid again, on any surface.
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expectError(await post(`/v1/admin/failed_payments/${r1?.id}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    const pos = await post(`/api/v1/payments/failed/${r1?.id}/retry`, { token: "9418594164541111", expiry: EXPIRY }, opts);
    expect(pos.status).toBe(409);
    expect(await paid(merchant)).toEqual({ intents: [second.body.retry?.id], charges: 1 });

    // Resolving a declined retry by hand resolves its original (whose retry could otherwise still pay it).
    const other = await declined(opts);
    const declinedRetry = (await post<RetryAnswer>(`/v1/admin/failed_payments/${other.id}/retry`, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }, opts)).body.retry;
    const resolved = await post<PaymentIntentJson>(`/v1/admin/failed_payments/${declinedRetry?.id}/resolve`, { reason: "paid in cash", paid_by_other_means: true }, opts);
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body).toMatchObject({ id: other.id, failure_resolution: { status: "resolved", paid_by_other_means: true } });
    expectError(await post(`/v1/admin/failed_payments/${other.id}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "failed_payment_already_resolved");
    expect((await paid(merchant)).charges).toBe(1);
  });

  it("seed 002: retrying or resolving a declined retry acts on its original, the payment /failed lists", async () => {
    const { id: merchant, opts } = await newMerchant("retry-of-retry-pos");
    const sale = await post<{ data: { id: string; status: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 2500, token: "9418594164540002", expiry: EXPIRY, currency: "USD" }, opts);
    expect(sale.body.data.status).toBe("declined");
    const again = await post<{ data: { id: string; status: string } }>(`/api/v1/payments/failed/${sale.body.data.id}/retry`, { token: "9418594164540002", expiry: EXPIRY }, opts);
    expect(again.body.data.status, JSON.stringify(again.body)).toBe("declined");
    const paidRetry = await post<{ data: { id: string; status: string; metadata: Record<string, unknown> } }>(`/api/v1/payments/failed/${again.body.data.id}/retry`, { token: "9418594164549999", expiry: EXPIRY }, opts);
    expect(paidRetry.status, JSON.stringify(paidRetry.body)).toBe(201);
    expect(paidRetry.body.data.metadata).toMatchObject({ retryOf: sale.body.data.id, originalIntentId: sale.body.data.id });
    const original = (await get<PaymentIntentJson>(`/v1/payment_intents/${sale.body.data.id}`, opts)).body;
    expect(original.failure_resolution).toMatchObject({ status: "resolved", retried_by: paidRetry.body.data.id });
    expect((await post(`/api/v1/payments/failed/${sale.body.data.id}/retry`, { token: "9418594164549999", expiry: EXPIRY }, opts)).status).toBe(409);
    expect((await paid(merchant)).charges).toBe(1);

    const other = await post<{ data: { id: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents: 900, token: "9418594164540002", expiry: EXPIRY, currency: "USD" }, opts);
    const otherRetry = await post<{ data: { id: string } }>(`/api/v1/payments/failed/${other.body.data.id}/retry`, { token: "9418594164540002", expiry: EXPIRY }, opts);
    const dismissed = await post<{ data: { id: string; resolution: string } }>(`/api/v1/payments/failed/${otherRetry.body.data.id}/resolve`, { resolution: "dismissed", reason: "duplicate order" }, opts);
    expect(dismissed.status, JSON.stringify(dismissed.body)).toBe(200);
    expect(dismissed.body.data).toMatchObject({ id: other.body.data.id, resolution: "dismissed" });
  });

  it("an invoice's failed payment is retried by paying the invoice, not here (that charged the invoice twice)", async () => {
    const { id: merchant, opts } = await newMerchant("retry-invoice");
    const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    const clock = await ok(post<{ id: string }>("/v1/test_helpers/test_clocks", { frozen_time: at("2026-01-31T10:00:00Z") }, opts));
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "renewal@example.com", test_clock: clock.id }, opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Pro" } }, opts));
    const subscription = await ok(post<{ id: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, opts));
    const bad = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_chargeDeclinedInsufficientFunds" }, opts));
    await ok(post(`/v1/subscriptions/${subscription.id}`, { default_payment_method: bad.id }, opts));
    await ok(post(`/v1/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: at("2026-02-28T11:00:00Z") }, opts));
    const invoices = (await get<{ data: { id: string; status: string; payment_intent: string }[] }>(`/v1/invoices?subscription=${subscription.id}`, opts)).body.data;
    const open = invoices.find((i) => i.status === "open");
    expect(open).toBeDefined();
    const before = (await paid(merchant)).intents.length;
    expectError(await post(`/v1/admin/failed_payments/${open?.payment_intent}/retry`, { payment_method: "pm_card_visa" }, opts), 400, "invoice_payment_not_retryable");
    const pos = await post<{ error?: { code: string } }>(`/api/v1/payments/failed/${open?.payment_intent}/retry`, { token: "9418594164541111", expiry: EXPIRY }, opts);
    expect(pos.status).toBe(409);
    expect((await paid(merchant)).intents.length).toBe(before);
    // Its own way: paying the invoice, once.
    const good = await ok(post<{ id: string }>(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_mastercard" }, opts));
    const payment = await post<{ status: string }>(`/v1/invoices/${open?.id}/pay`, { payment_method: good.id }, opts);
    expect(payment.body.status).toBe("paid");
    expect((await paid(merchant)).intents.length).toBe(before + 1);
  });
});
