// The events queue's consumer: stores each event (once, by id) and creates one delivery per
// subscribed, enabled endpoint of the event's merchant and mode (once per event and endpoint), then
// queues the first attempt of each new delivery. Re-running it for the same events changes nothing.
import { and, asc, eq, lt, or, isNull, sql } from "drizzle-orm";
import { advanceRound, afterCursor, roundCursor, type SweepRound } from "../db/rounds";
import { prepared } from "../db/prepared";
import { eventData } from "../db/event-row";
import { subscribes } from "../core/events";
import { derivedId } from "../core/ids";
import type { EventRecord } from "../core/types";
import { events, webhookDeliveries, webhookEndpoints } from "../db/schema";
import type { Env } from "../env";
import type { DeliveryMessage } from "./messages";
import { db, parseEndpointEvents, type EndpointRow } from "./store";

export function paymentIntentOf(event: EventRecord): string | null {
  const object = event.object;
  if (object.object === "payment_intent" && typeof object.id === "string") return object.id;
  if (typeof object.paymentIntentId === "string") return object.paymentIntentId; // seed 003's payloads
  return typeof object.payment_intent === "string" ? object.payment_intent : null;
}

// The enabled endpoints of every merchant and mode in the batch, in one query however many there are
// (a batch may carry events of up to 100 merchants): each scope is a range of webhook_endpoints_list.
async function enabledEndpoints(env: Env, batch: EventRecord[]): Promise<Map<string, EndpointRow[]>> {
  const scopes = new Map<string, [string, number]>();
  for (const e of batch) scopes.set(`${e.merchantId}|${e.livemode}`, [e.merchantId, e.livemode ? 1 : 0]);
  const out = new Map<string, EndpointRow[]>([...scopes.keys()].map((key) => [key, []]));
  const rows = await db(env.DB)
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        sql`(${webhookEndpoints.merchantId}, ${webhookEndpoints.livemode}) in (select json_extract(value, '$[0]'), json_extract(value, '$[1]') from json_each(${JSON.stringify([...scopes.values()])}))`,
        eq(webhookEndpoints.status, "enabled"),
      ),
    );
  for (const row of rows) out.get(`${row.merchantId}|${row.livemode}`)?.push(row);
  return out;
}

// The consumer's statements, built once (src/db/prepared.ts): a batch of 100 events builds no query.
const insertEvent = prepared<"id" | "merchantId" | "livemode" | "type" | "paymentIntent" | "created" | "data">((d, p) =>
  d
    .insert(events)
    .values({ id: p("id"), merchantId: p("merchantId"), livemode: p("livemode"), type: p("type"), paymentIntent: p("paymentIntent"), created: p("created"), data: p("data") })
    .onConflictDoNothing(),
);

const insertDelivery = prepared<"id" | "merchantId" | "livemode" | "eventId" | "eventType" | "endpointId" | "now">((d, p) =>
  d
    .insert(webhookDeliveries)
    .values({
      id: p("id"),
      merchantId: p("merchantId"),
      livemode: p("livemode"),
      eventId: p("eventId"),
      eventType: p("eventType"),
      endpointId: p("endpointId"),
      status: "pending",
      attempts: 0,
      retrying: true,
      nextAttemptAt: p("now"),
      created: p("now"),
      updated: p("now"),
    })
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id }),
);

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
  const endpoints = await enabledEndpoints(env, batch);
  const statements = batch.map((e) =>
    insertEvent(d1, { id: e.id, merchantId: e.merchantId, livemode: e.livemode, type: e.type, paymentIntent: paymentIntentOf(e), created: e.created, data: eventData(e) }),
  );
  statements.push(markFannedOut(d1, { ids: JSON.stringify(batch.map((e) => e.id)) }));
  const deliveries: D1PreparedStatement[] = [];
  for (const e of batch) {
    for (const endpoint of endpoints.get(`${e.merchantId}|${e.livemode}`) ?? []) {
      if (!subscribes(parseEndpointEvents(endpoint), e.type)) continue;
      // Derived from (event, endpoint): a replayed event can never make a second delivery.
      const id = await derivedId("wd", e.id, endpoint.id);
      deliveries.push(insertDelivery(d1, { id, merchantId: e.merchantId, livemode: e.livemode, eventId: e.id, eventType: e.type, endpointId: endpoint.id, now }));
    }
  }
  const results = await d1.batch<{ id: string }>([...statements, ...deliveries]);
  const created = results.slice(statements.length).flatMap((r) => r.results ?? []).filter((r) => typeof r?.id === "string");
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
