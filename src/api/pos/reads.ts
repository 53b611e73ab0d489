// Seed 002's reads: GET /transactions (every filter of the seed, answered from indexed D1 columns of
// the read model, cursor = the last id of the page; an amount range with nothing selective pages by a
// bounded walk, see `walkPage`), GET /transactions/:id (the intent and its calls to the processor),
// GET /failed (default window 30 days, any window) and its counts: one row per failed payment, its
// retries that failed counted as its attempts (a retry is not a failed payment of its own there).
import { and, desc, eq, gte, inArray, isNotNull, isNull, lt, lte, sql, type SQL } from "drizzle-orm";
import { beyond } from "../../db/queries";
import { intentFromRow, intentRow } from "../../db/intent-row";
import { bounded } from "../../db/search";
import type { Hono } from "hono";
import { z } from "zod";
import type { Principal } from "../../auth/permissions";
import { hasPrefix } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import { paymentIntents } from "../../db/schema";
import { db } from "../../webhooks/store";
import { intentStub } from "../v1/respond";
import type { App, AppEnv, Ctx } from "../v1/route";
import { notFound, validation } from "./errors";
import { ERROR_REASONS, POS_STATUSES, renderFailed, renderHistory, renderIntentDetail, renderListItem, type PosStatus } from "./render";
import { posRoute } from "./surface";

const DAY_MS = 24 * 60 * 60 * 1000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// An ISO 8601 date-time with Z or an offset. In a query string an unencoded `+` arrives as a space:
// `2026-12-05T10:00:00+02:00` sent as is is read as that offset, not refused.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+\- ])(\d{2}):?(\d{2}))$/;

/** A date or date-time of the query: its instant, and whether it named a whole day (YYYY-MM-DD). */
export interface QueryDate {
  at: number;
  day: boolean;
}

