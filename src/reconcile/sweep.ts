// The cron's sweeps over the read model: re-queue reconciliation of intents whose pending attempts
// nobody has looked at for longer than the schedule's longest wait (a lost queue message, a chain
// that ran out), and expire authorizations older than 7 days. Each sweep handles a bounded batch; the
// expiry goes round its due rows, so none that keeps failing holds up the others.
import { and, asc, isNull, lt, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { advanceRound, afterCursor, roundCursor, type SweepRound } from "../db/rounds";
import { paymentIntents } from "../db/schema";
import { config, type Env } from "../env";
import { AUTHORIZATION_LIFETIME_MS } from "../intents/operations/cancel";
import { log } from "../log";

/** Intents with an unknown outcome a sweep re-queues for reconciliation. */
const RECONCILE_BATCH = 50;

/**
 * Re-queues the reconciliation of intents whose pending attempts nobody has looked at for longer than
 * the schedule's longest wait, a batch a sweep, going round them (src/db/rounds.ts): a reconciliation
 * that keeps failing before it records itself (reconciled_at) leaves its intent due, and 50 of them
 * first in line would hold up every other.
 */
export async function requeueStuckReconciliations(env: Env, now: number, batch = RECONCILE_BATCH): Promise<SweepRound> {
  const schedule = config(env).reconcileSchedule;
  const quietFor = Math.max(...schedule) + 10 * 60_000;
  const cursor = await roundCursor(env.DB, "requeue_reconciliations");
  // A range of payment_intents_pending, whose condition the literal repeats.
  const rows = await drizzle(env.DB)
    .select({ id: paymentIntents.id, key: paymentIntents.updated })
    .from(paymentIntents)
    .where(
      and(
        sql`${paymentIntents.pendingAttempts} > 0`,
        or(lt(paymentIntents.reconciledAt, now - quietFor), and(isNull(paymentIntents.reconciledAt), lt(paymentIntents.updated, now - quietFor))),
        ...afterCursor(paymentIntents.updated, paymentIntents.id, cursor),
      ),
    )
    .orderBy(asc(paymentIntents.updated), asc(paymentIntents.id))
    .limit(batch);
  await advanceRound(env.DB, "requeue_reconciliations", rows, batch, cursor);
  if (rows.length) await env.RECONCILE_QUEUE.sendBatch(rows.map((r) => ({ body: { intentId: r.id, round: 0 } })));
  return { done: rows.length, more: rows.length === batch };
}

/** Authorizations a sweep tries to expire, and how many of their objects it calls at once. */
const EXPIRY_BATCH = 50;
const EXPIRY_CONCURRENCY = 10;

/**
 * Cancels authorizations older than 7 days (each voided at its PSP by its object), a batch a sweep,
 * going round the due ones (src/db/rounds.ts): always starting from the oldest, 50 that keep failing
 * (a void the PSP refuses, an object that is gone) would hold up every other expiry for good.
 */
export async function expireAuthorizations(env: Env, now: number, batch = EXPIRY_BATCH): Promise<SweepRound> {
  const cursor = await roundCursor(env.DB, "expire_authorizations");
  // A range of payment_intents_capturable, whose condition the literal repeats.
  const rows = await drizzle(env.DB)
    .select({ id: paymentIntents.id, key: paymentIntents.authorizedAt })
    .from(paymentIntents)
    .where(
      and(
        sql`${paymentIntents.status} = 'requires_capture'`,
        lt(paymentIntents.authorizedAt, now - AUTHORIZATION_LIFETIME_MS),
        ...afterCursor(paymentIntents.authorizedAt, paymentIntents.id, cursor),
      ),
    )
    .orderBy(asc(paymentIntents.authorizedAt), asc(paymentIntents.id))
    .limit(batch);
  await advanceRound(env.DB, "expire_authorizations", rows, batch, cursor);
  let expired = 0;
  for (let i = 0; i < rows.length; i += EXPIRY_CONCURRENCY) {
    await Promise.all(
      rows.slice(i, i + EXPIRY_CONCURRENCY).map(async (row) => {
        try {
          const intent = await env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.id)).expire(row.id, now);
          if (intent?.status === "canceled") expired++;
        } catch (err) {
          log("error", "expiring an authorization failed; a later sweep retries", { intent: row.id, error: String(err) });
        }
      }),
    );
  }
  return { done: expired, more: rows.length === batch };
}
