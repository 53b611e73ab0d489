// OpenAPI schemas of the billing objects (customers, payment methods, prices, subscriptions, invoices,
// test clocks), as rendered by src/billing/store.ts.
import { z } from "zod";
import { SUBSCRIPTION_STATUSES, type CustomerJson, type InvoiceJson, type PaymentMethodObjectJson, type PriceJson, type SubscriptionItemJson, type SubscriptionJson } from "../../billing/store";
import { AddressSchema, BillingDetailsSchema, notServed, PaymentMethodCardSchema } from "./schemas";

const nullableString = z.string().nullable();
const metadata = z.record(z.string(), z.string());
const seconds = z.number().int();
const zero = z.literal(0);
const empty = z.tuple([]).describe("Always empty here.");
const TAX = "taxes are";
const CONNECT = "Connect (platforms, fees, transfers)";

const CustomerShippingSchema = z.object({ address: AddressSchema, name: z.string(), phone: nullableString }).meta({ id: "CustomerShipping" });

export const CustomerSchema: z.ZodType<CustomerJson> = z
  .object({
    id: z.string(),
    object: z.literal("customer"),
    created: seconds,
    email: nullableString,
    name: nullableString,
    phone: nullableString,
    description: nullableString,
    metadata,
    invoice_settings: z.object({ custom_fields: z.null(), default_payment_method: nullableString, footer: z.null(), rendering_options: z.null() }),
    livemode: z.boolean(),
    test_clock: nullableString,
    balance: zero.describe("Customer balances are not kept."),
    default_source: notServed("the legacy Sources API is"),
    discount: notServed("coupons are"),
    address: AddressSchema.nullable().describe("The customer's address; null until one is given."),
    shipping: CustomerShippingSchema.nullable().describe("The customer's shipping details; null until they are given."),
    subscriptions: z
      .lazy(() => z.object({ object: z.literal("list"), data: z.array(SubscriptionSchema), has_more: z.boolean(), url: z.string() }))
      .optional()
      .describe("Only with expand[]=subscriptions: the first 10 subscriptions not canceled, newest first; the rest at url."),
  })
  .meta({ id: "Customer" });

export const PaymentMethodObjectSchema: z.ZodType<PaymentMethodObjectJson> = z
  .object({
    id: z.string(),
    object: z.literal("payment_method"),
    type: z.string(),
    card: PaymentMethodCardSchema.nullable(),
    customer: nullableString,
    customer_account: notServed("Accounts v2 are"),
    nickname: nullableString.describe("Seed 002: the customer's name for the card."),
    metadata,
    created: seconds,
    livemode: z.boolean(),
    billing_details: BillingDetailsSchema,
  })
  .meta({ id: "SavedPaymentMethod" });

const Interval = z.enum(["day", "week", "month", "year"]);

export const PriceSchema: z.ZodType<PriceJson> = z
  .object({
    id: z.string(),
    object: z.literal("price"),
    active: z.boolean(),
    currency: z.string(),
    unit_amount: z.number().int(),
    unit_amount_decimal: z.string().describe("unit_amount as a decimal string."),
    recurring: z
      .object({ interval: Interval, interval_count: z.number().int(), meter: z.null(), trial_period_days: z.null(), usage_type: z.literal("licensed") })
      .nullable()
      .describe("How often a recurring price bills; null for a one-time price."),
    type: z.enum(["recurring", "one_time"]).describe("one_time: created without recurring, for Checkout; only recurring prices can be subscribed to."),
    billing_scheme: z.literal("per_unit"),
    custom_unit_amount: z.null(),
    lookup_key: nullableString.describe("The merchant's name for the price, unique among its prices (archived ones too) in a mode; GET /v1/prices?lookup_keys[]= finds it."),
    tax_behavior: z.literal("unspecified").describe("The gateway computes no taxes."),
    tiers_mode: z.null(),
    transform_quantity: z.null(),
    product: nullableString.describe("The product (GET /v1/products/{id}); null for prices made before products existed."),
    product_name: z.string(),
    nickname: nullableString,
    metadata,
    created: seconds,
    livemode: z.boolean(),
  })
  .meta({ id: "Price" });

