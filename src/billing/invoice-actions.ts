// Stripe's invoice actions on an invoice that is being collected: void (POST /v1/invoices/{id}/void)
// and mark_uncollectible. Either one ends the invoice's collection: no retry is due any more, and the
// payment intent it waits on (a customer's unconfirmed one, a 3DS challenge, a declined attempt the
// customer could confirm again) is canceled through its Durable Object, so nothing charges for it
// afterwards. They take the invoice's claim as a payment attempt does (engine.ts claimInvoice), so an
// action and an attempt (POST /pay, or the sweep's) never run over one another: while an attempt holds
// the invoice the action is refused, and while the action holds it no attempt starts. Its write is
// guarded on that claim and on the attempt count it read. A payment that went through first wins: the
// invoice is paid and the action refused.
import { and, eq, ne } from "drizzle-orm";
import { lockTimeout } from "../core/errors";
import type { IntentRecord, Scope } from "../core/types";
import { invoices } from "../db/schema";
import type { Env } from "../env";
import { afterFailure, attemptIntentId, attemptOf, claimInvoice, clockNow, intentStub, settleAttempt, systemRequest, transitionSubscription, WAITING } from "./engine";
import { db, invoiceById, renderInvoice, type InvoiceRow } from "./store";
import { Writes } from "./writes";

export type InvoiceAction = "void" | "mark_uncollectible";

/** Why an action was not made: the invoice's status does not allow it, or a payment of it is under way. */
export type ActionRefusal = "paid" | "void" | "uncollectible" | "in_progress";

export type ActionResult = { done: true; invoice: InvoiceRow } | { done: false; invoice: InvoiceRow; reason: ActionRefusal };

/** How often an action reads the invoice again when a payment's settlement changed it under the action. */
const ACTION_TRIES = 5;

const scopeOf = (row: { merchantId: string; livemode: boolean }): Scope => ({ merchantId: row.merchantId, livemode: row.livemode });

/** What the invoice's status says of the action: null when it may be made. */
function refusal(row: InvoiceRow, action: InvoiceAction): ActionRefusal | null {
  if (row.status === "paid" || row.status === "void") return row.status;
  if (action === "mark_uncollectible" && row.status === "uncollectible") return "uncollectible";
  return null;
}

/**
 * Stops every payment intent that could still pay the invoice: the latest attempt's, and the one the
 * next attempt would use (made by an attempt whose request stopped before it recorded it). Answers
 * "stopped" when none can charge any more, "paid" when one had succeeded (the invoice is settled paid
 * here), "pending" when one's outcome is not known yet (processing) or it could not be canceled.
 */
async function stopIntents(env: Env, row: InvoiceRow, action: InvoiceAction, origin: string, at: number): Promise<"stopped" | "paid" | "pending"> {
  const scope = scopeOf(row);
  const ids = new Set<string>();
  if (row.paymentIntent) ids.add(row.paymentIntent);
  ids.add(await attemptIntentId(row.id, row.attemptCount + 1));
  for (const id of ids) {
    const stub = intentStub(env, id);
    let intent: IntentRecord | null = await stub.retrieve(scope, id);
    if (intent && WAITING.includes(intent.status)) {
      // Through the intent's object, one operation at a time: a customer's confirmation either came
      // first (and is seen below) or finds the intent canceled.
      const outcome = await stub.cancel(systemRequest(scope, `invoice:${row.id}:${action}:${id}`, origin), id, { cancellationReason: action === "void" ? "void_invoice" : "abandoned" });
      intent = outcome.intent ?? (await stub.retrieve(scope, id));
    }
    if (!intent) continue;
    if (intent.status === "succeeded") {
      await settleAttempt(env, row, attemptOf(intent) ?? Math.max(row.attemptCount, 1), intent, at);
      return "paid";
    }
    if (intent.status !== "canceled" && intent.status !== "failed") return "pending";
  }
  return "stopped";
}

/**
 * Voids an open or uncollectible invoice, or marks an open one uncollectible, once (see the file's
 * head), then moves its subscription on (subscriptionAfter). Answers the invoice after it, or why not.
 */
