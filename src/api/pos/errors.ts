// Seed 002's error format: {"error": {"code", "message", "details": [...]}} with its table of codes
// (VALIDATION_ERROR 400, NOT_FOUND 404, INVALID_STATE 409, DUPLICATE_REQUEST 409, PROVIDER_ERROR 502,
// PROVIDER_TIMEOUT 504) and, for what the table leaves out, codes in the same style. Every error of
// the core (ApiError data) is translated here; nothing else renders an error under this surface.
import type { z } from "zod";
import { ApiError, BEARER_CHALLENGE, type ApiErrorData } from "../../core/errors";
import { log } from "../../log";
import { redactCardNumbersQuoted } from "../../core/card-number";
import { liveVoidOf, posStatus } from "../../core/pos-status";
import type { IntentRecord } from "../../core/types";
import { ownEntry } from "../../core/own";

export interface PosErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

export interface PosErrorBody {
  error: { code: string; message: string; details: PosErrorDetail[] };
}

export class PosError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: PosErrorDetail[] = [],
  ) {
    // A message (or a detail) may quote what the client sent: never a card number.
    super(redactCardNumbersQuoted(message));
    this.name = "PosError";
    this.details = details.map((d) => ({ ...d, message: redactCardNumbersQuoted(d.message) }));
  }
}

export const validation = (message: string, field?: string) => new PosError(400, "VALIDATION_ERROR", message, [{ ...(field ? { field } : {}), message }]);
/** A 404; `field` names the body field that named what is missing (a path's id names none). */
export const notFound = (message: string, field?: string) => new PosError(404, "NOT_FOUND", message, field ? [{ field, message }] : []);
export const invalidState = (message: string) => new PosError(409, "INVALID_STATE", message);
export const forbidden = (message: string) => new PosError(403, "FORBIDDEN", message);

/** Core codes that mean "not from this state" (the seed's INVALID_STATE, 409). */
const STATE_CODES = new Set([
  "payment_intent_unexpected_state",
  "charge_not_refundable",
  "charge_already_refunded",
  // Not amount_too_large: more than authorized or than remains refundable is invalid input (the seed's
  // capture note: amountCents "must be <= authorized amount"), a 400 VALIDATION_ERROR on amountCents,
  // not a status transition.
  "not_a_failed_payment",
  "failed_payment_already_resolved",
  "failed_payment_retry_in_progress",
  "invoice_payment_not_retryable",
  "surface_payment_not_retryable",
  "payment_intent_pending_reconciliation",
  "resource_already_exists",
  "refund_not_awaiting_approval",
  "payment_intent_already_voided",
  "payment_intent_refunded_not_voidable",
  "payment_intent_settled",
]);

/** A void refused because the sale has a refund (succeeded, or waiting for approval or the processor). */
const REFUNDED_NOT_VOIDABLE = "This sale was already refunded in part or whole; it can no longer be voided.";

/** A sale's void that went through, or still waits (for an approver or the processor), in this surface's words. */
function voidedMessage(intent: IntentRecord | null, subject: string): string {
  const v = intent ? liveVoidOf(intent) : undefined;
  return v && v.status !== "succeeded"
    ? `${subject} already has a void waiting for approval or for the processor; it stays captured until the void goes through.`
    : `${subject} was already voided.`;
}

/**
 * The core's parameter names in this surface's words: a detail's `field` names what the client sent
 * (amountCents, not /v1's amount_to_capture). A saved card given as paymentMethodId is checked by
 * this surface itself, so the core's payment_method is the token.
 */
const FIELDS: Readonly<Record<string, string>> = {
  amount: "amountCents",
  amount_to_capture: "amountCents",
  tip: "tipCents",
  currency: "currency",
  payment_method: "token",
  payment_intent: "paymentIntentId",
  intent: "paymentIntentId",
  id: "paymentIntentId",
  customer: "customerId",
  order_id: "orderId",
  metadata: "metadata",
  // This surface's own names, when it hands them to a shared lookup (a saved card's findPaymentMethod).
  paymentMethodId: "paymentMethodId",
  paymentIntentId: "paymentIntentId",
  customerId: "customerId",
};

