// The authorization step shared by confirm, create-with-confirm and a passed 3DS challenge. For each
// connector in the merchant's order (skipping those whose circuit breaker is open): record the
// attempt, checkpoint, call the PSP, apply what it said. A provider error before any money moved
// fails over to the next connector; a decline, an approval or an unknown outcome never does. A
// refusal of the payment's own data (Stripe's amount_too_small) fails over too, since another
// provider may take that amount; the last connector's refusal is the merchant's 400.
import { ApiError } from "../../core/errors";
import { applyAuthorizeOutcome, effectiveCaptureMethod, startAttempt } from "../../core/intent";
import { randomId } from "../../core/ids";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { Attempt, IntentRecord } from "../../core/types";
import type { AuthorizeRequest, Connector } from "../../connectors/types";
import type { OperationTools, StepResult } from "./tools";

export function authorizeRequest(draft: IntentRecord, attempt: Attempt, tools: OperationTools, authenticated: boolean): AuthorizeRequest {
  const paymentMethod = draft.paymentMethod;
  if (!paymentMethod) throw new Error("an authorization needs a payment method");
  return {
    intentId: draft.id,
    merchantId: draft.merchantId,
    attemptId: attempt.id,
    idempotencyKey: attempt.idempotencyKey,
    amount: attempt.amount,
    currency: draft.currency,
    capture: attempt.capture === true,
    paymentMethod,
    authenticated,
    returnUrl: draft.returnUrl,
    gatewayReturnUrl: tools.gatewayReturnUrl(draft),
    description: draft.description,
    offSession: draft.offSession === true,
    ...(draft.errorOnRequiresAction ? { errorOnRequiresAction: true } : {}),
    ...(draft.cardOptions?.requestIncrementalAuthorization === "if_available" ? { requestIncrementalAuthorization: true } : {}),
    ...(draft.cardOptions?.requestThreeDSecure === "any" || draft.cardOptions?.requestThreeDSecure === "challenge" ? { requestThreeDSecure: draft.cardOptions.requestThreeDSecure } : {}),
  };
}

/** Stripe's answer to a confirmation with error_on_requires_action that needed the customer: a 402 card_error. */
function authenticationRequired(providerReference: string | null): AuthorizeOutcome {
  return { kind: "declined", providerReference, code: "authentication_required", declineCode: "authentication_required", message: "Your card was declined. This transaction requires authentication." };
}

/** Calls the connector; a throw may have reached the PSP, so it is an unknown outcome. */
export async function call<T extends AuthorizeOutcome | FollowUpOutcome>(tools: OperationTools, connector: Connector, run: () => Promise<T>, unknown: (message: string) => T): Promise<T> {
  const started = Date.now();
  let outcome: T;
  try {
    outcome = await run();
  } catch (err) {
    outcome = unknown(err instanceof Error ? err.message : String(err));
  }
  tools.health.report(connector, outcome, Date.now() - started);
  return outcome;
}

export async function authorize(draft: IntentRecord, tools: OperationTools, opts: { authenticated: boolean; connectors?: Connector[] }): Promise<StepResult> {
  if (!draft.paymentMethod) throw new Error("authorize() needs a payment method");
  const connectors = opts.connectors ?? (await tools.routes(draft));
  let attempted = false;
  // A connector that cannot take this amount (PayPal and a KWD payment, say) is passed over before anything is sent.
  const refusals = connectors.map((connector) => connector.refusal?.(draft.amount, draft.currency) ?? null);
  const usable = connectors.filter((_, i) => refusals[i] === null);
  const [refused] = refusals.filter((r) => r !== null);
  if (usable.length === 0 && refused) {
    // The amount's digits (KWD ending in 5, say) are the amount's fault; anything else the currency's.
    throw new ApiError({ status: 400, type: "invalid_request_error", code: refused.code, param: refused.code === "amount_not_supported" ? "amount" : "currency", message: refused.message });
  }
  /** The latest refusal of the request's own data by a connector failed over from. */
  let rejected: Extract<AuthorizeOutcome, { kind: "rejected" }> | null = null;
  for (const [index, connector] of usable.entries()) {
    if (!(await tools.health.admit(connector))) continue;
    attempted = true;
    const attempt = startAttempt(draft, {
      id: randomId("txn"),
      type: "authorize",
      amount: draft.amount,
      connector: connector.name,
      connectorAccount: connector.accountId,
      capture: effectiveCaptureMethod(draft) === "automatic",
      now: tools.now(),
    });
    draft.status = "processing";
    draft.nextAction = null;
    await tools.checkpoint();
    const request = authorizeRequest(draft, attempt, tools, opts.authenticated);
    const answered = await call<AuthorizeOutcome>(tools, connector, () => connector.authorize(request), (message) => ({ kind: "unknown", providerReference: null, message }));
    // error_on_requires_action: a step for the customer (a provider whose own flag did not already
    // decline it, such as PayPal's approval) fails the attempt; nothing moved without that step.
    const outcome: AuthorizeOutcome = answered.kind === "requires_action" && request.errorOnRequiresAction ? authenticationRequired(answered.providerReference) : answered;
    const isLast = index === usable.length - 1;
    if (outcome.kind === "provider_error" && !isLast) {
      // Nothing moved at this PSP: record the failed attempt and try the next connector.
      attempt.status = "failed";
      attempt.completed = tools.now();
      attempt.responseCode = "provider_error";
      attempt.responseText = outcome.message;
      continue;
    }
    if (outcome.kind === "rejected" && !isLast) {
      // This PSP will not take the payment as it is (an amount below its minimum); nothing moved. The
      // next may take it: the attempt is recorded as refused, with the PSP's code, and the next is tried.
      attempt.status = "failed";
      attempt.completed = tools.now();
      attempt.responseCode = outcome.code;
      attempt.responseText = outcome.message;
      attempt.refusedRequest = true;
      rejected = outcome;
      continue;
    }
    return apply(draft, attempt, outcome, tools);
  }
  if (!attempted) {
    throw new ApiError({
      status: 503,
      type: "api_error",
      code: "connectors_unavailable",
      message: "Every payment connector of this merchant is paused by its circuit breaker after repeated failures. Nothing was charged; retry shortly.",
    });
  }
  // The remaining connectors were paused after earlier ones failed: nothing moved anywhere.
  draft.status = "requires_confirmation";
  // One of them refused the payment's own data: that is what the merchant can act on.
  if (rejected) return { error: { status: 400, type: "invalid_request_error", code: rejected.code, message: rejected.message, ...(rejected.param ? { param: rejected.param } : {}) } };
  return {
    error: { status: 502, type: "api_error", code: "provider_error", message: "The payment providers failed and the others are paused. No money moved; the payment may be confirmed again." },
  };
}

export function apply(draft: IntentRecord, attempt: Attempt, outcome: AuthorizeOutcome, tools: OperationTools): StepResult {
  const transition = applyAuthorizeOutcome(draft, attempt, outcome, {
    now: tools.now(),
    restoreStatus: "requires_confirmation",
    // The sandbox's challenge names the authorization it is for: answering a challenge another
    // attempt has replaced since (a second tab) is refused, never applied to the newer card.
    challengeUrl: `${tools.challengeUrl(draft)}&attempt=${encodeURIComponent(attempt.id)}`,
  });
  for (const type of transition.events) tools.emit(type);
  return { error: transition.error };
}
