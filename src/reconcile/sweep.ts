// The cron's sweeps over the read model: re-queue reconciliation of intents whose chain of rounds
// stopped (a lost queue message) or ran out, and expire authorizations older than 7 days. Each sweep handles a bounded batch; the
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

/** How late a round of an intent's reconciliation may run before a sweep takes its queue message as lost. */
export const ROUND_SLACK_MS = 5 * 60_000;

/**
 * Whether an intent's reconciliation is overdue: a round of its chain that should have run by now (its
 * rounds fall due at the pending attempt's start plus the schedule's running sums, each a little later
 * as the queue delivers it) has not (`reconciledAt` is older), or nobody has looked at it for longer than
 * the schedule's longest wait. A chain whose message was lost so waits one round's slack, not the
 * longest wait (12 hours and 10 minutes by default, while its shopper read "processing"): the sweep's
 * re-queue is a one-off check, and the next sweep after the next round's time sends another.
 */
export function reconciliationOverdue(schedule: readonly number[], startedAt: number | null, reconciledAt: number | null, updated: number, now: number): boolean {
  const quietFor = Math.max(...schedule) + 10 * 60_000;
  if ((reconciledAt ?? updated) < now - quietFor) return true;
  if (startedAt === null) return false;
  let due: number | null = null;
  let at = startedAt;
  for (const step of schedule) {
    at += step;
    if (at + ROUND_SLACK_MS > now) break;
    due = at;
  }
  return due !== null && (reconciledAt ?? 0) < due;
}

/** When the oldest pending attempt of a read-model row's intent started (null when its record shows none). */
function pendingSince(data: string): number | null {
  try {
    const intent = JSON.parse(data) as { attempts?: { status?: unknown; created?: unknown }[] };
    const starts = (intent.attempts ?? []).filter((a) => a.status === "pending" && typeof a.created === "number").map((a) => a.created as number);
    return starts.length ? Math.min(...starts) : null;
  } catch {
    return null;
  }
}

/**
 * Re-queues the reconciliation of intents whose chain of reconciliation rounds has stopped (a lost queue
 * message: see reconciliationOverdue) or that nobody has looked at for longer than the schedule's
 * longest wait, a batch a sweep, going round the intents with an unknown outcome (src/db/rounds.ts): a
 * reconciliation that keeps failing before it records itself (reconciled_at) leaves its intent due, and
 * 50 of them first in line would hold up every other.
 */
export async function requeueStuckReconciliations(env: Env, now: number, batch = RECONCILE_BATCH): Promise<SweepRound> {
  const schedule = config(env).reconcileSchedule;
  const cursor = await roundCursor(env.DB, "requeue_reconciliations");
  // A range of payment_intents_pending, whose condition the literal repeats: the intents with an unknown
  // outcome not looked at for a round's slack (few: a PSP's timeouts), each checked against its schedule.
  const rows = await drizzle(env.DB)
    .select({ id: paymentIntents.id, key: paymentIntents.updated, reconciledAt: paymentIntents.reconciledAt, data: paymentIntents.data })
    .from(paymentIntents)
    .where(
      and(
        sql`${paymentIntents.pendingAttempts} > 0`,
        or(lt(paymentIntents.reconciledAt, now - ROUND_SLACK_MS), isNull(paymentIntents.reconciledAt)),
        ...afterCursor(paymentIntents.updated, paymentIntents.id, cursor),
      ),
    )
    .orderBy(asc(paymentIntents.updated), asc(paymentIntents.id))
    .limit(batch);
  await advanceRound(env.DB, "requeue_reconciliations", rows, batch, cursor);
  const due = rows.filter((r) => reconciliationOverdue(schedule, pendingSince(r.data), r.reconciledAt, r.key ?? 0, now));
  if (due.length) await env.RECONCILE_QUEUE.sendBatch(due.map((r) => ({ body: { intentId: r.id, round: 0 } })));
  return { done: due.length, more: rows.length === batch };
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
