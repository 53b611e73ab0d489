// The canonical public representation of our objects: Stripe's field names, plus seed 001's where
// they differ (payment_intent_id, latest_charge_id, refund_id). /v1 answers with these, and events
// carry them as snapshots. Times are Unix seconds, as Stripe's; `created_ms` keeps the milliseconds.
import { CHARGE_REFUNDS_REMOVED, CHARGES_LIST_REMOVED, rendersAsOf } from "./api-version";
import { authorizedAmount, chargeAttempt, isFailedCharge } from "./intent";
import { errorDocUrl } from "./stripe-error-codes";
import { attemptIdForCharge, chargeIdForIntent, failedChargeId } from "./ids";
import type { Attempt, BillingAddress, BillingDetails, IntentRecord, PaymentMethodDetails, RefundRecord, Shipping } from "./types";

const seconds = (ms: number) => Math.floor(ms / 1000);

export interface CardJson {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  funding: string;
  country: string | null;
  fingerprint: string;
}

/** A saved card as Stripe's PaymentMethod.card: our card fields and what Stripe always adds. */
export interface PaymentMethodCardJson extends CardJson {
  checks: { address_line1_check: string | null; address_postal_code_check: string | null; cvc_check: string | null };
  display_brand: string;
  generated_from: null;
  networks: { available: string[]; preferred: null };
  regulated_status: null;
  three_d_secure_usage: { supported: boolean };
  wallet: null;
}

export interface PaymentMethodJson {
  id: string;
  object: "payment_method";
  type: "card" | "paypal";
  card: PaymentMethodCardJson | null;
  created: number;
  customer: string | null;
  customer_account: null;
  livemode: boolean;
  metadata: Record<string, string>;
  billing_details: BillingDetailsJson;
}

