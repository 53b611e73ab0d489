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
    // Every database is swept, whatever happened to the one before it.
    const failures: unknown[] = [];
    for (const shard of everyShard(env)) await sweepShard(shard, now).catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw new AggregateError(failures, `the cron sweep failed on ${failures.length} database(s)`);
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

/**
 * One database's sweep. Each step runs whatever the others do: a step that fails (a row it cannot
 * handle, a statement D1 refused) is logged and the next step runs, so one failure cannot stop the
 * retention, the expiries and the billing of the whole database every minute. Throws at the end when
 * a step failed (a sweep message is then retried; the cron logs it).
 */
export async function sweepShard(env: Env, now: number): Promise<void> {
  const failures: unknown[] = [];
  const step = async (name: string, run: () => Promise<number>): Promise<number> => {
    try {
      return await run();
    } catch (err) {
      failures.push(err);
      log("error", "a step of the cron sweep failed; the other steps ran", { step: name, error: String(err) });
      return 0;
    }
  };
  const retention = now - config(env).eventRetentionMs;
  const purged = await step("purge events", () => inRounds((batch) => purgeExpired(env.DB, retention, batch)));
  const purgedPspEvents = await step("purge PSP events", () => inRounds((batch) => purgePspEvents(env.DB, retention, batch)));
  const requeued = await step("re-queue overdue deliveries", () => requeueOverdue(env, now));
  const reconciling = await step("re-queue stuck reconciliations", () => requeueStuckReconciliations(env, now));
  const expired = await step("expire authorizations", () => expireAuthorizations(env, now));
  const refanned = await step("hand over unfanned events", () => refanEvents(env, now));
  // Renewals and payment retries: each is claimed in D1, so overlapping sweeps bill once.
  const billed = await step("billing", () => billingSweep(env, now));
  // Checkout Sessions past expires_at: their intents are canceled, then the sessions expire.
  const expiredSessions = await step("expire checkout sessions", () => expireOverdueSessions(env, now, config(env).publicBaseUrl ?? ""));
  const pruned =
    (await step("prune idempotency claims", () => inRounds((batch) => pruneIdempotencyClaims(env, now, batch)))) +
    (await step("prune stored answers", () => inRounds((batch) => pruneIdempotencyKeys(env, now, batch))));
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
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} step(s) of the cron sweep failed`);
}