/** The operations of this surface that act on an existing payment. */
export type PosOperation = "capture" | "void" | "refund" | "retry" | "resolve";

const FROM: Readonly<Record<PosOperation, string>> = {
  capture: "only an authorized payment can be captured",
  void: "only an authorized payment, or a sale captured the same day, can be voided",
  refund: "only a captured payment can be refunded",
  retry: "only a failed payment (declined or error) can be retried",
  resolve: "only a failed payment (declined or error) can be resolved or dismissed",
};

/** "This payment's status is captured: only an authorized payment can be captured." */
export function stateMessage(intent: IntentRecord, op: PosOperation, subject = "This payment's"): string {
  const status = posStatus(intent);
  const instead = op === "void" && (status === "captured" || status === "refunded") ? " Refund it instead." : "";
  return `${subject} status is ${status}: ${FROM[op]}.${instead}`;
}

/**
 * The core's error about a payment's state or amounts in this surface's words: its status words
 * (authorized, captured, voided, ..., from the payment `intent` as it stands), "payment" for /v1's
 * PaymentIntent and charge, amountCents for its amounts. Code, status and field are unchanged; any
 * other error is left as it is.
 */
export function inPosWords(data: ApiErrorData, intent: IntentRecord | null, op: PosOperation): ApiErrorData {
  const say = (message: string): ApiErrorData => ({ ...data, message });
  switch (data.code) {
    case "payment_intent_unexpected_state":
    case "charge_not_refundable":
      return intent ? say(stateMessage(intent, op)) : data;
    case "not_a_failed_payment":
      return intent ? say(stateMessage(intent, op, `Payment ${intent.id}'s`)) : data;
    case "charge_already_refunded":
      // Given back by its void (or held by a void that waits): said as such.
      return intent && liveVoidOf(intent) ? say(`${voidedMessage(intent, "This sale")} Nothing remains to refund.`) : say("This payment was already refunded in full: nothing remains to refund.");
    case "payment_intent_already_voided":
      return say(voidedMessage(intent, "This sale"));
    case "payment_intent_refunded_not_voidable":
      return say(REFUNDED_NOT_VOIDABLE);
    case "payment_intent_settled":
      return say("This sale has settled (it was not captured today): refund it instead.");
    case "amount_too_large": {
      if (!data.excess) return data;
      // A capture's amountCents leaves the tip out (it is captured on top): so do the amounts told.
      const tip = data.excess.action === "capture" && intent ? intent.tipAmount : 0;
      return say(
        data.excess.action === "capture"
          ? `amountCents (${data.excess.requested - tip}) is greater than the authorized amount that can be captured (${data.excess.available - tip})${tip > 0 ? `; the tip (tipCents ${tip}) is captured on top of it` : ""}.`
          : `amountCents (${data.excess.requested}) is greater than what remains refundable on this payment (${data.excess.available}).`,
      );
    }
    case "payment_intent_pending_reconciliation":
      return say("A capture or void of this payment has an unknown outcome at the processor; it must be reconciled first. Read it back later.");
    default:
      return data;
  }
}

/** /v1's object names in "No such payment_intent: 'pi_...'" in this surface's words. */
const RESOURCES: Readonly<Record<string, string>> = {
  payment_intent: "payment",
  charge: "payment",
  payment_method: "payment method",
  customer: "customer",
  refund: "refund",
};

