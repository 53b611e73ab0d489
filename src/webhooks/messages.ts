// Queue message shapes of the webhook pipeline.

/** Attempt `attempt` (1-based) of one delivery. A message whose attempt was already made is dropped. */
export interface DeliveryMessage {
  deliveryId: string;
  attempt: number;
}
