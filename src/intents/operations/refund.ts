// Refund: part or all of what was captured; the sum of refunds never exceeds it. Pending refunds
// count against the refundable amount, since their money may already be moving. A refund above the
// merchant's approval threshold waits, pending, until someone holding refunds.approve approves it
// (then it goes to the PSP) or rejects it (then it is canceled and its amount released); until then the
// merchant may also cancel it itself (Stripe's refunds.cancel).
import { ApiError, invalidRequest, permissionDenied, resourceMissing, unexpectedState } from "../../core/errors";
import { applyRefundOutcome, assertOperationAllowed, chargeAttempt, isFailedCharge, refundableAmount, startAttempt } from "../../core/intent";
import { fourEyesConflict } from "../../core/four-eyes";
import { chargeIdForIntent, failedChargeId, randomId } from "../../core/ids";
import { isLiveRefund, liveVoidOf, VOID_MARK } from "../../core/pos-status";
import type { IntentRecord, RefundRecord } from "../../core/types";
import type { ApprovalParams, RefundCancelParams, RefundParams, RefundUpdateParams } from "../params";
import { callFollowUp } from "./capture";
import { mergeMetadata } from "./metadata";
import type { OperationTools, StepResult } from "./tools";

/** What a refund acts on at the PSP: the capture when there was a separate one (PayPal needs its id), else the charge. */
export function refundReference(draft: IntentRecord): string {
  const captured = [...draft.attempts].reverse().find((a) => a.type === "capture" && a.status === "succeeded");
  return captured?.providerReference ?? chargeAttempt(draft)?.providerReference ?? "";
}

/** Sends a refund to the intent's connector and applies the answer. */
async function execute(draft: IntentRecord, record: RefundRecord, tools: OperationTools, created: boolean): Promise<StepResult> {
  const auth = chargeAttempt(draft);
  const connector = await tools.connectorOf(draft, auth?.connectorAccount ?? null);
  const attempt = startAttempt(draft, {
    id: randomId("txn"),
    type: "refund",
    amount: record.amount,
    connector: connector.name,
    connectorAccount: connector.accountId,
    refundId: record.id,
    now: tools.now(),
  });
  record.attemptId = attempt.id;
  await tools.checkpoint();
  const outcome = await callFollowUp(tools, connector, "refund", draft, attempt, refundReference(draft));
  const transition = applyRefundOutcome(draft, record, attempt, outcome, tools.now());
  // A refund that waited for approval already announced itself: now it is an update.
  for (const type of transition.events) tools.emit(created || type !== "refund.created" ? type : "refund.updated", record);
  return { error: transition.error, refundId: record.id };
}

