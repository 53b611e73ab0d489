// The cron's sweeps: retention, lost webhook messages, stuck reconciliations, expired authorizations,
// events waiting for their fan-out, billing, overdue checkout sessions and old idempotency records, on
// every database of the read model. Up to SWEEP_INLINE_MAX_DATABASES databases (4 by default) the
// cron runs them itself, one after the other. Above that it queues one message per database and the
// sweeps queue runs each in an invocation of its own, side by side: one invocation sweeping 50
// databases in a row would outgrow its time and subrequests. A sweep stays within D1's statements per
// invocation (src/db/budget.ts) and carries what did not fit on in a message of its own. Every sweep
// is safe to run twice (each step claims its rows in D1), so a message retried after a failure, or a
// sweep that overlaps the next minute's, does nothing twice.
import { pruneIdempotencyClaims } from "./api/idempotency-binding";
import { pruneIdempotencyKeys } from "./api/v1/idempotency";
import { purgePspEvents } from "./api/v1/psp_webhooks";
import { billingSweep } from "./billing/engine";
import { refanEvents } from "./billing/writes";
import { expireOverdueSessions } from "./checkout/sessions";
import { StatementBudget, UNIT_COST } from "./db/budget";
import type { SweepRound } from "./db/rounds";
import { DIRECTORY_BINDING, everyShard, shardEnv, shardMap, wrapDb } from "./db/shards";
import { config, type Env } from "./env";
import { log } from "./log";
import { expireAuthorizations, requeueStuckReconciliations } from "./reconcile/sweep";
import { requeueOverdue } from "./webhooks/fanout";
import { reportDueRefundFailures } from "./connectors/sandbox/refund-failures";
import { purgeExpired } from "./webhooks/store";

/** Rows a retention step (old events, PSP events, idempotency claims and stored answers) removes with one statement. */
export const RETENTION_BATCH = 1000;
/** The most batches of a retention step in one sweep: up to 50,000 rows a minute per database. */
const RETENTION_ROUNDS = 50;
/** The most rounds of a step that handles due work (expiries, billing, re-queues) in one sweep. */
const WORK_ROUNDS = 20;
/**
 * The most rounds of a step whose every row is a call to the PSP (an authorization's void, a
 * reconciliation's lookup): 500 a minute per database, about 8 a second, so a backlog cannot take the
 * merchant's PSP rate limit (Stripe allows 100 requests a second live, 25 in test mode) from its
 * payments. Nor are they carried on to more invocations.
 */
const PSP_ROUNDS = 10;

/** A step of a database's sweep, run in rounds. */
export interface SweepStep {
  name: string;
  /** The most statements one round runs (a round starts only with that many left). */
  cost: number;
  /** The most rounds in one sweep. */
  rounds: number;
  /** Whether work still due after the sweep is carried on in another invocation at once (else it waits a minute). */
  carried?: boolean;
  round: (budget: StatementBudget) => Promise<SweepRound>;
}

/**
 * Runs the steps of one sweep in rounds within `budget` (D1's queries per invocation). Each step first
 * gets an equal share of the budget, so that no step can take it all from the ones after it (a month's
 * renewals due at once used to run 1,800 statements and make every statement after the 1,000th of the
 * invocation fail: the checkout expiry and pruning, and the other databases' sweeps). Then what is
 * left goes, in the same order, to the steps that still have work due. A step that fails is logged,
 * recorded in `failures`, and not run again in this sweep. Answers what each step did, by name, and the
 * steps that may still have work due: their budget or their rounds ran out, or they never got to run.
 */
