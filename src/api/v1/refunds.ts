// /v1/refunds: create against a payment intent or its charge (Stripe's `charge`, seed 001's
// `charge_id`), retrieve, list, update (metadata), cancel (one waiting for approval). Creation runs in
// the intent's DO, which keeps the sum of refunds within what was captured; so does every change of a
// refund (it lives in the intent).
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { hasPrefix, intentIdForCharge } from "../../core/ids";
import { VOID_MARK } from "../../core/pos-status";
import { chargeAsOf, refundChargeOf, renderCharge, renderChargeById, renderPaymentMethod, renderRefund, type RefundJson } from "../../core/objects";
import type { IntentRecord, Scope } from "../../core/types";
import type { OpOutcome } from "../../intents/params";
import { merchantSettings } from "../../db/merchants";
import { findRefund, listRefunds } from "../../db/queries";
import { checkedList, type FilterId } from "./list-filters";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { assertIntentId, intentJson, intentStub, json, listObject, pageRequest, respondOutcome } from "./respond";
import { expandObjects, expandPaths } from "./expand";
import type { Principal } from "../../auth/permissions";
import { requestContext, route, type App, type Ctx } from "./route";
import { listOf, RefundSchema } from "./schemas";
import { directoryDb } from "../../db/shards";

const CreateBody = stripeBody("POST /v1/refunds", {
    payment_intent: f.text(100).optional(),
    charge: f.text(100).optional(),
    charge_id: f.text(100).optional().describe("Seed 001's name for `charge`."),
    amount: f.amount.optional().describe("Minor units; defaults to everything not yet refunded."),
    reason: f.refundReason.optional(),
    // The void mark of seed 002 is the gateway's: refused here, before anything is bound or stored.
    metadata: f.createMetadata.refine((m) => !(VOID_MARK in m), `the key '${VOID_MARK}' is reserved (it marks seed 002's void of a sale)`).optional(),
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
    ...f.pageFields,
    payment_intent: f.text(100).optional(),
    charge: f.text(100).optional(),
    created: f.createdFilter.optional(),
    expand: f.expand.optional(),
  })
  .strict();

const TAG = "Refunds";

/** A refund's expand[] (expandPaths' answer; on a list, `data.` before each path). */
const checkExpand = (expand: string[] | undefined, list = false) => new Set(expandPaths(expand, "refund", list));
const ExpandQuery = z.object({ expand: f.expand.optional() }).strict();

/** A refund with its charge (as the request's Stripe-Version shows it) and intent expanded as asked (both come from the refund's intent). */
function expandRefund(c: Ctx, json: RefundJson, intent: IntentRecord, expand: ReadonlySet<string>): RefundJson {
  const rendered = expand.has("charge") ? renderCharge(intent) : null;
  const charge = rendered ? chargeAsOf(intent, rendered, c.get("apiVersion")) : null;
  return { ...json, ...(charge ? { charge } : {}), ...(expand.has("payment_intent") ? { payment_intent: intentJson(c, intent) } : {}) };
}

/**
 * The payment method of a refund's charge that expandObjects left an id: one never saved (a test
 * card, a token, card details named on the intent), which, as GET /v1/payment_methods/{id} and an
 * intent's expand[]=payment_method do, expands from the intent that carries it.
 */
function expandUnsavedMethod(json: RefundJson, intent: IntentRecord | undefined): RefundJson {
  const pm = intent?.paymentMethod;
  if (!intent || !pm || typeof json.payment_method !== "string" || json.payment_method !== pm.id) return json;
  return { ...json, payment_method: renderPaymentMethod(pm, intent) };
}

/** Refunds expanded as asked: what their intents hold (`expandRefund`), then what is read (customer, payment_method, charge.customer...). */
async function expandRefunds(c: Ctx, principal: Principal, refunds: RefundJson[], intents: ReadonlyMap<string, IntentRecord>, expand: ReadonlySet<string>): Promise<RefundJson[]> {
  if (expand.size === 0) return refunds;
  const intentOf = (r: RefundJson) => intents.get(typeof r.payment_intent === "string" ? r.payment_intent : r.payment_intent.id);
  const out = refunds.map((r) => {
    const intent = intentOf(r);
    return intent ? expandRefund(c, r, intent, expand) : r;
  });
  // Saved customers and payment methods are read (with the permission reading them needs: a 403 otherwise).
  await expandObjects(c, principal, out, "refund", [...expand]);
  return expand.has("payment_method") ? out.map((r) => expandUnsavedMethod(r, intentOf(r))) : out;
}

