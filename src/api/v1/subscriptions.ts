// /v1/subscriptions and /v1/invoices: a customer's subscription to a price, billed by our own engine
// (src/billing) through ordinary payment intents; one invoice per period.
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { ApiError, invalidRequest, resourceMissing } from "../../core/errors";
import type { Scope } from "../../core/types";
import { attemptIntentId, clockNow, payInvoice, paymentMethodFor, previewRenewal } from "../../billing/engine";
import { hasPrefix, ID_BODY_LENGTH } from "../../core/ids";
import type { IntentRecord } from "../../core/types";
import { closeInvoice, type ActionRefusal, type InvoiceAction } from "../../billing/invoice-actions";
import { INTERVALS } from "../../billing/periods";
import { canceledSubscriptionFields, cancelSubscription, changeSubscription, createSubscription, liveSubscriptionIds } from "../../billing/subscriptions";
import { db, ENDED_STATUSES, findInvoice, liveCustomer, findPaymentMethod, findPrice, findRecurringPrice, findSubscription, INVOICE_STATUSES, invoiceById, subscriptionById, renderInvoice, renderSubscription, SUBSCRIPTION_STATUSES, type InvoiceJson, type InvoiceRow, type PriceRow, type SubscriptionJson, type SubscriptionRow } from "../../billing/store";
import { integerField, searchPage, searchResult, searchTotal, tableRows, textField, unsupportedField, type Searchable } from "../../db/object-search";
import { createdConditions, listable, NO_ROWS, pageOf, type PageRequest } from "../../db/queries";
import { invoices, subscriptions } from "../../db/schema";
import type { Env } from "../../env";
import { InvoiceSchema, SubscriptionItemSchema, SubscriptionSchema } from "./billing_schemas";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { createInlinePrice, priceUnitAmount } from "./prices";
import { idempotentD1 } from "./idempotency";
import { intentJson, intentStub, json, listObject, pageRequest } from "./respond";
import { assertMayExpand, expanded, expandObjects, expandPaths, searchExpand } from "./expand";
import type { Principal } from "../../auth/permissions";
import { v1ErrorBody } from "./errors";
import { route, type App, type Ctx } from "./route";
import { listOf, searchResultOf } from "./schemas";
import { checkedList, type FilterId } from "./list-filters";

const TAG = "Billing";
const SUBSCRIPTIONS = listable(subscriptions, "subscription");
const INVOICES = listable(invoices, "invoice");

/** A subscription's or an invoice's expand[] (src/api/v1/expand.ts; on a list or a search result, `data.` before each path). */
const subscriptionExpand = (expand: string[] | undefined, list = false) => new Set(expandPaths(expand, "subscription", list));
const checkInvoiceExpand = (expand: string[] | undefined, list = false) => new Set(expandPaths(expand, "invoice", list));

/** Stripe's items[][price_data]: a recurring price of an existing product, made inline. */
const ItemPriceData = z
  .object({
    currency: f.currency,
    product: f.text(255),
    recurring: z.object({ interval: z.enum(INTERVALS), interval_count: f.integer.pipe(z.number().min(1, "must be at least 1")).optional() }).strict(),
    unit_amount: priceUnitAmount,
    // No taxes are computed: accepted, as on prices.
    tax_behavior: z.enum(["exclusive", "inclusive", "unspecified"]).optional(),
  })
  .strict();

const CANCELLATION_FEEDBACK = ["customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused"] as const;

/**
 * DELETE's parameters, which stripe-node sends in the query string (stripe.subscriptions.cancel(id,
 * {prorate: false, cancellation_details: {...}})). Nothing here is prorated and no usage or invoice
 * item is ever left to bill: prorate=true is refused, invoice_now has nothing to invoice.
 */
/** Stripe's cancellation_details of DELETE and of an update: comment, feedback ("" clears one). */
const CancellationDetails = z
  .object({
    comment: f.clearableText(5000).optional(),
    feedback: z.union([z.enum(CANCELLATION_FEEDBACK), z.literal("").transform(() => null)]).optional(),
    feedback_option: f.clearableText(5000).optional(),
  })
  .strict();

const CancelQuery = z
  .object({
    cancellation_details: CancellationDetails.optional().describe("Kept and rendered in the subscription's cancellation_details, with reason cancellation_requested."),
    invoice_now: f.boolean.optional().describe("Accepted: nothing is left to invoice at cancellation (no metered usage, prorations or invoice items here)."),
    prorate: f.boolean.optional().describe("false (Stripe's default); true is refused: nothing is prorated here."),
    expand: f.expand.optional(),
  })
  .strict();

/** Stripe's collection_method filter: every subscription and invoice here is charge_automatically, so send_invoice matches none. */
const collectionMethod = z.enum(["charge_automatically", "send_invoice"]);

/**
 * Stripe's payment_settings: save_default_payment_method is kept and acted on; payment_method_types and
 * payment_method_options have no meaning here (cards, chosen by the gateway) and are accepted and ignored.
 */
const paymentSettings = z
  .object({
    save_default_payment_method: z.enum(["off", "on_subscription"]).optional(),
    payment_method_types: z.unknown().transform(() => undefined).optional(),
    payment_method_options: z.unknown().transform(() => undefined).optional(),
    default_mandate: z.unknown().transform(() => undefined).optional(),
  })
  .strict()
  .optional()
  .describe("save_default_payment_method: on_subscription saves the card a payment of the subscription succeeded with to its customer and makes it the subscription's default_payment_method (off: the default).");

/** Stripe's default: send_invoice (emailed, paid by the customer by its due date) is refused, never taken as a charge now. */
const chargeAutomatically = z.literal("charge_automatically").describe("charge_automatically only: send_invoice is not served (400).");

