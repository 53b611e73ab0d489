// Seed 002's status words, derived from an intent: in code (posStatus, for its answers) and in SQL
// (POS_STATUS_SQL, the generated column pos_status of payment_intents that its status filter reads
// as an index range, migration 0037). The two say the same; test/db/pos-status.test.ts checks it.
import { failureReason, isFailedPayment } from "./intent";
import type { IntentRecord } from "./types";

export type PosStatus = "authorized" | "captured" | "voided" | "refunded" | "declined" | "error" | "resolved" | "dismissed" | "pending";
export const POS_STATUSES: readonly PosStatus[] = ["authorized", "captured", "voided", "refunded", "declined", "error", "resolved", "dismissed", "pending"];

/** Failure reasons that are the processor's trouble rather than the card's: the seed's `error`. */
export const ERROR_REASONS = ["processing_error", "provider_error", "api_error", "unknown"] as const;

/** Metadata key marking the refund that voided a same-day sale (seed 002's void after capture). */
export const VOID_MARK = "pos_void";

/** A sale voided the same day: fully given back by the one refund that carries the void mark. */
export function isVoidedSale(intent: IntentRecord): boolean {
  return intent.status === "succeeded" && intent.refunds.some((r) => r.metadata[VOID_MARK] === "true" && r.status !== "failed" && r.status !== "canceled");
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
