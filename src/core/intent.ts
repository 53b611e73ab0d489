// The payment intent state machine, as data and pure functions. The Durable Object does the I/O
// (storage, PSP calls); everything here only decides what a transition means.
import { ApiError, invalidRequest, unexpectedState, type ApiErrorData } from "./errors";
import type { AuthorizeOutcome, FollowUpOutcome } from "./outcomes";
import { isHttpUrl } from "./urls";
import type { Attempt, AttemptType, IntentRecord, IntentStatus, PaymentError, RefundRecord } from "./types";

export type IntentOperation = "update" | "confirm" | "capture" | "cancel" | "refund" | "complete_authentication" | "increment_authorization";

/** Which statuses each operation may start from. Anything else is `payment_intent_unexpected_state`. */
export const ALLOWED_FROM: Readonly<Record<IntentOperation, readonly IntentStatus[]>> = {
  update: ["requires_payment_method", "requires_confirmation", "requires_action"],
  confirm: ["requires_payment_method", "requires_confirmation", "requires_action"],
  capture: ["requires_capture"],
  cancel: ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"],
  refund: ["succeeded"],
  complete_authentication: ["requires_action"],
  increment_authorization: ["requires_capture"],
};

export const TERMINAL_STATUSES: readonly IntentStatus[] = ["succeeded", "canceled", "failed"];

const VERBS: Record<IntentOperation, string> = {
  update: "update",
  confirm: "confirm",
  capture: "capture",
  cancel: "cancel",
  refund: "refund",
  complete_authentication: "authenticate",
  increment_authorization: "increment the authorization of",
};

const PAST: Record<IntentOperation, string> = {
  update: "updated",
  confirm: "confirmed",
  capture: "captured",
  cancel: "canceled",
  refund: "refunded",
  complete_authentication: "authenticated",
  increment_authorization: "incremented",
};

export function assertOperationAllowed(op: IntentOperation, intent: IntentRecord): void {
  const allowed = ALLOWED_FROM[op];
  if (allowed.includes(intent.status)) return;
  if (op === "refund") {
    throw new ApiError({
      status: 400,
      type: "invalid_request_error",
      code: "charge_not_refundable",
      message: `This PaymentIntent (${intent.id}) does not have a successful, captured charge to refund; its status is ${intent.status}.`,
    });
  }
  throw unexpectedState(
    `You cannot ${VERBS[op]} this PaymentIntent because it has a status of ${intent.status}. ` +
      `Only a PaymentIntent with one of the following statuses may be ${PAST[op]}: ${allowed.join(", ")}.`,
  );
}

/** Money that has been captured and not yet refunded or promised to a pending refund. */
export function refundableAmount(intent: IntentRecord): number {
  const reserved = intent.refunds
    .filter((r) => r.status === "pending" || r.status === "succeeded")
    .reduce((sum, r) => sum + r.amount, 0);
  return intent.amountReceived - reserved;
}

/** The window of the decline velocity rule, in milliseconds (times in an IntentRecord are epoch ms). */
export const DECLINE_VELOCITY_WINDOW_MS = 3_600_000;

/** Declined attempts (and failed 3DS challenges) of this intent completed within the window ending at `now`. */
export function recentDeclines(intent: IntentRecord, now: number, windowMs = DECLINE_VELOCITY_WINDOW_MS): Attempt[] {
  return intent.attempts.filter(
    (a) =>
      (a.type === "authorize" || a.type === "authenticate") &&
      a.status === "failed" &&
      !chargedNothing(a) &&
      (a.completed ?? a.created) > now - windowMs,
  );
}

/**
 * A failed authorization the provider never took up: it failed itself (a provider error) or refused
 * the request's own data (an amount below its minimum). No charge, and no decline.
 */
export function chargedNothing(attempt: Attempt): boolean {
  return attempt.responseCode === "provider_error" || attempt.refusedRequest === true;
}

/**
 * The decline velocity rule: a separate rule, not a status. After `limit` declines within the
 * window, a further confirm is refused with a 400 `card_decline_rate_limit_exceeded` and nothing
 * changes: the intent stays `requires_payment_method` and may be confirmed once the oldest of those
 * declines leaves the window.
 */