const CreateBody = stripeBody("POST /v1/subscriptions", {
    customer: f.text(255),
    collection_method: chargeAutomatically.optional(),
    price: f.text(255).optional(),
    quantity: f.integer.pipe(z.number().min(1, "must be at least 1").max(10_000, "must be at most 10000")).optional(),
    items: z
      .array(
        z
          .object({
            price: f.text(255).optional(),
            price_data: ItemPriceData.optional().describe("A new recurring price of one of the merchant's products, made with the subscription."),
            quantity: f.integer.pipe(z.number().min(1).max(10_000)).optional(),
            metadata: f.createMetadata.optional().describe("The item's metadata (subscription.items.data[0].metadata)."),
          })
          .strict(),
      )
      .length(1, "one item (one price) per subscription")
      .optional()
      .describe("Stripe's shape: items[0][price] or items[0][price_data], items[0][quantity], items[0][metadata]. One price per subscription."),
    trial_period_days: f.integer.pipe(z.number().min(0).max(730, "must be at most 730")).optional(),
    default_payment_method: f.text(255).optional(),
    metadata: f.createMetadata.optional(),
    expand: f.expand.optional(),
    currency: f.currency.optional().describe("The price's currency (a subscription bills in its price's): another is a 400, never a subscription billed in a currency the caller did not name."),
    payment_settings: paymentSettings,
    payment_behavior: z
      .enum(["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"])
      .optional()
      .describe("allow_incomplete (the default: the first invoice is charged at creation with the default payment method); default_incomplete (its payment intent is created unconfirmed, for the customer to confirm with latest_invoice.confirmation_secret.client_secret, or latest_invoice.payment_intent.client_secret; the subscription activates when it succeeds); the others are refused for now."),
  });

const UpdateBody = stripeBody("POST /v1/subscriptions/{id}", {
    default_payment_method: f.clearableText(255).optional(),
    collection_method: chargeAutomatically.optional(),
    cancel_at_period_end: f.boolean.optional(),
    metadata: f.metadata.optional(),
    cancellation_details: CancellationDetails.optional().describe("comment, feedback (\"\" clears one): kept and rendered in the subscription's cancellation_details, canceled or not."),
    expand: f.expand.optional(),
    payment_settings: paymentSettings,
  });

/** What an update of a canceled (or incomplete_expired) subscription may name, as at Stripe (expand only shapes the answer). */
const CANCELED_UPDATABLE = new Set(["metadata", "cancellation_details", "expand"]);

const ExpandQuery = z.object({ expand: f.expand.optional() }).strict();
const ListQuery = z
  .object({
    customer: f.text(255).optional(),
    price: f.text(255).optional(),
    status: z
      .enum([...SUBSCRIPTION_STATUSES, "all", "ended", "paused"])
      .optional()
      .describe("A status; all; ended (canceled and incomplete_expired); paused (none: nothing pauses here). Without it, all but canceled."),
    test_clock: f.text(100).optional(),
    created: f.createdFilter.optional(),
    collection_method: collectionMethod.optional().describe("Every subscription here is charge_automatically: send_invoice matches none."),
    ...f.listFields,
  })
  .strict();
const InvoiceListQuery = z
  .object({
    customer: f.text(255).optional(),
    subscription: f.text(255).optional(),
    status: z.enum(["draft", "open", "paid", "uncollectible", "void"]).optional().describe("draft matches none: invoices here are finalized as they are made."),
    created: f.createdFilter.optional(),
    collection_method: collectionMethod.optional().describe("Every invoice here is charge_automatically: send_invoice matches none."),
    ...f.listFields,
  })
  .strict();
const VoidBody = stripeBody("POST /v1/invoices/{id}/void", { expand: f.expand.optional() });
const PreviewBody = stripeBody("POST /v1/invoices/create_preview", {
  subscription: f.id("sub").optional(),
  customer: f.id("cus").optional(),
  expand: f.expand.optional(),
});
const MarkUncollectibleBody = stripeBody("POST /v1/invoices/{id}/mark_uncollectible", { expand: f.expand.optional() });
const FinalizeBody = stripeBody("POST /v1/invoices/{id}/finalize", { expand: f.expand.optional() });
const PayBody = stripeBody("POST /v1/invoices/{id}/pay", {
    payment_method: f.text(255).optional().describe("A saved payment method of the customer to pay with."),
    off_session: f.boolean.optional().describe("Default true: the customer is not there (a card that wants 3DS is declined)."),
    expand: f.expand.optional(),
  });

/**
 * Stripe's subscription search (src/db/object-search.ts): `status` (subscriptions_status),
 * `metadata['key']` (object_metadata), `created`. Every status is searched, canceled ones too.
 */
const SUBSCRIPTION_SEARCH: Searchable = {
  resource: "subscriptions",
  list: SUBSCRIPTIONS,
  fields: { status: textField(subscriptions.status, "indexed", { values: SUBSCRIPTION_STATUSES }) },
  metadataObject: "subscription",
  selectiveHint: "a metadata['key']: clause",
  indexedHint: "status:, metadata['key']:, created",
};

/**
 * Stripe's invoice search: `currency` (invoices_currency), `customer`, `subscription`, `status`
 * (invoices_status; `draft` matches none, as invoices here are finalized when made), `total`
 * (`:` a range of invoices_total; `>`, `<`... a filter), `created`. Invoices here carry no number,
 * receipt number or metadata (always null, null and {}): a 400 names them.
 */
