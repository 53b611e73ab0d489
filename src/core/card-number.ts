// Anything shaped like a card number, found in free text (a log line, an error message that quotes
// what a client sent) and replaced: a number never leaves the gateway in a log or an answer.

// A card number as people write one, 13 to 19 digits starting as card numbers do (2-6): run together
// (4242424242424242), or in fours split by spaces, dashes or dots (4242 4242 4242 4242,
// 4242-4242-4242-4242, 4012.8888.8888.1881; the last group shorter for 13, 15 or 17-19 digits), or in
// American Express's and Diners' 4-6-5 and 4-6-4. Not inside a longer run of digits, nor the fraction of
// a decimal number (`0.30000000000000004`, a float's error quoted back), but anywhere else: also inside
// an id or a key (`pi_4242...`, `x4242...`). Other groupings are not a card's: an idempotency key ending
// in a timestamp (`k2-1796601857123`) is quoted back as it was sent.
const PAN = /(?<!\d|\d[.,])(?:[2-6]\d{12,18}|[2-6]\d{3}[ .-]\d{4}[ .-]\d{4}[ .-]\d{1,4}(?:[ .-]\d{1,3})?|3\d{3}[ .-]\d{6}[ .-]\d{4,5})(?!\d)/g;

// Any 13 to 19 digits from 2-6 on, with or without a space, dash or dot between any two: what the
// stores never keep as it came (an idempotency key holding one is kept as a digest, see
// idempotency-key.ts). Broader than PAN: a key that only might hold a card number is hashed too, which
// costs nothing, and the form a key is stored in never changes with how messages are masked.
const CARD_DIGITS = /(?<!\d)[2-6](?:[ .-]?\d){12,18}(?!\d)/;

/** Whether `text` holds 13-19 digits that may be a card number, however they are grouped (see CARD_DIGITS). */
export function mayHoldCardNumber(text: string): boolean {
  return CARD_DIGITS.test(text);
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
 * `text` with every card-shaped number replaced by `[card]`, whether or not it passes the Luhn check:
 * a card number mistyped by one digit is still nearly a card number (and one digit from the real one).
 */
export function redactCardNumbers(text: string): string {
  return text.replace(PAN, "[card]");
}

/** `text` (or null) with card-shaped numbers replaced: for what a client chose (a request id, an idempotency key) before it is kept. */
export function redactNullable(text: string | null): string | null {
  return text === null ? null : redactCardNumbers(text);
}
