// Events of the further API surfaces, sent alongside the canonical ones. Seed 003 (iCliGo) tells the
// application about its payments in its own words: AUTHORIZED (manual capture, once authorized),
// COMPLETED (automatic capture, once paid), CONFIRMED (after a capture), CANCELED and REFUNDED. They
// are derived from the canonical transition events of the intents that seed 003 created, so they
// travel in the same outbox, queue and signed, retried deliveries as every other event.
import { effectiveCaptureMethod } from "./intent";
import { currencyExponent, minorToDecimal } from "./money";
import { icligoFields } from "./icligo-fields";
import type { IntentRecord, RefundRecord } from "./types";

export const ICLIGO_EVENT_TYPES = [
  "icligo.payment.authorized",
  "icligo.payment.completed",
  "icligo.payment.confirmed",
  "icligo.payment.canceled",
  "icligo.payment.refunded",
] as const;
export type IcligoEventType = (typeof ICLIGO_EVENT_TYPES)[number];

export type IcligoWebhookStatus = "AUTHORIZED" | "COMPLETED" | "CONFIRMED" | "CANCELED" | "REFUNDED";
export type IcligoStatus = "Created" | "Processing" | "Authorized" | "Completed" | "Confirmed" | "Canceled" | "Refunded" | "Failed";

/** A payment's status in seed 003's words. */
export function icligoStatus(intent: IntentRecord): IcligoStatus {
  switch (intent.status) {
    case "requires_capture":
      return "Authorized";
    case "processing":
      // Paid, or being paid: the processor's answer is not known yet (a confirmation under way, or a
      // timeout that reconciliation will settle). Not Created: it cannot be canceled now.
      return "Processing";
    case "succeeded":
      // Refunded in part, it stays Completed (or Confirmed): seed 003 refunds only a Completed payment,
      // and again until nothing is left, so a client checking the status before each refund goes on.
      // refundedAmount says how much went back; Refunded once all of it did.
      if (intent.amountRefunded > 0 && intent.amountRefunded >= intent.amountReceived) return "Refunded";
      return effectiveCaptureMethod(intent) === "manual" ? "Confirmed" : "Completed";
    case "canceled":
      return "Canceled";
    case "failed":
      return "Failed";
    default:
      // A declined payment an operator resolved or dismissed (seed 002's /failed, the dashboard) is
      // not paid any more (its page and a confirmation refuse it): it failed for good.
      return intent.resolution ? "Failed" : "Created";
  }
}

/**
 * A decimal amount for a payload, as a number (the event is stored and read back as JSON). A number
 * keeps no trailing zeros (10.10 is 10.1): webhookBody() writes it back with its currency's digits.
 */
export function decimalNumber(minor: number, currency: string): number {
  return Number(minorToDecimal(minor, currency));
}

// The amounts of a seed 003 payload, by their path in `data.object`.
const ICLIGO_AMOUNTS: readonly (readonly string[])[] = [["amount"], ["capturedAmount", "value"], ["refundedAmount", "value"], ["refund", "amount", "value"]];

/** `value` (a number of major units) with exactly `currency`'s digits (`10.1` EUR is `10.10`, `25` is `25.00`), or null. */
function withCurrencyDigits(value: unknown, currency: string): string | null {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return null;
  const exponent = currencyExponent(currency);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(String(value));
  if (exponent === undefined || !match) return null;
  const [, whole = "0", fraction = ""] = match;
  if (fraction.length > exponent) return null;
  return exponent === 0 ? whole : `${whole}.${fraction.padEnd(exponent, "0")}`;
}

/** A copy of `object` with the value at `path` replaced (the object's key order kept), or `object` when there is none. */
function replaced(object: Record<string, unknown>, path: readonly string[], replace: (value: unknown) => unknown): Record<string, unknown> {
  const [key, ...rest] = path;
  if (key === undefined || !(key in object)) return object;
  const value = object[key];
  if (rest.length === 0) return { ...object, [key]: replace(value) };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return object;
  return { ...object, [key]: replaced(value as Record<string, unknown>, rest, replace) };
}

