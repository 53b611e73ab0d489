// Seed 004's PayPal endpoints, on our core: an order is a payment intent paid with PayPal (through the
// merchant's PayPal account, or the sandbox acting as PayPal, whose approval page is ours). `order_id`
// is the intent's id, `capture_id` its charge's (ch_...), amounts decimal strings in PayPal's shape.
import type { Hono } from "hono";
import { z } from "zod";
import * as f from "../v1/fields";
import { paypalRefusal, paypalValue } from "../../connectors/paypal/connector";
import { connectorOf } from "../../connectors/routing";
import type { PayerDecision } from "../../connectors/types";
import { chargeIdForIntent, derivedId, hasPrefix, intentIdForCharge, randomId } from "../../core/ids";
import { minorToDecimal, normalizeCurrency } from "../../core/money";
import type { IntentRecord, RefundRecord } from "../../core/types";
import { merchantSettings } from "../../db/merchants";
import type { Env } from "../../env";
import { resolvePaymentMethodInput } from "../v1/payment_intents";
import { intentStub } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { backendRequest, markReplay, outcomeIntent, visibleIntent } from "./common";
import { amountInMinor, bad, BackendError, backendRoute, currencyCode, decimalAmount, missing, type BackendSpec } from "./surface";
import { ApiError, type ApiErrorData } from "../../core/errors";
import type { Principal } from "../../auth/permissions";
import { createParams } from "../../intents/params";
import { directoryDb } from "../../db/shards";

const id = z.string().min(1).max(255);
/** PayPal's times: ISO-8601 to the second. */
const paypalTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
/** An amount as PayPal writes it: HUF, JPY and TWD in whole units ("1000", not "1000.00"), the rest with two decimals. */
const money = (minor: number, currency: string) => ({
  currency_code: currency.toUpperCase(),
  value: paypalRefusal(minor, currency) ? minorToDecimal(minor, currency) : paypalValue(minor, currency),
});

/** PayPal's rules for an amount: a currency it takes, whole units for HUF, JPY and TWD (400 otherwise, as PayPal refuses it). */
function payableByPayPal(amount: number, currency: string): number {
  const refused = paypalRefusal(amount, currency);
  if (refused) throw bad(refused.message);
  return amount;
}

const CreateOrderBody = z.object({
  amount: decimalAmount,
  currency: currencyCode,
  description: z.string().max(127).optional(),
  custom_id: z.string().max(127).optional(),
  // An absolute http(s) URL, as on /v1 (a javascript: one was accepted and came back in a redirect's Location).
  return_url: f.url.optional(),
});
const OrderBody = z.object({ order_id: id });
const RefundBody = z.object({ capture_id: id, amount: decimalAmount.optional(), currency: currencyCode.optional(), note_to_payer: z.string().max(255).optional() });

// The answers, as the seed shows them (its example values), and what /openapi.json documents.
const Money = z.object({ currency_code: z.string(), value: z.string().describe("Major units, as PayPal writes them: 29.99 (HUF, JPY and TWD whole: 1000).") });
const OrderStatus = z.enum(["CREATED", "APPROVED", "PENDING", "COMPLETED", "VOIDED"]);
type OrderStatusWord = z.output<typeof OrderStatus>;
const RefundStatus = z.enum(["COMPLETED", "PENDING", "FAILED", "CANCELLED"]);
const Link = z.object({ href: z.string(), rel: z.string(), method: z.enum(["GET", "POST"]) });
const CreatedOrderAnswer = z
  .object({ order_id: z.string(), status: z.literal("CREATED"), approval_url: z.string(), links: z.array(Link).describe("self (a GET of get-order), approve (approval_url), capture (a POST of capture-order).") })
  .meta({
    id: "BackendPayPalOrder",
    example: { order_id: "pi_1234567890", status: "CREATED", approval_url: "https://www.paypal.com/checkoutnow?token=5O190127TN364715T", links: [{ href: "https://gateway.example/api/v1/payments/paypal/get-order/?order_id=pi_1234567890", rel: "self", method: "GET" }] },
  });