/** The core's error data in this surface's words. */
export function fromApiError(core: ApiErrorData): PosError {
  const missing = core.code === "resource_missing" ? /^No such (\w+): '(.*)'\.?$/s.exec(core.message) : null;
  const resource = missing?.[1] ? ownEntry(RESOURCES, missing[1]) : undefined;
  const renamed = resource && missing ? { ...core, message: `No such ${resource}: '${missing[2] ?? ""}'.` } : core;
  // A saved card named for another customer: /v1's message names our customer id (cus_...), which this
  // surface's client never saw (its customers are its own ids).
  const data =
    renamed.code === "payment_method_customer_mismatch"
      ? { ...renamed, message: "This stored card belongs to another customer: pass its own customer's customerId, or use another card." }
      : renamed;
  // A parameter with no name here is left out rather than named in another API's words.
  const field = data.param ? ownEntry(FIELDS, data.param.replace(/\[.*$/, "")) : undefined;
  const details: PosErrorDetail[] = data.param ? [{ ...(field ? { field } : {}), message: data.message }] : [];
  if (data.type === "idempotency_error") {
    if (data.code === "idempotency_key_in_use") return new PosError(409, "DUPLICATE_REQUEST", "A request with this clientRequestId is still in progress; retry later.");
    return new PosError(409, "DUPLICATE_REQUEST", "This clientRequestId was already used for a different request.");
  }
  if (data.code && STATE_CODES.has(data.code)) return new PosError(409, "INVALID_STATE", data.message, details);
  switch (data.status) {
    case 400:
    case 402: // a card the vault refuses before any PSP call (bad number, expiry, CVC)
    case 422:
      return new PosError(400, "VALIDATION_ERROR", data.message, details.length ? details : [{ message: data.message }]);
    case 401:
      return new PosError(401, "UNAUTHORIZED", data.message);
    case 403:
      return new PosError(403, "FORBIDDEN", data.message);
    case 404:
      return new PosError(404, "NOT_FOUND", data.message, details);
    case 409:
      return new PosError(409, "INVALID_STATE", data.message, details);
    case 413:
      return new PosError(413, "PAYLOAD_TOO_LARGE", data.message);
    case 415:
      return new PosError(415, "UNSUPPORTED_MEDIA_TYPE", data.message);
    case 429:
      return new PosError(429, "RATE_LIMITED", data.message);
    case 502:
      return new PosError(502, "PROVIDER_ERROR", data.message);
    case 504:
      return new PosError(504, "PROVIDER_TIMEOUT", data.message);
    default:
      return new PosError(500, "INTERNAL_ERROR", "An unexpected error occurred. The request may be retried with the same clientRequestId.");
  }
}

/** Anything thrown under this surface, as its status, body and headers. */
export function renderPosError(err: unknown, requestId: string): { status: number; body: PosErrorBody; headers: Record<string, string> } {
  let pos: PosError;
  const headers: Record<string, string> = { "Request-Id": requestId };
  if (err instanceof PosError) pos = err;
  else if (err instanceof ApiError) {
    pos = fromApiError(err.data);
    if (err.data.retryAfterSeconds !== undefined) headers["Retry-After"] = String(err.data.retryAfterSeconds);
  } else {
    log("error", "unhandled error (pos surface)", { request_id: requestId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    pos = fromApiError({ status: 500, type: "api_error", message: "internal" });
  }
  if (pos.status === 401) headers["WWW-Authenticate"] = BEARER_CHALLENGE;
  return { status: pos.status, body: { error: { code: pos.code, message: pos.message, details: pos.details } }, headers };
}

/** Validates with zod; every problem becomes one detail of a VALIDATION_ERROR. Values are never echoed. */
export function parsePos<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // A field the request does not take (a partial void's amountCents, say) is refused by name, never
  // dropped: the operation would otherwise go ahead for what the client did not ask.
  const details = result.error.issues.slice(0, 20).flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      const at = issue.path.map(String).join(".");
      return issue.keys.map((key) => {
        const field = redactCardNumbersQuoted(at ? `${at}.${key}` : key).slice(0, 100);
        return { field, message: `${field} is not a field of this request` };
      });
    }
    const field = issue.path.map(String).join(".");
    const missing = issue.code === "invalid_type" && /received undefined/i.test(issue.message);
    const text = issue.message.replace(/\s+/g, " ").slice(0, 200);
    const message = missing ? `${field} is required` : field && !text.startsWith(field) ? `${field}: ${text}` : text;
    return [{ ...(field ? { field } : {}), message }];
  }).slice(0, 20);
  throw new PosError(400, "VALIDATION_ERROR", details[0]?.message ?? "Invalid request", details);
}
