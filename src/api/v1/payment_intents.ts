// /v1/payment_intents: create, retrieve, update, confirm, capture, cancel, list, search, and the
// intent's transaction history. Thin: validate, resolve the payment method, call the intent's DO.
import { z } from "zod";
import { ApiError, invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { derivedId, randomId } from "../../core/ids";
import { renderTransaction, type ExpandedObject, type PaymentIntentJson } from "../../core/objects";
import { effectiveSetupFutureUsage } from "../../core/intent";
import type { IntentRecord, PaymentMethodDetails } from "../../core/types";
import { resolvePaymentMethod } from "../../connectors/sandbox/vault";
import { isTestPaymentMethod } from "../../connectors/sandbox/cards";
import { assertNotDetached, saveFromIntent } from "../../billing/payment-methods";
import { settleInvoiceOfIntent } from "../../billing/hooks";
import { findCustomer, findPaymentMethod, liveCustomer, parseDetails, renderCustomer } from "../../billing/store";
import { log } from "../../log";
import { countSearchIntents, intentCarryingMethod, listIntents, searchIntents } from "../../db/queries";
import { checkedList } from "./list-filters";
import { decodePageToken, encodePageToken, parseSearch, parseSearchQuery, searchConditions, searchPlan } from "../../db/search";
import { config } from "../../env";
import type { Principal } from "../../auth/permissions";
import { createParams, type OpOutcome, type RequestContext } from "../../intents/params";
import * as f from "./fields";
import { assertIntentId, intentJson, intentStub, json, listObject, pageRequest, respondOutcome } from "./respond";
import { expandObjects, expandPaths, searchExpand, withSavedMethods } from "./expand";
import { requestContext, route, type App, type Ctx } from "./route";
import { listOf, PaymentIntentSchema, searchResultOf, TransactionSchema } from "./schemas";
import { stripeBody } from "./stripe-params";

/** An intent's expand[] (on a list or a search result, `data.` before each path). */
const checkExpand = (expand: string[] | undefined, list = false) => expandPaths(expand, "payment_intent", list);

const futureUsageFields = {
  setup_future_usage: z.enum(["on_session", "off_session"]).optional().describe("Save the card to `customer` once the payment succeeds; without a customer, nothing is saved and the card may be attached to one afterwards."),
  off_session: z
    .union([f.boolean, z.enum(["one_off", "recurring"]).transform(() => true)])
    .optional()
    .describe("A merchant-initiated charge on a saved card, the customer absent: a card that wants 3DS is declined (authentication_required)."),
};

/**
 * Stripe's payment_method_data, with its metadata: checked as metadata is, and not kept (the payment
 * method made from the details is the intent's own, not a stored one).
 */
const paymentMethodData = z
  .looseObject({ metadata: f.createMetadata.optional() })
  .transform(({ metadata: _metadata, ...rest }) => rest)
  .pipe(f.paymentMethodData);

const paymentMethodFields = {
  payment_method: f.paymentMethod.optional().describe("A pm_/tok_ id or vault token, seed 001's {type: card_token, token}, or (test mode) card details."),
  payment_method_data: paymentMethodData.optional().describe("Test mode only: raw test card details. Never stored. metadata is accepted and not kept."),
  payment_method_types: z.array(z.enum(["card", "paypal"])).min(1, "must name at least one payment method type").optional().describe("Only these types may pay (echoed; without it: card, and PayPal when asked)."),
};

const CreateBody = stripeBody("POST /v1/payment_intents", {
    amount: f.amount,
    currency: f.currency,
    capture_method: f.captureMethod.optional(),
    confirm: f.boolean.optional(),
    error_on_requires_action: f.boolean.optional().describe("With confirm=true: a step for the customer (3DS, a redirect) declines the payment (402 authentication_required) instead of requires_action."),
    confirmation_method: z.enum(["automatic", "manual"]).optional().describe("manual: only the merchant's server confirms (never the shopper's page), and after a passed 3D Secure challenge the intent waits in requires_confirmation for that confirmation."),
    customer: f.text(255).optional(),
    description: f.text(1000).optional(),
    metadata: f.createMetadata.optional(),
    order_id: f.text(255).optional(),
    invoice_id: f.text(255).optional(),
    receipt_email: f.emailText().optional(),
    statement_descriptor: f.text(22).optional(),
    return_url: f.url.optional(),
    automatic_payment_methods: f.automaticPaymentMethods.optional().describe("Echoed as sent; the gateway chooses the payment methods either way."),
    payment_method_options: f.paymentMethodOptions.optional().describe("card options (request_three_d_secure, capture_method, setup_future_usage, require_cvc_recollection, request_incremental_authorization) are kept and echoed; other methods' are dropped."),
    shipping: f.shipping.optional(),
    statement_descriptor_suffix: f.text(22).optional().describe("Kept and echoed; the connectors are sent statement_descriptor only."),
    merchant_id: f.text(255).optional().describe("Seed 001: when sent, it must be the API key's merchant."),
    expand: f.expand.optional(),
    ...paymentMethodFields,
    ...futureUsageFields,
  });

const UpdateBody = stripeBody("POST /v1/payment_intents/{id}", {
    amount: f.amount.optional(),
    currency: f.currency.optional(),
    capture_method: f.captureMethod.optional(),
    customer: f.clearableText(255).optional(),
    description: f.clearableText(1000).optional(),
    metadata: f.metadata.optional(),
    order_id: f.clearableText(255).optional(),
    receipt_email: f.emailText().transform((v) => (v === "" ? null : v)).optional(),
    statement_descriptor: f.clearableText(22).optional(),
    return_url: z.union([f.url, z.literal("").transform(() => null)]).optional(),
    payment_method_options: f.paymentMethodOptions.optional(),
    shipping: f.shipping.optional(),
    statement_descriptor_suffix: f.clearableText(22).optional(),
    setup_future_usage: z.union([z.enum(["on_session", "off_session"]), z.literal("").transform(() => null)]).optional().describe("Save the card to the intent's customer once the payment succeeds (\"\" no longer saves it); before the payment is authorized."),
    expand: f.expand.optional(),
    ...paymentMethodFields,
  });

const ConfirmBody = stripeBody("POST /v1/payment_intents/{id}/confirm", {
  capture_method: f.captureMethod.optional(),
  error_on_requires_action: f.boolean.optional().describe("A step for the customer (3DS, a redirect) declines the payment (402 authentication_required) instead of requires_action."),
  return_url: f.url.optional(),
  receipt_email: f.emailText().optional(),
  payment_method_options: f.paymentMethodOptions.optional(),
  shipping: f.shipping.optional(),
  expand: f.expand.optional(),
  ...paymentMethodFields,
  ...futureUsageFields,
});

const CaptureBody = stripeBody("POST /v1/payment_intents/{id}/capture", {
  amount_to_capture: f.amount.optional(),
  metadata: f.metadata.optional(),
  expand: f.expand.optional(),
  // One capture per intent (no multicapture): every capture is final, so final_capture=false, which
  // asks to keep the rest of the hold for a later capture, is refused rather than releasing it.
  final_capture: f.boolean
    .refine((v) => v, "Multicapture is not available here: every capture is final, and the rest of the authorization is released. Omit final_capture or pass true.")
    .optional(),
});
const IncrementAuthorizationBody = stripeBody("POST /v1/payment_intents/{id}/increment_authorization", {
  amount: f.amount,
  description: f.clearableText(1000).optional(),
  metadata: f.metadata.optional(),
  statement_descriptor: f.clearableText(22).optional(),
  expand: f.expand.optional(),
});
const CancelBody = stripeBody("POST /v1/payment_intents/{id}/cancel", { cancellation_reason: f.cancellationReason.optional(), expand: f.expand.optional() });
const RetrieveQuery = z.object({ expand: f.expand.optional(), client_secret: z.string().max(200).optional() }).strict();

const ListQuery = z
  .object({
    ...f.pageFields,
    status: f.intentStatus.optional(),
    customer: f.text(255).optional(),
    order_id: f.text(255).optional(),
    created: f.createdFilter.optional(),
    expand: f.expand.optional(),
  })
  .strict();

const SearchQuery = f.intentSearchQuery;

type MethodInput = { payment_method?: z.output<typeof f.paymentMethod>; payment_method_data?: z.output<typeof f.paymentMethodData> };

/** The payment method a request names, for other routes (failed-payment retries). */
export async function resolvePaymentMethodInput(c: Ctx, principal: Principal, body: MethodInput): Promise<PaymentMethodDetails | undefined> {
  return paymentMethodOf(c, principal, body);
}

/** The same, for a payment of `customer`: a saved payment method attached to another customer is refused (other surfaces). */
export async function resolvePaymentMethodFor(c: Ctx, principal: Principal, body: MethodInput, customer: string | null): Promise<PaymentMethodDetails | undefined> {
  const saved = await savedMethod(c, principal, body);
  assertSavedFor(saved, customer);
  return paymentMethodOf(c, principal, body, saved);
}

/** A payment method saved in D1 (pm_... that is not a sandbox test id), with the customer it is attached to. */
interface SavedMethod {
  details: PaymentMethodDetails;
  customer: string | null;
}

async function savedMethod(c: Ctx, principal: Principal, body: MethodInput): Promise<SavedMethod | null> {
  const ref = typeof body.payment_method === "string" ? body.payment_method.trim() : null;
  if (!ref || !ref.startsWith("pm_") || isTestPaymentMethod(ref)) return null;
  const row = await findPaymentMethod(c.env.DB, principal, ref, "payment_method").catch(async (err: unknown) => {
    // The card of an earlier payment, never saved: as at Stripe, used up (a merchant is told so; a shopper sees no other's).
    if (err instanceof ApiError && err.status === 404 && !principal.customerId && (await intentCarryingMethod(c.env.DB, principal, ref))) {
      throw invalidRequest(
        `The PaymentMethod ${ref} was previously used with a PaymentIntent without Customer attachment and may not be used again. To use a card more than once, save it to a customer (setup_future_usage with a customer, or POST /v1/payment_methods/${ref}/attach after a payment with setup_future_usage).`,
        "payment_method",
        "payment_method_unexpected_state",
      );
    }
    throw err;
  });
  // A shopper pays only with its own saved cards: anyone else's (or the merchant's unattached ones) do not exist for it.
  if (principal.customerId && row.customer !== principal.customerId) throw resourceMissing("payment_method", ref.slice(0, 80), "payment_method");
  assertNotDetached(row);
  return { details: parseDetails(row), customer: row.customer };
}

/**
 * The saved payment method an intent already holds (named on create or update), checked again where
 * it is about to pay or its customer changes: detached since (it may not be used again), or attached
 * to another customer than `customer` (the intent's, or the one it is being given), it is refused as
 * a newly named one would be. A payment method that is not a saved one (a token's, a test id) passes.
 */
export async function assertHeldMethodUsable(c: Ctx, intent: IntentRecord, customer: string | null): Promise<void> {
  const id = intent.paymentMethod?.id;
  if (!id || !id.startsWith("pm_") || isTestPaymentMethod(id)) return;
  const row = await findPaymentMethod(c.env.DB, { merchantId: intent.merchantId, livemode: intent.livemode }, id, "payment_method").catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return null; // not a saved card: a token's payment method
    throw err;
  });
  if (!row) return;
  assertNotDetached(row);
  assertSavedFor({ details: parseDetails(row), customer: row.customer }, customer);
}