/** The intent of one of the principal's refunds, from the read model (the change itself is the object's). */
async function intentOfRefund(c: Ctx, scope: Scope, id: string): Promise<string> {
  if (!hasPrefix(id, "re")) throw resourceMissing("refund", id.slice(0, 80), "id");
  const refund = await findRefund(c.env.DB, scope, id);
  if (!refund) throw resourceMissing("refund", id, "id");
  return refund.record.paymentIntentId;
}

/** The answer to a change of refund `id`: the refund, or an error about it (which, unlike an intent's, carries no payment intent). */
async function respondRefund(c: Ctx, principal: Principal, outcome: OpOutcome, id: string, expand: ReadonlySet<string>): Promise<Response> {
  if (outcome.error && outcome.intent === null && outcome.error.code === "resource_missing") throw resourceMissing("refund", id, "id");
  const intent = outcome.error ? null : outcome.intent;
  const refund = intent?.refunds.find((r) => r.id === id);
  if (intent && !refund) throw new Error(`refund ${id} missing from ${intent.id}`);
  const [answer] = intent && refund ? await expandRefunds(c, principal, [renderRefund(refund, refundChargeOf(intent))], new Map([[intent.id, intent]]), expand) : [null];
  return respondOutcome(c, outcome.error ? { ...outcome, intent: null } : outcome, () => answer);
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
      const expand = checkExpand(body.expand);
      const { intentId, chargeId } = target(body);
      const req = await requestContext(c, principal, "refunds.create", intentId, body, {});
      // The approval threshold is per currency, and the currency is the intent's: the object applies it.
      const thresholds = (await merchantSettings(directoryDb(c.env), principal.merchantId, { fresh: true })).refund_approval_thresholds;
      const answered = await intentStub(c.env, intentId).refund(req, intentId, {
        chargeId,
        amount: body.amount,
        reason: body.reason ?? null,
        metadata: body.metadata ?? {},
        approvalThresholds: thresholds,
      });
      // The object names the charge `charge`; a client that sent seed 001's charge_id is told its own name.
      const outcome = answered.error?.param === "charge" && body.charge === undefined && body.charge_id !== undefined ? { ...answered, error: { ...answered.error, param: "charge_id" } } : answered;
      // The intent named (or the charge's) is missing: a parameter's object, a 400 naming it (src/api/v1/errors.ts).
      const missing = outcome.intent === null && (!outcome.error || (outcome.error.code === "resource_missing" && outcome.error.param === "intent"));
      if (missing) throw chargeId !== undefined ? resourceMissing("charge", chargeId, body.charge !== undefined ? "charge" : "charge_id") : resourceMissing("payment_intent", intentId, "payment_intent");
      const made = !outcome.error && outcome.intent ? outcome.intent.refunds.find((r) => r.id === outcome.refundId) : undefined;
      if (!outcome.error && outcome.intent && !made) throw new Error(`refund ${outcome.refundId ?? "?"} missing from ${outcome.intent.id}`);
      const [answer] = made && outcome.intent ? await expandRefunds(c, principal, [renderRefund(made, refundChargeOf(outcome.intent))], new Map([[outcome.intent.id, outcome.intent]]), expand) : [null];
      return respondOutcome(c, outcome, () => answer);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/refunds/{id}", permission: "payments.transactions.void", summary: "Update a refund's metadata (the only thing about a refund that may change)", tag: TAG, body: UpdateBody, response: RefundSchema },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      const expand = checkExpand(body.expand);
      const intentId = await intentOfRefund(c, principal, id);
      // Not audited, as an intent's update is not: metadata moves no money.
      const req = await requestContext(c, principal, "refunds.update", id, body);
      const outcome = await intentStub(c.env, intentId).updateRefund(req, intentId, { refundId: id, metadata: body.metadata });
      return respondRefund(c, principal, outcome, id, expand);
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
      const expand = checkExpand(body.expand);
      const intentId = await intentOfRefund(c, principal, id);
      const req = await requestContext(c, principal, "refunds.cancel", id, body, {});
      const outcome = await intentStub(c.env, intentId).cancelRefund(req, intentId, { refundId: id });
      return respondRefund(c, principal, outcome, id, expand);
    },
  );

  route(
    app,
    { method: "get", path: "/v1/refunds", permission: "payments.transactions.view", summary: "List refunds, newest first", tag: TAG, query: ListQuery, response: listOf(RefundSchema, "RefundList") },
    async (c, { query, principal }) => {
      const expand = checkExpand(query.expand, true);
      // The intent and the charge named must be the merchant's (a 400 resource_missing otherwise).
      const filters: FilterId[] = [
        { object: "payment_intent", id: query.payment_intent || undefined },
        { object: "charge", id: query.charge || undefined },
      ];
      const page = await checkedList(c.env.DB, principal, filters, () =>
        listRefunds(c.env.DB, principal, { paymentIntent: query.payment_intent, charge: query.charge, created: query.created }, pageRequest(query)),
      );
      // Expanding a refund's charge or intent reads its intent, once per intent of the page.
      const intents = new Map<string, IntentRecord>();
      if (expand.size > 0) {
        for (const intentId of new Set(page.items.map((r) => r.record.paymentIntentId))) {
          const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
          if (intent) intents.set(intentId, intent);
        }
      }
      // Read again from the intent when it was (it may be newer than the read model), else as the read model has it.
      const rendered = page.items.map((r) => {
        const intent = intents.get(r.record.paymentIntentId);
        return intent ? renderRefund(intent.refunds.find((x) => x.id === r.record.id) ?? r.record, refundChargeOf(intent)) : renderRefund(r.record, r.charge);
      });
      return json(c, { ...listObject("/v1/refunds", page, () => null), data: await expandRefunds(c, principal, rendered, intents, expand) });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/refunds/{id}", permission: "payments.transactions.view", summary: "Retrieve a refund (expand charge, payment_intent, customer, payment_method)", tag: TAG, query: ExpandQuery, response: RefundSchema },
    async (c, { params, query, principal }) => {
      const id = params.id ?? "";
      const expand = checkExpand(query.expand);
      if (!hasPrefix(id, "re")) throw resourceMissing("refund", id.slice(0, 80), "id");
      const refund = await findRefund(c.env.DB, principal, id);
      if (!refund) throw resourceMissing("refund", id, "id");
      if (expand.size === 0) return json(c, renderRefund(refund.record, refund.charge));
      const intentId = refund.record.paymentIntentId;
      const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
      if (!intent) throw resourceMissing("refund", id, "id");
      const [answer] = await expandRefunds(c, principal, [renderRefund(intent.refunds.find((r) => r.id === refund.record.id) ?? refund.record, refundChargeOf(intent))], new Map([[intent.id, intent]]), expand);
      return json(c, answer);
    },
  );

  // A charge's refunds under its own URL, as Stripe serves them (the `url` of a charge's `refunds` list,
  // which older clients follow to page through it): the charge must exist (404, as any path's object).
  route(
    app,
    { method: "get", path: "/v1/charges/{charge}/refunds", permission: "payments.transactions.view", summary: "List a charge's refunds, newest first (as /v1/refunds?charge=)", tag: TAG, query: ChargeRefundsQuery, response: listOf(RefundSchema, "ChargeRefundList") },
    async (c, { params, query, principal }) => {
      const chargeId = params.charge ?? "";
      const intent = await chargeIntent(c, principal, chargeId);
      const expand = checkExpand(query.expand, true);
      const page = await listRefunds(c.env.DB, principal, { charge: chargeId }, pageRequest(query));
      const rendered = page.items.map((r) => renderRefund(intent.refunds.find((x) => x.id === r.record.id) ?? r.record, refundChargeOf(intent)));
      return json(c, { ...listObject(`/v1/charges/${chargeId}/refunds`, page, () => null), data: await expandRefunds(c, principal, rendered, new Map([[intent.id, intent]]), expand) });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/charges/{charge}/refunds/{refund}", permission: "payments.transactions.view", summary: "Retrieve one of a charge's refunds", tag: TAG, query: ExpandQuery, response: RefundSchema },
    async (c, { params, query, principal }) => {
      const chargeId = params.charge ?? "";
      const id = params.refund ?? "";
      const intent = await chargeIntent(c, principal, chargeId);
      const expand = checkExpand(query.expand);
      const refund = intent.refunds.find((r) => r.id === id && r.chargeId === chargeId);
      if (!refund) throw resourceMissing("refund", id.slice(0, 80), "refund");
      const [answer] = await expandRefunds(c, principal, [renderRefund(refund, refundChargeOf(intent))], new Map([[intent.id, intent]]), expand);
      return json(c, answer);
    },
  );
}

const ChargeRefundsQuery = z
  .object(f.listFields)
  .strict();

/** The intent of a charge named in the path (its object holds the charge and its refunds), or the 404 of an unknown charge. */
async function chargeIntent(c: Ctx, principal: Principal, chargeId: string): Promise<IntentRecord> {
  const missing = () => resourceMissing("charge", chargeId.slice(0, 80), "charge");
  if (!hasPrefix(chargeId, "ch")) throw missing();
  const intentId = intentIdForCharge(chargeId);
  const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
  if (!intent || !renderChargeById(intent, chargeId) || (principal.customerId && intent.customer !== principal.customerId)) throw missing();
  return intent;
}