/**
 * The exact text of an event's webhook body, to sign and send as it is. JSON.stringify, except that a
 * seed 003 event (icligo.payment.*) writes its amounts as GET /payments/{id} does: JSON numbers with
 * the currency's digits (`"amount":25.00`, `"capturedAmount":{"currency":"EUR","value":10.10}`), not
 * as a float prints them (`25`, `10.1`). The signature must be computed over this string.
 */
export function webhookBody(event: { type: string; data: { object: Record<string, unknown> } }): string {
  const object = event.data.object;
  const currency = object.currency;
  if (!event.type.startsWith("icligo.payment.") || typeof currency !== "string") return JSON.stringify(event);
  // Each amount is first written as a string holding a per-call random mark and its digits, which
  // then loses its quotes: no string of the payload (a userId, a productId) can carry the mark.
  const mark = `dec${crypto.randomUUID().replace(/-/g, "")}`;
  let exact = object;
  for (const path of ICLIGO_AMOUNTS) {
    exact = replaced(exact, path, (value) => {
      const digits = withCurrencyDigits(value, currency);
      return digits === null ? value : `${mark}${digits}`;
    });
  }
  const text = JSON.stringify({ ...event, data: { ...event.data, object: exact } });
  return text.replace(new RegExp(`"${mark}(\\d+(?:\\.\\d+)?)"`, "g"), "$1");
}

function webhookStatusOf(intent: IntentRecord, coreType: string, refund?: RefundRecord): IcligoWebhookStatus | null {
  switch (coreType) {
    case "payment_intent.amount_capturable_updated":
      return "AUTHORIZED";
    case "payment_intent.succeeded":
      return effectiveCaptureMethod(intent) === "manual" ? "CONFIRMED" : "COMPLETED";
    case "payment_intent.canceled":
      return "CANCELED";
    case "charge.refunded":
      // A refund's; an authorization released by a cancel is CANCELED (its payment_intent.canceled).
      return refund ? "REFUNDED" : null;
    default:
      return null;
  }
}

/** The payload of a seed 003 webhook: the payment's id, our intent id and the status word. */
export function icligoWebhookPayload(intent: IntentRecord, status: IcligoWebhookStatus, refund?: RefundRecord): Record<string, unknown> {
  const currency = intent.currency.toUpperCase();
  return {
    object: "icligo.payment",
    id: intent.number ?? null,
    paymentIntentId: intent.id,
    status,
    paymentStatus: icligoStatus(intent),
    userId: intent.customer,
    productId: icligoFields(intent).productId,
    currency,
    amount: decimalNumber(intent.amount, intent.currency),
    capturedAmount: { currency, value: decimalNumber(intent.amountReceived, intent.currency) },
    refundedAmount: { currency, value: decimalNumber(intent.amountRefunded, intent.currency) },
    manualCapture: effectiveCaptureMethod(intent) === "manual",
    // REFUNDED: the refund that went through (refundedAmount is the total so far).
    ...(status === "REFUNDED" && refund ? { refund: { id: refund.id, amount: { currency, value: decimalNumber(refund.amount, intent.currency) } } } : {}),
    timestamp: intent.updated,
  };
}

/** The surface events one canonical event of `intent` brings with it (none for most intents). */
export function surfaceEvents(intent: IntentRecord, coreType: string, refund?: RefundRecord): { type: IcligoEventType; object: Record<string, unknown> }[] {
  if (intent.createdVia !== "icligo") return [];
  const status = webhookStatusOf(intent, coreType, refund);
  if (!status) return [];
  return [{ type: `icligo.payment.${status.toLowerCase()}` as IcligoEventType, object: icligoWebhookPayload(intent, status, refund) }];
}
