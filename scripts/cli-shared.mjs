// What scripts/cli.mjs and scripts/token.mjs share besides the roles: the operator named in a token
// minted from the JWT secret, the gateway's JWT settings (issuer, audience, longest lifetime) as the
// gateway reads them, and amounts shown in the currency's decimals as the dashboard shows them.
import { readFileSync } from "node:fs";

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

/**
 * A setting of the gateway as the Worker gets it: the environment variable `name` (as an operator
 * sets it beside a deployment's), else the value in wrangler.toml's [vars] (what `npm run dev` and
 * `wrangler deploy` give the Worker), else undefined. Only `NAME = "value"` lines of the top-level
 * [vars] table are read: the gateway's own settings are all written so.
 */
export function gatewaySetting(name, env = process.env) {
  const given = env[name]?.trim();
  if (given) return { value: given, source: "the environment" };
  let toml;
  try {
    toml = readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8");
  } catch {
    return { value: undefined, source: "" };
  }
  const vars = /^\[vars\]\s*$([\s\S]*?)(?=^\s*\[)/m.exec(`${toml}\n[end]`)?.[1] ?? "";
  const value = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "m").exec(vars)?.[1]?.trim();
  return value ? { value, source: "wrangler.toml [vars]" } : { value: undefined, source: "" };
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * One duration ("24h", "90m", "3600s") in milliseconds within min..max, or null when it cannot be
 * read: src/env.ts's parseDuration, which test/e2e/cli.e2e.test.ts compares it with.
 */
export function parseDuration(text, min, max) {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(String(text));
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms < min || ms > max ? null : ms;
}

/**
 * The longest lifetime, in seconds, of a token the gateway accepts: JWT_MAX_LIFETIME as the gateway
 * reads it (24h unless set, 60 s to 30 days): { seconds, setting } with `setting` saying where it
 * came from, or { error } when the setting cannot be read (the gateway would not start with it either).
 */
export function jwtMaxLifetime(env = process.env) {
  const { value, source } = gatewaySetting("JWT_MAX_LIFETIME", env);
  const ms = parseDuration(value ?? "24h", 60_000, 30 * 86_400_000);
  if (ms === null) return { error: `JWT_MAX_LIFETIME=${value} (from ${source}) cannot be read: the gateway takes one duration from 60s to 30d (e.g. 24h)` };
  return { seconds: Math.floor(ms / 1000), setting: value ? `JWT_MAX_LIFETIME=${value}, from ${source}` : "JWT_MAX_LIFETIME, 24h by default" };
}

/** The issuer and audience the gateway expects of a token (JWT_ISSUER, JWT_AUDIENCE, as it reads them). */
export function jwtIssuerAudience(env = process.env) {
  return { issuer: gatewaySetting("JWT_ISSUER", env).value ?? "edge-gateway", audience: gatewaySetting("JWT_AUDIENCE", env).value ?? "edge-gateway-api" };
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
