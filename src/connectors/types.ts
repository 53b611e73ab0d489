// The one interface every PSP connector implements. A connector is a translator: our requests in,
// the PSP's answers out as typed outcomes. It keeps no state of the intent; the Durable Object does.
import type { AuthorizeOutcome, FollowUpOutcome } from "../core/outcomes";
import type { PaymentMethodDetails } from "../core/types";

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
  returnUrl: string | null;
}

export interface FollowUpRequest {
  intentId: string;
  merchantId: string;
  attemptId: string;
  idempotencyKey: string;
  amount: number;
  currency: string;
  /** The PSP's reference of the authorization (or capture) this call acts on. */
  providerReference: string;
  paymentMethod: PaymentMethodDetails | null;
}

export interface Connector {
  readonly name: string;
  authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome>;
  capture(req: FollowUpRequest): Promise<FollowUpOutcome>;
  void(req: FollowUpRequest): Promise<FollowUpOutcome>;
  refund(req: FollowUpRequest): Promise<FollowUpOutcome>;
}
