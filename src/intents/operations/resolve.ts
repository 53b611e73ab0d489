// What an operator made of a failed payment (seed 002): resolved (for example paid by other means,
// or settled by a retry) or dismissed, with a reason. The payment itself does not change.
import { unexpectedState } from "../../core/errors";
import { isFailedPayment } from "../../core/intent";
import type { IntentRecord } from "../../core/types";
import type { ResolutionParams } from "../params";
import type { OperationTools, StepResult } from "./tools";

export async function resolveFailedPayment(draft: IntentRecord, params: ResolutionParams, tools: OperationTools): Promise<StepResult> {
  if (!isFailedPayment(draft)) throw unexpectedState(`PaymentIntent ${draft.id} is not a failed payment (its status is ${draft.status}).`, "not_a_failed_payment");
  if (draft.resolution) throw unexpectedState(`This failed payment was already ${draft.resolution.status}.`, "failed_payment_already_resolved");
  draft.resolution = { status: params.status, reason: params.reason, paidByOtherMeans: params.paidByOtherMeans, otherMeansType: params.otherMeansType ?? null, retriedBy: params.retriedBy, actor: params.actor, at: tools.now() };
  draft.updated = tools.now();
  return {};
}
