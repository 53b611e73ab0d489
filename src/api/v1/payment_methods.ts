// /v1/payment_methods: store a card from a token or (test mode) card details, retrieve, update
// (nickname, metadata, expiry; only one saved to a customer, as at Stripe), attach to and detach
// from a customer, list (by customer, and by any of Stripe's types).
import { eq } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { hasPrefix } from "../../core/ids";
import type { Scope } from "../../core/types";
import { declinedMethod } from "../../core/objects";
import type { BillingAddress, BillingDetails, PaymentMethodDetails } from "../../core/types";
import { attachPaymentMethod, detachPaymentMethod, storePaymentMethod } from "../../billing/payment-methods";
import { assertNotUsedUnsaved, db, findPaymentMethod, liveCustomer, parseDetails, parseMetadata, preparedForFutureUse, renderPaymentMethodRow, savedPaymentMethod } from "../../billing/store";
import { intentCarryingMethod, listable, NO_ROWS, pageOf } from "../../db/queries";
import { paymentMethods } from "../../db/schema";
import { mergeMetadata } from "../../intents/operations/metadata";
import { PaymentMethodObjectSchema } from "./billing_schemas";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { idempotentD1 } from "./idempotency";
import { resolvePaymentMethodInput } from "./payment_intents";
import { json, listObject, pageRequest } from "./respond";
import { expanded, expandPaths } from "./expand";
import { route, type App, type Ctx } from "./route";
import { writeCompared } from "./updates";
import type { Principal } from "../../auth/permissions";
import { isTestPaymentMethod } from "../../connectors/sandbox/cards";
import type { PaymentMethodRow } from "../../billing/store";
import { listOf } from "./schemas";
import { checkedList } from "./list-filters";

const TAG = "Payment methods";
const PAYMENT_METHODS = listable(paymentMethods, "payment_method");

const cardInput = z.union([
  z
    .object({
      number: z.union([z.string(), z.number().transform(String)]).pipe(z.string().regex(/^[\d\s-]{12,23}$/, "must be a card number")),
      exp_month: f.integer,
      exp_year: f.integer,
      cvc: z.union([z.string(), z.number().transform(String)]).pipe(z.string().max(4, "must be 3 or 4 digits")).optional(),
    })
    .strict(),
  z.object({ token: f.text(255) }).strict(),
]);

const CreateBody = stripeBody("POST /v1/payment_methods", {
    type: z.literal("card").optional(),
    card: cardInput.optional().describe("card[token] (tok_visa, a vault token), or test mode card details. The number and CVC are never stored."),
    payment_method: f.text(255).optional().describe("A token or test payment method (pm_card_visa) to store."),
    nickname: f.text(100).optional(),
    metadata: f.createMetadata.optional(),
    billing_details: f.billingDetails.optional(),
    expand: f.expand.optional(),
  });

/** An update's billing_details: each field given replaces the stored one ("" unsets it), the address's one by one, as at Stripe. */
const billingDetailsUpdate = z
  .object({
    address: z
      .object({ city: f.text(200).optional(), country: f.text(2).optional(), line1: f.text(200).optional(), line2: f.text(200).optional(), postal_code: f.text(20).optional(), state: f.text(200).optional() })
      .strict()
      .optional(),
    email: f.text(512).optional(),
    name: f.text(256).optional(),
    phone: f.text(32).optional(),
  })
  .strict();

function mergeBillingDetails(stored: BillingDetails | null | undefined, update: z.output<typeof billingDetailsUpdate>): BillingDetails {
  const value = (given: string | undefined, was: string | null | undefined) => (given === undefined ? (was ?? null) : given === "" ? null : given);
  const was = stored ?? { address: null, email: null, name: null, phone: null };
  const a = update.address;
  const address: BillingAddress | null = a
    ? {
        city: value(a.city, was.address?.city),
        country: value(a.country, was.address?.country),
        line1: value(a.line1, was.address?.line1),
        line2: value(a.line2, was.address?.line2),
        postalCode: value(a.postal_code, was.address?.postalCode),
        state: value(a.state, was.address?.state),
      }
    : was.address;
  return { address, email: value(update.email, was.email), name: value(update.name, was.name), phone: value(update.phone, was.phone) };
}

