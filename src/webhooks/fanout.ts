// The events queue's consumer: stores each event (once, by id) and creates one delivery per
// subscribed, enabled endpoint of the event's merchant and mode (once per event and endpoint), then
// queues the first attempt of each new delivery. Re-running it for the same events changes nothing.
import { and, eq, inArray, lt, or, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
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

async function enabledEndpoints(env: Env, batch: EventRecord[]): Promise<Map<string, EndpointRow[]>> {
  const scopes = new Map<string, { merchantId: string; livemode: boolean }>();
  for (const e of batch) scopes.set(`${e.merchantId}|${e.livemode}`, { merchantId: e.merchantId, livemode: e.livemode });
  const out = new Map<string, EndpointRow[]>();
  for (const [key, scope] of scopes) {
    const rows = await db(env.DB)
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.merchantId, scope.merchantId), eq(webhookEndpoints.livemode, scope.livemode), eq(webhookEndpoints.status, "enabled")));
    out.set(key, rows);
  }
  return out;
}

export async function fanOut(env: Env, batch: EventRecord[]): Promise<void> {
  if (batch.length === 0) return;
  const d = db(env.DB);
  const now = Date.now();
  const endpoints = await enabledEndpoints(env, batch);
  const statements: BatchItem<"sqlite">[] = batch.map((e) =>
    d
      .insert(events)
      .values({ id: e.id, merchantId: e.merchantId, livemode: e.livemode, type: e.type, paymentIntent: paymentIntentOf(e), created: e.created, data: JSON.stringify(e) })
      .onConflictDoNothing(),
  );
  const deliveryStatements: BatchItem<"sqlite">[] = [];
  for (const e of batch) {
    for (const endpoint of endpoints.get(`${e.merchantId}|${e.livemode}`) ?? []) {
      if (!subscribes(parseEndpointEvents(endpoint), e.type)) continue;
      deliveryStatements.push(
        d
          .insert(webhookDeliveries)
          .values({
            // Derived from (event, endpoint): a replayed event can never make a second delivery.
            id: await derivedId("wd", e.id, endpoint.id),
            merchantId: e.merchantId,
            livemode: e.livemode,
            eventId: e.id,
            eventType: e.type,
            endpointId: endpoint.id,
            status: "pending",
            attempts: 0,
            retrying: true,
            nextAttemptAt: now,
            created: now,
            updated: now,
          })
          .onConflictDoNothing()
          .returning({ id: webhookDeliveries.id }),
      );
    }
  }
  // Events a billing change stored itself wait "not fanned out" until here (the cron re-sends those that wait too long).
  // D1 binds at most 100 parameters a statement, and a batch holds up to 100 events.
  const ids = batch.map((e) => e.id);
  for (let i = 0; i < ids.length; i += 90) {
    statements.push(d.update(events).set({ fannedOut: true }).where(and(inArray(events.id, ids.slice(i, i + 90)), eq(events.fannedOut, false))));
  }
  const [first, ...rest] = [...statements, ...deliveryStatements];
  if (!first) return;
  const results = await d.batch([first, ...rest]);
  const created = (results.slice(statements.length) as { id: string }[][]).flat().filter((r) => typeof r?.id === "string");
  await enqueueFirstAttempts(env, created.map((r) => r.id));
}

async function enqueueFirstAttempts(env: Env, deliveryIds: string[]): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += 100) {
    const chunk = deliveryIds.slice(i, i + 100).map((deliveryId) => ({ body: { deliveryId, attempt: 1 } satisfies DeliveryMessage }));
    await env.WEBHOOK_QUEUE.sendBatch(chunk);
  }
}

/**
 * Cron: re-queues deliveries whose attempt is overdue and not leased, e.g. because the consumer died
 * between creating a delivery and queueing it. A duplicate message is harmless: an attempt is claimed
 * in D1 before it is made, so each attempt happens once.
 */
export async function requeueOverdue(env: Env, now = Date.now(), graceMs = 60_000, limit = 100): Promise<number> {
  const rows = await db(env.DB)
    .select({ id: webhookDeliveries.id, attempts: webhookDeliveries.attempts })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        lt(webhookDeliveries.nextAttemptAt, now - graceMs),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, now)),
      ),
    )
    .limit(limit);
  for (let i = 0; i < rows.length; i += 100) {
    await env.WEBHOOK_QUEUE.sendBatch(rows.slice(i, i + 100).map((r) => ({ body: { deliveryId: r.id, attempt: r.attempts + 1 } })));
  }
  return rows.length;
}
