// What scripts/cli.mjs and scripts/token.mjs share besides the roles: the operator named in a token
// minted from the JWT secret, and amounts shown in the currency's decimals as the dashboard shows them.

/** The longest subject the gateway keeps: it records `jwt:<sub>` cut to 100 characters. */
const MAX_OPERATOR_LENGTH = 100;

/**
 * The operator's name for a token's `sub` (from --sub, else GATEWAY_OPERATOR), trimmed: { name },
 * { name: undefined } when none is given, or { error } when it cannot name a person in the audit log.
 */
export function operatorName(flag, env = process.env.GATEWAY_OPERATOR) {
  // An empty GATEWAY_OPERATOR is as good as unset; an empty --sub is a mistake to say.
  const given = flag ?? (env === "" ? undefined : env);
  if (given === undefined) return { name: undefined };
  const source = flag !== undefined ? "--sub" : "GATEWAY_OPERATOR";
  const name = String(given).trim();
  if (name === "") return { error: `${source} is empty: name the operator, e.g. --sub jane.doe` };
  // Longer names would be cut by the gateway, and two of them could then read as the same person.
  if (name.length > MAX_OPERATOR_LENGTH) return { error: `${source} is ${name.length} characters long: the gateway keeps ${MAX_OPERATOR_LENGTH}` };
  if (/[\p{Cc}\p{Cf}]/u.test(name)) return { error: `${source} may not contain control characters` };
  return { name };
}

// The currencies whose minor unit is not a hundredth, as src/core/money.ts counts them (Stripe's
// lists); every other currency has two decimals there too. Plain JS, so it cannot import money.ts:
// test/e2e/cli.e2e.test.ts checks these against its currencyExponents().
const ZERO_DECIMAL = ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];
const THREE_DECIMAL = ["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"];

/** The number of minor-unit digits of a currency: 0 for JPY, 3 for KWD, 2 for most. */
export function currencyDecimals(currency) {
  const code = String(currency ?? "").toLowerCase();
  if (ZERO_DECIMAL.includes(code)) return 0;
  if (THREE_DECIMAL.includes(code)) return 3;
  return 2;
}

/**
 * Minor units in the currency's decimals with thousands grouped and the code in capitals, as the
 * dashboard shows them: 123456 usd -> "1,234.56 USD", 500 jpy -> "500 JPY", 12345 kwd -> "12.345 KWD".
 * Digit by digit, never dividing a float.
 */
export function formatAmount(minor, currency) {
  const code = String(currency ?? "").toUpperCase();
  if (!Number.isSafeInteger(minor)) return `${minor} ${code}`;
  const decimals = currencyDecimals(currency);
  const digits = String(Math.abs(minor)).padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : "";
  return `${minor < 0 ? "-" : ""}${whole}${fraction} ${code}`;
}
