// Seed 003's one error payload, on every route under /payments: {timestamp (ms), status, error,
// message, path}, as its "Errors" section shows it.
import type { ApiErrorData } from "../../core/errors";
import { decimalMessage } from "../../core/money";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

export interface IcligoError {
  timestamp: number;
  status: number;
  error: string;
  message: string;
  path: string;
}

/** The status this surface answers (its table has no 402: a declined card is a 400). */
export function icligoStatusCode(err: ApiErrorData): number {
  if (err.status === 402) return 400;
  return REASONS[err.status] ? err.status : err.status >= 500 ? 500 : 400;
}

export function icligoError(err: ApiErrorData, path: string, now: number): IcligoError {
  const status = icligoStatusCode(err);
  return { timestamp: now, status, error: REASONS[status] ?? "Bad Request", message: decimalMessage(err), path };
}

export const MISSING_HEADERS = "Headers 'X-Access-Token' and 'X-Application-Id' are necessary.";
