// Seed 004's PayPal endpoints, on our core: an order is a payment intent paid with PayPal (through the
// merchant's PayPal account, or the sandbox acting as PayPal, whose approval page is ours). `order_id`
// is the intent's id, `capture_id` its charge's (ch_...), amounts decimal strings in PayPal's shape.
import type { Hono } from "hono";
import { z } from "zod";
import * as f from "../v1/fields";
import { sandboxApproval } from "../../connectors/sandbox/paypal";
import { chargeIdForIntent, derivedId, hasPrefix, intentIdForCharge, randomId } from "../../core/ids";
import { decimalToMinor, minorToDecimal, normalizeCurrency } from "../../core/money";
import type { IntentRecord } from "../../core/types";
import { merchantSettings } from "../../db/merchants";
import type { Env } from "../../env";
import { resolvePaymentMethodInput } from "../v1/payment_intents";
import { intentStub } from "../v1/respond";
import type { App, AppEnv } from "../v1/route";
import { backendRequest, outcomeIntent, visibleIntent } from "./common";
import { bad, BackendError, backendRoute, missing } from "./surface";
import { createParams } from "../../intents/params";
import { directoryDb } from "../../db/shards";

const decimal = z.union([z.string().min(1).max(40), z.number()]).transform(String);
const id = z.string().min(1).max(255);
const Answer = z.record(z.string(), z.unknown());
/** PayPal's times: ISO-8601 to the second. */
const paypalTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const money = (minor: number, currency: string) => ({ currency_code: currency.toUpperCase(), value: minorToDecimal(minor, currency) });

const CreateOrderBody = z.object({
  amount: decimal,
  currency: z.string().min(3).max(3),
  description: z.string().max(127).optional(),
  custom_id: z.string().max(127).optional(),
  // An absolute http(s) URL, as on /v1 (a javascript: one was accepted and came back in a redirect's Location).
  return_url: f.url.optional(),
});
const OrderBody = z.object({ order_id: id });
const RefundBody = z.object({ capture_id: id, amount: decimal.optional(), currency: z.string().min(3).max(3).optional(), note_to_payer: z.string().max(255).optional() });

