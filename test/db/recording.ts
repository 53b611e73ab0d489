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
