// Worker entry: the HTTP app, the queue consumers (dispatched by queue name), the cron sweeps, and
// the Durable Object classes the runtime instantiates.
import { buildApp } from "./app";
import type { EventRecord } from "./core/types";
import { config, type Env } from "./env";
import { log } from "./log";
import { deliverAttempts, markDeadLettered } from "./webhooks/deliver";
import { fanOut } from "./webhooks/fanout";
import type { DeliveryMessage } from "./webhooks/messages";
import { reconcileMessage } from "./reconcile/consumer";
import type { ReconcileMessage } from "./reconcile/messages";
import { onIntentEvents } from "./billing/hooks";
import { onCheckoutIntentEvents } from "./checkout/sessions";
import { sweep, sweepMessage } from "./sweeps";
import { refusal, unconfiguredResponse } from "./unconfigured";
import { envOfMessage, merchantEnv } from "./db/shards";

export { RateLimiterObject } from "./auth/rate-limit";
export { ConnectorHealthObject } from "./connectors/health";
export { PaymentIntentObject } from "./intents/object";

const app = buildApp();

export const QUEUES = {
  events: "gateway-events",
  eventsDeadLetter: "gateway-events-dlq",
  webhooks: "gateway-webhooks",
  webhooksDeadLetter: "gateway-webhooks-dlq",
  reconcile: "gateway-reconcile",
  sweeps: "gateway-sweeps",
} as const;

async function consume(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  switch (batch.queue) {
    case QUEUES.events:
    case QUEUES.eventsDeadLetter: {
      if (batch.queue === QUEUES.eventsDeadLetter) log("error", "events reached the dead-letter queue; retrying their fan-out", { count: batch.messages.length });
      // One batch write for the whole batch; on failure every message is retried (fan-out is idempotent).
      try {
        // Each merchant's events are stored and fanned out on its own database (src/db/shards.ts).
        for (const [shard, records] of byShard(env, batch.messages.map((m) => m.body as EventRecord))) {
          await fanOut(shard, records);
          await onIntentEvents(shard, records);
          await onCheckoutIntentEvents(shard, records, config(env).publicBaseUrl ?? "");
        }
        batch.ackAll();
      } catch (err) {
        log("error", "event fan-out failed", { error: String(err), count: batch.messages.length });
        batch.retryAll({ delaySeconds: 5 });
      }
      return;
    }
    case QUEUES.webhooks: {
      // The batch's attempts together (a few D1 round trips per batch, the POSTs concurrent). If D1
      // fails, the whole batch comes back: each attempt's claim keeps it to one POST.
      try {
        // A delivery's rows are on the database its message was sent from (stamped by shardEnv).
        for (const [shard, messages] of byStamp(env, batch.messages.map((m) => m.body as DeliveryMessage))) await deliverAttempts(shard, messages);
        batch.ackAll();
      } catch (err) {
        log("error", "webhook batch failed", { queue: batch.queue, error: String(err), count: batch.messages.length });
        batch.retryAll({ delaySeconds: 10 });
      }
      return;
    }
    case QUEUES.webhooksDeadLetter: {
      await Promise.all(
        batch.messages.map(async (message) => {
          try {
            await markDeadLettered(envOfMessage(env, message.body), message.body as DeliveryMessage);
            message.ack();
          } catch (err) {
            log("error", "webhook message failed", { queue: batch.queue, error: String(err) });
            message.retry({ delaySeconds: 10 });
          }
        }),
      );
      return;
    }
    case QUEUES.reconcile: {
      await Promise.all(
        batch.messages.map(async (message) => {
          try {
            await reconcileMessage(env, message.body as ReconcileMessage);
            message.ack();
          } catch (err) {
            log("error", "reconciliation failed; retrying", { error: String(err) });
            message.retry({ delaySeconds: 30 });
          }
        }),
      );
      return;
    }
    case QUEUES.sweeps: {
      // One database's cron sweep (src/sweeps.ts); a failed one comes back and runs again.
      for (const message of batch.messages) {
        try {
          await sweepMessage(env, message.body);
          message.ack();
        } catch (err) {
          log("error", "sweep failed; retrying", { error: String(err) });
          message.retry({ delaySeconds: 30 });
        }
      }
      return;
    }
    default:
      log("error", "message from an unknown queue", { queue: batch.queue });
      batch.retryAll();
  }
}

/** Events grouped by the database of their merchant; one group, the env itself, without D1_SHARDS. */
function byShard(env: Env, records: EventRecord[]): Map<Env, EventRecord[]> {
  return grouped(records, (record) => merchantEnv(env, record.merchantId));
}

/** Delivery messages grouped by the database they were sent from (see shardEnv). */
function byStamp(env: Env, messages: DeliveryMessage[]): Map<Env, DeliveryMessage[]> {
  return grouped(messages, (message) => envOfMessage(env, message));
}

function grouped<T>(items: T[], shardOf: (item: T) => Env): Map<Env, T[]> {
  const groups = new Map<Env, T[]>();
  for (const item of items) {
    const shard = shardOf(item);
    const group = groups.get(shard);
    if (group) group.push(item);
    else groups.set(shard, [item]);
  }
  return groups;
}

export default {
  // Without its secrets the gateway refuses to run (src/unconfigured.ts): 503s, batches retried later, no sweeps.
  fetch: (request, env, ctx) => {
    const missing = refusal(env, "fetch");
    return missing ? unconfiguredResponse(missing) : app.fetch(request, env, ctx);
  },
  queue: async (batch, env) => {
    if (refusal(env, "queue")) return batch.retryAll({ delaySeconds: 300 });
    return consume(batch, env);
  },
  scheduled: async (controller, env) => {
    if (refusal(env, "scheduled")) return;
    return sweep(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