export interface AddressJson {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface BillingDetailsJson {
  address: AddressJson | null;
  email: string | null;
  name: string | null;
  phone: string | null;
  /** Stripe's tax id of the payer: never collected here. */
  tax_id: null;
}

export function renderAddress(a: BillingAddress | null | undefined): AddressJson {
  return { city: a?.city ?? null, country: a?.country ?? null, line1: a?.line1 ?? null, line2: a?.line2 ?? null, postal_code: a?.postalCode ?? null, state: a?.state ?? null };
}

/** Stripe's billing_details: every field present, null when not given. */
export function renderBillingDetails(b: BillingDetails | null | undefined): BillingDetailsJson {
  return { address: renderAddress(b?.address), email: b?.email ?? null, name: b?.name ?? null, phone: b?.phone ?? null, tax_id: null };
}

export interface ShippingJson {
  address: AddressJson;
  carrier: string | null;
  name: string;
  phone: string | null;
  tracking_number: string | null;
}

export function renderShipping(s: Shipping | null | undefined): ShippingJson | null {
  return s ? { address: renderAddress(s.address), carrier: s.carrier, name: s.name, phone: s.phone, tracking_number: s.trackingNumber } : null;
}

/** Stripe's PaymentMethod.card of a card we keep (brand, last4, expiry, funding, country, fingerprint). */
export function renderPaymentMethodCard(c: CardJson, checks: PaymentMethodCardJson["checks"] = { address_line1_check: null, address_postal_code_check: null, cvc_check: null }): PaymentMethodCardJson {
  return { ...c, checks, display_brand: c.brand, generated_from: null, networks: { available: [c.brand], preferred: null }, regulated_status: null, three_d_secure_usage: { supported: true }, wallet: null };
}

export interface LastPaymentErrorJson {
  type: string;
  code: string;
  decline_code: string | null;
  /** Stripe's page of the code, for Stripe's own codes. */
  doc_url?: string;
  message: string;
  charge: string | null;
  payment_method: PaymentMethodJson | null;
}

export interface NextActionJson {
  type: "redirect_to_url";
  redirect_to_url: { url: string; return_url: string | null };
  /** Seed 001's flat form of the same redirect. */
  url: string;
}

/** Stripe's payment_method_options: the card's, with what the merchant set. */
export interface PaymentMethodOptionsJson {
  card: {
    installments: null;
    mandate_options: null;
    network: null;
    request_three_d_secure: "any" | "automatic" | "challenge";
    capture_method?: "manual";
    setup_future_usage?: "none" | "off_session" | "on_session";
    require_cvc_recollection?: boolean;
    request_incremental_authorization?: "if_available" | "never";
  };
}

export interface PaymentIntentJson {
  id: string;
  object: "payment_intent";
  /** Connect and features not served here (always null): see the README's object notes. */
  allowed_payment_method_types: null;
  application: null;
  application_fee_amount: null;
  automatic_payment_methods: { enabled: boolean; allow_redirects?: "always" | "never" } | null;
  customer_account: null;
  excluded_payment_method_types: null;
  managed_payments: null;
  on_behalf_of: null;
  payment_method_configuration_details: null;
  payment_method_options: PaymentMethodOptionsJson;
  payment_record: null;
  /** Stripe's processing details: a card payment whose outcome is not known yet. */
  processing: { type: "card"; card: Record<string, never> } | null;
  review: null;
  shipping: ShippingJson | null;
  source: null;
  statement_descriptor_suffix: string | null;
  transfer_data: null;
  transfer_group: null;
  payment_intent_id: string;
  merchant_id: string;
  amount: number;
  amount_capturable: number;
  amount_received: number;
  amount_refunded: number;
  amount_details: { tip: { amount?: number } };
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: "automatic" | "automatic_async" | "manual";
  client_secret: string;
  confirmation_method: "automatic" | "manual";
  created: number;
  created_ms: number;
  currency: string;
  /** The customer's id, or the customer object with expand[]=customer. */
  customer: string | ExpandedObject | null;
  description: string | null;
  last_payment_error: LastPaymentErrorJson | null;
  latest_charge: string | ChargeJson | null;
  latest_charge_id: string | null;
  /**
   * Stripe-Version before 2022-11-15 only: every charge of the intent, newest first (its declined
   * authorizations and its successful one). Later versions have latest_charge instead.
   */
  charges?: { object: "list"; data: ChargeJson[]; has_more: boolean; total_count: number; url: string };
  livemode: boolean;
  metadata: Record<string, string>;
  next_action: NextActionJson | null;
  order_id: string | null;
  invoice_id: string | null;
  invoice: string | null;
  setup_future_usage: "on_session" | "off_session" | null;
  payment_method: string | PaymentMethodJson | null;
  payment_method_types: string[];
  receipt_email: string | null;
  return_url: string | null;
  statement_descriptor: string | null;
  status: IntentRecord["status"];
  connector: string | null;
  connector_account: string | null;
  retry_of: string | null;
  failure_resolution: { status: string; reason: string; paid_by_other_means: boolean; retried_by: string | null; actor: string; at: number } | null;
}

/** A charge's card as Stripe's Charge.payment_method_details.card. */
export interface ChargeCardJson extends CardJson {
  checks: { address_line1_check: string | null; address_postal_code_check: string | null; cvc_check: string | null };
  amount_authorized: number | null;
  authorization_code: string | null;
  /** Whether the authorization may be incremented (asked for at confirmation, and the connector and card allow it). */
  incremental_authorization: { status: "available" | "unavailable" };
  electronic_commerce_indicator: null;
  installments: null;
  mandate: null;
  network: string;
  network_transaction_id: null;
  regulated_status: null;
  three_d_secure: ThreeDSecureJson | null;
  transaction_link_id: null;
  wallet: null;
}

/** The 3D Secure challenge a charge passed (the sandbox's challenge page, or the PSP's). */
export interface ThreeDSecureJson {
  authentication_flow: "challenge";
  electronic_commerce_indicator: null;
  exemption_indicator: null;
  result: "authenticated";
  result_reason: null;
  transaction_id: null;
  version: null;
}

export interface ChargeJson {
  id: string;
  object: "charge";
  /** Connect and features not served here (always null). */
  application: null;
  application_fee: null;
  application_fee_amount: null;
  on_behalf_of: null;
  source_transfer: null;
  transfer_data: null;
  transfer_group: null;
  balance_transaction: null;
  failure_balance_transaction: null;
  fraud_details: Record<string, never>;
  receipt_number: null;
  receipt_url: null;
  review: null;
  source: null;
  calculated_statement_descriptor: string | null;
  receipt_email: string | null;
  shipping: ShippingJson | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  /** Absent on a failed charge (Stripe never answers null here). */
  authorization_code?: string | null;
  billing_details: BillingDetailsJson;
  captured: boolean;
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  disputed: false;
  failure_code: string | null;
  failure_message: string | null;
  livemode: boolean;
  metadata: Record<string, string>;
  outcome: {
    network_status: "approved_by_network" | "declined_by_network";
    type: "authorized" | "issuer_declined";
    seller_message: string;
    risk_level: "normal";
    reason: string | null;
    advice_code: "confirm_card_data" | "do_not_try_again" | "try_again_later" | null;
    network_advice_code: null;
    network_decline_code: null;
  };
  paid: boolean;
  payment_intent: string;
  payment_method: string | null;
  payment_method_details: {
    type: "card" | "paypal";
    card: ChargeCardJson | null;
  };
  refunded: boolean;
  /** Stripe's list of the charge's refunds: with expand[]=refunds, and on every charge for a Stripe-Version before 2022-11-15. */
  refunds?: ChargeRefundsJson;
  status: "succeeded" | "failed";
  connector: string;
  connector_account: string | null;
  provider_reference: string | null;
}

/** A charge's `refunds` list object, as Stripe's (its url is Stripe's: /v1/charges/{id}/refunds). */
export interface ChargeRefundsJson {
  object: "list";
  data: RefundJson[];
  has_more: boolean;
  total_count: number;
  url: string;
}

export interface RefundJson {
  id: string;
  object: "refund";
  /** Balance transactions, customer balances, Connect reversals and receipts are not kept (always null). */
  balance_transaction: null;
  /** The charge's customer (its intent's): its id, or the customer with expand[]=customer. */
  customer: string | ExpandedObject | null;
  customer_account: null;
  /** The payment method the charge was paid with: its id, or the payment method with expand[]=payment_method. */
  payment_method: string | PaymentMethodJson | ExpandedObject | null;
  receipt_number: null;
  source_transfer_reversal: null;
  transfer_reversal: null;
  refund_id: string;
  amount: number;
  charge: string | ChargeJson;
  created: number;
  currency: string;
  /** Only on a failed refund, one of Stripe's reasons (Stripe omits it otherwise). */
  failure_reason?: RefundFailureReason;
  metadata: Record<string, string>;
  payment_intent: string | PaymentIntentJson;
  reason: string | null;
  status: RefundRecord["status"];
  requires_approval: boolean;
  /** Of a refund that waited for approval: who asked for it (an approver must be someone else). */
  requested_by?: string | null;
  approval: { status: string; actor: string; reason: string | null; at: number } | null;
}

export const REFUND_FAILURE_REASONS = ["charge_for_pending_refund_disputed", "declined", "expired_or_canceled_card", "insufficient_funds", "lost_or_stolen_card", "merchant_request", "unknown"] as const;
export type RefundFailureReason = (typeof REFUND_FAILURE_REASONS)[number];

/** A failed refund's reason in Stripe's words (a provider's own code, or ours, becomes the nearest). */
export function refundFailureReason(code: string | null): RefundFailureReason {
  if (code && (REFUND_FAILURE_REASONS as readonly string[]).includes(code)) return code as RefundFailureReason;
  if (code === "lost_card" || code === "stolen_card") return "lost_or_stolen_card";
  if (code === "expired_card" || code === "card_canceled") return "expired_or_canceled_card";
  if (code === "card_declined" || code === "generic_decline" || code === "do_not_honor") return "declined";
  return "unknown";
}

export interface TransactionJson {
  id: string;
  object: "payment_transaction";
  type: Attempt["type"];
  status: Attempt["status"];
  amount: number;
  currency: string;
  connector: string;
  connector_account: string | null;
  payment_intent: string;
  payment_method: string | null;
  refund: string | null;
  capture: boolean | null;
  provider_reference: string | null;
  response_code: string | null;
  response_text: string | null;
  decline_code: string | null;
  authorization_code: string | null;
  avs_result: string | null;
  cvv_result: string | null;
  created: number;
  created_ms: number;
  completed_ms: number | null;
}

const CVC_CHECK: Record<string, string> = { M: "pass", N: "fail", P: "unavailable", U: "unavailable" };
const AVS_CHECK: Record<string, string> = { Y: "pass", Z: "pass", N: "fail", U: "unavailable" };

function renderCard(pm: PaymentMethodDetails): CardJson | null {
  const c = pm.card;
  if (!c) return null;
  return { brand: c.brand, last4: c.last4, exp_month: c.expMonth, exp_year: c.expYear, funding: c.funding, country: c.country, fingerprint: c.fingerprint };
}

export function renderPaymentMethod(pm: PaymentMethodDetails, intent: IntentRecord): PaymentMethodJson {
  const card = renderCard(pm);
  return {
    id: pm.id,
    object: "payment_method",
    type: pm.type,
    card: card ? renderPaymentMethodCard(card) : null,
    created: seconds(pm.created),
    customer: null,
    customer_account: null,
    livemode: intent.livemode,
    metadata: {},
    billing_details: renderBillingDetails(pm.billingDetails),
  };
}

/** An object of another module (a customer) rendered by its own renderer, for expand[]. */
export type ExpandedObject = { id: string; object: string } & Record<string, unknown>;

export interface RenderOptions {
  expand?: readonly string[];
  /** Customers by id, for expand[]=customer (looked up by the caller: core does no I/O). */
  customers?: ReadonlyMap<string, ExpandedObject>;
  /** The Stripe-Version to render for (the current shape when absent). */
  apiVersion?: string;
}

/** Every charge of the intent, newest first: its declined authorizations (failed charges) and its successful one. */
export function renderIntentCharges(intent: IntentRecord): ChargeJson[] {
  const success = chargeAttempt(intent);
  return intent.attempts
    .flatMap((a) => (a === success ? [renderCharge(intent)] : isFailedCharge(a) ? [renderFailedCharge(intent, a.id)] : []))
    .filter((charge): charge is ChargeJson => charge !== null)
    .reverse();
}

/**
 * The intent's latest charge, as Stripe's latest_charge: its successful one, else its latest declined
 * authorization (a failed charge), else none. A provider error or a 3DS failure charged nothing.
 */
function latestCharge(intent: IntentRecord): ChargeJson | null {
  const success = renderCharge(intent);
  if (success) return success;
  const declined = [...intent.attempts].reverse().find(isFailedCharge);
  return declined ? renderFailedCharge(intent, declined.id) : null;
}

function legacyCharges(intent: IntentRecord, apiVersion: string): NonNullable<PaymentIntentJson["charges"]> {
  const data = renderIntentCharges(intent).map((charge) => chargeAsOf(intent, charge, apiVersion));
  return { object: "list", data: data.slice(0, INCLUDED_LIST_LIMIT), has_more: data.length > INCLUDED_LIST_LIMIT, total_count: data.length, url: `/v1/charges?payment_intent=${intent.id}` };
}

export function renderIntent(intent: IntentRecord, options: RenderOptions = {}): PaymentIntentJson {
  const expand = new Set(options.expand ?? []);
  const charge = latestCharge(intent);
  const err = intent.lastPaymentError;
  const pm = intent.paymentMethod;
  const cardOptions = intent.cardOptions ?? {};
  return {
    id: intent.id,
    object: "payment_intent",
    allowed_payment_method_types: null,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: intent.automaticPaymentMethods
      ? { enabled: intent.automaticPaymentMethods.enabled, ...(intent.automaticPaymentMethods.allowRedirects ? { allow_redirects: intent.automaticPaymentMethods.allowRedirects } : {}) }
      : null,
    customer_account: null,
    excluded_payment_method_types: null,
    managed_payments: null,
    on_behalf_of: null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: {
        installments: null,
        mandate_options: null,
        network: null,
        request_three_d_secure: cardOptions.requestThreeDSecure ?? "automatic",
        ...(cardOptions.captureMethod ? { capture_method: cardOptions.captureMethod } : {}),
        ...(cardOptions.setupFutureUsage ? { setup_future_usage: cardOptions.setupFutureUsage } : {}),
        ...(cardOptions.requireCvcRecollection !== undefined ? { require_cvc_recollection: cardOptions.requireCvcRecollection } : {}),
        ...(cardOptions.requestIncrementalAuthorization ? { request_incremental_authorization: cardOptions.requestIncrementalAuthorization } : {}),
      },
    },
    payment_record: null,
    processing: intent.status === "processing" && (pm?.type ?? "card") === "card" ? { type: "card", card: {} } : null,
    review: null,
    shipping: renderShipping(intent.shipping),
    source: null,
    statement_descriptor_suffix: intent.statementDescriptorSuffix ?? null,
    transfer_data: null,
    transfer_group: null,
    payment_intent_id: intent.id,
    merchant_id: intent.merchantId,
    amount: intent.amount,
    amount_capturable: intent.amountCapturable,
    amount_received: intent.amountReceived,
    amount_refunded: intent.amountRefunded,
    amount_details: { tip: intent.tipAmount > 0 ? { amount: intent.tipAmount } : {} },
    canceled_at: intent.canceledAt === null ? null : seconds(intent.canceledAt),
    cancellation_reason: intent.cancellationReason,
    capture_method: intent.captureMethod === "automatic" && intent.captureAsync ? "automatic_async" : intent.captureMethod,
    client_secret: intent.clientSecret,
    confirmation_method: intent.confirmationMethod ?? "automatic",
    created: seconds(intent.created),
    created_ms: intent.created,
    currency: intent.currency,
    customer: (expand.has("customer") && intent.customer ? options.customers?.get(intent.customer) : undefined) ?? intent.customer,
    description: intent.description,
    last_payment_error: err
      ? {
          type: err.type,
          code: err.code,
          decline_code: err.declineCode,
          ...docUrlOf(err.code),
          message: err.message,
          // A declined authorization is a failed charge (a failed 3DS challenge charged nothing).
          charge: intent.attempts.some((a) => a.id === err.attemptId && a.type === "authorize") ? failedChargeId(intent.id, err.attemptId) : null,
          payment_method: err.paymentMethod ? renderPaymentMethod(err.paymentMethod, intent) : null,
        }
      : null,
    latest_charge: charge ? (expand.has("latest_charge") ? chargeAsOf(intent, charge, options.apiVersion) : charge.id) : null,
    latest_charge_id: charge?.id ?? null,
    ...(options.apiVersion !== undefined && !rendersAsOf(options.apiVersion, CHARGES_LIST_REMOVED) ? { charges: legacyCharges(intent, options.apiVersion) } : {}),
    livemode: intent.livemode,
    metadata: { ...intent.metadata },
    next_action: intent.nextAction
      ? {
          type: "redirect_to_url",
          redirect_to_url: { url: intent.nextAction.url, return_url: intent.nextAction.returnUrl },
          url: intent.nextAction.url,
        }
      : null,
    order_id: intent.orderId,
    invoice_id: intent.invoiceId,
    invoice: intent.invoiceId?.startsWith("in_") ? intent.invoiceId : null,
    setup_future_usage: intent.setupFutureUsage ?? null,
    payment_method: pm ? (expand.has("payment_method") ? renderPaymentMethod(pm, intent) : pm.id) : null,
    payment_method_types: intent.paymentMethodTypes ?? ["card"],
    receipt_email: intent.receiptEmail,
    return_url: intent.returnUrl,
    statement_descriptor: intent.statementDescriptor,
    status: intent.status,
    connector: intent.connector,
    connector_account: intent.connectorAccount,
    retry_of: intent.retryOf,
    failure_resolution: intent.resolution
      ? {
          status: intent.resolution.status,
          reason: intent.resolution.reason,
          paid_by_other_means: intent.resolution.paidByOtherMeans,
          retried_by: intent.resolution.retriedBy,
          actor: intent.resolution.actor,
          at: seconds(intent.resolution.at),
        }
      : null,
  };
}

