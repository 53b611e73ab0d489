// The one middleware in front of every page shoppers open (/checkout, /pay, /sandbox, /connectors,
// /invoice: PAGE_PREFIXES, which also decides which unserved paths get the pages' HTML 404).
// - Its per-IP limit: over it, an HTML page in the pages' own style and security headers (CSP,
//   no-store), saying to wait a moment and try again, with Retry-After; never the API's JSON 429. The
//   bucket is the same as ipRateLimit's (src/auth/ip-limit.ts): only how its refusal is shown differs.
// - An error the pages did not answer themselves (the app's onError made it a 5xx) is shown as the
//   pages' HTML error page.
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../core/errors";
import { limitClientIp } from "../auth/ip-limit";
import type { Env } from "../env";
import { serverErrorPage, tooManyRequestsPage } from "./checkout";

/** Where the shoppers' pages are mounted; each is guarded by `pageGuard`. */
export const PAGE_PREFIXES = ["/checkout", "/pay", "/sandbox", "/connectors", "/invoice"] as const;

/** Whether a path lies under one of the pages' prefixes (the prefix itself included). */
export function isPagePath(pathname: string): boolean {
  return PAGE_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

export const pageGuard: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  try {
    await limitClientIp(c.env, (n) => c.req.header(n));
  } catch (err) {
    if (err instanceof ApiError && err.data.status === 429) return tooManyRequestsPage(err.data.retryAfterSeconds ?? 1);
    throw err;
  }
  await next();
  if (c.error && c.res.status >= 500) c.res = serverErrorPage(c.res.status, c.res.headers.get("request-id"));
};
