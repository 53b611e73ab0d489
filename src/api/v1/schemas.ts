// Response shapes of /v1, for the OpenAPI document. Each is checked by the compiler against the type
// its renderer returns (core/objects.ts), so the document cannot drift from what we send.
import { z } from "zod";
import { REFUND_FAILURE_REASONS, type ChargeJson, type PaymentIntentJson, type PaymentMethodJson, type RefundJson, type TransactionJson } from "../../core/objects";

/** A Stripe field of a feature this gateway does not serve: always null here (README, "Stripe's objects"). */
export const notServed = (what: string) => z.null().describe(`Always null: ${what} not served here.`);
const CONNECT = "Connect (platforms, fees, transfers)";
import { INTENT_STATUSES } from "../../core/types";

const nullableString = z.string().nullable();
const metadata = z.record(z.string(), z.string());

const Card = z.object({
  brand: z.string(),
  last4: z.string(),
  exp_month: z.number().int(),
  exp_year: z.number().int(),
  funding: z.string(),
  country: nullableString,
  fingerprint: z.string(),
});

const Checks = z.object({ address_line1_check: nullableString, address_postal_code_check: nullableString, cvc_check: nullableString });

/** A saved card, as Stripe's PaymentMethod.card. */
export const PaymentMethodCardSchema = Card.extend({
  checks: Checks,
  display_brand: z.string(),
  generated_from: notServed("cards generated from card-present payments are"),
  networks: z.object({ available: z.array(z.string()), preferred: z.null() }),
  regulated_status: z.null().describe("Not reported by the connectors."),
  three_d_secure_usage: z.object({ supported: z.boolean() }),
  wallet: notServed("wallets (Apple Pay, Google Pay) are"),
}).meta({ id: "PaymentMethodCard" });

export const AddressSchema = z
  .object({ city: nullableString, country: nullableString, line1: nullableString, line2: nullableString, postal_code: nullableString, state: nullableString })
  .meta({ id: "Address" });

export const BillingDetailsSchema = z
  .object({
    address: AddressSchema.nullable(),
    email: nullableString,
    name: nullableString,
    phone: nullableString,
    tax_id: z.null().describe("Tax ids are not collected."),
  })
  .meta({ id: "BillingDetails" });

export const ShippingSchema = z
  .object({ address: AddressSchema, carrier: nullableString, name: z.string(), phone: nullableString, tracking_number: nullableString })
  .meta({ id: "Shipping" });

export const PaymentMethodSchema: z.ZodType<PaymentMethodJson> = z
  .object({
    id: z.string(),
    object: z.literal("payment_method"),
    type: z.enum(["card", "paypal"]),
    card: PaymentMethodCardSchema.nullable(),
    created: z.number().int(),
    customer: nullableString,
    customer_account: notServed("Accounts v2 are"),
    livemode: z.boolean(),
    metadata,
    billing_details: BillingDetailsSchema,
  })
  .meta({ id: "PaymentMethod" });

export const ChargeSchema: z.ZodType<ChargeJson> = z
  .object({
    id: z.string(),
    object: z.literal("charge"),
    application: notServed(CONNECT),
    application_fee: notServed(CONNECT),
    application_fee_amount: notServed(CONNECT),
    on_behalf_of: notServed(CONNECT),
    source_transfer: notServed(CONNECT),
    transfer_data: notServed(CONNECT),
    transfer_group: notServed(CONNECT),
    balance_transaction: notServed("balance transactions are"),
    failure_balance_transaction: notServed("balance transactions are"),
    fraud_details: z.object({}).strict().describe("Always empty: fraud reports are not kept."),
    receipt_number: notServed("receipts are"),
    receipt_url: notServed("receipts are"),
    review: notServed("Radar reviews are"),
    source: notServed("the legacy Sources API is"),
    calculated_statement_descriptor: nullableString.describe("The intent's statement_descriptor."),
    receipt_email: nullableString,
    shipping: ShippingSchema.nullable(),
    statement_descriptor: nullableString,
    statement_descriptor_suffix: nullableString,
    amount: z.number().int(),
    amount_captured: z.number().int(),
    amount_refunded: z.number().int(),
    authorization_code: nullableString,
    billing_details: BillingDetailsSchema,
    captured: z.boolean(),
    created: z.number().int(),
    currency: z.string(),
    customer: nullableString,
    description: nullableString,
    disputed: z.literal(false),
    failure_code: nullableString,
    failure_message: nullableString,
    livemode: z.boolean(),
    metadata,
    outcome: z.object({
      network_status: z.enum(["approved_by_network", "declined_by_network"]),
      type: z.enum(["authorized", "issuer_declined"]),
      seller_message: z.string(),
      risk_level: z.literal("normal"),
      reason: nullableString,
      advice_code: z.enum(["confirm_card_data", "do_not_try_again", "try_again_later"]).nullable(),
      network_advice_code: z.null().describe("Not reported by the connectors."),
      network_decline_code: z.null().describe("Not reported by the connectors."),
    }),
    paid: z.boolean(),
    payment_intent: z.string(),
    payment_method: nullableString,
    payment_method_details: z.object({
      type: z.enum(["card", "paypal"]),
      card: Card.extend({
        checks: Checks,
        amount_authorized: z.number().int().nullable().describe("The authorization with its incremental authorizations."),
        authorization_code: nullableString,
        incremental_authorization: z
          .object({ status: z.enum(["available", "unavailable"]) })
          .describe("available: the authorization may be incremented (POST /v1/payment_intents/{id}/increment_authorization); it was asked for with payment_method_options[card][request_incremental_authorization]=if_available and its connector and card allow it."),
        electronic_commerce_indicator: z.null(),
        installments: notServed("installments are"),
        mandate: notServed("mandates are"),
        network: z.string().describe("The card's brand."),
        network_transaction_id: z.null().describe("Not reported by the connectors."),
        regulated_status: z.null().describe("Not reported by the connectors."),
        three_d_secure: z
          .object({
            authentication_flow: z.literal("challenge"),
            electronic_commerce_indicator: z.null(),
            exemption_indicator: z.null(),
            result: z.literal("authenticated"),
            result_reason: z.null(),
            transaction_id: z.null(),
            version: z.null(),
          })
          .nullable()
          .describe("Set when the payment passed a 3D Secure challenge."),
        transaction_link_id: z.null(),
        wallet: notServed("wallets are"),
      }).nullable(),
    }),
    refunded: z.boolean(),
    status: z.enum(["succeeded", "failed"]),
    connector: z.string(),
    connector_account: nullableString,
    provider_reference: nullableString,
  })
  .meta({ id: "Charge" });