export async function closeInvoice(env: Env, invoiceId: string, action: InvoiceAction, options: { origin: string; requestId: string | null }): Promise<ActionResult> {
  for (let i = 0; i < ACTION_TRIES; i++) {
    const row = await invoiceById(env.DB, invoiceId);
    if (!row) throw new Error(`invoice ${invoiceId} vanished`);
    const refused = refusal(row, action);
    if (refused) return { done: false, invoice: row, reason: refused };
    const at = await clockNow(env, row.testClock);
    const claim = await claimInvoice(env, row, { dueOnly: false, at });
    if (claim === null) {
      const now = (await invoiceById(env.DB, invoiceId)) ?? row;
      // Settled meanwhile (paid, failed, voided): look at it again. Otherwise an attempt holds it now.
      if (now.status !== row.status || now.attemptCount !== row.attemptCount) continue;
      return { done: false, invoice: now, reason: "in_progress" };
    }
    const stopped = await stopIntents(env, row, action, options.origin, at);
    if (stopped === "paid") {
      const paid = (await invoiceById(env.DB, invoiceId)) ?? row;
      if (paid.status === "paid") return { done: false, invoice: paid, reason: "paid" };
      continue;
    }
    if (stopped === "pending") {
      // Its outcome is for reconciliation (or the customer) to tell: the claim is let go, as it was.
      await db(env.DB).update(invoices).set({ claimedUntil: null }).where(and(eq(invoices.id, row.id), eq(invoices.claimedUntil, claim)));
      return { done: false, invoice: row, reason: "in_progress" };
    }
    const closed: InvoiceRow =
      action === "void"
        ? { ...row, status: "void", voidedAt: at, nextPaymentAttempt: null, claimedUntil: null }
        : { ...row, status: "uncollectible", markedUncollectibleAt: at, nextPaymentAttempt: null, claimedUntil: null };
    const w = new Writes(env.DB, scopeOf(row));
    // By primary key, only while this action still holds the claim and nothing settled an attempt meanwhile.
    w.add(
      `UPDATE invoices SET status = ?, next_payment_attempt = NULL, claimed_until = NULL, ${action === "void" ? "voided_at" : "marked_uncollectible_at"} = ? WHERE id = ? AND status = ? AND attempt_count = ? AND claimed_until = ?`,
      [closed.status, at, row.id, row.status, row.attemptCount, claim],
    );
    await w.event(action === "void" ? "invoice.voided" : "invoice.marked_uncollectible", renderInvoice(closed), [row.id], { requestId: options.requestId });
    const [changed] = await w.commit(env);
    // An intent's settlement (the events hook seeing the cancellation) took the claim: again, from what it left.
    if (!changed) continue;
    await subscriptionAfter(env, closed, action, at);
    return { done: true, invoice: (await invoiceById(env.DB, invoiceId)) ?? closed };
  }
  throw lockTimeout(`invoice ${invoiceId}`, ACTION_TRIES);
}

/**
 * The subscription after one of its invoices was voided or marked uncollectible:
 * - void of the first invoice of an `incomplete` subscription: `incomplete_expired` (terminal, as when
 *   its 23 hours pass; Stripe expires it the same way);
 * - void of an invoice of a `past_due` subscription that owes no other open invoice: `active` again
 *   (the period voided is forgiven, never charged again; the next period is invoiced when it comes);
 * - mark_uncollectible of a renewal that was attempted: dunning's end, the merchant's
 *   `subscription_dunning_final_action` (`canceled`, or `unpaid`), as when the retries ran out;
 * - otherwise unchanged (an `incomplete` one whose first invoice is uncollectible stays incomplete: it
 *   activates if that invoice is paid with POST /pay, and expires after 23 hours otherwise).
 */
async function subscriptionAfter(env: Env, invoice: InvoiceRow, action: InvoiceAction, at: number): Promise<void> {
  if (action === "mark_uncollectible") {
    await afterFailure(env, invoice.subscription, at);
    return;
  }
  await transitionSubscription(env, invoice.subscription, async (row) => {
    if (row.status === "incomplete" && invoice.billingReason === "subscription_create") return { status: "incomplete_expired", endedAt: at };
    if (row.status !== "past_due") return null;
    const owing = await db(env.DB)
      .select({ id: invoices.id })
      .from(invoices)
      .where(and(eq(invoices.subscription, row.id), ne(invoices.id, invoice.id), eq(invoices.status, "open")))
      .limit(1);
    return owing.length > 0 ? null : { status: "active" };
  });
}
