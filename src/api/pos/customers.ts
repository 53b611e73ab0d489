// Seed 002's cards on file: POST/GET/DELETE /api/v1/customers/:id/payment-methods[/:methodId], over the
// gateway's customers and saved payment methods. The seed's customer ids are the POS system's own
// ("cust-123"): an id that is one of this merchant's customers (cus_...) is that customer; any other
// (an unknown cus_... or another merchant's included) maps to a customer derived from (merchant, mode,
// id), created when its first card is saved.
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { beyond } from "../../db/queries";
import type { Hono } from "hono";
import { z } from "zod";
import type { Principal } from "../../auth/permissions";
import { detachPaymentMethod, storePaymentMethod } from "../../billing/payment-methods";
import { db, findPaymentMethod, parseDetails, renderCustomer, type CustomerRow, type PaymentMethodRow } from "../../billing/store";
import { Writes } from "../../billing/writes";
import { resourceMissing } from "../../core/errors";
import { derivedId, hasPrefix } from "../../core/ids";
import type { Scope } from "../../core/types";
import { customers, idempotencyKeys, paymentMethods } from "../../db/schema";
import { config, type Env } from "../../env";
import { bindIdempotencyKey } from "../idempotency-binding";
import { idempotencyKeyAtRest } from "../../core/idempotency-key";
import { setDefault } from "../v1/customers";
import { openAnswer, sealAnswer } from "../v1/idempotency";
import { IDEMPOTENCY_TTL_MS } from "../../intents/object";
import { resolvePaymentMethodInput } from "../v1/payment_intents";
import type { App, AppEnv, Ctx } from "../v1/route";
import { forbidden, notFound, validation } from "./errors";
import { posRoute } from "./surface";

async function existing(env: Env, scope: Scope, id: string): Promise<CustomerRow | null> {
  const [row] = await db(env.DB)
    .select()
    .from(customers)
    .where(and(eq(customers.id, id), eq(customers.merchantId, scope.merchantId), eq(customers.livemode, scope.livemode), eq(customers.deleted, false)))
    .limit(1);
  return row ?? null;
}

/**
 * A POS customer id is the POS system's own, opaque: one that looks like ours (cus_...) is one of ours
 * only when it is this merchant's customer. An unknown one, or another merchant's, is an opaque id of
 * this merchant like any other (never looked up further, never told apart from an unknown one: the
 * cards on file map it to a customer of this merchant derived from it, posCustomerId). Only a customer
 * of this merchant deleted since is refused (404), as for new work everywhere: the id is its.
 */
export async function assertOwnCustomerRef(env: Env, scope: Scope, posId: string): Promise<void> {
  if (!hasPrefix(posId, "cus")) return;
  const [row] = await db(env.DB)
    .select({ deleted: customers.deleted })
    .from(customers)
    .where(and(eq(customers.id, posId), eq(customers.merchantId, scope.merchantId), eq(customers.livemode, scope.livemode)))
    .limit(1);
  if (row?.deleted) throw resourceMissing("customer", posId.slice(0, 80), "customerId");
}

/** Our customer id for a POS customer id. */
export async function posCustomerId(env: Env, scope: Scope, posId: string): Promise<string> {
  if (hasPrefix(posId, "cus") && (await existing(env, scope, posId))) return posId;
  return derivedId("cus", scope.merchantId, String(scope.livemode), `pos:${posId}`);
}

async function customerFor(env: Env, scope: Scope, posId: string, create: boolean, requestId: string | null): Promise<CustomerRow | null> {
  const id = await posCustomerId(env, scope, posId);
  const found = await existing(env, scope, id);
  if (found || !create) return found;
  const row: CustomerRow = {
    id,
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    email: null,
    name: null,
    phone: null,
    description: null,
    metadata: JSON.stringify({ pos_customer_id: posId.slice(0, 500) }),
    defaultPaymentMethod: null,
    testClock: null,
    deleted: false,
    created: Date.now(),
    address: null,
    shipping: null,
  };
  const w = new Writes(env.DB, scope);
  const insert = db(env.DB).insert(customers).values(row).onConflictDoNothing().toSQL();
  w.add(insert.sql, insert.params);
  await w.event("customer.created", renderCustomer(row), [row.id], { requestId });
  await w.commit(env);
  return (await existing(env, scope, id)) ?? row;
}

function renderMethod(row: PaymentMethodRow, posCustomer: string, defaultId: string | null) {
  const card = parseDetails(row).card;
  return {
    id: row.id,
    customerId: posCustomer,
    paymentMethodType: "card",
    cardLast4: card?.last4 ?? null,
    cardBrand: card?.brand ?? null,
    expiry: card ? `${String(card.expMonth).padStart(2, "0")}${String(card.expYear % 100).padStart(2, "0")}` : null,
    nickname: row.nickname,
    isDefault: defaultId === row.id,
    createdAt: new Date(row.created).toISOString(),
  };
}

