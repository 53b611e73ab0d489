// Update: descriptive fields at any time; what the customer would pay (amount, currency, payment
// method, capture method) only before the payment is authorized.
import { invalidRequest } from "../../core/errors";
import { assertMethodTypeAllowed, assertOperationAllowed, effectiveCaptureMethod } from "../../core/intent";
import type { CaptureMethod, CardOptions, IntentRecord } from "../../core/types";
import type { UpdateIntentParams } from "../params";
import type { OperationTools, StepResult } from "./tools";
import { mergeMetadata } from "./metadata";
import { dropPendingActions } from "./pending-action";

/** The metadata billing marks an invoice's payment intent with (src/billing/engine.ts attemptParams): what settles the invoice. */
const INVOICE_KEYS = ["invoice", "subscription", "invoice_attempt"] as const;

/** An invoice's payment attempt, made by billing: its invoice's amount, currency and customer, marked with the invoice. */
function isInvoiceAttempt(draft: IntentRecord): boolean {
  return draft.invoiceId !== null && draft.metadata.invoice === draft.invoiceId && draft.metadata.invoice_attempt !== undefined;
}

/**
 * As at Stripe, an invoice's payment intent pays what the invoice says: its amount, currency, capture
 * method and customer are not updated (an update of the amount paid a 1,500 invoice with 50), nor the
 * metadata that ties it to its invoice; a payment method may be given, as on confirm.
 */
function assertInvoiceAttemptUnchanged(draft: IntentRecord, params: UpdateIntentParams): void {
  if (!isInvoiceAttempt(draft)) return;
  const changed =
    params.amount !== undefined && params.amount !== draft.amount
      ? "amount"
      : params.currency !== undefined && params.currency !== draft.currency
        ? "currency"
        : params.captureMethod !== undefined && params.captureMethod !== draft.captureMethod
          ? "capture_method"
          : params.customer !== undefined && params.customer !== draft.customer
            ? "customer"
            : INVOICE_KEYS.find((k) => params.metadata !== undefined && Object.hasOwn(params.metadata, k) && params.metadata[k] !== draft.metadata[k]);
  if (changed === undefined) return;
  const param = INVOICE_KEYS.some((k) => k === changed) ? `metadata[${changed}]` : changed;
  throw invalidRequest(`This PaymentIntent pays the invoice ${draft.invoiceId ?? ""}: its ${param} is the invoice's and cannot be updated. Pay the invoice (POST /v1/invoices/{id}/pay) or confirm this PaymentIntent as it is.`, param, "payment_intent_invoice_fields");
}

/**
 * Card options given on an update or a confirm are merged into those kept, as at Stripe: an option not
 * sent stays (a hold asked for with capture_method=manual is not dropped by a later request that only
 * sets request_three_d_secure). `null` (payment_method_options without card) changes nothing.
 */
export function mergeCardOptions(kept: CardOptions | null | undefined, given: CardOptions | null): CardOptions | null {
  if (given === null) return kept ?? null;
  const merged: CardOptions = { ...(kept ?? {}), ...given };
  // An option given as "" (null here) is unset: the intent's own applies again.
  if (merged.captureMethod === null) delete merged.captureMethod;
  if (merged.setupFutureUsage === null) delete merged.setupFutureUsage;
  if (merged.requestIncrementalAuthorization === null) delete merged.requestIncrementalAuthorization;
  return merged;
}

/**
 * An invoice's payment intent and a Checkout Session's are captured as made: a request that would
 * change how (capture_method, or the card's payment_method_options[card][capture_method]) is refused,
 * on an update as on a confirm, so no hold is left on the customer's card for an invoice or an order
 * that then stays unpaid.
 */