/** What every charge of an intent says the same way: Stripe's fields of features not served, and the intent's descriptors. */
function chargeCommon(intent: IntentRecord) {
  return {
    application: null,
    application_fee: null,
    application_fee_amount: null,
    on_behalf_of: null,
    source_transfer: null,
    transfer_data: null,
    transfer_group: null,
    balance_transaction: null,
    failure_balance_transaction: null,
    fraud_details: {},
    receipt_number: null,
    receipt_url: null,
    review: null,
    source: null,
    calculated_statement_descriptor: intent.statementDescriptor,
    receipt_email: intent.receiptEmail,
    shipping: renderShipping(intent.shipping),
    statement_descriptor: intent.statementDescriptor,
    statement_descriptor_suffix: intent.statementDescriptorSuffix ?? null,
  } as const;
}

/** A charge's card: ours, with Stripe's network details (what we do not know is null). */
function renderChargeCard(card: CardJson, extra: { checks: ChargeCardJson["checks"]; amountAuthorized: number | null; authorizationCode: string | null; threeDSecure: boolean; incremental?: boolean }): ChargeCardJson {
  return {
    ...card,
    checks: extra.checks,
    amount_authorized: extra.amountAuthorized,
    authorization_code: extra.authorizationCode,
    incremental_authorization: { status: extra.incremental ? "available" : "unavailable" },
    electronic_commerce_indicator: null,
    installments: null,
    mandate: null,
    network: card.brand,
    network_transaction_id: null,
    regulated_status: null,
    three_d_secure: extra.threeDSecure
      ? { authentication_flow: "challenge", electronic_commerce_indicator: null, exemption_indicator: null, result: "authenticated", result_reason: null, transaction_id: null, version: null }
      : null,
    transaction_link_id: null,
    wallet: null,
  };
}

