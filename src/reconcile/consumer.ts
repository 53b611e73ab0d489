// The reconciliation queue's consumer: settle an intent's pending attempts through its Durable
// Object; if the PSP still cannot say, try again after the schedule's next delay. Round 0 is a
// one-off check from the cron's rescue, which starts no new chain.
import { config, type Env } from "../env";
import { log } from "../log";
import type { ReconcileMessage } from "./messages";

/** Queue delays are capped at 12 hours. */
const MAX_DELAY_S = 12 * 60 * 60;

export async function reconcileMessage(env: Env, msg: ReconcileMessage): Promise<void> {
  const schedule = config(env).reconcileSchedule;
  const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(msg.intentId));
  const { found, stillPending } = await stub.reconcile(msg.intentId);
  if (!found || stillPending === 0 || msg.round === 0) return;
  const next = schedule[msg.round];
  if (next === undefined) {
    log("error", "reconciliation exhausted its schedule; the intent needs an operator", { intent: msg.intentId, pending: stillPending });
    return;
  }
  await env.RECONCILE_QUEUE.send({ intentId: msg.intentId, round: msg.round + 1 }, { delaySeconds: Math.min(MAX_DELAY_S, Math.round(next / 1000)) });
}