const CapturedOrderAnswer = z
  .object({ order_id: z.string(), captured: z.literal(true), status: z.literal("COMPLETED"), capture_id: z.string().describe("The capture (ch_...) that refund-payment takes.") })
  .meta({ id: "BackendPayPalCapture", example: { order_id: "pi_1234567890", captured: true, status: "COMPLETED", capture_id: "ch_1234567890" } });
const CaptureRefunds = z.object({
  captures: z.array(z.object({ id: z.string(), status: z.enum(["COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"]), amount: Money })),
  refunds: z.array(z.object({ id: z.string(), status: RefundStatus, amount: Money })),
});
const OrderDetailsAnswer = z
  .object({
    order_id: z.string(),
    status: OrderStatus,
    intent: z.enum(["CAPTURE", "AUTHORIZE"]),
    purchase_units: z.array(z.object({ reference_id: z.string(), amount: Money, description: z.string().optional(), custom_id: z.string().optional(), payments: CaptureRefunds.optional().describe("Once captured.") })),
    create_time: z.string().describe("ISO-8601 UTC, to the second."),
    update_time: z.string(),
  })
  .meta({
    id: "BackendPayPalOrderDetails",
    example: { order_id: "pi_1234567890", status: "COMPLETED", intent: "CAPTURE", purchase_units: [{ reference_id: "default", amount: { currency_code: "USD", value: "29.99" } }], create_time: "2023-01-01T12:00:00Z", update_time: "2023-01-01T12:05:00Z" },
  });
const RefundAnswer = z
  .object({ refund_id: z.string(), status: RefundStatus, amount: Money, create_time: z.string(), capture_id: z.string() })
  .meta({ id: "BackendPayPalRefund", example: { refund_id: "re_1234567890", status: "COMPLETED", amount: { currency_code: "USD", value: "29.99" }, create_time: "2023-01-01T12:10:00Z", capture_id: "ch_1234567890" } });

/** A refund's status in PayPal's words. */
function refundStatusOf(status: RefundRecord["status"]): z.output<typeof RefundStatus> {
  switch (status) {
    case "succeeded":
      return "COMPLETED";
    case "pending":
      return "PENDING";
    case "failed":
      return "FAILED";
    case "canceled":
      return "CANCELLED";
  }
}

