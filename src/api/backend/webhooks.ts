// Seed 004's webhook endpoints, POST /api/v1/payments/webhooks/{stripe,paypal}/: without an account id
// in the path, the event's own payment intent (from the metadata we gave the provider) names the
// merchant; the event must then verify with the signing secret of one of that merchant's accounts at
// that provider. Verified events are deduplicated and applied through the intent's object exactly as
// /v1/psp_webhooks does (the same functions).
import { and, eq } from "drizzle-orm";
import type { Hono } from "hono";
import type Stripe from "stripe";
import { z } from "zod";
import { ApiError } from "../../core/errors";
import { hasPrefix } from "../../core/ids";
import { fromPayPalEvent, type PayPalEvent } from "../../connectors/paypal/webhooks";
import { fromStripeEvent } from "../../connectors/stripe/transformers";
import { connectorAccounts, paymentIntents } from "../../db/schema";
import { readBodyText } from "../../http/body";
import { db } from "../../webhooks/store";
import { applyPspEvents, verifyPspWebhook } from "../v1/psp_webhooks";
import type { App, AppEnv, Ctx } from "../v1/route";
import { BACKEND_BASE, backendError, BackendErrorSchema, bad } from "./surface";
import { directoryDb, findOnShards } from "../../db/shards";

async function receive(c: Ctx, provider: "stripe" | "paypal"): Promise<Response> {
  try {
    const body = await readBodyText(c.req.raw);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw bad("The webhook body is not JSON.");
    }
    if (!parsed || typeof parsed !== "object") throw bad("The webhook body is not a JSON object.");
    const unverified = provider === "stripe" ? fromStripeEvent(parsed as Stripe.Event) : fromPayPalEvent(parsed as PayPalEvent);
    const intentId = unverified.intentId;
    if (!intentId || !hasPrefix(intentId, "pi")) throw bad("This event names no payment of this gateway; send it to /v1/psp_webhooks/{account} instead.");
    // The intent's merchant is not known yet: its row may be on any database of the read model.
    const owner = await findOnShards(c.env, async (d1) => (await db(d1).select({ merchantId: paymentIntents.merchantId, livemode: paymentIntents.livemode }).from(paymentIntents).where(eq(paymentIntents.id, intentId)).limit(1))[0]);
    const accounts = owner
      ? await db(directoryDb(c.env))
          .select()
          .from(connectorAccounts)
          .where(and(eq(connectorAccounts.merchantId, owner.merchantId), eq(connectorAccounts.livemode, owner.livemode), eq(connectorAccounts.connector, provider)))
      : [];
    for (const account of accounts) {
      let events;
      try {
        events = await verifyPspWebhook(c, account, body);
      } catch (err) {
        if (err instanceof ApiError && err.data.status === 400) continue;
        throw err;
      }
      return c.json(await applyPspEvents(c, account.id, account, events));
    }
    throw bad("Webhook signature verification failed.");
  } catch (err) {
    return backendError(c, err);
  }
}

export function registerBackendWebhooks(app: App, sub: Hono<AppEnv>): void {
  for (const provider of ["stripe", "paypal"] as const) {
    for (const path of [`/webhooks/${provider}/`, `/webhooks/${provider}`]) {
      app.openAPIRegistry.registerPath({
        method: "post",
        path: BACKEND_BASE + path,
        summary: `${provider === "stripe" ? "Stripe" : "PayPal"} webhooks: verified with the signing secret of the merchant's ${provider} account the event's payment belongs to, applied once`,
        tags: ["Stripe and PayPal endpoints (seed 004)"],
        responses: {
          200: { description: "Received", content: { "application/json": { schema: z.object({ received: z.boolean(), applied: z.number().int(), duplicates: z.number().int() }) } } },
          400: { description: "Bad signature or an event about no payment of ours", content: { "application/json": { schema: BackendErrorSchema } } },
          500: { description: "Server error: the provider sends the event again, and it is applied once", content: { "application/json": { schema: BackendErrorSchema } } },
        },
      });
      sub.post(path, (c) => receive(c, provider));
    }
  }
}
