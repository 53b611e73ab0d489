// Seed 002's money-moving routes: authorize, sale, capture, void, refund, and the failed payments'
// retry and resolve. Each validates, binds its clientRequestId merchant-wide, and calls the intent's
// Durable Object, which replays the first answer of a repeated clientRequestId.
import type { Hono } from "hono";
import { z } from "zod";
import { bindIdempotencyKey, bindingFingerprint, callerBinding, type IdempotencyBinding } from "../idempotency-binding";
import type { Principal } from "../../auth/permissions";
import { findPaymentMethod, parseDetails } from "../../billing/store";
import type { ApiErrorData } from "../../core/errors";
import { derivedId, hasPrefix, randomId } from "../../core/ids";
import { isFailedPayment, settlementUnknown } from "../../core/intent";
import { isKnownCurrency, MAX_AMOUNT } from "../../core/money";
import type { IntentRecord, PaymentMethodDetails } from "../../core/types";
import { merchantSettings } from "../../db/merchants";
import { createParams, type OpOutcome, type RequestContext } from "../../intents/params";
import { posMetadata } from "./metadata";
import { resolvePaymentMethodFor } from "../v1/payment_intents";
import { intentStub } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { assertRetryable, assertRetryMethodUsable, failedPaymentMethod, originalOf, retryFailedPayment } from "../common/failed-retry";
import { surfaceRequest } from "../common/idempotency";
import { assertOwnCustomerRef, posCustomerId } from "./customers";
import { forbidden, fromApiError, inPosWords, invalidState, notFound, PosError, stateMessage, validation, type PosOperation } from "./errors";
import { isVoidedSale, posStatus, renderPayment } from "./render";
import { posRoute } from "./surface";
import { directoryDb } from "../../db/shards";

// One reason per value, the first that applies (zod would list every failed check: 1e21 was both
// "must be a positive integer" and "must be at most ..."; too large is what it is).
const cents = (name: string) =>
  z
    .number({ error: `${name} must be a positive integer` })
    .max(MAX_AMOUNT, { error: `${name} must be at most ${MAX_AMOUNT}`, abort: true })
    .int({ error: `${name} must be a positive integer`, abort: true })
    .min(1, `${name} must be a positive integer`);
const clientRequestId = z.string().min(1, "clientRequestId must not be empty").max(255, "clientRequestId must be at most 255 characters");
const intentId = z.string().min(1, "paymentIntentId is required").max(255);
const expiry = z.string().regex(/^(0[1-9]|1[0-2])\d{2}$/, "expiry must be MMYY (e.g. 1230)").meta({ example: "1230" });
const cvv = z.string().regex(/^\d{3,4}$/, "cvv must be 3 or 4 digits").meta({ example: "123" });
const currency = z.string().refine(isKnownCurrency, "currency must be a supported ISO 4217 code (USD, EUR, ...)");
const ref = (max = 255) => z.string().min(1).max(max);

const cardFields = {
  token: z.string().min(1).max(255).optional(),
  expiry: expiry.optional(),
  cvv: cvv.optional(),
  paymentMethodId: z.string().min(1).max(255).optional(),
  paymentMethodType: z.literal("card", { error: "paymentMethodType must be card" }).optional(),
};

const PaymentBody = z.strictObject({
  clientRequestId: clientRequestId.optional(),
  amountCents: cents("amountCents"),
  tipCents: z.number().int("tipCents must be a non-negative integer").min(0, "tipCents must be a non-negative integer").max(MAX_AMOUNT).optional(),
  currency: currency.optional(),
  ...cardFields,
  ecomind: z.string().max(2).optional(),
  orderId: ref().optional(),
  customerId: ref().optional(),
  terminalId: ref().optional(),
  locationId: ref().optional(),
  name: z.string().max(200).optional(),
  metadata: posMetadata.optional(),
});

