// Seed 002's shapes: camelCase, integer cents, ISO times, upper-case currency, and its status words
// (authorized, captured, voided, refunded, declined, error, resolved, dismissed; pending otherwise).
import { chargeAttempt } from "../../core/intent";
import { isoTimestamp } from "../../core/iso-time";
import { minorToDecimal } from "../../core/money";
import type { Attempt, AttemptType, IntentRecord } from "../../core/types";
import { renderPosMetadata } from "./metadata";

import { liveVoidOf, posStatus, VOID_MARK } from "../../core/pos-status";
export { ERROR_REASONS, isVoidedSale, liveVoidOf, POS_STATUSES, posStatus, VOID_MARK, type PosStatus } from "../../core/pos-status";

const iso = (ms: number) => isoTimestamp(ms);

const card = (intent: IntentRecord) => intent.paymentMethod?.card ?? intent.lastPaymentError?.paymentMethod?.card ?? null;
const methodType = (intent: IntentRecord) => intent.paymentMethod?.type ?? intent.lastPaymentError?.paymentMethod?.type ?? "card";

/** The attempt that speaks for the payment: its authorization, else its latest authorization attempt. */
function authAttempt(intent: IntentRecord): Attempt | null {
  return chargeAttempt(intent) ?? [...intent.attempts].reverse().find((a) => a.type === "authorize") ?? null;
}

/**
 * A refusal in the processor's words, as seed 002 shows its answers: a short response text beside
 * the code ("00" "Approval" for an approval; an insufficient-funds decline's `latestResponseText` is
 * "Decline", its `errorMessage` "Insufficient funds"), where the core keeps Stripe's sentences (for
 * /v1's failure_message and last_payment_error). `text` is the response text of the attempt's
 * row, `reason` the payment's errorMessage. Keyed by the decline code, else the attempt's code; the
 * code itself is answered unchanged (responseCode).
 */
const PROCESSOR_WORDS: Readonly<Record<string, { text: string; reason: string }>> = {
  generic_decline: { text: "Decline", reason: "Card declined" },
  do_not_honor: { text: "Decline", reason: "Do not honor" },
  insufficient_funds: { text: "Decline", reason: "Insufficient funds" },
  lost_card: { text: "Pick up card", reason: "Lost card" },
  stolen_card: { text: "Pick up card", reason: "Stolen card" },
  fraudulent: { text: "Decline", reason: "Suspected fraud" },
  card_velocity_exceeded: { text: "Decline", reason: "Exceeds activity limit" },
  expired_card: { text: "Expired card", reason: "Expired card" },
  incorrect_cvc: { text: "CVV mismatch", reason: "Incorrect CVV" },
  processing_error: { text: "System error", reason: "Processing error" },
  test_mode_live_card: { text: "Decline", reason: "Live card in test mode" },
  authentication_required: { text: "Decline", reason: "Authentication required" },
  payment_intent_authentication_failure: { text: "Decline", reason: "Authentication failed" },
  card_declined: { text: "Decline", reason: "Card declined" },
};

const wordsOf = (failure: { declineCode: string | null; code: string | null }) =>
  (failure.declineCode !== null ? PROCESSOR_WORDS[failure.declineCode] : undefined) ?? (failure.code !== null ? PROCESSOR_WORDS[failure.code] : undefined);

/** An attempt's response text as the processor words it: a refused one's short word, else the text kept. */
export function responseTextOf(a: Attempt): string | null {
  if (a.status !== "failed") return a.responseText;
  return wordsOf({ declineCode: a.declineCode, code: a.responseCode })?.text ?? a.responseText;
}

/** Why a declined or errored payment failed, in a few words ("Insufficient funds"); another reason as the core words it. */
function errorMessageOf(intent: IntentRecord, auth: Attempt | null | undefined): string | null {
  const error = intent.lastPaymentError;
  if (error) return wordsOf(error)?.reason ?? error.message;
  if (!auth) return null;
  return auth.status === "failed" ? (wordsOf({ declineCode: auth.declineCode, code: auth.responseCode })?.reason ?? auth.responseText) : auth.responseText;
}

/** The amount before the tip (seed 002's amountCents; the tip is charged on top). */
export const baseAmount = (intent: IntentRecord) => intent.amount - intent.tipAmount;
export const currencyOf = (intent: IntentRecord) => intent.currency.toUpperCase();

/**
 * A sale's void that waits (for an approver, or for the processor's answer): the sale is still
 * captured (its status says so, and it is not listed as voided) until the void goes through; rows show
 * the wait as voidStatus void_pending, the word the void's own answer used.
 */
function pendingVoid(intent: IntentRecord): { voidStatus: "void_pending" } | Record<string, never> {
  const v = intent.status === "succeeded" ? liveVoidOf(intent) : undefined;
  return v && v.status === "pending" ? { voidStatus: "void_pending" } : {};
}

/** The answer of authorize / sale / retry. */
export function renderPayment(intent: IntentRecord) {
  const auth = authAttempt(intent);
  const c = card(intent);
  const status = posStatus(intent);
  return {
    id: intent.id,
    status,
    amountCents: baseAmount(intent),
    tipCents: intent.tipAmount,
    currency: currencyOf(intent),
    providerReference: auth?.providerReference ?? null,
    cardLast4: c?.last4 ?? null,
    cardBrand: c?.brand ?? null,
    authCode: chargeAttempt(intent)?.authorizationCode ?? null,
    avsResponse: chargeAttempt(intent)?.avsResult ?? null,
    cvvResponse: chargeAttempt(intent)?.cvvResult ?? null,
    ...(status === "declined" || status === "error"
      ? { errorMessage: errorMessageOf(intent, auth), responseCode: auth?.responseCode ?? null, responseText: auth ? responseTextOf(auth) : null }
      : {}),
    ...(intent.orderId ? { orderId: intent.orderId } : {}),
    ...(intent.customer ? { customerId: intent.customer } : {}),
    ...(intent.retryOf ? { metadata: retryMetadata(intent) } : {}),
  };
}

