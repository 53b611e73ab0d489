// The migrations create every table and column the drizzle schema reads. (SQLite answers a
// double-quoted unknown column with the column's name as a string, so a missing migration would
// otherwise fail far from its cause.)
import { env } from "cloudflare:workers";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";

const tables = Object.values(schema).filter((v): v is typeof v & SQLiteTable => v instanceof SQLiteTable);

describe("D1 migrations match the drizzle schema", () => {
  it.each(tables.map((t) => [getTableConfig(t).name, t] as const))("table %s", async (name, table) => {
    const info = await env.DB.prepare(`PRAGMA table_xinfo(${name})`).all<{ name: string }>();
    const columns = new Set(info.results.map((c) => c.name));
    expect(columns.size, `table ${name} exists`).toBeGreaterThan(0);
    for (const column of getTableConfig(table).columns) expect(columns.has(column.name), `${name}.${column.name}`).toBe(true);
  });
});
