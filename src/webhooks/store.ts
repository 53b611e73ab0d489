// D1 access for events, webhook endpoints, deliveries and their attempts.
import { and, eq, gte, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { EventRecord, Scope } from "../core/types";
import { unseal } from "../core/sealed";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { eventFromRow, eventRow, NOT_HELD } from "../db/event-row";

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

export const db = (d1: D1Database) => drizzle(d1);

export function parseEndpointEvents(row: EndpointRow): string[] {
  return JSON.parse(row.enabledEvents) as string[];
}

/** A secret replaced by a roll, sealed as the current one is, and when it stops signing (ms). */
export interface RetiredSecret {
  secret: string;
  expires: number;
}

/** At most this many secrets older than the previous one keep signing (rolled again and again within a day). */
export const MAX_OLDER_SECRETS = 4;

function olderSecrets(row: EndpointRow): RetiredSecret[] {
  if (!row.olderSecrets) return [];
  try {
    const parsed: unknown = JSON.parse(row.olderSecrets);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((e): e is RetiredSecret => typeof e === "object" && e !== null && typeof (e as RetiredSecret).secret === "string" && typeof (e as RetiredSecret).expires === "number");
  } catch {
    return [];
  }
}

/**
 * The replaced secrets of an endpoint still in their overlap at `now`, newest first (sealed): the
 * previous one, then those rolled before it. A roll moves them behind the secret it replaces.
 */
export function retiredSecrets(row: EndpointRow, now: number): RetiredSecret[] {
  const out: RetiredSecret[] = [];
  if (row.previousSecret && row.previousSecretExpires && row.previousSecretExpires > now) out.push({ secret: row.previousSecret, expires: row.previousSecretExpires });
  for (const older of olderSecrets(row)) if (older.expires > now) out.push(older);
  return out;
}

/**
 * The secrets an endpoint's payloads are signed with, newest first: the current one, and every
 * secret a roll replaced that is still in its overlap (two after one roll; more when rolled again
 * within an overlap, so a receiver still verifying with any of them keeps verifying until it expires).
 */
export async function signingSecrets(row: EndpointRow, encryptionKey: string, now: number): Promise<string[]> {
  const secrets = [await unseal(row.secret, encryptionKey)];
  for (const retired of retiredSecrets(row, now)) secrets.push(await unseal(retired.secret, encryptionKey));
  return secrets;
}

export async function findEndpoint(d1: D1Database, scope: Scope, id: string): Promise<EndpointRow | null> {
  const rows = await db(d1)
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.merchantId, scope.merchantId), eq(webhookEndpoints.livemode, scope.livemode)))
    .limit(1);
  return rows[0] ?? null;
}

export async function findEvent(d1: D1Database, scope: Scope, id: string): Promise<EventRecord | null> {
  const rows = await db(d1)
    .select(eventRow)
    .from(events)
    .where(and(eq(events.id, id), eq(events.merchantId, scope.merchantId), eq(events.livemode, scope.livemode), NOT_HELD))
    .limit(1);
  return rows[0] ? eventFromRow(rows[0]) : null;
}

export async function pendingDeliveries(d1: D1Database, eventId: string): Promise<number> {
  const rows = await db(d1)
    .select({ n: sql<number>`count(*)` })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.status, "pending")));
  return Number(rows[0]?.n ?? 0);
}

/**
 * How many deliveries of each of `eventIds` are pending (a list page's `pending_webhooks`): one query,
 * a range of each event's deliveries (webhook_deliveries_event_endpoint), the ids as one JSON array.
 */
export async function pendingDeliveriesOf(d1: D1Database, eventIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (eventIds.length === 0) return counts;
  const rows = await db(d1)
    .select({ eventId: webhookDeliveries.eventId, n: sql<number>`count(*)` })
    .from(webhookDeliveries)
    .where(and(sql`${webhookDeliveries.eventId} in (select value from json_each(${JSON.stringify(eventIds)}))`, sql`+${webhookDeliveries.status} = 'pending'`))
    .groupBy(webhookDeliveries.eventId);
  for (const row of rows) counts.set(row.eventId, Number(row.n));
  return counts;
}

export async function attemptsOf(d1: D1Database, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
  const byDelivery = new Map<string, AttemptRow[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await db(d1).select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, deliveryIds)).orderBy(webhookAttempts.attempt);
  for (const row of rows) {
    const list = byDelivery.get(row.deliveryId) ?? [];
    list.push(row);
    byDelivery.set(row.deliveryId, list);
  }
  return byDelivery;
}

export interface EndpointStats {
  window_hours: number;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Succeeded attempts over all attempts in the window; null without attempts. */
  success_rate: number | null;
  last_attempt_at: number | null;
}

/** An endpoint's recent health: its attempts over the last `hours`. One aggregate query on an index. */
export async function endpointStats(d1: D1Database, endpointId: string, now: number, hours = 24): Promise<EndpointStats> {
  const rows = await db(d1)
    .select({
      attempts: sql<number>`count(*)`,
      succeeded: sql<number>`coalesce(sum(${webhookAttempts.succeeded}), 0)`,
      last: sql<number | null>`max(${webhookAttempts.started})`,
    })
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.endpointId, endpointId), gte(webhookAttempts.started, now - hours * 3_600_000)));
  const attempts = Number(rows[0]?.attempts ?? 0);
  const succeeded = Number(rows[0]?.succeeded ?? 0);
  const last = rows[0]?.last;
  return {
    window_hours: hours,
    attempts,
    succeeded,
    failed: attempts - succeeded,
    success_rate: attempts === 0 ? null : Math.round((succeeded / attempts) * 10_000) / 10_000,
    last_attempt_at: last === null || last === undefined ? null : Math.floor(Number(last) / 1000),
  };
}

/** Deletes events older than the retention window with their deliveries and attempts, a bounded batch at a time. */
export async function purgeExpired(d1: D1Database, before: number, batch = 1000): Promise<number> {
  const expired = "SELECT id FROM events WHERE created < ?1 ORDER BY created, id LIMIT ?2";
  const [, , removed] = await d1.batch([
    d1.prepare(`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id IN (${expired}))`).bind(before, batch),
    d1.prepare(`DELETE FROM webhook_deliveries WHERE event_id IN (${expired})`).bind(before, batch),
    d1.prepare(`DELETE FROM events WHERE id IN (${expired})`).bind(before, batch),
  ]);
  return removed?.meta.changes ?? 0;
}
