// Update: descriptive fields at any time; what the customer would pay (amount, currency, payment
// method, capture method) only before the payment is authorized.
import { invalidRequest } from "../../core/errors";
import { assertOperationAllowed } from "../../core/intent";
import type { IntentRecord } from "../../core/types";
import type { UpdateIntentParams } from "../params";
import type { OperationTools, StepResult } from "./tools";
import { mergeMetadata } from "./metadata";
import { dropPendingActions } from "./pending-action";

export async function update(draft: IntentRecord, params: UpdateIntentParams, tools: OperationTools): Promise<StepResult> {
  const changesPayment =
    params.amount !== undefined || params.currency !== undefined || params.paymentMethod !== undefined || params.captureMethod !== undefined;
  if (changesPayment) {
    assertOperationAllowed("update", draft);
    // A Checkout Session's page shows the session's total and pays this intent: what it charges is the session's.
    if (draft.createdVia === "checkout") {
      throw invalidRequest("This PaymentIntent was created by a Checkout Session: its amount, currency, capture method and payment method are the session's. Create a new session instead.", params.amount !== undefined ? "amount" : params.currency !== undefined ? "currency" : params.captureMethod !== undefined ? "capture_method" : "payment_method");
    }
    if (params.amount !== undefined) draft.amount = params.amount;
    if (params.currency !== undefined) draft.currency = params.currency;
    if (params.captureMethod !== undefined) draft.captureMethod = params.captureMethod;
    if (params.paymentMethod !== undefined) draft.paymentMethod = params.paymentMethod;
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
  if (params.cardOptions !== undefined) draft.cardOptions = params.cardOptions;
  if (params.shipping !== undefined) draft.shipping = params.shipping;
  if (params.statementDescriptorSuffix !== undefined) draft.statementDescriptorSuffix = params.statementDescriptorSuffix;
  draft.updated = tools.now();
  return {};
}
