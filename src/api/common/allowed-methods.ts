// A wrong method on a path a surface serves is a 405 naming the methods it takes (also in `Allow`),
// not "no such route": read from the surface's own route table, so it cannot drift from the routes.
import type { Hono } from "hono";
import type { AppEnv } from "../v1/route";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A route's path (`/payments/:id/capture`) as a pattern of whole paths; null for a wildcard route (a catch-all). */
function patternOf(path: string): RegExp | null {
  if (path.includes("*")) return null;
  const parts = path.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : escape(part)));
  return new RegExp(`^${parts.join("/")}$`);
}

/**
 * The methods `sub`'s routes take at `path` (relative to where `sub` is mounted), in the order they
 * were registered, HEAD with GET; empty when no route but a catch-all matches it. A path a route
 * spells out (`/payments/sale`) takes that route's methods only, not those of a route that would read
 * it as an id (`/payments/:id`).
 */
export function allowedMethods(sub: Hono<AppEnv>, path: string): string[] {
  const exact: string[] = [];
  const templated: string[] = [];
  for (const route of sub.routes) {
    if (route.method === "ALL") continue;
    const pattern = patternOf(route.path);
    if (!pattern?.test(path)) continue;
    const into = route.path.includes(":") ? templated : exact;
    if (!into.includes(route.method)) into.push(route.method);
  }
  const methods = exact.length > 0 ? exact : templated;
  if (methods.includes("GET") && !methods.includes("HEAD")) methods.push("HEAD");
  return methods;
}
