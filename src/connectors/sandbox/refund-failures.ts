// The sandbox's refund-failure test card (4000000000005126, `pm_card_refundFail`, `tok_refundFail`),
// as Stripe's: the payment succeeds; a refund of it succeeds when made, and some time later the
// provider reports it failed (a bank returned it). The sandbox keeps each such refund until it is due
// (sandbox_refund_failures, in the directory), and the cron's sweep then reports it through the
// intent's object exactly as a provider's `refund.failed` webhook would be: the refund becomes
// `failed` (failure_reason `declined`), the intent's amount_refunded drops by it, and `refund.failed`
// and `refund.updated` go out. A report is applied once (the event's id is the refund's attempt).
import { asc, inArray, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { sandboxRefundFailures } from "../../db/schema";
import type { SweepRound } from "../../db/rounds";
import type { Env } from "../../env";
import { log } from "../../log";
import type { FollowUpRequest, ProviderEvent } from "../types";

/** How long after it succeeded the sandbox reports such a refund failed (the sweep runs every minute). */
export const REFUND_FAILURE_DELAY_MS = 60_000;

const BATCH = 50;

/** Keeps the refund to be reported failed once due. Idempotent by the refund attempt's key (a retried call records it once). */
export async function recordRefundFailure(db: D1Database, req: FollowUpRequest, accountId: string | null, reference: string, now: number): Promise<void> {
  await drizzle(db)
    .insert(sandboxRefundFailures)
    .values({ idempotencyKey: req.idempotencyKey, intentId: req.intentId, attemptId: req.attemptId, accountId, merchantId: req.merchantId, reference, due: now + REFUND_FAILURE_DELAY_MS })
    .onConflictDoNothing();
}

/**
 * The sweep's step (on the directory): reports the refunds due by `now` failed, oldest first, a
 * batch at a time (a range of sandbox_refund_failures_due), and forgets each one reported. One whose
 * object cannot be reached now stays, and is tried again by the next sweep.
 */
export async function reportDueRefundFailures(env: Env, now: number, batch = BATCH): Promise<SweepRound> {
  const db = drizzle(env.DB);
  const rows = await db.select().from(sandboxRefundFailures).where(lte(sandboxRefundFailures.due, now)).orderBy(asc(sandboxRefundFailures.due)).limit(batch);
  const reported: string[] = [];
  for (const row of rows) {
    const event: ProviderEvent = {
      id: `sbx_refund_failed_${row.attemptId}`,
      kind: "refund.failed",
      intentId: row.intentId,
      attemptId: row.attemptId,
      providerReference: row.reference,
      captured: false,
      capture: null,
      code: "declined",
      declineCode: null,
      message: "The sandbox reports the refund failed (the refund-failure test card).",
    };
    try {
      const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.intentId));
      // A merchant's sandbox account reaches only its merchant's intents; the built-in sandbox (null scope) its own.
      const scope = row.accountId ? { merchantId: row.merchantId, livemode: false } : null;
      const outcome = await stub.applyProviderEvent(scope, row.intentId, row.accountId ?? "sandbox", event);
      log("info", "sandbox refund failure reported", { intent: row.intentId, attempt: row.attemptId, result: outcome.note });
      reported.push(row.idempotencyKey);
    } catch (err) {
      log("warn", "sandbox refund failure not reported yet", { intent: row.intentId, attempt: row.attemptId, error: String(err) });
    }
  }
  if (reported.length > 0) await db.delete(sandboxRefundFailures).where(inArray(sandboxRefundFailures.idempotencyKey, reported));
  return { done: reported.length, more: rows.length === batch };
}
