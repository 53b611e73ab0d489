// Confirm: authorize the intent's payment method at its connector.
import { ApiError, unexpectedState } from "../../core/errors";
import { assertDeclineVelocity, assertMethodTypeAllowed, assertOperationAllowed, awaitingMerchantConfirmation } from "../../core/intent";
import type { IntentRecord, PaymentMethodDetails } from "../../core/types";
import type { ConfirmParams } from "../params";
import { authorize } from "./authorize";
import { missingPaymentMethod } from "./create";
import { dropPendingActions } from "./pending-action";
import { assertCaptureKept, mergeCardOptions } from "./update";
import type { OperationTools, StepResult } from "./tools";

/** Whether a continuing confirm (ConfirmParams.continueAfterAction) finds its payment already past the customer's step, with the card it names. */
function alreadyContinued(draft: IntentRecord, given: PaymentMethodDetails | undefined): boolean {
  if (draft.status !== "succeeded" && draft.status !== "requires_capture" && draft.status !== "processing") return false;
  const held = draft.paymentMethod;
  if (!given || !held) return false;
  return given.id === held.id || (given.card !== null && held.card !== null && given.card.fingerprint === held.card.fingerprint && given.card.expMonth === held.card.expMonth && given.card.expYear === held.card.expYear);
}

export async function confirm(draft: IntentRecord, params: ConfirmParams, tools: OperationTools): Promise<StepResult> {
  // Nothing to do: the payment went on once the customer's step (3D Secure) was done. Nothing changes.
  if (params.continueAfterAction && alreadyContinued(draft, params.paymentMethod)) return {};
  assertOperationAllowed("confirm", draft);
  if (params.byCustomer && draft.confirmationMethod === "manual") {
    throw new ApiError({ status: 400, type: "invalid_request_error", code: "payment_intent_unexpected_state", message: `PaymentIntent ${draft.id} has confirmation_method=manual: only the merchant confirms it, with its secret key.` });
  }
  if (params.shownAmount && (params.shownAmount.amount !== draft.amount || params.shownAmount.currency !== draft.currency)) {
    throw new ApiError({ status: 409, type: "invalid_request_error", code: "amount_changed", message: `The amount of PaymentIntent ${draft.id} changed after the page showed it: nothing was charged.` });
  }
  // The customer passed a 3D Secure challenge for this card and amount, and the intent (manual
  // confirmation) waited for the merchant: this confirmation authorizes without a second challenge.
  const authenticated = awaitingMerchantConfirmation(draft) && (!params.paymentMethod || params.paymentMethod.id === draft.paymentMethod?.id);
  // A failed payment an operator settled (paid by a retry, or by other means, or dismissed) is not paid again.
  if (draft.resolution) {
    const by = draft.resolution.retriedBy ? ` by ${draft.resolution.retriedBy}` : draft.resolution.paidByOtherMeans ? " by other means" : "";
    throw unexpectedState(`This failed payment was already ${draft.resolution.status}${by}: it cannot be paid again.`, "failed_payment_already_resolved");
  }
  // A separate velocity rule, never a status: too many declines lately answer a clear 400.
  assertDeclineVelocity(draft, tools.now(), tools.config.maxPaymentAttempts);
  assertCaptureKept(draft, params);
  if (params.paymentMethod) draft.paymentMethod = params.paymentMethod;
  if (params.returnUrl !== undefined) draft.returnUrl = params.returnUrl;
  if (params.captureMethod) {
    draft.captureMethod = params.captureMethod;
    draft.captureAsync = params.captureAsync === true;
  }
  if (params.setupFutureUsage !== undefined) draft.setupFutureUsage = params.setupFutureUsage;
  // Of this confirmation only, as at Stripe ("this payment attempt"): a later confirmation without it
  // has the customer present (the way back after an off-session authentication_required).
  draft.offSession = params.offSession ?? false;
  // Of this confirmation only: a later one without it may take the customer through a step again.
  if (params.errorOnRequiresAction) draft.errorOnRequiresAction = true;
  else delete draft.errorOnRequiresAction;
  if (params.receiptEmail !== undefined) draft.receiptEmail = params.receiptEmail;
  if (params.cardOptions !== undefined) draft.cardOptions = mergeCardOptions(draft.cardOptions, params.cardOptions);
  if (params.shipping !== undefined) draft.shipping = params.shipping;
  if (params.paymentMethodTypes !== undefined) draft.paymentMethodTypes = params.paymentMethodTypes;
  if (!draft.paymentMethod) throw missingPaymentMethod();
  assertMethodTypeAllowed(draft);
  // A new confirmation abandons a pending 3DS challenge (canceled at the provider first).
  await dropPendingActions(draft, tools);
  return authorize(draft, tools, { authenticated });
}