/** YYYY-MM-DD (a UTC day) or an ISO 8601 date-time with Z or an offset; null if neither (or no such date). */
export function parseQueryDate(value: string): QueryDate | null {
  const d = DATE_ONLY.exec(value);
  const t = d ? null : DATE_TIME.exec(value);
  const m = d ?? t;
  if (!m) return null;
  const [year, month, dayOfMonth, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? "0")) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || dayOfMonth < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const midnight = Date.UTC(year, month - 1, dayOfMonth);
  // Date.UTC rolls 2026-02-30 over into March: such a day does not exist.
  if (new Date(midnight).getUTCDate() !== dayOfMonth || new Date(midnight).getUTCMonth() !== month - 1) return null;
  if (!t) return { at: midnight, day: true };
  const millis = Number((t[7] ?? "").padEnd(3, "0").slice(0, 3));
  let offset = 0;
  if (!t[8]) {
    const [oh, om] = [Number(t[10]), Number(t[11])];
    if (oh > 23 || om > 59) return null;
    offset = (t[9] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return { at: midnight + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset, day: false };
}

/** One detail, whatever is wrong with the value. */
const date = (name: string) =>
  z.string({ error: `${name} must be a string` }).transform((value, ctx): QueryDate => {
    const parsed = parseQueryDate(value);
    if (parsed) return parsed;
    ctx.addIssue({ code: "custom", message: `${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time with Z or an offset (e.g. 2026-12-05T00:00:00Z)` });
    return z.NEVER;
  });

/** The end of the window dateTo gives (exclusive): the end of its day, or just after its instant. */
const windowEnd = (to: QueryDate | undefined) => (to === undefined ? undefined : to.day ? to.at + DAY_MS : to.at + 1);
const int = (name: string, min: number, max: number) =>
  z
    .string()
    // A negative integer is out of range (it is an integer); a fraction or a word is not one.
    .regex(/^\d{1,12}$/, { error: (issue) => (/^-\d+$/.test(String(issue.input)) ? `${name} must be between ${min} and ${max}` : `${name} must be an integer`) })
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be between ${min} and ${max}`).max(max, `${name} must be between ${min} and ${max}`));
const text = (max = 255) => z.string().min(1).max(max);

const TransactionsQuery = z.object({
  status: z.enum(POS_STATUSES as unknown as [PosStatus, ...PosStatus[]], { error: `status must be one of ${POS_STATUSES.join(", ")}` }).optional(),
  dateFrom: date("dateFrom").optional(),
  dateTo: date("dateTo").optional(),
  amountMinCents: int("amountMinCents", 0, 99_999_999_999).optional(),
  amountMaxCents: int("amountMaxCents", 0, 99_999_999_999).optional(),
  cardLast4: z.string().regex(/^\d{4}$/, "cardLast4 must be 4 digits").optional(),
  customerId: text().optional(),
  orderId: text().optional(),
  locationId: text().optional(),
  cursor: text(100).optional(),
  limit: int("limit", 1, 100).optional(),
});

const FailedQuery = z.object({
  counts: z.enum(["true", "false"], { error: "counts must be true or false" }).optional(),
  dateFrom: date("dateFrom").optional(),
  dateTo: date("dateTo").optional(),
  customerId: text().optional(),
  locationId: text().optional(),
  cursor: text(100).optional(),
  limit: int("limit", 1, 100).optional(),
});

const Answer = z.object({ data: z.unknown(), meta: z.object({ cursor: z.string().nullable(), hasMore: z.boolean() }).optional() });

const failed = isNotNull(paymentIntents.failureReason);
const errorReason = inArray(paymentIntents.failureReason, [...ERROR_REASONS]);

function scope(principal: Principal): SQL[] {
  return [
    eq(paymentIntents.merchantId, principal.merchantId),
    eq(paymentIntents.livemode, principal.livemode),
    // A customer's token sees only its own payments.
    ...(principal.customerId ? [eq(paymentIntents.customer, principal.customerId)] : []),
  ];
}

interface Page {
  items: IntentRecord[];
  cursor: string | null;
  hasMore: boolean;
}

/** The condition "older than the cursor" (an id of the merchant's, resolved to its (created, id)). */
async function pastCursor(c: Ctx, principal: Principal, cursor: string | undefined): Promise<SQL[]> {
  if (!cursor) return [];
  const [cur] = hasPrefix(cursor, "pi")
    ? await db(c.env.DB).select({ created: paymentIntents.created }).from(paymentIntents).where(and(eq(paymentIntents.id, cursor), ...scope(principal))).limit(1)
    : [];
  if (!cur) throw validation("Invalid cursor: use meta.cursor from a previous page.", "cursor");
  return [beyond(paymentIntents.created, paymentIntents.id, { created: cur.created, id: cursor }, "older")];
}

/** The retries of a page's failed payments, by the payment they retry, oldest first (ranges of payment_intents_retries). */
async function retriesOf(c: Ctx, principal: Principal, originals: IntentRecord[]): Promise<Map<string, IntentRecord[]>> {
  const byOriginal = new Map<string, IntentRecord[]>();
  if (originals.length === 0) return byOriginal;
  const rows = await db(c.env.DB)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(inArray(paymentIntents.retryOf, originals.map((i) => i.id)), eq(paymentIntents.merchantId, principal.merchantId), eq(paymentIntents.livemode, principal.livemode)));
  // Ordered here: an ORDER BY over several ranges (IN) would sort them in a temp B-tree.
  const retries = rows.map(intentFromRow).sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const retry of retries) {
    if (!retry.retryOf) continue;
    const list = byOriginal.get(retry.retryOf) ?? [];
    list.push(retry);
    byOriginal.set(retry.retryOf, list);
  }
  return byOriginal;
}

/** One page, newest first; the cursor is the last id of the previous page. */
async function page(c: Ctx, principal: Principal, where: SQL[], limit: number, cursor: string | undefined): Promise<Page> {
  const rows = await db(c.env.DB)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(...where, ...(await pastCursor(c, principal, cursor))))
    .orderBy(desc(paymentIntents.created), desc(paymentIntents.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(intentFromRow);
  const hasMore = rows.length > limit;
  return { items, hasMore, cursor: hasMore ? (items[items.length - 1]?.id ?? null) : null };
}

/**
 * The tip, which the read model keeps only in the record (`data`): the amount a row shows (seed 002's
 * amountCents, render.ts's baseAmount) is the column `amount` (what is charged) less it. A row written
 * before tips were kept has none.
 */
const tipSql = sql<number>`coalesce(json_extract(${paymentIntents.data}, '$.tipAmount'), 0)`;
const shownAmount = sql<number>`(+${paymentIntents.amount} - ${tipSql})`;

/**
 * The tip of a row the walk reads, where it can change whether the row is in the range; else 0. The
 * amount less the tip is at most the amount: below the minimum, a row is out whatever its tip, and,
 * with no minimum, at most the maximum it is in. Only the other rows are read from the table (the
 * tip is in `data`); the rest are decided from the index entry alone.
 */
function walkedTip(amount: { min: number | undefined; max: number | undefined }): SQL<number | null> {
  const decided = amount.min !== undefined ? sql`${paymentIntents.amount} < ${amount.min}` : sql`${paymentIntents.amount} <= ${amount.max ?? 0}`;
  return sql<number | null>`CASE WHEN ${decided} THEN 0 ELSE ${tipSql} END`;
}

/** The most rows a page of `walkPage` reads from the index (test/api/pos/pos.test.ts pages by it). */
const AMOUNT_WALK_ROWS = 1000;

/**
 * A page of an amount range with nothing selective (no card, customer or order, no window of at most
 * 31 days). The seed lets a client send `amountMinCents` alone, but no index gives the merchant's
 * payments of an amount range newest first: one query would walk the list index (or the status's or
 * location's) testing each row until it found a page of matches, that is the merchant's whole history
 * when the range is rare, and no request may do that (docs/scaling.md). So a page walks at most
 * AMOUNT_WALK_ROWS rows of the index the other filters select (newest first, after the cursor, within
 * the date window if any), reading id, created and amount (in payment_intents_list's entries) and, only
 * where the amount alone does not decide, the row's tip (walkedTip), keeps those whose shown amount
 * (amount - tip) is in range, takes the first `limit + 1` of them (the last one only tells that there is more) and
 * reads the first `limit` in full by id, in one query (a SEARCH by primary key each). When the walk
 * ends before a full page, with history left, the page is partial (fewer than `limit` items, even none)
 * with `hasMore` and the cursor of the last row walked, match or not: the next page goes on from there,
 * so a client looping on `hasMore` gets every match once, in order, each request bounded work. Stripe's
 * search pages the same way (a page may hold fewer than `limit` with `has_more`).
 */
async function walkPage(c: Ctx, principal: Principal, where: SQL[], amount: { min: number | undefined; max: number | undefined }, limit: number, cursor: string | undefined): Promise<Page> {
  const walked = await db(c.env.DB)
    .select({ id: paymentIntents.id, created: paymentIntents.created, amount: paymentIntents.amount, tip: walkedTip(amount) })
    .from(paymentIntents)
    .where(and(...where, ...(await pastCursor(c, principal, cursor))))
    .orderBy(desc(paymentIntents.created), desc(paymentIntents.id))
    .limit(AMOUNT_WALK_ROWS);
  const shown = (r: { amount: number; tip: number | null }) => r.amount - Number(r.tip ?? 0);
  const matched = walked.filter((r) => (amount.min === undefined || shown(r) >= amount.min) && (amount.max === undefined || shown(r) <= amount.max)).slice(0, limit + 1);
  const ids = matched.slice(0, limit).map((r) => r.id);
  const rows = ids.length
    ? await db(c.env.DB)
        .select(intentRow)
        .from(paymentIntents)
        .where(sql`${paymentIntents.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)
    : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  // The walk's order, (created desc, id desc).
  const items = ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [intentFromRow(row)] : [];
  });
  if (matched.length > limit) return { items, hasMore: true, cursor: ids[ids.length - 1] ?? null };
  // Fewer than a page matched: history remains only if the walk stopped at its bound.
  const last = walked[walked.length - 1];
  if (walked.length === AMOUNT_WALK_ROWS && last) return { items, hasMore: true, cursor: last.id };
  return { items, hasMore: false, cursor: null };
}