/** A saved payment method attached to a customer pays only for that customer. */
function assertSavedFor(saved: SavedMethod | null, customer: string | null): void {
  if (saved?.customer && saved.customer !== customer) {
    throw invalidRequest(
      `The payment method ${saved.details.id} belongs to the customer ${saved.customer}; pass that customer with it.`,
      "payment_method",
      "payment_method_customer_mismatch",
    );
  }
}

/** Saves the card of a payment that went through with setup_future_usage (the events hook does it too, once). */
async function saveIfAsked(c: Ctx, outcome: OpOutcome): Promise<void> {
  if (!outcome.intent || !effectiveSetupFutureUsage(outcome.intent)) return;
  try {
    await saveFromIntent(c.env, outcome.intent);
  } catch (err) {
    log("warn", "saving the card of a payment failed; the events hook retries it", { intent: outcome.intent.id, error: String(err) });
  }
}

/**
 * An invoice's payment intent confirmed and paid here (a default_incomplete subscription's first
 * invoice, confirmed by its customer): the invoice is paid and the subscription active in the answers
 * that follow, not only once the events queue has run the billing hook (which settles it again, harmlessly).
 */
async function settleInvoiceIfPaid(c: Ctx, outcome: OpOutcome): Promise<void> {
  if (!outcome.intent?.invoiceId || outcome.intent.status !== "succeeded") return;
  try {
    await settleInvoiceOfIntent(c.env, outcome.intent);
  } catch (err) {
    log("warn", "settling the invoice of a payment failed; the events hook settles it", { intent: outcome.intent.id, error: String(err) });
  }
}

