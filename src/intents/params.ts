// Validated, surface-neutral parameters of the intent operations. Each API surface parses its own wire
// format into these before it calls the intent's Durable Object.
import type { ApiErrorData } from "../core/errors";
import type { AutomaticPaymentMethods, IcligoFields, CancellationReason, CaptureMethod, CardOptions, IntentRecord, Shipping, LineItem, Metadata, PaymentMethodDetails, PaymentMethodType, RefundReason, Scope, SetupFutureUsage, Surface } from "../core/types";

/** Everything about the request that is not its parameters. */
export interface RequestContext {
  scope: Scope;
  requestId: string | null;
  idempotencyKey: string | null;
  /** The key as the object keeps it (idempotencyKeyAtRest: a digest when a card number is in it); set by the object. */
  idempotencyAtRest?: string;
  /** Keyed hash of the operation and its parameters, compared when a key is reused. */
  fingerprint: string | null;
  /** Where the customer's browser reaches us (for 3DS challenge links). */
  origin: string;
  /** When set, the object records the operation in the audit log, with its state change. */
  audit: RequestAudit | null;
  /** The refund an operation names (approve, reject, cancel, update): its audit entry is about that refund, refused or not. */
  aboutRefund?: string;
}

export interface RequestAudit {
  action: string;
  actor: string;
  roles: readonly string[];
  details: Record<string, string | number | boolean | null>;
}

export interface CreateIntentParams {
  id: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  customer: string | null;
  description: string | null;
  metadata: Metadata;
  orderId: string | null;
  invoiceId: string | null;
  locationId: string | null;
  terminalId: string | null;
  lineItems: LineItem[];
  tipAmount: number;
  receiptEmail: string | null;
  statementDescriptor: string | null;
  returnUrl: string | null;
  cancelUrl: string | null;
  paymentMethod: PaymentMethodDetails | null;
  confirm: boolean;
  setupFutureUsage?: SetupFutureUsage | null;
  offSession?: boolean;
  /** Stripe's error_on_requires_action (with confirm): a customer's step fails the attempt (authentication_required). */
  errorOnRequiresAction?: boolean;
  /** Stripe's confirmation_method (absent: automatic); see IntentRecord.confirmationMethod. */
  confirmationMethod?: "automatic" | "manual";
  /** A retry of this failed payment (seed 002). */
  retryOf?: string | null;
  /** Seeds 000/003: the intent's number, allocated in D1 before the creation. */
  number?: number | null;
  createdVia?: Surface | null;
  /** Seed 003's descriptive fields (its create only): kept apart from the metadata (IntentRecord.icligo). */
  icligo?: IcligoFields | null;
  /** When it was made, if not now: a test clock's time, for the payments a simulation makes (as Stripe stamps them). */
  created?: number | null;
  /** Only this connector account ("sandbox": the built-in sandbox) may authorize the payment. */
  gatewayAccount?: string | null;
  /** Stripe's fields kept to echo them: automatic_payment_methods, payment_method_options[card], shipping, statement_descriptor_suffix. */
  automaticPaymentMethods?: AutomaticPaymentMethods | null;
  cardOptions?: CardOptions | null;
  shipping?: Shipping | null;
  statementDescriptorSuffix?: string | null;
  paymentMethodTypes?: PaymentMethodType[] | null;
  captureAsync?: boolean;
}

/**
 * A creation's parameters: what the caller names, everything else at its default (automatic capture,
 * no customer, references, line items, tip or payment method; not confirmed).
 */
export function createParams(named: Pick<CreateIntentParams, "id" | "amount" | "currency"> & Partial<CreateIntentParams>): CreateIntentParams {
  return {
    captureMethod: "automatic",
    customer: null,
    description: null,
    metadata: {},
    orderId: null,
    invoiceId: null,
    locationId: null,
    terminalId: null,
    lineItems: [],
    tipAmount: 0,
    receiptEmail: null,
    statementDescriptor: null,
    returnUrl: null,
    cancelUrl: null,
    paymentMethod: null,
    confirm: false,
    ...named,
  };
}

/** Fields left undefined are unchanged. Metadata merges; an empty value deletes its key. */
export interface UpdateIntentParams {
  amount?: number;
  currency?: string;
  captureMethod?: CaptureMethod;
  customer?: string | null;
  description?: string | null;
  metadata?: Metadata;
  orderId?: string | null;
  receiptEmail?: string | null;
  statementDescriptor?: string | null;
  returnUrl?: string | null;
  paymentMethod?: PaymentMethodDetails;
  cardOptions?: CardOptions | null;
  shipping?: Shipping | null;
  statementDescriptorSuffix?: string | null;
  paymentMethodTypes?: PaymentMethodType[];
  captureAsync?: boolean;
  /** Save the card once the payment succeeds (null: no longer); before the payment is authorized. */
  setupFutureUsage?: SetupFutureUsage | null;
}

