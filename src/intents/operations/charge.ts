// A charge's own description, metadata, receipt email and shipping (Stripe's POST /v1/charges/{id}).
// A charge takes them from its intent until an update gives it its own; nothing about the money changes.
import { resourceMissing } from "../../core/errors";
import { renderChargeById } from "../../core/objects";
import type { ChargeUpdate, IntentRecord, Metadata, Shipping } from "../../core/types";
import { mergeMetadata } from "./metadata";
import type { OperationTools, StepResult } from "./tools";

export interface ChargeUpdateParams {
  chargeId: string;
  description?: string | null;
  /** Merged into the charge's metadata (an empty value deletes a key). */
  metadata?: Metadata;
  receiptEmail?: string | null;
  shipping?: Shipping | null;
}

/** An update that changes nothing leaves the intent as it was, with no event. */
export async function updateCharge(draft: IntentRecord, params: ChargeUpdateParams, tools: OperationTools): Promise<StepResult> {
  const charge = renderChargeById(draft, params.chargeId);
  if (!charge) throw resourceMissing("charge", params.chargeId, "id");
  const own: ChargeUpdate = { ...(draft.chargeUpdates?.[charge.id] ?? {}) };
  if (params.description !== undefined) own.description = params.description;
  if (params.metadata !== undefined) own.metadata = mergeMetadata(charge.metadata, params.metadata);
  if (params.receiptEmail !== undefined) own.receiptEmail = params.receiptEmail;
  if (params.shipping !== undefined) own.shipping = params.shipping;
  const updates = { ...draft.chargeUpdates, [charge.id]: own };
  if (JSON.stringify(renderChargeById({ ...draft, chargeUpdates: updates }, charge.id)) === JSON.stringify(charge)) return {};
  draft.chargeUpdates = updates;
  draft.updated = tools.now();
  tools.emit("charge.updated", undefined, charge.id);
  return {};
}
