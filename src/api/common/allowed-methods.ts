// A wrong method on a path a surface serves is a 405 naming the methods it takes (also in `Allow`),
// not "no such route": read from the surface's own route table, so it cannot drift from the routes.
import type { Hono } from "hono";
import type { AppEnv, Ctx } from "../v1/route";

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

/** How a surface words its two answers to a request no route took, in its own error format. */
export interface RouteMissRenderer {
  notFound(pathname: string): Response;
  /** `use` lists the methods the path takes, for a message ("GET or POST"). */
  notAllowed(pathname: string, method: string, use: string): Response;
}

/**
 * A catch-all's answer under `base`: the surface's 405 naming the methods `sub` takes at the path (also
 * in `Allow`), or its 404 when `sub` serves no such path.
 */
export function routeMiss(sub: Hono<AppEnv>, base: string, c: Ctx, render: RouteMissRenderer): Response {
  const pathname = new URL(c.req.url).pathname;
  const allowed = allowedMethods(sub, pathname.slice(base.length));
  if (allowed.length === 0) return render.notFound(pathname);
  const use = allowed.filter((m) => m !== "HEAD").join(" or ");
  const res = render.notAllowed(pathname, c.req.method.slice(0, 16), use);
  res.headers.set("Allow", allowed.join(", "));
  return res;
}
