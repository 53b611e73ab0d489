// The customer is back from a provider's page (PayPal's approval, Stripe's 3DS): complete the payment
// at that provider (capture or authorize the approved order) as a new attempt. If the provider says
// the customer has not finished there yet, the intent keeps waiting for them. Only a provider's own
// redirect flow is completed here; the sandbox's challenge has its own page.
import { retireLastError, startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { AuthorizeOutcome } from "../../core/outcomes";
import type { IntentRecord } from "../../core/types";
import { apply, authorizeRequest, call } from "./authorize";
import { dropPendingActions } from "./pending-action";
import type { OperationTools, StepResult } from "./tools";

export async function completeRedirect(draft: IntentRecord, tools: OperationTools): Promise<StepResult> {
  if (draft.status !== "requires_action") return {};
  const waiting = [...draft.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action");
  if (!waiting?.providerReference) return {};
  // The sandbox's 3DS challenge is decided only on its challenge page (completeAuthentication): a
  // return link, opened by anyone holding the client secret, never moves it.
  if (waiting.connector === "sandbox") return {};
  const connector = await tools.connectorOf(draft, waiting.connectorAccount);
  const attempt = startAttempt(draft, {
    id: randomId("txn"),
    type: "authorize",
    amount: draft.amount,
    connector: connector.name,
    connectorAccount: connector.accountId,
    capture: draft.captureMethod === "automatic",
    now: tools.now(),
  });
  attempt.providerReference = waiting.providerReference;
  draft.status = "processing";
  await tools.checkpoint();
  const request = { ...authorizeRequest(draft, attempt, tools, true), providerReference: waiting.providerReference };
  const outcome = await call<AuthorizeOutcome>(tools, connector, () => connector.completeAction(request), (message) => ({ kind: "unknown", providerReference: waiting.providerReference, message }));
  if (outcome.kind === "requires_action") {
    // Not approved yet: this attempt did nothing; the customer can still finish at the provider.
    attempt.status = "canceled";
    attempt.completed = tools.now();
    attempt.responseCode = "not_approved";
    attempt.responseText = "The customer has not completed the provider's step yet.";
    draft.status = "requires_action";
    return {};
  }
  return apply(draft, attempt, outcome, tools);
}

/**
 * The customer came back from the provider's page through its cancel link (PayPal's cancel_url): the
 * provider is asked first (an approval given before the cancel link was followed still completes the
 * payment); if it has none, the step is dropped (canceled at the provider where that can take money)
 * and the intent goes back to requires_payment_method with why, as Stripe does for a redirect the
 * customer abandoned. The customer can then pay again, with the same method or another. Authorized,
 * like completeRedirect, by the client secret: its holder could confirm with another method anyway.
 */
export async function abandonRedirect(draft: IntentRecord, tools: OperationTools): Promise<StepResult> {
  const completed = await completeRedirect(draft, tools);
  if (draft.status !== "requires_action") return completed;
  const waiting = [...draft.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action");
  if (!waiting || waiting.connector === "sandbox") return completed;
  await dropPendingActions(draft, tools);
  const now = tools.now();
  waiting.completed = now;
  waiting.responseCode = "payer_canceled";
  waiting.responseText = "The customer canceled on the payment provider's page.";
  const provider = waiting.connector === "paypal" ? "PayPal" : waiting.connector === "stripe" ? "the card issuer's page" : waiting.connector;
  retireLastError(draft);
  draft.lastPaymentError = {
    type: "invalid_request_error",
    code: "payment_intent_payment_attempt_failed",
    declineCode: null,
    message: `The customer canceled at ${provider}. The payment can be made again, with the same payment method or another.`,
    paymentMethod: draft.paymentMethod,
    attemptId: waiting.id,
  };
  draft.status = "requires_payment_method";
  draft.paymentMethod = null;
  draft.nextAction = null;
  draft.updated = now;
  tools.emit("payment_intent.payment_failed");
  return {};
}
