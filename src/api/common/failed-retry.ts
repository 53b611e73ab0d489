// A failed payment retried as a new payment intent linked to it (retry_of), shared by /v1's operator
// route and seed 002's POST /api/v1/payments/failed/:id/retry: the retry is created and confirmed
// through its own object, and when it goes through, the original is resolved by it through the
// original's object. Each surface validates, names the card, and renders.
import type { IntentRecord, PaymentMethodDetails } from "../../core/types";
import type { Env } from "../../env";
import { createParams, type OpOutcome, type RequestContext } from "../../intents/params";
import { intentStub } from "../v1/respond";

export interface RetryRequest {
  /** The retry's request context (its idempotency key, if any, is the retry's). */
  req: RequestContext;
  failed: IntentRecord;
  /** The retry's id (derived from an idempotency key, or random). */
  id: string;
  paymentMethod: PaymentMethodDetails;
  actor: { actor: string; roles: readonly string[] };
  /** The audit action of resolving the original. */
  resolveAction: string;
}

export async function retryFailedPayment(env: Env, r: RetryRequest): Promise<{ outcome: OpOutcome; original: IntentRecord }> {
  const { failed } = r;
  const outcome = await intentStub(env, r.id).create(r.req, createParams({
    id: r.id,
    amount: failed.amount,
    currency: failed.currency,
    captureMethod: failed.captureMethod,
    customer: failed.customer,
    description: failed.description,
    metadata: failed.metadata,
    orderId: failed.orderId,
    invoiceId: failed.invoiceId,
    locationId: failed.locationId,
    terminalId: failed.terminalId,
    lineItems: failed.lineItems,
    tipAmount: failed.tipAmount,
    receiptEmail: failed.receiptEmail,
    statementDescriptor: failed.statementDescriptor,
    returnUrl: failed.returnUrl,
    cancelUrl: failed.cancelUrl,
    paymentMethod: r.paymentMethod,
    confirm: true,
    retryOf: failed.id,
  }));
  let original = failed;
  const retried = outcome.intent;
  if (retried && (retried.status === "succeeded" || retried.status === "requires_capture") && !outcome.replayed) {
    const settled = await intentStub(env, failed.id).resolveFailedPayment(
      { ...r.req, idempotencyKey: null, fingerprint: null, audit: { action: r.resolveAction, actor: r.actor.actor, roles: r.actor.roles, details: { retried_by: retried.id } } },
      failed.id,
      { status: "resolved", reason: "paid by a retry", paidByOtherMeans: false, retriedBy: retried.id, actor: r.actor.actor },
    );
    original = settled.intent ?? failed;
  }
  return { outcome, original };
}
