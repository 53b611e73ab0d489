// Read-model queries: every list is one indexed SQL query with keyset pagination over
// (created, id) descending, scoped by merchant and mode. Nothing loads a table into memory.
import { and, asc, desc, eq, gte, isNotNull, like, lt, or, sql, type SQL } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import { drizzle } from "drizzle-orm/d1";
import type { SelectedFields, SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { resourceMissing } from "../core/errors";
import type { RefundCharge } from "../core/objects";
import type { EventRecord, IntentRecord, RefundRecord, Scope } from "../core/types";
import { charges, events, paymentIntentMetadata, paymentIntents, refunds, webhookDeliveries } from "./schema";
import type { SearchPlan } from "./search";
import { intentFromRow, intentRow, type IntentRow } from "./intent-row";
import { eventFromRow, eventRow, NOT_HELD } from "./event-row";

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

/**
 * A filter no row passes: a Stripe filter on a value the gateway never stores (a charge's
 * transfer_group, collection_method=send_invoice), answered as Stripe would answer for our data.
 */
export const NO_ROWS: SQL = sql`0`;

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

/** Whether a row's `created` (milliseconds) passes a created filter, as createdConditions says it in SQL. */
export function withinCreated(createdMs: number, filter: CreatedFilter | undefined): boolean {
  if (filter === undefined) return true;
  const s = (seconds: number) => seconds * 1000;
  if (typeof filter === "number") return createdMs >= s(filter) && createdMs < s(filter + 1);
  return (
    (filter.gt === undefined || createdMs >= s(filter.gt + 1)) &&
    (filter.gte === undefined || createdMs >= s(filter.gte)) &&
    (filter.lt === undefined || createdMs < s(filter.lt)) &&
    (filter.lte === undefined || createdMs < s(filter.lte + 1))
  );
}

/**
 * Rows strictly after (older than) or before (newer than) the cursor in (created, id) order, as a
 * row-value comparison: SQLite turns `(created, id) < (?, ?)` into a range of any index that ends in
 * (created, id) after its equality columns, where `created < ? OR (created = ? AND id < ?)` gets none
 * and walks every row newer than the cursor.
 */
export function beyond(createdCol: SQLiteColumn, idCol: SQLiteColumn, cursor: Cursor, direction: "older" | "newer"): SQL {
  return direction === "older"
    ? sql`(${createdCol}, ${idCol}) < (${cursor.created}, ${cursor.id})`
    : sql`(${createdCol}, ${idCol}) > (${cursor.created}, ${cursor.id})`;
}

export interface Listable {
  table: SQLiteTable;
  id: SQLiteColumn;
  created: SQLiteColumn;
  merchantId: SQLiteColumn;
  livemode: SQLiteColumn;
  resource: string;
}

export function listable(
  table: SQLiteTable & { id: SQLiteColumn; created: SQLiteColumn; merchantId: SQLiteColumn; livemode: SQLiteColumn },
  resource: string,
): Listable {
  return { table, id: table.id, created: table.created, merchantId: table.merchantId, livemode: table.livemode, resource };
}

const INTENTS = listable(paymentIntents, "payment_intent");
const REFUNDS = listable(refunds, "refund");
const CHARGES = listable(charges, "charge");
const EVENTS = listable(events, "event");

function scoped(t: Listable, scope: Scope): SQL[] {
  return [eq(t.merchantId, scope.merchantId), eq(t.livemode, scope.livemode)];
}

/** A page's cursor: the (created, id) of the merchant's object `id`; an unknown one is a 404 naming `param`. */
export async function cursorOf(d1: D1Database, t: Listable, scope: Scope, id: string, param: string): Promise<Cursor> {
  const rows = await drizzle(d1)
    .select({ created: t.created })
    .from(t.table)
    .where(and(eq(t.id, id), ...scoped(t, scope)))
    .limit(1);
  const row = rows[0];
  if (!row) throw resourceMissing(t.resource, id, param);
  return { created: Number(row.created), id };
}

/**
 * One page of a list in Stripe's order (created, id descending), scoped to the merchant and mode.
 * `select` runs the query with the WHERE, ORDER BY and LIMIT it is given, selecting what it needs.
 */
export async function pageOf<T>(
  d1: D1Database,
  t: Listable,
  scope: Scope,
  filters: SQL[],
  page: PageRequest,
  select: (where: SQL | undefined, order: SQL[], limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const conditions = [...scoped(t, scope), ...filters];
  let order = [desc(t.created), desc(t.id)];
  let reversed = false;
  if (page.endingBefore) {
    conditions.push(beyond(t.created, t.id, await cursorOf(d1, t, scope, page.endingBefore, "ending_before"), "newer"));
    order = [asc(t.created), asc(t.id)];
    reversed = true;
  } else if (page.startingAfter) {
    conditions.push(beyond(t.created, t.id, await cursorOf(d1, t, scope, page.startingAfter, "starting_after"), "older"));
  }
  const rows = await select(and(...conditions), order, page.limit + 1);
  const hasMore = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  return { items: reversed ? items.reverse() : items, hasMore };
}

/** At most this many ids in Stripe's `ids[]` filter of a list. */
export const MAX_LIST_IDS = 100;

/**
 * A page of the merchant's objects among `ids` (Stripe's `ids[]` filter): read in one statement by
 * primary key (`id IN json_each(?)`, at most MAX_LIST_IDS rows, no ORDER BY: ids have no index order),
 * then kept if they are the merchant's and pass the list's other filters (`keep`), ordered newest first
 * and cut at the cursor here.
 */
export async function pageOfIds<T extends { created: number; id: string }>(
  d1: D1Database,
  t: Listable,
  scope: Scope,
  ids: readonly string[],
  page: PageRequest,
  keep: (row: T) => boolean,
): Promise<Page<T>> {
  const cursor = page.endingBefore
    ? await cursorOf(d1, t, scope, page.endingBefore, "ending_before")
    : page.startingAfter
      ? await cursorOf(d1, t, scope, page.startingAfter, "starting_after")
      : null;
  // By id alone (the primary key), the scope checked on the rows: a condition on it would lead the
  // planner to a merchant-wide index instead.
  const rows = (await drizzle(d1)
    .select()
    .from(t.table)
    .where(sql`${t.id} IN (SELECT value FROM json_each(${JSON.stringify([...new Set(ids)].slice(0, MAX_LIST_IDS))}))`)
    .limit(MAX_LIST_IDS)) as (T & { merchantId: string; livemode: boolean })[];
  const newestFirst = (a: T | Cursor, b: T | Cursor) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  const listed = rows.filter((r) => r.merchantId === scope.merchantId && r.livemode === scope.livemode && keep(r)).sort(newestFirst);
  if (cursor && page.endingBefore) {
    const newer = listed.filter((r) => newestFirst(r, cursor) < 0);
    return { items: newer.slice(-page.limit), hasMore: newer.length > page.limit };
  }
  const older = cursor ? listed.filter((r) => newestFirst(r, cursor) > 0) : listed;
  return { items: older.slice(0, page.limit), hasMore: older.length > page.limit };
}

/**
 * A refund's record: its entry in its intent's `refunds` (the refunds row is an index entry, with
 * no copy of the record). Selected from `refunds` joined to `payment_intents` on the intent's id.
 */
export const refundData = sql<string>`(select value from json_each(${paymentIntents.data}, '$.refunds') where json_extract(value, '$.id') = ${refunds.id})`;

/**
 * What a read of refunds selects (from `refunds` joined to `payment_intents`): the record, and what it
 * takes from its charge (Stripe's refund.customer and payment_method): its intent's customer and
 * payment method, columns of the intent's row (payment_method_id is the method the intent was
 * authorized with once it has a charge, which every refunded intent has).
 */
export const refundRow = { data: refundData, customer: paymentIntents.customer, paymentMethod: paymentIntents.paymentMethodId };

/** A refund as the read model has it: its record and its charge's customer and payment method (renderRefund's arguments). */
export interface StoredRefund {
  record: RefundRecord;
  charge: RefundCharge;
}

export function storedRefund(row: { data: string; customer: string | null; paymentMethod: string | null }): StoredRefund {
  return { record: JSON.parse(row.data) as RefundRecord, charge: { customer: row.customer, paymentMethod: row.paymentMethod } };
}

export interface IntentFilters {
  status?: string;
  customer?: string;
  orderId?: string;
  created?: CreatedFilter;
}

export async function listIntents(d1: D1Database, scope: Scope, filters: IntentFilters, page: PageRequest): Promise<Page<IntentRecord>> {
  const where = [
    ...(filters.status ? [eq(paymentIntents.status, filters.status)] : []),
    ...(filters.customer ? [eq(paymentIntents.customer, filters.customer)] : []),
    ...(filters.orderId ? [eq(paymentIntents.orderId, filters.orderId)] : []),
    ...createdConditions(paymentIntents.created, filters.created),
  ];
  return pageOf(d1, INTENTS, scope, where, page, async (w, order, limit) =>
    (await drizzle(d1).select(intentRow).from(paymentIntents).where(w).orderBy(...order).limit(limit)).map(intentFromRow),
  );
}

/** How far a search's total_count counts: Stripe's is "only accurate up to 10,000". */
export const SEARCH_TOTAL_LIMIT = 10_000;

/**
 * The WHERE of one branch of an intent search (its page and its total_count read the same range): a
 * metadata clause is a range of the side table's index (merchant, mode, key, value, then (created,
 * intent) past `after`), anything else the intents' own conditions; the scope's and `extra` with both.
 */
function searchBranchWhere(scope: Scope, branch: SearchPlan, extra: SQL[], after: Cursor | null): SQL | undefined {
  const intentScope = scoped(INTENTS, scope);
  if (branch.metadata) {
    return and(
      eq(paymentIntentMetadata.merchantId, scope.merchantId),
      eq(paymentIntentMetadata.livemode, scope.livemode),
      eq(paymentIntentMetadata.key, branch.metadata.key),
      eq(paymentIntentMetadata.value, branch.metadata.value),
      ...(after ? [beyond(paymentIntentMetadata.created, paymentIntentMetadata.intentId, after, "older")] : []),
      ...intentScope,
      ...branch.conditions,
      ...extra,
    );
  }
  return and(...intentScope, ...branch.conditions, ...extra, ...(after ? [beyond(paymentIntents.created, paymentIntents.id, after, "older")] : []));
}

/**
 * The rows of each range a search reads, in one batch: one per branch of an OR query (`plan.any`),
 * else the plan's own. A metadata clause drives its range from the side table's index (merchant, mode,
 * key, value, created, intent), each intent looked up by primary key; anything else is a range of the
 * intents' own indexes. `conditions` apply to every branch; `ordered` pages go newest first (the
 * index's order, no sort), past `after`; a count reads its ranges unordered.
 */
async function searchRanges<T extends SelectedFields>(
  d1: D1Database,
  scope: Scope,
  plan: SearchPlan,
  conditions: SQL[],
  columns: T,
  range: { after: Cursor | null; limit: number; ordered: boolean },
): Promise<SelectResultFields<T>[][]> {
  const db = drizzle(d1);
  // Drizzle's builder types do not resolve over a generic selection: the builder sees the base type,
  // the rows are cast back to the selection's own (the columns selected are exactly `columns`).
  const fields: SelectedFields = columns;
  const query = (branch: SearchPlan, extra: SQL[]) => {
    const where = searchBranchWhere(scope, branch, extra, range.after);
    return branch.metadata
      ? db
          .select(fields)
          .from(paymentIntentMetadata)
          .innerJoin(paymentIntents, eq(paymentIntents.id, paymentIntentMetadata.intentId))
          .where(where)
          .orderBy(...(range.ordered ? [desc(paymentIntentMetadata.created), desc(paymentIntentMetadata.intentId)] : []))
          .limit(range.limit)
      : db
          .select(fields)
          .from(paymentIntents)
          .where(where)
          .orderBy(...(range.ordered ? [desc(paymentIntents.created), desc(paymentIntents.id)] : []))
          .limit(range.limit);
  };
  const [first, ...others] = plan.any ?? [];
  if (!first) return [(await query({ ...plan, conditions: [...plan.conditions, ...conditions] }, [])) as SelectResultFields<T>[]];
  const all = [...plan.conditions, ...conditions];
  return (await db.batch([query(first, all), ...others.map((b) => query(b, all))])) as SelectResultFields<T>[][];
}

/**
 * A search page: `plan` comes from the search query; `after` is the cursor of the page token. Each
 * range (searchRanges) reads at most a page in index order; an OR query keeps the newest rows of
 * their union.
 */
export async function searchIntents(d1: D1Database, scope: Scope, plan: SearchPlan, limit: number, after: Cursor | null): Promise<Page<IntentRecord>> {
  const ranges = await searchRanges(d1, scope, plan, [], intentRow, { after, limit: limit + 1, ordered: true });
  const seen = new Set<string>();
  const rows: IntentRow[] =
    ranges.length === 1
      ? ranges[0]!
      : ranges
          .flat()
          .filter((r) => !seen.has(r.id) && seen.add(r.id) !== undefined)
          .sort((a, b) => b.created - a.created || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0))
          .slice(0, limit + 1);
  return { items: rows.slice(0, limit).map(intentFromRow), hasMore: rows.length > limit };
}

/**
 * Stripe's `total_count` of a search (`expand[]=total_count`), "only accurate up to 10,000" as
 * Stripe's is: the ids of the search's ranges (searchIntents' conditions, each branch of an OR), at
 * most SEARCH_TOTAL_LIMIT of each, their union counted; one index range per branch, never a scan.
 */
export async function countSearchIntents(d1: D1Database, scope: Scope, plan: SearchPlan): Promise<number> {
  const ranges = await searchRanges(d1, scope, plan, [], { id: paymentIntents.id }, { after: null, limit: SEARCH_TOTAL_LIMIT, ordered: false });
  return Math.min(new Set(ranges.flat().map((r) => r.id)).size, SEARCH_TOTAL_LIMIT);
}

/** An intent with a successful charge (the partial index payment_intents_charged) or a failed one (payment_intents_declined). */
function hasCharge(status: "succeeded" | "failed"): SQL {
  // A literal 0, not a bound value: the partial index's condition must be implied by the query's text.
  return status === "succeeded" ? isNotNull(paymentIntents.chargeAuthorizedAt) : sql`${paymentIntents.declinedCharges} > 0`;
}

/**
 * A page of the charge search: the intent search's plan over the intents that have a successful
 * charge (charge_authorized_at, set with it; the partial index payment_intents_charged holds them in
 * (created, id) order, so `status:'succeeded'` alone is a range of it), or a failed one
 * (declined_charges > 0; payment_intents_declined). Pages go by the intents' (created, id), as the
 * intent search's do.
 */
export async function searchCharges(d1: D1Database, scope: Scope, plan: SearchPlan, status: "succeeded" | "failed", limit: number, after: Cursor | null): Promise<Page<IntentRecord>> {
  return searchIntents(d1, scope, { ...plan, conditions: [...plan.conditions, hasCharge(status)] }, limit, after);
}

/**
 * The charge search's `total_count` (Stripe's, "only accurate up to 10,000"), from the ranges its pages
 * read: each status's index (payment_intents_charged, payment_intents_declined), each branch of an OR,
 * at most SEARCH_TOTAL_LIMIT intents each. An intent with a successful charge counts one; an intent's
 * failed charges count as many as it has (declined_charges). The index holds the intent's fields, so a
 * charge whose own metadata (POST /v1/charges/{id}) or a declined card's last4 differs from its intent's
 * is counted as its intent's index says, while the pages check each charge as rendered.
 */
export async function countSearchCharges(d1: D1Database, scope: Scope, plan: SearchPlan, statuses: readonly ("succeeded" | "failed")[]): Promise<number> {
  const columns = { id: paymentIntents.id, declined: paymentIntents.declinedCharges };
  let total = 0;
  for (const status of statuses) {
    const ranges = await searchRanges(d1, scope, plan, [hasCharge(status)], columns, { after: null, limit: SEARCH_TOTAL_LIMIT, ordered: false });
    const intents = new Map(ranges.flat().map((r) => [r.id, r.declined]));
    for (const declined of intents.values()) total += status === "succeeded" ? 1 : declined;
    if (total >= SEARCH_TOTAL_LIMIT) break;
  }
  return Math.min(total, SEARCH_TOTAL_LIMIT);
}

export interface RefundFilters {
  paymentIntent?: string;
  charge?: string;
  created?: CreatedFilter;
}

export async function listRefunds(d1: D1Database, scope: Scope, filters: RefundFilters, page: PageRequest): Promise<Page<StoredRefund>> {
  const where = [
    ...(filters.paymentIntent ? [eq(refunds.paymentIntent, filters.paymentIntent)] : []),
    ...(filters.charge ? [eq(refunds.charge, filters.charge)] : []),
    ...createdConditions(refunds.created, filters.created),
  ];
  return pageOf(d1, REFUNDS, scope, where, page, async (w, order, limit) =>
    (await drizzle(d1).select(refundRow).from(refunds).innerJoin(paymentIntents, eq(paymentIntents.id, refunds.paymentIntent)).where(w).orderBy(...order).limit(limit)).map(storedRefund),
  );
}

export async function findRefund(d1: D1Database, scope: Scope, id: string): Promise<StoredRefund | null> {
  const rows = await drizzle(d1)
    .select(refundRow)
    .from(refunds)
    .innerJoin(paymentIntents, eq(paymentIntents.id, refunds.paymentIntent))
    .where(and(eq(refunds.id, id), ...scoped(REFUNDS, scope)))
    .limit(1);
  return rows[0] ? storedRefund(rows[0]) : null;
}

/**
 * The intent that carries a payment method made for one payment (never saved): the intent it is on
 * now (payment_intents_payment_method), or the one whose charge was made or declined with it
 * (charges_payment_method), for GET /v1/payment_methods/{id}. Null when none of the merchant's does.
 */
export async function intentCarryingMethod(d1: D1Database, scope: Scope, paymentMethodId: string): Promise<IntentRecord | null> {
  const [current] = await drizzle(d1)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(eq(paymentIntents.paymentMethodId, paymentMethodId), eq(paymentIntents.merchantId, scope.merchantId), eq(paymentIntents.livemode, scope.livemode)))
    .limit(1);
  if (current) return intentFromRow(current);
  const [charged] = await drizzle(d1)
    .select(intentRow)
    .from(charges)
    .innerJoin(paymentIntents, eq(paymentIntents.id, charges.paymentIntent))
    .where(and(eq(charges.merchantId, scope.merchantId), eq(charges.livemode, scope.livemode), eq(charges.paymentMethod, paymentMethodId)))
    .limit(1);
  return charged ? intentFromRow(charged) : null;
}