const INVOICE_SEARCH: Searchable = {
  resource: "invoices",
  list: INVOICES,
  fields: {
    currency: textField(invoices.currency, "indexed", { normalize: (v) => v.toLowerCase() }),
    customer: textField(invoices.customer, "selective"),
    subscription: textField(invoices.subscription, "selective"),
    status: textField(invoices.status, "indexed", { values: ["draft", ...INVOICE_STATUSES] }),
    total: integerField(invoices.amountDue),
    number: unsupportedField("invoices here are not numbered (number is always null)."),
    receipt_number: unsupportedField("invoices here have no receipt number (receipt_number is always null)."),
  },
  noMetadata: "invoices here carry no metadata (it is always {}).",
  selectiveHint: "an exact customer:, subscription: or total: clause",
  indexedHint: "currency:, customer:, subscription:, status:, total:, created",
};

const InvoiceSearchQuery = z.object({ ...f.searchFields, expand: f.expand.optional() }).strict();
const SearchQuery = InvoiceSearchQuery;

/** Subscriptions with their prices (for their items): each price read once. */
export async function renderSubscriptionRows(env: Env, scope: Scope, rows: SubscriptionRow[]): Promise<SubscriptionJson[]> {
  const ids = [...new Set(rows.map((row) => row.price))];
  const found = new Map(await Promise.all(ids.map(async (id) => [id, await priceOf(env, scope, id)] as const)));
  return rows.map((row) => renderSubscription(row, undefined, found.get(row.price) ?? null));
}

/** What an invoice's answer expands: its payment intent, and Stripe's includable confirmation_secret. */
interface InvoiceExpand {
  /** Where the invoice is, for a refusal's words: "" or "latest_invoice.". */
  prefix: string;
  paymentIntent: boolean;
  confirmationSecret: boolean;
}

/** The invoice expansions asked for, under `prefix` (`latest_invoice.` on a subscription). */
const invoiceExpand = (expand: Set<string>, prefix = ""): InvoiceExpand => ({
  prefix,
  paymentIntent: expand.has(`${prefix}payment_intent`),
  confirmationSecret: expand.has(`${prefix}confirmation_secret`),
});

async function renderInvoiceExpanded(c: Ctx, principal: Principal, row: InvoiceRow, expand: InvoiceExpand): Promise<InvoiceJson> {
  if (!expand.paymentIntent && !expand.confirmationSecret) return renderInvoice(row);
  // The payment intent, and its client_secret (the confirmation secret: a way to pay it), are a
  // payment's to read: billing.view alone does not show them (the rule of every expand).
  assertMayExpand(principal, `${expand.prefix}${expand.paymentIntent ? "payment_intent" : "confirmation_secret"}`, "payment_intent");
  // The intent of the invoice's latest attempt, read through its Durable Object in the caller's scope.
  const intent = row.paymentIntent ? await intentStub(c.env, row.paymentIntent).retrieve(principal, row.paymentIntent) : null;
  return renderInvoice(row, {
    ...(expand.paymentIntent && intent ? { paymentIntent: intentJson(c, intent) as unknown as Record<string, unknown> } : {}),
    // Stripe's: the client_secret of the payment intent made for the invoice, for the customer to
    // confirm it (the subscription quickstart's latest_invoice.confirmation_secret.client_secret);
    // null while the invoice has none (nothing to pay, or no attempt made yet).
    ...(expand.confirmationSecret ? { confirmationSecret: intent ? { client_secret: intent.clientSecret, type: "payment_intent" as const } : null } : {}),
  });
}

/** The subscription's price, for its item (Stripe renders the price object there); null if it is gone. */
async function priceOf(env: Env, scope: Scope, id: string): Promise<PriceRow | null> {
  return findPrice(env.DB, scope, id).catch((err: unknown) => (err instanceof ApiError ? null : Promise.reject(err)));
}

/**
 * Subscriptions with what `expand` (expandPaths' answer) asks for: their latest invoice rendered here
 * (with its payment intent and Stripe's includable confirmation_secret), the rest read by expandObjects
 * (customer, default_payment_method, test_clock, items.data.price.product, latest_invoice.customer...).
 */
async function renderSubscriptionsExpanded(c: Ctx, principal: Principal, rows: SubscriptionRow[], expand: Set<string>): Promise<SubscriptionJson[]> {
  const rendered = await renderSubscriptionRows(c.env, principal, rows);
  // latest_invoice.<field> expands the invoice as well, as at Stripe.
  if (expand.has("latest_invoice")) {
    for (const [i, row] of rows.entries()) {
      const invoice = row.latestInvoice ? await invoiceById(c.env.DB, row.latestInvoice) : null;
      const subscription = rendered[i];
      if (invoice && subscription) subscription.latest_invoice = await renderInvoiceExpanded(c, principal, invoice, invoiceExpand(expand, "latest_invoice."));
    }
  }
  await expandObjects(c, principal, rendered, "subscription", [...expand]);
  return rendered;
}

async function renderSubscriptionExpanded(c: Ctx, principal: Principal, row: SubscriptionRow, expand: Set<string>): Promise<SubscriptionJson> {
  const [rendered] = await renderSubscriptionsExpanded(c, principal, [row], expand);
  if (!rendered) throw new Error(`subscription ${row.id} not rendered`);
  return rendered;
}

/** Invoices with what `expand` asks for: their payment intent and confirmation_secret here, the rest (customer, test_clock...) read by expandObjects. */
async function renderInvoicesExpanded(c: Ctx, principal: Principal, rows: InvoiceRow[], expand: Set<string>): Promise<InvoiceJson[]> {
  const rendered = await Promise.all(rows.map((row) => renderInvoiceExpanded(c, principal, row, invoiceExpand(expand))));
  await expandObjects(c, principal, rendered, "invoice", [...expand]);
  return rendered;
}