function waitingAttempt(intent: IntentRecord) {
  return [...intent.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action") ?? null;
}

/** PayPal's order status for the intent. */
async function orderStatus(env: Env, intent: IntentRecord): Promise<string> {
  if (paidOtherwise(intent)) return "VOIDED";
  switch (intent.status) {
    case "succeeded":
    case "requires_capture":
      return "COMPLETED";
    case "requires_action": {
      const waiting = waitingAttempt(intent);
      // The sandbox acting as PayPal knows whether its payer approved.
      if (waiting?.providerReference && waiting.connector === "paypal" && waiting.connectorAccount === null) {
        const decided = await sandboxApproval(env.DB, waiting.providerReference);
        if (decided === "APPROVED") return "APPROVED";
      }
      return "CREATED";
    }
    case "processing":
      return "PENDING";
    default:
      return "VOIDED";
  }
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

function assertOrder(intent: IntentRecord): void {
  if (!isOrder(intent)) throw new BackendError(404, `PayPal order not found: ${intent.id}`);
}

/** Why an order cannot be captured, without the payment error's own final period (the sentence adds one). */
function uncapturable(intent: IntentRecord): string {
  return (intent.lastPaymentError?.message ?? `its status is ${intent.status}`).replace(/\.$/, "");
}

export function registerBackendPayPal(app: App, sub: Hono<AppEnv>): void {
  backendRoute(app, sub, { path: "/paypal/create-order", permission: "payments.transactions.create", customers: true, summary: "Create a PayPal order (amount in major units); the payer approves at approval_url", body: CreateOrderBody, response: Answer }, async (c, { principal, body }) => {
    const currency = normalizeCurrency(body.currency);
    const amount = decimalToMinor(body.amount, currency);
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
    const intent = outcomeIntent(outcome, intentId);
    const approval = intent.nextAction?.url ?? null;
    // The same Idempotency-Key again is answered from the create's own outcome (the intent's object
    // replays it), so the approval link is there even after the payer approved.
    if (!approval) throw new BackendError(502, "PayPal did not give an approval link for this order.");
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
    }, 200, outcome.replayed ? { "Idempotent-Replayed": "true" } : {});
  });

  backendRoute(app, sub, { path: "/paypal/capture-order", permission: "payments.transactions.create", summary: "Capture an order the payer approved (422 before approval)", body: OrderBody, response: Answer }, async (c, { principal, body }) => {
    let intent = await visibleIntent(c, principal, body.order_id, "PayPal order");
    assertOrder(intent);
    if (paidOtherwise(intent)) throw bad("This order cannot be captured: it was paid another way, not with PayPal.");
    if (intent.status === "requires_action") {
      // The payer may have approved without coming back through the return page: complete it now.
      const outcome = await intentStub(c.env, intent.id).completeRedirect(intent.id, intent.clientSecret, new URL(c.req.url).origin);
      intent = outcome.intent ?? intent;
      if (outcome.error && intent.status !== "succeeded") throw new BackendError(outcome.error.status >= 500 ? outcome.error.status : 400, outcome.error.message);
    }
    if (intent.status === "requires_action") throw new BackendError(422, "The payer has not approved this order yet (ORDER_NOT_APPROVED): send them to approval_url first.");
    if (intent.status === "processing") throw new BackendError(409, "The capture's outcome at PayPal is not known yet; it is being reconciled. Try get-order later.");
    if (intent.status !== "succeeded" && intent.status !== "requires_capture") {
      throw bad(`This order cannot be captured: ${uncapturable(intent)}.`);
    }
    return c.json({ order_id: intent.id, captured: true, status: "COMPLETED", capture_id: chargeIdForIntent(intent.id) });
  });

  backendRoute(app, sub, { path: "/paypal/get-order", permission: "payments.transactions.view", customers: true, get: true, summary: "A PayPal order in PayPal's shape (also GET ?order_id=..., the create's self link)", body: OrderBody, response: Answer }, async (c, { principal, body }) => {
    const intent = await visibleIntent(c, principal, body.order_id, "PayPal order");
    assertOrder(intent);
    // A card payment made after the order was voided is no capture of this order.
    const captured = intent.amountReceived > 0 && !paidOtherwise(intent);
    return c.json({
      order_id: intent.id,
      status: await orderStatus(c.env, intent),
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
                  refunds: intent.refunds.map((r) => ({ id: r.id, status: r.status === "succeeded" ? "COMPLETED" : r.status === "canceled" ? "CANCELLED" : r.status.toUpperCase(), amount: money(r.amount, r.currency) })),
                },
              }
            : {}),
        },
      ],
      create_time: paypalTime(intent.created),
      update_time: paypalTime(intent.updated),
    });
  });

  backendRoute(app, sub, { path: "/paypal/refund-payment", permission: "payments.transactions.void", summary: "Refund a capture, fully or partly (amount in major units)", body: RefundBody, response: Answer }, async (c, { principal, body }) => {
    const intentId = hasPrefix(body.capture_id, "ch") ? intentIdForCharge(body.capture_id) : body.capture_id;
    const current = await visibleIntent(c, principal, intentId, "Capture", body.capture_id);
    // Only a payment made with PayPal has a capture (a canceled order has none).
    if (current.paymentMethod?.type !== "paypal") throw missing(`Capture not found: ${body.capture_id}`);
    if (body.currency !== undefined && normalizeCurrency(body.currency) !== current.currency) throw bad(`currency must be the capture's (${current.currency.toUpperCase()}).`);
    const amount = body.amount !== undefined ? decimalToMinor(body.amount, current.currency) : undefined;
    const req = await backendRequest(c, principal, "POST /api/v1/payments/paypal/refund-payment", current.id, { amount, note: body.note_to_payer ?? null }, "seed004.paypal.refund");
    const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
    const outcome = await intentStub(c.env, current.id).refund(req, current.id, { amount, reason: null, metadata: body.note_to_payer ? { note_to_payer: body.note_to_payer } : {}, approvalThresholds: thresholds });
    const intent = outcomeIntent(outcome, current.id);
    const refund = intent.refunds.find((r) => r.id === outcome.refundId);
    if (!refund) throw new BackendError(500, "The refund is missing from its payment.");
    const status = refund.status === "succeeded" ? "COMPLETED" : refund.status === "pending" ? "PENDING" : refund.status === "failed" ? "FAILED" : "CANCELLED";
    return c.json({ refund_id: refund.id, status, amount: money(refund.amount, refund.currency), create_time: paypalTime(refund.created), capture_id: chargeIdForIntent(intent.id) }, 200, outcome.replayed ? { "Idempotent-Replayed": "true" } : {});
  });
}
