// The customer is back from a provider's page (PayPal's approval, Stripe's 3DS): complete the payment
// at that provider (capture or authorize the approved order) as a new attempt. If the provider says
// the customer has not finished there yet, the intent keeps waiting for them. Only a provider's own
// redirect flow is completed here; the sandbox's challenge has its own page.
import { startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { AuthorizeOutcome } from "../../core/outcomes";
import type { IntentRecord } from "../../core/types";
import { apply, authorizeRequest, call } from "./authorize";
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
