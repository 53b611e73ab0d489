// Updates that write only what they change, in one statement on the row as it is then: metadata is
// merged by SQLite on the stored JSON (a JSON merge patch) and its limit checked on the result, so
// concurrent updates never write back each other's columns or keys from a stale read.
import { and, getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable, SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { db as drizzle } from "../../billing/store";
import { Writes, type BillingEventType } from "../../billing/writes";
import type { Env } from "../../env";
import { ApiError, lockTimeout } from "../../core/errors";
import type { Metadata } from "../../core/types";
import { CLEAR_ALL_METADATA, METADATA_LIMITS } from "../../intents/operations/metadata";
import { log } from "../../log";

/**
 * The column's metadata after an update's `changes`, as SQL on the stored JSON: Stripe's merge is a
 * JSON merge patch (json_patch) where "" becomes null, which deletes its key; `metadata: ""` (the
 * CLEAR_ALL_METADATA key) starts from {} instead of the stored keys.
 */
export function mergedMetadata(column: SQLiteColumn, changes: Metadata): SQL {
  const patch = Object.fromEntries(Object.entries(changes).filter(([key]) => key !== CLEAR_ALL_METADATA).map(([key, value]) => [key, value === "" ? null : value]));
  const base = CLEAR_ALL_METADATA in changes ? sql`'{}'` : sql`coalesce(nullif(${column}, ''), '{}')`;
  return sql`json_patch(${base}, ${JSON.stringify(patch)})`;
}

/** The condition that the merged metadata keeps Stripe's key limit (50): checked in the update's own WHERE. */
export function metadataWithinLimit(merged: SQL): SQL {
  return sql`(SELECT count(*) FROM json_each(${merged})) <= ${METADATA_LIMITS.keys}`;
}

/** A row of `table` as raw SQL answers it (column names, 0 and 1 for booleans), as drizzle's own queries give it. */
export function rowOf<T extends SQLiteTable>(table: T, raw: Record<string, unknown>): T["$inferSelect"] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T["$inferSelect"];
}

/** How often an update held back by its guards is tried again when nothing explains it (the row changed back meanwhile). */
const UPDATE_TRIES = 4;

/**
 * Runs a guarded update (`write` answers the row as written, or undefined when its WHERE held it back)
 * and answers that row. Held back, `explain` reads the row again and throws what stops the update (the
 * object is gone, the merged metadata is over its limit, ...); if it throws nothing, the row changed
 * back between the two (another update took keys off), and the update is tried again. One that keeps
 * losing is Stripe's 429 lock_timeout, which its clients retry (an Idempotency-Key does not keep it).
 */
export async function writeGuarded<T>(resource: string, id: string, write: () => Promise<T | undefined>, explain: () => Promise<void>): Promise<T> {
  for (let i = 0; i < UPDATE_TRIES; i++) {
    const written = await write();
    if (written !== undefined) return written;
    await explain();
  }
  throw heldBack(resource, id, UPDATE_TRIES);
}

/** Stripe's 429 lock_timeout for an update that kept losing to concurrent ones (its clients retry it). */
function heldBack(resource: string, id: string, tries: number): ApiError {
  log("warn", "an update kept being held back by concurrent changes", { resource, id });
  return lockTimeout(`${resource} ${id}`, tries);
}

/**
 * How often an update whose row changed under it (compare-and-swap lost) is computed again on the row
 * as it is then. Each round one of the updates racing on a row wins, so 20 at once need up to 20
 * rounds (8 answered 20 concurrent metadata updates with 429s); a loser waits a few random
 * milliseconds, growing with its losses, so they do not all come back together.
 */
export const COMPARE_TRIES = 32;

/**
 * The condition that `table`'s row is still `row`, column by column (`IS`, so nulls compare): an
 * update guarded by it applies only to the row its new values were computed from. It needs no version
 * column any writer could forget to move on; a row changed and changed back is the same row, so what
 * was computed from it still holds.
 */
export function sameRow<T extends SQLiteTable>(table: T, row: T["$inferSelect"]): SQL {
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = (row as Record<string, unknown>)[key];
    return value === null || value === undefined ? sql`${column} IS NULL` : sql`${column} IS ${sql.param(value, column)}`;
  });
  return sql.join(columns, sql` AND `);
}

/** What an update changes on the row it read (undefined: nothing, so nothing is written and nothing told), with extra guards. */
export interface ComparedPlan<Row> {
  changes: Partial<Row>;
  guards?: SQL[];
}

/**
 * An update and its event in one D1 transaction, without losing concurrent updates: `read` reads the
 * row (throwing what stops the update: gone, ...), `plan` computes what changes from it (throwing
 * Stripe's errors on it, e.g. the metadata limit), and one batch writes those columns only if the
 * row is still the one read (sameRow) and then inserts `event` of the row as written only if that
 * UPDATE changed a row (Writes' `changes() > 0`). Someone else wrote first: read and computed again,
 * COMPARE_TRIES times, then Stripe's 429 lock_timeout. Answers the row as written (or as read when
 * the plan changes nothing).
 */
export async function writeCompared<T extends SQLiteTable>(
  env: Env,
  table: T,
  resource: string,
  id: string,
  read: () => Promise<T["$inferSelect"]>,
  plan: (row: T["$inferSelect"]) => Promise<ComparedPlan<T["$inferSelect"]> | undefined>,
  event: (written: T["$inferSelect"]) => Promise<{ type: BillingEventType; object: object; requestId: string | null }>,
): Promise<T["$inferSelect"]> {
  for (let i = 0; i < COMPARE_TRIES; i++) {
    const row = await read();
    const planned = await plan(row);
    if (!planned || Object.keys(planned.changes).length === 0) return row;
    const written = { ...row, ...planned.changes } as T["$inferSelect"];
    const w = new Writes(env.DB, { merchantId: String((row as Record<string, unknown>).merchantId), livemode: Boolean((row as Record<string, unknown>).livemode) });
    const update = drizzle(env.DB)
      .update(table)
      .set(planned.changes as SQLiteUpdateSetSource<T>)
      .where(and(sameRow(table, row), ...(planned.guards ?? [])))
      .toSQL();
    w.add(update.sql, update.params);
    const told = await event(written);
    await w.event(told.type, told.object, null, { requestId: told.requestId });
    const [changed] = await w.commit(env);
    if (changed) return written;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** i, 32)));
  }
  throw heldBack(resource, id, COMPARE_TRIES);
}
