// Four eyes: what someone asked for (a refund above the merchant's threshold, a change that loosens
// the refund approval rule) takes effect only when another person agrees. One person is one person
// whatever the credential: the maker of the key that asked (and the maker of the key that made that
// one, and so on: src/auth/api-keys.ts credentialMakers) asked too.

/**
 * Whether two actors (`jwt:jane.doe`, `api_key:key_...`) name one person: an operator's name is typed
 * (a token's `sub`, the CLI's --sub), and "Jane.Doe", a full-width "ｊａｎｅ", or the name with a space
 * or an invisible character (a zero-width space, a soft hyphen) in it is not someone else.
 */
export function samePerson(a: string, b: string): boolean {
  const person = (actor: string) => actor.normalize("NFKC").replace(/[\s\p{Cf}]/gu, "").toLowerCase();
  return person(a) === person(b);
}

/**
 * Why `actor` may not approve what `requestedBy` asked for: it is the requester itself, or it made the
 * credential the request came with (`makers`: that credential's makers, nearest first); null when
 * `actor` is someone else.
 */
export function fourEyesConflict(requestedBy: string, makers: readonly string[], actor: string): "requester" | "maker" | null {
  if (samePerson(requestedBy, actor)) return "requester";
  return makers.some((maker) => samePerson(maker, actor)) ? "maker" : null;
}