export function assertDeclineVelocity(intent: IntentRecord, now: number, limit: number, windowMs = DECLINE_VELOCITY_WINDOW_MS): void {
  const recent = recentDeclines(intent, now, windowMs);
  if (recent.length < limit) return;
  const oldest = Math.min(...recent.map((a) => a.completed ?? a.created));
  throw new ApiError({
    status: 400,
    type: "invalid_request_error",
    code: "card_decline_rate_limit_exceeded",
    message:
      `This PaymentIntent was declined ${recent.length} times within ${windowMs / 60_000} minutes (the limit is ${limit}, MAX_PAYMENT_ATTEMPTS). ` +
      `It stays open; confirm it again after ${new Date(oldest + windowMs).toISOString()}.`,
  });
}

/**
 * Whether the intent's last authorization failed at the provider itself (a 5xx before any money
 * moved), and nothing has been tried since: it waits to be confirmed again, which nobody may do.
 */
function stoppedAtProviderError(intent: IntentRecord): boolean {
  if (intent.status !== "requires_confirmation" && intent.status !== "requires_payment_method") return false;
  const last = [...intent.attempts].reverse().find((a) => a.type === "authorize" || a.type === "authenticate");
  return last !== undefined && last.type === "authorize" && last.status === "failed" && last.responseCode === "provider_error";
}

/**
 * A failed payment (seed 002, and the operators' failed payments): failed for good, declined and
 * waiting for another method, or stopped by a provider error (the seed's `error`: without it, a sale
 * answered 502 stayed `pending` for good, out of reach of retry and resolve).
 */
export function isFailedPayment(intent: IntentRecord): boolean {
  return intent.status === "failed" || (intent.status === "requires_payment_method" && intent.lastPaymentError !== null) || stoppedAtProviderError(intent);
}

/** The money is taken, or held for a manual capture: succeeded or requires_capture. */
export function isPaid(intent: Pick<IntentRecord, "status">): boolean {
  return intent.status === "succeeded" || intent.status === "requires_capture";
}

/**
 * Waiting for a payment method to be tried: nothing is paid or on its way, and no step (3D Secure, a
 * PayPal approval) is pending: requires_payment_method or requires_confirmation. A shopper's page
 * may take a card here, when the merchant lets it (payment_method_types) and confirms on its own.
 */
export function awaitsPaymentMethod(intent: Pick<IntentRecord, "status">): boolean {
  return intent.status === "requires_payment_method" || intent.status === "requires_confirmation";
}

/** Paid, or on its way: also `processing` (the provider has not answered yet, and may still decline). */
export function isPaidOrPaying(intent: Pick<IntentRecord, "status">): boolean {
  return isPaid(intent) || intent.status === "processing";
}

/**
 * A confirmation_method=manual intent whose customer passed its 3D Secure challenge for the amount as
 * it stands: it waits in requires_confirmation for the merchant's confirm, which then authorizes as
 * authenticated. After an amount or currency change the challenge no longer counts.
 */
export function awaitingMerchantConfirmation(intent: IntentRecord): boolean {
  const last = intent.attempts.at(-1);
  return (
    intent.confirmationMethod === "manual" &&
    intent.status === "requires_confirmation" &&
    last?.type === "authenticate" &&
    last.status === "succeeded" &&
    last.amount === intent.amount &&
    last.currency === intent.currency
  );
}

/**
 * The capture (or void) last sent to the PSP has no answer yet: it was lost, or is still pending there
 * (PayPal's PENDING capture). Whether money moved, or the hold was released, is unknown until
 * reconciliation settles it, so no surface reports it as done, nor as not done.
 */
export function settlementUnknown(intent: IntentRecord, type: "capture" | "void"): boolean {
  return intent.attempts.filter((a) => a.type === type).at(-1)?.status === "pending";
}

/**
 * The payment's approved authorization came right after its cardholder passed a 3D Secure challenge
 * for the same card: the card was authenticated with this payment (so, saved for future use, it is set
 * up, as Stripe's 4000002500003155 needs).
 */
export function authorizedAfterChallenge(intent: IntentRecord): boolean {
  const i = intent.attempts.findLastIndex((a) => a.type === "authorize" && a.status === "succeeded");
  const approved = intent.attempts[i];
  const before = intent.attempts[i - 1];
  return (
    approved !== undefined &&
    before?.type === "authenticate" &&
    before.status === "succeeded" &&
    before.paymentMethodId !== null &&
    before.paymentMethodId === approved.paymentMethodId &&
    approved.paymentMethodId === intent.paymentMethod?.id
  );
}

