// /v1/refunds: create against a payment intent or its charge (Stripe's `charge`, seed 001's
// `charge_id`), retrieve, list, update (metadata), cancel (one waiting for approval). Creation runs in
// the intent's DO, which keeps the sum of refunds within what was captured; so does every change of a
// refund (it lives in the intent).
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { hasPrefix, intentIdForCharge } from "../../core/ids";
import { renderCharge, renderRefund, type RefundJson } from "../../core/objects";
import type { IntentRecord, Scope } from "../../core/types";
import type { OpOutcome } from "../../intents/params";
import { merchantSettings } from "../../db/merchants";
import { findRefund, listRefunds } from "../../db/queries";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { assertIntentId, checkExpandable, intentJson, intentStub, json, listObject, pageRequest, respondOutcome } from "./respond";
import { requestContext, route, type App, type Ctx } from "./route";
import { listOf, RefundSchema } from "./schemas";
import { directoryDb } from "../../db/shards";

const CreateBody = stripeBody("POST /v1/refunds", {
    payment_intent: f.text(100).optional(),
    charge: f.text(100).optional(),
    charge_id: f.text(100).optional().describe("Seed 001's name for `charge`."),
    amount: f.amount.optional().describe("Minor units; defaults to everything not yet refunded."),
    reason: f.refundReason.optional(),
    metadata: f.createMetadata.optional(),
    expand: f.expand.optional(),
  });

const UpdateBody = stripeBody("POST /v1/refunds/{id}", {
  metadata: f.metadata.optional(),
  expand: f.expand.optional(),
});

const CancelBody = stripeBody("POST /v1/refunds/{id}/cancel", {
  expand: f.expand.optional(),
});

const ListQuery = z
  .object({
    limit: f.limit.optional(),
    starting_after: f.text(100).optional(),
    ending_before: f.text(100).optional(),
    payment_intent: f.text(100).optional(),
    charge: f.text(100).optional(),
    created: f.createdFilter.optional(),
    expand: f.expand.optional(),
  })
  .strict();

const TAG = "Refunds";

const REFUND_EXPANDABLE = ["charge", "payment_intent"];
const ExpandQuery = z.object({ expand: f.expand.optional() }).strict();

/** A refund with its charge and intent expanded as asked (both come from the refund's intent). */
function expandRefund(c: Ctx, json: RefundJson, intent: IntentRecord, expand: ReadonlySet<string>): RefundJson {
  const charge = expand.has("charge") ? renderCharge(intent) : null;
  return { ...json, ...(charge ? { charge } : {}), ...(expand.has("payment_intent") ? { payment_intent: intentJson(c, intent) } : {}) };
}

/** The intent of one of the principal's refunds, from the read model (the change itself is the object's). */
async function intentOfRefund(c: Ctx, scope: Scope, id: string): Promise<string> {
  if (!hasPrefix(id, "re")) throw resourceMissing("refund", id.slice(0, 80), "id");
  const refund = await findRefund(c.env.DB, scope, id);
  if (!refund) throw resourceMissing("refund", id, "id");
  return refund.paymentIntentId;
}

/** The answer to a change of refund `id`: the refund, or an error about it (which, unlike an intent's, carries no payment intent). */
function respondRefund(c: Ctx, outcome: OpOutcome, id: string, expand: ReadonlySet<string>): Response {
  if (outcome.error && outcome.intent === null && outcome.error.code === "resource_missing") throw resourceMissing("refund", id, "id");
  return respondOutcome(c, outcome.error ? { ...outcome, intent: null } : outcome, (intent) => {
    const refund = intent.refunds.find((r) => r.id === id);
    if (!refund) throw new Error(`refund ${id} missing from ${intent.id}`);
    return expandRefund(c, renderRefund(refund), intent, expand);
  });
}

/** Which intent a refund request targets, and the charge it named (checked by the DO). */
function target(body: z.output<typeof CreateBody>): { intentId: string; chargeId?: string } {
  if (body.charge && body.charge_id && body.charge !== body.charge_id) throw invalidRequest("charge and charge_id name different charges.", "charge_id");
  const chargeId = body.charge ?? body.charge_id;
  const param = body.charge ? "charge" : "charge_id";
  if (chargeId !== undefined) {
    if (!hasPrefix(chargeId, "ch")) throw resourceMissing("charge", chargeId, param);
    const intentId = intentIdForCharge(chargeId);
    if (body.payment_intent !== undefined && body.payment_intent !== intentId) {
      throw invalidRequest(`Charge ${chargeId} does not belong to PaymentIntent ${body.payment_intent}.`, "payment_intent");
    }
    return { intentId, chargeId };
  }
  if (body.payment_intent === undefined) throw invalidRequest("Pass one of payment_intent, charge or charge_id.", "payment_intent", "parameter_missing");
  assertIntentId(body.payment_intent, "payment_intent", "pi", "payment_intent");
  return { intentId: body.payment_intent };
}