/** Stripe's InvoicePayment: one payment of an invoice, here one payment attempt's intent. */
export const InvoicePaymentSchema = z
  .object({
    id: z.string().describe("inpay_ and the body of its payment intent's id: the same in the invoice's expand[]=payments and in /v1/invoice_payments."),
    object: z.literal("invoice_payment"),
    amount_paid: z.number().int().nullable(),
    amount_requested: z.number().int(),
    created: seconds,
    currency: z.string(),
    invoice: z.union([z.string(), z.record(z.string(), z.unknown())]),
    is_default: z.boolean(),
    livemode: z.boolean(),
    payment: z.object({ type: z.literal("payment_intent"), payment_intent: z.union([z.string(), z.record(z.string(), z.unknown())]) }),
    status: z.enum(["open", "paid", "canceled"]),
    status_transitions: z.object({ canceled_at: seconds.nullable(), paid_at: seconds.nullable() }),
  })
  .meta({ id: "InvoicePayment" });

export const InvoiceSchema: z.ZodType<InvoiceJson> = z
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
          quantity_decimal: z.string(),
          subscription: z.string(),
          period: z.object({ start: seconds, end: seconds }),
          invoice: z.string(),
          livemode: z.boolean(),
          metadata: metadata.describe("Stripe's: the subscription's metadata as the line was made (with the invoice); {} for invoices made before it was kept."),
          parent: z.object({
            type: z.literal("subscription_item_details"),
            invoice_item_details: z.null(),
            subscription_item_details: z.object({
              invoice_item: z.null(),
              proration: z.literal(false),
              proration_details: z.object({ credited_items: z.null() }),
              subscription: z.string(),
              subscription_item: z.string(),
            }),
          }),
          pricing: z
            .object({
              type: z.literal("price_details"),
              price_details: z.object({ price: z.string(), product: z.string() }).optional().describe("Left out for a price made before products existed."),
              unit_amount_decimal: z.string().describe("The price's unit amount in minor units, as a decimal string."),
            })
            .describe("The line's price and its product (Stripe's invoice line since the 2025-03-31 API; `price` is kept for older clients)."),
          subtotal: z.number().int(),
          discountable: z.boolean(),
          discount_amounts: empty,
          discounts: empty,
          pretax_credit_amounts: empty,
          taxes: empty,
        }),
      ),
      has_more: z.literal(false),
      total_count: z.number().int(),
      url: z.string(),
    }),
    period_start: seconds.describe("Stripe's: the earliest time items were collected for the invoice. A subscription's first invoice: its creation time; a renewal: the start of the period that just ended. The service period billed is the line's `period`."),
    period_end: seconds.describe("Stripe's: the latest time items were collected for the invoice. A first invoice: its creation time; a renewal: the end of the period that just ended (the start of the one its line bills)."),
    payment_intent: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable().describe("The intent of the latest payment attempt (expandable)."),
    payments: z
      .object({
        object: z.literal("list"),
        data: z.array(
          InvoicePaymentSchema,
        ),
        has_more: z.boolean(),
        url: z.string(),
      })
      .optional()
      .describe("Includable: only with expand[]=payments (needs the permission to read payments). Stripe's InvoicePayment list: one per payment attempt's payment intent, oldest first; status paid, canceled or open; is_default on the first."),
    confirmation_secret: z
      .object({ client_secret: z.string(), type: z.literal("payment_intent") })
      .nullable()
      .optional()
      .describe(
        "Includable: only with expand[]=confirmation_secret (latest_invoice.confirmation_secret on a subscription). The client_secret of the invoice's payment intent, for the customer to confirm it; null while the invoice has none.",
      ),
    attempt_count: z.number().int(),
    attempted: z.boolean(),
    next_payment_attempt: seconds.nullable(),
    test_clock: nullableString,
    created: seconds,
    livemode: z.boolean(),
    status_transitions: z.object({ finalized_at: seconds, marked_uncollectible_at: seconds.nullable(), paid_at: seconds.nullable(), voided_at: seconds.nullable() }),
    collection_method: z.literal("charge_automatically"),
    effective_at: seconds,
    amount_overpaid: zero,
    amount_shipping: zero,
    starting_balance: zero,
    ending_balance: zero,
    post_payment_credit_notes_amount: zero,
    pre_payment_credit_notes_amount: zero,
    subtotal_excluding_tax: z.number().int(),
    total_excluding_tax: z.number().int(),
    automatic_tax: z.object({ disabled_reason: z.null(), enabled: z.literal(false), liability: z.null(), provider: z.null(), status: z.null() }),
    issuer: z.object({ type: z.literal("self") }),
    payment_settings: z.object({ default_mandate: z.null(), payment_method_options: z.null(), payment_method_types: z.null() }),
    parent: z.object({ type: z.literal("subscription_details"), quote_details: z.null(), subscription_details: z.object({ metadata: metadata.nullable().describe("The subscription's metadata when the invoice was finalized (as it was made): a snapshot, not changed by later updates; null for invoices made before it was kept."), subscription: z.string() }) }),
    metadata: z.object({}).strict(),
    default_tax_rates: empty,
    discounts: empty,
    total_discount_amounts: empty,
    total_pretax_credit_amounts: empty,
    total_taxes: empty,
    account_country: z.null(),
    account_name: z.null(),
    account_tax_ids: notServed(TAX),
    application: notServed(CONNECT),
    automatically_finalizes_at: z.null().describe("Invoices are finalized when created."),
    custom_fields: notServed("invoice custom fields are"),
    customer_account: notServed("Accounts v2 are"),
    customer_address: AddressSchema.nullable().describe("The customer's address when the invoice was finalized (at creation)."),
    customer_email: nullableString.describe("The customer's email when the invoice was finalized (at creation)."),
    customer_name: nullableString.describe("The customer's name when the invoice was finalized."),
    customer_phone: nullableString.describe("The customer's phone when the invoice was finalized."),
    customer_shipping: CustomerShippingSchema.nullable().describe("The customer's shipping details when the invoice was finalized."),
    customer_tax_exempt: notServed(TAX),
    default_payment_method: z.null().describe("The subscription's default payment method pays."),
    default_source: notServed("the legacy Sources API is"),
    due_date: z.null().describe("Always charged automatically."),
    footer: notServed("invoice footers are"),
    from_invoice: notServed("invoice revisions are"),
    last_finalization_error: z.null(),
    latest_revision: notServed("invoice revisions are"),
    number: notServed("invoice numbering is"),
    on_behalf_of: notServed(CONNECT),
    receipt_number: notServed("receipts are"),
    rendering: notServed("invoice rendering is"),
    shipping_cost: notServed("shipping is"),
    shipping_details: notServed("shipping is"),
    statement_descriptor: z.null(),
    webhooks_delivered_at: z.null(),
    hosted_invoice_url: z
      .string()
      .nullable()
      .describe("The invoice's page for its customer (GET /invoice/{id}/{token}): the invoice, and a way to pay it while it is open. A bearer link, like the confirmation secret; null for invoices made before it existed."),
    invoice_pdf: notServed("invoice PDFs are"),
  })
  .meta({ id: "Invoice" });