/** Why a failed payment failed: the decline code, else the error code. */
export function failureReason(intent: IntentRecord): string | null {
  if (!isFailedPayment(intent)) return null;
  // The last authorization decides: a provider error after a decline stopped the payment, not the decline.
  if (stoppedAtProviderError(intent)) return "provider_error";
  return intent.lastPaymentError?.declineCode ?? intent.lastPaymentError?.code ?? "unknown";
}

/** A declined authorization: a failed charge, as at Stripe (a provider error, a refused request or a 3DS failure charged nothing). */
export function isFailedCharge(attempt: Attempt): boolean {
  return attempt.type === "authorize" && attempt.status === "failed" && !chargedNothing(attempt);
}

/**
 * How a card payment of the intent is captured: Stripe's payment_method_options[card][capture_method]
 * (only `manual`) overrides the intent's capture_method for card payments; other methods follow
 * capture_method.
 */
export function effectiveCaptureMethod(intent: Pick<IntentRecord, "captureMethod" | "cardOptions" | "paymentMethod">): "automatic" | "manual" {
  if (intent.captureMethod === "manual") return "manual";
  return intent.cardOptions?.captureMethod === "manual" && (intent.paymentMethod?.type ?? "card") === "card" ? "manual" : "automatic";
}

/**
 * Whether a card payment of the intent saves its card, and for what: Stripe's
 * payment_method_options[card][setup_future_usage] overrides the intent's setup_future_usage for card
 * payments (`none` there saves nothing); null: nothing is saved.
 */
export function effectiveSetupFutureUsage(intent: Pick<IntentRecord, "setupFutureUsage" | "cardOptions" | "paymentMethod">): "off_session" | "on_session" | null {
  const card = (intent.paymentMethod?.type ?? "card") === "card" ? intent.cardOptions?.setupFutureUsage : undefined;
  const usage = card ?? intent.setupFutureUsage ?? null;
  return usage === "none" ? null : usage;
}

export function chargeAttempt(intent: IntentRecord): Attempt | null {
  if (!intent.chargeAttemptId) return null;
  return intent.attempts.find((a) => a.id === intent.chargeAttemptId) ?? null;
}

/**
 * What the card is authorized for: the last incremental authorization that went through (its amount is
 * the new total), else the authorization itself; 0 before there is one.
 */
export function authorizedAmount(intent: IntentRecord): number {
  const auth = chargeAttempt(intent);
  if (!auth) return 0;
  const increment = [...intent.attempts].reverse().find((a) => a.type === "increment" && a.status === "succeeded");
  return Math.max(auth.amount, increment?.amount ?? 0);
}

/** Whether the intent's authorization may be incremented (asked for at confirmation; its connector and card allow it). */
export function incrementalAuthorizationAvailable(intent: IntentRecord): boolean {
  return chargeAttempt(intent)?.incrementalAuthorization === true;
}

/** Stripe's limit: at most this many incremental authorization attempts per payment, declines included. */
export const MAX_INCREMENT_ATTEMPTS = 10;

/**
 * When the payment was authorized, captured, or last failed (seed 000's authorizedAt, capturedAt and
 * failedAt). The read model keeps them in columns so a list renders without the record's attempts.
 */
export function paymentMilestones(intent: IntentRecord): { authorizedAt: number | null; capturedAt: number | null; failedAt: number | null } {
  const auth = chargeAttempt(intent);
  const capture = intent.attempts.find((a) => a.type === "capture" && a.status === "succeeded");
  let capturedAt = capture?.completed ?? null;
  // Automatic capture: authorized and captured in one call.
  if (capturedAt === null && intent.status === "succeeded" && effectiveCaptureMethod(intent) === "automatic") capturedAt = auth?.completed ?? null;
  const failed = intent.lastPaymentError ? intent.attempts.find((a) => a.id === intent.lastPaymentError?.attemptId) : undefined;
  return {
    authorizedAt: auth?.completed ?? null,
    capturedAt,
    failedAt: intent.lastPaymentError ? (failed?.completed ?? intent.updated) : intent.status === "failed" ? intent.updated : null,
  };
}

export function pendingAttempts(intent: IntentRecord): Attempt[] {
  return intent.attempts.filter((a) => a.status === "pending");
}

