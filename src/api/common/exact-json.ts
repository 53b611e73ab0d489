// JSON with exact decimals, for the surfaces that speak major units (seeds 000 and 003). Reading, a
// number keeps the digits it was written with (`99.99`, `100.00`, `1.0000000000000001`), so amounts
// convert to minor units from their text, never through a float. Writing, an amount is printed with
// its currency's digits (`100.00`, `1000`, `1.250`) as a JSON number.
import { ApiError, invalidRequest } from "../../core/errors";
import { parseCheckedJson, readBodyText, refuseLoneSurrogates } from "../../http/body";
import { minorToDecimal } from "../../core/money";
import { randomToken } from "../../core/ids";

/** A JSON number as written in the request. */
export class JsonNumber {
  constructor(
    readonly source: string,
    readonly value: number,
  ) {}

  /** A safe integer, or null. */
  integer(): number | null {
    return /^-?\d{1,15}$/.test(this.source) && Number.isSafeInteger(this.value) ? this.value : null;
  }

  /**
   * The number as a plain decimal, exactly: exponent notation (`1.5E7`, as Java writes a double of
   * 10^7 or more) is expanded from the digits, never through a float. Without an exponent, or with one
   * too large to be money, the text as written (a decimal parser then rejects what is not money).
   */
  decimalText(): string {
    const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d{1,3})$/.exec(this.source);
    if (!m) return this.source;
    const [, sign = "", whole = "", fraction = "", exp = "0"] = m;
    const shift = Number(exp);
    if (Math.abs(shift) > 40) return this.source;
    const digits = whole + fraction;
    const point = whole.length + shift;
    const padded = point <= 0 ? "0".repeat(1 - point) + digits : point > digits.length ? digits + "0".repeat(point - digits.length) : digits;
    const at = point <= 0 ? 1 : point;
    const int = padded.slice(0, at).replace(/^0+(?=\d)/, "");
    const frac = padded.slice(at);
    return `${sign}${int}${frac ? `.${frac}` : ""}`;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Parses JSON text; numbers become JsonNumber. Throws a 400 ApiError on malformed JSON. */
export function parseExactJson(text: string): unknown {
  const reviver: Reviver = (_key, value, context) => (typeof value === "number" ? new JsonNumber(context?.source ?? String(value), value) : value);
  // Nested too deep, a key named __proto__ or twice: refused as on every surface (parseCheckedJson).
  return parseCheckedJson(text, (checked) => {
    try {
      return JSON.parse(checked, reviver as (this: unknown, key: string, value: unknown) => unknown);
    } catch {
      throw invalidRequest("The request body is not valid JSON.", undefined, "invalid_json");
    }
  });
}

/** A request body's JSON, parsed exactly; a string with half of a surrogate pair alone is a 400 (refuseLoneSurrogates). */
export function parseRequestJson(text: string): unknown {
  const parsed = parseExactJson(text);
  refuseLoneSurrogates(text, parsed);
  return parsed;
}

// A per-isolate random marker (made on first use: Workers forbid random values at load time), so
// that no string a client sent can pass for a marked decimal.
let marker: { mark: string; marked: RegExp } | null = null;
function decimalMarker(): { mark: string; marked: RegExp } {
  if (!marker) {
    const mark = `dec${randomToken(16)}`;
    marker = { mark, marked: new RegExp(`"${mark}(-?\\d+(?:\\.\\d+)?)"`, "g") };
  }
  return marker;
}

/** The marker while stringifyExact runs (it is synchronous, so nothing else stringifies meanwhile). */
let marking: string | null = null;

/** A decimal to print as a JSON number with exactly these digits. */
export class DecimalOut {
  constructor(readonly text: string) {}

  /**
   * Inside stringifyExact, the marked text that it turns into a bare number; elsewhere, the digits as
   * a string (never the marker). JSON.stringify calls this natively, far faster than a replacer
   * function called for every key of a 1,000-item list.
   */
  toJSON(): string {
    return marking === null ? this.text : `${marking}${this.text}`;
  }
}

export function decimalOut(minor: number, currency: string): DecimalOut {
  return new DecimalOut(minorToDecimal(minor, currency));
}

/** JSON.stringify, printing DecimalOut values as bare numbers with their digits. */
export function stringifyExact(value: unknown): string {
  const { mark, marked } = decimalMarker();
  marking = mark;
  let text: string;
  try {
    text = JSON.stringify(value);
  } finally {
    marking = null;
  }
  return text.replace(marked, "$1");
}

/** The JSON body of a request, within the size limit (413), as application/json or text/json (415), parsed exactly. */
export async function readExactJson(request: Request): Promise<unknown> {
  const text = await readBodyText(request);
  const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (text.trim() === "" && type === "") throw invalidRequest("A JSON request body is required.", undefined, "body_missing");
  // text/json too: ASP.NET and other frameworks send and accept it as JSON.
  if (type !== "application/json" && type !== "text/json" && !type.endsWith("+json")) {
    throw new ApiError({
      status: 415,
      type: "invalid_request_error",
      code: "unsupported_content_type",
      message: `Unsupported Content-Type '${type.slice(0, 64)}'. Send application/json.`,
    });
  }
  if (text.trim() === "") throw invalidRequest("A JSON request body is required.", undefined, "body_missing");
  return parseRequestJson(text);
}
