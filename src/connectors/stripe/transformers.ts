// Stripe's shapes to ours: payment intents, refunds, errors and webhook events.
import type Stripe from "stripe";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { ProviderEvent, ProviderEventKind } from "../types";
import { ownEntry } from "../../core/own";

interface StripeLikeError {
  type?: string;
  statusCode?: number;
  code?: string;
  decline_code?: string;
  param?: string;
  message?: string;
  payment_intent?: { id?: string };
}

/**
 * Stripe's invalid_request_error codes about the payment itself, which the merchant chose and can
 * change (docs.stripe.com/error-codes): an amount below Stripe's minimum or above its maximum for the
 * currency, one the account's limits do not allow.
 */
const PAYMENT_DATA_CODES = ["amount_too_small", "amount_too_large", "invalid_charge_amount", "charge_exceeds_source_limit", "charge_exceeds_transaction_limit"];

/**
 * Stripe's codes for a request our integration built wrong (a parameter Stripe does not know, one
 * missing or malformed) or sent with the wrong credentials: never the merchant's doing, so a provider
 * error (5xx), not a 4xx that tells the merchant to change its request.
 */
const INTEGRATION_FAULT_CODES = [
  "parameter_unknown",
  "parameter_missing",
  "parameter_invalid_empty",
  "parameter_invalid_integer",
  "parameter_invalid_string_blank",
  "parameter_invalid_string_empty",
  "parameters_exclusive",
  "url_invalid",
  "secret_key_required",
  "api_key_expired",
  "platform_api_key_expired",
  "livemode_mismatch",
];

/**
 * A 400 of Stripe's that refuses the payment's own data: one of the codes above, or a currency its
 * account does not take (Stripe names the param "currency", often with no code). Null otherwise.
 */
function paymentDataRefusal(e: StripeLikeError): { code: string; param: string | null; message: string } | null {
  if (e.type !== "StripeInvalidRequestError") return null;
  if (e.code !== undefined && PAYMENT_DATA_CODES.includes(e.code)) return { code: e.code, param: e.param ?? "amount", message: e.message ?? "Stripe cannot take this amount." };
  if (e.param === "currency" && (e.code === undefined || !INTEGRATION_FAULT_CODES.includes(e.code))) {
    return { code: e.code ?? "currency_not_supported", param: "currency", message: e.message ?? "Stripe does not take payments in this currency." };
  }
  return null;
}

function asStripeError(err: unknown): StripeLikeError {
  return typeof err === "object" && err !== null ? (err as StripeLikeError) : { message: String(err) };
}

/** Whether the payment intent's charge (latest_charge, when expanded) may be incremented. */
function incrementable(pi: Stripe.PaymentIntent): boolean {
  const charge = pi.latest_charge;
  return typeof charge === "object" && charge !== null && charge.payment_method_details?.card?.incremental_authorization?.status === "available";
}

export function fromPaymentIntent(pi: Stripe.PaymentIntent): AuthorizeOutcome {
  switch (pi.status) {
    case "succeeded":
    case "requires_capture":
      return {
        ...(pi.status === "requires_capture" && incrementable(pi) ? { incrementalAuthorization: true } : {}),
        kind: "approved",
        providerReference: pi.id,
        captured: pi.status === "succeeded",
        responseCode: pi.status,
        responseText: pi.status === "succeeded" ? "Payment succeeded" : "Authorized",
        authorizationCode: null,
        avsResult: null,
        cvvResult: null,
      };
    case "requires_action":
      return { kind: "requires_action", providerReference: pi.id, redirectUrl: pi.next_action?.redirect_to_url?.url ?? null };
    case "processing":
      return { kind: "unknown", providerReference: pi.id, message: "Stripe is still processing the payment" };
    case "requires_payment_method":
    case "canceled": {
      const error = pi.last_payment_error;
      return {
        kind: "declined",
        providerReference: pi.id,
        code: error?.code ?? (pi.status === "canceled" ? "payment_canceled" : "card_declined"),
        declineCode: error?.decline_code ?? error?.code ?? "generic_decline",
        message: error?.message ?? "The payment was declined.",
      };
    }
    default:
      return { kind: "unknown", providerReference: pi.id, message: `Stripe answered status ${pi.status}` };
  }
}

export function fromAuthorizeError(err: unknown): AuthorizeOutcome {
  const e = asStripeError(err);
  if (e.type === "StripeCardError") {
    return {
      kind: "declined",
      providerReference: e.payment_intent?.id ?? null,
      code: e.code ?? "card_declined",
      declineCode: e.decline_code ?? e.code ?? "generic_decline",
      message: e.message ?? "Your card was declined.",
    };
  }
  // The request may have reached Stripe: only a replay with the same key can tell.
  if (e.type === "StripeConnectionError" || e.type === undefined) return { kind: "unknown", providerReference: null, message: `Stripe did not answer: ${e.message ?? "connection error"}` };
  // A 5xx is indeterminate (Stripe's own words): the payment may have been made. Reconciliation finds
  // out; nothing fails over to another connector meanwhile, and the payment cannot be confirmed again.
  if ((e.statusCode ?? 0) >= 500) return { kind: "unknown", providerReference: null, message: `Stripe answered ${e.statusCode ?? "5xx"}: ${e.message ?? ""}`.trim() };
  // The payment's own data refused (an amount below Stripe's minimum): the merchant's to change, as
  // Stripe's 400 tells it. Nothing was made at Stripe.
  const refusal = paymentDataRefusal(e);
  if (refusal) return { kind: "rejected", ...refusal };
  // Rate limits (429, retryable) and requests of ours Stripe refused before doing anything: no money
  // moved, and nothing the merchant sent was wrong.
  return { kind: "provider_error", message: `Stripe ${e.statusCode ?? ""} ${e.type}: ${e.message ?? ""}`.replace(/\s+/g, " ").trim() };
}