const PlanSchema = z
  .object({
    id: z.string(),
    object: z.literal("plan"),
    active: z.boolean(),
    amount: z.number().int(),
    amount_decimal: z.string(),
    billing_scheme: z.literal("per_unit"),
    created: seconds,
    currency: z.string(),
    interval: Interval,
    interval_count: z.number().int(),
    livemode: z.boolean(),
    metadata,
    meter: z.null(),
    nickname: nullableString,
    product: nullableString,
    tiers_mode: z.null(),
    transform_usage: z.null(),
    trial_period_days: z.null(),
    usage_type: z.literal("licensed"),
  })
  .meta({ id: "Plan" });

export const SubscriptionItemSchema: z.ZodType<SubscriptionItemJson> = z
  .object({
    id: z.string(),
    object: z.literal("subscription_item"),
    created: seconds,
    current_period_start: seconds,
    current_period_end: seconds,
    metadata,
    price: z.union([PriceSchema, z.string()]).describe("The price object (its id only if the price is missing)."),
    plan: z.union([PlanSchema, z.object({ id: z.string(), object: z.literal("plan") })]).describe("The price as Stripe's legacy plan."),
    quantity: z.number().int(),
    subscription: z.string(),
    billing_thresholds: z.null(),
    current_trial: z.null(),
    discounts: empty,
    tax_rates: empty,
  })
  .meta({ id: "SubscriptionItem" });

