// Seed 000's errors: RFC 9457 problem details as an ASP.NET controller answers them
// (`type`, `title`, `status`, `detail`, `traceId`; validation errors add `errors` by field), served as
// application/problem+json. Every error under /api/v1/PaymentIntents, 404s and 415s included.
import type { ApiErrorData } from "../../core/errors";
import { decimalMessage } from "../../core/money";
import type { IntentStatus } from "../../core/types";
import { pascalStatus } from "./render";

const STATUS: Record<number, { title: string; section: string }> = {
  400: { title: "Bad Request", section: "rfc9110#section-15.5.1" },
  401: { title: "Unauthorized", section: "rfc9110#section-15.5.2" },
  403: { title: "Forbidden", section: "rfc9110#section-15.5.4" },
  404: { title: "Not Found", section: "rfc9110#section-15.5.5" },
  405: { title: "Method Not Allowed", section: "rfc9110#section-15.5.6" },
  409: { title: "Conflict", section: "rfc9110#section-15.5.10" },
  413: { title: "Content Too Large", section: "rfc9110#section-15.5.14" },
  415: { title: "Unsupported Media Type", section: "rfc9110#section-15.5.16" },
  429: { title: "Too Many Requests", section: "rfc6585#section-4" },
  500: { title: "An error occurred while processing your request.", section: "rfc9110#section-15.6.1" },
  502: { title: "Bad Gateway", section: "rfc9110#section-15.6.3" },
  504: { title: "Gateway Timeout", section: "rfc9110#section-15.6.5" },
};

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  traceId: string;
  /** Validation errors, by camelCase field name (ASP.NET's ValidationProblemDetails). */
  errors?: Record<string, string[]>;
  /** Our machine-readable error code, when there is one. */
  code?: string;
}

/** The HTTP status this surface answers for an error (a declined card is a 400: the seed knows no 402). */
export function problemStatus(err: ApiErrorData): number {
  if (err.status === 402) return 400;
  return STATUS[err.status] ? err.status : err.status >= 500 ? 500 : 400;
}

const CORE_STATUSES = /\b(requires_payment_method|requires_confirmation|requires_action|requires_capture|processing|succeeded|canceled|failed)\b/g;

/**
 * A message of the core, in this surface's words: its statuses as this API writes them
 * (`Succeeded`, `RequiresPaymentMethod`), not /v1's (`succeeded`, `requires_payment_method`).
 * Only the status words of a sentence that names a status change ("a status of ...", "statuses ...").
 */
function inSurfaceWords(message: string): string {
  if (!/status/i.test(message)) return message;
  return message.replace(CORE_STATUSES, (word) => pascalStatus(word as IntentStatus));
}

export function problem(err: ApiErrorData, traceId: string): ProblemDetails {
  const status = problemStatus(err);
  const meta = STATUS[status] ?? { title: "Bad Request", section: "rfc9110#section-15.5.1" };
  const validation = status === 400 && err.param !== undefined;
  return {
    type: `https://tools.ietf.org/html/${meta.section}`,
    title: validation ? "One or more validation errors occurred." : meta.title,
    status,
    detail: inSurfaceWords(decimalMessage(err)),
    traceId,
    ...(validation && err.param ? { errors: { [err.param]: [err.message] } } : {}),
    ...(err.declineCode ? { code: err.declineCode } : err.code ? { code: err.code } : {}),
  };
}
