// The end of a 3DS challenge: a passed challenge authorizes the payment; a failed one is a decline.
import { assertOperationAllowed, recordDecline, startAttempt } from "../../core/intent";
import { unexpectedState } from "../../core/errors";
import { randomId } from "../../core/ids";
import type { Attempt, IntentRecord } from "../../core/types";
import { authorize } from "./authorize";
import type { OperationTools, StepResult } from "./tools";

/** The code of an answer given for a challenge that is no longer the intent's pending one (another card was tried since). */
export const CHALLENGE_REPLACED = "payment_intent_authentication_replaced";

/** The authorization waiting on a challenge (the intent's pending authentication), or null. */
export function pendingChallenge(intent: IntentRecord): Attempt | null {
  if (intent.status !== "requires_action") return null;
  return [...intent.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action") ?? null;
}

/**
 * `attemptId`: the authorization the challenge page was shown for (its form carries it). When the
 * intent's pending authentication is another one (the shopper paid with another card in another tab,
 * which replaced this challenge), the answer is refused and nothing changes: approving it must never
 * authorize a card the page did not show. Null: the pending one, whichever it is (an API client's
 * answer without the attempt).
 */
export async function completeAuthentication(draft: IntentRecord, passed: boolean, tools: OperationTools, attemptId: string | null = null): Promise<StepResult> {
  assertOperationAllowed("complete_authentication", draft);
  // Only the sandbox's own challenge is answered here: a payment waiting on a provider's page (PayPal's
  // approval, Stripe's 3DS) is answered by that provider, through its return or its webhook.
  const waiting = pendingChallenge(draft);
  if (!waiting || waiting.connector !== "sandbox" || waiting.connectorAccount !== null) {
    throw unexpectedState("This payment is waiting for its payment provider's own page, not for the sandbox's 3D Secure challenge.");
  }
  if (attemptId !== null && waiting.id !== attemptId) {
    throw unexpectedState(`This 3D Secure challenge (${attemptId}) was replaced by a newer payment attempt (${waiting.id}); nothing was changed.`, CHALLENGE_REPLACED);
  }
  const now = tools.now();
  const challenge = startAttempt(draft, { id: randomId("txn"), type: "authenticate", amount: draft.amount, connector: "sandbox", now });
  challenge.completed = now;
  if (passed) {
    challenge.status = "succeeded";
    challenge.responseCode = "authenticated";
    challenge.responseText = "The cardholder passed the 3D Secure challenge.";
    // Manual confirmation (Stripe's confirmation_method=manual): the merchant's server confirms once
    // the customer's step is done; that confirmation authorizes without another challenge.
    if (draft.confirmationMethod === "manual") {
      draft.status = "requires_confirmation";
      draft.nextAction = null;
      draft.updated = now;
      return {};
    }
    // The authorization goes to the connector that asked for the challenge.
    const asked = [...draft.attempts].reverse().find((a) => a.type === "authorize" && a.status === "requires_action");
    return authorize(draft, tools, { authenticated: true, connectors: [await tools.connectorOf(draft, asked?.connectorAccount ?? null)] });
  }
  challenge.status = "failed";
  challenge.responseCode = "payment_intent_authentication_failure";
  challenge.responseText = "The cardholder failed the 3D Secure challenge.";
  const transition = recordDecline(
    draft,
    challenge,
    {
      code: "payment_intent_authentication_failure",
      type: "invalid_request_error",
      declineCode: null,
      message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    },
    { now },
  );
  for (const type of transition.events) tools.emit(type);
  return { error: transition.error };
}