export interface AttemptInput {
  id: string;
  type: AttemptType;
  amount: number;
  connector: string;
  connectorAccount?: string | null;
  capture?: boolean;
  refundId?: string;
  now: number;
}

/** Appends a pending attempt. It is stored before the PSP is called, so a crash leaves a trace. */
export function startAttempt(intent: IntentRecord, input: AttemptInput): Attempt {
  const attempt: Attempt = {
    id: input.id,
    type: input.type,
    status: "pending",
    amount: input.amount,
    currency: intent.currency,
    connector: input.connector,
    connectorAccount: input.connectorAccount ?? null,
    idempotencyKey: `${intent.id}:${input.id}`,
    paymentMethodId: intent.paymentMethod?.id ?? null,
    capture: input.capture ?? null,
    refundId: input.refundId ?? null,
    providerReference: null,
    responseCode: null,
    responseText: null,
    declineCode: null,
    authorizationCode: null,
    avsResult: null,
    cvvResult: null,
    created: input.now,
    completed: null,
  };
  intent.attempts.push(attempt);
  return attempt;
}

/** The result of applying a PSP answer: which events to emit and, for failures, the error to answer. */
export interface Transition {
  events: string[];
  error?: ApiErrorData;
}

/** Applies an authorization's outcome. `restoreStatus` is where a no-money-moved provider error returns to. */
export function applyAuthorizeOutcome(
  intent: IntentRecord,
  attempt: Attempt,
  outcome: AuthorizeOutcome,
  opts: { now: number; restoreStatus: IntentStatus; challengeUrl: string },
): Transition {
  attempt.completed = opts.now;
  intent.updated = opts.now;
  switch (outcome.kind) {
    case "approved": {
      attempt.status = "succeeded";
      attempt.providerReference = outcome.providerReference;
      attempt.responseCode = outcome.responseCode;
      attempt.responseText = outcome.responseText;
      attempt.authorizationCode = outcome.authorizationCode;
      attempt.avsResult = outcome.avsResult;
      attempt.cvvResult = outcome.cvvResult;
      if (outcome.incrementalAuthorization && !outcome.captured) attempt.incrementalAuthorization = true;
      intent.chargeAttemptId = attempt.id;
      intent.connector = attempt.connector;
      intent.connectorAccount = attempt.connectorAccount;
      intent.nextAction = null;
      retireLastError(intent);
      intent.lastPaymentError = null;
      if (outcome.captured) {
        intent.status = "succeeded";
        intent.amountReceived = attempt.amount;
        intent.amountCapturable = 0;
        return { events: ["charge.succeeded", "payment_intent.succeeded"] };
      }
      intent.status = "requires_capture";
      intent.amountCapturable = attempt.amount;
      return { events: ["charge.succeeded", "payment_intent.amount_capturable_updated"] };
    }
    case "requires_action": {
      attempt.status = "requires_action";
      attempt.providerReference = outcome.providerReference;
      // Words for what the customer is asked to do: approve at PayPal, or pass the card's 3DS.
      const paypal = intent.paymentMethod?.type === "paypal";
      attempt.responseCode = paypal ? "payer_approval_required" : "authentication_required";
      attempt.responseText = paypal ? "Waiting for the payer to approve the payment on PayPal." : "The card issuer requires 3D Secure authentication.";
      intent.status = "requires_action";
      // A provider's own page (PayPal's approval, Stripe's 3DS), else the one we had, else the sandbox's challenge.
      // The provider's answer comes from outside: only a web address is a page to send a shopper to.
      intent.nextAction = { type: "redirect_to_url", url: (outcome.redirectUrl !== null && isHttpUrl(outcome.redirectUrl) ? outcome.redirectUrl : null) ?? intent.nextAction?.url ?? opts.challengeUrl, returnUrl: intent.returnUrl };
      return { events: ["payment_intent.requires_action"] };
    }
    case "declined": {
      attempt.status = "failed";
      attempt.providerReference = outcome.providerReference;
      attempt.responseCode = outcome.code;
      attempt.responseText = outcome.message;
      attempt.declineCode = outcome.declineCode;
      // The declined authorization is a failed charge, as at Stripe: charge.failed comes first.
      const transition = recordDecline(intent, attempt, { code: outcome.code, declineCode: outcome.declineCode, message: outcome.message }, opts);
      return { ...transition, events: ["charge.failed", ...transition.events] };
    }
    case "provider_error": {
      // Nothing moved at the PSP: the intent goes back to where it was and may be confirmed again.
      attempt.status = "failed";
      attempt.responseCode = "provider_error";
      attempt.responseText = outcome.message;
      intent.status = opts.restoreStatus;
      return {
        events: [],
        error: { status: 502, type: "api_error", code: "provider_error", message: `The payment provider failed: ${withoutTrailingDots(outcome.message)}. No money moved; the payment may be confirmed again.` },
      };
    }
    case "rejected": {
      // The provider refused the payment's own data (its amount) before doing anything: as at Stripe,
      // a 400 that changes nothing. The intent keeps its payment method and may be confirmed again
      // (after an update of what was refused); no charge failed and no decline is counted.
      attempt.status = "failed";
      attempt.responseCode = outcome.code;
      attempt.responseText = outcome.message;
      attempt.refusedRequest = true;
      intent.status = opts.restoreStatus;
      return {
        events: [],
        error: { status: 400, type: "invalid_request_error", code: outcome.code, message: outcome.message, ...(outcome.param ? { param: outcome.param } : {}) },
      };
    }
    case "unknown": {
      // We cannot tell whether money moved: park the intent until reconciliation learns the truth.
      attempt.status = "pending";
      attempt.completed = null;
      // An answer that says nothing new never forgets the reference the PSP gave before (a pending capture's id).
      attempt.providerReference = outcome.providerReference ?? attempt.providerReference;
      attempt.responseCode = "unknown_outcome";
      attempt.responseText = outcome.message;
      intent.status = "processing";
      intent.nextAction = null;
      return { events: ["payment_intent.processing"] };
    }
  }
}

