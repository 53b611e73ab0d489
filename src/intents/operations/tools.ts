// What an operation may do besides changing its draft: read the clock, reach connectors (with their
// health), checkpoint the draft before a PSP call, and emit events.
import type { ApiErrorData } from "../../core/errors";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { IntentRecord, RefundRecord } from "../../core/types";
import type { Connector } from "../../connectors/types";
import type { Config } from "../../env";

export interface HealthGate {
  /** May this connector be called now (its circuit breaker)? */
  admit(connector: Connector): Promise<boolean>;
  /** Records a call's outcome and latency for the connector's health. */
  report(connector: Connector, outcome: AuthorizeOutcome | FollowUpOutcome, latencyMs: number): void;
}

export interface OperationTools {
  readonly config: Config;
  readonly health: HealthGate;
  now(): number;
  /** The connectors to try for the intent's payment method, in failover order. */
  routes(intent: IntentRecord): Promise<Connector[]>;
  /** The connector (account) an earlier attempt used. */
  connectorOf(intent: IntentRecord, accountId: string | null): Promise<Connector>;
  /** Persists the draft as it is: called after recording a pending attempt, before calling the PSP. */
  checkpoint(): Promise<void>;
  /** Appends an event with a snapshot of the object as it is now (a refund's, or a charge's by its id). */
  emit(type: string, refund?: RefundRecord, chargeId?: string): void;
  /** The sandbox 3DS challenge page for this intent. */
  challengeUrl(intent: IntentRecord): string;
  /** Where a provider's redirect (PayPal approval, Stripe 3DS) brings the customer back to the gateway. */
  gatewayReturnUrl(intent: IntentRecord): string;
}

export interface StepResult {
  error?: ApiErrorData;
  refundId?: string;
}
