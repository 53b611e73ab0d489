// What billing does with the intents' own events (run by the events queue's consumer, at least once):
// an invoice's intent that reached a result settles its invoice (after a 3DS challenge, or after
// reconciliation learned a timed-out outcome); an intent with setup_future_usage that went through
// saves its card to its customer. Both are idempotent.
import type { EventRecord, IntentRecord, IntentStatus } from "../core/types";
import type { Env } from "../env";
import { settleFromIntent } from "./engine";
import { saveFromIntent } from "./payment-methods";

const SETTLING = new Set(["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"]);
const SAVING = new Set(["payment_intent.succeeded", "payment_intent.amount_capturable_updated"]);

interface RenderedIntent {
  id: string;
  status: IntentStatus;
  invoice?: string | null;
  metadata?: Record<string, string>;
  setup_future_usage?: string | null;
  payment_method_options?: { card?: { setup_future_usage?: string } } | null;
  customer?: string | null;
}

/**
 * An invoice's intent that a request just saw succeed (the customer's confirmation of a
 * default_incomplete first invoice): its invoice is settled now, so the answers that follow show the
 * invoice paid and the subscription active, not only once the events queue has run this hook. The
 * hook settles it again, harmlessly (settleFromIntent is idempotent). Anything but a success is left
 * to the hook: an intent left unconfirmed is not a failed attempt.
 * For the request handlers outside billing (the confirm route, the 3DS return) to call after the intent's answer.
 */
export async function settleInvoiceOfIntent(env: Env, intent: Pick<IntentRecord, "id" | "status" | "invoiceId" | "metadata" | "merchantId" | "livemode">): Promise<void> {
  if (!intent.invoiceId || intent.status !== "succeeded") return;
  await settleFromIntent(env, { id: intent.id, status: intent.status, invoice: intent.invoiceId, metadata: intent.metadata, merchantId: intent.merchantId, livemode: intent.livemode });
}

export async function onIntentEvents(env: Env, events: EventRecord[]): Promise<void> {
  for (const event of events) {
    const intent = event.object as unknown as RenderedIntent;
    if (SETTLING.has(event.type) && intent.invoice) {
      await settleFromIntent(env, { id: intent.id, status: intent.status, invoice: intent.invoice, metadata: intent.metadata ?? {}, merchantId: event.merchantId, livemode: event.livemode });
    }
    // Asked for on the intent, or on its card (saveFromIntent decides which wins, and `none`).
    if (SAVING.has(event.type) && (intent.setup_future_usage || intent.payment_method_options?.card?.setup_future_usage) && intent.customer) {
      const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(intent.id));
      const record: IntentRecord | null = await stub.retrieve({ merchantId: event.merchantId, livemode: event.livemode }, intent.id);
      if (record) await saveFromIntent(env, record);
    }
  }
}
