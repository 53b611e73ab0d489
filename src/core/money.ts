// Money: integer minor units plus an ISO 4217 code. Floating point never touches an amount; surfaces
// that speak decimals convert exactly through the currency's exponent.
import { invalidRequest, type ApiErrorData } from "./errors";

/** The largest amount, in minor units, the gateway accepts for one payment (Stripe's ceiling). */
export const MAX_AMOUNT = 99_999_999;

// Stripe's lists (docs.stripe.com/currencies), which the Stripe connector passes amounts to unchanged:
// MGA is zero-decimal there, and ISK two-decimal ("100" is 1 krona; Stripe asks for whole kronur).
const ZERO_DECIMAL = ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];
const THREE_DECIMAL = ["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"];
const TWO_DECIMAL = (
  "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd btn bwp byn bzd cad cdf chf " +
  "cny cop crc cup cve czk dkk dop dzd egp ern etb eur fjd fkp gbp gel ghs gip gmd gtq gyd hkd hnl htg huf " +
  "idr ils inr irr isk jmd kes kgs khr kpw kyd kzt lak lbp lkr lrd lsl mad mdl mkd mmk mnt mop mru mur mvr " +
  "mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub sar sbd scr sdg sek sgd " +
  "shp sle sll sos srd ssp stn svc syp szl thb tjs tmt top try ttd twd tzs uah usd uyu uzs ves wst xcd yer " +
  "zar zmw zwl"
).split(" ");

const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...ZERO_DECIMAL.map((c) => [c, 0] as const),
  ...TWO_DECIMAL.map((c) => [c, 2] as const),
  ...THREE_DECIMAL.map((c) => [c, 3] as const),
]);

/** The number of minor-unit digits of a currency, or undefined when we do not know the currency. */
export function currencyExponent(currency: string): number | undefined {
  return EXPONENTS.get(currency.toLowerCase());
}

/** Every currency the gateway knows, with its minor-unit digits (for a client that must show amounts as we count them). */
export function currencyExponents(): Record<string, number> {
  return Object.fromEntries(EXPONENTS);
}

export function isKnownCurrency(currency: string): boolean {
  return EXPONENTS.has(currency.toLowerCase());
}

/** Lower-cases a currency code (seed 001 sends "EUR", Stripe "eur") and rejects unknown ones. */
export function normalizeCurrency(input: string, param = "currency"): string {
  const code = input.trim().toLowerCase();
  if (!/^[a-z]{3}$/.test(code) || !EXPONENTS.has(code)) {
    throw invalidRequest(`Invalid currency: ${input.slice(0, 16)}. Use a supported ISO 4217 code such as 'usd' or 'eur'.`, param, "invalid_currency");
  }
  return code;
}

/** Checks an amount in minor units: a safe integer in 1..MAX_AMOUNT. */
export function assertAmount(amount: number, param = "amount", min = 1): number {
  if (!Number.isSafeInteger(amount)) {
    throw invalidRequest(`Invalid integer: ${String(amount)}. Amounts are integers in the currency's minor unit.`, param, "invalid_amount");
  }
  if (amount < min) {
    throw invalidRequest(`Amount must be at least ${min} (minor units).`, param, "amount_too_small");
  }
  if (amount > MAX_AMOUNT) {
    throw invalidRequest(`Amount must be no more than ${MAX_AMOUNT} (minor units).`, param, "amount_too_large");
  }
  return amount;
}

/**
 * Converts a decimal amount ("99.99", 99.99, "100") to minor units exactly, from its decimal digits,
 * never by multiplying a float. More significant decimal places than the currency has are rejected.
 */
