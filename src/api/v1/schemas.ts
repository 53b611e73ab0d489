// Response shapes of /v1, for the OpenAPI document. Each is checked by the compiler against the type
// its renderer returns (core/objects.ts), so the document cannot drift from what we send.
import { z } from "zod";
import { REFUND_FAILURE_REASONS, type ChargeJson, type PaymentIntentJson, type PaymentMethodJson, type RefundJson, type TransactionJson } from "../../core/objects";
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

export const BillingDetailsSchema = z
  .object({
    address: z
      .object({ city: nullableString, country: nullableString, line1: nullableString, line2: nullableString, postal_code: nullableString, state: nullableString })
      .nullable(),
    email: nullableString,
    name: nullableString,
    phone: nullableString,
  })
  .meta({ id: "BillingDetails" });

export const PaymentMethodSchema: z.ZodType<PaymentMethodJson> = z
  .object({
    id: z.string(),
    object: z.literal("payment_method"),
    type: z.enum(["card", "paypal"]),
    card: Card.nullable(),
    created: z.number().int(),
    customer: nullableString,
    livemode: z.boolean(),
    metadata,
    billing_details: BillingDetailsSchema,
  })
  .meta({ id: "PaymentMethod" });

export const ChargeSchema: z.ZodType<ChargeJson> = z
  .object({
    id: z.string(),
    object: z.literal("charge"),
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
    }),
    paid: z.boolean(),
    payment_intent: z.string(),
    payment_method: nullableString,
    payment_method_details: z.object({
      type: z.enum(["card", "paypal"]),
      card: Card.extend({ checks: z.object({ cvc_check: nullableString, address_postal_code_check: nullableString }) }).nullable(),
    }),
    refunded: z.boolean(),
    status: z.enum(["succeeded", "failed"]),
    connector: z.string(),
    connector_account: nullableString,
    provider_reference: nullableString,
  })
  .meta({ id: "Charge" });

export const PaymentIntentSchema: z.ZodType<PaymentIntentJson> = z
  .object({
    id: z.string().meta({ example: "pi_3MtwBwLkdIwHu7ix28a3tqPa" }),
    object: z.literal("payment_intent"),
    payment_intent_id: z.string().describe("Seed 001's name for `id`."),
    merchant_id: z.string(),
    amount: z.number().int().describe("Minor units of `currency`."),
    amount_capturable: z.number().int(),
    amount_received: z.number().int(),
    amount_refunded: z.number().int(),
    amount_details: z.object({ tip: z.object({ amount: z.number().int().optional() }) }),
    canceled_at: z.number().int().nullable(),
    cancellation_reason: nullableString,
    capture_method: z.enum(["automatic", "manual"]),
    client_secret: z.string(),
    confirmation_method: z.literal("automatic"),
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
    livemode: z.boolean(),
    metadata,
    next_action: z
      .object({
        type: z.literal("redirect_to_url"),
        redirect_to_url: z.object({ url: z.string(), return_url: nullableString }),
        url: z.string(),
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

export const RefundSchema: z.ZodType<RefundJson> = z
  .object({
    id: z.string(),
    object: z.literal("refund"),
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
    .object({ object: z.literal("search_result"), data: z.array(item), has_more: z.boolean(), next_page: z.string().nullable(), url: z.string() })
    .meta({ id: name });
}