async function checkFutureUsage(c: Ctx, principal: Principal, body: { setup_future_usage?: string; off_session?: boolean }, customer: string | null, confirming: boolean): Promise<void> {
  if (body.off_session && !confirming) throw invalidRequest("off_session can only be used when the payment intent is confirmed (confirm: true).", "off_session");
  // As at Stripe, no customer is needed: with one, the card is saved to it once the payment goes
  // through; without, nothing is saved, and the card may be attached to a customer afterwards
  // (POST /v1/payment_methods/{id}/attach). A customer named must exist.
  if (body.setup_future_usage && customer) await liveCustomer(c.env.DB, principal, customer, "customer");
}

/**
 * Resolves the payment method a request names, if any. The card number and CVC go no further.
 * `known` is the saved payment method already looked up for this request (null: it names none).
 */
async function paymentMethodOf(c: Ctx, principal: Principal, body: MethodInput, known?: SavedMethod | null): Promise<PaymentMethodDetails | undefined> {
  if (body.payment_method !== undefined && body.payment_method_data !== undefined) {
    throw invalidRequest("Pass either payment_method or payment_method_data, not both.", "payment_method_data");
  }
  const saved = known === undefined ? await savedMethod(c, principal, body) : known;
  if (saved) return saved.details;
  const ctx = { merchantId: principal.merchantId, livemode: principal.livemode, fingerprintKey: config(c.env).fingerprintKey, now: Date.now() };
  const pm = body.payment_method;
  if (pm !== undefined) {
    if (typeof pm === "string") return resolvePaymentMethod({ kind: "reference", value: pm, param: "payment_method" }, ctx);
    if (pm.type === "card_token") return resolvePaymentMethod({ kind: "reference", value: pm.token, param: "payment_method[token]" }, ctx);
    if (pm.type === "paypal") return resolvePaymentMethod({ kind: "paypal", param: "payment_method" }, ctx);
    if ("token" in pm.card) return resolvePaymentMethod({ kind: "reference", value: pm.card.token, param: "payment_method[card][token]" }, ctx);
    return resolvePaymentMethod({ kind: "card", number: pm.card.number, expMonth: pm.card.exp_month, expYear: pm.card.exp_year, cvc: pm.card.cvc ?? null, param: "payment_method[card]" }, ctx);
  }
  const data = body.payment_method_data;
  if (!data) return undefined;
  const resolved =
    data.type === "paypal"
      ? await resolvePaymentMethod({ kind: "paypal", param: "payment_method_data" }, ctx)
      : "token" in data.card
        ? await resolvePaymentMethod({ kind: "reference", value: data.card.token, param: "payment_method_data[card][token]" }, ctx)
        : await resolvePaymentMethod(
          { kind: "card", number: data.card.number, expMonth: data.card.exp_month, expYear: data.card.exp_year, cvc: data.card.cvc ?? null, param: "payment_method_data[card]" },
          ctx,
        );
  // Stripe's payment_method_data[billing_details]: kept with the method, rendered on it and its charge.
  return data.billing_details ? { ...resolved, billingDetails: data.billing_details } : resolved;
}

