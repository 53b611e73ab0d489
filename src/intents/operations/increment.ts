// Incremental authorization (Stripe's POST /v1/payment_intents/{id}/increment_authorization): raises
// what an uncaptured authorization holds to a new, larger total. Only from requires_capture, only when
// the authorization may be incremented (asked for with payment_method_options[card][request_incremental_authorization]
// and allowed by its connector and card). Recorded as an attempt before the PSP hears of it, like a
// capture; a decline changes nothing else (the intent stays capturable for what it was); an unknown
// answer leaves the attempt pending for reconciliation, and the intent is not captured, canceled or
// incremented again until it is settled.
import { ApiError, invalidRequest, unexpectedState } from "../../core/errors";
import { applyIncrementOutcome, assertOperationAllowed, chargeAttempt, incrementalAuthorizationAvailable, MAX_INCREMENT_ATTEMPTS, startAttempt } from "../../core/intent";
import { chargeIdForIntent, randomId } from "../../core/ids";
import type { FollowUpOutcome } from "../../core/outcomes";
import type { IntentRecord } from "../../core/types";
import type { IncrementAuthorizationParams } from "../params";
import { call } from "./authorize";
import { assertNoPendingSettlement, followUpRequest } from "./capture";
import { mergeMetadata } from "./metadata";
import type { OperationTools, StepResult } from "./tools";

export async function incrementAuthorization(draft: IntentRecord, params: IncrementAuthorizationParams, tools: OperationTools): Promise<StepResult> {
  assertOperationAllowed("increment_authorization", draft);
  assertNoPendingSettlement(draft);
  const auth = chargeAttempt(draft);
  if (!auth?.providerReference) throw new Error(`intent ${draft.id} is requires_capture without an authorization`);
  if (!incrementalAuthorizationAvailable(draft)) {
    throw unexpectedState(
      draft.cardOptions?.requestIncrementalAuthorization === "if_available"
        ? `Incremental authorization is not available for this PaymentIntent (${draft.id}): its card or payment provider does not support it (latest_charge.payment_method_details.card.incremental_authorization.status is unavailable).`
        : `Incremental authorization is not available for this PaymentIntent (${draft.id}): it was not requested when it was confirmed. Confirm with payment_method_options[card][request_incremental_authorization]=if_available and capture_method=manual.`,
      "incremental_authorization_unavailable",
    );
  }
  if (params.amount <= draft.amount) {
    throw invalidRequest(`The new amount (${params.amount}) must be greater than the PaymentIntent's current amount (${draft.amount}).`, "amount", "amount_too_small");
  }
  const tried = draft.attempts.filter((a) => a.type === "increment").length;
  if (tried >= MAX_INCREMENT_ATTEMPTS) {
    throw new ApiError({
      status: 400,
      type: "invalid_request_error",
      code: "incremental_authorization_limit_exceeded",
      message: `This PaymentIntent has had ${tried} incremental authorization attempts, the most a payment may have (declines included). Capture it, or cancel it and create a new one.`,
    });
  }
  // Checked now (too many keys is a 400), applied only once the increment went through.
  const metadata = params.metadata ? mergeMetadata(draft.metadata, params.metadata) : null;
  const connector = await tools.connectorOf(draft, auth.connectorAccount);
  const increment = connector.incrementAuthorization?.bind(connector);
  if (!increment) throw unexpectedState(`Incremental authorization is not available for this PaymentIntent (${draft.id}): its payment provider (${connector.name}) does not support it.`, "incremental_authorization_unavailable");
  const attempt = startAttempt(draft, { id: randomId("txn"), type: "increment", amount: params.amount, connector: connector.name, connectorAccount: connector.accountId, now: tools.now() });
  await tools.checkpoint();
  const request = followUpRequest(draft, attempt, auth.providerReference);
  const outcome = await call<FollowUpOutcome>(tools, connector, () => increment(request), (message) => ({ kind: "unknown", providerReference: null, message }));
  const transition = applyIncrementOutcome(draft, attempt, outcome, tools.now());
  if (outcome.kind === "succeeded") {
    // The descriptive fields change with the amount, only when the increment went through (a decline changes nothing).
    if (params.description !== undefined) draft.description = params.description;
    if (params.statementDescriptor !== undefined) draft.statementDescriptor = params.statementDescriptor;
    if (metadata) draft.metadata = metadata;
  }
  const chargeId = chargeIdForIntent(draft.id);
  for (const type of transition.events) {
    if (type === "charge.updated") tools.emit(type, undefined, chargeId);
    else tools.emit(type);
  }
  return { error: transition.error };
}
