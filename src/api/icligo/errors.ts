// Seed 003's one error payload, on every route under /payments: {timestamp (ms), status, error,
// message, path}, as its "Errors" section shows it; and its refusals of a capture, cancel or refund
// in its own words, which the core's errors for the same states are translated into.
import { redactCardNumbersQuoted } from "../../core/card-number";
import { invalidRequest, type ApiError, type ApiErrorData } from "../../core/errors";
import { refundableAmount } from "../../core/intent";
import { decimalMessage, minorToDecimal } from "../../core/money";
import { icligoStatus } from "../../core/surface-events";
import type { IntentRecord } from "../../core/types";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

export interface IcligoError {
  timestamp: number;
  status: number;
  error: string;
  message: string;
  path: string;
}

/**
 * The status this surface answers (its table has no 402: a declined card is a 400; and no 502 or 504:
 * a provider's error or timeout is its 500, "something went wrong on iCliGo's end").
 */
export function icligoStatusCode(err: ApiErrorData): number {
  if (err.status === 402) return 400;
  return REASONS[err.status] ? err.status : err.status >= 500 ? 500 : 400;
}

export function icligoError(err: ApiErrorData, path: string, now: number): IcligoError {
  const status = icligoStatusCode(err);
  // The path as its message quotes it: a card number sent in it (/payments/4242.../capture) as [card].
  return { timestamp: now, status, error: REASONS[status] ?? "Bad Request", message: decimalMessage(err), path: redactCardNumbersQuoted(path) };
}

export const MISSING_HEADERS = "Headers 'X-Access-Token' and 'X-Application-Id' are necessary.";
export const INVALID_ACCESS_TOKEN = "Header 'X-Access-Token' is invalid: an access token is 'tok_' followed by letters and digits.";
export const INVALID_APPLICATION_ID = "Header 'X-Application-Id' is invalid: an application id is 'app_' followed by letters and digits.";

// ---- refusals in this surface's words ------------------------------------------------------------------

/** What a route does to a payment, as its refusals name it. */
export type PaymentAction = "capture" | "cancel" | "refund";

const PAST: Record<PaymentAction, string> = { capture: "captured", cancel: "canceled", refund: "refunded" };

function refused(message: string): ApiError {
  return invalidRequest(message);
}

/** Why `number` cannot be captured in its state, or null when it can. */
export function captureRefusal(number: number, intent: IntentRecord): ApiError | null {
  const status = icligoStatus(intent);
  return status === "Authorized" ? null : refused(`Payment ${number} is ${status}: only an Authorized payment can be captured, and only once.`);
}

/** Why `number` cannot be canceled in its state, or null when it can. */
export function cancelRefusal(number: number, intent: IntentRecord): ApiError | null {
  const status = icligoStatus(intent);
  // Its payment is at the processor, whose answer is not known yet.
  if (status === "Processing") {
    return refused(`Payment ${number} is being processed (the processor's answer is not known yet): it cannot be canceled now. Read it again shortly; if it is Authorized then, cancel it.`);
  }
  if (status !== "Created" && status !== "Authorized") return refused(`Payment ${number} is ${status}: only a Created or Authorized payment can be canceled.`);
  return null;
}

/** Why `amount` (minor units; all that is left when undefined) of `number` cannot be refunded, or null when it can. */
export function refundRefusal(number: number, intent: IntentRecord, amount: number | undefined): ApiError | null {
  const status = icligoStatus(intent);
  if (status !== "Completed" && status !== "Confirmed") {
    return refused(`Payment ${number} is ${status}: only a Completed or Confirmed payment can be refunded.`);
  }
  // What is left to refund: refunds waiting for an approver hold their amount too.
  const remaining = refundableAmount(intent);
  if (remaining <= 0) {
    const waiting = intent.refunds.some((r) => r.status === "pending");
    return refused(`Payment ${number} has nothing left to refund${waiting ? ": the rest is in refunds still waiting (for approval, or for the processor)" : ""}.`);
  }
  if (amount !== undefined && amount > remaining) {
    return refused(`Invalid request: 'amount' is more than the ${minorToDecimal(remaining, intent.currency)} ${intent.currency.toUpperCase()} of payment ${number} left to refund.`);
  }
  return null;
}

/** The refusal of `action` on a payment in its state (null when it may go on). */
export function refusalOf(action: PaymentAction, number: number, intent: IntentRecord, amount?: number): ApiError | null {
  return action === "capture" ? captureRefusal(number, intent) : action === "cancel" ? cancelRefusal(number, intent) : refundRefusal(number, intent, amount);
}

// The core's refusals of an operation for the payment's state (status, what is left), in /v1's words.
const STATE_CODES = new Set(["payment_intent_unexpected_state", "charge_not_refundable", "charge_already_refunded", "amount_too_large"]);

/**
 * An error of the core (the payment's object) in this surface's words, never /v1's ("You cannot
 * capture this PaymentIntent because it has a status of succeeded..."). A refusal for the payment's
 * state is this surface's check (refusalOf) run on the state the core saw: a request racing another
 * (three captures at once) and the replay of a refusal kept under an Idempotency-Key are told in the
 * same status and message as the first refusal. `current` is the payment as the core left it (for a
 * replay, as it was when the refusal was first made).
 */
export function inSurfaceWords(err: ApiErrorData, action: PaymentAction, number: number, current: IntentRecord, amount?: number): ApiErrorData {
  if (err.code === "resource_missing") return { ...err, message: `No such payment: '${number}'`, param: undefined };
  if (err.code === "payment_intent_pending_reconciliation") {
    return { ...err, message: `Payment ${number} has a capture or cancellation whose outcome at the processor is not known yet: it cannot be ${PAST[action]} until it is. Read it again shortly.` };
  }
  if (!err.code || !STATE_CODES.has(err.code)) return err;
  // A capture above what was authorized is told in this surface's decimals (decimalMessage), as the route does not check it itself.
  if (err.code === "amount_too_large" && action === "capture") return err;
  const own = refusalOf(action, number, current, amount);
  if (own) return own.data;
  return refused(`Payment ${number} is ${icligoStatus(current)}: it cannot be ${PAST[action]} now.`).data;
}
