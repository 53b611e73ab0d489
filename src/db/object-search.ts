// Stripe's search query language for the objects other than payment intents (customers, products,
// prices, subscriptions, invoices): one parser, one planner and one reader, each resource naming its
// fields. Clauses: `field:'value'` (exact), `field~'value'` (contains, where a field takes it),
// `field>1000` (integers and `created`, Unix seconds), `metadata['key']:'value'`, `-` before a clause
// to negate it; joined by AND or by OR (not both, as at Stripe). Values are bound, never spliced.
//
// Every condition set is served by an index range in (created, id) order (issue 15): an exact clause
// on a field with an index of its own, a `created` range of the list index, or a metadata clause
// through object_metadata's index. A clause no index serves (a contains clause, a negation, an
// integer range) is a filter: it needs a selective exact clause beside it or a created window of at
// most 31 days, else the search is a 400 naming what to add; an OR joins only indexed clauses.
import { and, desc, eq, getTableColumns, gte, inArray, like, lt, not, notInArray, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { ApiError, invalidRequest } from "../core/errors";
import type { Scope } from "../core/types";
import { beyond, cursorOf, SEARCH_TOTAL_LIMIT, type Cursor, type Listable, type Page } from "./queries";
import { objectMetadata } from "./schema";
import { bounded, MAX_WINDOW_DAYS, unboundedMessage } from "./search";
import { newestFirst } from "./shards";

export type Operator = ":" | "~" | ">" | ">=" | "<" | "<=";

export interface Clause {
  field: string;
  metadataKey: string | null;
  operator: Operator;
  value: string;
  negated: boolean;
}

/**
 * How a clause is served: `selective`, an equality on an index of its own over a column with many
 * values (it bounds the filters beside it); `indexed`, a range of an index of its own over a column
 * with few values (status, active, currency); `filter`, no index: a condition on the rows another
 * clause's range reads.
 */
export type Served = "selective" | "indexed" | "filter";

export interface Condition {
  sql: SQL;
  served: Served;
}

/** A field of a resource's search: the condition of one of its clauses, or a 400 for what it refuses. */
export type Field = (clause: Clause) => Condition;

export interface Searchable {
  /** The resource as Stripe names it in its search errors (`products`). */
  resource: string;
  list: Listable;
  /** Conditions every range holds (customers: not deleted). */
  base?: SQL[];
  fields: Record<string, Field>;
  /** object_metadata's `object` for metadata['key'] clauses; absent: they are refused with `noMetadata`. */
  metadataObject?: string;
  noMetadata?: string;
  /** For the 400s: the clauses that bound a filter ("an exact name: clause"), and those an OR may join. */
  selectiveHint: string;
  indexedHint: string;
}

/** One condition set: a range of one index, read to the page's end. */
export interface Branch {
  conditions: SQL[];
  /** The positive `created` clauses' window [from, to) in milliseconds, on the driving index. */
  from: number | null;
  to: number | null;
  /** A `metadata['key']:'value'` clause that drives the range from object_metadata. */
  metadata: { key: string; value: string } | null;
}

const MAX_CLAUSES = 10;

function bad(message: string, code = "search_query_invalid"): never {
  throw invalidRequest(`Invalid search query: ${message}`, "query", code);
}

/** The field as the query wrote it, for messages: `name~`, `-metadata['plan']:`. */
export function clauseName(c: Clause): string {
  return `${c.negated ? "-" : ""}${c.metadataKey !== null ? `metadata['${c.metadataKey}']` : c.field}${c.operator}`;
}

const CLAUSE =
  /^(-)?(metadata\[(?:'([^'\]]{1,40})'|"([^"\]]{1,40})")\]|[A-Za-z_][A-Za-z0-9_.]{0,60})\s*(>=|<=|:|~|>|<)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))/;

/**
 * The clauses of a query and how they are joined. Clause by clause, so a quoted value may hold
 * " and " or " or " (a customer named "Barnes and Noble").
 */
export function parseClauses(query: string): { clauses: Clause[]; joiner: "AND" | "OR" } {
  let rest = query.trim();
  if (!rest) bad("the query is empty.");
  const clauses: Clause[] = [];
  let joiner: "AND" | "OR" | null = null;
  for (;;) {
    const m = CLAUSE.exec(rest);
    if (!m) bad(`cannot read the clause '${rest.slice(0, 80)}'. Use e.g. name:'Pro', metadata['plan']:'gold' or created>=1735689600, joined by AND or by OR.`);
    const [whole, minus, fieldText, key1, key2, operator, single, double, bare] = m;
    const metadataKey = key1 ?? key2 ?? null;
    clauses.push({
      field: metadataKey !== null ? "metadata" : (fieldText ?? ""),
      metadataKey,
      operator: operator as Operator,
      value: (single ?? double ?? bare ?? "").replace(/\\(.)/g, "$1"),
      negated: minus === "-",
    });
    const after = rest.slice(whole.length);
    rest = after.trim();
    if (!rest) break;
    const next = /^(AND|OR)\s+/i.exec(rest);
    // Clauses separated by a space alone are ANDed, as at Stripe (`email:'a@b.c' name:'Jo'`).
    if (!next && !/^\s/.test(after)) bad(`expected a space, AND or OR between clauses, found '${rest.slice(0, 40)}'.`);
    const word = next?.[1]?.toUpperCase() === "OR" ? "OR" : "AND";
    if (joiner && joiner !== word) bad("a query cannot mix AND and OR (as at Stripe; clauses separated by a space are ANDed): use one of them.");
    joiner = word;
    rest = next ? rest.slice(next[0].length) : rest;
  }
  if (clauses.length > MAX_CLAUSES) bad(`at most ${MAX_CLAUSES} clauses are supported.`);
  return { clauses, joiner: joiner ?? "AND" };
}

function onlyOperators(c: Clause, allowed: readonly Operator[]): void {
  if (!allowed.includes(c.operator)) bad(`the field \`${c.field}\` takes ${allowed.map((o) => `'${o}'`).join(" or ")}, not '${c.operator}'.`);
}

/** An exact clause negated: also true where the field is empty (null), as Stripe's. */
function notEqual(column: SQLiteColumn, value: unknown): SQL {
  return sql`coalesce(${column} != ${value}, 1)`;
}

/**
 * A text field: `:` an equality (served as `served` says), `~` a contains clause when `contains`
 * (always a filter). `values` lists what it may hold (else a 400 naming them); `normalize` maps a value
 * to the column's form (currencies: lower case).
 */
export function textField(column: SQLiteColumn, served: Served, options: { contains?: boolean; values?: readonly string[]; normalize?: (v: string) => string } = {}): Field {
  return (c) => {
    onlyOperators(c, options.contains ? [":", "~"] : [":"]);
    const value = options.normalize ? options.normalize(c.value) : c.value;
    if (c.operator === "~") {
      // LIKE's wildcards in the value are dropped: it is a substring, not a pattern.
      const pattern = `%${value.replace(/[%_]/g, "")}%`;
      return { sql: c.negated ? sql`coalesce(${column} NOT LIKE ${pattern}, 1)` : like(column, pattern), served: "filter" };
    }
    if (options.values && !options.values.includes(value)) bad(`\`${c.field}\` is one of ${options.values.join(", ")}; '${value.slice(0, 40)}' is none of them.`);
    return c.negated ? { sql: notEqual(column, value), served: "filter" } : { sql: eq(column, value), served };
  };
}

/** A boolean field (`active:'true'`): a range of its index. */
export function booleanField(column: SQLiteColumn, served: Served = "indexed"): Field {
  return (c) => {
    onlyOperators(c, [":"]);
    if (c.value !== "true" && c.value !== "false") bad(`\`${c.field}\` is 'true' or 'false', not '${c.value.slice(0, 40)}'.`);
    const value = c.value === "true";
    return c.negated ? { sql: eq(column, !value), served: "filter" } : { sql: eq(column, value), served };
  };
}

/**
 * A field whose values are conditions of their own (a price's type: one_time or recurring), each
 * the condition of a partial index, written as its literal so the planner can use it.
 */
export function conditionField(values: Record<string, SQL>, served: Served = "indexed"): Field {
  return (c) => {
    onlyOperators(c, [":"]);
    const condition = values[c.value];
    if (!condition) bad(`\`${c.field}\` is one of ${Object.keys(values).join(", ")}; '${c.value.slice(0, 40)}' is none of them.`);
    return c.negated ? { sql: not(condition), served: "filter" } : { sql: condition, served };
  };
}

function integerOf(c: Clause): number {
  if (!/^\d{1,15}$/.test(c.value)) bad(`\`${c.field}\` must be compared with a whole number, not '${c.value.slice(0, 40)}'.`);
  return Number(c.value);
}

/**
 * An integer field (an invoice's total): `:` a range of its index; `>`, `>=`, `<`, `<=` a filter. A
 * range of values is not written as one (`+column` keeps the planner off that index): read in
 * (created, id) order it would sort every value past the bound, where the range it filters stops at
 * the page's end.
 */
export function integerField(column: SQLiteColumn, served: Served = "selective"): Field {
  return (c) => {
    onlyOperators(c, [":", ">", ">=", "<", "<="]);
    const n = integerOf(c);
    if (c.operator === ":") return c.negated ? { sql: notEqual(column, n), served: "filter" } : { sql: eq(column, n), served };
    // The operator is one of the four checked above, never the query's text.
    const operator = c.operator === ">" ? ">" : c.operator === ">=" ? ">=" : c.operator === "<" ? "<" : "<=";
    const condition = sql`+${column} ${sql.raw(operator)} ${n}`;
    return { sql: c.negated ? not(condition) : condition, served: "filter" };
  };
}

/** A field of Stripe's that this gateway does not serve: a 400 naming it and why. */
export function unsupportedField(why: string): Field {
  return (c) => bad(`the field \`${c.field}\` is not supported here: ${why}`);
}

/** The [from, to) milliseconds of a positive `created` clause. */
function createdBounds(c: Clause): { from: number | null; to: number | null } {
  if (!/^\d{1,12}$/.test(c.value)) bad(`\`created\` is compared with Unix seconds, for example created>=1735689600; not '${c.value.slice(0, 40)}'.`);
  const ms = Number(c.value) * 1000;
  switch (c.operator) {
    case ":":
      return { from: ms, to: ms + 1000 };
    case ">":
      return { from: ms + 1000, to: null };
    case ">=":
      return { from: ms, to: null };
    case "<":
      return { from: null, to: ms };
    case "<=":
      return { from: null, to: ms + 1000 };
    default:
      return bad("`created` takes ':', '>', '>=', '<' or '<='.");
  }
}

function metadataMatches(scope: Scope, object: string, key: string, value: string): SQL {
  return sql`(select ${objectMetadata.objectId} from ${objectMetadata} where ${and(
    eq(objectMetadata.merchantId, scope.merchantId),
    eq(objectMetadata.livemode, scope.livemode),
    eq(objectMetadata.object, object),
    eq(objectMetadata.key, key),
    eq(objectMetadata.value, value),
  )})`;
}

/** A clause as a condition of the resource (created and metadata are every resource's). */
function conditionOf(target: Searchable, scope: Scope, c: Clause): Condition {
  if (c.field === "created") {
    const { from, to } = createdBounds(c);
    const range = and(...(from !== null ? [gte(target.list.created, from)] : []), ...(to !== null ? [lt(target.list.created, to)] : [])) ?? sql`1`;
    return c.negated ? { sql: not(range), served: "filter" } : { sql: range, served: "indexed" };
  }
  if (c.field === "metadata") {
    if (!target.metadataObject) bad(`the field \`metadata\` is not supported here: ${target.noMetadata ?? `${target.resource} cannot be searched by metadata.`}`);
    onlyOperators(c, [":"]);
    const matches = metadataMatches(scope, target.metadataObject, c.metadataKey ?? "", c.value);
    return c.negated ? { sql: notInArray(target.list.id, matches), served: "filter" } : { sql: inArray(target.list.id, matches), served: "selective" };
  }
  const field = target.fields[c.field];
  if (!field) bad(`the field \`${c.field.slice(0, 60)}\` is an unsupported search field for ${target.resource}. Search by ${[...Object.keys(target.fields), "metadata", "created"].join(", ")}.`);
  return field(c);
}

const positiveCreated = (c: Clause) => c.field === "created" && !c.negated;
const driver = (c: Clause) => c.field === "metadata" && !c.negated && c.operator === ":";

/** The positive created clauses' window (their intersection). */
function windowOf(clauses: Clause[]): { from: number | null; to: number | null } {
  let from: number | null = null;
  let to: number | null = null;
  for (const c of clauses.filter(positiveCreated)) {
    const b = createdBounds(c);
    if (b.from !== null) from = from === null ? b.from : Math.max(from, b.from);
    if (b.to !== null) to = to === null ? b.to : Math.min(to, b.to);
  }
  return { from, to };
}

/** One branch of clauses joined by AND: the first positive metadata clause drives it (when the resource has the side table). */
function branchOf(target: Searchable, scope: Scope, clauses: Clause[]): Branch {
  const lead = target.metadataObject ? clauses.find(driver) : undefined;
  const { from, to } = windowOf(clauses);
  const conditions = clauses.filter((c) => c !== lead && !positiveCreated(c)).map((c) => conditionOf(target, scope, c).sql);
  return { conditions, from, to, metadata: lead ? { key: lead.metadataKey ?? "", value: lead.value } : null };
}

/**
 * The condition sets of a search: one for AND, one per clause for OR (their union is merged newest
 * first). Refuses, with a 400 naming what to add, what no index range could serve.
 */
export function planSearch(target: Searchable, scope: Scope, query: string, now = Date.now()): Branch[] {
  const { clauses, joiner } = parseClauses(query);
  const served = clauses.map((c) => ({ clause: c, ...conditionOf(target, scope, c) }));
  if (joiner === "OR" && clauses.length > 1) {
    const filter = served.find((s) => s.served === "filter");
    if (filter) {
      bad(
        `an OR query can only join clauses that have an index of their own (${target.indexedHint}); '${clauseName(filter.clause)}' has none. Run it as a separate search joined by AND, bounded by ${target.selectiveHint} or a created window (created>=... AND created<..., at most ${MAX_WINDOW_DAYS} days apart).`,
        "search_query_unbounded",
      );
    }
    return clauses.map((c) => branchOf(target, scope, [c]));
  }
  const residual = served.filter((s) => s.served === "filter");
  const { from, to } = windowOf(clauses);
  if (!bounded(residual.length > 0, served.some((s) => s.served === "selective"), from, to, now)) {
    const names = residual.map((s) => clauseName(s.clause)).join(", ");
    bad(unboundedMessage(names, `${target.selectiveHint} or a created window, for example created>=1735689600 AND created<1738368000 (the end defaults to now)`), "search_query_unbounded");
  }
  return [branchOf(target, scope, clauses)];
}

/**
 * A resource's rows for one range: `viaMetadata`, from object_metadata joined to the resource's table
 * (the WHERE and ORDER BY name both); else from the table.
 */
export type SearchRows<Row> = (where: SQL | undefined, order: SQL[], limit: number, viaMetadata: boolean) => Promise<Row[]>;

/** The rows of `table`, read from it or through object_metadata's index (its columns only, by primary key). */
export function tableRows<T extends SQLiteTable & { id: SQLiteColumn }>(d1: D1Database, table: T): SearchRows<T["$inferSelect"]> {
  return async (where, order, limit, viaMetadata) => {
    const db = drizzle(d1);
    if (!viaMetadata) return (await db.select().from(table as SQLiteTable).where(where).orderBy(...order).limit(limit)) as T["$inferSelect"][];
    const columns = getTableColumns(table as SQLiteTable);
    return (await db.select(columns).from(objectMetadata).innerJoin(table as SQLiteTable, eq(table.id, objectMetadata.objectId)).where(where).orderBy(...order).limit(limit)) as T["$inferSelect"][];
  };
}

/** The position of the row a search page ends with (`page` is its id, as next_page gives it). */
async function pageCursor(d1: D1Database, target: Searchable, scope: Scope, page: string): Promise<Cursor> {
  try {
    return await cursorOf(d1, target.list, scope, page, "page");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw invalidRequest("Invalid page: use the next_page of a previous search result.", "page", "search_page_invalid");
    throw err;
  }
}

/**
 * A page of a search: each branch is one index range read to the page's end (the list index, a
 * field's, or object_metadata's), scoped to the merchant and mode; their union is merged newest first.
 */
export async function searchPage<Row extends { id: string; created: number }>(
  d1: D1Database,
  target: Searchable,
  scope: Scope,
  request: { query: string; limit: number; page?: string },
  rows: SearchRows<Row>,
): Promise<Page<Row>> {
  const branches = planSearch(target, scope, request.query);
  const after = request.page ? await pageCursor(d1, target, scope, request.page) : null;
  const ranges = await Promise.all(
    branches.map((b) => {
      const { where, created, id } = branchRange(target, scope, b, after);
      return rows(where, [desc(created), desc(id)], request.limit + 1, b.metadata !== null);
    }),
  );
  const union = [...new Map(ranges.flat().map((row) => [row.id, row])).values()].sort(newestFirst);
  return { items: union.slice(0, request.limit), hasMore: union.length > request.limit || ranges.some((r) => r.length > request.limit) };
}

/** A branch's index range: its conditions (the window and the cursor on the index that drives it), and that index's columns. */
function branchRange(target: Searchable, scope: Scope, b: Branch, after: Cursor | null): { where: SQL | undefined; created: SQLiteColumn; id: SQLiteColumn } {
  const t = target.list;
  const created = b.metadata ? objectMetadata.created : t.created;
  const id = b.metadata ? objectMetadata.objectId : t.id;
  const conditions = [
    ...(b.metadata && target.metadataObject
      ? [
          eq(objectMetadata.merchantId, scope.merchantId),
          eq(objectMetadata.livemode, scope.livemode),
          eq(objectMetadata.object, target.metadataObject),
          eq(objectMetadata.key, b.metadata.key),
          eq(objectMetadata.value, b.metadata.value),
        ]
      : []),
    eq(t.merchantId, scope.merchantId),
    eq(t.livemode, scope.livemode),
    ...(target.base ?? []),
    ...b.conditions,
    ...(b.from !== null ? [gte(created, b.from)] : []),
    ...(b.to !== null ? [lt(created, b.to)] : []),
    ...(after ? [beyond(created, id, after, "older")] : []),
  ];
  return { where: and(...conditions), created, id };
}

/**
 * Stripe's `total_count` of a search (`expand[]=total_count`), "only accurate up to 10,000" as
 * Stripe's is: the ids of each branch's index range (searchPage's, without a page), at most
 * SEARCH_TOTAL_LIMIT of each, their union counted.
 */
export async function searchTotal(d1: D1Database, target: Searchable, scope: Scope, query: string, table: SQLiteTable): Promise<number> {
  const db = drizzle(d1);
  const ranges = await Promise.all(
    planSearch(target, scope, query).map((b) => {
      const { where, id } = branchRange(target, scope, b, null);
      const ids = db.select({ id }).from(b.metadata ? objectMetadata : table);
      return (b.metadata ? ids.innerJoin(table, eq(target.list.id, objectMetadata.objectId)) : ids).where(where).limit(SEARCH_TOTAL_LIMIT);
    }),
  );
  return Math.min(new Set(ranges.flat().map((r) => String(r.id))).size, SEARCH_TOTAL_LIMIT);
}

/** Stripe's search result object (with `total_count` when `expand[]=total_count` asked for it). */
export function searchResult<Row extends { id: string }>(url: string, page: Page<Row>, data: unknown[], total?: number): SearchResultJson {
  const last = page.items[page.items.length - 1];
  return { object: "search_result", data, has_more: page.hasMore, next_page: page.hasMore && last ? last.id : null, url, ...(total !== undefined ? { total_count: total } : {}) };
}

export interface SearchResultJson {
  object: "search_result";
  data: unknown[];
  has_more: boolean;
  next_page: string | null;
  url: string;
  total_count?: number;
}

