// A PSP's webhook, applied to the intent. Events only settle what is still open (a pending attempt,
// an authorization waiting for the customer, a pending refund); one that arrives late, twice or out
// of order finds nothing open and changes nothing, so an intent never moves backwards. The one
// exception is a refund the PSP later reports failed: that is news, not a step back.
import { applyCancel, chargeAttempt } from "../../core/intent";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { Attempt, IntentRecord } from "../../core/types";
import type { ProviderEvent } from "../../connectors/types";
import { recordOutsideCapture, settleAttempt } from "./reconcile";
import type { OperationTools, StepResult } from "./tools";

export interface ProviderEventResult extends StepResult {
  applied: boolean;
  note: string;
  /** The provider reports money taken for a payment the gateway records as not paid: an operator must look. */
  alert?: boolean;
}

/**
 * Whether attempt `a` went through the account whose webhook reports on it: a connector account's
 * events settle only that account's attempts (not another PSP's of the same merchant, whose webhook
 * secret is its own), the built-in sandbox's ("sandbox") only the attempts it made itself.
 */
function madeThrough(a: Attempt, accountId: string): boolean {
  return accountId === "sandbox" ? a.connectorAccount === null : a.connectorAccount === accountId;
}

/**
 * The attempt an event names: by our attempt (or refund) id, or by the provider's reference. A capture
 * or void whose own reference is not known yet is named by its authorization's reference. An event that
 * names nothing, or names something else, finds nothing: it is never applied to "the latest" attempt.
 * When it names both, they must agree.
 */
function findAttempt(draft: IntentRecord, accountId: string, event: ProviderEvent, accept: (a: Attempt) => boolean): Attempt | undefined {
  if (event.attemptId === null && event.providerReference === null) return undefined;
  const auth = chargeAttempt(draft);
  const referenceOf = (a: Attempt): string | null =>
    a.providerReference ?? ((a.type === "capture" || a.type === "void") && auth ? auth.providerReference : null);
  const ourIds = (a: Attempt): string[] => [a.id, ...draft.refunds.filter((r) => r.attemptId === a.id).map((r) => r.id)];
  return draft.attempts.filter((a) => madeThrough(a, accountId) && accept(a)).find((a) => {
    const reference = referenceOf(a);
    if (event.attemptId !== null && !ourIds(a).includes(event.attemptId)) return false;
    if (event.providerReference !== null && reference !== null && reference !== event.providerReference) return false;
    // Named by id alone, or by a reference that matches.
    return event.attemptId !== null || (reference !== null && reference === event.providerReference);
  });
}

/**
 * A capture the provider reports that nobody asked the gateway for: the authorization was captured in
 * the provider's dashboard. It is recorded as a capture attempt that succeeded, for the amount the
 * event reports, only when everything agrees: the intent waits for its capture with nothing pending,
 * the event comes from the account that holds the authorization and names that authorization, in the
 * intent's currency, for no more than can be captured. Otherwise nothing changes.
 */
function recordCapturedElsewhere(draft: IntentRecord, event: ProviderEvent, accountId: string, tools: OperationTools): ProviderEventResult | null {
  const captured = event.capture;
  const auth = chargeAttempt(draft);
  if (!captured || draft.status !== "requires_capture" || !auth?.providerReference || auth.providerReference !== captured.authorization) return null;
  if (auth.connectorAccount !== accountId) return { applied: false, note: "a capture reported by another account than the authorization's" };
  if (draft.attempts.some((a) => a.status === "pending")) return { applied: false, note: "an attempt is pending: reconciliation settles it first" };
  if (captured.currency.toLowerCase() !== draft.currency || !recordOutsideCapture(draft, captured, "Captured at the provider, outside the gateway (reported by its webhook)", tools)) {
    return { applied: false, note: `a capture of ${captured.amount} ${captured.currency} does not fit the authorization (${draft.amountCapturable} ${draft.currency} capturable)` };
  }
  return { applied: true, note: `recorded a capture made at the provider (${captured.reference})` };
}

/**
 * The authorization an approval or decline settles: a pending one first (the completion of a
 * provider's page, whose answer was lost, names the same order as the page's attempt before it); else
 * the attempt waiting for the customer, only while the intent still waits for it. A page's attempt the
 * customer already came back from (a later attempt completed it) is history, not open.
 */