export function decimalToMinor(value: string | number, currency: string, param = "amount"): number {
  const exponent = EXPONENTS.get(normalizeCurrency(currency)) ?? 2;
  const given = typeof value === "number" ? numberToPlainString(value) : value.trim();
  const text = withoutExponent(given, exponent, currency, param);
  // Any number of digits: leading zeros and trailing decimal zeros change nothing (29.99 with thirty
  // zeros after it, as a decimal type may print it, is 29.99); what is left is judged by its digits.
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw invalidRequest(`Invalid decimal amount: "${text.slice(0, 32)}".`, param, "invalid_amount");
  const digits = match[1] ?? "0";
  const whole = digits.slice(Math.min(zerosAt(digits, false), digits.length - 1));
  // A well-formed amount too large for any currency: the bound, in the caller's terms.
  if (whole.length > 12) {
    throw invalidRequest(`Amount must be no more than ${minorToDecimal(MAX_AMOUNT, currency)} ${currency.toUpperCase()}.`, param, "amount_too_large");
  }
  const decimals = match[2] ?? "";
  const fraction = decimals.slice(0, decimals.length - zerosAt(decimals, true));
  if (fraction.length > exponent) {
    throw invalidRequest(
      `Amount ${text.length > 24 ? `${text.slice(0, 24)}...` : text} has more decimal places than ${currency.toUpperCase()} allows (${exponent}).`,
      param,
      "invalid_amount",
    );
  }
  const minor = Number(whole + fraction.padEnd(exponent, "0"));
  // The bounds in the caller's own terms (a decimal surface), not in minor units.
  const code = currency.toUpperCase();
  if (minor < 1) throw invalidRequest(`Amount must be at least ${minorToDecimal(1, currency)} ${code}.`, param, "amount_too_small");
  if (minor > MAX_AMOUNT) throw invalidRequest(`Amount must be no more than ${minorToDecimal(MAX_AMOUNT, currency)} ${code}.`, param, "amount_too_large");
  return assertAmount(minor, param);
}

/** How many of `digits` lead (or, `fromEnd`, trail) as zeros: a loop, linear on any length (a regex such as /0+$/ is not). */
function zerosAt(digits: string, fromEnd: boolean): number {
  let n = 0;
  while (n < digits.length && digits[fromEnd ? digits.length - 1 - n : n] === "0") n++;
  return n;
}

/**
 * Exponent notation out of range ("1e308", "1e-400", too long for a surface to write out its digits)
 * told as what it is, too large or too precise for the currency; any other text as it is.
 */
function withoutExponent(text: string, exponent: number, currency: string, param: string): string {
  const m = /^(\d{1,64})(?:\.(\d{1,64}))?[eE]([+-]?\d{1,6})$/.exec(text);
  if (!m) return text;
  const [, whole = "", fraction = "", exp = "0"] = m;
  const significant = (whole + fraction).replace(/^0+/, "");
  if (significant === "") return "0";
  const trimmed = significant.replace(/0+$/, "");
  // Digits after the decimal point once the exponent is applied, trailing zeros not counted.
  const decimals = fraction.length - Number(exp) - (significant.length - trimmed.length);
  if (trimmed.length - decimals > 12) {
    throw invalidRequest(`Amount must be no more than ${minorToDecimal(MAX_AMOUNT, currency)} ${currency.toUpperCase()}.`, param, "amount_too_large");
  }
  if (decimals > exponent) {
    throw invalidRequest(`Amount ${text.slice(0, 32)} has more decimal places than ${currency.toUpperCase()} allows (${exponent}).`, param, "invalid_amount");
  }
  // In range: the surfaces expand exponent notation themselves before they convert; here it stays refused.
  return text;
}

/** Renders minor units as a decimal string with the currency's exponent: 1050 usd -> "10.50". */
export function minorToDecimal(minor: number, currency: string): string {
  const exponent = currencyExponent(currency) ?? 2;
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? "-" : ""}${whole}${exponent > 0 ? "." + fraction : ""}`;
}

function numberToPlainString(value: number): string {
  if (!Number.isFinite(value) || value < 0) return "invalid";
  const text = String(value);
  // Exponent notation (1e-7, 1e+21) is never a valid money amount.
  return /e/i.test(text) ? "invalid" : text;
}

/**
 * The error's message for a surface whose amounts are decimals (seeds 000, 003, 004): an amount above
 * what the intent allows is told in major units with its currency, not in /v1's minor units.
 */
export function decimalMessage(err: ApiErrorData): string {
  const e = err.excess;
  if (!e) return err.message;
  const money = (minor: number) => `${minorToDecimal(minor, e.currency)} ${e.currency.toUpperCase()}`;
  return e.action === "capture"
    ? `The amount to capture (${money(e.requested)}) is greater than the amount that can be captured (${money(e.available)}).`
    : `The amount to refund (${money(e.requested)}) is greater than the amount left to refund (${money(e.available)}).`;
}
