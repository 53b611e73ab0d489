// Seed 003's PaymentDto (the create request's fields, with the payment's id, status, our intent id
// and the hosted payment page) and ConfirmPaymentResponse. Amounts are decimals with the currency's
// digits; the status is in this surface's words.
import { effectiveCaptureMethod } from "../../core/intent";
import { icligoStatus } from "../../core/surface-events";
import { icligoFields } from "../../core/icligo-fields";
import { sha256Hex } from "../../core/ids";
import type { Attempt, IntentRecord, RefundRecord } from "../../core/types";
import { decimalOut, type DecimalOut } from "../common/exact-json";

export interface Money {
  currency: string;
  value: DecimalOut;
}

const money = (minor: number, currency: string): Money => ({ currency: currency.toUpperCase(), value: decimalOut(minor, currency) });

export function renderPayment(intent: IntentRecord, number: number, paymentUrl: string | null) {
  // Its own fields, never the metadata that /v1 may write (core/icligo-fields.ts).
  const md = icligoFields(intent);
  return {
    id: number,
    paymentIntentId: intent.id,
    status: icligoStatus(intent),
    userId: intent.customer,
    productId: md.productId,
    productType: md.productType,
    products: intent.lineItems.map((item) => ({
      id: item.reference ?? null,
      name: item.name,
      quantity: item.quantity,
      price: money(item.unitAmount, item.currency ?? intent.currency),
    })),
    company: md.company,
    currency: intent.currency.toUpperCase(),
    microsite: md.microsite,
    country: md.country,
    amount: decimalOut(intent.amount, intent.currency),
    // As its status and its webhooks read it: a payment made through /v1 with automatic capture but
    // payment_method_options[card][capture_method]=manual is held for a capture (Authorized), so manual.
    manualCapture: effectiveCaptureMethod(intent) === "manual",
    capturedAmount: money(intent.amountReceived, intent.currency),
    refundedAmount: money(intent.amountRefunded, intent.currency),
    paymentUrl,
    createdAt: intent.created,
  };
}

/**
 * A refund not made yet: one the merchant's approval threshold holds back (PENDING_APPROVAL; an
 * approver decides it through /v1), or one sent whose answer the processor lost (PENDING; reconciled).
 * The payment has not been refunded yet, and the answer says so (202) with this object beside it.
 */
export function renderPendingRefund(refund: RefundRecord, status: "PENDING_APPROVAL" | "PENDING") {
  return { id: refund.id, status, amount: money(refund.amount, refund.currency) };
}

/** A capture's id in the seed's UUID form, derived from our attempt id (stable across reads). */
export async function captureUuid(attemptId: string): Promise<string> {
  const hex = await sha256Hex(attemptId);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export async function renderCapture(intent: IntentRecord, capture: Attempt, description: string | null) {
  const at = capture.completed ?? capture.created;
  const amount = money(capture.amount, intent.currency);
  return {
    date: at,
    capturedAmountInfo: amount,
    captures: [{ id: await captureUuid(capture.id), description: description ?? "", captureTime: at, amount }],
  };
}