/**
 * Seed 001's confirm "after client action": its `{type: "card_token", token}` form of payment_method
 * and nothing else (but `expand`). See ConfirmParams.continueAfterAction.
 */
function continuesAfterAction(body: z.output<typeof ConfirmBody>): boolean {
  const pm = body.payment_method;
  if (typeof pm !== "object" || pm.type !== "card_token") return false;
  return Object.entries(body).every(([k, v]) => v === undefined || k === "payment_method" || k === "expand");
}

const TAG = "Payment intents";

/**
 * What a shopper's token (a principal with a customerId) may send to each operation on its own intent.
 * It never captures, never changes an amount, currency or capture method, never charges off-session;
 * anything outside these lists is a 403 before anything runs. See the README's role matrix.
 */
const CUSTOMER_FIELDS: Readonly<Record<string, readonly string[] | null>> = {
  create: ["amount", "currency", "capture_method", "confirm", "customer", "description", "metadata", "order_id", "invoice_id", "receipt_email", "return_url", "merchant_id", "expand", "payment_method", "payment_method_data", "payment_method_types", "setup_future_usage"],
  update: ["payment_method", "payment_method_data", "payment_method_types", "receipt_email", "expand"],
  confirm: ["payment_method", "payment_method_data", "payment_method_types", "return_url", "setup_future_usage", "expand"],
  cancel: ["cancellation_reason", "expand"],
  capture: null,
  increment_authorization: null,
};

function assertCustomerMay(principal: Principal, operation: string, body: object): void {
  if (!principal.customerId) return;
  const allowed = CUSTOMER_FIELDS[operation];
  if (!allowed) throw permissionDenied(`A customer's token cannot ${operation} a payment.`);
  const refused = Object.entries(body)
    .filter(([name, value]) => value !== undefined && !allowed.includes(name))
    .map(([name]) => name);
  if (refused.length > 0) throw permissionDenied(`A customer's token cannot set ${refused.join(", ")}.`);
}

