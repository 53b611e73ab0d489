// Seed 002's metadata: a JSON object whose values are strings, numbers or booleans (the seed's own
// metadata holds `"retryAttempt": true`), echoed as they were sent. The intent keeps string values
// only (as /v1's metadata, which /v1, webhooks and the other surfaces read): a number or boolean is
// kept as its text ("12", "true"), and which keys held one is kept under TYPES_KEY, so that this
// surface renders them back as numbers and booleans. /v1 sees the text values and TYPES_KEY.
import { z } from "zod";
import type { Metadata } from "../../core/types";
import { METADATA_LIMITS } from "../../intents/operations/metadata";

/** The metadata key that records which keys held a number ("n") or a boolean ("b"): a JSON object. */
export const TYPES_KEY = "pos_value_types";

export type PosMetadataValue = string | number | boolean;

const key = z
  .string()
  .min(1, "metadata keys must not be empty")
  .max(METADATA_LIMITS.keyLength, `metadata keys must be at most ${METADATA_LIMITS.keyLength} characters`)
  .regex(/^[^[\]\u0000-\u001f]+$/, "metadata keys must not contain brackets or control characters")
  .refine((k) => k !== TYPES_KEY, `metadata key ${TYPES_KEY} is reserved`);
const value = z.union([z.string().max(METADATA_LIMITS.valueLength, `metadata values must be at most ${METADATA_LIMITS.valueLength} characters`), z.number(), z.boolean()], {
  error: "metadata values must be strings, numbers or booleans",
});

/** The metadata of a POS request, as the intent keeps it (string values, and TYPES_KEY when a value was not a string). Empty strings are dropped, as /v1's creation drops them. */
export const posMetadata = z
  .record(key, value)
  .transform((m, ctx): Metadata => {
    const out: Metadata = {};
    const types: Record<string, "n" | "b"> = {};
    for (const [k, v] of Object.entries(m)) {
      if (v === "") continue;
      out[k] = String(v);
      if (typeof v === "number") types[k] = "n";
      else if (typeof v === "boolean") types[k] = "b";
    }
    if (Object.keys(types).length > 0) out[TYPES_KEY] = JSON.stringify(types);
    if (Object.keys(out).length > METADATA_LIMITS.keys) {
      ctx.addIssue({ code: "custom", message: `metadata must have at most ${METADATA_LIMITS.keys} keys (${METADATA_LIMITS.keys - 1} when a value is a number or boolean)` });
      return z.NEVER;
    }
    if ((out[TYPES_KEY]?.length ?? 0) > METADATA_LIMITS.valueLength) {
      ctx.addIssue({ code: "custom", message: "metadata has too many number or boolean values: send some of them as strings" });
      return z.NEVER;
    }
    return out;
  });

function typesOf(md: Metadata): Record<string, unknown> {
  const raw = md[TYPES_KEY];
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * An intent's metadata as this surface answers it: numbers and booleans as they were sent, TYPES_KEY
 * left out. A value changed since (through /v1) to text that is no longer its type's is answered as text.
 */
export function renderPosMetadata(md: Metadata): Record<string, PosMetadataValue> {
  const types = typesOf(md);
  const out: Record<string, PosMetadataValue> = {};
  for (const [k, v] of Object.entries(md)) {
    if (k === TYPES_KEY) continue;
    const type = Object.prototype.hasOwnProperty.call(types, k) ? types[k] : undefined;
    if (type === "n" && v.trim() !== "" && Number.isFinite(Number(v))) out[k] = Number(v);
    else if (type === "b" && (v === "true" || v === "false")) out[k] = v === "true";
    else out[k] = v;
  }
  return out;
}