/** Stripe's InvoicePayment (object invoice_payment): one payment of an invoice, here one attempt's payment intent. */
export interface InvoicePaymentJson {
  id: string;
  object: "invoice_payment";
  amount_paid: number | null;
  amount_requested: number;
  created: number;
  currency: string;
  invoice: string;
  is_default: boolean;
  livemode: boolean;
  payment: { type: "payment_intent"; payment_intent: string };
  status: "open" | "paid" | "canceled";
  status_transitions: { canceled_at: number | null; paid_at: number | null };
}

/** At most this many attempts' payments are listed (dunning makes a handful). */
export const MAX_INVOICE_PAYMENTS = 20;

/**
 * An invoice payment's id: `inpay_` and the body of its payment intent's id (as a charge's id shares
 * its intent's), so that GET /v1/invoice_payments/{id} finds its intent, and through it its invoice,
 * with no table of its own; the expand and the routes name the same object by the same id.
 */
export const invoicePaymentId = (intentId: string): string => `inpay_${intentId.slice(3)}`;

/** The payment intent an invoice payment id names (null: not an invoice payment's id). */
export function intentOfInvoicePayment(id: string): string | null {
  return hasPrefix(id, "inpay") && id.length === "inpay_".length + ID_BODY_LENGTH ? `pi_${id.slice("inpay_".length)}` : null;
}

/** Stripe's InvoicePayment of attempt `n` of an invoice, paid (or not) through `intent`. */
export function renderInvoicePayment(row: InvoiceRow, n: number, intent: IntentRecord): InvoicePaymentJson {
  const paid = intent.status === "succeeded";
  return {
    id: invoicePaymentId(intent.id),
    object: "invoice_payment",
    amount_paid: paid ? intent.amountReceived : null,
    amount_requested: intent.amount,
    created: Math.floor(intent.created / 1000),
    currency: intent.currency,
    invoice: row.id,
    is_default: n === 1,
    livemode: intent.livemode,
    payment: { type: "payment_intent", payment_intent: intent.id },
    status: paid ? "paid" : intent.status === "canceled" ? "canceled" : "open",
    status_transitions: {
      canceled_at: intent.canceledAt === null ? null : Math.floor(intent.canceledAt / 1000),
      paid_at: paid && row.paidAt !== null && row.paymentIntent === intent.id ? Math.floor(row.paidAt / 1000) : null,
    },
  };
}

/**
 * An invoice's payments, oldest first, one per payment attempt's intent (attempt n is paid through the
 * intent derived from (invoice, n); an intent opened for the customer and not confirmed yet holds the
 * next number). Stripe's status: paid (the intent succeeded), canceled (it was canceled), otherwise
 * open; amount_paid null until paid. is_default: the first, the payment made when the invoice was
 * finalized. The row must be the principal's (its merchant and mode).
 */
export async function invoicePaymentsOf(c: Ctx, principal: Principal, row: InvoiceRow): Promise<InvoicePaymentJson[]> {
  const data: InvoicePaymentJson[] = [];
  for (let n = 1; n <= Math.min(row.attemptCount + 1, MAX_INVOICE_PAYMENTS); n++) {
    const id = await attemptIntentId(row.id, n);
    const intent = await intentStub(c.env, id).retrieve(principal, id);
    if (intent) data.push(renderInvoicePayment(row, n, intent));
  }
  return data;
}

/** Stripe's includable Invoice `payments` (expand[]=payments): the invoice's payments, oldest first (invoicePaymentsOf). */
export async function invoicePayments(c: Ctx, principal: Principal, invoiceId: string) {
  const row = await invoiceById(c.env.DB, invoiceId);
  if (!row || row.merchantId !== principal.merchantId || row.livemode !== principal.livemode) return undefined;
  const data = await invoicePaymentsOf(c, principal, row);
  return { object: "list" as const, data, has_more: false, url: `/v1/invoice_payments?invoice=${row.id}` };
}

/**
 * A customer's subscriptions that have not been canceled, newest first, a page of them (a range of
 * subscriptions_customer_list): Stripe's includable customer `subscriptions`, and its list at `url`.
 */
export async function customerSubscriptions(c: Ctx, principal: Principal, customer: string, page: PageRequest, expand: Set<string>) {
  const filters = [eq(subscriptions.customer, customer), sql`${subscriptions.status} <> 'canceled'`];
  const rows = await pageOf(c.env.DB, SUBSCRIPTIONS, principal, filters, page, (where, order, limit) => db(c.env.DB).select().from(subscriptions).where(where).orderBy(...order).limit(limit));
  return { ...listObject(`/v1/customers/${customer}/subscriptions`, rows, (row) => row), data: await renderSubscriptionsExpanded(c, principal, rows.items, expand) };
}

