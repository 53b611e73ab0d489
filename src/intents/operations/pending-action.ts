// A step the shopper takes at the provider (Stripe's 3-D Secure page) is still open there when the
// intent drops it: confirmed again with another card, canceled, its amount changed, expired. Stripe
// completes a payment intent by itself once its challenge is passed, so a shopper finishing the old
// challenge later would be charged for an attempt the gateway no longer follows (a second charge
// beside the new one, or money taken on a canceled intent). Such an attempt is canceled at the
// provider first; only then is it dropped here. If the provider cannot cancel it, nothing changes
// and the operation is refused: the attempt stays followed (its webhook, the return page) instead.
import { ApiError } from "../../core/errors";
import type { IntentRecord } from "../../core/types";
import { call } from "./authorize";
import { followUpRequest } from "./capture";
import type { OperationTools } from "./tools";

export async function dropPendingActions(draft: IntentRecord, tools: OperationTools): Promise<void> {
  for (const attempt of draft.attempts) {
    if (attempt.status !== "requires_action") continue;
    if (attempt.type === "authorize" && attempt.providerReference) {
      const connector = await tools.connectorOf(draft, attempt.connectorAccount);
      if (connector.cancelPendingAction) {
        const cancelAt = connector.cancelPendingAction.bind(connector);
        // Not the authorization's own key: that one belongs to the request that created it.
        const request = { ...followUpRequest(draft, attempt, attempt.providerReference), idempotencyKey: `${attempt.idempotencyKey}:release` };
        const outcome = await call(tools, connector, () => cancelAt(request), (message) => ({ kind: "unknown" as const, providerReference: null, message }));
        if (outcome.kind !== "succeeded") {
          const why = outcome.kind === "unknown" ? `no answer (${outcome.message})` : outcome.message;
          throw new ApiError({
            status: 409,
            type: "invalid_request_error",
            code: "payment_intent_action_pending",
            message: `This PaymentIntent's earlier authentication (${attempt.id}) is still open at ${connector.name} and could not be canceled there: ${why}. Nothing was changed; try again, or let the customer finish it.`,
          });
        }
      }
    }
    attempt.status = "canceled";
  }
}
