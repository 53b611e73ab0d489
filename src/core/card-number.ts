// Anything shaped like a card number, found in free text (a log line, an error message that quotes
// what a client sent) and replaced: a number never leaves the gateway in a log or an answer.

// Two tests. What the gateway keeps or logs (events, the audit log, log lines, request ids, the form an
// idempotency key is stored in) is held to the broad one, CARD_DIGITS, which takes 13 to 19 digits starting
// as card numbers do (2-6), with or without a space, dash or dot between any two, not inside a longer
// run of digits but anywhere else (also inside an id or a key: `pi_4242...`, `x4242...`). A false
// alarm there costs nothing. What an error message quotes back to a client is held to PAN, a card
// number as people write one: run together, in fours split by spaces, dashes or dots (the last group
// shorter for 13, 15 or 17-19 digits), or in American Express's and Diners' 4-6-5 and 4-6-4; after
// a digit and a point or comma (a decimal's fraction, `0.30000000000000004`) only when it passes the
// Luhn check. So an idempotency key ending in a timestamp (`k2-1796601857123`) or a float's error is
// quoted as the client sent it, and a card number is not.
const CARD_DIGITS = /(?<!\d)[2-6](?:[ .-]?\d){12,18}(?!\d)/g;
const PAN = /(?<!\d)(?:[2-6]\d{12,18}|[2-6]\d{3}[ .-]\d{4}[ .-]\d{4}[ .-]\d{1,4}(?:[ .-]\d{1,3})?|3\d{3}[ .-]\d{6}[ .-]\d{4,5})(?!\d)/g;
const AFTER_DECIMAL_POINT = /\d[.,]$/;

// The same test for one match (a global expression's test() would carry its lastIndex between calls).
const ANY_CARD_DIGITS = new RegExp(CARD_DIGITS.source);

/** Whether `text` holds 13-19 digits that may be a card number, however they are grouped (CARD_DIGITS). */
export function mayHoldCardNumber(text: string): boolean {
  return ANY_CARD_DIGITS.test(text);
}

/** Whether a string of digits passes the Luhn check card numbers carry. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * `text` as it may be kept or logged: every run of digits that may be a card number (CARD_DIGITS)
 * replaced by `[card]`, whether or not it passes the Luhn check (a card number mistyped by one digit is
 * still nearly a card number, and one digit from the real one).
 */
export function redactCardNumbers(text: string): string {
  return text.replace(CARD_DIGITS, "[card]");
}

/**
 * `text` as an error message may quote it back to a client: card numbers as people write them (PAN)
 * replaced by `[card]`, everything else as the client sent it.
 */
export function redactCardNumbersQuoted(text: string): string {
  return text.replace(PAN, (match: string, offset: number) =>
    AFTER_DECIMAL_POINT.test(text.slice(Math.max(0, offset - 2), offset)) && !luhn(match.replace(/\D/g, "")) ? match : "[card]",
  );
}

/** `text` (or null) with card-shaped numbers replaced: for what a client chose (a request id, an idempotency key) before it is kept. */
export function redactNullable(text: string | null): string | null {
  return text === null ? null : redactCardNumbers(text);
}