export interface ChargeFilters {
  paymentIntent?: string;
  customer?: string;
  created?: CreatedFilter;
}

/** Charges are rendered from their intents: the list joins the charge index to the intent rows. */
/** A charge row: its id (the intent's one charge, or one of its declined authorizations) and its intent. */
export interface ChargeEntry {
  chargeId: string;
  intent: IntentRecord;
}

export async function listCharges(d1: D1Database, scope: Scope, filters: ChargeFilters, page: PageRequest): Promise<Page<ChargeEntry>> {
  const where = [
    ...(filters.paymentIntent ? [eq(charges.paymentIntent, filters.paymentIntent)] : []),
    ...(filters.customer ? [eq(charges.customer, filters.customer)] : []),
    ...createdConditions(charges.created, filters.created),
  ];
  return pageOf(d1, CHARGES, scope, where, page, async (w, order, limit) =>
    (
      await drizzle(d1)
        .select({ ...intentRow, chargeId: charges.id })
        .from(charges)
        .innerJoin(paymentIntents, eq(paymentIntents.id, charges.paymentIntent))
        .where(w)
        .orderBy(...order)
        .limit(limit)
    ).map((row) => ({ chargeId: row.chargeId, intent: intentFromRow(row) })),
  );
}

export interface EventFilters {
  /** Exact types or prefix wildcards (`payment_intent.*`); `*` is every type. Any of them matches. */
  types?: string[];
  paymentIntent?: string;
  created?: CreatedFilter;
  /** Stripe's delivery_success: true, events none of whose deliveries is pending or failed; false, the others. */
  deliverySuccess?: boolean;
}

