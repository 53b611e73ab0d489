// Updates that write only what they change, in one statement on the row as it is then: metadata is
// merged by SQLite on the stored JSON (a JSON merge patch) and its limit checked on the result, so
// concurrent updates never write back each other's columns or keys from a stale read.
import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { ApiError } from "../../core/errors";
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
  log("warn", "an update kept being held back by concurrent changes", { resource, id });
  throw new ApiError({
    status: 429,
    type: "invalid_request_error",
    code: "lock_timeout",
    message: `This object cannot be accessed right now because another API request or process is currently accessing it: ${resource} ${id} changed ${UPDATE_TRIES} times under this request. Retry it (with the same Idempotency-Key).`,
    retryAfterSeconds: 1,
  });
}
