// Updates of the rows that live in D1 (customers, payment methods, products, prices, webhook endpoints,
// connector accounts), one way: computed on the row as read, written only if the row is still that one
// (a compare-and-swap), with the update's event in the same batch; someone else wrote first: read and
// computed again. Concurrent updates never write back each other's columns or metadata keys from a
// stale read, and nothing changes without its event.
import { and, getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable, SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { db as drizzle } from "../../billing/store";
import { Writes, type BillingEventType } from "../../billing/writes";
import { previousAttributes } from "../../core/events";
import type { Env } from "../../env";
import { ApiError, lockTimeout } from "../../core/errors";
import { log } from "../../log";

/** Stripe's 429 lock_timeout for an update that kept losing to concurrent ones (its clients retry it). */
export function heldBack(resource: string, id: string, tries: number): ApiError {
  log("warn", "an update kept being held back by concurrent changes", { resource, id });
  return lockTimeout(`${resource} ${id}`, tries);
}

/** Tries of a deletion whose guarded transaction a concurrent writer may refuse (a customer or a clock deleted while things are added to it). */
export const DELETE_TRIES = 3;

/**
 * Runs `attempt`, which reads, then writes guarded on what it read, and answers whether its write
 * happened (or is no longer needed), until it does, at most `tries` times; then heldBack's 429.
 */
export async function untilWritten(resource: string, id: string, tries: number, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 1; i <= tries; i++) if (await attempt()) return;
  throw heldBack(resource, id, tries);
}

/**
 * How often an update whose row changed under it (compare-and-swap lost) is computed again on the row
 * as it is then. Each round one of the updates racing on a row wins, so 20 at once need up to 20
 * rounds (8 answered 20 concurrent metadata updates with 429s); a loser waits a few random
 * milliseconds, growing with its losses, so they do not all come back together.
 */
export const COMPARE_TRIES = 32;

/** The wait of a write that lost its `i`th round to a concurrent one. */
export function afterLoss(i: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** i, 32)));
}

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

/** What an update changes on the row it read (undefined, or the values the row has: nothing, so nothing is written and nothing told), with extra guards. */
export interface ComparedPlan<Row> {
  changes: Partial<Row>;
  guards?: SQL[];
  /** Writes of other rows that belong to the change, in its batch before the update (each with its own event): e.g. a lookup key taken from the price holding it. */
  before?: (w: Writes) => Promise<void>;
  /** Writes that follow from the change, in its batch after the update and its event (e.g. a product's name copied onto its prices). */
  after?: (w: Writes) => void;
  /** Whether a failed batch means another request got there first (as a lost compare does): then read and computed again. */
  lost?: (err: unknown) => boolean;
}

/** An update's row and what it does: see writeCompared. */
export interface ComparedUpdate<T extends SQLiteTable> {
  table: T;
  /** The resource's name and the id asked for, for the 429 of an update that kept losing. */
  resource: string;
  id: string;
  /** Reads the row, throwing what stops the update (gone, ...). */
  read: () => Promise<T["$inferSelect"]>;
  /** What changes on the row read, throwing Stripe's errors on it (e.g. the metadata limit). */
  plan: (row: T["$inferSelect"]) => Promise<ComparedPlan<T["$inferSelect"]> | undefined>;
  /** The update's event: its type and the object a row renders as (the row written is the event's object, the row read its previous_attributes); null: a resource without events. */
  event: { type: BillingEventType; render: (row: T["$inferSelect"]) => object; requestId: string | null } | null;
  /** The database holding the row: the merchant's (env.DB) unless told (connector accounts live in the directory). */
  d1?: D1Database;
}

/**
 * An update and its event in one D1 transaction, without losing concurrent updates: `read` reads the
 * row, `plan` computes what changes from it, and one batch writes those columns only if the row is
 * still the one read (sameRow) and then inserts the event of the row as written, with Stripe's
 * previous_attributes, only if that UPDATE changed a row (Writes' `changes() > 0`). Someone else wrote
 * first: read and computed again, COMPARE_TRIES times, then Stripe's 429 lock_timeout. Answers the row
 * as written (or as read when the plan changes nothing).
 */
export async function writeCompared<T extends SQLiteTable>(env: Env, u: ComparedUpdate<T>): Promise<T["$inferSelect"]> {
  const d1 = u.d1 ?? env.DB;
  for (let i = 0; i < COMPARE_TRIES; i++) {
    const row = await u.read();
    const planned = await u.plan(row);
    const fields = row as Record<string, unknown>;
    // Nothing to change (or each column given the value it has): nothing written, nothing told, as at Stripe.
    if (!planned || Object.entries(planned.changes).every(([key, value]) => JSON.stringify(fields[key] ?? null) === JSON.stringify(value ?? null))) return row;
    const written = { ...row, ...planned.changes } as T["$inferSelect"];
    const w = new Writes(d1, { merchantId: String(fields.merchantId), livemode: Boolean(fields.livemode) });
    if (planned.before) await planned.before(w);
    const update = drizzle(d1)
      .update(u.table)
      .set(planned.changes as SQLiteUpdateSetSource<T>)
      .where(and(sameRow(u.table, row), ...(planned.guards ?? [])))
      .toSQL();
    const at = w.size;
    w.add(update.sql, update.params);
    if (u.event) {
      const object = u.event.render(written) as Record<string, unknown>;
      const previous = previousAttributes(u.event.render(row) as Record<string, unknown>, object);
      await w.event(u.event.type, object, null, { requestId: u.event.requestId, previousAttributes: previous });
    }
    // After the event, whose insert is conditioned on the update's changes().
    planned.after?.(w);
    let changed: number[];
    try {
      changed = await w.commit(env);
    } catch (err) {
      if (!planned.lost?.(err)) throw err;
      changed = [];
    }
    if (changed[at]) return written;
    await afterLoss(i);
  }
  throw heldBack(u.resource, u.id, COMPARE_TRIES);
}
