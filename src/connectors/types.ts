// The one interface every PSP connector implements. A connector is a translator: our requests in,
// the PSP's answers out as typed outcomes. It keeps no state of the intent; the Durable Object does.
import type { AuthorizeOutcome, FollowUpOutcome } from "../core/outcomes";
import type { PaymentMethodDetails } from "../core/types";

export type ConnectorName = "sandbox" | "stripe" | "paypal";
export const CONNECTOR_NAMES: readonly ConnectorName[] = ["sandbox", "stripe", "paypal"];

export interface AuthorizeRequest {
  intentId: string;
  merchantId: string;
  attemptId: string;
  /** Passed on to the PSP so that a retried call can never charge twice. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  capture: boolean;
  paymentMethod: PaymentMethodDetails;
  /** True once the customer passed a 3DS challenge for this payment. */
  authenticated: boolean;
  /** The merchant's return_url. */
  returnUrl: string | null;
  /** Where a provider's redirect (PayPal's approval) brings the customer back to us. */
  gatewayReturnUrl: string;
  description: string | null;
  /** A merchant-initiated charge: the customer is not there to pass a 3DS challenge. */
  offSession: boolean;
  /** Stripe's error_on_requires_action: a step for the customer (3DS) fails the attempt (authentication_required) instead. */
  errorOnRequiresAction?: boolean;
  /** Stripe's request_incremental_authorization=if_available: ask for an authorization that may be incremented. */
  requestIncrementalAuthorization?: boolean;
  /** Stripe's request_three_d_secure `any` or `challenge`: the merchant asks for a 3DS challenge whenever the card supports one. */
  requestThreeDSecure?: "any" | "challenge";
}

/** After the customer finished at the provider (PayPal's approval): authorize or capture what they approved. */
export interface CompleteActionRequest extends AuthorizeRequest {
  providerReference: string;
}

export type FollowUpKind = "capture" | "void" | "refund";

export interface FollowUpRequest {
  intentId: string;
  merchantId: string;
  attemptId: string;
  idempotencyKey: string;
  amount: number;
  currency: string;
  /** The PSP's reference this call acts on: the authorization, or for refunds the capture. */
  providerReference: string;
  paymentMethod: PaymentMethodDetails | null;
}

/** Why a connector cannot take a payment (its currency, its amount), said before anything is sent. */
export interface ConnectorRefusal {
  code: string;
  message: string;
}

export interface Connector {
  readonly name: ConnectorName;
  /** The merchant's connector account; null for the built-in sandbox. */
  readonly accountId: string | null;
  supports(paymentMethod: PaymentMethodDetails): boolean;
  /** Why this connector cannot take a payment of this amount, or null; a connector that takes any omits it. */
  refusal?(amount: number, currency: string): ConnectorRefusal | null;
  authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome>;
  completeAction(req: CompleteActionRequest): Promise<AuthorizeOutcome>;
  capture(req: FollowUpRequest): Promise<FollowUpOutcome>;
  void(req: FollowUpRequest): Promise<FollowUpOutcome>;
  refund(req: FollowUpRequest): Promise<FollowUpOutcome>;
  /**
   * Cancels, at the provider, an authorization still waiting for the customer (a 3-D Secure
   * challenge) that the intent is dropping. Only a connector whose provider can complete such an
   * authorization by itself (Stripe, once its challenge is passed) has it; `succeeded` when it can
   * no longer take money.
   */
  cancelPendingAction?(req: FollowUpRequest): Promise<FollowUpOutcome>;
  /**
   * Raises the authorization `providerReference` to `amount` (the new total), before its capture.
   * `failed` with a decline code when the issuer refuses. Only a connector whose provider supports
   * incremental authorization has it (and its approved authorizations say `incrementalAuthorization`).
   */
  incrementAuthorization?(req: FollowUpRequest): Promise<FollowUpOutcome>;
  /** The truth about an incremental authorization whose answer was lost (asked with the attempt's own key). */
  reconcileIncrement?(req: FollowUpRequest): Promise<FollowUpOutcome>;
  /**
   * The truth about an authorization whose answer was lost. `unknown`: still cannot tell;
   * `provider_error`: the PSP has no record of it, so nothing moved.
   */
  reconcileAuthorization(req: AuthorizeRequest, providerReference: string | null, attemptCreated: number): Promise<AuthorizeOutcome>;
  /**
   * The same for a capture, void or refund. `pendingReference` is the attempt's own reference when the
   * PSP named it while holding it pending (PayPal's capture or refund id), else null. `attemptCreated`
   * (ms) is when the attempt began: a PSP forgets an idempotency key after a while (Stripe: 24 hours),
   * and past that a replay would move the money again.
   */
  reconcileFollowUp(kind: FollowUpKind, req: FollowUpRequest, pendingReference: string | null, attemptCreated: number): Promise<FollowUpOutcome>;
  /**
   * What the payer decided at the provider's page about an order still waiting for them (PayPal's
   * approval), and when (ms, null when the provider does not say); null when undecided or the
   * provider cannot tell. Only reads: nothing moves. Only a connector whose payers decide on the
   * provider's page has it.
   */
  payerDecision?(providerReference: string): Promise<PayerDecision | null>;
}

/** A payer's decision at the provider: approved (the order can be completed), or voided (it never can). */
export interface PayerDecision {
  decision: "APPROVED" | "VOIDED";
  at: number | null;
}

/** What a PSP's webhook says happened, in our words. */
export type ProviderEventKind =
  | "authorization.approved"
  | "authorization.declined"
  | "authorization.processing"
  | "authorization.canceled"
  | "capture.succeeded"
  | "capture.failed"
  | "refund.succeeded"
  | "refund.failed"
  | "ignored";

export interface ProviderEvent {
  /** The PSP's event id: each is applied once. */
  id: string;
  kind: ProviderEventKind;
  /** Our intent and attempt, from the metadata we gave the PSP. */
  intentId: string | null;
  attemptId: string | null;
  providerReference: string | null;
  /**
   * The provider's id of what the event reports settled, when the event is matched by another one:
   * PayPal names the order, while the money is its capture (or authorization). Absent: `providerReference`.
   */
  settledReference?: string;
  captured: boolean;
  /**
   * A capture's money, when the event reports one: how much (minor units, in `currency`), the capture's
   * own reference at the provider, and the authorization it was taken from (our authorize attempt's
   * reference there). It lets a capture made outside the gateway (in the provider's dashboard) be
   * recorded; null for every other event.
   */
  capture: { amount: number; currency: string; reference: string; authorization: string } | null;
  /**
   * The money an approval reports (the provider's payment, authorization or capture: minor units,
   * in `currency`), when the event says it; an approval of other money than the attempt asked for
   * settles nothing.
   */
  amount?: { value: number; currency: string } | null;
  code: string | null;
  declineCode: string | null;
  message: string | null;
}
