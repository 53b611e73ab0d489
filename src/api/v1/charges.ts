// /v1/charges: read-only. A charge is an intent's successful authorization, or one of its declined
// authorizations (a failed charge, as at Stripe), so it is rendered from its intent; its id shares
// the intent's body (ch_X belongs to pi_X; ch_X<attempt> is a failed charge of pi_X).
import { z } from "zod";
import { resourceMissing } from "../../core/errors";
import { attemptIdForCharge, hasPrefix, intentIdForCharge } from "../../core/ids";
import { renderCharge, renderFailedCharge, renderIntent, type ChargeJson } from "../../core/objects";
import type { IntentRecord } from "../../core/types";
import { listCharges } from "../../db/queries";
import * as f from "./fields";
import { checkExpandable, intentStub, json, listObject, pageRequest } from "./respond";
import { route, type App } from "./route";
import { ChargeSchema, listOf } from "./schemas";

const ListQuery = z
  .object({
    limit: f.limit.optional(),
    starting_after: f.text(100).optional(),
    ending_before: f.text(100).optional(),
    payment_intent: f.text(100).optional(),
    customer: f.text(255).optional(),
    created: f.createdFilter.optional(),
    expand: f.expand.optional(),
  })
  .strict();

const TAG = "Charges";

/** ch_<intent> is the intent's charge; ch_<intent><attempt> one of its declined authorizations (a failed charge). */
function chargeOf(intent: IntentRecord, chargeId: string): ChargeJson | null {
  const failed = attemptIdForCharge(chargeId);
  return failed ? renderFailedCharge(intent, failed) : renderCharge(intent);
}

export function registerCharges(app: App): void {
  route(
    app,
    { method: "get", path: "/v1/charges", permission: "payments.transactions.view", summary: "List charges, newest first", tag: TAG, query: ListQuery, response: listOf(ChargeSchema, "ChargeList") },
    async (c, { query, principal }) => {
      const page = await listCharges(
        c.env.DB,
        principal,
        { paymentIntent: query.payment_intent, customer: query.customer, created: query.created },
        pageRequest(query),
      );
      const expand = checkExpandable(query.expand, ["data.payment_intent"]).length > 0;
      const items = page.items.flatMap(({ chargeId, intent }) => {
        const charge = chargeOf(intent, chargeId);
        return charge ? [expand ? { ...charge, payment_intent: renderIntent(intent) } : charge] : [];
      });
      return json(c, listObject("/v1/charges", { ...page, items }, (charge) => charge));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/charges/{id}", permission: "payments.transactions.view", summary: "Retrieve a charge (expand[]=payment_intent)", tag: TAG, query: f.expandQuery, response: ChargeSchema },
    async (c, { params, query, principal }) => {
      const expand = checkExpandable(query.expand, ["payment_intent"]).length > 0;
      const id = params.id ?? "";
      if (!hasPrefix(id, "ch")) throw resourceMissing("charge", id.slice(0, 80), "id");
      const intentId = intentIdForCharge(id);
      const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
      const charge = intent ? chargeOf(intent, id) : null;
      if (!charge || !intent) throw resourceMissing("charge", id, "id");
      return json(c, expand ? { ...charge, payment_intent: renderIntent(intent) } : charge);
    },
  );
}