// currency: optional, and when sent it must be the payment's (500 JPY is not 5.00 USD).
const CaptureBody = z.strictObject({ clientRequestId: clientRequestId.optional(), paymentIntentId: intentId, amountCents: cents("amountCents").optional(), currency: currency.optional() });
const VoidBody = z.strictObject({ clientRequestId: clientRequestId.optional(), paymentIntentId: intentId });
const RefundBody = CaptureBody;
// customerId: the customer a failed payment made without one is retried for (a stored card pays only
// for its own customer's payments); a payment's own customer is not changed by a retry.
const RetryBody = z.strictObject({ clientRequestId: clientRequestId.optional(), ...cardFields, customerId: ref().optional() });
const ResolveBody = z.strictObject({
  clientRequestId: clientRequestId.optional(),
  resolution: z.enum(["resolved", "dismissed"], { error: "resolution must be resolved or dismissed" }),
  reason: z.string().max(500).optional(),
  paidByOtherMeans: z.boolean().optional(),
  otherMeansType: z.string().min(1).max(100).optional(),
});

const PaymentAnswer = z.object({ data: z.record(z.string(), z.unknown()) });

/** The request context of an operation: the key bound merchant-wide first, then handed to the object to replay. */
async function posRequest(c: Ctx, principal: Principal, key: string | undefined, binding: IdempotencyBinding, action: string): Promise<RequestContext> {
  let fingerprint: string | null = null;
  if (key) {
    await bindIdempotencyKey(c.env, principal, key, binding);
    fingerprint = await bindingFingerprint(c.env, callerBinding(principal, binding));
  }
  return surfaceRequest(c, principal, principal, { key: key ?? null, fingerprint }, action, "pos");
}

function assertExpiryFuture(value: string): { expMonth: number; expYear: number } {
  const expMonth = Number(value.slice(0, 2));
  const expYear = 2000 + Number(value.slice(2));
  const now = new Date();
  const y = now.getUTCFullYear();
  if (expYear < y || (expYear === y && expMonth < now.getUTCMonth() + 1)) throw validation("The card has expired (expiry is in the past).", "expiry");
  return { expMonth, expYear };
}

interface CardInput {
  token?: string;
  expiry?: string;
  cvv?: string;
  paymentMethodId?: string;
}

/**
 * The card a request names: a new one (token + expiry) or a stored one. Number and CVV go no further.
 * A retry's token may come without expiry (seed 002's retry example has none): the vault's own is used.
 */
async function cardOf(c: Ctx, principal: Principal, body: CardInput, customerId: string | null, required: boolean, expiryOptional = false): Promise<PaymentMethodDetails | null> {
  if (body.token !== undefined && body.paymentMethodId !== undefined) throw validation("Provide either token (new card) or paymentMethodId (stored card), not both.", "paymentMethodId");
  if (body.token !== undefined) {
    if (body.expiry === undefined && !expiryOptional) throw validation("expiry is required with token.", "expiry");
    const exp = body.expiry === undefined ? null : assertExpiryFuture(body.expiry);
    // A token may name a saved card (pm_...): it pays only for its own customer, as on /v1.
    const owner = customerId ? await posCustomerId(c.env, principal, customerId) : null;
    const details = await resolvePaymentMethodFor(c, principal, { payment_method: body.token }, owner);
    if (!details?.card) throw validation("token must be a card token.", "token");
    return exp ? { ...details, card: { ...details.card, ...exp } } : details;
  }
  if (body.paymentMethodId !== undefined) {
    if (!hasPrefix(body.paymentMethodId, "pm")) throw notFound(`No such payment method: '${body.paymentMethodId.slice(0, 80)}'.`, "paymentMethodId");
    const row = await findPaymentMethod(c.env.DB, principal, body.paymentMethodId, "paymentMethodId");
    // Removed from its customer (DELETE .../payment-methods/:methodId): gone for this surface.
    if (row.detached !== null) throw notFound(`No such payment method: '${body.paymentMethodId.slice(0, 80)}'.`, "paymentMethodId");
    const owner = customerId ? await posCustomerId(c.env, principal, customerId) : null;
    // A shopper's token pays only with its own saved cards: anyone else's, or the merchant's unattached ones, do not exist for it.
    if (principal.customerId && (row.customer === null || row.customer !== owner)) throw notFound(`No such payment method: '${body.paymentMethodId.slice(0, 80)}'.`, "paymentMethodId");
    if (row.customer && row.customer !== owner) {
      throw owner === null
        ? validation(`The payment method ${row.id} is stored for a customer: pass that customer's customerId with it.`, "customerId")
        : validation(`The payment method ${row.id} is stored for another customer than ${customerId ?? ""}.`, "paymentMethodId");
    }
    return parseDetails(row);
  }
  if (required) throw validation("Provide token (new card, with expiry) or paymentMethodId (stored card).", "token");
  return null;
}

