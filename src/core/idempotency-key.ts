// The form an Idempotency-Key is kept in (D1's claims and stored answers, an intent's object): the key
// as sent, unless a card number is in it (a client's mistake, or an order number shaped like one),
// then a keyed digest of it ("hk_..."): no store holds a card number, and the same key still finds its
// record. Keys without one, nearly all, are kept as they were, so their records are found as before.
import { mayHoldCardNumber } from "./card-number";
import { hmacBase62 } from "./ids";

/** `key` as stored; `fingerprintKey` (config's) keys the digest, so it cannot be reversed by trying card numbers. */
export async function idempotencyKeyAtRest(fingerprintKey: string, key: string): Promise<string> {
  if (!mayHoldCardNumber(key)) return key;
  return `hk_${await hmacBase62(fingerprintKey, `idempotency-key:${key}`, 32)}`;
}