/**
 * A charge takes its description, metadata, receipt email and shipping from its intent until
 * POST /v1/charges/{id} gives it its own (from then on its own, as at Stripe).
 */
function withUpdates(intent: IntentRecord, charge: ChargeJson | null): ChargeJson | null {
  const own = charge ? intent.chargeUpdates?.[charge.id] : undefined;
  if (!charge || !own) return charge;
  return {
    ...charge,
    ...(own.description !== undefined ? { description: own.description } : {}),
    ...(own.metadata !== undefined ? { metadata: { ...own.metadata } } : {}),
    ...(own.receiptEmail !== undefined ? { receipt_email: own.receiptEmail } : {}),
    ...(own.shipping !== undefined ? { shipping: renderShipping(own.shipping) } : {}),
  };
}

/** ch_<intent> is the intent's charge; ch_<intent><attempt> one of its declined authorizations (a failed charge). */
export function renderChargeById(intent: IntentRecord, chargeId: string): ChargeJson | null {
  const failed = attemptIdForCharge(chargeId);
  const charge = failed ? renderFailedCharge(intent, failed) : renderCharge(intent);
  return charge?.id === chargeId ? charge : null;
}

/** Stripe's `refunds` of a charge: a list object of its refunds, newest first (a failed charge's is empty). */
/** How many objects a list included in another object holds (Stripe's 10; the rest are paged at its url). */
export const INCLUDED_LIST_LIMIT = 10;