const UpdateBody = stripeBody("POST /v1/payment_methods/{id}", {
    nickname: f.clearableText(100).optional(),
    billing_details: billingDetailsUpdate.optional(),
    metadata: f.metadata.optional(),
    card: z.object({ exp_month: f.integer.optional(), exp_year: f.integer.optional() }).strict().optional(),
    expand: f.expand.optional(),
  });

const AttachBody = stripeBody("POST /v1/payment_methods/{id}/attach", { customer: f.text(255), expand: f.expand.optional() });

/** Stripe's PaymentMethodListParams.Type (the stripe package's types): every value a list's `type` may take. */
export const PAYMENT_METHOD_LIST_TYPES = [
  "acss_debit", "affirm", "afterpay_clearpay", "alipay", "alma", "amazon_pay", "au_becs_debit", "bacs_debit", "bancontact", "billie", "bizum", "blik", "boleto", "card",
  "cashapp", "crypto", "custom", "customer_balance", "eps", "fpx", "giropay", "grabpay", "ideal", "kakao_pay", "klarna", "konbini", "kr_card", "link", "mb_way",
  "mobilepay", "multibanco", "naver_pay", "nz_bank_account", "oxxo", "p24", "pay_by_bank", "payco", "paynow", "paypal", "paypay", "payto", "pix", "promptpay",
  "revolut_pay", "samsung_pay", "satispay", "scalapay", "sepa_debit", "sequra", "sofort", "sunbit", "swish", "twint", "upi", "us_bank_account", "wechat_pay", "zip",
] as const;

const ListQuery = z
  .object({
    customer: f.text(255).optional(),
    type: z
      .enum(PAYMENT_METHOD_LIST_TYPES, { error: "must be one of Stripe's payment method types, such as card, paypal or us_bank_account" })
      .optional()
      .describe("Any of Stripe's types: only cards are saved here, so every other type lists none."),
    allow_redisplay: z.enum(["always", "limited", "unspecified"]).optional().describe("Every payment method here is unspecified (the gateway renders no saved-card UI of Stripe's): always and limited match none."),
    ...f.listFields,
  })
  .strict();

/** Payment methods, with their customer as an object when `expand` (expandPaths' answer) asks for it (one query for the page). */
function renderMethods(c: Ctx, principal: Principal, rows: PaymentMethodRow[], expand: readonly string[]): Promise<unknown[]> {
  return expanded(c, principal, rows.map(renderPaymentMethodRow), "payment_method", expand);
}

/**
 * A payment method made for one payment and never saved (a test card, a token, card details named on
 * a payment intent): as at Stripe it can be retrieved, unattached, from the intent that carries it
 * (paid with it, or declined on it, even once another method paid it), found by intentCarryingMethod.
 */
async function unsavedMethod(d1: D1Database, scope: Scope, id: string): Promise<PaymentMethodRow | null> {
  if (!hasPrefix(id, "pm")) return null;
  const intent = await intentCarryingMethod(d1, scope, id);
  if (!intent) return null;
  const details = intent.paymentMethod?.id === id ? intent.paymentMethod : declinedMethod(intent, id);
  if (!details) return null;
  return {
    id,
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    customer: null,
    details: JSON.stringify(details),
    fingerprint: details.card?.fingerprint ?? null,
    nickname: null,
    metadata: "{}",
    created: intent.created,
    detached: null,
  };
}

/** A saved payment method, or one made for a payment (unsavedMethod), for GET /v1/payment_methods/{id}. */
async function anyPaymentMethod(d1: D1Database, scope: Scope, id: string): Promise<PaymentMethodRow> {
  const found = (await savedPaymentMethod(d1, scope, id)) ?? (await unsavedMethod(d1, scope, id));
  if (!found) throw resourceMissing("payment_method", id.slice(0, 80), "id");
  return found;
}

