// /v1/charges. A charge is an intent's successful authorization, or one of its declined
// authorizations (a failed charge, as at Stripe), so it is rendered from its intent; its id shares
// the intent's body (ch_X belongs to pi_X; ch_X<attempt> is a failed charge of pi_X). The search
// runs on the payment intents' search index (src/db/charge-search.ts), both kinds.
import { z } from "zod";
import { invalidRequest, resourceMissing, type ApiErrorData } from "../../core/errors";
import { attemptIdForCharge, hasPrefix, intentIdForCharge } from "../../core/ids";
import { chargeAsOf, renderChargeById, renderChargeRefunds, type ChargeJson } from "../../core/objects";
import type { IntentRecord } from "../../core/types";
import { chargeSearch, decodeChargePageToken, encodeChargePageToken, searchChargePage } from "../../db/charge-search";
import { countSearchCharges, listCharges } from "../../db/queries";
import { checkedList, checkFilterIds, type FilterId } from "./list-filters";
import * as f from "./fields";
import { intentJson, intentStub, json, listObject, pageRequest, respondOutcome } from "./respond";
import { expandObjects, expandPaths, searchExpand } from "./expand";
import type { Principal } from "../../auth/permissions";
import { requestContext, route, type App, type Ctx } from "./route";
import { ChargeSchema, listOf, searchResultOf } from "./schemas";
import { stripeBody } from "./stripe-params";

const ListQuery = z
  .object({
    ...f.pageFields,
    payment_intent: f.text(100).optional(),
    customer: f.text(255).optional(),
    created: f.createdFilter.optional(),
    transfer_group: f.text(255).optional().describe("Transfers are not made here, so no charge has a transfer group: any value matches none."),
    expand: f.expand.optional(),
  })
  .strict();

const SearchQuery = f.intentSearchQuery;

const UpdateBody = stripeBody("POST /v1/charges/{id}", {
  description: f.clearableText(1000).optional(),
  metadata: f.metadata.optional(),
  receipt_email: f.clearableText(512).optional(),
  shipping: f.shipping.optional(),
  expand: f.expand.optional(),
});

const CaptureBody = stripeBody("POST /v1/charges/{id}/capture", {
  amount: f.amount.optional(),
  expand: f.expand.optional(),
});

const TAG = "Charges";

/**
 * A capture's refusal in the words of Stripe's charge capture (the intent's capture says PaymentIntent
 * and amount_to_capture): an intent already captured is Stripe's charge_already_captured, a voided
 * one charge_already_refunded; the amount's parameter is `amount`.
 */
function chargeCaptureError(error: ApiErrorData, chargeId: string, intent: IntentRecord | null): ApiErrorData {
  if (error.code === "payment_intent_unexpected_state" && intent?.status === "succeeded") {
    return { ...invalidRequest(`Charge ${chargeId} has already been captured.`, undefined, "charge_already_captured").data };
  }
  if (error.code === "payment_intent_unexpected_state" && intent?.status === "canceled") {
    return { ...invalidRequest(`Charge ${chargeId} has already been refunded.`, undefined, "charge_already_refunded").data };
  }
  if (error.param === "amount_to_capture") return { ...error, param: "amount", message: error.message.replace("amount to capture", "amount") };
  return error;
}

/**
 * The charge as the request's Stripe-Version shows it (before 2022-11-15 with its refunds list), with
 * what `expand` (expandPaths' answer) asks for in place of its ids: its intent and refunds from the
 * intent at hand, the rest (customer...) read.
 */
function withIntent(c: Ctx, intent: IntentRecord, charge: ChargeJson, expand: readonly string[]): Record<string, unknown> {
  return {
    ...chargeAsOf(intent, charge, c.get("apiVersion")),
    ...(expand.includes("payment_intent") ? { payment_intent: intentJson(c, intent) } : {}),
    ...(expand.includes("refunds") ? { refunds: renderChargeRefunds(intent, charge.id) } : {}),
  };
}

async function expanded(c: Ctx, principal: Principal, charges: Record<string, unknown>[], expand: readonly string[]): Promise<Record<string, unknown>[]> {
  await expandObjects(c, principal, charges, "charge", expand);
  return charges;
}


