// The domain records of the gateway. They are plain JSON data: stored in the intent's Durable Object,
// copied to the D1 read model, carried across RPC, and rendered by each API surface.

export const INTENT_STATUSES = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "canceled",
  "failed",
] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export type CaptureMethod = "automatic" | "manual";
/** Stripe's reasons; `void_invoice`: its invoice was voided (only the gateway sets it, as only Stripe does). */
export const CANCELLATION_REASONS = ["duplicate", "fraudulent", "requested_by_customer", "abandoned", "automatic", "expired", "void_invoice"] as const;
export type CancellationReason = (typeof CANCELLATION_REASONS)[number];
export const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export type Metadata = Record<string, string>;

/** Who is asking: the merchant and the mode (test/live) every read and write is scoped to. */
export interface Scope {
  merchantId: string;
  livemode: boolean;
}

/** What a sandbox card does when it is charged. Real connectors ignore it. */
export type SandboxScenario =
  | "success"
  | "generic_decline"
  | "insufficient_funds"
  | "lost_card"
  | "stolen_card"
  | "expired_card"
  | "incorrect_cvc"
  | "processing_error"
  | "fraudulent"
  | "card_velocity_exceeded"
  | "test_mode_live_card"
  | "requires_3ds"
  /** 4000002500003155: asks for 3D Secure as requires_3ds, but once set up (a passed setup challenge) charges off session without it. */
  | "requires_3ds_on_setup"
  | "timeout_then_success"
  | "timeout_then_decline"
  | "provider_error"
  | "increment_declined"
  | "refund_fail";

export interface CardDetails {
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  funding: "credit" | "debit" | "prepaid" | "unknown";
  country: string | null;
  /** Same card, same merchant: same fingerprint. Never reversible to the number. */
  fingerprint: string;
}

export type PaymentMethodType = "card" | "paypal";
export type SetupFutureUsage = "on_session" | "off_session";

/** A payment method as an intent keeps it: never a card number or a CVC. */
export interface PaymentMethodDetails {
  id: string;
  type: PaymentMethodType;
  /** Card details; null for wallets (PayPal), whose payer is known only to the provider. */
  card: CardDetails | null;
  /** Where it came from: a token, a sandbox test id, a vault token, test card details, or a wallet. */
  source: "token" | "test_payment_method" | "vault_token" | "card_details" | "wallet";
  sandboxScenario: SandboxScenario;
  /** The Stripe test payment method standing for this test card (pm_card_visa, ...), for Stripe in test mode. */
  testAlias: string | null;
  created: number;
  /** Stripe's billing_details, as given with the method (absent on methods stored before they were kept). */
  billingDetails?: BillingDetails | null;
  /**
   * Whether the payment's request carried the card's CVC (seed 002's cvv, never kept): false, none did,
   * and a processor reports the CVV check not processed; absent, not known (as before it was kept).
   */
  cvcPresented?: boolean;
  /**
   * The card passed a setup intent's 3D Secure challenge when it was saved: the issuer then lets later
   * off-session charges through without one (the sandbox's 4000002500003155). Absent: not set up so.
   */
  setupAuthenticated?: boolean;
}

export interface BillingAddress {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postalCode: string | null;
  state: string | null;
}

export interface BillingDetails {
  address: BillingAddress | null;
  email: string | null;
  name: string | null;
  phone: string | null;
}

/** Stripe's automatic_payment_methods as the merchant sent it (methods are chosen by the gateway either way). */
export interface AutomaticPaymentMethods {
  enabled: boolean;
  allowRedirects: "always" | "never" | null;
}

/** Stripe's payment_method_options[card] as the merchant sent it (stored and echoed). */
export interface CardOptions {
  requestThreeDSecure?: "any" | "automatic" | "challenge";
  /** null (in a request only: Stripe's "") unsets it; an intent never keeps a null. */
  captureMethod?: "manual" | null;
  setupFutureUsage?: "none" | "off_session" | "on_session" | null;
  requireCvcRecollection?: boolean;
  /** Stripe's request_incremental_authorization: "if_available" asks the authorization to allow increments. */
  requestIncrementalAuthorization?: "if_available" | "never" | null;
}

/** Stripe's shipping (a payment's or a customer's). */
export interface Shipping {
  name: string;
  phone: string | null;
  carrier: string | null;
  trackingNumber: string | null;
  address: BillingAddress;
}

