// The per-IP limit of the pages shoppers open (/checkout, /pay, /sandbox, /connectors): over it, an
// HTML page in the pages' own style and security headers (CSP, no-store), saying to wait a moment and
// try again, with Retry-After; never the API's JSON 429. The bucket is the same as ipRateLimit's
// (src/auth/ip-limit.ts): this only changes how its refusal is shown.
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../core/errors";
import { limitClientIp } from "../auth/ip-limit";
import type { Env } from "../env";
import { tooManyRequestsPage } from "./checkout";

export const pageRateLimit: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  try {
    await limitClientIp(c.env, (n) => c.req.header(n));
  } catch (err) {
    if (err instanceof ApiError && err.data.status === 429) return tooManyRequestsPage(err.data.retryAfterSeconds ?? 1);
    throw err;
  }
  await next();
};