function authorizationFor(draft: IntentRecord, accountId: string, event: ProviderEvent): Attempt | undefined {
  const latest = [...draft.attempts].reverse().find((a) => a.type === "authorize");
  return (
    findAttempt(draft, accountId, event, (a) => a.type === "authorize" && a.status === "pending") ??
    findAttempt(draft, accountId, event, (a) => a.type === "authorize" && a.status === "requires_action" && draft.status === "requires_action" && a === latest)
  );
}

/** Whether the money an event reports captured is the capture we asked for: its amount, in the intent's currency. */
function sameMoney(reported: { amount: number; currency: string }, capture: Attempt, draft: IntentRecord): boolean {
  return reported.amount === capture.amount && reported.currency.toLowerCase() === draft.currency;
}

export function applyProviderEvent(draft: IntentRecord, event: ProviderEvent, tools: OperationTools, accountId: string): ProviderEventResult {
  const ignored = (note: string): ProviderEventResult => ({ applied: false, note });
  switch (event.kind) {
    case "authorization.approved":
    case "authorization.declined": {
      const auth = authorizationFor(draft, accountId, event);
      // An approval of other money than the attempt asked for (another amount or currency) is not
      // this attempt's: it settles nothing, and reconciliation asks the provider.
      if (auth && event.kind === "authorization.approved" && event.amount && (event.amount.value !== auth.amount || event.amount.currency.toLowerCase() !== draft.currency)) {
        return ignored(`an approval of ${event.amount.value} ${event.amount.currency} where ${auth.amount} ${draft.currency} was asked`);
      }
      if (auth) {
        const outcome: AuthorizeOutcome =
          event.kind === "authorization.approved"
            ? {
                kind: "approved",
                providerReference: event.settledReference ?? event.providerReference ?? auth.providerReference ?? event.id,
                captured: auth.capture === true,
                responseCode: "webhook",
                responseText: "Approved (reported by the provider)",
                authorizationCode: null,
                avsResult: null,
                cvvResult: null,
              }
            : {
                kind: "declined",
                providerReference: event.providerReference,
                code: event.code ?? "card_declined",
                declineCode: event.declineCode ?? event.code ?? "generic_decline",
                message: event.message ?? "The payment was declined.",
              };
        if (auth.status === "requires_action") auth.status = "pending";
        settleAttempt(draft, auth, outcome, tools);
        return { applied: true, note: `settled attempt ${auth.id}` };
      }
      if (event.kind === "authorization.approved" && event.captured) {
        const capture = findAttempt(draft, accountId, { ...event, attemptId: null }, (a) => a.type === "capture" && a.status === "pending");
        // Only for what we asked: a capture of another amount (made in the dashboard meanwhile) is left to reconciliation, which reads back what was captured.
        if (capture && event.capture && !sameMoney(event.capture, capture, draft)) return ignored(`a capture of ${event.capture.amount} ${event.capture.currency} where ${capture.amount} ${draft.currency} was asked`);
        if (capture) {
          settleAttempt(draft, capture, { kind: "succeeded", providerReference: event.providerReference ?? "", responseCode: "webhook", responseText: "Captured (reported by the provider)" }, tools);
          return { applied: true, note: `settled capture ${capture.id}` };
        }
        const elsewhere = recordCapturedElsewhere(draft, event, accountId, tools);
        if (elsewhere) return elsewhere;
      }
      if (event.kind === "authorization.approved") {
        // An approval of an attempt recorded failed (declined, or "nothing moved" as reconciliation
        // concluded) whose payment no other attempt took: the provider holds money the gateway says
        // was never taken. Nothing changes here (the attempt's record stands), but it is raised.
        const failed = findAttempt(draft, accountId, event, (a) => a.type === "authorize" && a.status === "failed");
        // (PayPal names the order, whose completion attempt holds the capture's id: either names the payment.)
        const references = [failed?.providerReference, event.providerReference, event.settledReference].filter((r): r is string => typeof r === "string");
        const paid = draft.attempts.some((a) => a.type === "authorize" && a.status === "succeeded" && a.providerReference !== null && references.includes(a.providerReference));
        if (failed && !paid) {
          return { applied: false, alert: true, note: `the provider reports approved attempt ${failed.id}, recorded failed: money may have moved there for a payment the gateway records as not taken; void or refund it at the provider` };
        }
      }
      return ignored("nothing open for this event: already settled");
    }
    case "capture.succeeded": {
      // Named by our attempt, or (PayPal) by the capture's own id (one PayPal held pending) or the
      // authorization it captured; settled with the capture's own reference.
      const pendingCapture = (a: Attempt) => a.type === "capture" && a.status === "pending";
      const capture = event.capture
        ? (findAttempt(draft, accountId, { ...event, providerReference: event.capture.reference }, pendingCapture) ?? findAttempt(draft, accountId, { ...event, providerReference: event.capture.authorization }, pendingCapture))
        : findAttempt(draft, accountId, event, pendingCapture);
      if (capture && event.capture && !sameMoney(event.capture, capture, draft)) return ignored(`a capture of ${event.capture.amount} ${event.capture.currency} where ${capture.amount} ${draft.currency} was asked`);
      if (capture) {
        settleAttempt(draft, capture, { kind: "succeeded", providerReference: event.capture?.reference ?? event.providerReference ?? "", responseCode: "webhook", responseText: "Captured (reported by the provider)" }, tools);
        return { applied: true, note: `settled capture ${capture.id}` };
      }
      return recordCapturedElsewhere(draft, event, accountId, tools) ?? ignored("no pending capture");
    }
    case "capture.failed": {
      // Only a capture that names itself (PayPal held it pending, with its id): the authorization stays capturable.
      const capture = event.providerReference === null ? undefined : draft.attempts.find((a) => a.type === "capture" && a.status === "pending" && a.providerReference === event.providerReference);
      if (!capture) return ignored("no pending capture by this reference");
      settleAttempt(draft, capture, { kind: "failed", code: event.code ?? "capture_declined", message: event.message ?? "The provider declined the capture." }, tools);
      return { applied: true, note: `capture ${capture.id} failed` };
    }
    case "authorization.canceled": {
      const voiding = findAttempt(draft, accountId, { ...event, attemptId: null }, (a) => a.type === "void" && a.status === "pending");
      if (voiding) {
        settleAttempt(draft, voiding, { kind: "succeeded", providerReference: event.providerReference ?? "", responseCode: "webhook", responseText: "Voided (reported by the provider)" }, tools);
        return { applied: true, note: `settled void ${voiding.id}` };
      }
      const auth = chargeAttempt(draft);
      // Only an event naming this authorization by the provider's reference releases it.
      if (draft.status === "requires_capture" && auth?.providerReference && event.providerReference === auth.providerReference) {
        // The provider released the authorization on its own (it expired there).
        for (const t of applyCancel(draft, "automatic", tools.now()).events) tools.emit(t);
        return { applied: true, note: "the provider canceled the authorization" };
      }
      return ignored("nothing to cancel");
    }
    case "refund.succeeded":
    case "refund.failed": {
      const attempt = findAttempt(draft, accountId, event, (a) => a.type === "refund");
      const refund = attempt ? draft.refunds.find((r) => r.attemptId === attempt.id) : undefined;
      if (!attempt || !refund) return ignored("no such refund");
      const outcome: FollowUpOutcome =
        event.kind === "refund.succeeded"
          ? { kind: "succeeded", providerReference: event.providerReference ?? "", responseCode: "webhook", responseText: "Refunded (reported by the provider)" }
          : { kind: "failed", code: event.code ?? "refund_failed", message: event.message ?? "The provider reports the refund failed." };
      if (attempt.status === "pending") {
        settleAttempt(draft, attempt, outcome, tools);
        return { applied: true, note: `settled refund ${refund.id}` };
      }
      // A refund the provider reports failed after it succeeded is news (a bank can return it), taken
      // only from an event naming it by the provider's own refund reference.
      if (event.kind === "refund.failed" && refund.status === "succeeded" && attempt.providerReference !== null && event.providerReference === attempt.providerReference) {
        refund.status = "failed";
        refund.failureReason = event.code ?? "refund_failed";
        draft.amountRefunded -= refund.amount;
        draft.updated = tools.now();
        tools.emit("refund.failed", refund);
        tools.emit("refund.updated", refund);
        return { applied: true, note: `refund ${refund.id} failed after succeeding` };
      }
      return ignored("refund already settled");
    }
    case "authorization.processing":
      return ignored("processing changes nothing");
    default:
      return ignored("event type not used");
  }
}
