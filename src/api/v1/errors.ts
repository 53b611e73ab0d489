// Renders the gateway's one error type the way Stripe does: {"error": {type, code, message, param,
// decline_code}}, with the HTTP status it carries. Card errors on an intent also carry the intent.
import type { ApiErrorData } from "../../core/errors";
import type { PaymentIntentJson, PaymentMethodJson } from "../../core/objects";

export interface V1ErrorBody {
  error: {
    type: string;
    message: string;
    code?: string;
    param?: string;
    decline_code?: string;
    /** A decline's failed charge, as Stripe's card errors carry it. */
    charge?: string;
    /** The declined payment method, as Stripe's card errors carry it. */
    payment_method?: PaymentMethodJson;
    payment_intent?: PaymentIntentJson;
    request_id?: string;
  };
}

/** The error types of Stripe's API (its OpenAPI enum); a 401, 403 or 429 is an invalid_request_error there. */
const STRIPE_ERROR_TYPES: readonly string[] = ["api_error", "card_error", "idempotency_error", "invalid_request_error"];

export function v1ErrorBody(err: ApiErrorData, extras: { paymentIntent?: PaymentIntentJson; requestId?: string } = {}): V1ErrorBody {
  const charge = err.type === "card_error" ? extras.paymentIntent?.last_payment_error?.charge : null;
  // The card that was declined, as Stripe's card errors carry it (stripe-node's err.payment_method).
  const paymentMethod = err.type === "card_error" ? extras.paymentIntent?.last_payment_error?.payment_method : null;
  return {
    error: {
      // stripe-node picks its error class by the HTTP status (401, 403, 429), so the body says what
      // Stripe's says: one of its four types.
      type: STRIPE_ERROR_TYPES.includes(err.type) ? err.type : "invalid_request_error",
      message: err.message,
      ...(err.code ? { code: err.code } : {}),
      ...(err.param ? { param: err.param } : {}),
      ...(err.declineCode ? { decline_code: err.declineCode } : {}),
      ...(charge ? { charge } : {}),
      ...(paymentMethod ? { payment_method: paymentMethod } : {}),
      ...(extras.paymentIntent ? { payment_intent: extras.paymentIntent } : {}),
      ...(extras.requestId ? { request_id: extras.requestId } : {}),
    },
  };
}