export function registerSubscriptions(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/customers/{id}/subscriptions",
      permission: "billing.view",
      summary: "A customer's subscriptions that have not been canceled, newest first (the list of the customer's expand[]=subscriptions)",
      tag: TAG,
      query: z.object(f.listFields).strict(),
      response: listOf(SubscriptionSchema, "CustomerSubscriptionList"),
    },
    async (c, { params, query, principal }) => {
      const customer = await liveCustomer(c.env.DB, principal, params.id ?? "", "id");
      return json(c, await customerSubscriptions(c, principal, customer.id, pageRequest(query), subscriptionExpand(query.expand, true)));
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/subscriptions",
      permission: "billing.manage",
      summary: "Subscribe a customer to a price; the first invoice is charged now (3DS leaves it `incomplete`), or after the trial",
      tag: TAG,
      body: CreateBody,
      response: SubscriptionSchema,
    },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "subscriptions.create", "", body, async () => {
        const expand = subscriptionExpand(body.expand);
        const item = body.items?.[0];
        if (item && body.price !== undefined) throw invalidRequest("Pass either price or items, not both.", "items");
        if (body.payment_behavior === "error_if_incomplete" || body.payment_behavior === "pending_if_incomplete") {
          throw new ApiError({
            status: 400,
            type: "invalid_request_error",
            code: "parameter_not_supported",
            param: "payment_behavior",
            message: `The parameter payment_behavior=${body.payment_behavior} is not supported yet: use allow_incomplete (the first invoice is charged at creation with the default payment method) or default_incomplete (its payment intent is left for the customer to confirm with latest_invoice.payment_intent.client_secret).`,
          });
        }
        if (item && (item.price === undefined) === (item.price_data === undefined)) throw invalidRequest("Pass either items[0][price] or items[0][price_data].", "items[0][price]", "parameter_missing");
        const priceId = item?.price ?? body.price;
        if (!priceId && !item?.price_data) throw invalidRequest("Name the price: price (or items[0][price]).", "price", "parameter_missing");
        const customer = await liveCustomer(c.env.DB, principal, body.customer);
        const data = item?.price_data;
        const price = data
          ? // An ad-hoc price, made archived (as at Stripe); the subscription made with it still uses it.
            {
              ...(await createInlinePrice(
                c.env,
                principal,
                { currency: data.currency, unitAmount: data.unit_amount, interval: data.recurring.interval, intervalCount: data.recurring.interval_count ?? 1, product: data.product },
                "items[0][price_data]",
                c.get("requestId"),
              )),
              active: true,
            }
          : await findRecurringPrice(c.env.DB, principal, priceId ?? "", item ? "items[0][price]" : "price");
        // As at Stripe, a subscription bills in the currency it names, which its price must have (one
        // currency per price here): another is refused, not billed in the price's currency instead.
        if (body.currency !== undefined && body.currency !== price.currency) {
          throw invalidRequest(`The price ${price.id} is in ${price.currency}, not ${body.currency}: a subscription bills in its price's currency.`, "currency", "currency_mismatch");
        }
        const row = await createSubscription(c.env, principal, {
          customer,
          price,
          quantity: item?.quantity ?? body.quantity ?? 1,
          trialPeriodDays: body.trial_period_days ?? null,
          defaultPaymentMethod: body.default_payment_method ?? null,
          saveDefaultPaymentMethod: body.payment_settings?.save_default_payment_method,
          metadata: body.metadata ?? {},
          itemMetadata: item?.metadata,
          origin: new URL(c.req.url).origin,
          requestId: c.get("requestId"),
          paymentBehavior: body.payment_behavior === "default_incomplete" ? "default_incomplete" : "allow_incomplete",
        });
        return { status: 200, body: await renderSubscriptionExpanded(c, principal, row, expand) };
      }),
  );

  // Before /v1/subscriptions/{id}, so that "search" is not taken for an id.
  route(
    app,
    {
      method: "get",
      path: "/v1/subscriptions/search",
      permission: "billing.view",
      summary: "Search subscriptions (canceled ones too): status, metadata['key'], created; joined by AND or by OR",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(SubscriptionSchema, "SubscriptionSearchResult"),
    },
    async (c, { query, principal }) => {
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = subscriptionExpand(objectExpand, true);
      const page = await searchPage(c.env.DB, SUBSCRIPTION_SEARCH, principal, { query: query.query, limit: query.limit ?? 10, page: query.page }, tableRows(c.env.DB, subscriptions));
      const totalCount = total ? await searchTotal(c.env.DB, SUBSCRIPTION_SEARCH, principal, query.query, subscriptions) : undefined;
      return json(c, searchResult("/v1/subscriptions/search", page, await renderSubscriptionsExpanded(c, principal, page.items, expand), totalCount));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/subscriptions/{id}", permission: "billing.view", summary: "Retrieve a subscription (expand latest_invoice, latest_invoice.payment_intent, latest_invoice.confirmation_secret)", tag: TAG, query: ExpandQuery, response: SubscriptionSchema },
    async (c, { params, query, principal }) => {
      const expand = subscriptionExpand(query.expand);
      return json(c, await renderSubscriptionExpanded(c, principal, await findSubscription(c.env.DB, principal, params.id ?? ""), expand));
    },
  );

  route(
    app,
    { method: "post", path: "/v1/subscriptions/{id}", permission: "billing.manage", summary: "Update a subscription: default payment method, payment_settings[save_default_payment_method], cancel_at_period_end, metadata", tag: TAG, body: UpdateBody, response: SubscriptionSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "subscriptions.update", params.id ?? "", body, async () => {
        const expand = subscriptionExpand(body.expand);
        const row = await findSubscription(c.env.DB, principal, params.id ?? "");
        // An ended subscription takes its metadata and cancellation_details only (Stripe's
        // invalid_canceled_subscription_fields); the engine checks again on the row it changes.
        const changesMore = Object.keys(body).some((key) => !CANCELED_UPDATABLE.has(key));
        const ended = ENDED_STATUSES.includes(row.status);
        if (ended && changesMore) throw canceledSubscriptionFields();
        // Its customer may be gone (deleting a customer cancels its subscriptions): not needed then.
        const customer = ended ? null : await liveCustomer(c.env.DB, principal, row.customer);
        const next = await changeSubscription(c.env, principal, customer, row.id, {
          defaultPaymentMethod: body.default_payment_method,
          saveDefaultPaymentMethod: body.payment_settings?.save_default_payment_method,
          cancelAtPeriodEnd: body.cancel_at_period_end,
          metadata: body.metadata,
          cancellationDetails: body.cancellation_details,
          changesMore,
        });
        return { status: 200, body: await renderSubscriptionExpanded(c, principal, next, expand) };
      }),
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/subscriptions/{id}",
      permission: "billing.manage",
      summary: "Cancel a subscription now (its open invoices are voided; cancellation_details kept); for the end of the period, update cancel_at_period_end",
      tag: TAG,
      query: CancelQuery,
      response: SubscriptionSchema,
    },
    async (c, { params, query, principal }) => {
      const expand = subscriptionExpand(query.expand);
      if (query.prorate === true) {
        throw new ApiError({
          status: 400,
          type: "invalid_request_error",
          code: "parameter_not_supported",
          param: "prorate",
          message: "The parameter prorate=true is not supported: subscriptions here are never prorated (the period paid for is not credited back). Cancel with prorate=false, or omit it.",
        });
      }
      const row = await findSubscription(c.env.DB, principal, params.id ?? "");
      // Ended already (canceled, or expired before its first payment): answered as it is.
      if (ENDED_STATUSES.includes(row.status)) return json(c, await renderSubscriptionExpanded(c, principal, row, expand));
      // invoice_now: nothing is left to invoice (no metered usage, prorations or invoice items here).
      // Its cancellation_details (reason cancellation_requested) are written with the cancellation, so that its deletion's event carries them.
      const ended = await cancelSubscription(c.env, principal, row.id, await clockNow(c.env, row.testClock), c.get("requestId"), query.cancellation_details ?? {});
      return json(c, await renderSubscriptionExpanded(c, principal, ended, expand));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/subscriptions", permission: "billing.view", summary: "List subscriptions, newest first (all but canceled unless status is given)", tag: TAG, query: ListQuery, response: listOf(SubscriptionSchema, "SubscriptionList") },
    async (c, { query, principal }) => {
      const expand = subscriptionExpand(query.expand, true);
      const filters = [
        ...(query.customer !== undefined ? [eq(subscriptions.customer, query.customer)] : []),
        ...(query.price !== undefined ? [eq(subscriptions.price, query.price)] : []),
        ...(query.test_clock !== undefined ? [eq(subscriptions.testClock, query.test_clock)] : []),
        ...createdConditions(subscriptions.created, query.created),
        ...(query.collection_method === "send_invoice" ? [NO_ROWS] : []),
        // The default's and ended's conditions are written as the partial indexes subscriptions_open's
        // and subscriptions_ended's, so the list walks them; nothing pauses here (paused: none).
        ...(query.status === "all"
          ? []
          : query.status === "ended"
            ? [sql`${subscriptions.status} IN ('canceled', 'incomplete_expired')`]
            : query.status === "paused"
              ? [NO_ROWS]
              : query.status
                ? [eq(subscriptions.status, query.status)]
                : [sql`${subscriptions.status} <> 'canceled'`]),
      ];
      // The customer, price and test clock named must be the merchant's (a 400 resource_missing otherwise; a deleted customer is still known).
      const named: FilterId[] = [
        { object: "customer", id: query.customer },
        { object: "price", id: query.price },
        { object: "test_clock", id: query.test_clock },
      ];
      const page = await checkedList(c.env.DB, principal, named, () =>
        pageOf(c.env.DB, SUBSCRIPTIONS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(subscriptions).where(where).orderBy(...order).limit(limit)),
      );
      return json(c, { ...listObject("/v1/subscriptions", page, (row) => row), data: await renderSubscriptionsExpanded(c, principal, page.items, expand) });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/subscription_items", permission: "billing.view", summary: "A subscription's items (one: its price and quantity; expand[]=data.price.product)", tag: TAG, query: z.object({ subscription: f.text(255), ...f.listFields }).strict(), response: listOf(SubscriptionItemSchema, "SubscriptionItemList") },
    async (c, { query, principal }) => {
      const expand = expandPaths(query.expand, "subscription_item", true);
      const row = await findSubscription(c.env.DB, principal, query.subscription, "subscription");
      const items = (await renderSubscriptionRows(c.env, principal, [row]))[0]?.items.data ?? [];
      return json(c, { object: "list", data: await expanded(c, principal, items, "subscription_item", expand), has_more: false, url: `/v1/subscription_items?subscription=${row.id}` });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/subscription_items/{id}", permission: "billing.view", summary: "Retrieve a subscription item (expand[]=price.product)", tag: TAG, query: ExpandQuery, response: SubscriptionItemSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "subscription_item");
      const id = params.id ?? "";
      const row = await findSubscription(c.env.DB, principal, id.startsWith("si_") ? `sub_${id.slice(3)}` : "", "id").catch((err: unknown) =>
        Promise.reject(err instanceof ApiError ? resourceMissing("subscription_item", id.slice(0, 80), "id") : err),
      );
      const [item] = (await renderSubscriptionRows(c.env, principal, [row]))[0]?.items.data ?? [];
      if (!item) throw resourceMissing("subscription_item", id.slice(0, 80), "id");
      const [answer] = await expanded(c, principal, [item], "subscription_item", expand);
      return json(c, answer);
    },
  );

  // Before /v1/invoices/{id}, so that "search" is not taken for an id.
  route(
    app,
    {
      method: "get",
      path: "/v1/invoices/search",
      permission: "billing.view",
      summary: "Search invoices: currency, customer, subscription, status, total (`:`, or `>`, `>=`, `<`, `<=` bounded by an exact clause or a created window), created; joined by AND or by OR (expand[]=data.payment_intent, data.confirmation_secret)",
      tag: TAG,
      query: InvoiceSearchQuery,
      response: searchResultOf(InvoiceSchema, "InvoiceSearchResult"),
    },
    async (c, { query, principal }) => {
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = checkInvoiceExpand(objectExpand, true);
      const page = await searchPage(c.env.DB, INVOICE_SEARCH, principal, { query: query.query, limit: query.limit ?? 10, page: query.page }, tableRows(c.env.DB, invoices));
      const totalCount = total ? await searchTotal(c.env.DB, INVOICE_SEARCH, principal, query.query, invoices) : undefined;
      return json(c, searchResult("/v1/invoices/search", page, await renderInvoicesExpanded(c, principal, page.items, expand), totalCount));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/invoices/{id}/lines", permission: "billing.view", summary: "An invoice's line items (expand[]=data.subscription, data.pricing.price_details.price)", tag: TAG, query: z.object(f.listFields).strict(), response: z.object({ object: z.literal("list"), data: z.array(z.record(z.string(), z.unknown())), has_more: z.boolean(), url: z.string() }) },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "line_item", true);
      const lines = renderInvoice(await findInvoice(c.env.DB, principal, params.id ?? "")).lines;
      return json(c, { object: "list", data: await expanded(c, principal, lines.data, "line_item", expand), has_more: false, url: lines.url });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/invoices/{id}", permission: "billing.view", summary: "Retrieve an invoice (expand payment_intent, confirmation_secret)", tag: TAG, query: ExpandQuery, response: InvoiceSchema },
    async (c, { params, query, principal }) => {
      const expand = checkInvoiceExpand(query.expand);
      const [answer] = await renderInvoicesExpanded(c, principal, [await findInvoice(c.env.DB, principal, params.id ?? "")], expand);
      return json(c, answer);
    },
  );

  route(
    app,
    { method: "get", path: "/v1/invoices", permission: "billing.view", summary: "List invoices, newest first, by customer or subscription", tag: TAG, query: InvoiceListQuery, response: listOf(InvoiceSchema, "InvoiceList") },
    async (c, { query, principal }) => {
      const expand = checkInvoiceExpand(query.expand, true);
      const filters = [
        ...(query.customer !== undefined ? [eq(invoices.customer, query.customer)] : []),
        ...(query.subscription !== undefined ? [eq(invoices.subscription, query.subscription)] : []),
        // No invoice here is ever a draft (each is finalized as it is made).
        ...(query.status === "draft" ? [NO_ROWS] : query.status !== undefined ? [eq(invoices.status, query.status)] : []),
        ...createdConditions(invoices.created, query.created),
        ...(query.collection_method === "send_invoice" ? [NO_ROWS] : []),
      ];
      // The customer and subscription named must be the merchant's (a 400 resource_missing otherwise; a deleted customer is still known).
      const named: FilterId[] = [
        { object: "customer", id: query.customer },
        { object: "subscription", id: query.subscription },
      ];
      const page = await checkedList(c.env.DB, principal, named, () =>
        pageOf(c.env.DB, INVOICES, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(invoices).where(where).orderBy(...order).limit(limit)),
      );
      return json(c, { object: "list", data: await renderInvoicesExpanded(c, principal, page.items, expand), has_more: page.hasMore, url: "/v1/invoices" });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/invoices/create_preview",
      permission: "billing.view",
      summary: "Preview the invoice a subscription's next renewal will make (Stripe's invoices.createPreview): a draft, `upcoming_in_...`, nothing written",
      tag: TAG,
      body: PreviewBody,
      response: InvoiceSchema,
    },
    async (c, { body, principal }) => {
      const expand = checkInvoiceExpand(body.expand);
      if (body.subscription === undefined && body.customer === undefined) {
        throw invalidRequest("Provide a subscription or a customer to preview their upcoming invoice.", "subscription", "parameter_missing");
      }
      if (body.customer !== undefined) await liveCustomer(c.env.DB, principal, body.customer, "customer");
      let row: SubscriptionRow;
      if (body.subscription !== undefined) {
        row = await findSubscription(c.env.DB, principal, body.subscription, "subscription");
        if (body.customer !== undefined && row.customer !== body.customer) {
          throw invalidRequest(`The subscription ${row.id} does not belong to the customer ${body.customer}.`, "customer", "invoice_upcoming_none");
        }
      } else {
        // Stripe's: the next upcoming invoice from among the customer's subscriptions, the soonest renewal.
        const ids = await liveSubscriptionIds(c.env.DB, body.customer ?? "");
        const rows = (await Promise.all(ids.map((id) => findSubscription(c.env.DB, principal, id).catch(() => null)))).filter((r): r is SubscriptionRow => r !== null && !r.cancelAtPeriodEnd);
        const soonest = rows.sort((a, b) => a.currentPeriodEnd - b.currentPeriodEnd)[0];
        if (!soonest) throw invalidRequest(`No upcoming invoices for customer: ${body.customer ?? ""}`, "customer", "invoice_upcoming_none");
        row = soonest;
      }
      const preview = await previewRenewal(c.env, row);
      if (!preview) throw invalidRequest(`No upcoming invoices for subscription: ${row.id}`, "subscription", "invoice_upcoming_none");
      const [rendered] = await renderInvoicesExpanded(c, principal, [preview], expand);
      if (!rendered) throw new Error(`preview of ${row.id} not rendered`);
      // A preview, as Stripe renders one: a draft, not finalized, attempted never, with no page or payment yet.
      return json(c, {
        ...rendered,
        status: "draft",
        paid: false,
        attempted: false,
        next_payment_attempt: null,
        effective_at: null,
        hosted_invoice_url: null,
        status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
        lines: { ...rendered.lines, data: rendered.lines.data.map((line) => ({ ...line, id: `il_tmp_${row.id.slice(row.id.indexOf("_") + 1)}`, invoice: null })) },
      });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/invoices/{id}/pay",
      permission: "billing.manage",
      summary: "Attempt to pay an open (or uncollectible) invoice now, optionally with another saved payment method",
      tag: TAG,
      body: PayBody,
      response: InvoiceSchema,
    },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "invoices.pay", params.id ?? "", body, async () => {
        const expand = checkInvoiceExpand(body.expand);
        const row = await findInvoice(c.env.DB, principal, params.id ?? "");
        if (row.status === "paid") throw invalidRequest("Invoice is already paid.", undefined, "invoice_already_paid");
        if (row.status === "void") throw invalidRequest("A void invoice cannot be paid.", undefined, "invoice_not_open");
        if (body.payment_method) {
          const pm = await findPaymentMethod(c.env.DB, principal, body.payment_method, "payment_method");
          if (pm.customer !== row.customer) throw invalidRequest(`The payment method ${pm.id} is not attached to the invoice's customer.`, "payment_method", "payment_method_not_attached");
        }
        // Nothing to charge it with (no payment_method given, none on the subscription or the customer):
        // Stripe's 400, before anything is claimed or abandoned, rather than an attempt that charges nothing.
        if (!(await paymentMethodFor(c.env, row, await subscriptionById(c.env.DB, row.subscription), body.payment_method))) {
          throw invalidRequest("This customer has no attached payment source or default payment method. Please consider adding a default payment method, or pass payment_method.", "payment_method", "invoice_no_payment_method");
        }
        const { invoice: after, attempted, underWay } = await payInvoice(c.env, row.id, {
          at: await clockNow(c.env, row.testClock),
          onSession: body.off_session === false,
          origin: new URL(c.req.url).origin,
          dueOnly: false,
          paymentMethod: body.payment_method,
          requestId: c.get("requestId"),
        });
        if (!attempted) {
          // Not claimed: another attempt holds it, or it was paid or voided since it was read.
          const now = (await invoiceById(c.env.DB, row.id)) ?? after ?? row;
          if (now.status === "paid") throw invalidRequest("Invoice is already paid.", undefined, "invoice_already_paid");
          if (now.status === "void") throw invalidRequest("A void invoice cannot be paid.", undefined, "invoice_not_open");
          throw invalidRequest("This invoice is being paid right now; retry shortly.", undefined, "invoice_payment_in_progress");
        }
        // A payment this request did not make is being confirmed (the shopper's, on the invoice's page, or
        // one whose outcome the PSP has not told yet): nothing was charged, and the invoice is not paid yet.
        if (underWay && after?.status !== "paid") throw invalidRequest("This invoice is being paid right now; retry shortly.", undefined, "invoice_payment_in_progress");
        // As Stripe's: an attempt the card declined is a 402 card_error (with the payment intent), not a 200 with the invoice still open.
        const declined = after && after.status !== "paid" && after.paymentIntent ? await intentStub(c.env, after.paymentIntent).retrieve(principal, after.paymentIntent) : null;
        const failure = declined?.status === "requires_payment_method" ? declined.lastPaymentError : null;
        if (declined && failure && failure.type === "card_error") {
          const error = { status: 402, type: "card_error" as const, code: failure.code, message: failure.message, declineCode: failure.declineCode ?? undefined };
          return { status: 402, body: v1ErrorBody(error, { paymentIntent: intentJson(c, declined) }) };
        }
        const [answer] = await renderInvoicesExpanded(c, principal, [after ?? row], expand);
        return { status: 200, body: answer };
      }),
  );

  for (const action of ["void", "mark_uncollectible"] as const) {
    route(
      app,
      {
        method: "post",
        path: `/v1/invoices/{id}/${action}`,
        permission: "billing.manage",
        summary:
          action === "void"
            ? "Void an open or uncollectible invoice: no further attempt, the payment intent it waits on is canceled; voiding the first invoice of an incomplete subscription expires it, the last one owed by a past_due subscription makes it active"
            : "Mark an open invoice uncollectible: no further attempt, the payment intent it waits on is canceled; it can still be paid (POST /pay); a renewal's subscription takes the merchant's dunning final action",
        tag: TAG,
        body: action === "void" ? VoidBody : MarkUncollectibleBody,
        response: InvoiceSchema,
      },
      async (c, { params, body, principal }) =>
        idempotentD1(c, principal, `invoices.${action}`, params.id ?? "", body, async () => {
          const expand = checkInvoiceExpand(body.expand);
          const row = await findInvoice(c.env.DB, principal, params.id ?? "");
          const result = await closeInvoice(c.env, row.id, action, { origin: new URL(c.req.url).origin, requestId: c.get("requestId") });
          if (!result.done) throw actionRefused(action, result.reason);
          const [answer] = await renderInvoicesExpanded(c, principal, [result.invoice], expand);
          return { status: 200, body: answer };
        }),
    );
  }

  route(
    app,
    {
      method: "post",
      path: "/v1/invoices/{id}/finalize",
      permission: "billing.manage",
      summary: "Finalize a draft invoice: invoices here are finalized when they are made (never drafts), so this answers Stripe's 400 invoice_not_editable for a finalized one",
      tag: TAG,
      body: FinalizeBody,
      response: InvoiceSchema,
    },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "invoices.finalize", params.id ?? "", body, async () => {
        checkInvoiceExpand(body.expand);
        await findInvoice(c.env.DB, principal, params.id ?? "");
        throw invalidRequest("This invoice is already finalized, you can't re-finalize a non-draft invoice.", undefined, "invoice_not_editable");
      }),
  );
}

/** Stripe's 400 for an invoice action its status does not allow (invoice_not_editable), or while a payment of it is under way. */
function actionRefused(action: InvoiceAction, reason: ActionRefusal): ApiError {
  if (reason === "in_progress") return invalidRequest("This invoice is being paid right now; retry shortly.", undefined, "invoice_payment_in_progress");
  if (action === "void") {
    return invalidRequest(reason === "void" ? "This invoice is already void." : "This invoice is paid: only open or uncollectible invoices can be voided.", undefined, "invoice_not_editable");
  }
  return invalidRequest(`This invoice is ${reason}: only open invoices can be marked uncollectible.`, undefined, "invoice_not_editable");
}