function waitingAttempt(intent: IntentRecord) {
  return [...intent.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action") ?? null;
}

/** PayPal's order status for a payment intent's status alone (an order waiting for its payer: CREATED). */
function orderStatusOf(status: string): OrderStatusWord {
  switch (status) {
    case "succeeded":
      return "COMPLETED";
    // Authorized (intent AUTHORIZE), not captured yet: the payer approved, and capture-order captures it.
    case "requires_capture":
      return "APPROVED";
    case "requires_action":
      return "CREATED";
    case "processing":
      return "PENDING";
    default:
      return "VOIDED";
  }
}

/**
 * PayPal's order status for the intent. Only reads: the payer's decision on the sandbox's approval page
 * is shown as PayPal shows it (APPROVED; a canceled approval VOIDED) before anything completed the order.
 */
async function orderStatus(env: Env, intent: IntentRecord): Promise<OrderStatusWord> {
  return (await orderState(env, intent)).status;
}

/**
 * The order's status as PayPal would say it, and when it last changed (update_time): the payer's
 * approval (or, on the sandbox's page, cancel) changes the order at PayPal, though the payment's
 * object hears of it only when the payer comes back or capture-order completes it. So an order
 * waiting for its payer is asked about at its provider (PayPal itself for a merchant's PayPal
 * account, the sandbox's ledger otherwise): a payer who approved in PayPal's popup (the JS SDK's
 * flow, which never comes back through a return page) reads APPROVED, as at PayPal.
 */
async function orderState(env: Env, intent: IntentRecord): Promise<{ status: OrderStatusWord; updated: number }> {
  if (paidOtherwise(intent)) return { status: "VOIDED", updated: intent.updated };
  if (intent.status === "requires_action") {
    const waiting = waitingAttempt(intent);
    if (waiting?.providerReference && waiting.connector === "paypal") {
      const decided = await payerDecision(env, intent, waiting.connectorAccount, waiting.providerReference);
      const updated = Math.max(intent.updated, decided?.at ?? 0);
      // Canceled at the approval page (the sandbox's) or voided at PayPal: capture-order refuses it (and completes nothing here).
      if (decided) return { status: decided.decision, updated };
    }
  }
  return { status: orderStatusOf(intent.status), updated: intent.updated };
}

/** The payer's decision at the order's provider; null when undecided, or when the provider cannot be asked (the order then reads as the payment stands). */
async function payerDecision(env: Env, intent: IntentRecord, accountId: string | null, orderId: string): Promise<PayerDecision | null> {
  try {
    const connector = await connectorOf(env, { merchantId: intent.merchantId, livemode: intent.livemode }, accountId, "paypal");
    return (await connector.payerDecision?.(orderId)) ?? null;
  } catch {
    // The account is gone, or the provider failed: a read answers what is known here.
    return null;
  }
}

/**
 * A message of the core (Stripe's words: a PaymentIntent, its charge, Stripe's statuses) in PayPal's:
 * an order, its capture, PayPal's order statuses. The Stripe routes keep Stripe's words.
 */
export function paypalMessage(data: Pick<ApiErrorData, "code" | "message">): string {
  const message = data.message;
  switch (data.code) {
    case "charge_not_refundable": {
      // Bounded: `.*` here would rescan the rest of a message for every "(pi_" it holds (quadratic).
      const m = /\((pi_\w{1,100})\).{0,160}?its status is (\w{1,40})/.exec(message);
      if (m) return notCaptured(m[1] ?? "", orderStatusOf(m[2] ?? ""));
      break;
    }
    case "charge_already_refunded": {
      const m = /\b(ch_\w+)/.exec(message);
      return `${m ? `Capture ${m[1] ?? ""}` : "This capture"} has already been fully refunded (CAPTURE_FULLY_REFUNDED).`;
    }
    case "resource_missing": {
      const m = /^No such (payment_intent|charge): '([^']*)'/.exec(message);
      if (m) return `${m[1] === "charge" ? "Capture" : "PayPal order"} not found: ${m[2] ?? ""}`;
      break;
    }
    case "payment_intent_unexpected_state": {
      const m = /^You cannot (\w+) this PaymentIntent because it has a status of (\w+)\./.exec(message);
      if (m) return `You cannot ${m[1] ?? ""} this order: its status is ${orderStatusOf(m[2] ?? "")}.`;
      break;
    }
  }
  return message
    .replace(/\b([Aa]) (?:PaymentIntent|payment intent)\b/g, "$1n order")
    .replace(/\b(?:PaymentIntent|payment[ _]intent)(s?)\b/gi, "order$1")
    .replace(/\b([Cc])harge (ch_\w+)/g, (_w, c: string, id: string) => `${c === "C" ? "Capture" : "capture"} ${id}`)
    .replace(/\b(?:status of|status is) (requires_payment_method|requires_confirmation|requires_action|requires_capture|processing|succeeded|canceled)\b/g, (w, st: string) => w.replace(st, orderStatusOf(st)));
}

/** A core error on a PayPal route, told in PayPal's words (its status, and any amount it states, as they were). */
function inPayPalWords(err: unknown): unknown {
  return err instanceof ApiError ? new ApiError({ ...err.data, message: paypalMessage(err.data) }) : err;
}

/** A refund of an order not captured (yet, or ever). */
function notCaptured(orderId: string, status: string): string {
  return `Order ${orderId} has no completed capture to refund: its status is ${status}.${status === "CREATED" || status === "APPROVED" ? " Capture it first (capture-order)." : ""}`;
}

/** A PayPal route: what the core says reaches its client in PayPal's words. */
function paypalRoute<B extends z.ZodType>(app: App, sub: Hono<AppEnv>, spec: BackendSpec<B>, handler: (c: Ctx, input: { principal: Principal; body: z.output<B> }) => Promise<Response>): void {
  backendRoute(app, sub, spec, async (c, input) => {
    try {
      return await handler(c, input);
    } catch (err) {
      throw inPayPalWords(err);
    }
  });
}