/**
 * A payment method a request names by id: a saved one, or (in test mode) one of Stripe's test ids
 * (`pm_card_visa`...), which, as at Stripe, stands for a new payment method made from that card.
 */
export async function savedOrTestMethod(c: Ctx, principal: Principal, id: string, param: string): Promise<PaymentMethodRow> {
  if (!isTestPaymentMethod(id) || principal.livemode) return findPaymentMethod(c.env.DB, principal, id, param);
  const details = await resolvePaymentMethodInput(c, principal, { payment_method: id });
  if (!details) throw invalidRequest(`No such payment_method: '${id}'`, param);
  return (await storePaymentMethod(c.env, principal, details, { customer: null, nickname: null, metadata: {}, requestId: c.get("requestId") })).row;
}

export function registerPaymentMethods(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/payment_methods", permission: "payments.methods.manage", summary: "Store a card (from a token, or test card details in test mode)", tag: TAG, body: CreateBody, response: PaymentMethodObjectSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "payment_methods.create", "", body, async () => {
        const expand = expandPaths(body.expand, "payment_method");
        if ((body.card === undefined) === (body.payment_method === undefined)) throw invalidRequest("Pass exactly one of card and payment_method.", "card", "parameter_missing");
        let details: PaymentMethodDetails | undefined;
        if (body.payment_method !== undefined) details = await resolvePaymentMethodInput(c, principal, { payment_method: body.payment_method });
        else if (body.card && "token" in body.card) details = await resolvePaymentMethodInput(c, principal, { payment_method: { type: "card_token", token: body.card.token } });
        else if (body.card) details = await resolvePaymentMethodInput(c, principal, { payment_method_data: { type: "card", card: body.card } });
        if (!details) throw invalidRequest("Pass the card to store.", "card", "parameter_missing");
        if (body.billing_details) details = { ...details, billingDetails: body.billing_details };
        const { row } = await storePaymentMethod(c.env, principal, details, { customer: null, nickname: body.nickname ?? null, metadata: body.metadata ?? {}, requestId: c.get("requestId") });
        return { status: 200, body: (await renderMethods(c, principal, [row], expand))[0] };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/payment_methods/{id}", permission: "payments.methods.view", summary: "Retrieve a payment method: a stored one, or one made for a payment intent and never saved (unattached); expand[]=customer", tag: TAG, query: f.expandQuery, response: PaymentMethodObjectSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "payment_method");
      return json(c, (await renderMethods(c, principal, [await anyPaymentMethod(c.env.DB, principal, params.id ?? "")], expand))[0]);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/payment_methods/{id}", permission: "payments.methods.manage", summary: "Update a payment method saved to a customer: nickname, metadata, expiry, billing_details (an unattached one is a 400, as at Stripe)", tag: TAG, body: UpdateBody, response: PaymentMethodObjectSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "payment_methods.update", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "payment_method");
        const id = params.id ?? "";
        // Computed on the row as read and written only if it is still that row (an attach, detach or
        // another update meanwhile is never written back), with payment_method.updated in the same
        // transaction; someone else wrote first: read and computed again (writeCompared).
        const written = await writeCompared(c.env, {
          table: paymentMethods,
          resource: "payment_method",
          id,
          read: () => findPaymentMethod(c.env.DB, principal, id, "id"),
          plan: async (row) => {
            // As at Stripe: only a payment method saved to a customer may be updated (one never
            // attached, or detached since, is a 400), checked on the row the update is computed on.
            if (row.customer === null) throw invalidRequest("You must save this PaymentMethod to a customer before you can update it.");
            const details = parseDetails(row);
            const changes: Partial<PaymentMethodRow> = {};
            if (body.card && details.card) {
              const month = body.card.exp_month ?? details.card.expMonth;
              const year = body.card.exp_year ?? details.card.expYear;
              if (month < 1 || month > 12) throw invalidRequest("The expiration month is invalid.", "card[exp_month]", "invalid_expiry_month");
              if (year < new Date().getUTCFullYear() || year > new Date().getUTCFullYear() + 50) throw invalidRequest("The expiration year is invalid.", "card[exp_year]", "invalid_expiry_year");
              if (body.card.exp_month !== undefined || body.card.exp_year !== undefined) changes.details = JSON.stringify({ ...details, card: { ...details.card, expMonth: month, expYear: year } });
            }
            if (body.billing_details) {
              const merged = { ...(changes.details ? (JSON.parse(changes.details) as typeof details) : details) };
              merged.billingDetails = mergeBillingDetails(details.billingDetails, body.billing_details);
              changes.details = JSON.stringify(merged);
            }
            if (body.nickname !== undefined) changes.nickname = body.nickname;
            // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
            if (body.metadata) changes.metadata = JSON.stringify(mergeMetadata(parseMetadata(row.metadata), body.metadata));
            return Object.keys(changes).length === 0 ? undefined : { changes };
          },
          event: { type: "payment_method.updated", render: renderPaymentMethodRow, requestId: c.get("requestId") },
        });
        return { status: 200, body: (await renderMethods(c, principal, [written], expand))[0] };
      }),
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/payment_methods/{id}/attach",
      permission: "payments.methods.manage",
      summary: "Attach to a customer and answer it, as at Stripe: the payment method named, also when the customer already has the same card (fingerprint)",
      tag: TAG,
      body: AttachBody,
      response: PaymentMethodObjectSchema,
    },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "payment_methods.attach", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "payment_method");
        const customer = await liveCustomer(c.env.DB, principal, body.customer);
        const id = params.id ?? "";
        if (!isTestPaymentMethod(id) || principal.livemode) await assertNotUsedUnsaved(c.env.DB, principal, id, "id");
        // The card of a payment made with setup_future_usage and no customer: saved now, to this customer.
        const prepared = await preparedForFutureUse(c.env.DB, principal, id);
        const { row } = prepared
          ? await storePaymentMethod(c.env, principal, prepared, { customer, nickname: null, metadata: {}, requestId: c.get("requestId") })
          : await attachPaymentMethod(c.env, principal, await savedOrTestMethod(c, principal, id, "id"), customer, c.get("requestId"));
        return { status: 200, body: (await renderMethods(c, principal, [row], expand))[0] };
      }),
  );

  route(
    app,
    { method: "post", path: "/v1/payment_methods/{id}/detach", permission: "payments.methods.manage", summary: "Detach from its customer", tag: TAG, body: z.object({}).strict(), response: PaymentMethodObjectSchema },
    async (c, { params, principal }) =>
      idempotentD1(c, principal, "payment_methods.detach", params.id ?? "", {}, async () => {
        const pm = await findPaymentMethod(c.env.DB, principal, params.id ?? "", "id");
        return { status: 200, body: renderPaymentMethodRow(await detachPaymentMethod(c.env, principal, pm, c.get("requestId"))) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/payment_methods", permission: "payments.methods.view", summary: "List stored payment methods (of a customer), newest first", tag: TAG, query: ListQuery, response: listOf(PaymentMethodObjectSchema, "SavedPaymentMethodList") },
    async (c, { query, principal }) => {
      const filters = [
        ...(query.customer !== undefined ? [eq(paymentMethods.customer, query.customer)] : []),
        ...(query.allow_redisplay !== undefined && query.allow_redisplay !== "unspecified" ? [NO_ROWS] : []),
        // Only cards are ever saved (storePaymentMethod refuses anything else): another type lists none.
        ...(query.type !== undefined && query.type !== "card" ? [NO_ROWS] : []),
      ];
      // The customer named must be the merchant's (a 400 resource_missing otherwise; a deleted one is still known).
      const page = await checkedList(c.env.DB, principal, [{ object: "customer", id: query.customer }], () =>
        pageOf(c.env.DB, PAYMENT_METHODS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(paymentMethods).where(where).orderBy(...order).limit(limit)),
      );
      const expand = expandPaths(query.expand, "payment_method", true);
      return json(c, { ...listObject("/v1/payment_methods", page, renderPaymentMethodRow), data: await renderMethods(c, principal, page.items, expand) });
    },
  );
}