export function retryMetadata(intent: IntentRecord): Record<string, unknown> {
  return { ...renderPosMetadata(intent.metadata), ...(intent.retryOf ? { retryOf: intent.retryOf, originalIntentId: intent.retryOf, retryAttempt: true } : {}) };
}

/** A row of GET /transactions. */
export function renderListItem(intent: IntentRecord) {
  const c = card(intent);
  return {
    id: intent.id,
    status: posStatus(intent),
    amountCents: baseAmount(intent),
    tipCents: intent.tipAmount,
    currency: currencyOf(intent),
    paymentMethodType: methodType(intent),
    cardLast4: c?.last4 ?? null,
    cardBrand: c?.brand ?? null,
    providerReference: authAttempt(intent)?.providerReference ?? null,
    orderId: intent.orderId,
    customerId: intent.customer,
    locationId: intent.locationId,
    terminalId: intent.terminalId,
    ...pendingVoid(intent),
    createdAt: iso(intent.created),
  };
}

/** GET /transactions/:id's `intent`. */
export function renderIntentDetail(intent: IntentRecord) {
  const c = card(intent);
  return {
    id: intent.id,
    status: posStatus(intent),
    amountCents: baseAmount(intent),
    tipCents: intent.tipAmount,
    capturedAmountCents: intent.amountReceived,
    refundedAmountCents: intent.amountRefunded,
    currency: currencyOf(intent),
    paymentMethodType: methodType(intent),
    cardLast4: c?.last4 ?? null,
    cardBrand: c?.brand ?? null,
    orderId: intent.orderId,
    customerId: intent.customer,
    locationId: intent.locationId,
    terminalId: intent.terminalId,
    metadata: retryMetadata(intent),
    ...pendingVoid(intent),
    ...(intent.resolution
      ? {
          resolution: intent.resolution.status,
          resolutionReason: intent.resolution.reason,
          paidByOtherMeans: intent.resolution.paidByOtherMeans,
          otherMeansType: intent.resolution.otherMeansType ?? null,
        }
      : {}),
    createdAt: iso(intent.created),
    updatedAt: iso(intent.updated),
  };
}

function attemptType(a: Attempt, intent: IntentRecord): AttemptType {
  // A sale voided the same day is given back by a refund marked as the void: its row is the void.
  if (a.type === "refund" && a.refundId !== null && intent.refunds.some((r) => r.id === a.refundId && r.metadata[VOID_MARK] === "true")) return "void";
  return a.type;
}

function attemptStatus(a: Attempt): string {
  switch (a.status) {
    case "succeeded":
      return "approved";
    case "failed":
      return a.responseCode === "provider_error" || a.refusedRequest === true || a.declineCode === "processing_error" ? "error" : "declined";
    case "canceled":
      return "voided";
    default:
      return "pending";
  }
}

/** A row of the history: one step of a call to the processor. */
function historyRow(a: Attempt, type: AttemptType, id: string, authCode: string | null) {
  return {
    id,
    type,
    status: attemptStatus(a),
    amountDollars: minorToDecimal(a.amount, a.currency),
    amountCents: a.amount,
    providerReference: a.providerReference,
    responseCode: a.responseCode,
    responseText: responseTextOf(a),
    authCode,
    createdAt: iso(a.created),
  };
}

/** The id of the capture row of a sale (the authorize row has the call's own id). */
const SALE_CAPTURE_SUFFIX = "_capture";

/**
 * The rows of one call to the processor. The seed's sale is a "combined authorize + capture in one
 * step" and its history speaks of authorize and capture only: a sale that went through is an
 * authorize row followed by a capture row (the same amount, reference, answer and time; the capture
 * row's id is the call's id with SALE_CAPTURE_SUFFIX, and it has no authCode, as a capture's has
 * none). A sale declined, failed or still pending captured nothing: its authorize row alone.
 */
function renderHistoryRows(a: Attempt, intent: IntentRecord) {
  const type = attemptType(a, intent);
  const row = historyRow(a, type, a.id, a.authorizationCode);
  if (a.type === "authorize" && a.capture && a.status === "succeeded") return [row, historyRow(a, "capture", `${a.id}${SALE_CAPTURE_SUFFIX}`, null)];
  return [row];
}

/** GET /transactions/:id's `transactions`: every call to the processor, oldest first. */
export function renderHistory(intent: IntentRecord) {
  return intent.attempts.flatMap((a) => renderHistoryRows(a, intent));
}

/**
 * A row of GET /failed: the payment as it failed, with every authorization tried for it, its retries'
 * included (`retries`, oldest first): attemptCount counts them, latestResponseText is the latest's.
 */
export function renderFailed(intent: IntentRecord, retries: readonly IntentRecord[] = []) {
  const auths = [intent, ...retries].flatMap((i) => i.attempts.filter((a) => a.type === "authorize"));
  const latest = auths[auths.length - 1];
  return {
    id: intent.id,
    status: posStatus(intent),
    amountCents: baseAmount(intent),
    tipCents: intent.tipAmount,
    currency: currencyOf(intent),
    paymentMethodType: methodType(intent),
    cardLast4: card(intent)?.last4 ?? null,
    errorMessage: errorMessageOf(intent, intent.attempts.filter((a) => a.type === "authorize").at(-1)),
    attemptCount: auths.length,
    latestResponseText: latest ? responseTextOf(latest) : null,
    customerId: intent.customer,
    locationId: intent.locationId,
    createdAt: iso(intent.created),
  };
}