const SaveBody = z.strictObject({
  clientRequestId: z.string().min(1).max(255).optional(),
  token: z.string({ error: "token is required" }).min(1, "token is required").max(255),
  expiry: z.string({ error: "expiry is required" }).regex(/^(0[1-9]|1[0-2])\d{2}$/, "expiry must be MMYY (e.g. 1230)").meta({ example: "1230" }),
  nickname: z.string().max(100).optional(),
  isDefault: z.boolean().optional(),
});
const ListQuery = z.object({
  cursor: z.string().max(100).optional(),
  limit: z.union([z.number(), z.string().regex(/^\d{1,3}$/, "limit must be 1-100").transform(Number)]).pipe(z.number().int().min(1, "limit must be 1-100").max(100, "limit must be 1-100")).optional(),
});
const Answer = z.object({ data: z.unknown() });

/** Where a saved card's answer rests for its clientRequestId (beside /v1's stored answers, in a namespace of its own). */
const answerKey = async (env: Env, key: string) => `pos-card:${await idempotencyKeyAtRest(config(env).fingerprintKey, key)}`;

/** The answer the first request with this clientRequestId gave (sealed in D1 for 24 h, as /v1's), if it was recorded. */
async function storedAnswer(env: Env, scope: Scope, key: string): Promise<unknown> {
  const [row] = await db(env.DB)
    .select({ body: idempotencyKeys.responseBody, created: idempotencyKeys.created })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.merchantId, scope.merchantId), eq(idempotencyKeys.livemode, scope.livemode), eq(idempotencyKeys.key, await answerKey(env, key)), eq(idempotencyKeys.state, "done")))
    .limit(1);
  if (!row || Date.now() - row.created >= IDEMPOTENCY_TTL_MS) return null;
  return JSON.parse(await openAnswer(env, row.body)) as unknown;
}

/** Records the answer of the first request with this clientRequestId (the first one recorded stays). */
async function storeAnswer(env: Env, scope: Scope, key: string, answer: unknown): Promise<void> {
  const where = and(eq(idempotencyKeys.merchantId, scope.merchantId), eq(idempotencyKeys.livemode, scope.livemode), eq(idempotencyKeys.key, await answerKey(env, key)));
  // An expired record (a key claimed again after 24 h) gives way to the new answer.
  await db(env.DB).delete(idempotencyKeys).where(and(where, lt(idempotencyKeys.created, Date.now() - IDEMPOTENCY_TTL_MS)));
  await db(env.DB)
    .insert(idempotencyKeys)
    .values({ merchantId: scope.merchantId, livemode: scope.livemode, key: await answerKey(env, key), fingerprint: "pos-card", state: "done", responseStatus: 201, responseBody: await sealAnswer(env, answer), created: Date.now() })
    .onConflictDoNothing();
}

/**
 * The path's customer id, as the payments take it (customerId: 1 to 255 characters): a card saved for
 * a longer one could never pay.
 */
function posCustomerParam(id: string | undefined): string {
  const posId = id ?? "";
  if (posId.length === 0 || posId.length > 255) throw validation("The customer id must be 1 to 255 characters.", "id");
  return posId;
}

function assertOwnCustomer(principal: Principal, posId: string): void {
  if (principal.customerId && principal.customerId !== posId) throw forbidden("A customer's token can only see its own cards.");
}