export async function refund(draft: IntentRecord, params: RefundParams, tools: OperationTools): Promise<StepResult> {
  const chargeId = chargeIdForIntent(draft.id);
  if (params.chargeId !== undefined && params.chargeId !== chargeId) {
    // One of the intent's declined authorizations (a failed charge, readable as such): nothing to give back.
    if (draft.attempts.some((a) => isFailedCharge(a) && failedChargeId(draft.id, a.id) === params.chargeId)) {
      throw invalidRequest(`Charge ${params.chargeId} failed: no money was taken, so there is nothing to refund.`, "charge", "charge_not_refundable");
    }
    throw resourceMissing("charge", params.chargeId, "charge");
  }
  // The void mark is seed 002's: a refund asked for with it in its metadata (from /v1, say) would read
  // as a void there (a partial refund "voided", a later void refused as "already voided").
  if (VOID_MARK in params.metadata) throw reservedVoidMark();
  assertOperationAllowed("refund", draft);
  if (params.posVoid) assertVoidable(draft);
  const remaining = refundableAmount(draft);
  if (remaining <= 0) {
    // Refunds still pending (waiting for an approver, or for the processor's answer) hold their amount:
    // said, so the merchant does not look for a refund that went through.
    const pending = draft.refunds.filter((r) => r.status === "pending").reduce((sum, r) => sum + r.amount, 0);
    const held = pending > 0 ? ` (${pending} of it by refunds still pending: waiting for approval or for the processor)` : "";
    throw invalidRequest(`Charge ${chargeId} has already been refunded${held}.`, undefined, "charge_already_refunded");
  }
  const amount = params.amount ?? remaining;
  if (amount > remaining) {
    const err = invalidRequest(`Refund amount (${amount}) is greater than the unrefunded amount on charge ${chargeId} (${remaining}).`, "amount", "amount_too_large");
    err.data.excess = { action: "refund", requested: amount, available: remaining, currency: draft.currency };
    throw err;
  }
  const record: RefundRecord = {
    id: randomId("re"),
    paymentIntentId: draft.id,
    chargeId,
    amount,
    currency: draft.currency,
    status: "pending",
    reason: params.reason ?? null,
    metadata: params.posVoid ? { ...params.metadata, [VOID_MARK]: "true" } : params.metadata,
    failureReason: null,
    attemptId: null,
    requiresApproval: needsApproval(draft, amount, params.approvalThresholds[draft.currency]),
    approval: null,
    requestedBy: params.requestedBy ?? null,
    created: tools.now(),
  };
  draft.refunds.push(record);
  draft.updated = tools.now();
  if (record.requiresApproval) {
    tools.emit("refund.created", record);
    return { refundId: record.id };
  }
  return execute(draft, record, tools, true);
}

/**
 * A void (a refund carrying the void mark: seed 002's void of a same-day sale) gives back the whole
 * sale and is its only refund. It is checked here, in the intent's serialized operation, so that a
 * void and a refund sent together cannot both pass: whichever comes second is refused (a refund after
 * the void finds nothing left to refund). Refunds failed, canceled or rejected do not count.
 */
function assertVoidable(draft: IntentRecord): void {
  const voided = liveVoidOf(draft);
  if (voided) {
    const how = voided.status === "succeeded" ? "was already voided" : "already has a void waiting (for approval or for the payment provider)";
    throw unexpectedState(`PaymentIntent ${draft.id} ${how}: refund ${voided.id}.`, "payment_intent_already_voided");
  }
  const others = draft.refunds.filter(isLiveRefund);
  if (others.length > 0) {
    throw unexpectedState(
      `PaymentIntent ${draft.id} was already refunded in part or whole (${others.map((r) => `${r.id}, ${r.status}`).join("; ")}): it can no longer be voided.`,
      "payment_intent_refunded_not_voidable",
    );
  }
}

/** The void mark is the gateway's own metadata key (seed 002's void of a sale): no request sets or removes it. */
function reservedVoidMark(): ApiError {
  return invalidRequest(
    `The metadata key '${VOID_MARK}' is reserved: it marks the void of a same-day sale (POST /api/v1/payments/void), which is the only way to make one.`,
    "metadata",
    "parameter_invalid",
  );
}

/** One of the intent's refunds, or a 404 naming it. */
function refundOf(draft: IntentRecord, refundId: string): RefundRecord {
  const record = draft.refunds.find((r) => r.id === refundId);
  if (!record) throw resourceMissing("refund", refundId, "id");
  return record;
}

/**
 * A refund's metadata, whatever its status (the only thing about a refund Stripe lets change). An
 * update that changes nothing leaves the intent as it was, with no event.
 */
