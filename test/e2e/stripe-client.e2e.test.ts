// End to end, from Node, with the official `stripe` npm client pointed at a running `wrangler dev`.
import Stripe from "stripe";
import { describe, expect, inject, it } from "vitest";

const url = new URL(inject("gatewayUrl"));
const stripe = new Stripe("sk_test_merchant_a", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
const stripeB = new Stripe("sk_test_merchant_b", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });

describe("the official stripe client against the gateway", () => {
  it("creates and confirms a payment", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2599, currency: "eur", payment_method: "pm_card_visa", confirm: true, metadata: { order: "777" } });
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(2599);
    expect(pi.metadata).toEqual({ order: "777" });
    const charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge.captured).toBe(true);
    expect(charge.payment_intent).toBe(pi.id);
  });

  it("creates, then confirms separately, then retrieves", async () => {
    const created = await stripe.paymentIntents.create({ amount: 1000, currency: "usd" });
    expect(created.status).toBe("requires_payment_method");
    const updated = await stripe.paymentIntents.update(created.id, { description: "e2e", metadata: { step: "2" } });
    expect(updated.description).toBe("e2e");
    const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: "pm_card_mastercard" });
    expect(confirmed.status).toBe("succeeded");
    expect((await stripe.paymentIntents.retrieve(created.id)).status).toBe("succeeded");
  });

  it("captures part of a manual authorization", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5000, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect(pi.status).toBe("requires_capture");
    expect(pi.amount_capturable).toBe(5000);
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 3500 });
    expect(captured.status).toBe("succeeded");
    expect(captured.amount_received).toBe(3500);
  });

  it("cancels an authorization", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1200, currency: "usd", payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: "requested_by_customer" });
    expect(canceled.status).toBe("canceled");
    expect(canceled.cancellation_reason).toBe("requested_by_customer");
  });

  it("makes two partial refunds", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 3000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, reason: "requested_by_customer" });
    const second = await stripe.refunds.create({ charge: String(pi.latest_charge), amount: 500 });
    expect(first.status).toBe("succeeded");
    expect(second.amount).toBe(500);
    const list = await stripe.refunds.list({ payment_intent: pi.id });
    expect(list.data.map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
    expect((await stripe.refunds.retrieve(first.id)).amount).toBe(1000);
    const charge = await stripe.charges.retrieve(String(pi.latest_charge));
    expect(charge.amount_refunded).toBe(1500);
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 2000 })).rejects.toMatchObject({ type: "StripeInvalidRequestError", code: "amount_too_large" });
  });

  it("updates a refund's metadata (and nothing else)", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 800, metadata: { ticket: "T-9" } });
    const updated = await stripe.refunds.update(refund.id, { metadata: { ticket: "", agent: "ann" } });
    expect(updated).toMatchObject({ id: refund.id, amount: 800, status: "succeeded", metadata: { agent: "ann" } });
    expect((await stripe.refunds.retrieve(refund.id)).metadata).toEqual({ agent: "ann" });
    await expect(stripeB.refunds.update(refund.id, { metadata: { x: "1" } })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("refuses to cancel a refund that went through (only one waiting for approval can be)", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 1500, currency: "usd", payment_method: "pm_card_visa", confirm: true });
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 300 });
    const error = await stripe.refunds.cancel(refund.id).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, message: `Refund ${refund.id} cannot be canceled because it has a status of succeeded.` });
    expect((await stripe.refunds.retrieve(refund.id)).status).toBe("succeeded");
  });

  it("deletes a product without prices, and refuses one with prices", async () => {
    const bare = await stripe.products.create({ name: `e2e bare ${Date.now()}` });
    expect(await stripe.products.del(bare.id)).toMatchObject({ id: bare.id, object: "product", deleted: true });
    await expect(stripe.products.retrieve(bare.id)).rejects.toMatchObject({ statusCode: 404 });
    const priced = await stripe.products.create({ name: `e2e priced ${Date.now()}` });
    await stripe.prices.create({ unit_amount: 500, currency: "usd", product: priced.id });
    await expect(stripe.products.del(priced.id)).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400 });
    expect((await stripe.products.retrieve(priced.id)).id).toBe(priced.id);
  });

  it("raises StripeCardError with card_declined on a decline", async () => {
    const error = await stripe.paymentIntents
      .create({ amount: 2000, currency: "usd", payment_method: "pm_card_chargeDeclined", confirm: true })
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const cardError = error as Stripe.errors.StripeCardError;
    expect(cardError.code).toBe("card_declined");
    expect(cardError.decline_code).toBe("generic_decline");
    expect(cardError.statusCode).toBe(402);
    expect(cardError.payment_intent?.status).toBe("requires_payment_method");
    expect(cardError.requestId).toMatch(/^req_/);
  });

  it("saves a card with a SetupIntent, charges it off session, and raises StripeCardError carrying the setup on a declined card", async () => {
    const customer = await stripe.customers.create({ email: "setup-e2e@example.com" });
    const setup = await stripe.setupIntents.create({ customer: customer.id, usage: "off_session" });
    expect(setup.status).toBe("requires_payment_method");
    const confirmed = await stripe.setupIntents.confirm(setup.id, { payment_method: "pm_card_visa" });
    expect(confirmed.status).toBe("succeeded");
    const pm = typeof confirmed.payment_method === "string" ? confirmed.payment_method : (confirmed.payment_method?.id ?? "");
    const cards = await stripe.customers.listPaymentMethods(customer.id);
    expect(cards.data.map((c) => c.id)).toEqual([pm]);
    const listed = await stripe.setupIntents.list({ customer: customer.id });
    expect(listed.data.map((s) => s.id)).toEqual([setup.id]);
    const paid = await stripe.paymentIntents.create({ amount: 1200, currency: "usd", customer: customer.id, payment_method: pm, confirm: true, off_session: true });
    expect(paid.status).toBe("succeeded");

    const error = await stripe.setupIntents.create({ customer: customer.id, payment_method: "pm_card_chargeDeclined", confirm: true }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const cardError = error as Stripe.errors.StripeCardError;
    expect(cardError.code).toBe("card_declined");
    expect(cardError.statusCode).toBe(402);
    expect(cardError.setup_intent?.status).toBe("requires_payment_method");
    expect(cardError.setup_intent?.last_setup_error?.decline_code).toBe("generic_decline");
    // Each confirmation that checked a card is a SetupAttempt: the declined one, then a saved one.
    const declinedSetup = cardError.setup_intent?.id ?? "";
    const failedAttempt = cardError.setup_intent?.latest_attempt;
    expect(failedAttempt).toMatch(/^setatt_/);
    const saved = await stripe.setupIntents.confirm(declinedSetup, { payment_method: "pm_card_mastercard", expand: ["latest_attempt"] });
    const savedAttempt = saved.latest_attempt as Stripe.SetupAttempt;
    expect(savedAttempt).toMatchObject({ object: "setup_attempt", status: "succeeded", setup_intent: declinedSetup, payment_method_details: { type: "card", card: { last4: "4444" } } });
    const attempts: [string, string, string | null][] = [];
    for await (const a of stripe.setupAttempts.list({ setup_intent: declinedSetup, limit: 1 })) attempts.push([a.id, a.status, a.setup_error?.code ?? null]);
    expect(attempts).toEqual([
      [savedAttempt.id, "succeeded", null],
      [failedAttempt, "failed", "card_declined"],
    ]);
    // Another merchant's setup intent: nothing of it.
    const foreign = await stripeB.setupAttempts.list({ setup_intent: declinedSetup }).then(() => null, (e: unknown) => e);
    expect(foreign).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((foreign as Stripe.errors.StripeInvalidRequestError).code).toBe("resource_missing");
    const other = await stripe.setupIntents.create({ customer: customer.id, payment_method: "pm_card_chargeDeclined", confirm: true }).then(() => null, (e: unknown) => e);
    const canceled = await stripe.setupIntents.cancel((other as Stripe.errors.StripeCardError).setup_intent?.id ?? "", { cancellation_reason: "abandoned" });
    expect(canceled.status).toBe("canceled");
  });

  it("saves a 3D Secure card with a SetupIntent: requires_action, the challenge page passed, back to return_url, the card saved", async () => {
    const customer = await stripe.customers.create({ email: "setup-3ds-e2e@example.com" });
    const setup = await stripe.setupIntents.create({ customer: customer.id, payment_method: "pm_card_authenticationRequiredOnSetup", confirm: true, return_url: "https://shop.example/saved" });
    expect(setup.status).toBe("requires_action");
    expect(setup.next_action?.type).toBe("redirect_to_url");
    expect(setup.next_action?.redirect_to_url?.return_url).toBe("https://shop.example/saved");
    const challenge = new URL(setup.next_action?.redirect_to_url?.url ?? "");
    expect(challenge.pathname).toBe(`/sandbox/3ds/${setup.id}`);
    const page = await fetch(challenge);
    expect(page.status).toBe(200);
    const html = await page.text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? "";
    const answer = await fetch(`${challenge.origin}${challenge.pathname}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_secret: field("client_secret"), attempt: field("attempt"), outcome: "approve" }),
      redirect: "manual",
    });
    expect(answer.status).toBe(303);
    const back = new URL(answer.headers.get("location") ?? "");
    expect([back.origin + back.pathname, back.searchParams.get("setup_intent"), back.searchParams.get("redirect_status")]).toEqual(["https://shop.example/saved", setup.id, "succeeded"]);
    const saved = await stripe.setupIntents.retrieve(setup.id, { expand: ["latest_attempt"] });
    expect(saved.status).toBe("succeeded");
    expect(saved.next_action).toBeNull();
    expect((saved.latest_attempt as Stripe.SetupAttempt).status).toBe("succeeded");
    const cards = await stripe.customers.listPaymentMethods(customer.id);
    expect(cards.data.map((c) => c.id)).toEqual([saved.payment_method]);
  });

  it("retries idempotently with the same Idempotency-Key", async () => {
    const idempotencyKey = `e2e-${Date.now()}-${Math.random()}`;
    const params = { amount: 4200, currency: "usd", payment_method: "pm_card_visa", confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    await expect(stripe.paymentIntents.create({ ...params, amount: 4300 }, { idempotencyKey })).rejects.toMatchObject({ type: "StripeIdempotencyError" });
  });

  it("auto-paginates over a list of at least 25 intents", async () => {
    const customer = (await stripe.customers.create({ email: `e2e-${Date.now()}@example.com` })).id;
    const ids: string[] = [];
    for (let i = 0; i < 27; i++) ids.push((await stripe.paymentIntents.create({ amount: 100 + i, currency: "usd", customer })).id);
    const seen: string[] = [];
    for await (const pi of stripe.paymentIntents.list({ customer, limit: 10 })) seen.push(pi.id);
    expect(seen).toHaveLength(27);
    expect(new Set(seen)).toEqual(new Set(ids));
    const search = await stripe.paymentIntents.search({ query: `customer:"${customer}" AND amount>=120`, limit: 5 });
    expect(search.data.length).toBe(5);
    expect(search.has_more).toBe(true);
    const all = await stripe.paymentIntents.search({ query: `customer:"${customer}" AND amount>=120` }).autoPagingToArray({ limit: 100 });
    expect(all).toHaveLength(7);
  });

  it("completes a 3DS challenge through the sandbox page", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 999, currency: "usd", payment_method: "pm_card_threeDSecure2Required", confirm: true, return_url: "https://shop.example/done" });
    expect(pi.status).toBe("requires_action");
    const challenge = pi.next_action?.redirect_to_url?.url ?? "";
    expect((await fetch(challenge)).status).toBe(200);
    const answer = await fetch(challenge, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_secret: pi.client_secret ?? "", outcome: "approve" }),
      redirect: "manual",
    });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toContain("redirect_status=succeeded");
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
  });

  it("keeps merchants apart", async () => {
    const pi = await stripe.paymentIntents.create({ amount: 500, currency: "usd" });
    await expect(stripeB.paymentIntents.retrieve(pi.id)).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 404 });
    const bad = new Stripe("sk_test_nobody_at_all", { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
    await expect(bad.paymentIntents.list()).rejects.toMatchObject({ type: "StripeAuthenticationError", statusCode: 401 });
  });
});