export function registerCharges(app: App): void {
  route(
    app,
    { method: "get", path: "/v1/charges", permission: "payments.transactions.view", summary: "List charges, newest first", tag: TAG, query: ListQuery, response: listOf(ChargeSchema, "ChargeList") },
    async (c, { query, principal }) => {
      const expand = expandPaths(query.expand, "charge", true);
      // The customer and the intent named must be the merchant's (a 400 resource_missing otherwise), whatever else the query says.
      const filters: FilterId[] = [
        { object: "customer", id: query.customer || undefined, opaque: true },
        { object: "payment_intent", id: query.payment_intent || undefined },
      ];
      // No charge has a transfer group here (transfers are not made): a transfer_group matches none.
      if (query.transfer_group !== undefined) {
        await checkFilterIds(c.env.DB, principal, filters);
        return json(c, { object: "list", data: [], has_more: false, url: "/v1/charges" });
      }
      const page = await checkedList(c.env.DB, principal, filters, () =>
        listCharges(c.env.DB, principal, { paymentIntent: query.payment_intent, customer: query.customer, created: query.created }, pageRequest(query)),
      );
      const items = page.items.flatMap(({ chargeId, intent }) => {
        const charge = renderChargeById(intent, chargeId);
        return charge ? [withIntent(c, intent, charge, expand)] : [];
      });
      return json(c, listObject("/v1/charges", { ...page, items: await expanded(c, principal, items, expand) }, (charge) => charge));
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/charges/search",
      permission: "payments.transactions.view",
      summary:
        "Search charges, successful and failed (amount, currency, customer, created, metadata['key'], payment_method_details.card.last4, status:'succeeded' or 'failed'; AND or OR, not both; status with AND only); created is the payment intent's; newest intent first, then each intent's charges newest first",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(ChargeSchema, "ChargeSearchResult"),
    },
    async (c, { query, principal }) => {
      // expand[]=total_count as the other searches take it (Stripe's search_result.total_count).
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = expandPaths(objectExpand, "charge", true);
      const search = chargeSearch(query.query, principal);
      // A charge with metadata of its own (POST /v1/charges/{id}) is checked as rendered: the index
      // holds its intent's, so a page may hold fewer than `limit`; next_page still leads on.
      const page = await searchChargePage(c.env.DB, principal, search, query.limit ?? 10, query.page ? decodeChargePageToken(query.page) : null);
      return json(c, {
        object: "search_result",
        data: await expanded(c, principal, page.items.map(({ charge, intent }) => withIntent(c, intent, charge, expand)), expand),
        has_more: page.hasMore,
        next_page: page.next ? encodeChargePageToken(page.next) : null,
        url: "/v1/charges/search",
        ...(total ? { total_count: await countSearchCharges(c.env.DB, principal, search.plan, search.statuses) } : {}),
      });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/charges/{id}", permission: "payments.transactions.view", summary: "Retrieve a charge (expand[]=payment_intent, refunds; balance_transaction stays null)", tag: TAG, query: f.expandQuery, response: ChargeSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "charge");
      const id = params.id ?? "";
      if (!hasPrefix(id, "ch")) throw resourceMissing("charge", id.slice(0, 80), "id");
      const intentId = intentIdForCharge(id);
      const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
      const charge = intent ? renderChargeById(intent, id) : null;
      if (!charge || !intent) throw resourceMissing("charge", id, "id");
      const [answer] = await expanded(c, principal, [withIntent(c, intent, charge, expand)], expand);
      return json(c, answer);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/charges/{id}",
      permission: "payments.transactions.create",
      summary: "Update a charge's description, metadata, receipt_email or shipping (its own from then on; the money is not touched)",
      tag: TAG,
      body: UpdateBody,
      response: ChargeSchema,
    },
    async (c, { params, body, principal }) => {
      const expand = expandPaths(body.expand, "charge");
      const id = params.id ?? "";
      if (!hasPrefix(id, "ch")) throw resourceMissing("charge", id.slice(0, 80), "id");
      const intentId = intentIdForCharge(id);
      // Not audited, as an intent's update is not: nothing about the money changes.
      const req = await requestContext(c, principal, "charges.update", id, body);
      const outcome = await intentStub(c.env, intentId).updateCharge(req, intentId, {
        chargeId: id,
        description: body.description,
        metadata: body.metadata,
        receiptEmail: body.receipt_email,
        shipping: body.shipping,
      });
      // Unknown, or another merchant's: the charge is missing (never its intent, which the caller did not name).
      if ((!outcome.error && outcome.intent === null) || outcome.error?.code === "resource_missing") throw resourceMissing("charge", id, "id");
      const charge = outcome.intent && !outcome.error ? renderChargeById(outcome.intent, id) : null;
      if (outcome.intent && !outcome.error && !charge) throw resourceMissing("charge", id, "id");
      const [answer] = outcome.intent && charge ? await expanded(c, principal, [withIntent(c, outcome.intent, charge, expand)], expand) : [null];
      return respondOutcome(c, outcome, () => answer);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/charges/{id}/capture",
      permission: "payments.transactions.create",
      summary: "Capture an uncaptured charge (stripe.charges.capture): its payment intent's capture, all or `amount` of it, once; answers the charge",
      tag: TAG,
      body: CaptureBody,
      response: ChargeSchema,
    },
    async (c, { params, body, principal }) => {
      const expand = expandPaths(body.expand, "charge");
      const id = params.id ?? "";
      if (!hasPrefix(id, "ch")) throw resourceMissing("charge", id.slice(0, 80), "id");
      const intentId = intentIdForCharge(id);
      const stub = intentStub(c.env, intentId);
      const current = await stub.retrieve(principal, intentId);
      if (!current || !renderChargeById(current, id)) throw resourceMissing("charge", id, "id");
      // A declined authorization's failed charge holds nothing to capture (Stripe refuses it as well).
      if (attemptIdForCharge(id)) throw invalidRequest(`Charge ${id} cannot be captured because it has a status of failed.`);
      const req = await requestContext(c, principal, "charges.capture", id, body, { action: "payment_intents.capture" });
      const outcome = await stub.capture(req, intentId, { amountToCapture: body.amount });
      if (outcome.error) return respondOutcome(c, { ...outcome, error: chargeCaptureError(outcome.error, id, outcome.intent) }, () => null);
      const charge = outcome.intent ? renderChargeById(outcome.intent, id) : null;
      if (!outcome.intent || !charge) throw resourceMissing("charge", id, "id");
      const [answer] = await expanded(c, principal, [withIntent(c, outcome.intent, charge, expand)], expand);
      return respondOutcome(c, outcome, () => answer);
    },
  );
}