function replayHeaders(outcome: OpOutcome): Record<string, string> {
  return outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
}

/**
 * The processor's failure (nothing moved) in this API's words: the core's message tells a /v1 caller
 * to confirm the payment again, which this API has no route for; here a failed payment is retried
 * under /payments/failed (its original, for a retry that failed).
 */
function providerErrorInPosWords(error: ApiErrorData, intent: IntentRecord | undefined | null): ApiErrorData {
  if (error.code !== "provider_error" || !intent) return error;
  const failed = [...intent.attempts].reverse().find((a) => a.type === "authorize" && a.responseCode === "provider_error");
  const why = failed?.responseText ? `: ${failed.responseText.replace(/[.\s]+$/, "")}` : "";
  return { ...error, message: `The payment processor failed${why}. No money moved; retry the payment with POST /api/v1/payments/failed/${intent.retryOf ?? intent.id}/retry.` };
}

/**
 * The answer of an operation that made or confirmed a payment: 201, a decline included; a lost answer
 * is 504. `retry`: a retry of a failed payment (an error about the original's state is told in this
 * surface's status words).
 */
function paymentAnswer(c: Ctx, outcome: OpOutcome, retry = false): Response {
  const intent = outcome.intent;
  if (intent?.status === "processing") {
    throw new PosError(504, "PROVIDER_TIMEOUT", "The processor did not answer in time; the payment is being reconciled. Read it back with GET /api/v1/payments/transactions/{id}.", [
      { field: "paymentIntentId", message: intent.id, paymentIntentId: intent.id },
    ]);
  }
  if (outcome.error) {
    if (!(outcome.error.type === "card_error" && intent)) {
      const e = fromApiError(providerErrorInPosWords(retry ? inPosWords(outcome.error, intent, "retry") : outcome.error, intent));
      throw new PosError(e.status, e.code, e.message, intent ? [...e.details, { field: "paymentIntentId", message: intent.id, paymentIntentId: intent.id }] : e.details);
    }
  }
  if (!intent) throw notFound("No such payment.");
  return c.json({ data: renderPayment(intent) }, 201, replayHeaders(outcome));
}

/** An operation's error in this surface's words (its status words, from the intent it concerns). */
function assertOk(outcome: OpOutcome, id: string, op: PosOperation, field?: string): IntentRecord {
  if (outcome.error) throw fromApiError(inPosWords(outcome.error, outcome.intent, op));
  if (!outcome.intent) throw notFound(`No such payment: '${id}'.`, field);
  return outcome.intent;
}

/** `field`: the body field that named the payment (paymentIntentId), for the 404's details; none for a path's id. */
function checkIntentId(id: string, field?: string): void {
  if (!hasPrefix(id, "pi")) throw notFound(`No such payment: '${id.slice(0, 80)}'.`, field);
}

/**
 * A currency sent with a capture's or refund's amount must be the payment's: otherwise amountCents
 * would be taken in another currency than the client meant. Checked before the request is bound to
 * its clientRequestId (a refusal changes nothing); a payment's currency never changes once authorized.
 */
function assertPaymentCurrency(intent: IntentRecord, sent: string | undefined): void {
  if (sent === undefined) return;
  if (sent.toLowerCase() !== intent.currency) throw validation(`currency must be the payment's (${intent.currency.toUpperCase()}), not ${sent.toUpperCase()}.`, "currency");
}

