// Capture: once, from requires_capture, for at most the authorized amount; the rest is released.
import { ApiError, invalidRequest } from "../../core/errors";
import { applyCaptureOutcome, assertOperationAllowed, chargeAttempt, pendingAttempts, startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { FollowUpOutcome } from "../../core/outcomes";
import type { Attempt, IntentRecord } from "../../core/types";
import type { Connector, FollowUpKind, FollowUpRequest } from "../../connectors/types";
import { call } from "./authorize";
import { mergeMetadata } from "./metadata";
import type { CaptureParams } from "../params";
import type { OperationTools, StepResult } from "./tools";

export function assertNoPendingSettlement(draft: IntentRecord): void {
  if (pendingAttempts(draft).some((a) => a.type === "capture" || a.type === "void" || a.type === "increment")) {
    throw new ApiError({
      status: 409,
      type: "invalid_request_error",
      code: "payment_intent_pending_reconciliation",
      message: "A capture, void or incremental authorization of this PaymentIntent has an unknown outcome at the payment provider; it must be reconciled first.",
    });
  }
}

export function followUpRequest(draft: IntentRecord, attempt: Attempt, providerReference: string): FollowUpRequest {
  return {
    intentId: draft.id,
    merchantId: draft.merchantId,
    attemptId: attempt.id,
    idempotencyKey: attempt.idempotencyKey,
    amount: attempt.amount,
    currency: draft.currency,
    providerReference,
    paymentMethod: draft.paymentMethod,
  };
}

/** A capture, void or refund of the attempt at its connector (health recorded; a throw is an unknown outcome). */
export function callFollowUp(tools: OperationTools, connector: Connector, kind: FollowUpKind, draft: IntentRecord, attempt: Attempt, providerReference: string): Promise<FollowUpOutcome> {
  const request = followUpRequest(draft, attempt, providerReference);
  return call<FollowUpOutcome>(tools, connector, () => connector[kind](request), (message) => ({ kind: "unknown", providerReference: null, message }));
}

export async function capture(draft: IntentRecord, params: CaptureParams, tools: OperationTools): Promise<StepResult> {
  assertOperationAllowed("capture", draft);
  assertNoPendingSettlement(draft);
  const amount = params.amountToCapture ?? draft.amountCapturable;
  if (amount > draft.amountCapturable) {
    const err = invalidRequest(`The amount to capture (${amount}) is greater than the amount capturable (${draft.amountCapturable}).`, "amount_to_capture", "amount_too_large");
    err.data.excess = { action: "capture", requested: amount, available: draft.amountCapturable, currency: draft.currency };
    throw err;
  }
  const auth = chargeAttempt(draft);
  if (!auth?.providerReference) throw new Error(`intent ${draft.id} is requires_capture without an authorization`);
  if (params.metadata) draft.metadata = mergeMetadata(draft.metadata, params.metadata);
  const connector = await tools.connectorOf(draft, auth.connectorAccount);
  const attempt = startAttempt(draft, { id: randomId("txn"), type: "capture", amount, connector: connector.name, connectorAccount: connector.accountId, now: tools.now() });
  await tools.checkpoint();
  const outcome = await callFollowUp(tools, connector, "capture", draft, attempt, auth.providerReference);
  const transition = applyCaptureOutcome(draft, attempt, outcome, tools.now());
  for (const type of transition.events) tools.emit(type);
  return { error: transition.error };
}
