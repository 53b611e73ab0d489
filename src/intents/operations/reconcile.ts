// Reconciliation: ask each pending attempt's connector what really happened, and apply the answer.
// An answer that is still unknown leaves the attempt pending for the next round. Because the
// connector is asked with the attempt's own idempotency key, money moves at most once.
import { applyAuthorizeOutcome, applyCancel, applyCaptureOutcome, applyIncrementOutcome, applyRefundOutcome, applyVoidOutcome, chargeAttempt, pendingAttempts, startAttempt } from "../../core/intent";
import { chargeIdForIntent, randomId } from "../../core/ids";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { Attempt, IntentRecord } from "../../core/types";
import { authorizeRequest, call } from "./authorize";
import { followUpRequest } from "./capture";
import { refundReference } from "./refund";
import type { OperationTools, StepResult } from "./tools";

export interface ReconcileResult extends StepResult {
  stillPending: number;
}

/** Whether the customer passed 3DS before this attempt (so the replayed request is the same one). */
function authenticatedBefore(draft: IntentRecord, attempt: Attempt): boolean {
  return draft.attempts.some((a) => a.type === "authenticate" && a.status === "succeeded" && a.created <= attempt.created);
}

/** Applies a resolved outcome to a pending attempt (from reconciliation or from a PSP's webhook). */
export function settleAttempt(draft: IntentRecord, attempt: Attempt, outcome: AuthorizeOutcome | FollowUpOutcome, tools: OperationTools): void {
  const now = tools.now();
  const emit = (events: string[], refund?: IntentRecord["refunds"][number]) => {
    for (const type of events) tools.emit(type, refund);
  };
  if (outcome.kind === "unknown") {
    // Still moving, but a capture or refund the PSP now names (held PENDING, its first answer lost)
    // keeps that id: the next round reads it back instead of asking again.
    if (attempt.type !== "authorize" && outcome.providerReference) attempt.providerReference = outcome.providerReference;
    return;
  }
  if (attempt.type === "authorize") {
    if (outcome.kind === "succeeded" || outcome.kind === "failed") return;
    emit(
      applyAuthorizeOutcome(draft, attempt, outcome, {
        now,
        restoreStatus: draft.paymentMethod ? "requires_confirmation" : "requires_payment_method",
        challengeUrl: tools.challengeUrl(draft),
      }).events,
    );
    return;
  }
  if (outcome.kind !== "succeeded" && outcome.kind !== "failed" && outcome.kind !== "provider_error") return;
  if (attempt.type === "capture") {
    emit(applyCaptureOutcome(draft, attempt, outcome, now).events);
    if (outcome.kind !== "succeeded") draft.status = "requires_capture";
    return;
  }
  if (attempt.type === "increment") {
    // Approved: the new total is authorized and capturable (the intent waited in requires_capture, as
    // nothing could be captured or canceled meanwhile); refused: the attempt is history.
    for (const type of applyIncrementOutcome(draft, attempt, outcome, now).events) tools.emit(type, undefined, type.startsWith("charge.") ? chargeIdForIntent(draft.id) : undefined);
    return;
  }
  if (attempt.type === "void") {
    emit(applyVoidOutcome(draft, attempt, outcome, now).events);
    if (outcome.kind === "succeeded") emit(applyCancel(draft, draft.cancellationReason, now).events);
    else {
      draft.status = "requires_capture";
      draft.cancellationReason = null;
      if (outcome.kind === "failed" && outcome.capturedElsewhere) recordOutsideCapture(draft, outcome.capturedElsewhere, "Captured at the provider, outside the gateway (read back when a void was refused)", tools);
    }
    return;
  }
  if (attempt.type === "refund") {
    const refund = draft.refunds.find((r) => r.attemptId === attempt.id);
    if (!refund) return;
    const transition = applyRefundOutcome(draft, refund, attempt, outcome, now);
    // refund.created was sent when the refund began; now it is an update.
    emit(
      transition.events.map((t) => (t === "refund.created" ? "refund.updated" : t)),
      refund,
    );
  }
}

/**
 * Records a capture made outside the gateway (in the provider's dashboard) as a capture attempt that
 * succeeded, when the intent still waits for its capture and the amount fits what it may capture.
 * Answers whether it did. The caller has checked that the capture is this authorization's.
 */
export function recordOutsideCapture(draft: IntentRecord, captured: { amount: number; reference: string }, responseText: string, tools: OperationTools): boolean {
  const auth = chargeAttempt(draft);
  if (draft.status !== "requires_capture" || !auth || captured.amount < 1 || captured.amount > draft.amountCapturable) return false;
  const attempt = startAttempt(draft, { id: randomId("txn"), type: "capture", amount: captured.amount, connector: auth.connector, connectorAccount: auth.connectorAccount, now: tools.now() });
  settleAttempt(draft, attempt, { kind: "succeeded", providerReference: captured.reference, responseCode: "captured_elsewhere", responseText }, tools);
  return true;
}

export async function reconcile(draft: IntentRecord, tools: OperationTools): Promise<ReconcileResult> {
  const pending = pendingAttempts(draft);
  if (pending.length === 0) return { stillPending: 0 };
  draft.reconciledAt = tools.now();
  for (const attempt of pending) {
    const connector = await tools.connectorOf(draft, attempt.connectorAccount);
    let outcome: AuthorizeOutcome | FollowUpOutcome;
    if (attempt.type === "authorize") {
      const request = authorizeRequest(draft, attempt, tools, authenticatedBefore(draft, attempt));
      outcome = await call<AuthorizeOutcome>(tools, connector, () => connector.reconcileAuthorization(request, attempt.providerReference, attempt.created), (message) => ({ kind: "unknown", providerReference: null, message }));
    } else if (attempt.type === "increment") {
      const reconcileIncrement = connector.reconcileIncrement?.bind(connector);
      if (!reconcileIncrement) continue;
      const request = followUpRequest(draft, attempt, chargeAttempt(draft)?.providerReference ?? "");
      outcome = await call<FollowUpOutcome>(tools, connector, () => reconcileIncrement(request), (message) => ({ kind: "unknown", providerReference: null, message }));
    } else if (attempt.type === "capture" || attempt.type === "void" || attempt.type === "refund") {
      const reference = attempt.type === "refund" ? refundReference(draft) : (draft.attempts.find((a) => a.id === draft.chargeAttemptId)?.providerReference ?? "");
      const request = followUpRequest(draft, attempt, reference);
      const kind = attempt.type;
      outcome = await call<FollowUpOutcome>(tools, connector, () => connector.reconcileFollowUp(kind, request, attempt.providerReference, attempt.created), (message) => ({ kind: "unknown", providerReference: null, message }));
    } else {
      continue;
    }
    // A connector answers provider_error here only when the PSP has no record of the call (nothing
    // moved); a PSP failing on the replay is the connector's "unknown" (see StripeConnector).
    settleAttempt(draft, attempt, outcome, tools);
  }
  return { stillPending: pendingAttempts(draft).length };
}
