// Four eyes on the four-eyes rule itself: a change of a merchant's refund approval thresholds that
// lets a larger refund through without a second person (a threshold raised, a currency's threshold
// removed, the map emptied) is held until another person approves it; one that only holds more
// refunds back (a threshold lowered, a currency added) applies at once.

/** Refunds above these amounts (minor units, by lower-case currency) wait for an approver. */
export type Thresholds = Readonly<Record<string, number>>;

/**
 * Whether `next` lets through, without an approver, some refund that `current` holds back: a currency
 * of `current` missing from `next` (its refunds were held above the threshold, now never), or a
 * threshold raised. A change raising one currency and lowering another weakens the rule as a whole.
 */
export function weakensThresholds(current: Thresholds, next: Thresholds): boolean {
  return Object.entries(current).some(([currency, limit]) => {
    const after = next[currency];
    return after === undefined || after > limit;
  });
}

/** Whether two threshold maps hold the same rule (whatever the order of their currencies). */
export function sameThresholds(a: Thresholds, b: Thresholds): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((currency) => b[currency] === a[currency]);
}
