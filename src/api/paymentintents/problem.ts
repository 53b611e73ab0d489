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

/**
 * The HTTP status this surface answers for an error: a declined card is a 400 (the seed knows no 402),
 * a provider's error or timeout a 500 (the seed's only server error; its `code` says which).
 */
export function problemStatus(err: ApiErrorData): number {
  if (err.status === 402) return 400;
  return STATUS[err.status] ? err.status : err.status >= 500 ? 500 : 400;
}

// The statuses that cannot be mistaken for an ordinary word: rewritten wherever they appear.
const SNAKE_STATUSES = /\b(requires_payment_method|requires_confirmation|requires_action|requires_capture)\b/g;
const STATUS_WORD = "requires_payment_method|requires_confirmation|requires_action|requires_capture|processing|succeeded|canceled|failed";
// A one-word status (`canceled`, `failed`, ...) is rewritten only where the sentence names a status:
// "a status of X", "its status is X", a list of statuses after a colon ("... statuses may be
// canceled: X, Y"), "it is succeeded" (never a verb there). "may be canceled" keeps its verb.
// The words between "statuses" and its colon are bounded: unbounded, a message that repeats
// "statuses" without a colon (it may quote what a client sent) costs time quadratic in its length.
const AFTER_STATUS = new RegExp(`(\\bstatus (?:of|is) )(${STATUS_WORD})\\b`, "g");
const STATUS_LIST = new RegExp(`(\\bstatuses\\b[^:.]{0,80}: )((?:${STATUS_WORD})(?:, (?:${STATUS_WORD}))*)\\b`, "g");
const IS_TERMINAL = /(\bis )(succeeded|failed)\b/g;

const pascal = (word: string): string => pascalStatus(word as IntentStatus);

/**
 * A message of the core, in this surface's words: its statuses as this API writes them
 * (`Succeeded`, `RequiresPaymentMethod`), not /v1's (`succeeded`, `requires_payment_method`).
 * Only the words that are statuses: "may be canceled" keeps its lower-case verb.
 */
export function inSurfaceWords(message: string): string {
  return message
    .replace(STATUS_LIST, (_m, head: string, list: string) => head + list.split(", ").map(pascal).join(", "))
    .replace(AFTER_STATUS, (_m, head: string, word: string) => head + pascal(word))
    .replace(IS_TERMINAL, (_m, head: string, word: string) => head + pascal(word))
    .replace(SNAKE_STATUSES, pascal);
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