async function existingPayment(c: Ctx, principal: Principal, id: string): Promise<IntentRecord> {
  const intent = await intentStub(c.env, id).retrieve(principal, id);
  if (!intent) throw notFound(`No such payment: '${id}'.`, "paymentIntentId");
  return intent;
}

async function createPayment(c: Ctx, principal: Principal, body: z.output<typeof PaymentBody>, capture: boolean): Promise<Response> {
  if (principal.customerId && body.customerId !== undefined && body.customerId !== principal.customerId) throw forbidden("A customer's token can only pay for that customer.");
  const customer = principal.customerId ?? body.customerId ?? null;
  if (body.customerId !== undefined && !principal.customerId) await assertOwnCustomerRef(c.env, principal, body.customerId);
  if (body.token !== undefined && body.paymentMethodId !== undefined) throw validation("Provide either token (new card) or paymentMethodId (stored card), not both.", "paymentMethodId");
  const tip = body.tipCents ?? 0;
  if (body.amountCents + tip > MAX_AMOUNT) throw validation(`amountCents + tipCents must be at most ${MAX_AMOUNT}.`, "tipCents");
  const route = capture ? "POST /api/v1/payments/sale" : "POST /api/v1/payments/authorize";
  const { clientRequestId: key, cvv: _cvv, ...rest } = body;
  void _cvv;
  // The card is part of validation: a key is bound only to a request that can run.
  const method = await cardOf(c, principal, body, customer, true);
  const req = await posRequest(c, principal, key, { route, target: "", params: { ...rest, customerId: customer } }, capture ? "pos.sale" : "pos.authorize");
  const id = key ? await derivedId("pi", principal.merchantId, String(principal.livemode), key) : randomId("pi");
  const outcome = await intentStub(c.env, id).create(req, createParams({
    id,
    amount: body.amountCents + tip,
    currency: (body.currency ?? "USD").toLowerCase(),
    captureMethod: capture ? "automatic" : "manual",
    customer,
    metadata: body.metadata ?? {},
    orderId: body.orderId ?? null,
    locationId: body.locationId ?? null,
    terminalId: body.terminalId ?? null,
    tipAmount: tip,
    // The cvv goes no further than this request; whether one came is what the processor's check reports.
    paymentMethod: method && { ...method, cvcPresented: body.cvv !== undefined },
    confirm: true,
    // This API has no step for a cardholder (no 3D Secure redirect in its answers, none of its
    // statuses waits for one): a card that asks for it is declined (authentication_required), as
    // Stripe's error_on_requires_action does, instead of a payment left pending that nothing can finish.
    errorOnRequiresAction: true,
  }));
  return paymentAnswer(c, outcome);
}

function chargeReference(intent: IntentRecord): string | null {
  const auth = intent.attempts.find((a) => a.id === intent.chargeAttemptId);
  return auth?.providerReference ?? null;
}

