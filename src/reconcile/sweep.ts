// The cron's sweeps over the read model: re-queue reconciliation of intents whose pending attempts
// nobody has looked at for longer than the schedule's longest wait (a lost queue message, a chain
// that ran out), and expire authorizations older than 7 days. Each sweep handles a bounded batch.
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { paymentIntents } from "../db/schema";
import { config, type Env } from "../env";
import { AUTHORIZATION_LIFETIME_MS } from "../intents/operations/cancel";
import { log } from "../log";

const BATCH = 50;

export async function requeueStuckReconciliations(env: Env, now: number): Promise<number> {
  const schedule = config(env).reconcileSchedule;
  const quietFor = Math.max(...schedule) + 10 * 60_000;
  const rows = await drizzle(env.DB)
    .select({ id: paymentIntents.id })
    .from(paymentIntents)
    .where(
      and(
        gt(paymentIntents.pendingAttempts, 0),
        or(lt(paymentIntents.reconciledAt, now - quietFor), and(isNull(paymentIntents.reconciledAt), lt(paymentIntents.updated, now - quietFor))),
      ),
    )
    .limit(BATCH);
  if (rows.length) await env.RECONCILE_QUEUE.sendBatch(rows.map((r) => ({ body: { intentId: r.id, round: 0 } })));
  return rows.length;
}

export async function expireAuthorizations(env: Env, now: number): Promise<number> {
  const rows = await drizzle(env.DB)
    .select({ id: paymentIntents.id })
    .from(paymentIntents)
    .where(and(eq(paymentIntents.status, "requires_capture"), lt(paymentIntents.authorizedAt, now - AUTHORIZATION_LIFETIME_MS)))
    .orderBy(sql`${paymentIntents.authorizedAt}`)
    .limit(BATCH);
  let expired = 0;
  for (const row of rows) {
    try {
      const intent = await env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.id)).expire(row.id, now);
      if (intent?.status === "canceled") expired++;
    } catch (err) {
      log("error", "expiring an authorization failed; the next sweep retries", { intent: row.id, error: String(err) });
    }
  }
  return expired;
}
