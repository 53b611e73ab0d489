// The one error type of the gateway. Domain code and handlers throw it; each API surface renders it
// in its own wire format (for /v1, Stripe's `{"error": {...}}`). It is plain data so that it can
// cross a Durable Object RPC boundary and be stored as an idempotent result.

import { redactCardNumbersQuoted } from "./card-number";

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "card_error"
  | "idempotency_error"
  | "rate_limit_error"
  | "api_error";

export interface ApiErrorData {
  status: number;
  type: ErrorType;
  message: string;
  code?: string;
  param?: string;
  declineCode?: string;
  /** For 429s: sent as the Retry-After header. */
  retryAfterSeconds?: number;
  /**
   * An amount above what the intent allows (a capture, a refund), in minor units of `currency`: the
   * surfaces that speak decimals tell it in their own units (`decimalMessage`), /v1 in its own words.
   */
  excess?: { action: "capture" | "refund"; requested: number; available: number; currency: string };
}

export class ApiError extends Error {
  readonly data: ApiErrorData;

  constructor(data: ApiErrorData) {
    // A message may quote what the client sent: a card number in it is never sent back (answers are logged).
    const message = redactCardNumbersQuoted(data.message);
    super(message);
    this.name = "ApiError";
    this.data = message === data.message ? data : { ...data, message };
  }

  get status(): number {
    return this.data.status;
  }
}

/**
 * Stripe's 429 lock_timeout: an update of `what` that other requests kept changing under it, `tries`
 * times. Nothing was written; its clients retry it (an Idempotency-Key does not keep a 429).
 */
export function lockTimeout(what: string, tries: number): ApiError {
  return new ApiError({
    status: 429,
    type: "invalid_request_error",
    code: "lock_timeout",
    message: `This object cannot be accessed right now because another API request or process is currently accessing it: ${what} changed ${tries} times under this request. Retry it (with the same Idempotency-Key).`,
    retryAfterSeconds: 1,
  });
}

export function invalidRequest(message: string, param?: string, code?: string): ApiError {
  return new ApiError({ status: 400, type: "invalid_request_error", message, param, code });
}

export function parameterMissing(param: string): ApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, "parameter_missing");
}

export function resourceMissing(resource: string, id: string, param?: string): ApiError {
  return new ApiError({
    status: 404,
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${resource}: '${id}'`,
    param,
  });
}

export function unexpectedState(message: string, code = "payment_intent_unexpected_state"): ApiError {
  return new ApiError({ status: 400, type: "invalid_request_error", code, message });
}

export function authenticationFailed(message: string): ApiError {
  return new ApiError({ status: 401, type: "authentication_error", message });
}

export function permissionDenied(message: string): ApiError {
  return new ApiError({ status: 403, type: "permission_error", message });
}

export function idempotencyMismatch(key: string): ApiError {
  return new ApiError({
    status: 400,
    type: "idempotency_error",
    code: "idempotency_key_reused",
    message:
      `Keys for idempotent requests can only be used with the same parameters they were first used with. ` +
      `Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}

export function idempotencyInFlight(key: string): ApiError {
  return new ApiError({
    status: 409,
    type: "idempotency_error",
    code: "idempotency_key_in_use",
    message: `There is currently another in-progress request using the Idempotency-Key '${key}'. Retry later.`,
  });
}

export function internalError(message = "An unexpected error occurred. The request may be retried safely with the same Idempotency-Key."): ApiError {
  return new ApiError({ status: 500, type: "api_error", message });
}

/** Anything thrown, as error data: ApiErrors keep their data, everything else is a 500. */
export function toErrorData(err: unknown): ApiErrorData {
  if (err instanceof ApiError) return err.data;
  return internalError().data;
}

/** The challenge of every 401 (RFC 9110 asks for one): a bearer API key or token. */
export const BEARER_CHALLENGE = "Bearer";
