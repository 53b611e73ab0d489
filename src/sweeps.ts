// The cron's sweeps: retention, lost webhook messages, stuck reconciliations, expired authorizations,
// events waiting for their fan-out, billing, overdue checkout sessions and old idempotency records, on
// every database of the read model. Up to SWEEP_INLINE_MAX_DATABASES databases (4 by default) the
// cron runs them itself, one after the other. Above that it queues one message per database and the
// sweeps queue runs each in an invocation of its own, side by side: one invocation sweeping 50
// databases in a row would outgrow its time and subrequests. Every sweep is safe to run twice (each
// step claims its rows in D1), so a message retried after a failure, or a sweep that overlaps the
// next minute's, does nothing twice.
import { pruneIdempotencyClaims } from "./api/idempotency-binding";
import { pruneIdempotencyKeys } from "./api/v1/idempotency";
import { purgePspEvents } from "./api/v1/psp_webhooks";
import { billingSweep } from "./billing/engine";
import { refanEvents } from "./billing/writes";
import { expireOverdueSessions } from "./checkout/sessions";
import { DIRECTORY_BINDING, everyShard, shardEnv, shardMap } from "./db/shards";
import { config, type Env } from "./env";
import { log } from "./log";
import { expireAuthorizations, requeueStuckReconciliations } from "./reconcile/sweep";
import { requeueOverdue } from "./webhooks/fanout";
import { purgeExpired } from "./webhooks/store";

/** Rows a retention step (old events, PSP events, idempotency claims and stored answers) removes with one statement. */
export const RETENTION_BATCH = 1000;
/** The most batches of a retention step in one sweep: up to 50,000 rows a minute per database. */
export const RETENTION_ROUNDS = 50;

/**
 * Runs a bounded retention step again while it removes a full batch, at most `rounds` times. One batch
 * a minute could not keep up with a database taking more than 1,000 events a minute (the table would
 * grow until the database is full); one unbounded statement would hold the database, which runs one
 * query at a time, for as long as it takes. Between the batches the database serves other queries.
 */
export async function inRounds(step: (batch: number) => Promise<number>, batch = RETENTION_BATCH, rounds = RETENTION_ROUNDS): Promise<number> {
  let total = 0;
  for (let round = 0; round < rounds; round++) {
    const removed = await step(batch);
    total += removed;
    if (removed < batch) break;
  }
  return total;
}

/** One database's sweep, as of the cron's time `now` (ms). */
export interface SweepMessage {
  shard: string;
  now: number;
}

/** The binding of every database of the read model, the directory first. */
const databases = (env: Env): string[] => shardMap(env)?.bindings ?? [DIRECTORY_BINDING];

/** The cron: every database swept inline, or one sweep message per database when there are many. */
export async function sweep(env: Env, now: number): Promise<void> {
  const bindings = databases(env);
  if (bindings.length <= config(env).sweepInlineMaxDatabases) {
    for (const shard of everyShard(env)) await sweepShard(shard, now);
    return;
  }
  const messages = bindings.map((shard) => ({ body: { shard, now } satisfies SweepMessage, contentType: "json" as const }));
  for (let i = 0; i < messages.length; i += 100) await env.SWEEP_QUEUE.sendBatch(messages.slice(i, i + 100));
}

/**
 * A sweep message. Throws when the sweep fails (the caller retries the message). A message naming a
 * database the shard map no longer has is dropped with an error log: retrying it cannot succeed.
 */
export async function sweepMessage(env: Env, body: unknown): Promise<void> {
  const message = body as Partial<SweepMessage> | null;
  if (!message || typeof message.shard !== "string" || !databases(env).includes(message.shard) || typeof message.now !== "number" || !Number.isFinite(message.now)) {
    log("error", "sweep message dropped: not a database of D1_SHARDS", { shard: typeof message?.shard === "string" ? message.shard.slice(0, 64) : null });
    return;
  }
  await sweepShard(shardEnv(env, message.shard), message.now);
}

export async function sweepShard(env: Env, now: number): Promise<void> {
  const purged = await inRounds((batch) => purgeExpired(env.DB, now - config(env).eventRetentionMs, batch));
  const purgedPspEvents = await inRounds((batch) => purgePspEvents(env.DB, now - config(env).eventRetentionMs, batch));
  const requeued = await requeueOverdue(env, now);
  const reconciling = await requeueStuckReconciliations(env, now);
  const expired = await expireAuthorizations(env, now);
  const refanned = await refanEvents(env, now);
  // Renewals and payment retries: each is claimed in D1, so overlapping sweeps bill once.
  const billed = await billingSweep(env, now);
  // Checkout Sessions past expires_at: their intents are canceled, then the sessions expire.
  const expiredSessions = await expireOverdueSessions(env, now, config(env).publicBaseUrl ?? "");
  const pruned = (await inRounds((batch) => pruneIdempotencyClaims(env, now, batch))) + (await inRounds((batch) => pruneIdempotencyKeys(env, now, batch)));
  if (purged || purgedPspEvents || requeued || reconciling || expired || refanned || billed || expiredSessions || pruned) {
    log("info", "cron sweep", {
      purged_events: purged,
      purged_psp_events: purgedPspEvents,
      requeued_deliveries: requeued,
      requeued_reconciliations: reconciling,
      expired_authorizations: expired,
      refanned_events: refanned,
      billing_steps: billed,
      expired_checkout_sessions: expiredSessions,
      pruned_idempotency_records: pruned,
    });
  }
}
