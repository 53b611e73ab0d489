// Events of the further API surfaces, sent alongside the canonical ones. Seed 003 (iCliGo) tells the
// application about its payments in its own words: AUTHORIZED (manual capture, once authorized),
// COMPLETED (automatic capture, once paid), CONFIRMED (after a capture), CANCELED and REFUNDED. They
// are derived from the canonical transition events of the intents that seed 003 created, so they
// travel in the same outbox, queue and signed, retried deliveries as every other event.
import { minorToDecimal } from "./money";
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
export type IcligoStatus = "Created" | "Authorized" | "Completed" | "Confirmed" | "Canceled" | "Refunded" | "PartiallyRefunded" | "Failed";

/** A payment's status in seed 003's words. */
export function icligoStatus(intent: IntentRecord): IcligoStatus {
  switch (intent.status) {
    case "requires_capture":
      return "Authorized";
    case "succeeded":
      if (intent.amountRefunded > 0) return intent.amountRefunded >= intent.amountReceived ? "Refunded" : "PartiallyRefunded";
      return intent.captureMethod === "manual" ? "Confirmed" : "Completed";
    case "canceled":
      return "Canceled";
    case "failed":
      return "Failed";
    default:
      return "Created";
  }
}

/** A decimal amount for a JSON payload: exact digits, as a number (two or three decimals survive as written). */
export function decimalNumber(minor: number, currency: string): number {
  return Number(minorToDecimal(minor, currency));
}

function webhookStatusOf(intent: IntentRecord, coreType: string): IcligoWebhookStatus | null {
  switch (coreType) {
    case "payment_intent.amount_capturable_updated":
      return "AUTHORIZED";
    case "payment_intent.succeeded":
      return intent.captureMethod === "manual" ? "CONFIRMED" : "COMPLETED";
    case "payment_intent.canceled":
      return "CANCELED";
    case "charge.refunded":
      return "REFUNDED";
    default:
      return null;
  }
}

/** The payload of a seed 003 webhook: the payment's id, our intent id and the status word. */
export function icligoWebhookPayload(intent: IntentRecord, status: IcligoWebhookStatus, refund?: RefundRecord): Record<string, unknown> {
  const currency = intent.currency.toUpperCase();
  const md = intent.metadata;
  return {
    object: "icligo.payment",
    id: intent.number ?? null,
    paymentIntentId: intent.id,
    status,
    paymentStatus: icligoStatus(intent),
    userId: intent.customer,
    productId: md.productId ?? null,
    currency,
    amount: decimalNumber(intent.amount, intent.currency),
    capturedAmount: { currency, value: decimalNumber(intent.amountReceived, intent.currency) },
    refundedAmount: { currency, value: decimalNumber(intent.amountRefunded, intent.currency) },
    manualCapture: intent.captureMethod === "manual",
    // REFUNDED: the refund that went through (refundedAmount is the total so far).
    ...(status === "REFUNDED" && refund ? { refund: { id: refund.id, amount: { currency, value: decimalNumber(refund.amount, intent.currency) } } } : {}),
    timestamp: intent.updated,
  };
}

/** The surface events one canonical event of `intent` brings with it (none for most intents). */
export function surfaceEvents(intent: IntentRecord, coreType: string, refund?: RefundRecord): { type: IcligoEventType; object: Record<string, unknown> }[] {
  if (intent.createdVia !== "icligo") return [];
  const status = webhookStatusOf(intent, coreType);
  if (!status) return [];
  return [{ type: `icligo.payment.${status.toLowerCase()}` as IcligoEventType, object: icligoWebhookPayload(intent, status, refund) }];
}
