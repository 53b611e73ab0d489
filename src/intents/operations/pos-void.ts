// Seed 002's void, decided by the intent's object on its own state: an authorization is released (a
// cancel); a sale captured the same UTC day gives its whole amount back, as a refund marked as the
// void. Decided here, in the operation's turn, and not by the route from a read made before it: a
// capture that lands between the two (a void sent while a capture is in flight) is voided as the sale
// it has become, not refused with "refund it instead".
import { unexpectedState } from "../../core/errors";
import { liveVoidOf } from "../../core/pos-status";
import type { IntentRecord } from "../../core/types";
import type { PosVoidParams } from "../params";
import { cancel } from "./cancel";
import { refund } from "./refund";
import type { OperationTools, StepResult } from "./tools";

const DAY_MS = 24 * 60 * 60 * 1000;

const sameUtcDay = (a: number, b: number): boolean => Math.floor(a / DAY_MS) === Math.floor(b / DAY_MS);

export async function posVoid(draft: IntentRecord, params: PosVoidParams, tools: OperationTools): Promise<StepResult> {
  if (draft.status !== "succeeded") return cancel(draft, {}, tools);
  // Whether the sale may be voided (no refund of it, succeeded or pending, and no void already) is the
  // refund's check. A sale that already has its void is told so (or its key replays its answer),
  // whatever the day; otherwise only a sale captured today is voided.
  const captured = draft.attempts.find((a) => a.id === draft.chargeAttemptId);
  if (!liveVoidOf(draft) && !sameUtcDay(captured?.completed ?? draft.created, tools.now())) {
    throw unexpectedState(`PaymentIntent ${draft.id} was not captured today: it has settled, and can be refunded but not voided.`, "payment_intent_settled");
  }
  return refund(draft, { amount: undefined, reason: null, metadata: {}, posVoid: true, approvalThresholds: params.approvalThresholds, requestedBy: params.requestedBy ?? null }, tools);
}