/**
 * A decline (or a failed 3DS challenge): always back to requires_payment_method with
 * last_payment_error, as at Stripe. A decline never ends an intent: the shopper may try another
 * method (see `assertDeclineVelocity` for the separate limit on how fast). `failed` is kept for what
 * fails for good without a shopper to retry.
 */
/**
 * Before last_payment_error is replaced or cleared: the payment method it names joins the intent's
 * declined ones (once, by id), so its failed charge keeps its card. Kept in one place at a time: the
 * latest decline's in last_payment_error, the earlier ones in declinedMethods.
 */
export function retireLastError(intent: IntentRecord): void {
  const pm = intent.lastPaymentError?.paymentMethod;
  if (pm && !intent.declinedMethods?.some((m) => m.id === pm.id)) intent.declinedMethods = [...(intent.declinedMethods ?? []), pm];
}

export function recordDecline(
  intent: IntentRecord,
  attempt: Attempt,
  failure: { code: string; declineCode: string | null; message: string; type?: PaymentError["type"] },
  opts: { now: number },
): Transition {
  intent.declineCount += 1;
  intent.nextAction = null;
  retireLastError(intent);
  intent.lastPaymentError = {
    // A decline is a card_error; a failed 3D Secure challenge Stripe reports as an invalid_request_error.
    type: failure.type ?? "card_error",
    code: failure.code,
    declineCode: failure.declineCode,
    message: failure.message,
    paymentMethod: intent.paymentMethod,
    attemptId: attempt.id,
  };
  intent.updated = opts.now;
  intent.status = "requires_payment_method";
  intent.paymentMethod = null;
  return {
    events: ["payment_intent.payment_failed"],
    error: {
      status: 402,
      type: "card_error",
      code: failure.code,
      declineCode: failure.declineCode ?? undefined,
      message: failure.message,
      // As Stripe's decline names it, whatever the payment method was given as (an id, a token, details).
      param: failure.code === "incorrect_cvc" ? "cvc" : undefined,
    },
  };
}

