// Whether an id names an object of the caller's merchant and mode: what a /v1 list checks of the ids
// its filters name (src/api/v1/list-filters.ts). Each is one lookup by the table's primary key, the
// scope checked on the row it finds (test/db/list-query-plans.test.ts holds them to that plan).
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { IntentRecord, Scope } from "../core/types";
import { intentFromRow, intentRow } from "./intent-row";
import type { Listable } from "./queries";
import { paymentIntents } from "./schema";

/** Whether `id` is a row of `t` of this merchant and mode (the id alone, as it is stored: no prefix check here). */
export async function ownsId(d1: D1Database, t: Listable, scope: Scope, id: string): Promise<boolean> {
  const rows = await drizzle(d1)
    .select({ id: t.id })
    .from(t.table)
    .where(and(eq(t.id, id), eq(t.merchantId, scope.merchantId), eq(t.livemode, scope.livemode)))
    .limit(1);
  return rows.length > 0;
}

/** The merchant's intent `id` in this mode as the read model holds it, or null (another merchant's too). */
export async function scopedIntent(d1: D1Database, scope: Scope, id: string): Promise<IntentRecord | null> {
  const [row] = await drizzle(d1)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(eq(paymentIntents.id, id), eq(paymentIntents.merchantId, scope.merchantId), eq(paymentIntents.livemode, scope.livemode)))
    .limit(1);
  return row ? intentFromRow(row) : null;
}
