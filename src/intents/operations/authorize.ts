// The authorization step shared by confirm, create-with-confirm and a passed 3DS challenge: record the
// attempt, checkpoint, call the PSP, apply what it said.
import { applyAuthorizeOutcome, startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { AuthorizeOutcome } from "../../core/outcomes";
import type { IntentRecord } from "../../core/types";
import type { OperationTools, StepResult } from "./tools";

export async function authorize(draft: IntentRecord, tools: OperationTools, opts: { authenticated: boolean }): Promise<StepResult> {
  const paymentMethod = draft.paymentMethod;
  if (!paymentMethod) throw new Error("authorize() needs a payment method");
  const connector = tools.connectorFor(draft);
  const attempt = startAttempt(draft, {
    id: randomId("txn"),
    type: "authorize",
    amount: draft.amount,
    connector: connector.name,
    capture: draft.captureMethod === "automatic",
    now: tools.now(),
  });
  draft.status = "processing";
  draft.nextAction = null;
  await tools.checkpoint();

  let outcome: AuthorizeOutcome;
  try {
    outcome = await connector.authorize({
      intentId: draft.id,
      merchantId: draft.merchantId,
      attemptId: attempt.id,
      idempotencyKey: attempt.idempotencyKey,
      amount: attempt.amount,
      currency: draft.currency,
      capture: attempt.capture === true,
      paymentMethod,
      authenticated: opts.authenticated,
      returnUrl: draft.returnUrl,
    });
  } catch (err) {
    // The call may have reached the PSP before it failed: we cannot know, so it is an unknown outcome.
    outcome = { kind: "unknown", providerReference: null, message: err instanceof Error ? err.message : String(err) };
  }
  const transition = applyAuthorizeOutcome(draft, attempt, outcome, {
    now: tools.now(),
    maxDeclines: tools.config.maxPaymentAttempts,
    restoreStatus: "requires_confirmation",
    challengeUrl: tools.challengeUrl(draft),
  });
  for (const type of transition.events) tools.emit(type);
  return { error: transition.error };
}