/** The customers of these intents, rendered, when expand[] asks for `customer` (a customer gone since is left as its id). */
async function expandedCustomers(c: Ctx, principal: Principal, intents: readonly (IntentRecord | null)[], expand: readonly string[]): Promise<Map<string, ExpandedObject>> {
  const found = new Map<string, ExpandedObject>();
  if (!expand.includes("customer")) return found;
  // The customer object is customer data: a credential that may not read customers may not expand them either.
  if (!principal.permissions.has("payments.methods.view")) throw permissionDenied("Expanding customer needs the payments.methods.view permission.");
  const ids = [...new Set(intents.map((i) => i?.customer).filter((id): id is string => Boolean(id)))];
  const rows = await Promise.all(ids.map((id) => findCustomer(c.env.DB, principal, id).catch((err: unknown) => (err instanceof ApiError ? null : Promise.reject(err)))));
  // A deleted customer expands to Stripe's DeletedCustomer, as everywhere (src/api/v1/expand.ts).
  for (const row of rows) if (row) found.set(row.id, row.deleted ? { id: row.id, object: "customer", deleted: true } : { ...renderCustomer(row) });
  return found;
}

/** Intents as /v1 renders them, with what `expand` asks for (expandPaths' answer). */
async function renderIntents(c: Ctx, principal: Principal, intents: readonly IntentRecord[], expand: readonly string[]): Promise<PaymentIntentJson[]> {
  const customers = await expandedCustomers(c, principal, intents, expand);
  const rendered = intents.map((intent) => intentJson(c, intent, { expand, customers }));
  // A saved card as the merchant saved it (its customer, its metadata), before paths go on into it.
  await withSavedMethods(c, principal, rendered);
  // What intentJson does not expand itself: customer.test_clock, latest_charge.customer, payment_method.customer...
  await expandObjects(c, principal, rendered, "payment_intent", expand);
  return rendered;
}

/** The answer to an operation on an intent: its render, expanded, for respondOutcome (an error renders the intent itself). */
async function intentAnswer(c: Ctx, principal: Principal, outcome: OpOutcome, expand: readonly string[]): Promise<(intent: IntentRecord) => unknown> {
  if (outcome.error || !outcome.intent) return (intent) => intentJson(c, intent);
  const [rendered] = await renderIntents(c, principal, [outcome.intent], expand);
  return () => rendered;
}

/** The intent an error answer carries (a decline's), its declined card as saved (withSavedMethods). */
async function errorIntent(c: Ctx, principal: Principal, outcome: OpOutcome): Promise<PaymentIntentJson | undefined> {
  if (!outcome.error || !outcome.intent) return undefined;
  const rendered = intentJson(c, outcome.intent);
  await withSavedMethods(c, principal, [rendered]);
  return rendered;
}

/** A customer named on an intent must be one of this merchant's (another merchant's id is missing: a 400 resource_missing). */
async function assertOwnCustomer(c: Ctx, principal: Principal, customer: string | null | undefined): Promise<void> {
  if (customer && !principal.customerId) await liveCustomer(c.env.DB, principal, customer, "customer");
}

/** A customer's token sees only that customer's payments; everyone else sees what the scope allows. */
function visible(principal: Principal, intent: IntentRecord | null): IntentRecord | null {
  if (!intent) return null;
  return principal.customerId && intent.customer !== principal.customerId ? null : intent;
}

