// Statements of the hot write path, built once by drizzle with named placeholders and bound per call.
// Building a statement through drizzle's query builders cost more CPU than D1's write itself: about
// 1.2 ms per intent write, most of the Worker's own time in a create beside the Durable Object's
// storage (profiled under `npm run bench`). The text of these statements never changes, so drizzle
// builds each one the first time it is used, and each later call only binds its values (drizzle's
// own encoders still map them: a boolean column still gets 0 or 1).
import { fillPlaceholders, getTableColumns, sql, type Column, type InferSelectModel, type Placeholder, type Table } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

interface Buildable {
  toSQL(): { sql: string; params: unknown[] };
}

/** A value bound to a placeholder: what the column's drizzle type takes. */
export type BindValue = string | number | boolean | null;

/**
 * A statement built by `build` with the placeholders `p(name)`; the returned function binds `values`
 * (every placeholder must have one: a missing one throws) and returns D1's statement, for `batch`.
 */
export function prepared<K extends string>(
  build: (db: DrizzleD1Database, p: (name: K) => Placeholder<K>) => Buildable,
): (d1: D1Database, values: Record<K, BindValue>) => D1PreparedStatement {
  let built: { sql: string; params: unknown[] } | null = null;
  return (d1, values) => {
    built ??= build(drizzle(d1), (name) => sql.placeholder(name)).toSQL();
    return d1.prepare(built.sql).bind(...fillPlaceholders(built.params, values));
  };
}

/** D1's statement for a query drizzle built once for this call (a statement off the hot path, in a batch with prepared ones). */
export function statementOf(d1: D1Database, query: Buildable): D1PreparedStatement {
  const built = query.toSQL();
  return d1.prepare(built.sql).bind(...built.params);
}

/**
 * A row as D1 answers a statement sent without drizzle (keyed by the columns' SQL names), in the shape
 * drizzle's select gives: each field under its key, through its column's decoder (a boolean column's
 * 0 or 1 becomes false or true).
 */
export function fieldsOf(columns: Record<string, Column>, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(columns)) {
    const value = raw[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out;
}

/** A whole row of `table` (every column selected or returned), as drizzle's select gives it. */
export function rowOf<T extends Table>(table: T, raw: Record<string, unknown>): InferSelectModel<T> {
  return fieldsOf(getTableColumns(table), raw) as InferSelectModel<T>;
}
