// What an operation may do besides changing its draft: read the clock, reach the intent's connector,
// checkpoint the draft before a PSP call, and emit events.
import type { ApiErrorData } from "../../core/errors";
import type { IntentRecord, RefundRecord } from "../../core/types";
import type { Connector } from "../../connectors/types";
import type { Config } from "../../env";

export interface OperationTools {
  readonly config: Config;
  now(): number;
  connectorFor(intent: IntentRecord): Connector;
  /** Persists the draft as it is: called after recording a pending attempt, before calling the PSP. */
  checkpoint(): Promise<void>;
  /** Appends an event with a snapshot of the object as it is now. */
  emit(type: string, refund?: RefundRecord): void;
  /** The sandbox 3DS challenge page for this intent. */
  challengeUrl(intent: IntentRecord): string;
}

export interface StepResult {
  error?: ApiErrorData;
  refundId?: string;
}
