// Seed 002, the POS gateway: /api/v1/payments/* and /api/v1/customers/:id/payment-methods, a thin
// translator over the intents' Durable Objects and the read model, with its own error format.
import { Hono } from "hono";
import type { App, AppEnv } from "../v1/route";
import { registerPosCustomers } from "./customers";
import { registerPosPayments } from "./payments";
import { registerPosReads } from "./reads";
import { BASE, posCatchAll } from "./surface";

/** Mounts the surface. Mount seed 004's /api/v1/payments/{stripe,paypal,webhooks} before it. */
export function registerPosSurface(app: App): void {
  const sub = new Hono<AppEnv>();
  registerPosPayments(app, sub);
  registerPosReads(app, sub);
  registerPosCustomers(app, sub);
  // Everything else under its two prefixes is its own 404 (a customer with no route, an empty id), not
  // /v1's. Paths are case-sensitive: seed 000's /api/v1/PaymentIntents, and seed 004's routes mounted
  // first, are not shadowed.
  posCatchAll(sub, ["/payments", "/payments/*", "/customers", "/customers/*"]);
  app.route(BASE, sub);
}