/** A customer's shipping details: Stripe's customer.shipping has no carrier or tracking number. */
export type CustomerShipping = Pick<Shipping, "name" | "phone" | "address">;

/** `increment`: an incremental authorization, its amount the new authorized total. */
export type AttemptType = "authorize" | "authenticate" | "capture" | "void" | "refund" | "increment";
export type AttemptStatus = "pending" | "succeeded" | "failed" | "requires_action" | "canceled";

/** One call to a PSP: the intent's transaction history. Recorded before the call, completed after. */
export interface Attempt {
  id: string;
  type: AttemptType;
  status: AttemptStatus;
  amount: number;
  currency: string;
  connector: string;
  /** The merchant's connector account used; null for the built-in sandbox. */
  connectorAccount: string | null;
  /** The idempotency key we send to the PSP for this attempt. */
  idempotencyKey: string;
  paymentMethodId: string | null;
  capture: boolean | null;
  refundId: string | null;
  providerReference: string | null;
  responseCode: string | null;
  responseText: string | null;
  declineCode: string | null;
  authorizationCode: string | null;
  avsResult: string | null;
  cvvResult: string | null;
  created: number;
  completed: number | null;
  /** Of an approved authorization: it may be incremented (asked for, and the connector and card allow it). Absent: no. */
  incrementalAuthorization?: boolean;
  /**
   * Of a failed authorization: the provider refused the request's own data (an amount below its
   * minimum) before doing anything. No charge was made and nothing was declined. Absent: no.
   */
  refusedRequest?: boolean;
}

export interface PaymentError {
  type: "card_error" | "invalid_request_error" | "api_error";
  code: string;
  declineCode: string | null;
  message: string;
  /** The method that failed; the intent itself goes back to having none. */
  paymentMethod: PaymentMethodDetails | null;
  attemptId: string;
}

export interface NextAction {
  type: "redirect_to_url";
  url: string;
  returnUrl: string | null;
}

export type RefundStatus = "pending" | "succeeded" | "failed" | "canceled";

export interface RefundRecord {
  id: string;
  paymentIntentId: string;
  chargeId: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  metadata: Metadata;
  failureReason: string | null;
  /** The PSP call; null while the refund waits for approval. */
  attemptId: string | null;
  /** Above the merchant's threshold: waits (pending) for someone holding refunds.approve. */
  requiresApproval: boolean;
  approval: RefundApproval | null;
  /** Who asked for the refund (an actor like api_key:key_... or jwt:<sub>): never its approver. */
  requestedBy?: string | null;
  created: number;
}

export interface RefundApproval {
  status: "approved" | "rejected";
  actor: string;
  reason: string | null;
  at: number;
}

export interface FailedPaymentResolution {
  status: "resolved" | "dismissed";
  reason: string;
  paidByOtherMeans: boolean;
  /** How it was paid instead (cash, check, ...), when it was (seed 002's otherMeansType). */
  otherMeansType?: string | null;
  /** The intent that retried this one, when a retry settled it. */
  retriedBy: string | null;
  actor: string;
  at: number;
}

export interface LineItem {
  name: string;
  quantity: number;
  unitAmount: number;
  /** The item's own reference (seed 003 `products[].id`); older records lack it. */
  reference?: string | null;
  /** The currency of unitAmount when it is not the intent's (seed 003 prices carry their own). */
  currency?: string | null;
}

/** The API surfaces that create intents; some send events of their own for the intents they created. */
/** Where an intent was made: a surface, or a hosted Checkout Session (whose page shows its total). */
export type Surface = "v1" | "paymentintents" | "icligo" | "checkout";

/** The descriptive fields of seed 003's create request that the payment keeps (userId is its customer). */
export const ICLIGO_FIELD_NAMES = ["productId", "productType", "company", "microsite", "country"] as const;
export type IcligoFields = Record<(typeof ICLIGO_FIELD_NAMES)[number], string | null>;