export function registerRefunds(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/refunds", permission: "payments.transactions.void", summary: "Refund all or part of a captured payment", tag: TAG, body: CreateBody, response: RefundSchema },
    async (c, { body, principal }) => {
      const expand = new Set(checkExpandable(body.expand, REFUND_EXPANDABLE));
      const { intentId, chargeId } = target(body);
      const req = await requestContext(c, principal, "refunds.create", intentId, body, {});
      // The approval threshold is per currency, and the currency is the intent's: the object applies it.
      const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
      const outcome = await intentStub(c.env, intentId).refund(req, intentId, {
        chargeId,
        amount: body.amount,
        reason: body.reason ?? null,
        metadata: body.metadata ?? {},
        approvalThresholds: thresholds,
      });
      if (!outcome.error && outcome.intent === null) throw resourceMissing("payment_intent", intentId);
      return respondOutcome(c, outcome, (intent) => {
        const refund = intent.refunds.find((r) => r.id === outcome.refundId);
        if (!refund) throw new Error(`refund ${outcome.refundId ?? "?"} missing from ${intent.id}`);
        return expandRefund(c, renderRefund(refund), intent, expand);
      });
    },
  );

  route(
    app,
    { method: "post", path: "/v1/refunds/{id}", permission: "payments.transactions.void", summary: "Update a refund's metadata (the only thing about a refund that may change)", tag: TAG, body: UpdateBody, response: RefundSchema },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      const expand = new Set(checkExpandable(body.expand, REFUND_EXPANDABLE));
      const intentId = await intentOfRefund(c, principal, id);
      // Not audited, as an intent's update is not: metadata moves no money.
      const req = await requestContext(c, principal, "refunds.update", id, body);
      const outcome = await intentStub(c.env, intentId).updateRefund(req, intentId, { refundId: id, metadata: body.metadata });
      return respondRefund(c, outcome, id, expand);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/refunds/{id}/cancel",
      permission: "payments.transactions.void",
      summary: "Cancel a refund that waits for approval (its amount is released; nothing reaches the PSP); any other refund is a 400",
      tag: TAG,
      body: CancelBody,
      response: RefundSchema,
    },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      const expand = new Set(checkExpandable(body.expand, REFUND_EXPANDABLE));
      const intentId = await intentOfRefund(c, principal, id);
      const req = await requestContext(c, principal, "refunds.cancel", id, body, {});
      const outcome = await intentStub(c.env, intentId).cancelRefund(req, intentId, { refundId: id });
      return respondRefund(c, outcome, id, expand);
    },
  );

  route(
    app,
    { method: "get", path: "/v1/refunds", permission: "payments.transactions.view", summary: "List refunds, newest first", tag: TAG, query: ListQuery, response: listOf(RefundSchema, "RefundList") },
    async (c, { query, principal }) => {
      const page = await listRefunds(
        c.env.DB,
        principal,
        { paymentIntent: query.payment_intent, charge: query.charge, created: query.created },
        pageRequest(query),
      );
      return json(c, listObject("/v1/refunds", page, renderRefund));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/refunds/{id}", permission: "payments.transactions.view", summary: "Retrieve a refund (expand charge, payment_intent)", tag: TAG, query: ExpandQuery, response: RefundSchema },
    async (c, { params, query, principal }) => {
      const id = params.id ?? "";
      const expand = new Set(checkExpandable(query.expand, REFUND_EXPANDABLE));
      if (!hasPrefix(id, "re")) throw resourceMissing("refund", id.slice(0, 80), "id");
      const refund = await findRefund(c.env.DB, principal, id);
      if (!refund) throw resourceMissing("refund", id, "id");
      if (expand.size === 0) return json(c, renderRefund(refund));
      const intent = await intentStub(c.env, refund.paymentIntentId).retrieve(principal, refund.paymentIntentId);
      if (!intent) throw resourceMissing("refund", id, "id");
      return json(c, expandRefund(c, renderRefund(intent.refunds.find((r) => r.id === refund.id) ?? refund), intent, expand));
    },
  );
}