export function registerPosCustomers(app: App, sub: Hono<AppEnv>): void {
  posRoute(
    app,
    sub,
    { method: "post", path: "/customers/{id}/payment-methods", permission: "payments.methods.manage", summary: "Save a card on file for a customer (token + expiry)", body: SaveBody, response: Answer, successStatus: 201 },
    async (c, { principal, body, params }) => {
      const posId = posCustomerParam(params.id);
      // A customer of this merchant deleted since is refused, as a payment refuses it; any other id
      // (an unknown cus_... included) is the POS system's own, saved to the customer derived from it.
      await assertOwnCustomerRef(c.env, principal, posId);
      const { clientRequestId: key, ...rest } = body;
      const exp = { expMonth: Number(body.expiry.slice(0, 2)), expYear: 2000 + Number(body.expiry.slice(2)) };
      const now = new Date();
      if (exp.expYear < now.getUTCFullYear() || (exp.expYear === now.getUTCFullYear() && exp.expMonth < now.getUTCMonth() + 1)) throw validation("The card has expired (expiry is in the past).", "expiry");
      const details = await resolvePaymentMethodInput(c, principal, { payment_method: body.token });
      if (!details?.card) throw validation("token must be a card token.", "token");
      const binding = key ? await bindIdempotencyKey(c.env, principal, key, { route: "POST /api/v1/customers/{id}/payment-methods", target: posId, params: rest }) : null;
      // The same clientRequestId again: the first request's answer, even once that card was deleted
      // (saving it again brought a deleted card back, default and all).
      const stored = key && binding === "same_request" ? await storedAnswer(c.env, principal, key) : null;
      if (stored) return c.json(stored, 201, { "Idempotent-Replayed": "true" });
      const customer = await customerFor(c.env, principal, posId, true, c.get("requestId"));
      if (!customer) throw notFound("No such customer.");
      // With a clientRequestId the card's id is derived from it (and the card and customer, by the keyed
      // fingerprint, never the number): a retry whose first answer was not recorded yet (a concurrent
      // one, or one after a failure) saves no second card but finds the first (created: false). Without
      // one, every save is a new payment method, also of a card already on file (as at Stripe). A saved
      // payment method named as the token keeps its id: storePaymentMethod refuses it unless it is
      // already this customer's.
      const id = key && details.id !== body.token.trim() ? await derivedId("pm", principal.merchantId, String(principal.livemode), `pos-card:${key}`, customer.id, details.card.fingerprint, body.expiry) : details.id;
      const { row, created } = await storePaymentMethod(c.env, principal, { ...details, id, card: { ...details.card, ...exp } }, { customer, nickname: body.nickname ?? null, metadata: {}, requestId: c.get("requestId") });
      let defaultId = customer.defaultPaymentMethod;
      if (body.isDefault === true || (body.isDefault === undefined && defaultId === null)) defaultId = (await setDefault(c as Ctx, customer, row.id)).defaultPaymentMethod;
      // The same clientRequestId again, answered with the card it saved: marked as the payment routes mark a replay.
      const replayed = binding === "same_request" && !created;
      const answer = { data: renderMethod(row, posId, defaultId) };
      if (key) await storeAnswer(c.env, principal, key, answer);
      return c.json(answer, 201, replayed ? { "Idempotent-Replayed": "true" } : {});
    },
  );

  posRoute(
    app,
    sub,
    { method: "get", path: "/customers/{id}/payment-methods", permission: "payments.methods.view", customers: true, summary: "A customer's stored cards, newest first", query: ListQuery, response: Answer },
    async (c, { principal, query, params }) => {
      const posId = posCustomerParam(params.id);
      assertOwnCustomer(principal, posId);
      const customer = await customerFor(c.env, principal, posId, false, null);
      if (!customer) return c.json({ data: [], meta: { cursor: null, hasMore: false } });
      const limit = query.limit ?? 25;
      const where: SQL[] = [eq(paymentMethods.customer, customer.id), eq(paymentMethods.merchantId, principal.merchantId), eq(paymentMethods.livemode, principal.livemode)];
      if (query.cursor) {
        const [cur] = await db(c.env.DB).select({ created: paymentMethods.created }).from(paymentMethods).where(and(eq(paymentMethods.id, query.cursor), eq(paymentMethods.customer, customer.id))).limit(1);
        if (!cur) throw validation("Invalid cursor: use meta.cursor from a previous page.", "cursor");
        where.push(beyond(paymentMethods.created, paymentMethods.id, { created: cur.created, id: query.cursor }, "older"));
      }
      const rows = await db(c.env.DB).select().from(paymentMethods).where(and(...where)).orderBy(desc(paymentMethods.created), desc(paymentMethods.id)).limit(limit + 1);
      const page = rows.slice(0, limit);
      const hasMore = rows.length > limit;
      return c.json({ data: page.map((r) => renderMethod(r, posId, customer.defaultPaymentMethod)), meta: { cursor: hasMore ? (page[page.length - 1]?.id ?? null) : null, hasMore } });
    },
  );

  posRoute(
    app,
    sub,
    { method: "delete", path: "/customers/{id}/payment-methods/{methodId}", permission: "payments.methods.manage", summary: "Remove a stored card", response: Answer },
    async (c, { principal, params }) => {
      const posId = posCustomerParam(params.id);
      const customer = await customerFor(c.env, principal, posId, false, null);
      const methodId = params.methodId ?? "";
      if (!customer || !hasPrefix(methodId, "pm")) throw notFound(`No such payment method: '${methodId.slice(0, 80)}'.`);
      const pm = await findPaymentMethod(c.env.DB, principal, methodId, "methodId");
      if (pm.customer !== customer.id) throw notFound(`No such payment method for this customer: '${methodId}'.`);
      const detached = await detachPaymentMethod(c.env, principal, pm, c.get("requestId"));
      return c.json({ data: { ...renderMethod(detached, posId, null), deleted: true } });
    },
  );
}