export const SubscriptionSchema: z.ZodType<SubscriptionJson> = z
  .object({
    id: z.string(),
    object: z.literal("subscription"),
    customer: z.string(),
    status: z.enum(SUBSCRIPTION_STATUSES).describe("incomplete_expired: still incomplete 23 hours after it started (terminal; its first invoice is void)."),
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
    currency: nullableString.describe("The price's currency."),
    start_date: seconds,
    trial_start: seconds.nullable(),
    collection_method: z.literal("charge_automatically"),
    automatic_tax: z.object({ disabled_reason: z.null(), enabled: z.literal(false), liability: z.null() }),
    billing_mode: z.object({ flexible: z.null(), type: z.literal("classic") }),
    cancellation_details: z.object({ comment: nullableString, feedback: nullableString, feedback_option: nullableString, reason: z.enum(["cancellation_requested", "payment_failed"]).nullable().describe("cancellation_requested (canceled through DELETE, or cancel_at_period_end set); payment_failed (dunning canceled it: its renewal's retries were exhausted and the merchant's final action is cancel).") }),
    invoice_settings: z.object({ account_tax_ids: z.null(), custom_fields: z.null(), description: z.null(), footer: z.null(), issuer: z.object({ type: z.literal("self") }) }),
    payment_settings: z.object({
      payment_method_options: z.null(),
      payment_method_types: z.null(),
      save_default_payment_method: z.enum(["off", "on_subscription"]).describe("on_subscription: the card a payment of the subscription succeeded with is saved to its customer and becomes its default_payment_method."),
    }),
    trial_settings: z.object({ end_behavior: z.object({ billing_cycle_anchor: z.null(), missing_payment_method: z.literal("create_invoice") }) }),
    billing_schedules: empty,
    discounts: empty,
    application: notServed(CONNECT),
    application_fee_percent: notServed(CONNECT),
    billing_cycle_anchor_config: z.null(),
    billing_thresholds: notServed("usage thresholds are"),
    customer_account: notServed("Accounts v2 are"),
    days_until_due: z.null().describe("Always charged automatically."),
    default_source: notServed("the legacy Sources API is"),
    description: z.null(),
    managed_payments: notServed("managed payments are"),
    next_pending_invoice_item_invoice: notServed("invoice items are"),
    on_behalf_of: notServed(CONNECT),
    pause_collection: notServed("pausing is"),
    pending_invoice_item_interval: notServed("invoice items are"),
    pending_setup_intent: notServed("setup intents are"),
    pending_update: notServed("pending updates are"),
    schedule: notServed("subscription schedules are"),
    transfer_data: notServed(CONNECT),
  })
  .meta({ id: "Subscription" });

export const TestClockSchema = z
  .object({
    id: z.string(),
    object: z.literal("test_helpers.test_clock"),
    name: nullableString,
    frozen_time: seconds,
    status: z.enum(["ready", "advancing", "internal_failure"]).describe("internal_failure: a renewal or payment attempt failed while the clock advanced (it was set aside; the others ran). Advancing again runs it once more."),
    status_details: z
      .object({ advancing: z.object({ target_frozen_time: seconds }).optional() })
      .describe("While advancing: advancing.target_frozen_time, the time it advances to; otherwise {}."),
    created: seconds,
    deletes_after: seconds.describe("Stripe's: 30 days after created. Clocks here are kept until deleted."),
    livemode: z.boolean(),
  })
  .meta({ id: "TestClock" });
