// POST /v1/psp_webhooks/:account — where PSPs report what happened: `sandbox` for the built-in
// sandbox, or a connector account id (mca_...) for the merchant's Stripe, PayPal or sandbox account.
// The signature is checked first (Stripe: constructEventAsync with SubtleCrypto; PayPal: its
// verification call; sandbox: HMAC); a bad or stale one is a 400 and changes nothing. Each event is
// applied once, through the intent's Durable Object, and acknowledged at once.
import Stripe from "stripe";
import { ApiError, resourceMissing } from "../../core/errors";
import { hasPrefix } from "../../core/ids";
import { unseal } from "../../core/sealed";
import type { Scope } from "../../core/types";
import { PayPalConnector } from "../../connectors/paypal/connector";
import { fromPayPalEvent, type PayPalEvent } from "../../connectors/paypal/webhooks";
import { buildConnector, type AccountRow } from "../../connectors/routing";
import { parseSandboxWebhook, SANDBOX_SIGNATURE_HEADER, WebhookSignatureError } from "../../connectors/sandbox/webhooks";
import { fromStripeEvent } from "../../connectors/stripe/transformers";
import type { ProviderEvent } from "../../connectors/types";
import { connectorAccounts, pspEvents } from "../../db/schema";
import { config } from "../../env";
import { readBodyText } from "../../http/body";
import { log } from "../../log";
import { db } from "../../webhooks/store";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { App, Ctx } from "./route";
import { ErrorSchema } from "./route";
import { directoryDb } from "../../db/shards";

/** How far a PayPal webhook's transmission time may be from now, as Stripe's and the sandbox's tolerance. */
const PAYPAL_TOLERANCE_MS = 300_000;

const cryptoProvider = Stripe.createSubtleCryptoProvider();

function badSignature(message: string): ApiError {
  return new ApiError({ status: 400, type: "invalid_request_error", code: "webhook_signature_invalid", message: `Webhook signature verification failed: ${message}` });
}

/** Checks a PSP's signature over `body` (the provider's exact bytes) and parses its events; a 400 otherwise. */
export async function verifyPspWebhook(c: Ctx, account: AccountRow | null, body: string): Promise<ProviderEvent[]> {
  const cfg = config(c.env);
  const secret = account?.webhookSecret ? await unseal(account.webhookSecret, cfg.encryptionKey) : null;
  const connector = account?.connector ?? "sandbox";
  if (connector === "sandbox") {
    // A merchant's sandbox account without a secret takes no webhooks (an empty HMAC key is not a key).
    if (account && !secret) throw badSignature("this connector account has no webhook secret configured");
    try {
      return await parseSandboxWebhook(account ? (secret ?? "") : cfg.sandboxWebhookSecret, body, c.req.header(SANDBOX_SIGNATURE_HEADER) ?? null);
    } catch (err) {
      if (err instanceof WebhookSignatureError) throw badSignature(err.message);
      throw err;
    }
  }
  if (!secret) throw badSignature("this connector account has no webhook secret configured");
  if (connector === "stripe") {
    try {
      const event = await Stripe.webhooks.constructEventAsync(body, c.req.header("stripe-signature") ?? "", secret, 300, cryptoProvider);
      return [fromStripeEvent(event)];
    } catch (err) {
      throw badSignature(err instanceof Error ? err.message : "invalid");
    }
  }
  // PayPal: PayPal itself checks the signature of the event it sent. The signature covers the
  // transmission time, so a stale time (a captured event sent again) is refused before asking.
  const sent = Date.parse(c.req.header("paypal-transmission-time") ?? "");
  if (!Number.isFinite(sent) || Math.abs(Date.now() - sent) > PAYPAL_TOLERANCE_MS) {
    throw badSignature("the PayPal-Transmission-Time header is missing or more than 5 minutes away from now");
  }
  let event: PayPalEvent;
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    event = value as PayPalEvent;
  } catch {
    throw badSignature("the body is not a JSON object");
  }
  const paypal = account ? await buildConnector(c.env, account) : null;
  if (!(paypal instanceof PayPalConnector) || !(await paypal.verifyWebhook(c.req.raw.headers, event, secret))) throw badSignature("PayPal did not confirm the signature");
  return [fromPayPalEvent(event)];
}

