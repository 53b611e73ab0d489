// Stripe's metadata rules: an update merges keys, and an empty value deletes its key.
import { invalidRequest } from "../../core/errors";
import type { Metadata } from "../../core/types";

export const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 } as const;

/**
 * The key an update's `metadata: ""` becomes (Stripe's way to unset every key): a control character,
 * which no metadata key may hold, so it can only come from there.
 */
export const CLEAR_ALL_METADATA = "\u0000all";

export function mergeMetadata(current: Metadata, changes: Metadata): Metadata {
  const merged: Metadata = CLEAR_ALL_METADATA in changes ? {} : { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (key === CLEAR_ALL_METADATA) continue;
    if (value === "") delete merged[key];
    else merged[key] = value;
  }
  if (Object.keys(merged).length > METADATA_LIMITS.keys) {
    // The same answer as a create's metadata over the limit (the schema's): one rule, one error.
    throw invalidRequest(`Invalid metadata: must have at most ${METADATA_LIMITS.keys} keys`, "metadata", "parameter_invalid");
  }
  return merged;
}
