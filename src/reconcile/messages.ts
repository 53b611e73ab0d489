// Queue message of reconciliation: settle the pending attempts of one intent.
export interface ReconcileMessage {
  intentId: string;
  /** 1 for the first try; the delay before try n+1 is the schedule's n-th. */
  round: number;
}