/**
 * Whether the intent is a PayPal order: paid with PayPal, or once sent to PayPal (only PayPal payments
 * go to the "paypal" connector). An order the payer canceled has no payment method left, but is still
 * the order the client created, not a 404.
 */
function isOrder(intent: IntentRecord): boolean {
  return intent.paymentMethod?.type === "paypal" || intent.attempts.some((a) => a.connector === "paypal");
}

/** An order paid since some other way (the payer canceled at PayPal, then paid by card): the order itself is void. */
function paidOtherwise(intent: IntentRecord): boolean {
  return intent.paymentMethod !== null && intent.paymentMethod.type !== "paypal";
}

/**
 * The refusal of capture-order for an order paid by card instead: PayPal captured nothing, so there
 * is no capture to name (its charge, ch_..., is the card's), and the order is VOIDED, as get-order says.
 */
function paidAnotherWay(): BackendError {
  return bad("This order cannot be captured: it was paid another way, not with PayPal (its status is VOIDED).");
}

function assertOrder(intent: IntentRecord): void {
  if (!isOrder(intent)) throw new BackendError(404, `PayPal order not found: ${intent.id}`);
}

/** Why an order cannot be captured (`status`: PayPal's), without the payment error's own final period (the sentence adds one). */
function uncapturable(intent: IntentRecord, status: string): string {
  return (intent.lastPaymentError ? paypalMessage(intent.lastPaymentError) : `its status is ${status}`).replace(/\.$/, "");
}