export function registerPaymentIntents(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/payment_intents", permission: "payments.transactions.create", customers: true, summary: "Create a payment intent", tag: TAG, body: CreateBody, response: PaymentIntentSchema },
    async (c, { body, principal }) => {
      if (body.merchant_id !== undefined && body.merchant_id !== principal.merchantId) {
        throw new ApiError({
          status: 403,
          type: "invalid_request_error",
          code: "merchant_mismatch",
          param: "merchant_id",
          message: `This ${principal.kind === "jwt" ? "token" : "API key"} acts for merchant '${principal.merchantId}', not '${body.merchant_id.slice(0, 64)}': leave merchant_id out, or use a credential of that merchant.`,
        });
      }
      const expand = checkExpand(body.expand);
      // As at Stripe: the methods are chosen for the merchant, or listed by it, not both.
      if (body.automatic_payment_methods?.enabled === true && body.payment_method_types !== undefined) {
        throw invalidRequest("You may only specify one of these parameters: automatic_payment_methods, payment_method_types.", "automatic_payment_methods");
      }
      const hasMethod = body.payment_method !== undefined || body.payment_method_data !== undefined;
      if (body.confirm && !hasMethod) {
        throw invalidRequest("You cannot confirm this PaymentIntent because it's missing a payment method. Pass `payment_method` with `confirm: true`.", "payment_method", "parameter_missing");
      }
      if (principal.customerId && body.customer !== undefined && body.customer !== principal.customerId) {
        throw permissionDenied("A customer's token can only create payments for that customer.");
      }
      assertCustomerMay(principal, "create", body);
      const customer = principal.customerId ?? body.customer ?? null;
      await assertOwnCustomer(c, principal, customer);
      await checkFutureUsage(c, principal, body, customer, body.confirm === true);
      const saved = await savedMethod(c, principal, body);
      assertSavedFor(saved, customer);
      const req = await requestContext(c, principal, "payment_intents.create", "", body, body.confirm ? { action: "payment_intents.create_and_confirm" } : undefined);
      const id = req.idempotencyKey
        ? await derivedId("pi", principal.merchantId, String(principal.livemode), req.idempotencyKey)
        : randomId("pi");
      const paymentMethod = await paymentMethodOf(c, principal, body, saved);
      const outcome = await intentStub(c.env, id).create(req, createParams({
        id,
        amount: body.amount,
        currency: body.currency,
        captureMethod: body.capture_method?.capture ?? "automatic",
        captureAsync: body.capture_method?.async ?? false,
        customer: principal.customerId ?? body.customer ?? null,
        description: body.description ?? null,
        metadata: body.metadata ?? {},
        orderId: body.order_id ?? null,
        invoiceId: body.invoice_id ?? null,
        receiptEmail: body.receipt_email ?? null,
        statementDescriptor: body.statement_descriptor ?? null,
        returnUrl: body.return_url ?? null,
        paymentMethod: paymentMethod ?? null,
        confirm: body.confirm ?? false,
        setupFutureUsage: body.setup_future_usage ?? null,
        offSession: body.off_session ?? false,
        // Of the confirmation only: without confirm it has nothing to act on.
        errorOnRequiresAction: body.confirm === true && body.error_on_requires_action === true,
        ...(body.confirmation_method ? { confirmationMethod: body.confirmation_method } : {}),
        automaticPaymentMethods: body.automatic_payment_methods ?? null,
        cardOptions: body.payment_method_options ?? null,
        shipping: body.shipping ?? null,
        statementDescriptorSuffix: body.statement_descriptor_suffix ?? null,
        paymentMethodTypes: body.payment_method_types ? [...new Set(body.payment_method_types)] : null,
      }));
      await saveIfAsked(c, outcome);
      return respondOutcome(c, outcome, await intentAnswer(c, principal, outcome, expand), await errorIntent(c, principal, outcome));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/payment_intents", permission: "payments.transactions.view", customers: true, summary: "List payment intents, newest first", tag: TAG, query: ListQuery, response: listOf(PaymentIntentSchema, "PaymentIntentList") },
    async (c, { query, principal }) => {
      const expand = checkExpand(query.expand, true);
      // The customer named must be the merchant's (a 400 resource_missing otherwise); a customer's token lists its own whatever it names.
      const page = await checkedList(c.env.DB, principal, [{ object: "customer", id: principal.customerId ? undefined : query.customer || undefined, opaque: true }], () =>
        listIntents(c.env.DB, principal, { status: query.status, customer: principal.customerId ?? query.customer, orderId: query.order_id, created: query.created }, pageRequest(query)),
      );
      return json(c, { ...listObject("/v1/payment_intents", page, () => null), data: await renderIntents(c, principal, page.items, expand) });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/payment_intents/search",
      permission: "payments.transactions.view", customers: true,
      summary: "Search payment intents (status, currency, customer, order_id, amount, created, metadata['key']; AND or OR, not both)",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(PaymentIntentSchema, "PaymentIntentSearchResult"),
    },
    async (c, { query, principal }) => {
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = checkExpand(objectExpand, true);
      const parsed = parseSearch(query.query);
      const plan = searchPlan(parsed.clauses, parsed.joiner, principal);
      if (principal.customerId) plan.conditions.push(...searchConditions(parseSearchQuery(`customer:"${principal.customerId.replace(/"/g, "")}"`), "AND", principal));
      const limit = query.limit ?? 10;
      const page = await searchIntents(c.env.DB, principal, plan, limit, query.page ? decodePageToken(query.page) : null);
      const last = page.items[page.items.length - 1];
      return json(c, {
        object: "search_result",
        data: await renderIntents(c, principal, page.items, expand),
        has_more: page.hasMore,
        next_page: page.hasMore && last ? encodePageToken({ created: last.created, id: last.id }) : null,
        url: "/v1/payment_intents/search",
        ...(total ? { total_count: await countSearchIntents(c.env.DB, principal, plan) } : {}),
      });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/payment_intents/{id}", permission: "payments.transactions.view", customers: true, summary: "Retrieve a payment intent", tag: TAG, query: RetrieveQuery, response: PaymentIntentSchema },
    async (c, { params, query, principal }) => {
      const id = params.id ?? "";
      assertIntentId(id, "payment_intent", "pi", "intent");
      const expand = checkExpand(query.expand);
      const intent = visible(principal, await intentStub(c.env, id).retrieve(principal, id));
      if (!intent) throw resourceMissing("payment_intent", id, "intent");
      const [rendered] = await renderIntents(c, principal, [intent], expand);
      return json(c, rendered);
    },
  );

  route(
    app,
    { method: "get", path: "/v1/payment_intents/{id}/transactions", permission: "payments.transactions.view", customers: true, summary: "The intent's attempts at the PSP, oldest first", tag: TAG, response: listOf(TransactionSchema, "PaymentTransactionList") },
    async (c, { params, principal }) => {
      const id = params.id ?? "";
      assertIntentId(id, "payment_intent", "pi", "intent");
      const intent = visible(principal, await intentStub(c.env, id).retrieve(principal, id));
      if (!intent) throw resourceMissing("payment_intent", id, "intent");
      return json(c, {
        object: "list",
        data: intent.attempts.map((a) => renderTransaction(a, intent)),
        has_more: false,
        url: `/v1/payment_intents/${id}/transactions`,
      });
    },
  );

  intentOperation(app, "update", "/v1/payment_intents/{id}", "Update a payment intent", UpdateBody, async (ctx) => {
    const { body } = ctx;
    await assertOwnCustomer(ctx.c, ctx.principal, body.customer);
    // A saved payment method attached to a customer pays only for that customer, here as on create and confirm.
    const saved = await savedMethod(ctx.c, ctx.principal, body);
    if (saved?.customer) {
      const current = await ctx.stub.retrieve(ctx.principal, ctx.id);
      if (current) assertSavedFor(saved, body.customer ?? current.customer);
    } else if (!saved && body.customer !== undefined && !body.payment_method) {
      // A new customer for the card already on the intent: that card must be allowed to pay for it.
      const current = await ctx.stub.retrieve(ctx.principal, ctx.id);
      if (current) await assertHeldMethodUsable(ctx.c, current, body.customer);
    }
    // The card is saved to the customer named, else the intent's, if any (checked to exist).
    if (body.setup_future_usage) {
      const current = await ctx.stub.retrieve(ctx.principal, ctx.id);
      await checkFutureUsage(ctx.c, ctx.principal, { setup_future_usage: body.setup_future_usage }, body.customer !== undefined ? body.customer : (current?.customer ?? null), false);
    }
    const paymentMethod = await paymentMethodOf(ctx.c, ctx.principal, body, saved);
    return ctx.stub.update(ctx.req, ctx.id, {
      setupFutureUsage: body.setup_future_usage,
      amount: body.amount,
      currency: body.currency,
      captureMethod: body.capture_method?.capture,
      captureAsync: body.capture_method?.async,
      customer: body.customer,
      description: body.description,
      metadata: body.metadata,
      orderId: body.order_id,
      receiptEmail: body.receipt_email,
      statementDescriptor: body.statement_descriptor,
      returnUrl: body.return_url,
      paymentMethod,
      cardOptions: body.payment_method_options,
      shipping: body.shipping,
      statementDescriptorSuffix: body.statement_descriptor_suffix,
      paymentMethodTypes: body.payment_method_types ? [...new Set(body.payment_method_types)] : undefined,
    });
  });

  intentOperation(app, "confirm", "/v1/payment_intents/{id}/confirm", "Confirm: authorize at the PSP", ConfirmBody, async (ctx) => {
    const saved = await savedMethod(ctx.c, ctx.principal, ctx.body);
    const given = saved !== null || Boolean(ctx.body.payment_method) || ctx.body.payment_method_data !== undefined;
    if (saved?.customer || ctx.body.setup_future_usage || !given) {
      const current = await ctx.stub.retrieve(ctx.principal, ctx.id);
      if (current) {
        assertSavedFor(saved, current.customer);
        // Confirming with the card already on the intent: checked again now (detached, or another customer's).
        if (!given) await assertHeldMethodUsable(ctx.c, current, current.customer);
        await checkFutureUsage(ctx.c, ctx.principal, ctx.body, current.customer, true);
      }
    }
    const paymentMethod = await paymentMethodOf(ctx.c, ctx.principal, ctx.body, saved);
    const outcome = await ctx.stub.confirm(ctx.req, ctx.id, {
      paymentMethod,
      returnUrl: ctx.body.return_url,
      captureMethod: ctx.body.capture_method?.capture,
      captureAsync: ctx.body.capture_method?.async,
      setupFutureUsage: ctx.body.setup_future_usage,
      offSession: ctx.body.off_session,
      receiptEmail: ctx.body.receipt_email,
      cardOptions: ctx.body.payment_method_options,
      shipping: ctx.body.shipping,
      paymentMethodTypes: ctx.body.payment_method_types ? [...new Set(ctx.body.payment_method_types)] : undefined,
      continueAfterAction: continuesAfterAction(ctx.body),
      errorOnRequiresAction: ctx.body.error_on_requires_action === true,
    });
    await saveIfAsked(ctx.c, outcome);
    await settleInvoiceIfPaid(ctx.c, outcome);
    return outcome;
  });

  intentOperation(app, "capture", "/v1/payment_intents/{id}/capture", "Capture an authorized intent (all or part, once)", CaptureBody, (ctx) =>
    ctx.stub.capture(ctx.req, ctx.id, { amountToCapture: ctx.body.amount_to_capture, metadata: ctx.body.metadata }),
  );

  intentOperation(
    app,
    "increment_authorization",
    "/v1/payment_intents/{id}/increment_authorization",
    "Increment an uncaptured authorization to a new, larger total (when payment_method_options[card][request_incremental_authorization]=if_available made it available)",
    IncrementAuthorizationBody,
    (ctx) =>
      ctx.stub.incrementAuthorization(ctx.req, ctx.id, {
        amount: ctx.body.amount,
        description: ctx.body.description,
        metadata: ctx.body.metadata,
        statementDescriptor: ctx.body.statement_descriptor,
      }),
  );

  intentOperation(app, "cancel", "/v1/payment_intents/{id}/cancel", "Cancel an intent (voids an authorization)", CancelBody, (ctx) =>
    // A shopper may abandon only a payment it has not confirmed; the object checks it under its lock.
    ctx.stub.cancel(ctx.req, ctx.id, { cancellationReason: ctx.body.cancellation_reason, onlyUnconfirmed: ctx.principal.customerId !== null }),
  );
}

interface OperationContext<T> {
  c: Ctx;
  principal: Principal;
  id: string;
  body: T;
  req: RequestContext;
  stub: ReturnType<typeof intentStub>;
}

/** A POST on one intent: check the id, validate, build the idempotent request context, call the DO, render. */
function intentOperation<B extends z.ZodType<{ expand?: string[] }>>(
  app: App,
  operation: string,
  path: string,
  summary: string,
  body: B,
  run: (ctx: OperationContext<z.output<B>>) => Promise<OpOutcome>,
): void {
  const permission = operation === "cancel" ? "payments.transactions.void" : "payments.transactions.create";
  // A shopper cancels its own unconfirmed payment with its create permission (it holds no void power).
  const customerPermission = "payments.transactions.create";
  // An operation a customer's token may never do (capture, increment_authorization) is refused before
  // the body is read: a 403 whatever it sends, never a 400 that describes the body it may not send.
  const guard = (principal: Principal): void => {
    if (principal.customerId && !CUSTOMER_FIELDS[operation]) throw permissionDenied(`A customer's token cannot ${operation} a payment.`);
  };
  route(app, { method: "post", path, summary, tag: TAG, body, response: PaymentIntentSchema, permission, customers: true, customerPermission, guard }, async (c, input) => {
    const id = input.params.id ?? "";
    assertIntentId(id, "payment_intent", "pi", "intent");
    const parsed = input.body as z.output<B>; // route() cannot narrow its conditional type for a generic B
    assertCustomerMay(input.principal, operation, parsed);
    const expand = checkExpand(parsed.expand);
    const stub = intentStub(c.env, id);
    if (input.principal.customerId && !visible(input.principal, await stub.retrieve(input.principal, id))) throw resourceMissing("payment_intent", id, "intent");
    // Updates move no money; every other operation is audited (by the object, with its change).
    const req = await requestContext(c, input.principal, `payment_intents.${operation}`, id, parsed, operation === "update" ? undefined : {});
    const outcome = await run({ c, principal: input.principal, id, body: parsed, req, stub });
    return respondOutcome(c, outcome, await intentAnswer(c, input.principal, outcome, expand), await errorIntent(c, input.principal, outcome));
  });
}
