// Cron sweeps that go round their rows. A sweep reads a bounded batch of due rows in a fixed order
// (a sort key, then the id). Always starting from the first, rows whose handling keeps failing stay
// first and a batch of them holds up every other row for good. So a sweep keeps where it got to in
// `sweep_cursors` (by name, in each database): the next sweep goes on after the last row tried, and
// the round starts over from the first when a sweep reaches the end (a batch that is not full).
import { eq, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { sweepCursors } from "./schema";

/** What one round of a sweep did, and whether more may be due (its batch was full). */
export interface SweepRound {
  done: number;
  more: boolean;
}

/** Where a round got to: the sort key and id of the last row a sweep tried. */
export interface RoundCursor {
  key: number;
  id: string;
}

/** The saved cursor of round `name`, or null (none, or not one this code wrote: the round starts from the first). */
export async function roundCursor(d1: D1Database, name: string): Promise<RoundCursor | null> {
  const [saved] = await drizzle(d1).select({ value: sweepCursors.value }).from(sweepCursors).where(eq(sweepCursors.name, name)).limit(1);
  if (!saved) return null;
  try {
    const parsed = JSON.parse(saved.value) as Partial<RoundCursor> | null;
    return parsed && Number.isSafeInteger(parsed.key) && typeof parsed.id === "string" ? { key: Number(parsed.key), id: parsed.id } : null;
  } catch {
    return null;
  }
}

/** The condition "after the cursor" on (key, id), as a row value (one index range), or none without a cursor. */
export function afterCursor(key: SQLiteColumn, id: SQLiteColumn, cursor: RoundCursor | null): SQL[] {
  return cursor ? [sql`(${key}, ${id}) > (${cursor.key}, ${cursor.id})`] : [];
}

/** Records where round `name` got to after a batch of `batch` rows: its last row, or (a short batch) the start again. */
export async function advanceRound(d1: D1Database, name: string, rows: readonly { key: number | null; id: string }[], batch: number, had: RoundCursor | null): Promise<void> {
  const last = rows.at(-1);
  const d = drizzle(d1);
  if (rows.length === batch && last && last.key !== null) {
    const value = JSON.stringify({ key: last.key, id: last.id } satisfies RoundCursor);
    await d.insert(sweepCursors).values({ name, value }).onConflictDoUpdate({ target: sweepCursors.name, set: { value } });
  } else if (had) {
    await d.delete(sweepCursors).where(eq(sweepCursors.name, name));
  }
}
