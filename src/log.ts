// Structured logs: one JSON line per entry, carrying the request id where there is one. Callers pass
// ids and outcomes, never secrets, tokens, bodies or card data; as a last guard every line is scrubbed
// of anything shaped like an API key, webhook secret, JWT or card number before it is written.
// Lines go to the console (Workers Logs) or, in tests, to a sink set with `setLogSink`.
// `requestLogScope` carries the fields of the request being served (merchant, actor) to its one
// "request" line: code that learns them calls `noteRequest`.
import { AsyncLocalStorage } from "node:async_hooks";
import { redactCardNumbers } from "./core/card-number";

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = "info";

export type LogSink = (level: Level, line: string) => void;
let sink: LogSink | null = null;

export function setLogLevel(level: Level): void {
  threshold = level;
}

/** Tests: receive every line of every level (scrubbed, as written) instead of the console; null restores the console. */
export function setLogSink(next: LogSink | null): void {
  sink = next;
}

// Keys, webhook secrets, JWTs, and a payment's or setup's client_secret (it pays the payment: a client
// may send one where an id belongs, and an error quoting it is logged).
// Every line passes here, and a line may quote up to a URL's worth of what a client sent (an unknown
// path): each alternative runs in time linear in the line. None asks for anything after a run it may
// start in the middle of: a JWT is any word starting `eyJ` (base64url of `{"`) with its dotted
// continuation (asking for the two dots made `-eyJ-eyJ...` rescan the rest of the run from every
// `eyJ`), and a client secret starts where its run of letters and digits starts (from every letter of
// `aaaa...` the search for `_secret_` ran to the run's end). A 15,000-character path cost 0.7 s of
// CPU to log; it now costs well under a millisecond.
const SECRET = /\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9_]+|\bwhsec_[A-Za-z0-9+/=_-]+|\beyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)*|(?<![A-Za-z0-9])[A-Za-z0-9]+_secret_[A-Za-z0-9]{20,}/g;
/** The line without anything shaped like a secret or a card number. */
export function scrub(line: string): string {
  return redactCardNumbers(line.replace(SECRET, "[redacted]"));
}

/** Whether a line of this level would be written (skip building costly fields otherwise). */
export function logEnabled(level: Level): boolean {
  return sink !== null || ORDER[level] >= ORDER[threshold];
}

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (!logEnabled(level)) return;
  const line = scrub(JSON.stringify({ level, time: new Date().toISOString(), message, ...fields }));
  if (sink) sink(level, line);
  else if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** What the request line says about who asked. */
export interface RequestLogFields {
  merchant?: string | null;
  actor?: string | null;
  intent?: string | null;
}

const scope = new AsyncLocalStorage<RequestLogFields>();

/** Runs `fn` (the rest of a request) with a place for `noteRequest` to record its fields. */
export function requestLogScope<T>(fields: RequestLogFields, fn: () => Promise<T>): Promise<T> {
  return scope.run(fields, fn);
}

/** Adds to the current request's log fields (no-op outside a request). */
export function noteRequest(fields: RequestLogFields): void {
  const current = scope.getStore();
  if (current) Object.assign(current, fields);
}

const INTENT_ID = /^pi_[A-Za-z0-9_]+$/;

/** An intent id among route parameters or a response body's usual fields. */
export function intentIdIn(values: Record<string, unknown>): string | null {
  for (const key of ["id", "payment_intent", "payment_intent_id", "paymentIntentId", "intent"]) {
    const v = values[key];
    if (typeof v === "string" && INTENT_ID.test(v)) return v;
  }
  for (const v of Object.values(values)) if (typeof v === "string" && INTENT_ID.test(v)) return v;
  return null;
}

/** The error code of an error body in any surface's format (Stripe's, problem details, iCliGo's...). */
export function errorCodeIn(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const b = body as Record<string, unknown>;
  const inner = b.error && typeof b.error === "object" ? (b.error as Record<string, unknown>) : b;
  for (const key of ["code", "decline_code", "errorCode", "error_code", "type", "title"]) {
    const v = inner[key];
    if (typeof v === "string" && v) return v.slice(0, 100);
  }
  return typeof b.error === "string" ? b.error.slice(0, 100) : null;
}