/** A delivery not delivered (yet): the literal of the partial index webhook_deliveries_undelivered. */
const UNDELIVERED = sql`${webhookDeliveries.status} IN ('pending', 'failed')`;

function typeCondition(type: string, column: SQLiteColumn = events.type): SQL | null {
  if (type === "*") return null;
  return type.endsWith(".*") ? like(column, `${type.slice(0, -1)}%`) : eq(column, type);
}

/** Any of `types` (none, or `*` among them: every type), on `column`. */
function typesCondition(types: readonly string[], column: SQLiteColumn): SQL[] {
  const conditions = types.map((t) => typeCondition(t, column));
  return conditions.length && !conditions.includes(null) ? [or(...conditions.filter((t): t is SQL => t !== null)) as SQL] : [];
}

/**
 * Events with a delivery pending or failed (delivery_success=false), newest first: the page's event ids
 * are a range of webhook_deliveries_undelivered (merchant, mode, the event's created and id, its type),
 * which holds only the deliveries not delivered, grouped to one row an event; then the events, by id.
 */
async function listUndeliveredEvents(d1: D1Database, scope: Scope, filters: EventFilters, page: PageRequest): Promise<Page<EventRecord>> {
  const d = drizzle(d1);
  const conditions = [
    eq(webhookDeliveries.merchantId, scope.merchantId),
    eq(webhookDeliveries.livemode, scope.livemode),
    UNDELIVERED,
    ...typesCondition(filters.types ?? [], webhookDeliveries.eventType),
    ...createdConditions(webhookDeliveries.eventCreated, filters.created),
  ];
  const created = sql`${webhookDeliveries.eventCreated}`;
  let order = [desc(webhookDeliveries.eventCreated), desc(webhookDeliveries.eventId)];
  let reversed = false;
  if (page.endingBefore) {
    const cursor = await cursorOf(d1, EVENTS, scope, page.endingBefore, "ending_before");
    conditions.push(sql`(${created}, ${webhookDeliveries.eventId}) > (${cursor.created}, ${cursor.id})`);
    order = [asc(webhookDeliveries.eventCreated), asc(webhookDeliveries.eventId)];
    reversed = true;
  } else if (page.startingAfter) {
    const cursor = await cursorOf(d1, EVENTS, scope, page.startingAfter, "starting_after");
    conditions.push(sql`(${created}, ${webhookDeliveries.eventId}) < (${cursor.created}, ${cursor.id})`);
  }
  const rows = await d
    .select({ eventId: webhookDeliveries.eventId })
    .from(webhookDeliveries)
    .where(and(...conditions))
    .groupBy(webhookDeliveries.eventCreated, webhookDeliveries.eventId)
    .orderBy(...order)
    .limit(page.limit + 1);
  const ids = rows.slice(0, page.limit).map((r) => r.eventId);
  const found = ids.length
    ? (await d.select(eventRow).from(events).where(and(sql`${events.id} in (select value from json_each(${JSON.stringify(ids)}))`, ...scoped(EVENTS, scope)))).map(eventFromRow)
    : [];
  const byId = new Map(found.map((e) => [e.id, e]));
  // In the page's order (an event purged since leaves its place empty).
  const items = ids.flatMap((id) => byId.get(id) ?? []);
  return { items: reversed ? items.reverse() : items, hasMore: rows.length > page.limit };
}

/**
 * Events newest first. One exact type is a range of events_type, an intent's events one of
 * events_intent; wildcards and several types walk events_list in order, filtering as they go.
 */
export async function listEvents(d1: D1Database, scope: Scope, filters: EventFilters, page: PageRequest): Promise<Page<EventRecord>> {
  if (filters.deliverySuccess === false) return listUndeliveredEvents(d1, scope, filters, page);
  const where = [
    NOT_HELD,
    ...typesCondition(filters.types ?? [], events.type),
    ...(filters.paymentIntent ? [eq(events.paymentIntent, filters.paymentIntent)] : []),
    ...createdConditions(events.created, filters.created),
    // delivery_success=true: none of its deliveries waits or failed (a lookup of the event's deliveries,
    // webhook_deliveries_event_endpoint, per event walked: the undelivered are few).
    ...(filters.deliverySuccess === true
      ? [sql.raw(`NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = "events"."id" AND d.status IN ('pending', 'failed'))`)]
      : []),
  ];
  return pageOf(d1, EVENTS, scope, where, page, async (w, order, limit) =>
    (await drizzle(d1).select(eventRow).from(events).where(w).orderBy(...order).limit(limit)).map(eventFromRow),
  );
}
