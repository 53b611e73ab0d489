// Statements of the hot write path, built once by drizzle with named placeholders and bound per call.
// Building a statement through drizzle's query builders cost more CPU than D1's write itself: about
// 1.2 ms per intent write, most of the Worker's own time in a create beside the Durable Object's
// storage (profiled under `npm run bench`). The text of these statements never changes, so drizzle
// builds each one the first time it is used, and each later call only binds its values (drizzle's
// own encoders still map them: a boolean column still gets 0 or 1).
import { fillPlaceholders, sql, type Placeholder } from "drizzle-orm";
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