/** The created window [from, end): `end` is windowEnd(dateTo). `fromGiven`: the client sent dateFrom (else it is a default). */
function dateRange(from: number | undefined, end: number | undefined, fromGiven = true): SQL[] {
  if (fromGiven && from !== undefined && end !== undefined && end <= from) throw validation("dateTo must not be before dateFrom.", "dateTo");
  return [...(from !== undefined ? [gte(paymentIntents.created, from)] : []), ...(end !== undefined ? [lt(paymentIntents.created, end)] : [])];
}

export function registerPosReads(app: App, sub: Hono<AppEnv>): void {
  posRoute(
    app,
    sub,
    { method: "get", path: "/payments/transactions", permission: "payments.transactions.view", customers: true, summary: "Search payments (status, dates, amount range, card last4, customer, order, location; cursor)", query: TransactionsQuery, response: Answer },
    async (c, { principal, query }) => {
      if (query.amountMinCents !== undefined && query.amountMaxCents !== undefined && query.amountMaxCents < query.amountMinCents) throw validation("amountMaxCents must not be below amountMinCents.", "amountMaxCents");
      const amountRange = query.amountMinCents !== undefined || query.amountMaxCents !== undefined;
      const selectiveFilter = Boolean(query.cardLast4 || query.customerId || query.orderId) || principal.customerId !== null;
      // An amount range is served by one query when a selective filter or a window of at most 31 days
      // bounds the rows it tests; otherwise by a bounded walk (walkPage).
      const end = windowEnd(query.dateTo);
      const oneQuery = bounded(amountRange, selectiveFilter, query.dateFrom?.at, end);
      const where: SQL[] = [
        ...scope(principal),
        // Every status is a range of payment_intents_pos_status (the generated column, migration 0037).
        ...(query.status ? [eq(paymentIntents.posStatus, query.status)] : []),
        ...dateRange(query.dateFrom?.at, end),
        ...(query.cardLast4 ? [eq(paymentIntents.cardLast4, query.cardLast4)] : []),
        ...(query.customerId ? [eq(paymentIntents.customer, query.customerId)] : []),
        ...(query.orderId ? [eq(paymentIntents.orderId, query.orderId)] : []),
        ...(query.locationId ? [eq(paymentIntents.locationId, query.locationId)] : []),
      ];
      const limit = query.limit ?? 25;
      const result = oneQuery
        ? await page(
            c,
            principal,
            [
              ...where,
              // The range is of the amount the rows show (amountCents, the tip left out: amount - tip).
              // `+amount`: a range of payment_intents_amount would be sorted by created; the filter's other
              // index (or the list index in the date window) gives the order. A minimum is first tested on
              // the amount alone (the tip only lowers it), from the index entry: the row, for its tip, only
              // when that passes.
              ...(query.amountMinCents !== undefined ? [gte(sql`+${paymentIntents.amount}`, query.amountMinCents), gte(shownAmount, query.amountMinCents)] : []),
              ...(query.amountMaxCents !== undefined ? [lte(shownAmount, query.amountMaxCents)] : []),
            ],
            limit,
            query.cursor,
          )
        : await walkPage(c, principal, where, { min: query.amountMinCents, max: query.amountMaxCents }, limit, query.cursor);
      return c.json({ data: result.items.map(renderListItem), meta: { cursor: result.cursor, hasMore: result.hasMore } });
    },
  );

  posRoute(
    app,
    sub,
    { method: "get", path: "/payments/transactions/{id}", permission: "payments.transactions.view", customers: true, summary: "A payment with its full history of processor calls", response: Answer },
    async (c, { principal, params }) => {
      const id = params.id ?? "";
      if (!hasPrefix(id, "pi")) throw notFound(`No such payment: '${id.slice(0, 80)}'.`);
      const intent = await intentStub(c.env, id).retrieve(principal, id);
      if (!intent || (principal.customerId && intent.customer !== principal.customerId)) throw notFound(`No such payment: '${id}'.`);
      return c.json({ data: { intent: renderIntentDetail(intent), transactions: renderHistory(intent) } });
    },
  );

  posRoute(
    app,
    sub,
    { method: "get", path: "/payments/failed", permission: "payments.transactions.view", summary: "Failed payments (declined or error) not yet resolved; ?counts=true for the counts only", query: FailedQuery, response: Answer },
    async (c, { principal, query }) => {
      // Only dateTo, on or before the default dateFrom's day (30 days ago): the window holds nothing (or
      // the rest of that day), which is an answer, not a 400 about a dateFrom the client never sent.
      const from = query.dateFrom?.at ?? Date.now() - 30 * DAY_MS;
      // Any window: the list and the counts are ranges of the partial indexes payment_intents_failed and
      // payment_intents_failed_reasons, which hold the failed payments only, never the whole history.
      const where: SQL[] = [
        ...scope(principal),
        failed,
        isNull(paymentIntents.resolution),
        // A retry that failed is another attempt at its original, counted there (renderFailed).
        isNull(paymentIntents.retryOf),
        ...dateRange(from, windowEnd(query.dateTo), query.dateFrom !== undefined),
        ...(query.customerId ? [eq(paymentIntents.customer, query.customerId)] : []),
        ...(query.locationId ? [eq(paymentIntents.locationId, query.locationId)] : []),
      ];
      if (query.counts === "true") {
        const [row] = await db(c.env.DB)
          .select({ total: sql<number>`count(*)`, error: sql<number>`coalesce(sum(case when ${errorReason} then 1 else 0 end), 0)` })
          .from(paymentIntents)
          .where(and(...where));
        const total = Number(row?.total ?? 0);
        const error = Number(row?.error ?? 0);
        return c.json({ data: { total, declined: total - error, error } });
      }
      const result = await page(c, principal, where, query.limit ?? 25, query.cursor);
      const retries = await retriesOf(c, principal, result.items);
      return c.json({ data: result.items.map((intent) => renderFailed(intent, retries.get(intent.id) ?? [])), meta: { cursor: result.cursor, hasMore: result.hasMore } });
    },
  );
}