export function renderChargeRefunds(intent: IntentRecord, chargeId: string): ChargeRefundsJson {
  // Newest first; refunds made in the same millisecond in the order they were made (the later first).
  const data = [...intent.refunds]
    .reverse()
    .filter((r) => r.chargeId === chargeId)
    .sort((a, b) => b.created - a.created)
    .map((r) => renderRefund(r, refundChargeOf(intent)));
  // As Stripe's included lists: the first 10, the rest at its url (GET /v1/charges/{id}/refunds).
  return { object: "list", data: data.slice(0, INCLUDED_LIST_LIMIT), has_more: data.length > INCLUDED_LIST_LIMIT, total_count: data.length, url: `/v1/charges/${chargeId}/refunds` };
}

/**
 * A charge as a Stripe-Version shows it: before 2022-11-15 every charge carries `refunds`, its
 * refunds list (later versions and the current shape: only with expand[]=refunds). Without a
 * version (events' stored snapshots, the current shape) the charge is unchanged.
 */
export function chargeAsOf(intent: IntentRecord, charge: ChargeJson, apiVersion: string | undefined): ChargeJson {
  if (apiVersion === undefined || rendersAsOf(apiVersion, CHARGE_REFUNDS_REMOVED)) return charge;
  return { ...charge, refunds: renderChargeRefunds(intent, charge.id) };
}

