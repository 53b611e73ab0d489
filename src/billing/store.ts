// Billing objects in D1: their rows, scoped finders and /v1 renderers (Stripe's shapes).
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { invalidRequest, resourceMissing } from "../core/errors";
import { hasPrefix } from "../core/ids";
import { renderAddress, renderBillingDetails, renderPaymentMethodCard, type AddressJson, type BillingDetailsJson, type PaymentMethodCardJson } from "../core/objects";
import type { BillingAddress, CustomerShipping, Metadata, PaymentMethodDetails, Scope } from "../core/types";
import { effectiveSetupFutureUsage, isPaid } from "../core/intent";
import { customers, invoices, paymentIntents, paymentMethods, prices, subscriptions, testClocks } from "../db/schema";
import { intentFromRow, intentRow } from "../db/intent-row";
import type { Interval } from "./periods";

export type CustomerRow = typeof customers.$inferSelect;
export type PaymentMethodRow = typeof paymentMethods.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type TestClockRow = typeof testClocks.$inferSelect;

export const SUBSCRIPTION_STATUSES = ["incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid"] as const;
/** Terminal: nothing more is billed, and the subscription cannot be changed. */
export const ENDED_STATUSES: readonly string[] = ["canceled", "incomplete_expired"];
/**
 * The subscriptions that have not ended, as SQL: the literal of the partial index
 * `subscriptions_customer_live` (migration 0036), repeated by each query that counts or reads a
 * customer's, so the planner can use it.
 */
export const LIVE_SUBSCRIPTION = "status NOT IN ('canceled', 'incomplete_expired')";
/** The most subscriptions a customer may have that have not ended (Stripe's: 500 active or scheduled). */
export const MAX_CUSTOMER_SUBSCRIPTIONS = 500;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export const INVOICE_STATUSES = ["open", "paid", "uncollectible", "void"] as const;

export const db = (d1: D1Database) => drizzle(d1);
const seconds = (ms: number) => Math.floor(ms / 1000);
const secondsOrNull = (ms: number | null) => (ms === null ? null : seconds(ms));
export const parseMetadata = (text: string): Metadata => JSON.parse(text || "{}") as Metadata;
export const parseDetails = (row: PaymentMethodRow): PaymentMethodDetails => ({ ...(JSON.parse(row.details) as PaymentMethodDetails), id: row.id });

// ---- finders: another merchant's (or mode's) object does not exist -------------------------------

