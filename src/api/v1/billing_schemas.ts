// OpenAPI schemas of the billing objects (customers, payment methods, prices, subscriptions, invoices,
// test clocks), as rendered by src/billing/store.ts.
import { z } from "zod";
import { BillingDetailsSchema } from "./schemas";

const nullableString = z.string().nullable();
const metadata = z.record(z.string(), z.string());
const seconds = z.number().int();

export const CustomerSchema = z
  .object({
    id: z.string(),
    object: z.literal("customer"),
    created: seconds,
    email: nullableString,
    name: nullableString,
    phone: nullableString,
    description: nullableString,
    metadata,
    invoice_settings: z.object({ default_payment_method: nullableString }),
    livemode: z.boolean(),
    test_clock: nullableString,
  })
  .meta({ id: "Customer" });

export const PaymentMethodObjectSchema = z
  .object({
    id: z.string(),
    object: z.literal("payment_method"),
    type: z.string(),
    card: z
      .object({ brand: z.string(), last4: z.string(), exp_month: z.number().int(), exp_year: z.number().int(), funding: z.string(), country: nullableString, fingerprint: z.string() })
      .nullable(),
    customer: nullableString,
    nickname: nullableString.describe("Seed 002: the customer's name for the card."),
    metadata,
    created: seconds,
    livemode: z.boolean(),
    billing_details: BillingDetailsSchema,
  })
  .meta({ id: "SavedPaymentMethod" });

export const PriceSchema = z
  .object({
    id: z.string(),
    object: z.literal("price"),
    active: z.boolean(),
    currency: z.string(),
    unit_amount: z.number().int(),
    recurring: z.object({ interval: z.enum(["day", "week", "month", "year"]), interval_count: z.number().int() }),
    type: z.literal("recurring"),
    product: nullableString.describe("The product (GET /v1/products/{id}); null for prices made before products existed."),
    product_name: z.string(),
    nickname: nullableString,
    metadata,
    created: seconds,
    livemode: z.boolean(),
  })
  .meta({ id: "Price" });

export const InvoiceSchema = z
  .object({
    id: z.string(),
    object: z.literal("invoice"),
    customer: z.string(),
    subscription: z.string(),
    status: z.enum(["open", "paid", "uncollectible", "void"]),
    paid: z.boolean(),
    amount_due: z.number().int(),
    amount_paid: z.number().int(),
    amount_remaining: z.number().int(),
    subtotal: z.number().int(),
    total: z.number().int(),
    currency: z.string(),
    billing_reason: z.enum(["subscription_create", "subscription_cycle"]),
    description: nullableString,
    lines: z.object({
      object: z.literal("list"),
      data: z.array(
        z.object({
          id: z.string(),
          object: z.literal("line_item"),
          amount: z.number().int(),
          currency: z.string(),
          description: nullableString,
          price: z.string(),
          quantity: z.number().int(),
          subscription: z.string(),
          period: z.object({ start: seconds, end: seconds }),
        }),
      ),
      has_more: z.literal(false),
      total_count: z.number().int(),
      url: z.string(),
    }),
    period_start: seconds,
    period_end: seconds,
    payment_intent: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable().describe("The intent of the latest payment attempt (expandable)."),
    attempt_count: z.number().int(),
    attempted: z.boolean(),
    next_payment_attempt: seconds.nullable(),
    status_transitions: z.object({ paid_at: seconds.nullable() }),
    test_clock: nullableString,
    created: seconds,
    livemode: z.boolean(),
  })
  .meta({ id: "Invoice" });

export const SubscriptionItemSchema = z
  .object({
    id: z.string(),
    object: z.literal("subscription_item"),
    created: seconds,
    current_period_start: seconds,
    current_period_end: seconds,
    metadata,
    price: z.union([PriceSchema, z.string()]).describe("The price object (its id in webhook events)."),
    quantity: z.number().int(),
    subscription: z.string(),
  })
  .meta({ id: "SubscriptionItem" });

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    object: z.literal("subscription"),
    customer: z.string(),
    status: z.enum(["incomplete", "trialing", "active", "past_due", "canceled", "unpaid"]),
    items: z.object({
      object: z.literal("list"),
      data: z.array(SubscriptionItemSchema),
      has_more: z.literal(false),
      total_count: z.number().int(),
      url: z.string(),
    }),
    price: z.string(),
    quantity: z.number().int(),
    current_period_start: seconds,
    current_period_end: seconds,
    billing_cycle_anchor: seconds,
    trial_end: seconds.nullable(),
    cancel_at_period_end: z.boolean(),
    cancel_at: seconds.nullable(),
    canceled_at: seconds.nullable(),
    ended_at: seconds.nullable(),
    default_payment_method: nullableString,
    latest_invoice: z.union([z.string(), InvoiceSchema]).nullable(),
    metadata,
    test_clock: nullableString,
    created: seconds,
    livemode: z.boolean(),
  })
  .meta({ id: "Subscription" });

export const TestClockSchema = z
  .object({
    id: z.string(),
    object: z.literal("test_helpers.test_clock"),
    name: nullableString,
    frozen_time: seconds,
    status: z.enum(["ready", "advancing"]),
    created: seconds,
    livemode: z.boolean(),
  })
  .meta({ id: "TestClock" });
