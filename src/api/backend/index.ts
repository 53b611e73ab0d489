// Seed 004: a backend's Stripe and PayPal endpoints, /api/v1/payments/{stripe,paypal,webhooks}/..., a
// thin translator over the intents' objects and the billing engine, with its own error format.
import { Hono } from "hono";
import type { App, AppEnv } from "../v1/route";
import { registerBackendPayPal } from "./paypal";
import { registerBackendStripe } from "./stripe";
import { BACKEND_BASE, backendCatchAll } from "./surface";
import { registerBackendWebhooks } from "./webhooks";

/** Mount before seed 002's surface, which answers the rest of /api/v1/payments. */
export function registerBackendSurface(app: App): void {
  const sub = new Hono<AppEnv>();
  registerBackendStripe(app, sub);
  registerBackendPayPal(app, sub);
  registerBackendWebhooks(app, sub);
  backendCatchAll(sub, ["/stripe", "/paypal", "/webhooks"]);
  app.route(BACKEND_BASE, sub);
}