export interface IntentRecord {
  id: string;
  merchantId: string;
  livemode: boolean;
  /** Bumped on every change; the D1 read model only moves forward. */
  version: number;
  created: number;
  updated: number;
  status: IntentStatus;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  amountCapturable: number;
  amountReceived: number;
  amountRefunded: number;
  tipAmount: number;
  clientSecret: string;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  orderId: string | null;
  invoiceId: string | null;
  locationId: string | null;
  terminalId: string | null;
  lineItems: LineItem[];
  receiptEmail: string | null;
  statementDescriptor: string | null;
  /** Stripe's request fields kept to echo them (optional: older records lack them). */
  statementDescriptorSuffix?: string | null;
  automaticPaymentMethods?: AutomaticPaymentMethods | null;
  cardOptions?: CardOptions | null;
  shipping?: Shipping | null;
  /** capture_method was given as Stripe's automatic_async (captured as automatic is; rendered as given). */
  captureAsync?: boolean;
  /** Stripe's payment_method_types as given: only these types may pay (absent: the gateway's choice, cards and PayPal). */
  paymentMethodTypes?: PaymentMethodType[] | null;
  returnUrl: string | null;
  cancelUrl: string | null;
  retryOf: string | null;
  /** The stable integer of seeds 000 and 003 (D1 intent_numbers), when it was assigned before creation. */
  number?: number | null;
  /** The surface that created the intent (seed 003's webhooks are sent for its own payments). */
  createdVia?: Surface | null;
  /**
   * Seed 003's descriptive fields, as its create validated them: written only by that surface's
   * create, never by a metadata update (/v1 may edit the copy in `metadata`, never these). Absent
   * when the payment was not made through seed 003 (every field then reads null there).
   */
  icligo?: IcligoFields;
  /** A connector account this payment must use ("sandbox": the built-in sandbox): seed 000's paymentGatewayId. */
  gatewayAccount?: string | null;
  /** Save the payment method to the customer once the payment succeeds (optional: older records lack it). */
  setupFutureUsage?: SetupFutureUsage | null;
  /** A merchant-initiated charge on a saved payment method: no customer to authenticate. */
  offSession?: boolean;
  /** Stripe's error_on_requires_action, of the confirmation under way: a step for the customer (3DS, a redirect) fails the attempt instead. */
  errorOnRequiresAction?: boolean;
  /**
   * Stripe's confirmation_method=manual (absent: automatic): every confirmation is the merchant's,
   * with its secret key (never the shopper's page), and a passed 3DS challenge leaves the payment in
   * requires_confirmation for the merchant's server to confirm, instead of authorizing it at once.
   */
  confirmationMethod?: "manual";
  /**
   * The payment methods of this intent's earlier declines (each once, by id; the latest decline's is in
   * lastPaymentError): a failed charge keeps its card (payment_method_details) and its payment method
   * stays retrievable after another one was tried, as at Stripe. Never a number or a CVC (see
   * PaymentMethodDetails). Absent: none, or a record from before they were kept.
   */
  declinedMethods?: PaymentMethodDetails[];
  paymentMethod: PaymentMethodDetails | null;
  nextAction: NextAction | null;
  lastPaymentError: PaymentError | null;
  /** The successful authorization: the intent's charge. */
  chargeAttemptId: string | null;
  /** The connector and connector account of the successful authorization (or of the last attempt). */
  connector: string | null;
  connectorAccount: string | null;
  declineCount: number;
  /** When reconciliation last asked a PSP about this intent's pending attempts. */
  reconciledAt: number | null;
  /** What an operator made of a failed payment (seed 002). */
  resolution: FailedPaymentResolution | null;
  canceledAt: number | null;
  cancellationReason: CancellationReason | null;
  attempts: Attempt[];
  refunds: RefundRecord[];
  /**
   * What POST /v1/charges/{id} set on a charge, by charge id: rendered over what the charge takes from
   * its intent (optional: older records lack it).
   */
  chargeUpdates?: Record<string, ChargeUpdate>;
}

/** A charge's own description, metadata, receipt email and shipping, once an update set them. */
export interface ChargeUpdate {
  description?: string | null;
  metadata?: Metadata;
  receiptEmail?: string | null;
  shipping?: Shipping | null;
}

/** An event in the intent's outbox: a snapshot of the object after a transition. */
export interface EventRecord {
  id: string;
  type: string;
  created: number;
  merchantId: string;
  livemode: boolean;
  /** The object the event is about, rendered in the canonical /v1 shape at the time of the event. */
  object: Record<string, unknown>;
  /** Stripe's `data.previous_attributes` of a *.updated event: what the object's changed fields were before. */
  previousAttributes?: Record<string, unknown>;
  requestId: string | null;
  idempotencyKey: string | null;
  /** Seed 001's references beside Stripe's `data.object` (absent on events of objects without an intent). */
  paymentIntentId?: string | null;
  orderId?: string | null;
}