export function assertCaptureKept(draft: IntentRecord, params: { captureMethod?: CaptureMethod; cardOptions?: CardOptions | null }): void {
  if (!isInvoiceAttempt(draft) && draft.createdVia !== "checkout") return;
  const param =
    params.captureMethod !== undefined && params.captureMethod !== draft.captureMethod
      ? "capture_method"
      : params.cardOptions?.captureMethod !== undefined && effectiveCaptureMethod({ ...draft, cardOptions: mergeCardOptions(draft.cardOptions, params.cardOptions) }) !== effectiveCaptureMethod(draft)
        ? "payment_method_options[card][capture_method]"
        : null;
  if (param === null) return;
  if (isInvoiceAttempt(draft)) {
    throw invalidRequest(`This PaymentIntent pays the invoice ${draft.invoiceId ?? ""}: its ${param} is the invoice's and cannot be changed. Pay the invoice (POST /v1/invoices/{id}/pay) or confirm this PaymentIntent as it is.`, param, "payment_intent_invoice_fields");
  }
  throw invalidRequest(`This PaymentIntent was created by a Checkout Session: its ${param} is the session's. Create a new session instead.`, param);
}

export async function update(draft: IntentRecord, params: UpdateIntentParams, tools: OperationTools): Promise<StepResult> {
  assertInvoiceAttemptUnchanged(draft, params);
  assertCaptureKept(draft, params);
  // Saving the card is decided before the payment is: once authorized, Stripe refuses it too.
  if (params.setupFutureUsage !== undefined) {
    assertOperationAllowed("update", draft);
    if (params.setupFutureUsage === null) delete draft.setupFutureUsage;
    else draft.setupFutureUsage = params.setupFutureUsage;
  }
  const changesPayment =
    params.amount !== undefined || params.currency !== undefined || params.paymentMethod !== undefined || params.captureMethod !== undefined || params.paymentMethodTypes !== undefined;
  if (changesPayment) {
    assertOperationAllowed("update", draft);
    // A Checkout Session's page shows the session's total and pays this intent: what it charges is the session's.
    if (draft.createdVia === "checkout") {
      throw invalidRequest("This PaymentIntent was created by a Checkout Session: its amount, currency, capture method and payment method are the session's. Create a new session instead.", params.amount !== undefined ? "amount" : params.currency !== undefined ? "currency" : params.captureMethod !== undefined ? "capture_method" : "payment_method");
    }
    if (params.amount !== undefined) draft.amount = params.amount;
    if (params.currency !== undefined) draft.currency = params.currency;
    if (params.captureMethod !== undefined) {
      draft.captureMethod = params.captureMethod;
      draft.captureAsync = params.captureAsync === true;
    }
    if (params.paymentMethod !== undefined) draft.paymentMethod = params.paymentMethod;
    if (params.paymentMethodTypes !== undefined) draft.paymentMethodTypes = params.paymentMethodTypes;
    assertMethodTypeAllowed(draft);
    if (draft.status === "requires_action") {
      // What was being authenticated changed: the challenge no longer applies.
      await dropPendingActions(draft, tools);
      draft.nextAction = null;
    }
    draft.status = draft.paymentMethod ? "requires_confirmation" : "requires_payment_method";
  }
  if (params.metadata !== undefined) draft.metadata = mergeMetadata(draft.metadata, params.metadata);
  if (params.customer !== undefined) draft.customer = params.customer;
  if (params.description !== undefined) draft.description = params.description;
  if (params.orderId !== undefined) draft.orderId = params.orderId;
  if (params.receiptEmail !== undefined) draft.receiptEmail = params.receiptEmail;
  if (params.statementDescriptor !== undefined) draft.statementDescriptor = params.statementDescriptor;
  if (params.returnUrl !== undefined) draft.returnUrl = params.returnUrl;
  if (params.cardOptions !== undefined) draft.cardOptions = mergeCardOptions(draft.cardOptions, params.cardOptions);
  if (params.shipping !== undefined) draft.shipping = params.shipping;
  if (params.statementDescriptorSuffix !== undefined) draft.statementDescriptorSuffix = params.statementDescriptorSuffix;
  draft.updated = tools.now();
  return {};
}
