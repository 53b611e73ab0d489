// Cancel: from any status before the money moves; an authorization is voided at the PSP first.
import { applyCancel, applyVoidOutcome, assertOperationAllowed, chargeAttempt, startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import type { CancelParams } from "../params";
import { assertNoPendingSettlement, callFollowUp } from "./capture";
import type { OperationTools, StepResult } from "./tools";

export async function cancel(draft: IntentRecord, params: CancelParams, tools: OperationTools): Promise<StepResult> {
  assertOperationAllowed("cancel", draft);
  assertNoPendingSettlement(draft);
  const auth = chargeAttempt(draft);
  if (draft.status === "requires_capture" && auth) {
    const connector = tools.connectorFor(draft);
    const attempt = startAttempt(draft, { id: randomId("txn"), type: "void", amount: draft.amountCapturable, connector: connector.name, now: tools.now() });
    await tools.checkpoint();
    const outcome = await callFollowUp(connector, "void", draft, attempt, auth.providerReference ?? "");
    const voided = applyVoidOutcome(draft, attempt, outcome, tools.now());
    for (const type of voided.events) tools.emit(type);
    if (outcome.kind !== "succeeded") return { error: voided.error };
  }
  const transition = applyCancel(draft, params.cancellationReason ?? null, tools.now());
  for (const type of transition.events) tools.emit(type);
  return {};
}