export async function runSteps(steps: SweepStep[], budget: StatementBudget, failures: unknown[]): Promise<{ done: Map<string, number>; more: string[] }> {
  const done = new Map<string, number>(steps.map((s) => [s.name, 0]));
  const states = steps.map((step) => ({ step, rounds: 0, more: true }));
  const turn = async (state: (typeof states)[number], within: StatementBudget) => {
    const { step } = state;
    while (state.more && state.rounds < step.rounds && within.allows(step.cost)) {
      state.rounds++;
      try {
        const round = await step.round(within);
        done.set(step.name, (done.get(step.name) ?? 0) + round.done);
        state.more = round.more;
      } catch (err) {
        failures.push(err);
        log("error", "a step of the cron sweep failed; the other steps ran", { step: step.name, error: String(err) });
        state.more = false;
      }
    }
  };
  const share = Math.floor(budget.left / Math.max(1, steps.length));
  for (const state of states) await turn(state, budget.share(Math.max(share, state.step.cost)));
  for (const state of states) await turn(state, budget);
  return { done, more: states.filter((s) => s.more).map((s) => s.step.name) };
}

/** One database's sweep, as of the cron's time `now` (ms). */
export interface SweepMessage {
  shard: string;
  now: number;
  /** A continuation: only these steps, which had more due than the invocation before could handle. */
  steps?: string[];
  /** How many invocations before this one carried the backlog on (0 or absent: the cron's own sweep). */
  hop?: number;
}

/** The most invocations after the cron's own that carry a database's backlog on, one after the other. */
export const MAX_HOPS = 8;

/** The binding of every database of the read model, the directory first. */
const databases = (env: Env): string[] => shardMap(env)?.bindings ?? [DIRECTORY_BINDING];

/**
 * The cron: every database swept inline, or one sweep message per database when there are many. Swept
 * inline, the databases share the invocation's statements: each gets an equal part of what is left
 * when its turn comes (so what one does not use goes to the next).
 */