/**
 * A charge's amount_refunded as Stripe counts it: the refunds, and what was authorized and given back
 * without being captured (the rest of a partial capture, or the whole of an authorization canceled),
 * which Stripe reports as refunded on the charge. The intent's own amount_refunded stays the refunds.
 */
function chargeRefunded(intent: IntentRecord, authorized: number, captured: boolean): number {
  const released = captured ? Math.max(0, authorized - intent.amountReceived) : intent.status === "canceled" ? authorized : 0;
  return intent.amountRefunded + released;
}

/** The intent's charge (its successful authorization) as its own updates leave it, or null before there is one. */
export function renderCharge(intent: IntentRecord): ChargeJson | null {
  return withUpdates(intent, successfulCharge(intent));
}

function successfulCharge(intent: IntentRecord): ChargeJson | null {
  const auth = chargeAttempt(intent);
  if (!auth) return null;
  const captured = intent.attempts.some((a) => a.type === "capture" && a.status === "succeeded") || auth.capture === true;
  // Once authorized, an intent's payment method can no longer change: it is the charge's.
  const pm = intent.paymentMethod;
  const card = pm ? renderCard(pm) : null;
  const authenticated = intent.attempts.some((a) => a.type === "authenticate" && a.status === "succeeded");
  // The authorization with its incremental authorizations: what the charge holds (or held).
  const authorized = authorizedAmount(intent);
  return {
    id: chargeIdForIntent(intent.id),
    object: "charge",
    ...chargeCommon(intent),
    amount: authorized,
    amount_captured: captured ? intent.amountReceived : 0,
    amount_refunded: chargeRefunded(intent, authorized, captured),
    authorization_code: auth.authorizationCode,
    billing_details: renderBillingDetails(pm?.billingDetails),
    captured,
    created: seconds(auth.created),
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: intent.livemode,
    metadata: { ...intent.metadata },
    outcome: {
      network_status: "approved_by_network",
      type: "authorized",
      seller_message: "Payment complete.",
      risk_level: "normal",
      reason: null,
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
    },
    paid: true,
    payment_intent: intent.id,
    payment_method: auth.paymentMethodId,
    payment_method_details: {
      type: pm?.type ?? "card",
      card: card
        ? renderChargeCard(card, {
            checks: {
              address_line1_check: null,
              address_postal_code_check: auth.avsResult ? (AVS_CHECK[auth.avsResult] ?? "unchecked") : null,
              cvc_check: auth.cvvResult ? (CVC_CHECK[auth.cvvResult] ?? "unchecked") : null,
            },
            amountAuthorized: authorized,
            authorizationCode: auth.authorizationCode,
            threeDSecure: authenticated,
            incremental: auth.incrementalAuthorization === true,
          })
        : null,
    },
    refunded: chargeRefunded(intent, authorized, captured) >= authorized,
    status: "succeeded",
    connector: auth.connector,
    connector_account: auth.connectorAccount,
    provider_reference: auth.providerReference,
  };
}

