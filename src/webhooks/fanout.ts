// The events queue's consumer: stores each event (once, by id) and creates one delivery per
// subscribed, enabled endpoint of the event's merchant and mode (once per event and endpoint), then
// queues the first attempt of each new delivery. Re-running it for the same events changes nothing.
import { and, asc, eq, lt, or, isNull, sql } from "drizzle-orm";
import { advanceRound, afterCursor, roundCursor, type SweepRound } from "../db/rounds";
import { prepared } from "../db/prepared";
import { eventData } from "../db/event-row";
import type { EventRecord } from "../core/types";
import { events, webhookDeliveries } from "../db/schema";
import type { Env } from "../env";
import type { DeliveryMessage } from "./messages";
import { db } from "./store";

export function paymentIntentOf(event: EventRecord): string | null {
  const object = event.object;
  if (object.object === "payment_intent" && typeof object.id === "string") return object.id;
  if (typeof object.paymentIntentId === "string") return object.paymentIntentId; // seed 003's payloads
  return typeof object.payment_intent === "string" ? object.payment_intent : null;
}

// The consumer's statements, built once (src/db/prepared.ts): a batch of 100 events builds no query.
const insertEvent = prepared<"id" | "merchantId" | "livemode" | "type" | "paymentIntent" | "created" | "data">((d, p) =>
  d
    .insert(events)
    .values({ id: p("id"), merchantId: p("merchantId"), livemode: p("livemode"), type: p("type"), paymentIntent: p("paymentIntent"), created: p("created"), data: p("data") })
    .onConflictDoNothing(),
);

// Every delivery of a batch in one statement of the batch's D1 write, with no query before it: each
// event (one JSON array of [id, merchant, mode, type, created] per event, one bound value for the whole batch)
// joined with its merchant's enabled endpoints in its mode (a range of webhook_endpoints_list) that
// subscribe to its type or to everything. A delivery is unique by (event, endpoint)
// (webhook_deliveries_event_endpoint), so a replayed event makes no second one, and only the new rows
// come back, to be queued. Its id is random: 128 bits, so a collision with an existing id (which the
// conflict clause would swallow) is out of reach.
const INSERT_DELIVERIES = `INSERT INTO webhook_deliveries
  (id, merchant_id, livemode, event_id, event_type, event_created, endpoint_id, status, attempts, retrying, next_attempt_at, dead_lettered, created, updated)
SELECT 'wd_' || lower(hex(randomblob(16))), w.merchant_id, w.livemode, json_extract(e.value, '$[0]'), json_extract(e.value, '$[3]'), json_extract(e.value, '$[4]'), w.id,
  'pending', 0, 1, ?2, 0, ?2, ?2
FROM json_each(?1) AS e
JOIN webhook_endpoints AS w ON w.merchant_id = json_extract(e.value, '$[1]') AND w.livemode = json_extract(e.value, '$[2]')
WHERE w.status = 'enabled'
  AND EXISTS (SELECT 1 FROM json_each(w.enabled_events) AS t WHERE t.value = '*' OR t.value = json_extract(e.value, '$[3]'))
ON CONFLICT DO NOTHING
RETURNING id`;

function insertDeliveries(d1: D1Database, batch: EventRecord[], now: number): D1PreparedStatement {
  return d1.prepare(INSERT_DELIVERIES).bind(JSON.stringify(batch.map((e) => [e.id, e.merchantId, e.livemode ? 1 : 0, e.type, e.created])), now);
}

// Events a billing change stored itself wait "not fanned out" until here (the cron re-sends those that
// wait too long). The ids travel as one JSON array: one parameter whatever the batch's size.
const markFannedOut = prepared<"ids">((d, p) =>
  d
    .update(events)
    .set({ fannedOut: true })
    .where(and(sql`${events.id} in (select value from json_each(${p("ids")}))`, eq(events.fannedOut, false))),
);

export async function fanOut(env: Env, batch: EventRecord[]): Promise<void> {
  if (batch.length === 0) return;
  const d1 = env.DB;
  const now = Date.now();
  const statements = batch.map((e) =>
    insertEvent(d1, { id: e.id, merchantId: e.merchantId, livemode: e.livemode, type: e.type, paymentIntent: paymentIntentOf(e), created: e.created, data: eventData(e) }),
  );
  statements.push(markFannedOut(d1, { ids: JSON.stringify(batch.map((e) => e.id)) }));
  const results = await d1.batch<{ id: string }>([...statements, insertDeliveries(d1, batch, now)]);
  const created = (results[statements.length]?.results ?? []).filter((r) => typeof r?.id === "string");
  await enqueueFirstAttempts(env, created.map((r) => r.id));
}

async function enqueueFirstAttempts(env: Env, deliveryIds: string[]): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += 100) {
    const chunk = deliveryIds.slice(i, i + 100).map((deliveryId) => ({ body: { deliveryId, attempt: 1 } satisfies DeliveryMessage }));
    await env.WEBHOOK_QUEUE.sendBatch(chunk);
  }
}

/**
 * Cron: deliveries still pending well after their attempt was due (their queue message was lost, or
 * sending it failed) go to the queue again, a batch a round, going round them in (next attempt, id)
 * order (src/db/rounds.ts): a round goes on after the last one sent, so a sweep can run several rounds
 * without sending the same ones twice. A delivery leased by a consumer that is on it is left alone.
 */
export async function requeueOverdue(env: Env, now = Date.now(), graceMs = 60_000, limit = 100): Promise<SweepRound> {
  const cursor = await roundCursor(env.DB, "requeue_deliveries");
  // A range of webhook_deliveries_overdue, whose condition the literal repeats.
  const rows = await db(env.DB)
    .select({ id: webhookDeliveries.id, attempts: webhookDeliveries.attempts, key: webhookDeliveries.nextAttemptAt })
    .from(webhookDeliveries)
    .where(
      and(
        sql`${webhookDeliveries.status} = 'pending'`,
        lt(webhookDeliveries.nextAttemptAt, now - graceMs),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, now)),
        ...afterCursor(webhookDeliveries.nextAttemptAt, webhookDeliveries.id, cursor),
      ),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
    .limit(limit);
  await advanceRound(env.DB, "requeue_deliveries", rows, limit, cursor);
  // A duplicate message is harmless: an attempt is claimed in D1 before it is made, so each happens once.
  if (rows.length > 0) await env.WEBHOOK_QUEUE.sendBatch(rows.map((r) => ({ body: { deliveryId: r.id, attempt: r.attempts + 1 } })));
  return { done: rows.length, more: rows.length === limit };
}
