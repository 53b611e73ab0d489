// Cancel: from any status before the money moves; an authorization is voided at the PSP first.
// Expiry is the same operation, started by the cron for authorizations older than 7 days.
import { applyCancel, applyVoidOutcome, assertOperationAllowed, chargeAttempt, startAttempt } from "../../core/intent";
import { invalidRequest, permissionDenied } from "../../core/errors";
import { randomId } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import type { CancelParams } from "../params";
import { assertNoPendingSettlement, callFollowUp } from "./capture";
import { dropPendingActions } from "./pending-action";
import { recordOutsideCapture } from "./reconcile";
import type { OperationTools, StepResult } from "./tools";

export const AUTHORIZATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export async function cancel(draft: IntentRecord, params: CancelParams, tools: OperationTools): Promise<StepResult> {
  if (params.onlyUnconfirmed && draft.status !== "requires_payment_method" && draft.status !== "requires_confirmation") {
    throw permissionDenied(`A customer's token can cancel only a payment that is not confirmed yet; this one is ${draft.status}.`);
  }
  assertOperationAllowed("cancel", draft);
  // Seed 003 shows a declined payment an operator resolved or dismissed as Failed, which its document
  // says cannot be canceled: it stays as the operator left it (nothing was charged either way).
  if (draft.createdVia === "icligo" && draft.resolution && draft.status !== "canceled") {
    throw invalidRequest(`This failed payment was already ${draft.resolution.status}: it cannot be canceled.`, undefined, "payment_intent_unexpected_state");
  }
  // Until it is paid, a Checkout Session's intent is the session's: canceled alone, it left the
  // session open and its page asking for a card it could no longer take. As at Stripe, the session is
  // expired instead (which cancels the intent); once authorized, the intent may be canceled.
  if (draft.createdVia === "checkout" && !params.checkoutExpiry && ["requires_payment_method", "requires_confirmation", "requires_action"].includes(draft.status)) {
    throw invalidRequest("This PaymentIntent was created by a Checkout Session that is still open: expire the session instead (POST /v1/checkout/sessions/{id}/expire), which cancels it.", undefined, "payment_intent_unexpected_state");
  }
  // A session's expiry cancels only a payment that was not made: an authorization (the shopper paid a
  // manual-capture session, perhaps in the same instant) completes the session instead, and is never
  // voided by it (the shopper was sent to the success page, the merchant told the session completed).
  if (params.checkoutExpiry && draft.status === "requires_capture") {
    throw invalidRequest("This PaymentIntent was authorized: its Checkout Session completes instead of expiring.", undefined, "payment_intent_unexpected_state");
  }
  assertNoPendingSettlement(draft);
  const auth = chargeAttempt(draft);
  if (draft.status === "requires_capture" && auth) {
    const connector = await tools.connectorOf(draft, auth.connectorAccount);
    const attempt = startAttempt(draft, {
      id: randomId("txn"),
      type: "void",
      amount: draft.amountCapturable,
      connector: connector.name,
      connectorAccount: connector.accountId,
      now: tools.now(),
    });
    // Kept for reconciliation, should the void's answer be lost.
    draft.cancellationReason = params.cancellationReason ?? null;
    await tools.checkpoint();
    const outcome = await callFollowUp(tools, connector, "void", draft, attempt, auth.providerReference ?? "");
    const voided = applyVoidOutcome(draft, attempt, outcome, tools.now());
    for (const type of voided.events) tools.emit(type);
    // The provider refused because the authorization was captured in its dashboard: that capture is
    // recorded (the intent succeeded), and the cancel is refused as for any succeeded payment.
    if (outcome.kind === "failed" && outcome.capturedElsewhere) {
      draft.cancellationReason = null;
      const { amount, reference } = outcome.capturedElsewhere;
      if (recordOutsideCapture(draft, outcome.capturedElsewhere, "Captured at the provider, outside the gateway (read back when a void was refused)", tools)) {
        return {
          error: {
            status: 400,
            type: "invalid_request_error",
            code: "payment_intent_unexpected_state",
            message: `This PaymentIntent's authorization was captured at the payment provider already (${amount} ${draft.currency}, ${reference}); it is succeeded now and cannot be canceled. Refund it instead.`,
          },
        };
      }
    }
    if (outcome.kind !== "succeeded") {
      if (outcome.kind !== "unknown") draft.cancellationReason = null;
      return { error: voided.error };
    }
  }
  // A 3DS challenge still open at the provider is canceled there before the intent is.
  await dropPendingActions(draft, tools);
  const transition = applyCancel(draft, params.cancellationReason ?? null, tools.now());
  for (const type of transition.events) tools.emit(type);
  return {};
}

/** Cancels an authorization that has waited for capture longer than card networks hold it. */
export async function expire(draft: IntentRecord, now: number, tools: OperationTools): Promise<StepResult> {
  const auth = chargeAttempt(draft);
  if (draft.status !== "requires_capture" || !auth || now - (auth.completed ?? auth.created) < AUTHORIZATION_LIFETIME_MS) return {};
  return cancel(draft, { cancellationReason: "automatic" }, tools);
}
