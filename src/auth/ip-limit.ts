// Rate limiting of the routes that take no credential (PSP webhooks, the pages customers' browsers
// open): one token bucket per client IP.
import type { MiddlewareHandler } from "hono";
import { config, type Env } from "../env";
import { limit } from "./rate-limit";

export function clientIp(header: (name: string) => string | undefined): string {
  return header("cf-connecting-ip") ?? header("x-real-ip") ?? "unknown";
}

export const ipRateLimit: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const cfg = config(c.env);
  await limit(c.env, `ip:${clientIp((n) => c.req.header(n))}`, { rate: cfg.rateLimitPerIp, burst: cfg.rateLimitBurstPerIp });
  await next();
};