export function registerPosPayments(app: App, sub: Hono<AppEnv>): void {
  for (const capture of [false, true]) {
    posRoute(
      app,
      sub,
      {
        method: "post",
        path: capture ? "/payments/sale" : "/payments/authorize",
        permission: "payments.transactions.create",
        customers: true,
        summary: capture ? "Authorize and capture in one step (tipCents is charged on top)" : "Hold funds on a card without capturing",
        body: PaymentBody,
        response: PaymentAnswer,
        successStatus: 201,
      },
      (c, { principal, body }) => createPayment(c, principal, body, capture),
    );
  }

  posRoute(
    app,
    sub,
    { method: "post", path: "/payments/capture", permission: "payments.transactions.create", summary: "Capture an authorization, fully or partly, once", body: CaptureBody, response: PaymentAnswer },
    async (c, { principal, body }) => {
      const id = body.paymentIntentId;
      checkIntentId(id, "paymentIntentId");
      const current = await existingPayment(c, principal, id);
      assertPaymentCurrency(current, body.currency);
      // amountCents is counted as the authorization's amountCents is, before the tip ("must be <=
      // authorized amount": the 5000 the authorize answered, not 5000 + tipCents): the tip, held with
      // the authorization, is captured on top of it. Capturing amountCents of the total instead took
      // a client's explicit full capture (amountCents 5000 of 5000 + 200) as a partial one and
      // released the tip, and answered an amountCents other than the one sent. The tip is fixed when
      // the payment is made (nothing changes it afterwards), so reading it here is reading it in the capture's turn.
      const amountToCapture = body.amountCents === undefined ? undefined : body.amountCents + current.tipAmount;
      const req = await posRequest(c, principal, body.clientRequestId, { route: "POST /api/v1/payments/capture", target: id, params: { amountCents: body.amountCents } }, "pos.capture");
      const outcome = await intentStub(c.env, id).capture(req, id, { amountToCapture });
      const intent = assertOk(outcome, id, "capture", "paymentIntentId");
      // The processor's answer was lost (or it is still pending there): nobody knows yet whether money
      // moved, so no capture is reported ("captured" with amountCents 0 would say it was made, and a
      // client retrying with a new clientRequestId could capture twice). The seed's 504, as for a lost
      // authorization; the same answer again for the clientRequestId's replay.
      if (settlementUnknown(intent, "capture")) {
        throw new PosError(504, "PROVIDER_TIMEOUT", `The processor has not confirmed the capture of ${intent.id} (no answer in time, or one still pending there): its outcome is being reconciled. Do not capture it again; read it back with GET /api/v1/payments/transactions/${intent.id}.`, [
          { field: "paymentIntentId", message: intent.id, paymentIntentId: intent.id },
        ]);
      }
      return c.json(
        // As the seed's example: amountCents is what was captured (4500 of 5000), the amountCents sent,
        // without the tip, which tipCents says, as every payment answer does (the sale's 1500 + 200);
        // capturedAmountCents is the total taken (the tip included).
        {
          data: {
            id: intent.id,
            status: "captured",
            amountCents: Math.max(0, intent.amountReceived - intent.tipAmount),
            tipCents: intent.tipAmount,
            capturedAmountCents: intent.amountReceived,
            currency: intent.currency.toUpperCase(),
            providerReference: chargeReference(intent),
          },
        },
        200,
        replayHeaders(outcome),
      );
    },
  );

  posRoute(
    app,
    sub,
    { method: "post", path: "/payments/void", permission: "payments.transactions.void", summary: "Void an authorization, or a sale the same day (before settlement)", body: VoidBody, response: PaymentAnswer },
    async (c, { principal, body }) => {
      const id = body.paymentIntentId;
      checkIntentId(id, "paymentIntentId");
      const stub = intentStub(c.env, id);
      const current = await stub.retrieve(principal, id);
      if (!current) throw notFound(`No such payment: '${id}'.`, "paymentIntentId");
      const req = await posRequest(c, principal, body.clientRequestId, { route: "POST /api/v1/payments/void", target: id, params: {} }, "pos.void");
      if (isFailedPayment(current)) {
        // Nothing was authorized, so nothing is held to void; a void would also take it off the failed
        // list unresolved. An open failed payment's own actions are the way out; one already resolved or
        // dismissed has none left (its retry and resolve are 409s too), so none is offered.
        const status = posStatus(current);
        if (status === "resolved" || status === "dismissed") throw invalidState(`This payment was ${status}: nothing is held to void (it is a failed payment already ${status}).`);
        throw invalidState(`This payment was ${status}: nothing is held to void. Retry it, or resolve or dismiss it (/payments/failed/${id}/retry, /resolve).`);
      }
      // An authorization is released; a sale captured today gives its whole amount back, marked as the
      // void (so the refund thresholds apply). Which of the two, and whether the sale may still be
      // voided (no refund of it, succeeded or pending, no void already, captured today), is decided by
      // the intent's object in the void's own turn: a capture or refund sent at the same time cannot
      // slip between a check made here and the void. The object also replays the answer of a
      // clientRequestId sent again.
      const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
      const outcome = await stub.posVoid(req, id, { approvalThresholds: thresholds });
      const intent = assertOk(outcome, id, "void", "paymentIntentId");
      // A sale's void is a refund: voided once it went through, void_pending while it waits (for an
      // approver, or for the processor), as the refund route says refund_pending.
      const status = intent.status === "canceled" || isVoidedSale(intent) ? "voided" : "void_pending";
      return c.json({ data: { id: intent.id, status, providerReference: chargeReference(intent) } }, 200, replayHeaders(outcome));
    },
  );

  posRoute(
    app,
    sub,
    { method: "post", path: "/payments/refund", permission: "payments.transactions.void", summary: "Refund a captured payment, fully or partly (repeatable, never above what was captured)", body: RefundBody, response: PaymentAnswer },
    async (c, { principal, body }) => {
      const id = body.paymentIntentId;
      checkIntentId(id, "paymentIntentId");
      if (body.currency !== undefined) assertPaymentCurrency(await existingPayment(c, principal, id), body.currency);
      const req = await posRequest(c, principal, body.clientRequestId, { route: "POST /api/v1/payments/refund", target: id, params: { amountCents: body.amountCents } }, "pos.refund");
      const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
      const outcome = await intentStub(c.env, id).refund(req, id, { amount: body.amountCents, reason: null, metadata: {}, approvalThresholds: thresholds });
      const intent = assertOk(outcome, id, "refund", "paymentIntentId");
      const refund = intent.refunds.find((r) => r.id === outcome.refundId);
      const attempt = refund?.attemptId ? intent.attempts.find((a) => a.id === refund.attemptId) : undefined;
      const status = refund?.status === "pending" ? "refund_pending" : refund?.status === "failed" ? "refund_failed" : "refunded";
      return c.json(
        {
          data: {
            id: intent.id,
            status,
            refundId: refund?.id ?? null,
            amountCents: refund?.amount ?? null,
            refundedAmountCents: intent.amountRefunded,
            providerReference: attempt?.providerReference ?? chargeReference(intent),
          },
        },
        200,
        replayHeaders(outcome),
      );
    },
  );

  posRoute(
    app,
    sub,
    {
      method: "post",
      path: "/payments/failed/{id}/retry",
      permission: "payments.transactions.void",
      summary: "Retry a failed payment as a new payment (the original card unless token or paymentMethodId is given)",
      body: RetryBody,
      response: PaymentAnswer,
      successStatus: 201,
    },
    async (c, { principal, body, params }) => {
      // The seed's permission, payments.transactions.void ("write access"), is what a retry needs: the
      // retry charges the amount of a payment already made, not an amount of the caller's choosing.
      const failedId = params.id ?? "";
      checkIntentId(failedId);
      const named = await intentStub(c.env, failedId).retrieve(principal, failedId);
      if (!named) throw notFound(`No such payment: '${failedId}'.`);
      // A declined retry is an attempt of its original (listed there by /failed): retried as that payment.
      const failed = await originalOf(c.env, principal, named);
      if (!isFailedPayment(failed)) throw invalidState(stateMessage(failed, "retry", `Payment ${failed.id}'s`));
      const { clientRequestId: key, cvv: _cvv, ...rest } = body;
      void _cvv;
      const id = key ? await derivedId("pi", principal.merchantId, String(principal.livemode), key) : randomId("pi");
      // Resolved by this very retry (the same clientRequestId sent again): it goes on, to be replayed.
      if (failed.resolution && failed.resolution.retriedBy !== id) throw invalidState(`This failed payment was already ${failed.resolution.status}.`);
      // An invoice's payment, or an iCliGo payment (paid on its own page, known to its application by its own id): not retried here.
      assertRetryable(failed);
      // The payment's customer: the one it was made for, else the one named now (a payment made without
      // one is retried for the customer whose stored card pays it). The same POS id as the sale's.
      if (body.customerId !== undefined) {
        if (principal.customerId && body.customerId !== principal.customerId) throw forbidden("A customer's token can only pay for that customer.");
        if (failed.customer !== null && body.customerId !== failed.customer) throw validation(`This payment was made for customer ${failed.customer}; customerId must name that customer, or be left out.`, "customerId");
        if (failed.customer === null) await assertOwnCustomerRef(c.env, principal, body.customerId);
      }
      const customer = failed.customer ?? body.customerId ?? null;
      const given = await cardOf(c, principal, body, customer, false, true);
      const chosen = given ?? failedPaymentMethod(failed);
      if (!chosen) throw validation("This failed payment has no card to try again: provide token or paymentMethodId.", "token");
      // The card as stored now: detached since, or no longer the payment's customer's (or its customer
      // deleted), it is not charged (nothing goes to the processor). The payment keeps the POS system's
      // customer id, which stands for the customer its cards are saved to (posCustomerId).
      // (A retry already made, its clientRequestId sent again, is replayed by the objects: not checked again.)
      const owners = customer === null ? [] : [customer, await posCustomerId(c.env, principal, customer)];
      if (failed.resolution?.retriedBy !== id) await assertRetryMethodUsable(c.env, failed, chosen, owners);
      // A CVV only if this retry sent one (the original's was never kept).
      const method = { ...(given ?? { ...chosen, id: randomId("pm") }), cvcPresented: body.cvv !== undefined };
      const req = await posRequest(c, principal, key, { route: "POST /api/v1/payments/failed/{id}/retry", target: failed.id, params: rest }, "pos.retry");
      const { outcome } = await retryFailedPayment(c.env, { req, failed, id, paymentMethod: method, actor: principal, resolveAction: "pos.failed.resolve", customer, errorOnRequiresAction: true });
      return paymentAnswer(c, outcome, true);
    },
  );

  posRoute(
    app,
    sub,
    { method: "post", path: "/payments/failed/{id}/resolve", permission: "payments.transactions.void", summary: "Mark a failed payment resolved (e.g. paid by other means) or dismissed", body: ResolveBody, response: PaymentAnswer },
    async (c, { principal, body, params }) => {
      const named = params.id ?? "";
      // How it was paid instead belongs to a payment paid by other means: sent otherwise, it was dropped
      // (a dismissal answered paidByOtherMeans false, an otherMeansType without paidByOtherMeans null).
      if (body.paidByOtherMeans === true && body.resolution !== "resolved") throw validation("paidByOtherMeans: true goes with resolution resolved (a dismissed payment was not paid).", "paidByOtherMeans");
      if (body.otherMeansType !== undefined && body.paidByOtherMeans !== true) throw validation("otherMeansType goes with paidByOtherMeans: true.", "otherMeansType");
      checkIntentId(named);
      // Unknown, or another merchant's: the same 404 (a path's id names no field), before anything is
      // bound; the payment's object would name paymentIntentId for another merchant's id alone.
      const found = await intentStub(c.env, named).retrieve(principal, named);
      if (!found) throw notFound(`No such payment: '${named}'.`);
      // A declined retry is an attempt of its original: resolved or dismissed as that payment.
      const id = (await originalOf(c.env, principal, found)).id;
      const { clientRequestId: key, ...rest } = body;
      const req = await posRequest(c, principal, key, { route: "POST /api/v1/payments/failed/{id}/resolve", target: id, params: rest }, `pos.failed.${body.resolution === "resolved" ? "resolve" : "dismiss"}`);
      const outcome = await intentStub(c.env, id).resolveFailedPayment(req, id, {
        status: body.resolution,
        reason: body.reason ?? "",
        paidByOtherMeans: body.paidByOtherMeans === true,
        otherMeansType: body.otherMeansType ?? null,
        retriedBy: null,
        actor: principal.actor,
      });
      const intent = assertOk(outcome, id, "resolve");
      const r = intent.resolution;
      return c.json(
        { data: { id: intent.id, status: r?.status ?? body.resolution, resolution: r?.status ?? body.resolution, reason: r?.reason ?? null, paidByOtherMeans: r?.paidByOtherMeans ?? false, otherMeansType: r?.otherMeansType ?? null } },
        200,
        replayHeaders(outcome),
      );
    },
  );
}

