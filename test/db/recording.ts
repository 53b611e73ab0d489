import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

// A D1 binding that records what is prepared through it: the query-plan tests read back each
// statement a route or query function ran, with its bound values, and EXPLAIN it.
export interface Captured {
  sql: string;
  params: unknown[];
}

/** A D1 binding that records every statement prepared through it (with the values bound to it). */
export function recording(db: D1Database, out: Captured[]): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const entry: Captured = { sql: query, params: [] };
          out.push(entry);
          const stmt = target.prepare(query);
          return new Proxy(stmt, {
            get(s, p) {
              if (p === "bind") {
                return (...values: unknown[]) => {
                  entry.params = values;
                  return s.bind(...values);
                };
              }
              const v: unknown = Reflect.get(s, p, s);
              return typeof v === "function" ? v.bind(s) : v;
            },
          });
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The EXPLAIN QUERY PLAN of a captured statement, with its bound values, one line per step. */
export async function planOf(c: Captured): Promise<string[]> {
  const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${c.sql}`)
    .bind(...c.params)
    .all<{ detail: string }>();
  return res.results.map((r) => r.detail);
}

export interface Routed {
  status: number;
  body: Record<string, unknown>;
  /** The statements `pick` chose, each with its plan. */
  plans: { sql: string; plan: string[] }[];
}

/** Calls a route through the Worker with its D1 recorded; answers the response and the plan of each statement `pick` chooses. */
export async function throughWorker(path: string, key: string, pick: (sql: string) => boolean): Promise<Routed> {
  const captured: Captured[] = [];
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://gateway.test${path}`, { headers: { authorization: `Bearer ${key}` } }), { ...env, DB: recording(env.DB, captured) }, ctx);
  const body = (await res.json()) as Record<string, unknown>;
  await waitOnExecutionContext(ctx);
  const plans = await Promise.all(captured.filter((c) => pick(c.sql)).map(async (c) => ({ sql: c.sql, plan: await planOf(c) })));
  return { status: res.status, body, plans };
}
