// Seed 003's descriptive fields (productId, productType, company, microsite, country) have storage of
// their own in the intent's record (IntentRecord.icligo), written only by that surface's create, so
// that /v1's metadata (which also gets a copy, and which any /v1 caller may edit) can neither forge
// nor rewrite what seed 003 answers. A record written before they had it kept them in its metadata
// only: it reads them from there, once, as they were when it was loaded by this code (migration 0071
// does the same for the read model's rows).
import { ICLIGO_FIELD_NAMES, type IcligoFields, type IntentRecord, type Metadata } from "./types";

/** The fields as named in `source` (a create's parsed fields, or an older record's metadata); absent: null. */
export function icligoFieldsOf(source: Readonly<Metadata>): IcligoFields {
  const fields: IcligoFields = { productId: null, productType: null, company: null, microsite: null, country: null };
  for (const name of ICLIGO_FIELD_NAMES) {
    const value = source[name];
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}

/** `intent` with its seed 003 fields in their own storage: an older seed 003 record's, taken from its metadata. */
export function withIcligoFields(intent: IntentRecord): IntentRecord {
  if (intent.createdVia !== "icligo" || intent.icligo !== undefined) return intent;
  return { ...intent, icligo: icligoFieldsOf(intent.metadata) };
}

/** What seed 003 answers for a payment's fields: all null for one it did not create. */
export function icligoFields(intent: IntentRecord): IcligoFields {
  return intent.icligo ?? icligoFieldsOf({});
}
