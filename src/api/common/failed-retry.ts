// A failed payment retried as a new payment intent linked to it (retry_of), shared by /v1's operator
// route and seed 002's POST /api/v1/payments/failed/:id/retry: the retry is created and confirmed
// through its own object, called by the original's object, which runs one retry at a time and
// resolves itself by the retry when it goes through. Each surface validates, names the card, and renders.
import { assertNotDetached } from "../../billing/payment-methods";
import { findCustomer, findPaymentMethod } from "../../billing/store";
import { isTestPaymentMethod } from "../../connectors/sandbox/cards";
import { isSessionIntent } from "../../checkout/sessions";
import { ApiError, invalidRequest, unexpectedState } from "../../core/errors";
import { effectiveCaptureMethod, failureReason } from "../../core/intent";
import type { IntentRecord, PaymentMethodDetails, Scope } from "../../core/types";
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
  /** The retry's customer, when the failed payment had none and the caller names one (seed 002); by default the failed payment's. */
  customer?: string | null;
  /** A card that asks for a cardholder's step (3D Secure) is declined (authentication_required): the caller has no way to offer it (seed 002). */
  errorOnRequiresAction?: boolean;
}

/**
 * The payment method a retry tries again when none is given: the declined card, or the card the
 * provider itself failed on (a provider error: no money moved, and the card was not refused). Null when
 * the failed payment has none to give.
 */
export function failedPaymentMethod(failed: IntentRecord): PaymentMethodDetails | null {
  // The last authorization decides: after a decline and then a provider error, the card the provider failed on.
  if (failureReason(failed) === "provider_error") return failed.paymentMethod;
  return failed.lastPaymentError?.paymentMethod ?? null;
}

/** Retries of retries made before they were refused: a chain this long is a bug, not a payment. */
const MAX_RETRY_CHAIN = 16;

/**
 * The payment a failed payment is an attempt of: itself, or for a retry (retry_of) the original payment
 * it retries. A retry that failed is retried, resolved or dismissed as its original, through the
 * original's object, which alone decides which retry pays: a retry of a retry, paid beside another
 * retry of the original, charged the customer twice.
 */
export async function originalOf(env: Env, scope: Scope, failed: IntentRecord): Promise<IntentRecord> {
  let current = failed;
  for (let hop = 0; current.retryOf && hop < MAX_RETRY_CHAIN; hop += 1) {
    const up: IntentRecord | null = await intentStub(env, current.retryOf).retrieve(scope, current.retryOf);
    if (!up) break;
    current = up;
  }
  return current;
}

/**
 * Whether a retry of `failed` may charge `method` (the card that failed, or one the operator names):
 * checked against the stored payment method as it is now, not as the failed payment remembers it. A
 * saved card detached since may not be used again (as a detached card is refused everywhere); a saved
 * card attached to a customer pays only for the payment's customer, and never for a deleted one. A
 * method that is no saved card (a token's, a test id's, a wallet) passes. Checked before anything is
 * sent to the PSP. `owners`: the ids of our customers that stand for the payment's customer (by
 * default the customer it stores; seed 002 stores the POS system's own id, which stands for the
 * customer posCustomerId derives from it).
 */
export async function assertRetryMethodUsable(env: Env, failed: IntentRecord, method: PaymentMethodDetails, owners: readonly string[] = failed.customer ? [failed.customer] : []): Promise<void> {
  const id = method.id;
  if (!id.startsWith("pm_") || isTestPaymentMethod(id)) return;
  const scope: Scope = { merchantId: failed.merchantId, livemode: failed.livemode };
  const row = await findPaymentMethod(env.DB, scope, id, "payment_method").catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null; // not a saved card
    throw err;
  });
  if (!row) return;
  assertNotDetached(row);
  if (!row.customer) return;
  if (!owners.includes(row.customer)) {
    throw invalidRequest(
      owners.length === 0
        ? `The payment method ${row.id} is stored for a customer and this payment has none; retry with another payment method.`
        : `The payment method ${row.id} belongs to the customer ${row.customer}, not to this payment's customer; retry with another payment method.`,
      "payment_method",
      "payment_method_customer_mismatch",
    );
  }
  const customer = await findCustomer(env.DB, scope, row.customer).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });
  if (!customer || customer.deleted) {
    throw invalidRequest(
      `The payment method ${row.id} belongs to a deleted customer and may not be used again. Retry with another payment method.`,
      "payment_method",
      "payment_method_unexpected_state",
    );
  }
}

/**
 * Refuses a failed payment that is not retried as a new payment here:
 * - an invoice's payment is retried by paying the invoice, whose attempts are claimed one at a time
 *   (a retry here would pay it beside them: the invoice would be charged twice);
 * - a payment made through seed 003 (iCliGo) is paid by its user on its payment page, and its
 *   application hears of it only as that payment (its id, its webhooks): a new intent paying for it
 *   would take the money under an id the application never made, while the payment it knows stayed
 *   Created (cancelable, payable again on its page). Seed 003 has no payment its application did not
 *   create, nor a status for one paid by another, so such a payment is not retried here.
 */
export function assertRetryable(failed: IntentRecord): void {
  const invoice = failed.invoiceId && failed.metadata.invoice === failed.invoiceId ? failed.invoiceId : null;
  if (invoice) {
    throw unexpectedState(`This failed payment is an attempt to pay invoice ${invoice}: retry it by paying the invoice (POST /v1/invoices/${invoice}/pay).`, "invoice_payment_not_retryable");
  }
  if (isSessionIntent(failed)) {
    // The session's page can still take another card; a new payment outside it would leave the
    // session open (no checkout.session.completed, never its success_url) with its order paid.
    throw unexpectedState(
      "This payment belongs to a Checkout Session: its customer pays it on the session's page, where it can still be paid, or the session is expired. It is not retried as a new payment.",
      "surface_payment_not_retryable",
    );
  }
  if (failed.createdVia === "icligo") {
    throw unexpectedState(
      `This payment was created through the iCliGo API (payment ${failed.number ?? failed.id}): its customer pays it on its payment page, where it can still be paid, or its application cancels it. It is not retried as a new payment.`,
      "surface_payment_not_retryable",
    );
  }
}

export async function retryFailedPayment(env: Env, r: RetryRequest): Promise<{ outcome: OpOutcome; original: IntentRecord }> {
  const { failed } = r;
  assertRetryable(failed);
  const params = createParams({
    id: r.id,
    amount: failed.amount,
    currency: failed.currency,
    // A hold asked for on the card (payment_method_options[card][capture_method]) stays a hold.
    captureMethod: effectiveCaptureMethod(failed),
    customer: r.customer === undefined ? failed.customer : r.customer,
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
    ...(r.errorOnRequiresAction ? { errorOnRequiresAction: true } : {}),
  });
  // The original's object runs the retry, one at a time: it is what keeps two retries from both paying.
  const { outcome, original } = await intentStub(env, failed.id).retryFailedPayment({ ...r.req, idempotencyKey: null, fingerprint: null, audit: null }, failed.id, {
    request: r.req,
    params,
    audit: { action: r.resolveAction, actor: r.actor.actor, roles: r.actor.roles, details: { retried_by: r.id } },
  });
  return { outcome, original: original ?? failed };
}