export function registerPspWebhooks(app: App): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/psp_webhooks/{account}",
    summary: "Webhooks from PSPs: `sandbox`, or a connector account id. Authenticated by the provider's signature, not an API key.",
    tags: ["PSP webhooks"],
    request: { params: z.object({ account: z.string() }) },
    responses: {
      200: { description: "Received", content: { "application/json": { schema: z.object({ received: z.boolean(), applied: z.number().int(), duplicates: z.number().int() }) } } },
      400: { description: "Bad or stale signature", content: { "application/json": { schema: ErrorSchema } } },
      404: { description: "No such connector account", content: { "application/json": { schema: ErrorSchema } } },
    },
  });

  app.post("/v1/psp_webhooks/:account", async (c) => {
    const accountId = c.req.param("account");
    let account: AccountRow | null = null;
    if (accountId !== "sandbox") {
      if (!hasPrefix(accountId, "mca")) throw resourceMissing("connector_account", accountId.slice(0, 80));
      const [row] = await db(directoryDb(c.env)).select().from(connectorAccounts).where(eq(connectorAccounts.id, accountId)).limit(1);
      if (!row) throw resourceMissing("connector_account", accountId);
      account = row;
    }
    const body = await readBodyText(c.req.raw);
    const events = await verifyPspWebhook(c, account, body);
    return c.json(await applyPspEvents(c, accountId, account, events));
  });
}

/** Applies verified PSP events, each once, through their intents' objects (shared with seed 000's webhook route). */
export async function applyPspEvents(c: Ctx, accountId: string, account: AccountRow | null, events: ProviderEvent[]): Promise<{ received: true; applied: number; duplicates: number }> {
  let applied = 0;
  let duplicates = 0;
  for (const event of events) {
    let result = "ignored: not about a payment intent of ours";
    let alert = false;
    if (event.kind !== "ignored" && event.intentId && hasPrefix(event.intentId, "pi")) {
      const scope: Scope | null = account ? { merchantId: account.merchantId, livemode: account.livemode } : null;
      const stub = c.env.PAYMENT_INTENTS.get(c.env.PAYMENT_INTENTS.idFromName(event.intentId));
      const outcome = await stub.applyProviderEvent(scope, event.intentId, accountId, event);
      result = outcome.note;
      alert = outcome.alert === true;
      if (outcome.applied && !outcome.duplicate) applied++;
      if (outcome.duplicate) duplicates++;
    }
    await db(directoryDb(c.env))
      .insert(pspEvents)
      .values({ id: `${accountId}:${event.id}`, accountId, connector: account?.connector ?? "sandbox", eventId: event.id, kind: event.kind, intentId: event.intentId, result, received: Date.now() })
      .onConflictDoNothing();
    log(alert ? "error" : "info", alert ? "psp webhook: the provider reports money taken for a payment recorded as not taken" : "psp webhook", { account: accountId, event: event.id, kind: event.kind, intent: event.intentId, result });
  }
  return { received: true, applied, duplicates };
}

/**
 * The cron's retention for the log of PSP events (kept as long as our own events): deletes up to
 * `batch` entries received before `before`, oldest first (a range of psp_events_received); answers how
 * many. The log is in the directory; the shards' copies of its table stay empty.
 */
export async function purgePspEvents(d1: D1Database, before: number, batch = 1000): Promise<number> {
  const res = await d1.prepare("DELETE FROM psp_events WHERE rowid IN (SELECT rowid FROM psp_events WHERE received < ?1 ORDER BY received LIMIT ?2)").bind(before, batch).run();
  return res.meta.changes;
}