/**
 * Whether the request an error ended may still be running at Stripe: no answer came (the connection
 * failed or timed out), or Stripe answered 409 because another request with its idempotency key is in
 * progress (idempotency_key_in_use). Either way Stripe may yet do it.
 */
export function mayStillBeRunning(err: unknown): boolean {
  const e = asStripeError(err);
  return e.type === "StripeConnectionError" || e.type === undefined || e.statusCode === 409;
}

export function fromFollowUpError(err: unknown): FollowUpOutcome {
  const e = asStripeError(err);
  if (e.type === "StripeCardError") return { kind: "failed", code: e.code ?? "card_declined", message: e.message ?? "Refused by the card issuer." };
  if (e.type === "StripeConnectionError" || e.type === undefined) return { kind: "unknown", providerReference: null, message: `Stripe did not answer: ${e.message ?? "connection error"}` };
  // Indeterminate, as at authorization: the capture, void or refund may have been done.
  if ((e.statusCode ?? 0) >= 500) return { kind: "unknown", providerReference: null, message: `Stripe answered ${e.statusCode ?? "5xx"}: ${e.message ?? ""}`.trim() };
  // Stripe refused the request before doing anything (an amount below its minimum, a refund of more
  // than is left, a payment no longer capturable): nothing moved, and the merchant is answered with
  // Stripe's 400, its code and param. A request of ours Stripe does not understand is our fault, not
  // the merchant's: a provider error, as a rate limit (429) is.
  if (e.type === "StripeInvalidRequestError" && (e.code === undefined || !INTEGRATION_FAULT_CODES.includes(e.code))) {
    return { kind: "failed", code: e.code ?? "invalid_request", message: e.message ?? "Stripe refused the request.", invalidRequest: { param: e.param ?? null } };
  }
  return { kind: "provider_error", message: `Stripe ${e.statusCode ?? ""} ${e.type}: ${e.message ?? ""}`.replace(/\s+/g, " ").trim() };
}

export function fromRefund(refund: Stripe.Refund): FollowUpOutcome {
  if (refund.status === "succeeded") return { kind: "succeeded", providerReference: refund.id, responseCode: "succeeded", responseText: "Refunded" };
  if (refund.status === "pending" || refund.status === "requires_action") return { kind: "unknown", providerReference: refund.id, message: "Stripe has the refund pending" };
  return { kind: "failed", code: refund.failure_reason ?? "refund_failed", message: `Stripe refund ${refund.status}` };
}

/** The object's metadata, its string values only (an event read before its signature is checked may hold anything). */
function metadataOf(object: { metadata?: Stripe.Metadata | null }): Record<string, string | undefined> {
  const metadata: unknown = object.metadata;
  if (!metadata || typeof metadata !== "object") return {};
  return Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/** A verified Stripe event, in our words. */
export function fromStripeEvent(event: Stripe.Event): ProviderEvent {
  const base: ProviderEvent = {
    id: typeof event.id === "string" ? event.id : "",
    kind: "ignored",
    intentId: null,
    attemptId: null,
    providerReference: null,
    captured: false,
    capture: null,
    code: null,
    declineCode: null,
    message: null,
  };
  // Seed 004's webhooks read the event before its signature (to find its merchant): any JSON may come.
  const data: unknown = (event as { data?: unknown }).data;
  const found: unknown = data && typeof data === "object" ? (data as { object?: unknown }).object : null;
  if (!found || typeof found !== "object") return base;
  const object = found as { object?: string };
  if (object.object === "payment_intent") {
    const pi = event.data.object as Stripe.PaymentIntent;
    const meta = metadataOf(pi);
    const kinds: Record<string, ProviderEventKind> = {
      "payment_intent.succeeded": "authorization.approved",
      "payment_intent.amount_capturable_updated": "authorization.approved",
      "payment_intent.payment_failed": "authorization.declined",
      "payment_intent.processing": "authorization.processing",
      "payment_intent.canceled": "authorization.canceled",
    };
    return {
      ...base,
      kind: ownEntry(kinds, event.type) ?? "ignored",
      intentId: meta.gateway_intent ?? null,
      attemptId: meta.gateway_attempt ?? null,
      providerReference: pi.id,
      captured: pi.status === "succeeded",
      // A Stripe payment intent is its own authorization and capture reference.
      capture: event.type === "payment_intent.succeeded" && pi.status === "succeeded" && Number.isInteger(pi.amount_received) && pi.amount_received > 0 ? { amount: pi.amount_received, currency: pi.currency, reference: pi.id, authorization: pi.id } : null,
      amount: Number.isInteger(pi.amount) && typeof pi.currency === "string" ? { value: pi.amount, currency: pi.currency } : null,
      code: pi.last_payment_error?.code ?? null,
      declineCode: pi.last_payment_error?.decline_code ?? null,
      message: pi.last_payment_error?.message ?? null,
    };
  }
  if (object.object === "refund") {
    const refund = event.data.object as Stripe.Refund;
    const meta = metadataOf(refund);
    const kind: ProviderEventKind = refund.status === "succeeded" ? "refund.succeeded" : refund.status === "failed" || refund.status === "canceled" ? "refund.failed" : "ignored";
    return { ...base, kind, intentId: meta.gateway_intent ?? null, attemptId: meta.gateway_attempt ?? null, providerReference: refund.id, code: refund.failure_reason ?? null };
  }
  return base;
}
