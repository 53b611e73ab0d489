// Seed 002's status words, derived from an intent: in code (posStatus, for its answers) and in SQL
// (POS_STATUS_SQL, the generated column pos_status of payment_intents that its status filter reads
// as an index range, migration 0037). The two say the same; test/db/pos-status.test.ts checks it.
import { failureReason, isFailedPayment } from "./intent";
import type { IntentRecord, RefundRecord } from "./types";

export type PosStatus = "authorized" | "captured" | "voided" | "refunded" | "declined" | "error" | "resolved" | "dismissed" | "pending";
export const POS_STATUSES: readonly PosStatus[] = ["authorized", "captured", "voided", "refunded", "declined", "error", "resolved", "dismissed", "pending"];

/** Failure reasons that are the processor's trouble rather than the card's: the seed's `error`. */
export const ERROR_REASONS = ["processing_error", "provider_error", "api_error", "unknown"] as const;

/** Metadata key marking the refund that voided a same-day sale (seed 002's void after capture). */
export const VOID_MARK = "pos_void";

/**
 * A refund that counts: given back, or on its way (waiting for an approver, or sent to the processor
 * without an answer yet). One failed, canceled or rejected (canceled) does not.
 */
export const isLiveRefund = (r: RefundRecord): boolean => r.status !== "failed" && r.status !== "canceled";

/** A refund carrying the void mark: the void of a same-day sale. */
export const isVoidRefund = (r: RefundRecord): boolean => r.metadata[VOID_MARK] === "true";

/** The sale's void that counts (succeeded, or waiting for an approver or the processor), if any. */
export function liveVoidOf(intent: IntentRecord): RefundRecord | undefined {
  return intent.refunds.find((r) => isVoidRefund(r) && isLiveRefund(r));
}

/**
 * A sale voided the same day: its void went through and gave back the whole capture. A void that
 * still waits (for an approver, or for the processor's answer) has not: the sale is still captured
 * until it does, and back to captured for good if it is rejected or fails.
 */
export function isVoidedSale(intent: IntentRecord): boolean {
  if (intent.status !== "succeeded") return false;
  const v = liveVoidOf(intent);
  return v !== undefined && v.status === "succeeded" && v.amount === intent.amountReceived;
}

export function posStatus(intent: IntentRecord): PosStatus {
  if (intent.resolution) return intent.resolution.status;
  if (isFailedPayment(intent)) return (ERROR_REASONS as readonly string[]).includes(failureReason(intent) ?? "") ? "error" : "declined";
  switch (intent.status) {
    case "requires_capture":
      return "authorized";
    case "canceled":
      return "voided";
    case "succeeded":
      if (isVoidedSale(intent)) return "voided";
      return intent.amountRefunded > 0 ? "refunded" : "captured";
    default:
      return "pending";
  }
}

/**
 * posStatus over the read model's columns: `resolution` and `failure_reason` (set while the payment is
 * failed), `status`, `amount_refunded`, and `pos_voided` (isVoidedSale, written with the row). The
 * migration that adds the column repeats this text; a change here needs a migration that rebuilds it.
 */
export const POS_STATUS_SQL =
  "CASE WHEN resolution IS NOT NULL THEN resolution" +
  ` WHEN failure_reason IS NOT NULL THEN CASE WHEN failure_reason IN (${ERROR_REASONS.map((r) => `'${r}'`).join(", ")}) THEN 'error' ELSE 'declined' END` +
  " WHEN status = 'requires_capture' THEN 'authorized'" +
  " WHEN status = 'canceled' THEN 'voided'" +
  " WHEN status = 'succeeded' THEN CASE WHEN pos_voided = 1 THEN 'voided' WHEN amount_refunded > 0 THEN 'refunded' ELSE 'captured' END" +
  " ELSE 'pending' END";
