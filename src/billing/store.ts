// Billing objects in D1: their rows, scoped finders and /v1 renderers (Stripe's shapes).
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { resourceMissing } from "../core/errors";
import { hasPrefix } from "../core/ids";
import { renderBillingDetails, type BillingDetailsJson } from "../core/objects";
import type { Metadata, PaymentMethodDetails, Scope } from "../core/types";
import { customers, invoices, paymentMethods, prices, subscriptions, testClocks } from "../db/schema";
import type { Interval } from "./periods";

export type CustomerRow = typeof customers.$inferSelect;
export type PaymentMethodRow = typeof paymentMethods.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type TestClockRow = typeof testClocks.$inferSelect;

export const SUBSCRIPTION_STATUSES = ["incomplete", "trialing", "active", "past_due", "canceled", "unpaid"] as const;
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
  const [row] = hasPrefix(id, "pm")
    ? await db(d1).select().from(paymentMethods).where(and(eq(paymentMethods.id, id), eq(paymentMethods.merchantId, scope.merchantId), eq(paymentMethods.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("payment_method", id.slice(0, 80), param);
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
  invoice_settings: { default_payment_method: string | null };
  livemode: boolean;
  test_clock: string | null;
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
    invoice_settings: { default_payment_method: row.defaultPaymentMethod },
    livemode: row.livemode,
    test_clock: row.testClock,
  };
}

export interface PaymentMethodObjectJson {
  id: string;
  object: "payment_method";
  type: string;
  card: { brand: string; last4: string; exp_month: number; exp_year: number; funding: string; country: string | null; fingerprint: string } | null;
  customer: string | null;
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
    card: card ? { brand: card.brand, last4: card.last4, exp_month: card.expMonth, exp_year: card.expYear, funding: card.funding, country: card.country, fingerprint: card.fingerprint } : null,
    customer: row.customer,
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
  recurring: { interval: Interval; interval_count: number };
  type: "recurring";
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
    recurring: { interval: row.interval as Interval, interval_count: row.intervalCount },
    type: "recurring",
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
  quantity: number;
  subscription: string;
}

/** The item's id: one item per subscription, derived from the subscription's id. */
export const subscriptionItemId = (subscriptionId: string): string => `si_${subscriptionId.slice(subscriptionId.indexOf("_") + 1)}`;

export function renderSubscription(row: SubscriptionRow, latestInvoice?: InvoiceJson | null, price?: PriceRow | null): SubscriptionJson {
  const item: SubscriptionItemJson = {
    id: subscriptionItemId(row.id),
    object: "subscription_item",
    created: seconds(row.created),
    current_period_start: seconds(row.currentPeriodStart),
    current_period_end: seconds(row.currentPeriodEnd),
    metadata: {},
    price: price ? renderPrice(price) : row.price,
    quantity: row.quantity,
    subscription: row.id,
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
    data: { id: string; object: "line_item"; amount: number; currency: string; description: string | null; price: string; quantity: number; subscription: string; period: { start: number; end: number } }[];
    has_more: false;
    total_count: number;
    url: string;
  };
  period_start: number;
  period_end: number;
  payment_intent: string | Record<string, unknown> | null;
  attempt_count: number;
  attempted: boolean;
  next_payment_attempt: number | null;
  status_transitions: { paid_at: number | null };
  test_clock: string | null;
  created: number;
  livemode: boolean;
}

export function renderInvoice(row: InvoiceRow, paymentIntent?: Record<string, unknown> | null): InvoiceJson {
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
          subscription: row.subscription,
          period: { start: seconds(row.periodStart), end: seconds(row.periodEnd) },
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/invoices/${row.id}/lines`,
    },
    period_start: seconds(row.periodStart),
    period_end: seconds(row.periodEnd),
    payment_intent: paymentIntent ?? row.paymentIntent,
    attempt_count: row.attemptCount,
    attempted: row.attemptCount > 0,
    next_payment_attempt: row.status === "open" ? secondsOrNull(row.nextPaymentAttempt) : null,
    status_transitions: { paid_at: secondsOrNull(row.paidAt) },
    test_clock: row.testClock,
    created: seconds(row.created),
    livemode: row.livemode,
  };
}

export interface TestClockJson {
  id: string;
  object: "test_helpers.test_clock";
  name: string | null;
  frozen_time: number;
  status: string;
  created: number;
  livemode: boolean;
}

export function renderTestClock(row: TestClockRow): TestClockJson {
  return { id: row.id, object: "test_helpers.test_clock", name: row.name, frozen_time: seconds(row.frozenTime), status: row.status, created: seconds(row.created), livemode: row.livemode };
}