export async function findCustomer(d1: D1Database, scope: Scope, id: string, param = "customer"): Promise<CustomerRow> {
  const [row] = hasPrefix(id, "cus")
    ? await db(d1).select().from(customers).where(and(eq(customers.id, id), eq(customers.merchantId, scope.merchantId), eq(customers.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("customer", id.slice(0, 80), param);
  return row;
}

/** A customer that can still be billed (a deleted one is 404 to new work). */
export async function liveCustomer(d1: D1Database, scope: Scope, id: string, param = "customer"): Promise<CustomerRow> {
  const row = await findCustomer(d1, scope, id, param);
  if (row.deleted) throw resourceMissing("customer", id.slice(0, 80), param);
  return row;
}

export async function findPaymentMethod(d1: D1Database, scope: Scope, id: string, param = "payment_method"): Promise<PaymentMethodRow> {
  const row = await savedPaymentMethod(d1, scope, id);
  if (!row) throw resourceMissing("payment_method", id.slice(0, 80), param);
  return row;
}

/**
 * Stripe's answer to attaching a payment method made for a payment and never saved (GET
 * /v1/payment_methods/{id} shows it), where a saved one is looked for: not a "no such payment method"
 * about an id the caller can read. Answers nothing for an id no payment carries.
 */
export async function assertNotUsedUnsaved(d1: D1Database, scope: Scope, id: string, param: string): Promise<void> {
  if (!hasPrefix(id, "pm") || !(await usedUnsaved(d1, scope, id))) return;
  throw invalidRequest(
    `The PaymentMethod ${id} was previously used with a PaymentIntent without Customer attachment, or was detached from a Customer, and may not be used again. Use a new PaymentMethod, or attach one to a Customer first.`,
    param,
    "payment_method_unexpected_state",
  );
}

/** A saved payment method of this merchant and mode, or null. */
export async function savedPaymentMethod(d1: D1Database, scope: Scope, id: string): Promise<PaymentMethodRow | null> {
  if (!hasPrefix(id, "pm")) return null;
  const [row] = await db(d1).select().from(paymentMethods).where(and(eq(paymentMethods.id, id), eq(paymentMethods.merchantId, scope.merchantId), eq(paymentMethods.livemode, scope.livemode))).limit(1);
  return row ?? null;
}

/** At most this many payments carrying one payment method are read to tell whether it was used unsaved. */
const USES_READ = 20;

/**
 * Whether a payment of this merchant and mode carries the payment method `id`
 * (payment_intents_payment_method) without preparing it for future use: as at Stripe, a payment with
 * setup_future_usage and no customer leaves its card attachable to a customer afterwards; any other
 * payment uses it up. More uses than are read count as used up.
 */
async function usedUnsaved(d1: D1Database, scope: Scope, id: string): Promise<boolean> {
  const rows = await db(d1)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(eq(paymentIntents.paymentMethodId, id), eq(paymentIntents.merchantId, scope.merchantId), eq(paymentIntents.livemode, scope.livemode)))
    .limit(USES_READ);
  return rows.length === USES_READ || rows.some((row) => effectiveSetupFutureUsage(intentFromRow(row)) === null);
}

/**
 * The card a payment prepared for future use (setup_future_usage) with no customer to save it to,
 * never saved since (a payment with a customer saved it there): once that payment went through
 * (succeeded, or authorized for capture), it may be attached to a customer, as Stripe allows "after
 * the transaction completes". Null for anything else: a saved payment method, a payment still under
 * way, one made for a customer, or one made without setup_future_usage.
 */
export async function preparedForFutureUse(d1: D1Database, scope: Scope, id: string): Promise<PaymentMethodDetails | null> {
  if (!hasPrefix(id, "pm") || (await savedPaymentMethod(d1, scope, id))) return null;
  const [row] = await db(d1)
    .select(intentRow)
    .from(paymentIntents)
    .where(and(eq(paymentIntents.paymentMethodId, id), eq(paymentIntents.merchantId, scope.merchantId), eq(paymentIntents.livemode, scope.livemode)))
    .limit(1);
  const intent = row ? intentFromRow(row) : null;
  const pm = intent?.paymentMethod;
  // A payment with a customer saves its card to that customer (saveFromIntent), never to another.
  if (!intent || intent.customer !== null || pm?.id !== id || pm.type !== "card" || !isPaid(intent) || effectiveSetupFutureUsage(intent) === null) return null;
  return pm;
}

/**
 * What the prices table's `interval` holds for a one-time price (Stripe's `type: one_time`, no
 * `recurring`): sold through Checkout, never the price of a subscription. Its interval_count is 0.
 */
export const ONE_TIME = "one_time";

export function isRecurring(row: PriceRow): boolean {
  return row.interval !== ONE_TIME;
}

/** A price a subscription may bill: the merchant's, and recurring (Stripe's answer to a one-time price). */
export async function findRecurringPrice(d1: D1Database, scope: Scope, id: string, param = "price"): Promise<PriceRow> {
  const row = await findPrice(d1, scope, id, param);
  if (!isRecurring(row)) {
    throw invalidRequest(`The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`, param);
  }
  return row;
}

export async function findPrice(d1: D1Database, scope: Scope, id: string, param = "price"): Promise<PriceRow> {
  const [row] = hasPrefix(id, "price")
    ? await db(d1).select().from(prices).where(and(eq(prices.id, id), eq(prices.merchantId, scope.merchantId), eq(prices.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("price", id.slice(0, 80), param);
  return row;
}

export async function findSubscription(d1: D1Database, scope: Scope, id: string, param = "id"): Promise<SubscriptionRow> {
  const [row] = hasPrefix(id, "sub")
    ? await db(d1).select().from(subscriptions).where(and(eq(subscriptions.id, id), eq(subscriptions.merchantId, scope.merchantId), eq(subscriptions.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("subscription", id.slice(0, 80), param);
  return row;
}

export async function findInvoice(d1: D1Database, scope: Scope, id: string, param = "id"): Promise<InvoiceRow> {
  const [row] = hasPrefix(id, "in")
    ? await db(d1).select().from(invoices).where(and(eq(invoices.id, id), eq(invoices.merchantId, scope.merchantId), eq(invoices.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("invoice", id.slice(0, 80), param);
  return row;
}

export async function findTestClock(d1: D1Database, scope: Scope, id: string, param = "test_clock"): Promise<TestClockRow> {
  const [row] = hasPrefix(id, "clock")
    ? await db(d1).select().from(testClocks).where(and(eq(testClocks.id, id), eq(testClocks.merchantId, scope.merchantId), eq(testClocks.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("test_clock", id.slice(0, 80), param);
  return row;
}

/**
 * The distinct recurring intervals of a test clock's subscriptions that have not ended (each bills its
 * price's interval_count intervals a period): what bounds how far one advance of the clock may go.
 */
export async function clockIntervals(d1: D1Database, clockId: string): Promise<{ interval: Interval; intervalCount: number }[]> {
  const rows = await db(d1)
    .selectDistinct({ interval: prices.interval, intervalCount: prices.intervalCount })
    .from(subscriptions)
    .innerJoin(prices, eq(prices.id, subscriptions.price))
    .where(and(eq(subscriptions.testClock, clockId), sql`${subscriptions.status} NOT IN ('canceled', 'incomplete_expired')`));
  return rows.filter((r) => r.interval !== ONE_TIME).map((r) => ({ interval: r.interval as Interval, intervalCount: r.intervalCount }));
}

export async function invoiceById(d1: D1Database, id: string): Promise<InvoiceRow | null> {
  const [row] = await db(d1).select().from(invoices).where(eq(invoices.id, id)).limit(1);
  return row ?? null;
}

export async function subscriptionById(d1: D1Database, id: string): Promise<SubscriptionRow | null> {
  const [row] = await db(d1).select().from(subscriptions).where(eq(subscriptions.id, id)).limit(1);
  return row ?? null;
}

// ---- renderers -----------------------------------------------------------------------------------

export interface CustomerJson {
  id: string;
  object: "customer";
  created: number;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Metadata;
  invoice_settings: { custom_fields: null; default_payment_method: string | null; footer: null; rendering_options: null };
  livemode: boolean;
  test_clock: string | null;
  /** Customer balances and sources are not kept. */
  balance: 0;
  default_source: null;
  /** Coupons are not served (a discount parameter is a 400), so a customer never has one. */
  discount: null;
  address: AddressJson | null;
  shipping: CustomerShippingJson | null;
}

/** Stripe's customer.shipping: a name, a phone and an address (no carrier or tracking number). */
export interface CustomerShippingJson {
  address: AddressJson;
  name: string;
  phone: string | null;
}

/** The JSON of a customer's address or shipping column, or null. */
const parseJsonColumn = <T>(text: string | null): T | null => (text ? (JSON.parse(text) as T) : null);

export function renderCustomerShipping(s: CustomerShipping | null): CustomerShippingJson | null {
  return s ? { address: renderAddress(s.address), name: s.name, phone: s.phone } : null;
}

/** Stripe's address of a customer's address column (or an invoice's copy of it), or null. */
export function renderCustomerAddress(text: string | null): AddressJson | null {
  const address = parseJsonColumn<BillingAddress>(text);
  return address ? renderAddress(address) : null;
}

export function renderCustomer(row: CustomerRow): CustomerJson {
  return {
    id: row.id,
    object: "customer",
    created: seconds(row.created),
    email: row.email,
    name: row.name,
    phone: row.phone,
    description: row.description,
    metadata: parseMetadata(row.metadata),
    invoice_settings: { custom_fields: null, default_payment_method: row.defaultPaymentMethod, footer: null, rendering_options: null },
    livemode: row.livemode,
    test_clock: row.testClock,
    balance: 0,
    default_source: null,
    discount: null,
    address: renderCustomerAddress(row.address),
    shipping: renderCustomerShipping(parseJsonColumn<CustomerShipping>(row.shipping)),
  };
}

export interface PaymentMethodObjectJson {
  id: string;
  object: "payment_method";
  type: string;
  card: PaymentMethodCardJson | null;
  customer: string | null;
  customer_account: null;
  nickname: string | null;
  metadata: Metadata;
  created: number;
  livemode: boolean;
  billing_details: BillingDetailsJson;
}

export function renderPaymentMethodRow(row: PaymentMethodRow): PaymentMethodObjectJson {
  const details = parseDetails(row);
  const card = details.card;
  return {
    id: row.id,
    object: "payment_method",
    type: details.type,
    card: card
      ? renderPaymentMethodCard({ brand: card.brand, last4: card.last4, exp_month: card.expMonth, exp_year: card.expYear, funding: card.funding, country: card.country, fingerprint: card.fingerprint })
      : null,
    customer: row.customer,
    customer_account: null,
    nickname: row.nickname,
    metadata: parseMetadata(row.metadata),
    created: seconds(row.created),
    livemode: row.livemode,
    billing_details: renderBillingDetails(details.billingDetails),
  };
}

export interface PriceJson {
  id: string;
  object: "price";
  active: boolean;
  currency: string;
  unit_amount: number;
  /** Stripe's decimal string of unit_amount. */
  unit_amount_decimal: string;
  /** null for a one-time price. */
  recurring: { interval: Interval; interval_count: number; meter: null; trial_period_days: null; usage_type: "licensed" } | null;
  type: "recurring" | "one_time";
  /** Only per-unit prices of a fixed amount, no taxes here. */
  billing_scheme: "per_unit";
  custom_unit_amount: null;
  /** The merchant's name for the price, unique among its prices in a mode (GET /v1/prices?lookup_keys[]=). */
  lookup_key: string | null;
  tax_behavior: "unspecified";
  tiers_mode: null;
  transform_quantity: null;
  /** The product (prod_...), null for prices made before products existed. */
  product: string | null;
  product_name: string;
  nickname: string | null;
  metadata: Metadata;
  created: number;
  livemode: boolean;
}

export function renderPrice(row: PriceRow): PriceJson {
  return {
    id: row.id,
    object: "price",
    active: row.active,
    currency: row.currency,
    unit_amount: row.unitAmount,
    unit_amount_decimal: String(row.unitAmount),
    recurring: isRecurring(row) ? { interval: row.interval as Interval, interval_count: row.intervalCount, meter: null, trial_period_days: null, usage_type: "licensed" } : null,
    type: isRecurring(row) ? "recurring" : "one_time",
    billing_scheme: "per_unit",
    custom_unit_amount: null,
    lookup_key: row.lookupKey,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    product: row.product,
    product_name: row.productName,
    nickname: row.nickname,
    metadata: parseMetadata(row.metadata),
    created: seconds(row.created),
    livemode: row.livemode,
  };
}

export interface SubscriptionJson {
  id: string;
  object: "subscription";
  customer: string;
  status: SubscriptionStatus;
  items: { object: "list"; data: SubscriptionItemJson[]; has_more: false; total_count: number; url: string };
  price: string;
  quantity: number;
  current_period_start: number;
  current_period_end: number;
  billing_cycle_anchor: number;
  trial_end: number | null;
  cancel_at_period_end: boolean;
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  default_payment_method: string | null;
  latest_invoice: string | InvoiceJson | null;
  metadata: Metadata;
  test_clock: string | null;
  created: number;
  livemode: boolean;
  /** The price's currency (null only if the price is missing). */
  currency: string | null;
  start_date: number;
  trial_start: number | null;
  collection_method: "charge_automatically";
  automatic_tax: { disabled_reason: null; enabled: false; liability: null };
  billing_mode: { flexible: null; type: "classic" };
  /**
   * Stripe's cancellation_details: the stored ones (the row's cancellationDetails: given to
   * DELETE or to an update, or payment_failed when dunning canceled it), else cancellation_requested
   * once cancel_at_period_end is set, otherwise null.
   */
  cancellation_details: CancellationDetailsJson;
  invoice_settings: { account_tax_ids: null; custom_fields: null; description: null; footer: null; issuer: { type: "self" } };
  payment_settings: { payment_method_options: null; payment_method_types: null; save_default_payment_method: "off" | "on_subscription" };
  trial_settings: { end_behavior: { billing_cycle_anchor: null; missing_payment_method: "create_invoice" } };
  billing_schedules: [];
  discounts: [];
  /** Features not served here: always null. */
  application: null;
  application_fee_percent: null;
  billing_cycle_anchor_config: null;
  billing_thresholds: null;
  customer_account: null;
  days_until_due: null;
  default_source: null;
  description: null;
  managed_payments: null;
  next_pending_invoice_item_invoice: null;
  on_behalf_of: null;
  pause_collection: null;
  pending_invoice_item_interval: null;
  pending_setup_intent: null;
  pending_update: null;
  schedule: null;
  transfer_data: null;
}

/** Why a subscription was canceled (Stripe's Subscription.CancellationDetails.Reason of those served here). */
export type CancellationReason = "cancellation_requested" | "payment_failed";

export interface CancellationDetailsJson {
  comment: string | null;
  feedback: string | null;
  feedback_option: string | null;
  reason: CancellationReason | null;
}

/**
 * A subscription's cancellation_details: the stored ones (the JSON of its cancellation_details column,
 * or null: none stored). A stored reason wins; without one, the row's own (cancellation_requested once
 * cancel_at_period_end is set).
 */
function renderCancellationDetails(row: Pick<SubscriptionRow, "cancellationDetails" | "cancelAtPeriodEnd">): CancellationDetailsJson {
  const d: Partial<CancellationDetailsJson> = row.cancellationDetails ? (JSON.parse(row.cancellationDetails) as Partial<CancellationDetailsJson>) : {};
  return { comment: d.comment ?? null, feedback: d.feedback ?? null, feedback_option: d.feedback_option ?? null, reason: d.reason ?? (row.cancelAtPeriodEnd ? "cancellation_requested" : null) };
}

/** Stripe's legacy plan object of a price (subscription items still carry it). */
export interface PlanJson {
  id: string;
  object: "plan";
  active: boolean;
  amount: number;
  amount_decimal: string;
  billing_scheme: "per_unit";
  created: number;
  currency: string;
  interval: Interval;
  interval_count: number;
  livemode: boolean;
  metadata: Metadata;
  meter: null;
  nickname: string | null;
  product: string | null;
  tiers_mode: null;
  /** Stripe's Plan has transform_usage (a Price's is transform_quantity): never set here. */
  transform_usage: null;
  trial_period_days: null;
  usage_type: "licensed";
}

export function renderPlan(row: PriceRow): PlanJson {
  return {
    id: row.id,
    object: "plan",
    active: row.active,
    amount: row.unitAmount,
    amount_decimal: String(row.unitAmount),
    billing_scheme: "per_unit",
    created: seconds(row.created),
    currency: row.currency,
    interval: row.interval as Interval,
    interval_count: row.intervalCount,
    livemode: row.livemode,
    metadata: parseMetadata(row.metadata),
    meter: null,
    nickname: row.nickname,
    product: row.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

/** A subscription's one item, as Stripe's subscription_item. */
export interface SubscriptionItemJson {
  id: string;
  object: "subscription_item";
  created: number;
  current_period_start: number;
  current_period_end: number;
  metadata: Metadata;
  /** The price object when the caller had it (the API always does), else its id. */
  price: PriceJson | string;
  /** The price as Stripe's legacy plan (an id-only plan if the price is missing). */
  plan: PlanJson | { id: string; object: "plan" };
  quantity: number;
  subscription: string;
  billing_thresholds: null;
  current_trial: null;
  discounts: [];
  tax_rates: [];
}

/** The item's id: one item per subscription, derived from the subscription's id. */
export const subscriptionItemId = (subscriptionId: string): string => `si_${subscriptionId.slice(subscriptionId.indexOf("_") + 1)}`;

/**
 * A subscription as /v1 renders it, from its row alone (its item's metadata and its cancellation_details
 * included), so that an event written with a change shows it as a GET does. `price` is the
 * subscription's price row (always passed: its item carries the price object, in answers and events alike).
 */
export function renderSubscription(row: SubscriptionRow, latestInvoice: InvoiceJson | null | undefined, price: PriceRow | null): SubscriptionJson {
  const item: SubscriptionItemJson = {
    id: subscriptionItemId(row.id),
    object: "subscription_item",
    created: seconds(row.created),
    current_period_start: seconds(row.currentPeriodStart),
    current_period_end: seconds(row.currentPeriodEnd),
    metadata: row.itemMetadata ? parseMetadata(row.itemMetadata) : {},
    price: price ? renderPrice(price) : row.price,
    plan: price ? renderPlan(price) : { id: row.price, object: "plan" },
    quantity: row.quantity,
    subscription: row.id,
    billing_thresholds: null,
    current_trial: null,
    discounts: [],
    tax_rates: [],
  };
  return {
    id: row.id,
    object: "subscription",
    customer: row.customer,
    status: row.status as SubscriptionStatus,
    items: { object: "list", data: [item], has_more: false, total_count: 1, url: `/v1/subscription_items?subscription=${row.id}` },
    price: row.price,
    quantity: row.quantity,
    current_period_start: seconds(row.currentPeriodStart),
    current_period_end: seconds(row.currentPeriodEnd),
    billing_cycle_anchor: seconds(row.billingCycleAnchor),
    trial_end: secondsOrNull(row.trialEnd),
    cancel_at_period_end: row.cancelAtPeriodEnd,
    cancel_at: row.cancelAtPeriodEnd && row.status !== "canceled" ? seconds(row.currentPeriodEnd) : null,
    canceled_at: secondsOrNull(row.canceledAt),
    ended_at: secondsOrNull(row.endedAt),
    default_payment_method: row.defaultPaymentMethod,
    latest_invoice: latestInvoice !== undefined && latestInvoice !== null ? latestInvoice : row.latestInvoice,
    metadata: parseMetadata(row.metadata),
    test_clock: row.testClock,
    created: seconds(row.created),
    livemode: row.livemode,
    currency: price?.currency ?? null,
    start_date: seconds(row.created),
    trial_start: row.trialEnd === null ? null : seconds(row.created),
    collection_method: "charge_automatically",
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_mode: { flexible: null, type: "classic" },
    cancellation_details: renderCancellationDetails(row),
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: "self" } },
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: row.saveDefaultPaymentMethod === "on_subscription" ? "on_subscription" : "off" },
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: "create_invoice" } },
    billing_schedules: [],
    discounts: [],
    application: null,
    application_fee_percent: null,
    billing_cycle_anchor_config: null,
    billing_thresholds: null,
    customer_account: null,
    days_until_due: null,
    default_source: null,
    description: null,
    managed_payments: null,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    transfer_data: null,
  };
}

export interface InvoiceJson {
  id: string;
  object: "invoice";
  customer: string;
  subscription: string;
  status: string;
  paid: boolean;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  /** No taxes or discounts here: subtotal = total = amount_due. */
  subtotal: number;
  total: number;
  currency: string;
  billing_reason: string;
  description: string | null;
  lines: {
    object: "list";
    data: InvoiceLineJson[];
    has_more: false;
    total_count: number;
    url: string;
  };
  status_transitions: { finalized_at: number; marked_uncollectible_at: number | null; paid_at: number | null; voided_at: number | null };
  /** Invoices are finalized when created and charged automatically; no taxes, discounts, credit notes or balances here. */
  collection_method: "charge_automatically";
  effective_at: number;
  amount_overpaid: 0;
  amount_shipping: 0;
  starting_balance: 0;
  ending_balance: 0;
  post_payment_credit_notes_amount: 0;
  pre_payment_credit_notes_amount: 0;
  subtotal_excluding_tax: number;
  total_excluding_tax: number;
  automatic_tax: { disabled_reason: null; enabled: false; liability: null; provider: null; status: null };
  issuer: { type: "self" };
  payment_settings: { default_mandate: null; payment_method_options: null; payment_method_types: null };
  /** subscription_details.metadata: the subscription's metadata when the invoice was finalized (null: made before that was kept). */
  parent: { type: "subscription_details"; quote_details: null; subscription_details: { metadata: Metadata | null; subscription: string } };
  metadata: Record<string, never>;
  default_tax_rates: [];
  discounts: [];
  total_discount_amounts: [];
  total_pretax_credit_amounts: [];
  total_taxes: [];
  account_country: null;
  account_name: null;
  account_tax_ids: null;
  application: null;
  automatically_finalizes_at: null;
  custom_fields: null;
  customer_account: null;
  customer_address: AddressJson | null;
  customer_email: string | null;
  customer_name: string | null;
  customer_phone: string | null;
  customer_shipping: CustomerShippingJson | null;
  customer_tax_exempt: null;
  default_payment_method: null;
  default_source: null;
  due_date: null;
  footer: null;
  from_invoice: null;
  last_finalization_error: null;
  latest_revision: null;
  number: null;
  on_behalf_of: null;
  receipt_number: null;
  rendering: null;
  shipping_cost: null;
  shipping_details: null;
  statement_descriptor: null;
  webhooks_delivered_at: null;
  /** The invoice's page for its customer: src/pages/invoice.ts (null: made before migration 0055). */
  hosted_invoice_url: string | null;
  /** No PDF is made. */
  invoice_pdf: null;
  /** When items were collected for it (Stripe's): a first invoice's creation; a renewal's, the period that just ended. */
  period_start: number;
  period_end: number;
  payment_intent: string | Record<string, unknown> | null;
  /**
   * Stripe's includable field (since 2025-03-31.basil): present only when expanded
   * (expand[]=confirmation_secret, latest_invoice.confirmation_secret), never in events.
   */
  confirmation_secret?: InvoiceConfirmationSecret | null;
  attempt_count: number;
  attempted: boolean;
  next_payment_attempt: number | null;
  test_clock: string | null;
  created: number;
  livemode: boolean;
}

/** An invoice's one line, as Stripe's InvoiceLineItem (our `price` and `subscription` kept beside its parent). */
export interface InvoiceLineJson {
  id: string;
  object: "line_item";
  amount: number;
  currency: string;
  description: string | null;
  price: string;
  quantity: number;
  quantity_decimal: string;
  subscription: string;
  period: { start: number; end: number };
  invoice: string;
  livemode: boolean;
  /** Stripe's: a subscription line's metadata is the subscription's, as the line was made ({} when not kept). */
  metadata: Metadata;
  parent: {
    type: "subscription_item_details";
    invoice_item_details: null;
    subscription_item_details: { invoice_item: null; proration: false; proration_details: { credited_items: null }; subscription: string; subscription_item: string };
  };
  pricing: InvoiceLinePricing;
  subtotal: number;
  discountable: boolean;
  discount_amounts: [];
  discounts: [];
  pretax_credit_amounts: [];
  taxes: [];
}

/** Stripe's `pricing` of an invoice line: its price and the price's product, and the unit amount as a decimal string. */
export interface InvoiceLinePricing {
  type: "price_details";
  price_details?: { price: string; product: string };
  unit_amount_decimal: string;
}

function linePricing(row: InvoiceRow): InvoiceLinePricing {
  // A price made before products existed (migration 0011) has none: Stripe's price_details is then left out.
  return row.product
    ? { type: "price_details", price_details: { price: row.price, product: row.product }, unit_amount_decimal: String(row.unitAmount) }
    : { type: "price_details", unit_amount_decimal: String(row.unitAmount) };
}

/** Stripe's invoice confirmation_secret: the client_secret of the invoice's payment intent, for the customer to confirm it. */
export interface InvoiceConfirmationSecret {
  client_secret: string;
  type: "payment_intent";
}

/** What an answer expands on an invoice (nothing, in events). */
export interface InvoiceExpansions {
  /** expand[]=payment_intent: the intent's object in place of its id (null: it stays an id). */
  paymentIntent?: Record<string, unknown> | null;
  /** expand[]=confirmation_secret: rendered only when given (null: the invoice has no payment intent). */
  confirmationSecret?: InvoiceConfirmationSecret | null;
}

export function renderInvoice(row: InvoiceRow, expanded: InvoiceExpansions = {}): InvoiceJson {
  const created = seconds(row.created);
  const subscriptionMetadata = row.subscriptionMetadata === null ? null : parseMetadata(row.subscriptionMetadata);
  return {
    id: row.id,
    object: "invoice",
    customer: row.customer,
    subscription: row.subscription,
    status: row.status,
    paid: row.status === "paid",
    amount_due: row.amountDue,
    amount_paid: row.amountPaid,
    amount_remaining: row.amountDue - row.amountPaid,
    subtotal: row.amountDue,
    total: row.amountDue,
    currency: row.currency,
    billing_reason: row.billingReason,
    description: row.description,
    lines: {
      object: "list",
      data: [
        {
          id: `il_${row.id.slice(row.id.indexOf("_") + 1)}`,
          object: "line_item",
          amount: row.amountDue,
          currency: row.currency,
          description: row.description,
          price: row.price,
          quantity: row.quantity,
          quantity_decimal: String(row.quantity),
          subscription: row.subscription,
          period: { start: seconds(row.periodStart), end: seconds(row.periodEnd) },
          invoice: row.id,
          livemode: row.livemode,
          metadata: subscriptionMetadata ?? {},
          parent: {
            type: "subscription_item_details",
            invoice_item_details: null,
            subscription_item_details: { invoice_item: null, proration: false, proration_details: { credited_items: null }, subscription: row.subscription, subscription_item: subscriptionItemId(row.subscription) },
          },
          pricing: linePricing(row),
          subtotal: row.amountDue,
          discountable: true,
          discount_amounts: [],
          discounts: [],
          pretax_credit_amounts: [],
          taxes: [],
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/invoices/${row.id}/lines`,
    },
    // Stripe's: when items were collected for it (the line's period is the service period).
    period_start: seconds(row.usagePeriodStart ?? row.created),
    period_end: seconds(row.usagePeriodEnd ?? row.created),
    payment_intent: expanded.paymentIntent ?? row.paymentIntent,
    ...(expanded.confirmationSecret !== undefined ? { confirmation_secret: expanded.confirmationSecret } : {}),
    attempt_count: row.attemptCount,
    attempted: row.attemptCount > 0,
    next_payment_attempt: row.status === "open" ? secondsOrNull(row.nextPaymentAttempt) : null,
    test_clock: row.testClock,
    created,
    livemode: row.livemode,
    status_transitions: { finalized_at: created, marked_uncollectible_at: secondsOrNull(row.markedUncollectibleAt), paid_at: secondsOrNull(row.paidAt), voided_at: secondsOrNull(row.voidedAt) },
    collection_method: "charge_automatically",
    effective_at: created,
    amount_overpaid: 0,
    amount_shipping: 0,
    starting_balance: 0,
    ending_balance: 0,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    subtotal_excluding_tax: row.amountDue,
    total_excluding_tax: row.amountDue,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    issuer: { type: "self" },
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    parent: { type: "subscription_details", quote_details: null, subscription_details: { metadata: subscriptionMetadata, subscription: row.subscription } },
    metadata: {},
    default_tax_rates: [],
    discounts: [],
    total_discount_amounts: [],
    total_pretax_credit_amounts: [],
    total_taxes: [],
    account_country: null,
    account_name: null,
    account_tax_ids: null,
    application: null,
    automatically_finalizes_at: null,
    custom_fields: null,
    customer_account: null,
    customer_address: renderCustomerAddress(row.customerAddress),
    customer_email: row.customerEmail,
    customer_name: row.customerName,
    customer_phone: row.customerPhone,
    customer_shipping: renderCustomerShipping(parseJsonColumn<CustomerShipping>(row.customerShipping)),
    customer_tax_exempt: null,
    default_payment_method: null,
    default_source: null,
    due_date: null,
    footer: null,
    from_invoice: null,
    last_finalization_error: null,
    latest_revision: null,
    number: null,
    on_behalf_of: null,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    statement_descriptor: null,
    webhooks_delivered_at: null,
    hosted_invoice_url: row.hostedUrl,
    invoice_pdf: null,
  };
}

export interface TestClockJson {
  id: string;
  object: "test_helpers.test_clock";
  name: string | null;
  frozen_time: number;
  status: string;
  /** Stripe's: while advancing, the time it advances to (here frozen_time is already that time); else {}. */
  status_details: { advancing?: { target_frozen_time: number } };
  created: number;
  /** Stripe's: when the clock is deleted, 30 days after its creation (Unix seconds). Clocks here are kept until deleted. */
  deletes_after: number;
  livemode: boolean;
}

/** Stripe deletes a test clock 30 days after its creation. */
export const TEST_CLOCK_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

export function renderTestClock(row: TestClockRow): TestClockJson {
  return {
    id: row.id,
    object: "test_helpers.test_clock",
    name: row.name,
    frozen_time: seconds(row.frozenTime),
    status: row.status,
    status_details: row.status === "advancing" ? { advancing: { target_frozen_time: seconds(row.frozenTime) } } : {},
    created: seconds(row.created),
    deletes_after: seconds(row.created + TEST_CLOCK_LIFETIME_MS),
    livemode: row.livemode,
  };
}