const PaymentIntentAnswerSchema = z
  .object({
    id: z.string().meta({ example: "pi_3MtwBwLkdIwHu7ix28a3tqPa" }),
    object: z.literal("payment_intent"),
    allowed_payment_method_types: z.null().describe("Payment methods are chosen by the gateway (payment_method_types)."),
    application: notServed(CONNECT),
    application_fee_amount: notServed(CONNECT),
    automatic_payment_methods: z
      .object({ enabled: z.boolean(), allow_redirects: z.enum(["always", "never"]).optional() })
      .nullable()
      .describe("As sent at creation (the gateway chooses the methods either way)."),
    customer_account: notServed("Accounts v2 are"),
    excluded_payment_method_types: z.null().describe("Payment methods are chosen by the gateway (payment_method_types)."),
    managed_payments: notServed("managed payments are"),
    on_behalf_of: notServed(CONNECT),
    payment_method_configuration_details: notServed("payment method configurations are"),
    payment_method_options: z
      .object({
        card: z.object({
          installments: z.null(),
          mandate_options: z.null(),
          network: z.null(),
          request_three_d_secure: z.enum(["any", "automatic", "challenge"]),
          capture_method: z.literal("manual").optional(),
          setup_future_usage: z.enum(["none", "off_session", "on_session"]).optional(),
          require_cvc_recollection: z.boolean().optional(),
          request_incremental_authorization: z.enum(["if_available", "never"]).optional(),
        }),
      })
      .describe("The card's options as set (request_three_d_secure: automatic unless set)."),
    payment_record: notServed("payment records are"),
    processing: z.object({ type: z.literal("card"), card: z.object({}).strict() }).nullable().describe("Set while a card payment's outcome is not known yet (status processing)."),
    review: notServed("Radar reviews are"),
    shipping: ShippingSchema.nullable(),
    source: notServed("the legacy Sources API is"),
    statement_descriptor_suffix: nullableString,
    transfer_data: notServed(CONNECT),
    transfer_group: notServed(CONNECT),
    payment_intent_id: z.string().describe("Seed 001's name for `id`."),
    merchant_id: z.string(),
    amount: z.number().int().describe("Minor units of `currency`."),
    amount_capturable: z.number().int(),
    amount_received: z.number().int(),
    amount_refunded: z.number().int(),
    amount_details: z.object({ tip: z.object({ amount: z.number().int().optional() }) }),
    canceled_at: z.number().int().nullable(),
    cancellation_reason: nullableString,
    capture_method: z.enum(["automatic", "automatic_async", "manual"]),
    client_secret: z.string().nullable().describe("The secret that confirms the payment from the customer's side; null to a credential that may not make payments (support, a read-only key)."),
    confirmation_method: z.enum(["automatic", "manual"]),
    created: z.number().int(),
    created_ms: z.number().int(),
    currency: z.string(),
    customer: z.union([z.string(), z.looseObject({ id: z.string(), object: z.string() })]).nullable().describe("The customer's id, or the customer with expand[]=customer."),
    description: nullableString,
    last_payment_error: z
      .object({
        type: z.string(),
        code: z.string(),
        decline_code: nullableString,
        message: z.string(),
        charge: nullableString,
        payment_method: PaymentMethodSchema.nullable(),
      })
      .nullable(),
    latest_charge: z.union([z.string(), ChargeSchema]).nullable(),
    latest_charge_id: nullableString.describe("Seed 001's name for `latest_charge`."),
    charges: z
      .object({ object: z.literal("list"), data: z.array(ChargeSchema), has_more: z.literal(false), total_count: z.number().int(), url: z.string() })
      .optional()
      .describe("Only for a Stripe-Version before 2022-11-15: every charge of the intent, newest first (later versions: `latest_charge`)."),
    livemode: z.boolean(),
    metadata,
    next_action: z
      .object({
        type: z.literal("redirect_to_url"),
        redirect_to_url: z.object({ url: z.string().nullable().describe("The page the customer goes to; null to a credential that may not make payments (the address carries the client secret)."), return_url: nullableString }),
        url: z.string().nullable().describe("Seed 001's flat form of redirect_to_url.url; null where that is."),
      })
      .nullable(),
    order_id: nullableString,
    invoice_id: nullableString,
    invoice: nullableString.describe("The subscription invoice this payment pays (in_...)."),
    setup_future_usage: z.enum(["on_session", "off_session"]).nullable().describe("The payment method is saved to the customer once the payment succeeds."),
    payment_method: z.union([z.string(), PaymentMethodSchema]).nullable(),
    payment_method_types: z.array(z.string()),
    receipt_email: nullableString,
    return_url: nullableString,
    statement_descriptor: nullableString,
    status: z.enum(INTENT_STATUSES),
    connector: nullableString.describe("The connector of the payment: sandbox, stripe or paypal."),
    connector_account: nullableString.describe("The merchant's connector account used (mca_...); null for the built-in sandbox."),
    retry_of: nullableString.describe("The failed payment this one retries."),
    failure_resolution: z
      .object({ status: z.string(), reason: z.string(), paid_by_other_means: z.boolean(), retried_by: nullableString, actor: z.string(), at: z.number().int() })
      .nullable()
      .describe("What an operator made of this failed payment."),
  })
  .meta({ id: "PaymentIntent" });

