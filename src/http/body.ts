// Request parameters. /v1 takes JSON and Stripe's form encoding with brackets (metadata[order]=1,
// expand[0]=x); `qs` nests those, with limits raised so stripe-node's long arrays stay arrays.
// Bodies are read with a hard size limit, so a huge body is refused before it is buffered.
import qs from "qs";
import { ApiError, invalidRequest } from "../core/errors";
import { redactCardNumbers } from "../core/card-number";

export const MAX_BODY_BYTES = 64 * 1024;

const PARAMETER_LIMIT = 2000;
const ARRAY_LIMIT = 1000;
// Over a limit, qs throws (throwOnLimitExceeded): without it, it dropped every parameter after the
// 2000th, and the request went on without them (a refund's amount, an intent's capture_method).
// plainObjects: a key named like a prototype property (metadata[constructor], metadata[toString]) is
// kept, as Stripe keeps it, on objects without a prototype that ordinaryObjects then copies into
// ordinary ones (qs never makes a __proto__ key).
const QS_OPTIONS: qs.IParseOptions = { depth: 10, arrayLimit: ARRAY_LIMIT, parameterLimit: PARAMETER_LIMIT, throwOnLimitExceeded: true, plainObjects: true, strictDepth: false, decoder: decodeParam };

// Escapes that write bytes which are no UTF-8 text (`%FF`, `%ED%A0%80`: half of a surrogate pair) left
// the whole parameter unread: `description=a%00b%FF` was stored as those 10 characters, `%00` and all,
// and answered 200. Refused, as a body that is not UTF-8 is. A `%` that starts no escape (curl -d
// 'description=50% off') is still taken as written, as before.
const STRAY_PERCENT = /%(?![0-9A-Fa-f]{2})/;

function decodeParam(text: string): string {
  const spaced = text.includes("+") ? text.replace(/\+/g, " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    if (STRAY_PERCENT.test(spaced)) return spaced;
    throw invalidRequest("A parameter holds percent-escapes that write no UTF-8 text (such as %FF, or %ED%A0%80 for half of a surrogate pair): encode its text as UTF-8.", undefined, "parameter_invalid");
  }
}

// A metadata key is any string, digits included (`metadata[42]=x`, stripe-node's `{metadata: {"42":
// "x"}}`), where qs would read `[42]` as an array index and make metadata an array. Such a key is
// marked before qs reads it (an object key then) and unmarked after.
const METADATA_INDEX = /(^metadata|\[metadata\])\[(\d+)\]/;
const KEY_MARK = "\u0001";

/** The text a parameter's name writes, or null when its escapes write no UTF-8 text (qs's decoder then refuses it: decodeParam). */
function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

function markMetadataKeys(text: string): string {
  if (!text.includes("metadata")) return text;
  return text
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
      // A name that does not decode is left for qs, whose decoder refuses it (or, a stray %, keeps it as written).
      if (key === null || !METADATA_INDEX.test(key)) return pair;
      const marked = key.replace(METADATA_INDEX, (_m, head: string, digits: string) => `${head}[${KEY_MARK}${digits}]`);
      return encodeURIComponent(marked) + (eq < 0 ? "" : pair.slice(eq));
    })
    .join("&");
}

/** qs's prototype-less objects as ordinary objects (own data properties only), arrays kept, marked keys unmarked. */
function ordinaryObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordinaryObjects);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.startsWith(KEY_MARK) ? k.slice(1) : k, ordinaryObjects(v)]));
}

/** Text after a `]` that opens no new `[`: qs drops it (`metadata[1]xyz=v` is `metadata[1]=v`, `a[b]c` is `a[b]`). */
const TEXT_AFTER_BRACKET = /\][^[]/;

/** A parameter's name is a word and then only `[...]` groups: one qs would cut short is a 400, never read as another. */
function refuseTextAfterBrackets(text: string): void {
  if (!text.includes("]") && !/%5d/i.test(text)) return;
  for (const pair of text.split("&")) {
    const eq = pair.indexOf("=");
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== null && TEXT_AFTER_BRACKET.test(name)) {
      throw invalidRequest(`Invalid parameter name '${redactCardNumbers(name.slice(0, 100))}': after a ']' comes a '[' or the end of the name.`, undefined, "parameter_invalid");
    }
  }
}