function completeFollowUp(attempt: Attempt, outcome: FollowUpOutcome, now: number): void {
  attempt.completed = now;
  switch (outcome.kind) {
    case "succeeded":
      attempt.status = "succeeded";
      attempt.providerReference = outcome.providerReference;
      attempt.responseCode = outcome.responseCode;
      attempt.responseText = outcome.responseText;
      return;
    case "failed":
      attempt.status = "failed";
      attempt.responseCode = outcome.code;
      attempt.responseText = outcome.message;
      if (outcome.declineCode) attempt.declineCode = outcome.declineCode;
      return;
    case "provider_error":
      attempt.status = "failed";
      attempt.responseCode = "provider_error";
      attempt.responseText = outcome.message;
      return;
    case "unknown":
      attempt.status = "pending";
      attempt.completed = null;
      // An answer that says nothing new never forgets the reference the PSP gave before (a pending capture's id).
      attempt.providerReference = outcome.providerReference ?? attempt.providerReference;
      attempt.responseCode = "unknown_outcome";
      attempt.responseText = outcome.message;
      return;
  }
}

function followUpError(outcome: FollowUpOutcome, what: string): ApiErrorData | undefined {
  // The provider refused the request itself (an amount below its minimum): Stripe's 400, in its words.
  if (outcome.kind === "failed" && outcome.invalidRequest) {
    return { status: 400, type: "invalid_request_error", code: outcome.code, message: outcome.message, ...(outcome.invalidRequest.param ? { param: outcome.invalidRequest.param } : {}) };
  }
  if (outcome.kind === "failed") return { status: 402, type: "card_error", code: outcome.code, message: outcome.message, ...(outcome.declineCode ? { declineCode: outcome.declineCode } : {}) };
  if (outcome.kind === "provider_error") {
    return { status: 502, type: "api_error", code: "provider_error", message: `The payment provider failed to ${what}: ${withoutTrailingDots(outcome.message)}. Nothing changed; retry later.` };
  }
  return undefined;
}

export function applyCaptureOutcome(intent: IntentRecord, attempt: Attempt, outcome: FollowUpOutcome, now: number): Transition {
  completeFollowUp(attempt, outcome, now);
  intent.updated = now;
  if (outcome.kind === "succeeded") {
    intent.status = "succeeded";
    intent.amountReceived = attempt.amount;
    intent.amountCapturable = 0;
    return { events: ["charge.captured", "payment_intent.succeeded"] };
  }
  if (outcome.kind === "unknown") {
    intent.status = "processing";
    return { events: ["payment_intent.processing"] };
  }
  return { events: [], error: followUpError(outcome, "capture") };
}

/**
 * An incremental authorization's answer. Approved: the intent's amount and amount_capturable become
 * the new total. Declined or refused: nothing changes but the attempt (as at Stripe, the intent stays
 * capturable for what was authorized before). Unknown: the attempt stays pending for reconciliation and
 * the intent capturable for the previous amount meanwhile.
 */
export function applyIncrementOutcome(intent: IntentRecord, attempt: Attempt, outcome: FollowUpOutcome, now: number): Transition {
  completeFollowUp(attempt, outcome, now);
  if (outcome.kind === "succeeded") {
    // Settled late (reconciliation) after the intent was captured or canceled: history only.
    if (intent.status !== "requires_capture") return { events: [] };
    intent.updated = now;
    intent.amount = attempt.amount;
    intent.amountCapturable = attempt.amount;
    return { events: ["payment_intent.amount_capturable_updated", "charge.updated"] };
  }
  if (outcome.kind === "unknown") {
    return {
      events: [],
      error: {
        status: 504,
        type: "api_error",
        code: "provider_timeout",
        message: "The payment provider did not answer the incremental authorization in time; its outcome will be reconciled. Until then the PaymentIntent stays capturable for the amount authorized before, and it cannot be captured, canceled or incremented.",
      },
    };
  }
  return { events: [], error: followUpError(outcome, "increment the authorization") };
}

export function applyVoidOutcome(intent: IntentRecord, attempt: Attempt, outcome: FollowUpOutcome, now: number): Transition {
  completeFollowUp(attempt, outcome, now);
  intent.updated = now;
  if (outcome.kind === "succeeded") {
    intent.amountCapturable = 0;
    return { events: [] };
  }
  if (outcome.kind === "unknown") {
    intent.status = "processing";
    return { events: ["payment_intent.processing"] };
  }
  return { events: [], error: followUpError(outcome, "void the authorization") };
}

