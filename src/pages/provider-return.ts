// GET /connectors/return/:intent — where a provider's page (PayPal's approval, Stripe's 3DS) sends
// the customer back. The gateway completes the payment at the provider, then sends the customer on
// to the merchant's return_url. Authorized by the intent's client secret in the link we gave.
import { Hono } from "hono";
import { hasPrefix } from "../core/ids";
import type { Env } from "../env";
import { returnLocation } from "./return";
import { escape, page } from "./threeds";

export function providerReturnPages(): Hono<{ Bindings: Env }> {
  const pages = new Hono<{ Bindings: Env }>();
  pages.get("/:id", async (c) => {
    const id = c.req.param("id");
    const secret = c.req.query("client_secret") ?? "";
    const notFound = () => page("Not found", "<h1>Payment not found</h1><p>This link is not valid.</p>", 404);
    if (!hasPrefix(id, "pi") || !secret) return notFound();
    const stub = c.env.PAYMENT_INTENTS.get(c.env.PAYMENT_INTENTS.idFromName(id));
    // A payer who canceled at the provider completes nothing: the intent keeps waiting.
    const outcome = c.req.query("canceled") === "true" ? null : await stub.completeRedirect(id, secret, new URL(c.req.url).origin);
    const intent = outcome?.intent ?? (await stub.retrieveWithClientSecret(id, secret));
    if (!intent) return notFound();
    const location = returnLocation(intent);
    if (location) return c.redirect(location, 303);
    return page("Payment", `<h1>Back from the provider</h1><p>The payment's status is <b>${escape(intent.status)}</b>.</p>`);
  });
  return pages;
}
