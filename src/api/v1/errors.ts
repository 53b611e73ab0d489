// Renders the gateway's one error type the way Stripe does: {"error": {type, code, doc_url, message,
// param, decline_code}}, with the HTTP status it carries. Card errors on an intent also carry the intent.
import type { ApiErrorData } from "../../core/errors";
import { errorDocUrl } from "../../core/stripe-error-codes";
import type { PaymentIntentJson, PaymentMethodJson } from "../../core/objects";

export interface V1ErrorBody {
  error: {
    type: string;
    message: string;
    code?: string;
    /** Stripe's page about the code (https://stripe.com/docs/error-codes/<code, _ as ->), whenever there is a code. */
    doc_url?: string;
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

/**
 * The HTTP status /v1 answers an error with. As at Stripe, a missing object named in the URL's path
 * is a 404, but one named in a parameter (`customer=cus_nope`, `line_items[0][price]`, `starting_after`)
 * is a 400 (still `resource_missing`, naming the parameter). `pathParams` are the route's path
 * parameters; an intent's is `intent` at Stripe (`/v1/payment_intents/{intent}`), ours `id`. The other
 * surfaces translate the same core errors themselves and keep their own statuses.
 */
export function v1Error(err: ApiErrorData, pathParams: readonly string[]): ApiErrorData {
  if (err.status !== 404 || err.code !== "resource_missing" || err.param === undefined) return err;
  // `id` is always a path's (no Stripe parameter is named so): also on a path that names it otherwise (`/v1/admin/refunds/{id}:approve`).
  const inPath = pathParams.includes(err.param) || err.param === "id" || (err.param === "intent" && pathParams.includes("id"));
  return inPath ? err : { ...err, status: 400 };
}

export function v1ErrorBody(err: ApiErrorData, extras: { paymentIntent?: PaymentIntentJson; requestId?: string } = {}): V1ErrorBody {
  const charge = err.type === "card_error" ? extras.paymentIntent?.last_payment_error?.charge : null;
  // The card that was declined, as Stripe's card errors carry it (stripe-node's err.payment_method).
  const paymentMethod = err.type === "card_error" ? extras.paymentIntent?.last_payment_error?.payment_method : null;
  const docUrl = errorDocUrl(err.code);
  return {
    error: {
      // stripe-node picks its error class by the HTTP status (401, 403, 429), so the body says what
      // Stripe's says: one of its four types.
      type: STRIPE_ERROR_TYPES.includes(err.type) ? err.type : "invalid_request_error",
      message: err.message,
      ...(err.code ? { code: err.code } : {}),
      // Stripe's page of the code, for Stripe's own codes (the gateway's own have none).
      ...(docUrl ? { doc_url: docUrl } : {}),
      ...(err.param ? { param: err.param } : {}),
      ...(err.declineCode ? { decline_code: err.declineCode } : {}),
      ...(charge ? { charge } : {}),
      ...(paymentMethod ? { payment_method: paymentMethod } : {}),
      ...(extras.paymentIntent ? { payment_intent: extras.paymentIntent } : {}),
      ...(extras.requestId ? { request_id: extras.requestId } : {}),
    },
  };
}

/** The `error.code` of a /v1 error answer (read from a copy: the answer still goes out), or null. */
export async function errorCodeOf(res: Response): Promise<string | null> {
  if (!(res.headers.get("Content-Type") ?? "").includes("json")) return null;
  const body: unknown = await res.clone().json().catch(() => null);
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const error: unknown = body.error;
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : null;
}