export async function sweep(env: Env, now: number): Promise<void> {
  const bindings = databases(env);
  if (bindings.length <= config(env).sweepInlineMaxDatabases) {
    // Every database is swept, whatever happened to the one before it.
    const failures: unknown[] = [];
    const budget = new StatementBudget(config(env).sweepStatements);
    const shards = everyShard(env);
    for (const [i, shard] of shards.entries()) {
      await sweepShard(shard, now, budget.share(budget.left / (shards.length - i)), { shard: bindings[i] ?? DIRECTORY_BINDING }).catch((err: unknown) => failures.push(err));
    }
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
  // Names that are not a step of the sweep match none (sweepShard runs only the steps named).
  const steps = Array.isArray(message.steps) ? message.steps.filter((name): name is string => typeof name === "string") : undefined;
  const hop = Number.isSafeInteger(message.hop) ? Math.min(Math.max(Number(message.hop), 0), MAX_HOPS) : 0;
  await sweepShard(shardEnv(env, message.shard), message.now, undefined, { shard: message.shard, steps, hop });
}

/** Where a sweep runs and what it carries on: its database's binding, the steps it runs (all without), its hop. */
export interface SweepCarry {
  shard: string;
  steps?: readonly string[];
  hop?: number;
}

/**
 * One database's sweep, within `budget` (by default the invocation's: a sweep message has one of its
 * own). Each step runs whatever the others do: a step that fails (a row it cannot handle, a statement
 * D1 refused) is logged and the next step runs, so one failure cannot stop the retention, the expiries
 * and the billing of the whole database every minute. Throws at the end when a step failed (a sweep
 * message is then retried; the cron logs it).
 */
export async function sweepShard(env: Env, now: number, budget = new StatementBudget(config(env).sweepStatements), carry: SweepCarry = { shard: DIRECTORY_BINDING }): Promise<void> {
  const failures: unknown[] = [];
  const counted = wrapDb(env, (d1) => budget.counted(d1));
  const retention = now - config(env).eventRetentionMs;
  const inBatches = (remove: (batch: number) => Promise<number>) => async (): Promise<SweepRound> => {
    const removed = await remove(RETENTION_BATCH);
    return { done: removed, more: removed === RETENTION_BATCH };
  };
  // What billing could not handle in one round is not tried again in the next.
  const skipped = new Set<string>();
  const origin = config(env).publicBaseUrl ?? "";
  const steps: SweepStep[] = [
    { name: "purged_events", cost: UNIT_COST.retention, rounds: RETENTION_ROUNDS, round: inBatches((batch) => purgeExpired(counted.DB, retention, batch)) },
    { name: "purged_psp_events", cost: 1, rounds: RETENTION_ROUNDS, round: inBatches((batch) => purgePspEvents(counted.DB, retention, batch)) },
    { name: "requeued_deliveries", cost: UNIT_COST.round, carried: true, rounds: WORK_ROUNDS, round: () => requeueOverdue(counted, now) },
    { name: "requeued_reconciliations", cost: UNIT_COST.round, rounds: PSP_ROUNDS, round: () => requeueStuckReconciliations(counted, now) },
    { name: "expired_authorizations", cost: UNIT_COST.round, rounds: PSP_ROUNDS, round: () => expireAuthorizations(counted, now) },
    { name: "refanned_events", cost: UNIT_COST.round, carried: true, rounds: WORK_ROUNDS, round: () => refanEvents(counted, now) },
    // Renewals and payment retries: each is claimed in D1, so overlapping sweeps bill once.
    {
      name: "billing_steps",
      cost: UNIT_COST.billingStep,
      carried: true,
      rounds: WORK_ROUNDS,
      round: async (within) => {
        const pass = await billingSweep(counted, now, 100, within, skipped);
        return { done: pass.steps, more: !pass.drained };
      },
    },
    // Checkout Sessions past expires_at: their intents are canceled, then the sessions expire.
    { name: "expired_checkout_sessions", cost: UNIT_COST.round + UNIT_COST.sessionExpiry, carried: true, rounds: WORK_ROUNDS, round: (within) => expireOverdueSessions(counted, now, origin, 50, within) },
    { name: "pruned_idempotency_claims", cost: 1, rounds: RETENTION_ROUNDS, round: inBatches((batch) => pruneIdempotencyClaims(counted, now, batch)) },
    { name: "pruned_stored_answers", cost: 1, rounds: RETENTION_ROUNDS, round: inBatches((batch) => pruneIdempotencyKeys(counted, now, batch)) },
    // The sandbox's ledger is in the directory: its refund-failure card's refunds reported failed once due.
    ...(carry.shard === DIRECTORY_BINDING ? [{ name: "sandbox_refund_failures", cost: UNIT_COST.round, carried: true, rounds: PSP_ROUNDS, round: () => reportDueRefundFailures(counted, now) }] : []),
  ];
  const only = carry.steps ? new Set(carry.steps) : null;
  const { done, more: due } = await runSteps(only ? steps.filter((s) => only.has(s.name)) : steps, budget, failures);
  // Retention is carried on by the next minute's sweep only: up to 50 batches a minute keep up with a
  // busy database, and more would hold its one query at a time from the requests for most of the minute.
  const more = due.filter((name) => steps.some((s) => s.name === name && s.carried));
  const hop = carry.hop ?? 0;
  if ([...done.values()].some((n) => n > 0)) log("info", "cron sweep", { ...Object.fromEntries(done), d1_statements: budget.spent, hop });
  // Due work that did not fit is carried on in an invocation of its own (a sweep message), right away
  // rather than a minute later, up to MAX_HOPS invocations after the cron's; the next minute's sweep
  // goes on from there. A step that failed is not carried on.
  if (more.length > 0 && hop < MAX_HOPS) {
    try {
      await env.SWEEP_QUEUE.send({ shard: carry.shard, now, steps: more, hop: hop + 1 } satisfies SweepMessage, { contentType: "json" });
    } catch (err) {
      log("warn", "the sweep's backlog was not carried on; the next minute's sweep goes on with it", { shard: carry.shard, steps: more, error: String(err) });
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} step(s) of the cron sweep failed`);
}