export function applyRefundOutcome(intent: IntentRecord, refund: RefundRecord, attempt: Attempt, outcome: FollowUpOutcome, now: number): Transition {
  completeFollowUp(attempt, outcome, now);
  intent.updated = now;
  switch (outcome.kind) {
    case "succeeded":
      refund.status = "succeeded";
      intent.amountRefunded += refund.amount;
      return { events: ["refund.created", "charge.refunded"] };
    case "unknown":
      refund.status = "pending";
      return { events: ["refund.created"] };
    case "failed":
    case "provider_error":
      refund.status = "failed";
      refund.failureReason = outcome.kind === "failed" ? outcome.code : "provider_error";
      return { events: ["refund.created", "refund.failed"], error: followUpError(outcome, "refund") };
  }
}

export function applyCancel(intent: IntentRecord, reason: IntentRecord["cancellationReason"], now: number): Transition {
  // An authorization held for capture is released: its charge is refunded as Stripe reports it
  // (refunded, amount_refunded the whole), and charge.refunded says so, as Stripe sends it.
  // (Its void, when there was one, already zeroed amount_capturable: an authorization with nothing captured.)
  const released = chargeAttempt(intent) !== null && intent.amountReceived === 0;
  for (const attempt of intent.attempts) {
    if (attempt.status === "requires_action") attempt.status = "canceled";
  }
  intent.status = "canceled";
  intent.cancellationReason = reason;
  intent.canceledAt = now;
  intent.amountCapturable = 0;
  intent.nextAction = null;
  intent.updated = now;
  return { events: released ? ["charge.refunded", "payment_intent.canceled"] : ["payment_intent.canceled"] };
}

/** Invariants that hold after every transition. Checked by the property tests and by the DO before it commits. */
export function checkInvariants(intent: IntentRecord): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(intent.amount) || intent.amount <= 0) problems.push("amount must be a positive integer");
  if (intent.amountReceived < 0 || intent.amountReceived > intent.amount) problems.push("amount_received out of range");
  if (intent.amountCapturable < 0 || intent.amountCapturable > intent.amount) problems.push("amount_capturable out of range");
  const refunded = intent.refunds.filter((r) => r.status === "succeeded").reduce((s, r) => s + r.amount, 0);
  if (refunded !== intent.amountRefunded) problems.push("amount_refunded disagrees with refunds");
  if (refundableAmount(intent) < 0) problems.push("refunds exceed the captured amount");
  // A capture or void whose outcome is unknown leaves the authorization held (processing) until reconciled.
  const settling = intent.status === "processing" && (settlementUnknown(intent, "capture") || settlementUnknown(intent, "void"));
  if (intent.status !== "requires_capture" && !settling && intent.amountCapturable !== 0) problems.push("only requires_capture has a capturable amount");
  if (intent.amountReceived > 0 && intent.status !== "succeeded") problems.push("money received but intent not succeeded");
  const approvedAuths = intent.attempts.filter((a) => a.type === "authorize" && a.status === "succeeded").length;
  if (approvedAuths > 1) problems.push("more than one successful authorization");
  const captures = intent.attempts.filter((a) => a.type === "capture" && a.status === "succeeded");
  if (captures.length > 1) problems.push("more than one capture");
  // Never more taken or held than the card is authorized for (its incremental authorizations included).
  if (chargeAttempt(intent)) {
    const authorized = authorizedAmount(intent);
    if (captures.some((a) => a.amount > authorized)) problems.push("captured more than authorized");
    if (intent.amountCapturable > authorized) problems.push("amount_capturable above the authorized amount");
  }
  return problems;
}

/**
 * Stripe's payment_method_types: an intent given a list takes a payment method of those types only
 * (set on it, or confirmed with); without a list, the gateway's (cards, and PayPal when asked).
 */
export function assertMethodTypeAllowed(intent: Pick<IntentRecord, "paymentMethod" | "paymentMethodTypes">): void {
  const types = intent.paymentMethodTypes;
  const type = intent.paymentMethod?.type;
  if (!types || type === undefined || types.includes(type)) return;
  throw invalidRequest(
    `The PaymentMethod provided (${type}) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${types.join(", ")}. Alternatively, update the allowed payment_method_types for this PaymentIntent to include "${type}".`,
    "payment_method",
    "payment_intent_incompatible_payment_method",
  );
}

/**
 * `text` without the dots it ends with. A loop, not /\.+$/: that pattern retries at every dot of a
 * long run that does not end the text, quadratic in its length, and a provider's message comes from
 * outside.
 */
export function withoutTrailingDots(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 46) end--;
  return text.slice(0, end);
}