/**
 * A declined authorization as Stripe's failed charge (status failed, paid false, failure_code and
 * failure_message), or null when the id names no declined authorization of this intent.
 */
export function renderFailedCharge(intent: IntentRecord, attemptId: string): ChargeJson | null {
  return withUpdates(intent, failedCharge(intent, attemptId));
}

/** A payment method declined on the intent, by id: the latest decline's (last_payment_error) or an earlier one's (retireLastError). */
export function declinedMethod(intent: IntentRecord, id: string | null): PaymentMethodDetails | null {
  if (!id) return null;
  const latest = intent.lastPaymentError?.paymentMethod;
  return latest?.id === id ? latest : (intent.declinedMethods?.find((m) => m.id === id) ?? null);
}

function failedCharge(intent: IntentRecord, attemptId: string): ChargeJson | null {
  const attempt = intent.attempts.find((a) => a.id === attemptId && isFailedCharge(a));
  if (!attempt) return null;
  // The card declined (kept by the intent for each decline; records from before that kept only the latest's, in last_payment_error).
  const pm = declinedMethod(intent, attempt.paymentMethodId);
  const card = pm ? renderCard(pm) : null;
  return {
    id: failedChargeId(intent.id, attempt.id),
    object: "charge",
    ...chargeCommon(intent),
    amount: attempt.amount,
    amount_captured: 0,
    amount_refunded: 0,
    billing_details: renderBillingDetails(pm?.billingDetails),
    captured: false,
    created: seconds(attempt.created),
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    disputed: false,
    failure_code: attempt.responseCode,
    failure_message: attempt.responseText,
    livemode: intent.livemode,
    metadata: { ...intent.metadata },
    outcome: {
      network_status: "declined_by_network",
      type: "issuer_declined",
      seller_message: "The bank did not return any further details with this decline.",
      risk_level: "normal",
      reason: attempt.declineCode,
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
    },
    paid: false,
    payment_intent: intent.id,
    payment_method: attempt.paymentMethodId,
    payment_method_details: {
      type: pm?.type ?? "card",
      card: card ? renderChargeCard(card, { checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: null }, amountAuthorized: null, authorizationCode: null, threeDSecure: false }) : null,
    },
    refunded: false,
    status: "failed",
    connector: attempt.connector,
    connector_account: attempt.connectorAccount,
    provider_reference: attempt.providerReference,
  };
}