/** Form or query parameters, nested; a 400 when there are more than the limits allow (never a silent cut). */
function parseParams(text: string): Record<string, unknown> {
  refuseTextAfterBrackets(text);
  try {
    return ordinaryObjects(qs.parse(markMetadataKeys(text), QS_OPTIONS)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof RangeError) {
      throw invalidRequest(`Too many parameters: a request takes at most ${PARAMETER_LIMIT} parameters, and an array at most ${ARRAY_LIMIT} elements.`, undefined, "parameters_exceeded");
    }
    throw err;
  }
}

function tooLarge(): ApiError {
  return new ApiError({
    status: 413,
    type: "invalid_request_error",
    code: "request_too_large",
    message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`,
  });
}

/** The raw body as text, within the size limit (webhooks verify signatures over exact bytes). */
export function readBodyText(request: Request): Promise<string> {
  return readLimited(request);
}

async function readLimited(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidRequest("The request body is not valid UTF-8.");
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// A number literal beyond a double's range parses to 0 (1e-400) or Infinity (1e400): it is refused,
// never taken as 0 (a 1970 timestamp, a zero amount). Only bodies with a 3-digit exponent are re-read.
const EXPONENT_OUT_OF_RANGE = /\d[eE][+-]?\d{3}/;
type SourceReviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;
const refuseOutOfRange: SourceReviver = (key, value, context) => {
  if (typeof value !== "number") return value;
  const mantissa = (context?.source ?? "").split(/[eE]/)[0] ?? "";
  if (!Number.isFinite(value) || (value === 0 && /[1-9]/.test(mantissa))) {
    throw invalidRequest(`The number ${(context?.source ?? String(value)).slice(0, 40)}${key ? ` in '${key.slice(0, 40)}'` : ""} is out of range.`, undefined, "invalid_json");
  }
  return value;
};

/**
 * The integer a number literal writes exactly (`1000`, `1000.00`, `1.5e3`), or null when it writes a
 * fraction. BigInt, so a literal a double cannot hold is told apart from the double it parses to.
 */
function writtenInteger(source: string): bigint | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (!m) return null;
  const [, sign = "", whole = "", fraction = "", exp = "0"] = m;
  const shift = Number(exp) - fraction.length;
  const digits = whole + fraction;
  if (!/[1-9]/.test(digits)) return 0n;
  if (shift > 400 || shift < -400) return null;
  if (shift >= 0) return BigInt(`${sign}${digits}${"0".repeat(shift)}`);
  const cut = digits.length + shift;
  if (/[1-9]/.test(cut > 0 ? digits.slice(cut) : digits)) return null;
  return BigInt(`${sign}${cut > 0 ? digits.slice(0, cut) : "0"}`);
}

// A literal of 16 or more digits, or with an exponent, may be one a double cannot hold exactly.
const MAYBE_INEXACT = /\d[\d.]{15,}|\d[eE]/;
/**
 * A number that parses to an integer must be the integer written: `999.99999999999999` parses to 1000
 * and `9007199254740993` to 9007199254740992, and an amount read that way would be silently another.
 */
const refuseRounded: SourceReviver = (key, value, context) => {
  if (typeof value !== "number" || !Number.isInteger(value) || context?.source === undefined) return value;
  const written = writtenInteger(context.source);
  if (written === null || written !== BigInt(value)) {
    throw invalidRequest(`The number ${context.source.slice(0, 40)}${key ? ` in '${key.slice(0, 40)}'` : ""} cannot be read exactly (it would be taken as ${String(value).slice(0, 40)}). Send the integer you mean.`, key || undefined, "invalid_json");
  }
  return value;
};

// A parameter named __proto__ (a metadata key, say) cannot be kept on an object: qs drops it, and an
// object built from JSON loses it as soon as it is copied. Refused, rather than silently lost.
const protoRefused = () => invalidRequest("A parameter may not be named __proto__ (not even a metadata key).", undefined, "parameter_invalid");

function hasProtoKey(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(hasProtoKey);
  return Object.hasOwn(value, "__proto__") || Object.values(value).some(hasProtoKey);
}

/** How deep a JSON body may nest objects and arrays: far beyond any request of ours (metadata is two levels). */
export const MAX_JSON_DEPTH = 32;

/**
 * One pass over valid JSON text, without recursion: whether it nests objects or arrays deeper than
 * `maxDepth` (the checks after parsing walk the value recursively, and thousands of levels overflowed
 * the stack: a 500), and the first key an object of it names twice. JSON.parse keeps the last value
 * silently; a proxy, a signature check or a log that reads the first would see another amount than the
 * one acted on, so a body that names a field twice is refused. Keys are compared decoded (`"amount"`
 * and `"\u0061mount"` are one key). A key it cannot decode (a bad escape, a string cut short) says
 * the text is malformed.
 */
function scanJson(text: string, maxDepth = Infinity): { tooDeep: boolean; duplicate: string | null; malformed?: true } {
  let duplicate: string | null = null;
  // One frame per open object (its keys, and whether the next string is a key) or array (null).
  const frames: ({ keys: Set<string>; expectKey: boolean } | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++; // a backslash: the next character is escaped
      const frame = frames[frames.length - 1];
      if (frame && frame.expectKey) {
        frame.expectKey = false;
        const raw = text.slice(start, i + 1);
        let key = raw.slice(1, -1);
        if (raw.includes("\\")) {
          try {
            key = JSON.parse(raw) as string;
          } catch {
            return { tooDeep: false, duplicate, malformed: true }; // a bad escape, or a key cut short: not JSON
          }
        }
        if (duplicate === null && frame.keys.has(key)) duplicate = key;
        frame.keys.add(key);
      }
    } else if (ch === 0x7b || ch === 0x5b) {
      frames.push(ch === 0x7b ? { keys: new Set(), expectKey: true } : null);
      if (frames.length > maxDepth) return { tooDeep: true, duplicate };
    } else if (ch === 0x7d || ch === 0x5d) frames.pop();
    else if (ch === 0x2c) {
      const frame = frames[frames.length - 1];
      if (frame) frame.expectKey = true;
    }
  }
  return { tooDeep: false, duplicate };
}

// A JSON string may write half of a surrogate pair alone (`"\ud800"`): valid JSON, but no Unicode text.
// Kept, it was answered and put in the event (and its webhook) as sent, while D1 stored the three
// bytes of its CESU form and read them back as three U+FFFD: a list showed another description, another
// metadata value, than the create's answer and the webhook said. Refused before anything runs. In the
// `u` mode a pair is one code point, outside this class: only a half alone matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

function holdsLoneSurrogate(value: unknown): boolean {
  if (typeof value === "string") return LONE_SURROGATE.test(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsLoneSurrogate);
  return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || holdsLoneSurrogate(v));
}

/**
 * A 400 when a request body's JSON (its `text`, already parsed to `parsed`, MAX_JSON_DEPTH deep at most)
 * holds a key or string with an unpaired surrogate. The text itself is valid UTF-8 (readBodyText): only
 * an escape can write one, so a body without `\uD8..`-`\uDF..` is not walked.
 */
export function refuseLoneSurrogates(text: string, parsed: unknown): void {
  if (!SURROGATE_ESCAPE.test(text) || !holdsLoneSurrogate(parsed)) return;
  throw invalidRequest("The JSON request body holds a string with half of a surrogate pair alone (an escape such as \\ud800 without its pair): it is not Unicode text. Send the character whole.", undefined, "invalid_json");
}

/** The first key a JSON object of `text` (valid JSON) names twice, or null (see scanJson). */
export function duplicateJsonKey(text: string): string | null {
  return scanJson(text).duplicate;
}

const tooDeepRefused = () => invalidRequest(`The JSON request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`, undefined, "invalid_json");

/**
 * The checks every surface's JSON body passes, whatever parses it: at most MAX_JSON_DEPTH levels, no
 * parameter named __proto__, no key named twice in one object. `parse` is called only when the text
 * is not too deep (a reviver walks the value recursively, and thousands of levels overflow its stack),
 * or when the text is not JSON at all: it then throws its own 400 (malformed JSON), which goes through.
 * Returns what it parsed.
 */
export function parseCheckedJson(text: string, parse: (text: string) => unknown): unknown {
  const shape = scanJson(text, MAX_JSON_DEPTH);
  // A key the scan cannot read is malformed JSON: the parser's own 400.
  if (shape.malformed) return parse(text);
  if (shape.tooDeep) throw tooDeepRefused();
  const parsed = parse(text);
  if (text.includes("__proto__") && hasProtoKey(parsed)) throw protoRefused();
  if (shape.duplicate !== null) throw duplicateKeyRefused(shape.duplicate);
  return parsed;
}

/** The 400 of a JSON body that names a key twice. */
export function duplicateKeyRefused(key: string): ApiError {
  return invalidRequest(`The JSON request body names '${key.slice(0, 64)}' twice in one object: send each field once.`, undefined, "invalid_json");
}

/** Whether a form body names a parameter __proto__ (`__proto__=x`, `metadata[__proto__]=x`, percent-encoded or not). */
function namesProto(text: string): boolean {
  if (!/proto|%/i.test(text)) return false;
  return text.split("&").some((pair) => {
    const name = (pair.split("=")[0] ?? "").replace(/\+/g, " ");
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // Left as written: qs reads a malformed escape as it stands.
    }
    return /(^|\[)__proto__(\]|\[|$)/.test(decoded);
  });
}

/**
 * The body's parameters as a plain object ({} for an empty body). `jsonOnly`: a surface that reads
 * JSON bodies alone (seed 002's), where form parameters are a 415 naming application/json rather than
 * strings its fields refuse; a JSON object sent untyped (curl -d '{...}') is still read.
 */
export async function readBodyParams(request: Request, options: { jsonOnly?: boolean } = {}): Promise<Record<string, unknown>> {
  const text = await readLimited(request);
  if (text.trim() === "") return {};
  const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  // A JSON object sent as form parameters or with no Content-Type (curl -d '{...}' without -H sends it
  // as application/x-www-form-urlencoded): read as the JSON it is. Read as form parameters, it was one
  // parameter named after the whole text, and the request was told its fields were missing.
  // Form-encoded parameters never start with "{".
  const untypedJson = (type === "" || type === "application/x-www-form-urlencoded") && text.trimStart().startsWith("{");
  if (type === "application/json" || type.endsWith("+json") || untypedJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidRequest(`Invalid JSON in the request body. Send a JSON object${options.jsonOnly ? "" : ", or form-encoded parameters"}.`, undefined, "invalid_json");
    }
    if (!isPlainObject(parsed)) throw invalidRequest("The JSON request body must be an object.", undefined, "invalid_json");
    const shape = scanJson(text, MAX_JSON_DEPTH);
    if (shape.tooDeep) throw tooDeepRefused();
    if (text.includes("__proto__") && hasProtoKey(parsed)) throw protoRefused();
    if (shape.duplicate !== null) throw duplicateKeyRefused(shape.duplicate);
    refuseLoneSurrogates(text, parsed);
    if (EXPONENT_OUT_OF_RANGE.test(text)) JSON.parse(text, refuseOutOfRange as (this: unknown, key: string, value: unknown) => unknown);
    if (MAYBE_INEXACT.test(text)) JSON.parse(text, refuseRounded as (this: unknown, key: string, value: unknown) => unknown);
    return parsed;
  }
  if ((type === "application/x-www-form-urlencoded" || type === "") && !options.jsonOnly) {
    if (namesProto(text)) throw protoRefused();
    return parseParams(text);
  }
  throw new ApiError({
    status: 415,
    type: "invalid_request_error",
    code: "unsupported_content_type",
    message: `Unsupported Content-Type '${(type || "none").slice(0, 64)}'. Send ${options.jsonOnly ? "a JSON object as application/json" : "application/json or application/x-www-form-urlencoded"}.`,
  });
}

export function queryParams(url: string): Record<string, unknown> {
  const search = new URL(url).search;
  return search.length > 1 ? parseParams(search.slice(1)) : {};
}

/**
 * A JSON body's top-level `null`s taken as fields not sent: clients whose serializers write every
 * property (Jackson, System.Text.Json, Python's json of a dataclass) send `"tipCents": null` for an
 * optional field they did not set. A required field sent as null is then told as missing.
 */
export function nullsAsAbsent<T>(fields: T): T {
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return fields;
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)) as T;
}