export function registerBackendPayPal(app: App, sub: Hono<AppEnv>): void {
  paypalRoute(app, sub, { path: "/paypal/create-order", permission: "payments.transactions.create", customers: true, summary: "Create a PayPal order (amount in major units); the payer approves at approval_url", body: CreateOrderBody, response: CreatedOrderAnswer }, async (c, { principal, body }) => {
    const currency = normalizeCurrency(body.currency);
    const amount = payableByPayPal(amountInMinor(body.amount, currency), currency);
    const req = await backendRequest(c, principal, "POST /api/v1/payments/paypal/create-order", "", { ...body, amount, currency }, "seed004.paypal.create_order");
    const paymentMethod = await resolvePaymentMethodInput(c, principal, { payment_method: { type: "paypal" } });
    const intentId = req.idempotencyKey ? await derivedId("pi", principal.merchantId, String(principal.livemode), req.idempotencyKey) : randomId("pi");
    const outcome = await intentStub(c.env, intentId).create(req, createParams({
      id: intentId,
      amount,
      currency,
      customer: principal.customerId ?? null,
      description: body.description ?? null,
      metadata: body.custom_id ? { custom_id: body.custom_id } : {},
      orderId: body.custom_id ?? null,
      returnUrl: body.return_url ?? null,
      paymentMethod: paymentMethod ?? null,
      confirm: true,
    }));
    const intent = outcomeIntent(c, outcome, intentId, "PayPal order");
    const approval = intent.nextAction?.url ?? null;
    // The same Idempotency-Key again is answered from the create's own outcome (the intent's object
    // replays it), so the approval link is there even after the payer approved.
    if (!approval) throw new BackendError(500, `PayPal did not give an approval link for order ${intent.id}: nothing was charged. Create a new order (with a new Idempotency-Key, if you sent one: this one is answered the same).`);
    const origin = new URL(c.req.url).origin;
    return c.json({
      order_id: intent.id,
      status: "CREATED",
      approval_url: approval,
      links: [
        // Followable as they are, as PayPal's: the order named in the query, with the method given.
        { href: `${origin}/api/v1/payments/paypal/get-order/?order_id=${encodeURIComponent(intent.id)}`, rel: "self", method: "GET" },
        { href: approval, rel: "approve", method: "GET" },
        { href: `${origin}/api/v1/payments/paypal/capture-order/?order_id=${encodeURIComponent(intent.id)}`, rel: "capture", method: "POST" },
      ],
    } satisfies z.output<typeof CreatedOrderAnswer>, 200, outcome.replayed ? { "Idempotent-Replayed": "true" } : {});
  });

  paypalRoute(app, sub, { path: "/paypal/capture-order", permission: "payments.transactions.create", summary: "Capture an order the payer approved (400 ORDER_NOT_APPROVED before approval)", body: OrderBody, response: CapturedOrderAnswer }, async (c, { principal, body }) => {
    let intent = await visibleIntent(c, principal, body.order_id, "PayPal order");
    assertOrder(intent);
    // Checked first, so that the completion below never completes a card payment's own step (3DS).
    if (paidOtherwise(intent)) throw paidAnotherWay();
    if (intent.status === "requires_action") {
      // The payer may have approved without coming back through the return page: complete it now.
      const outcome = await intentStub(c.env, intent.id).completeRedirect(intent.id, intent.clientSecret, new URL(c.req.url).origin);
      intent = outcome.intent ?? intent;
      // The answer is the intent's as it came back, not as it was read: the shopper may have paid by
      // card in between (the completion then found nothing to complete, and the card's payment
      // succeeded). That is no PayPal capture, and its charge no capture of this order.
      if (paidOtherwise(intent)) throw paidAnotherWay();
      if (outcome.error && intent.status !== "succeeded") {
        // Told as a second capture-order tells it (the payer canceled, declined at PayPal...).
        if (outcome.error.status >= 500) throw new BackendError(500, paypalMessage(outcome.error));
        throw bad(`This order cannot be captured: ${paypalMessage(outcome.error).replace(/\.$/, "")}.`);
      }
    }
    // The seed's statuses: a request the order's state does not allow yet is a 400 (PayPal's 422 issue named).
    if (intent.status === "requires_action") throw bad("The payer has not approved this order yet (ORDER_NOT_APPROVED): send them to approval_url first.");
    if (intent.status === "processing") throw new BackendError(409, "The capture's outcome at PayPal is not known yet; it is being reconciled. Try get-order later.");
    if (intent.status === "requires_capture") {
      // An order with intent AUTHORIZE (capture_method manual), approved and authorized: PayPal's
      // capture of it is the intent's capture, through its object (the full amount). Two capture-orders
      // at once make one capture: the object runs them one at a time, and the second finds the order
      // captured, answered below as the same completed order.
      const req = await backendRequest(c, principal, "POST /api/v1/payments/paypal/capture-order", intent.id, {}, "seed004.paypal.capture_order");
      const outcome = await intentStub(c.env, intent.id).capture(req, intent.id, {});
      const after = outcome.intent ?? (await visibleIntent(c, principal, intent.id, "PayPal order"));
      if (outcome.error && !(after.status === "succeeded" && after.amountReceived > 0 && !paidOtherwise(after))) {
        markReplay(c, outcome);
        if (after.status === "processing") throw new BackendError(409, "The capture's outcome at PayPal is not known yet; it is being reconciled. Try get-order later.");
        if (outcome.error.status >= 500) throw new BackendError(500, paypalMessage(outcome.error));
        throw bad(`This order cannot be captured: ${paypalMessage(outcome.error).replace(/\.$/, "")}.`);
      }
      if (!outcome.error) markReplay(c, outcome);
      intent = after;
      if (paidOtherwise(intent)) throw paidAnotherWay();
      if (intent.status === "processing") throw new BackendError(409, "The capture's outcome at PayPal is not known yet; it is being reconciled. Try get-order later.");
    }
    // Only money PayPal captured is answered as a capture (an authorization still uncaptured never is).
    if (intent.status !== "succeeded" || intent.amountReceived <= 0) {
      throw bad(`This order cannot be captured: ${uncapturable(intent, await orderStatus(c.env, intent))}.`);
    }
    return c.json({ order_id: intent.id, captured: true, status: "COMPLETED", capture_id: chargeIdForIntent(intent.id) } satisfies z.output<typeof CapturedOrderAnswer>);
  });

  paypalRoute(app, sub, { path: "/paypal/get-order", permission: "payments.transactions.view", customers: true, get: true, summary: "A PayPal order in PayPal's shape (also GET ?order_id=..., the create's self link)", body: OrderBody, response: OrderDetailsAnswer }, async (c, { principal, body }) => {
    const intent = await visibleIntent(c, principal, body.order_id, "PayPal order");
    assertOrder(intent);
    // A card payment made after the order was voided is no capture of this order.
    const captured = intent.amountReceived > 0 && !paidOtherwise(intent);
    const state = await orderState(c.env, intent);
    return c.json({
      order_id: intent.id,
      status: state.status,
      intent: intent.captureMethod === "manual" ? "AUTHORIZE" : "CAPTURE",
      purchase_units: [
        {
          reference_id: "default",
          amount: money(intent.amount, intent.currency),
          ...(intent.description ? { description: intent.description } : {}),
          ...(intent.metadata.custom_id ? { custom_id: intent.metadata.custom_id } : {}),
          ...(captured
            ? {
                payments: {
                  captures: [{ id: chargeIdForIntent(intent.id), status: intent.amountRefunded >= intent.amountReceived ? "REFUNDED" : intent.amountRefunded > 0 ? "PARTIALLY_REFUNDED" : "COMPLETED", amount: money(intent.amountReceived, intent.currency) }],
                  refunds: intent.refunds.map((r) => ({ id: r.id, status: refundStatusOf(r.status), amount: money(r.amount, r.currency) })),
                },
              }
            : {}),
        },
      ],
      create_time: paypalTime(intent.created),
      update_time: paypalTime(state.updated),
    } satisfies z.output<typeof OrderDetailsAnswer>);
  });

  paypalRoute(app, sub, { path: "/paypal/refund-payment", permission: "payments.transactions.void", summary: "Refund a capture, fully or partly (amount in major units)", body: RefundBody, response: RefundAnswer }, async (c, { principal, body }) => {
    const intentId = hasPrefix(body.capture_id, "ch") ? intentIdForCharge(body.capture_id) : body.capture_id;
    const current = await visibleIntent(c, principal, intentId, "Capture", body.capture_id);
    // Only a payment made with PayPal has a capture (a canceled order has none).
    if (current.paymentMethod?.type !== "paypal") throw missing(`Capture not found: ${body.capture_id}`);
    if (body.currency !== undefined && normalizeCurrency(body.currency) !== current.currency) throw bad(`currency must be the capture's (${current.currency.toUpperCase()}).`);
    const amount = body.amount !== undefined ? payableByPayPal(amountInMinor(body.amount, current.currency), current.currency) : undefined;
    const req = await backendRequest(c, principal, "POST /api/v1/payments/paypal/refund-payment", current.id, { amount, note: body.note_to_payer ?? null }, "seed004.paypal.refund");
    const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
    const outcome = await intentStub(c.env, current.id).refund(req, current.id, { amount, reason: null, metadata: body.note_to_payer ? { note_to_payer: body.note_to_payer } : {}, approvalThresholds: thresholds });
    // Nothing captured to refund (yet, or ever): said with the order's status as get-order shows it, as
    // the refund found it. The refusal is the Idempotency-Key's answer: replayed, it names the status it
    // was refused for (the order captured since is still not refunded by it).
    if (outcome.error?.code === "charge_not_refundable") {
      const then = outcome.intent ?? current;
      markReplay(c, outcome);
      throw bad(notCaptured(then.id, await orderStatus(c.env, then)));
    }
    const intent = outcomeIntent(c, outcome, current.id, "PayPal order");
    const refund = intent.refunds.find((r) => r.id === outcome.refundId);
    if (!refund) throw new BackendError(500, "The refund is missing from its payment.");
    return c.json({ refund_id: refund.id, status: refundStatusOf(refund.status), amount: money(refund.amount, refund.currency), create_time: paypalTime(refund.created), capture_id: chargeIdForIntent(intent.id) } satisfies z.output<typeof RefundAnswer>, 200, outcome.replayed ? { "Idempotent-Replayed": "true" } : {});
  });
}
