// Anything shaped like a card number, found in free text (a log line, an error message that quotes
// what a client sent) and replaced: a number never leaves the gateway in a log or an answer.

// 13 to 19 digits (spaces, dashes or dots allowed between groups) starting as card numbers do (2-6),
// not inside a longer run of digits, nor the fraction of a decimal number (`0.30000000000000004`, a
// float's error quoted back), but anywhere else: also inside an id or a key (`pi_4242...`, `x4242...`).
const PAN = /(?<!\d|\d[.,])[2-6](?:[ .-]?\d){12,18}(?!\d)/g;

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