export async function updateRefund(draft: IntentRecord, params: RefundUpdateParams, tools: OperationTools): Promise<StepResult> {
  const record = refundOf(draft, params.refundId);
  if (params.metadata === undefined) return { refundId: record.id };
  // The void mark stays as it is: sent unchanged (metadata read back and written again) it is accepted,
  // any other value refused; unsetting every key (`metadata: ""`) keeps it.
  const mark = record.metadata[VOID_MARK];
  if (VOID_MARK in params.metadata && (params.metadata[VOID_MARK] || undefined) !== mark) throw reservedVoidMark();
  const merged = mergeMetadata(record.metadata, params.metadata);
  if (mark !== undefined) merged[VOID_MARK] = mark;
  const same = Object.keys(merged).length === Object.keys(record.metadata).length && Object.entries(merged).every(([k, v]) => record.metadata[k] === v);
  if (same) return { refundId: record.id };
  record.metadata = merged;
  draft.updated = tools.now();
  tools.emit("refund.updated", record);
  return { refundId: record.id };
}

/**
 * The four-eyes rule counts what one payment has been refunded without an approver, this refund
 * included: split into refunds each under the threshold, a large refund still waits for a person.
 * Refunds that went (or go) to an approver do not count, nor those canceled or failed.
 */
function needsApproval(draft: IntentRecord, amount: number, threshold: number | undefined): boolean {
  if (threshold === undefined) return false;
  const unreviewed = draft.refunds
    .filter((r) => r.status !== "canceled" && r.status !== "failed" && !r.requiresApproval)
    .reduce((sum, r) => sum + r.amount, 0);
  return unreviewed + amount > threshold;
}

/** A refund held for approval that no one has decided on yet: the PSP has not heard of it. */
function awaitingApproval(record: RefundRecord): boolean {
  return record.requiresApproval && record.approval === null && record.status === "pending";
}

/** A refund held for approval is dropped: canceled, its amount no longer held, nothing sent to the PSP. */
function release(draft: IntentRecord, record: RefundRecord, tools: OperationTools): StepResult {
  record.status = "canceled";
  draft.updated = tools.now();
  tools.emit("refund.updated", record);
  return { refundId: record.id };
}

/**
 * Stripe's refunds.cancel: only a refund no money has moved for can be taken back. At Stripe that is
 * one waiting for its customer (requires_action); here, one held for approval. A refund the PSP has
 * (pending its answer) or has answered cannot.
 */
export async function cancelRefund(draft: IntentRecord, params: RefundCancelParams, tools: OperationTools): Promise<StepResult> {
  const record = refundOf(draft, params.refundId);
  if (!awaitingApproval(record)) {
    const why = record.status === "pending" ? ": it was sent to the payment provider; only a refund waiting for approval can be canceled" : "";
    throw invalidRequest(`Refund ${record.id} cannot be canceled because it has a status of ${record.status}${why}.`);
  }
  return release(draft, record, tools);
}

export async function decideRefund(draft: IntentRecord, params: ApprovalParams, tools: OperationTools): Promise<StepResult> {
  const record = refundOf(draft, params.refundId);
  if (!awaitingApproval(record)) {
    throw unexpectedState(`Refund ${record.id} is not waiting for approval (its status is ${record.status}).`, "refund_not_awaiting_approval");
  }
  // Four eyes: whoever asked for a refund cannot approve it (rejecting one's own request is allowed),
  // nor whoever made the key it was requested with: one person would otherwise approve a refund they
  // asked for through a key they minted.
  const makers = params.requesterMakers && params.requesterMakers.requestedBy === record.requestedBy ? params.requesterMakers.makers : [];
  const conflict = params.approve && record.requestedBy ? fourEyesConflict(record.requestedBy, makers, params.actor) : null;
  if (conflict === "requester") {
    throw permissionDenied(`Refund ${record.id} was requested by ${params.actor}: another person must approve it.`);
  }
  if (conflict === "maker") {
    throw permissionDenied(`Refund ${record.id} was requested with ${record.requestedBy ?? ""}, a credential made by ${params.actor}: another person must approve it.`);
  }
  record.approval = { status: params.approve ? "approved" : "rejected", actor: params.actor, reason: params.reason, at: tools.now() };
  if (!params.approve) return release(draft, record, tools);
  return execute(draft, record, tools, false);
}