/**
 * Typed as what handlers render (PaymentIntentJson, its client secret always a string), while the
 * schema documents the wire: src/api/v1/secrets.ts answers a reader that may not make payments with
 * the client secret and the challenge address null, after the handler, as Stripe's schema allows.
 */
export const PaymentIntentSchema = PaymentIntentAnswerSchema as unknown as z.ZodType<PaymentIntentJson>;

export const RefundSchema: z.ZodType<RefundJson> = z
  .object({
    id: z.string(),
    object: z.literal("refund"),
    balance_transaction: notServed("balance transactions are"),
    customer: z.union([z.string(), z.looseObject({ id: z.string(), object: z.string() })]).nullable().describe("The charge's customer: its id, or the customer with expand[]=customer."),
    customer_account: notServed("Accounts v2 are"),
    payment_method: z
      .union([z.string(), z.looseObject({ id: z.string(), object: z.literal("payment_method") })])
      .nullable()
      .describe("The payment method the charge was paid with: its id, or the payment method with expand[]=payment_method."),
    receipt_number: notServed("receipts are"),
    source_transfer_reversal: notServed(CONNECT),
    transfer_reversal: notServed(CONNECT),
    refund_id: z.string().describe("Seed 001's name for `id`."),
    amount: z.number().int(),
    charge: z.union([z.string(), ChargeSchema]).describe("The charge's id, or the charge with expand[]=charge."),
    created: z.number().int(),
    currency: z.string(),
    failure_reason: z.enum(REFUND_FAILURE_REASONS).optional().describe("Only on a failed refund, as Stripe's."),
    metadata,
    payment_intent: z.union([z.string(), PaymentIntentSchema]).describe("The intent's id, or the intent with expand[]=payment_intent."),
    reason: nullableString,
    status: z.enum(["pending", "succeeded", "failed", "canceled"]),
    requires_approval: z.boolean().describe("Above the merchant's threshold: waits, pending, for an approver."),
    approval: z.object({ status: z.string(), actor: z.string(), reason: nullableString, at: z.number().int() }).nullable(),
  })
  .meta({ id: "Refund" });

export const TransactionSchema: z.ZodType<TransactionJson> = z
  .object({
    id: z.string(),
    object: z.literal("payment_transaction"),
    type: z.enum(["authorize", "authenticate", "capture", "void", "refund"]),
    status: z.enum(["pending", "succeeded", "failed", "requires_action", "canceled"]),
    amount: z.number().int(),
    currency: z.string(),
    connector: z.string(),
    connector_account: nullableString,
    payment_intent: z.string(),
    payment_method: nullableString,
    refund: nullableString,
    capture: z.boolean().nullable(),
    provider_reference: nullableString,
    response_code: nullableString,
    response_text: nullableString,
    decline_code: nullableString,
    authorization_code: nullableString,
    avs_result: nullableString,
    cvv_result: nullableString,
    created: z.number().int(),
    created_ms: z.number().int(),
    completed_ms: z.number().int().nullable(),
  })
  .meta({ id: "PaymentTransaction" });

export function listOf(item: z.ZodType, name: string) {
  return z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), url: z.string() }).meta({ id: name });
}

export function searchResultOf(item: z.ZodType, name: string) {
  return z
    .object({ object: z.literal("search_result"), data: z.array(item), has_more: z.boolean(), next_page: z.string().nullable(), url: z.string(), total_count: z.number().int().optional() })
    .meta({ id: name });
}
