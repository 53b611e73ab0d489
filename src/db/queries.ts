// Read-model queries: every list is one indexed SQL query with keyset pagination over
// (created, id) descending, scoped by merchant and mode. Nothing loads a table into memory.
import { and, asc, desc, eq, gt, gte, lt, or, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { resourceMissing } from "../core/errors";
import type { IntentRecord, RefundRecord, Scope } from "../core/types";
import { charges, paymentIntents, refunds } from "./schema";

export interface PageRequest {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/** Unix-second bounds as Stripe sends them: `created=<ts>` or `created[gte]=<ts>`, ... */
export type CreatedFilter = number | { gt?: number; gte?: number; lt?: number; lte?: number };

export interface Cursor {
  created: number;
  id: string;
}

export function createdConditions(column: SQLiteColumn, filter: CreatedFilter | undefined): SQL[] {
  if (filter === undefined) return [];
  const s = (seconds: number) => seconds * 1000;
  if (typeof filter === "number") return [gte(column, s(filter)), lt(column, s(filter + 1))];
  const out: SQL[] = [];
  if (filter.gt !== undefined) out.push(gte(column, s(filter.gt + 1)));
  if (filter.gte !== undefined) out.push(gte(column, s(filter.gte)));
  if (filter.lt !== undefined) out.push(lt(column, s(filter.lt)));
  if (filter.lte !== undefined) out.push(lt(column, s(filter.lte + 1)));
  return out;
}

/** Rows strictly after (older than) or before (newer than) the cursor in (created, id) order. */
export function beyond(createdCol: SQLiteColumn, idCol: SQLiteColumn, cursor: Cursor, direction: "older" | "newer"): SQL {
  const cmp = direction === "older" ? lt : gt;
  return or(cmp(createdCol, cursor.created), and(eq(createdCol, cursor.created), cmp(idCol, cursor.id))) as SQL;
}

interface Listable {
  table: typeof paymentIntents | typeof refunds | typeof charges;
  id: SQLiteColumn;
  created: SQLiteColumn;
  merchantId: SQLiteColumn;
  livemode: SQLiteColumn;
  resource: string;
}

const INTENTS: Listable = {
  table: paymentIntents,
  id: paymentIntents.id,
  created: paymentIntents.created,
  merchantId: paymentIntents.merchantId,
  livemode: paymentIntents.livemode,
  resource: "payment_intent",
};
const REFUNDS: Listable = { table: refunds, id: refunds.id, created: refunds.created, merchantId: refunds.merchantId, livemode: refunds.livemode, resource: "refund" };
const CHARGES: Listable = { table: charges, id: charges.id, created: charges.created, merchantId: charges.merchantId, livemode: charges.livemode, resource: "charge" };

function scoped(t: Listable, scope: Scope): SQL[] {
  return [eq(t.merchantId, scope.merchantId), eq(t.livemode, scope.livemode)];
}

async function cursorOf(d1: D1Database, t: Listable, scope: Scope, id: string, param: string): Promise<Cursor> {
  const rows = await drizzle(d1)
    .select({ created: t.created })
    .from(t.table)
    .where(and(eq(t.id, id), ...scoped(t, scope)))
    .limit(1);
  const row = rows[0];
  if (!row) throw resourceMissing(t.resource, id, param);
  return { created: Number(row.created), id };
}

/** The pagination part of a list: its WHERE conditions, ORDER BY and whether rows come back reversed. */
async function pageShape(d1: D1Database, t: Listable, scope: Scope, page: PageRequest) {
  if (page.endingBefore) {
    const cursor = await cursorOf(d1, t, scope, page.endingBefore, "ending_before");
    return { conditions: [beyond(t.created, t.id, cursor, "newer")], order: [asc(t.created), asc(t.id)], reversed: true };
  }
  const conditions: SQL[] = [];
  if (page.startingAfter) conditions.push(beyond(t.created, t.id, await cursorOf(d1, t, scope, page.startingAfter, "starting_after"), "older"));
  return { conditions, order: [desc(t.created), desc(t.id)], reversed: false };
}

function finish<T>(rows: T[], limit: number, reversed: boolean): Page<T> {
  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit);
  return { items: reversed ? items.reverse() : items, hasMore };
}

export interface IntentFilters {
  status?: string;
  customer?: string;
  orderId?: string;
  created?: CreatedFilter;
}

export async function listIntents(d1: D1Database, scope: Scope, filters: IntentFilters, page: PageRequest): Promise<Page<IntentRecord>> {
  const shape = await pageShape(d1, INTENTS, scope, page);
  const where = [
    ...scoped(INTENTS, scope),
    ...(filters.status ? [eq(paymentIntents.status, filters.status)] : []),
    ...(filters.customer ? [eq(paymentIntents.customer, filters.customer)] : []),
    ...(filters.orderId ? [eq(paymentIntents.orderId, filters.orderId)] : []),
    ...createdConditions(paymentIntents.created, filters.created),
    ...shape.conditions,
  ];
  const rows = await drizzle(d1)
    .select({ data: paymentIntents.data })
    .from(paymentIntents)
    .where(and(...where))
    .orderBy(...shape.order)
    .limit(page.limit + 1);
  return finish(
    rows.map((r) => JSON.parse(r.data) as IntentRecord),
    page.limit,
    shape.reversed,
  );
}

/** A search page: `conditions` come from the search query; `after` is the cursor of the page token. */
export async function searchIntents(d1: D1Database, scope: Scope, conditions: SQL[], limit: number, after: Cursor | null): Promise<Page<IntentRecord>> {
  const rows = await drizzle(d1)
    .select({ data: paymentIntents.data })
    .from(paymentIntents)
    .where(and(...scoped(INTENTS, scope), ...conditions, ...(after ? [beyond(paymentIntents.created, paymentIntents.id, after, "older")] : [])))
    .orderBy(desc(paymentIntents.created), desc(paymentIntents.id))
    .limit(limit + 1);
  return finish(
    rows.map((r) => JSON.parse(r.data) as IntentRecord),
    limit,
    false,
  );
}

export interface RefundFilters {
  paymentIntent?: string;
  charge?: string;
  created?: CreatedFilter;
}

export async function listRefunds(d1: D1Database, scope: Scope, filters: RefundFilters, page: PageRequest): Promise<Page<RefundRecord>> {
  const shape = await pageShape(d1, REFUNDS, scope, page);
  const rows = await drizzle(d1)
    .select({ data: refunds.data })
    .from(refunds)
    .where(
      and(
        ...scoped(REFUNDS, scope),
        ...(filters.paymentIntent ? [eq(refunds.paymentIntent, filters.paymentIntent)] : []),
        ...(filters.charge ? [eq(refunds.charge, filters.charge)] : []),
        ...createdConditions(refunds.created, filters.created),
        ...shape.conditions,
      ),
    )
    .orderBy(...shape.order)
    .limit(page.limit + 1);
  return finish(
    rows.map((r) => JSON.parse(r.data) as RefundRecord),
    page.limit,
    shape.reversed,
  );
}

export async function findRefund(d1: D1Database, scope: Scope, id: string): Promise<RefundRecord | null> {
  const rows = await drizzle(d1)
    .select({ data: refunds.data })
    .from(refunds)
    .where(and(eq(refunds.id, id), ...scoped(REFUNDS, scope)))
    .limit(1);
  return rows[0] ? (JSON.parse(rows[0].data) as RefundRecord) : null;
}

export interface ChargeFilters {
  paymentIntent?: string;
  customer?: string;
  created?: CreatedFilter;
}

/** Charges are rendered from their intents: the list joins the charge index to the intent rows. */
export async function listCharges(d1: D1Database, scope: Scope, filters: ChargeFilters, page: PageRequest): Promise<Page<IntentRecord>> {
  const shape = await pageShape(d1, CHARGES, scope, page);
  const rows = await drizzle(d1)
    .select({ data: paymentIntents.data })
    .from(charges)
    .innerJoin(paymentIntents, eq(paymentIntents.id, charges.paymentIntent))
    .where(
      and(
        ...scoped(CHARGES, scope),
        ...(filters.paymentIntent ? [eq(charges.paymentIntent, filters.paymentIntent)] : []),
        ...(filters.customer ? [eq(paymentIntents.customer, filters.customer)] : []),
        ...createdConditions(charges.created, filters.created),
        ...shape.conditions,
      ),
    )
    .orderBy(...shape.order)
    .limit(page.limit + 1);
  return finish(
    rows.map((r) => JSON.parse(r.data) as IntentRecord),
    page.limit,
    shape.reversed,
  );
}