/**
 * What a refund takes from its charge: Stripe's refund.customer and refund.payment_method, the
 * charge's customer and payment method. Not kept on the refund: its intent holds both (the read
 * model's payment_intents row has them as columns, customer and payment_method_id).
 */
export interface RefundCharge {
  customer: string | null;
  paymentMethod: string | null;
}

/**
 * A refund's charge as its intent has it (a refund is always of the intent's successful charge): the
 * intent's customer, as the charge renders it, and the payment method the authorization was made
 * with. Once authorized, an intent's payment method no longer changes, so it is that one too (which
 * the read model's payment_method_id column holds).
 */
export function refundChargeOf(intent: IntentRecord): RefundCharge {
  return { customer: intent.customer, paymentMethod: chargeAttempt(intent)?.paymentMethodId ?? intent.paymentMethod?.id ?? null };
}

export function renderRefund(refund: RefundRecord, charge: RefundCharge): RefundJson {
  return {
    id: refund.id,
    object: "refund",
    balance_transaction: null,
    customer: charge.customer,
    customer_account: null,
    payment_method: charge.paymentMethod,
    receipt_number: null,
    source_transfer_reversal: null,
    transfer_reversal: null,
    refund_id: refund.id,
    amount: refund.amount,
    charge: refund.chargeId,
    created: seconds(refund.created),
    currency: refund.currency,
    ...(refund.status === "failed" ? { failure_reason: refundFailureReason(refund.failureReason) } : {}),
    metadata: { ...refund.metadata },
    payment_intent: refund.paymentIntentId,
    reason: refund.reason,
    status: refund.status,
    requires_approval: refund.requiresApproval,
    ...(refund.requiresApproval ? { requested_by: refund.requestedBy ?? null } : {}),
    approval: refund.approval ? { status: refund.approval.status, actor: refund.approval.actor, reason: refund.approval.reason, at: seconds(refund.approval.at) } : null,
  };
}

export function renderTransaction(attempt: Attempt, intent: IntentRecord): TransactionJson {
  return {
    id: attempt.id,
    object: "payment_transaction",
    type: attempt.type,
    status: attempt.status,
    amount: attempt.amount,
    currency: attempt.currency,
    connector: attempt.connector,
    connector_account: attempt.connectorAccount,
    payment_intent: intent.id,
    payment_method: attempt.paymentMethodId,
    refund: attempt.refundId,
    capture: attempt.capture,
    provider_reference: attempt.providerReference,
    response_code: attempt.responseCode,
    response_text: attempt.responseText,
    decline_code: attempt.declineCode,
    authorization_code: attempt.authorizationCode,
    avs_result: attempt.avsResult,
    cvv_result: attempt.cvvResult,
    created: seconds(attempt.created),
    created_ms: attempt.created,
    completed_ms: attempt.completed,
  };
}

/** `doc_url` for an error object, when its code is one of Stripe's (an empty object otherwise). */
export function docUrlOf(code: string | null | undefined): { doc_url?: string } {
  const url = errorDocUrl(code);
  return url ? { doc_url: url } : {};
}
