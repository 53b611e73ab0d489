// Refund: part or all of what was captured; the sum of refunds never exceeds it. Pending refunds
// count against the refundable amount, since their money may already be moving.
import { invalidRequest, resourceMissing } from "../../core/errors";
import { applyRefundOutcome, assertOperationAllowed, chargeAttempt, refundableAmount, startAttempt } from "../../core/intent";
import { chargeIdForIntent, randomId } from "../../core/ids";
import type { IntentRecord, RefundRecord } from "../../core/types";
import type { RefundParams } from "../params";
import { callFollowUp } from "./capture";
import type { OperationTools, StepResult } from "./tools";

/** What a refund acts on at the PSP: the capture when there was a separate one (PayPal needs its id), else the charge. */
export function refundReference(draft: IntentRecord): string {
  const captured = [...draft.attempts].reverse().find((a) => a.type === "capture" && a.status === "succeeded");
  return captured?.providerReference ?? chargeAttempt(draft)?.providerReference ?? "";
}

export async function refund(draft: IntentRecord, params: RefundParams, tools: OperationTools): Promise<StepResult> {
  const chargeId = chargeIdForIntent(draft.id);
  if (params.chargeId !== undefined && params.chargeId !== chargeId) throw resourceMissing("charge", params.chargeId, "charge");
  assertOperationAllowed("refund", draft);
  const remaining = refundableAmount(draft);
  if (remaining <= 0) {
    throw invalidRequest(`Charge ${chargeId} has already been refunded.`, undefined, "charge_already_refunded");
  }
  const amount = params.amount ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${amount}) is greater than the unrefunded amount on charge ${chargeId} (${remaining}).`,
      "amount",
      "amount_too_large",
    );
  }
  const auth = chargeAttempt(draft);
  const connector = await tools.connectorOf(draft, auth?.connectorAccount ?? null);
  const now = tools.now();
  const refundId = randomId("re");
  const attempt = startAttempt(draft, { id: randomId("txn"), type: "refund", amount, connector: connector.name, connectorAccount: connector.accountId, refundId, now });
  const record: RefundRecord = {
    id: refundId,
    paymentIntentId: draft.id,
    chargeId,
    amount,
    currency: draft.currency,
    status: "pending",
    reason: params.reason ?? null,
    metadata: params.metadata,
    failureReason: null,
    attemptId: attempt.id,
    created: now,
  };
  draft.refunds.push(record);
  await tools.checkpoint();
  const outcome = await callFollowUp(tools, connector, "refund", draft, attempt, refundReference(draft));
  const transition = applyRefundOutcome(draft, record, attempt, outcome, tools.now());
  for (const type of transition.events) tools.emit(type, record);
  return { error: transition.error, refundId };
}