export interface ConfirmParams {
  paymentMethod?: PaymentMethodDetails;
  setupFutureUsage?: SetupFutureUsage | null;
  offSession?: boolean;
  returnUrl?: string | null;
  captureMethod?: CaptureMethod;
  receiptEmail?: string;
  cardOptions?: CardOptions | null;
  shipping?: Shipping | null;
  paymentMethodTypes?: PaymentMethodType[];
  captureAsync?: boolean;
  /** Stripe's error_on_requires_action: a customer's step fails this confirmation's attempt (authentication_required). */
  errorOnRequiresAction?: boolean;
  /** The shopper confirms on the gateway's pages (not the merchant with its key): refused for a confirmation_method=manual intent. */
  byCustomer?: boolean;
  /**
   * Seed 001's "confirm / continue (after client action)": a confirm naming the card the intent was
   * already paid with, and nothing else, answers the intent as it stands once the customer's step is
   * done (succeeded, requires_capture, processing) instead of Stripe's 400. Only that seed's
   * `{type: "card_token"}` form asks it; Stripe's clients keep Stripe's answer.
   */
  continueAfterAction?: boolean;
  /**
   * The amount and currency the shopper was shown (the hosted page's form): the merchant may change an
   * intent's amount while its page is open, and the shopper must not pay what they never saw. Checked
   * inside the object, in the confirmation's turn, so no update can slip between the check and the charge.
   */
  shownAmount?: { amount: number; currency: string };
}

export interface CaptureParams {
  amountToCapture?: number;
  /** Merged into the intent's metadata (Stripe's rules: an empty value deletes a key). */
  metadata?: Metadata;
}

/** Stripe's increment_authorization: the new total, and the descriptive fields that may change with it. */
export interface IncrementAuthorizationParams {
  /** The new total authorized, in minor units: more than the current amount. */
  amount: number;
  description?: string | null;
  /** Merged into the intent's metadata (Stripe's rules: an empty value deletes a key). */
  metadata?: Metadata;
  statementDescriptor?: string | null;
}

export interface CancelParams {
  cancellationReason?: CancellationReason;
  /** A shopper's cancel: only a payment not confirmed yet (requires_payment_method or requires_confirmation). */
  onlyUnconfirmed?: boolean;
  /** The cancel that expires the intent's Checkout Session (the only one while the session is open). */
  checkoutExpiry?: boolean;
}

export interface RefundParams {
  /** When the refund was asked for by charge id, the DO checks it is this intent's charge. */
  chargeId?: string;
  amount?: number;
  reason?: RefundReason | null;
  metadata: Metadata;
  /** The merchant's thresholds by currency: a larger refund waits for approval. */
  approvalThresholds: Record<string, number>;
  /** Who asked for it (the audit actor); the object fills it in from the request when absent. */
  requestedBy?: string | null;
  /**
   * Seed 002's void of a same-day sale (set by posVoid only): the refund gets the void mark. The mark
   * is never taken from the caller's metadata, where any surface's client could write it.
   */
  posVoid?: boolean;
}

/** Seed 002's void: a cancel of an authorization, or a same-day sale's refund in whole (the refund's thresholds apply). */
export interface PosVoidParams {
  approvalThresholds: Record<string, number>;
  /** Who asked for it (the audit actor); the object fills it in from the request when absent. */
  requestedBy?: string | null;
}

/** Stripe's refund update: only the metadata of a refund may change (merged; an empty value deletes its key). */
export interface RefundUpdateParams {
  refundId: string;
  metadata?: Metadata;
}

/** Stripe's refund cancellation: here, of a refund that waits for approval (nothing was sent to the PSP). */
export interface RefundCancelParams {
  refundId: string;
}

export interface ApprovalParams {
  refundId: string;
  approve: boolean;
  actor: string;
  reason: string | null;
  /**
   * Who made the credential that requested the refund (and who made that one...), as the route found
   * them for the refund named: none of them may approve it either.
   */
  requesterMakers?: { requestedBy: string; makers: string[] };
}

export interface ResolutionParams {
  status: "resolved" | "dismissed";
  reason: string;
  paidByOtherMeans: boolean;
  otherMeansType?: string | null;
  retriedBy: string | null;
  actor: string;
}

/** What an operation answers: the intent after it (or null when it does not exist for this scope),
 * the refund it made, or an error. Replays carry `replayed: true`. */
export interface OpOutcome {
  intent: IntentRecord | null;
  refundId: string | null;
  error: ApiErrorData | null;
  replayed: boolean;
  /** The intent's status before the operation (null for a creation), for the audit log. */
  before: IntentRecord["status"] | null;
  /**
   * When the answer was first given, and to which request: kept with an idempotent answer, so that a
   * surface whose errors carry a time or a trace id (seed 003's timestamp, seed 000's traceId) renders
   * a replay byte for byte as the first. Absent on outcomes never kept.
   */
  answer?: { at: number; requestId: string | null };
}
