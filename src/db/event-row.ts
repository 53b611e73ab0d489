// An event's row in D1 stores each field once, as an intent's does (src/db/intent-row.ts): the fields
// with columns (id, type, created, merchant, mode) live only there, `data` holds the rest of the
// record (the object's snapshot, the request's references). Rows written before still carry them
// all in `data`; the columns win.
import { sql } from "drizzle-orm";
import { redactNullable } from "../core/card-number";
import type { EventRecord } from "../core/types";
import { events } from "./schema";

export const EVENT_FIELDS_IN_COLUMNS = ["id", "type", "created", "merchantId", "livemode"] as const satisfies readonly (keyof EventRecord)[];

type ColumnField = (typeof EVENT_FIELDS_IN_COLUMNS)[number];

/**
 * fanned_out of an event held back by the request that wrote it (src/billing/writes.ts, migration
 * 0069): stored, not yet handed to the queue, and possibly rewritten before it is released.
 */
export const HELD = 2;

/**
 * The events a merchant may read (list, retrieve): not one still held, which may yet be rewritten
 * before it is released; an event once shown never changes, as at Stripe.
 */
export const NOT_HELD = sql.raw(`"events"."fanned_out" != ${HELD}`);

/** What a read selects to rebuild events: `db.select(eventRow)`. */
export const eventRow = { data: events.data, id: events.id, type: events.type, created: events.created, merchantId: events.merchantId, livemode: events.livemode };

export interface EventRow {
  data: string;
  id: string;
  type: string;
  created: number;
  merchantId: string;
  livemode: boolean | number;
}

/** The `data` of an event's row: its record without the fields that have columns. */
export function eventData(event: EventRecord): string {
  // The names of EVENT_FIELDS_IN_COLUMNS (the test of this file checks that they are all left out).
  const { id, type, created, merchantId, livemode, ...rest } = event;
  // What a client chose (its request id, its Idempotency-Key) is kept as the audit log keeps it: a
  // card number in it masked (events are kept for 30 days and sent in webhooks).
  return JSON.stringify({ ...rest, requestId: redactNullable(rest.requestId), idempotencyKey: redactNullable(rest.idempotencyKey) });
}

/** The record of a row: `data` with the columns put back. */
export function eventFromRow(row: EventRow): EventRecord {
  const rest = JSON.parse(row.data) as Omit<EventRecord, ColumnField>;
  return { ...rest, id: row.id, type: row.type, created: row.created, merchantId: row.merchantId, livemode: Boolean(row.livemode) };
}
