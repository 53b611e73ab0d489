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

/**
 * When the sale's money was captured: its capture's completion (an authorization captured later, perhaps
 * the next day), else its authorization's (a sale, captured with it). The authorization's time alone
 * refused, as settled, the void of a sale authorized before midnight and captured today.
 */
function capturedAt(draft: IntentRecord): number {
  const capture = [...draft.attempts].reverse().find((a) => a.type === "capture" && a.status === "succeeded");
  const auth = draft.attempts.find((a) => a.id === draft.chargeAttemptId);
  return capture?.completed ?? auth?.completed ?? draft.created;
}

export async function posVoid(draft: IntentRecord, params: PosVoidParams, tools: OperationTools): Promise<StepResult> {
  if (draft.status !== "succeeded") return cancel(draft, {}, tools);
  // Whether the sale may be voided (no refund of it, succeeded or pending, and no void already) is the
  // refund's check. A sale that already has its void is told so (or its key replays its answer),
  // whatever the day; otherwise only a sale captured today is voided.
  if (!liveVoidOf(draft) && !sameUtcDay(capturedAt(draft), tools.now())) {
    throw unexpectedState(`PaymentIntent ${draft.id} was not captured today: it has settled, and can be refunded but not voided.`, "payment_intent_settled");
  }
  return refund(draft, { amount: undefined, reason: null, metadata: {}, posVoid: true, approvalThresholds: params.approvalThresholds, requestedBy: params.requestedBy ?? null }, tools);
}
