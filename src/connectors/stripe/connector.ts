// The Stripe connector, through the official `stripe` package with its fetch HTTP client. Our
// attempt's idempotency key is Stripe's idempotency key, so a retried or reconciled call reaches
// Stripe's PaymentIntent once. Host, port and protocol are configurable (tests use a local fake).
import Stripe from "stripe";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { PaymentMethodDetails } from "../../core/types";
import { minorToDecimal } from "../../core/money";
import type { AuthorizeRequest, CompleteActionRequest, Connector, ConnectorRefusal, FollowUpKind, FollowUpRequest } from "../types";
import { fromAuthorizeError, fromFollowUpError, fromPaymentIntent, fromRefund, mayStillBeRunning } from "./transformers";

/** Told of the error a call to Stripe ended with (reconciliation watches its replays). */
type ErrorSeen = (err: unknown) => void;

export interface StripeConnectorConfig {
  accountId: string;
  secretKey: string;
  /** e.g. https://api.stripe.com or http://127.0.0.1:12111 */
  apiBase: string;
  timeoutMs: number;
  /**
   * After a 5xx at authorization (which Stripe keeps as the idempotency key's answer, so a replay
   * cannot tell), how long until a search that finds no payment for the attempt means none was made
   * (Stripe's search is eventually consistent, usually within a minute). Default 10 minutes.
   */
  searchSettleMs?: number;
  /** At most this many payments are read listing the window around an attempt (default 2,000: 20 pages). */
  listScanLimit?: number;
}

/** Stripe's idempotency keys live 24 hours: after that a replay would be a new payment, so we search instead. */
const IDEMPOTENCY_WINDOW_MS = 23 * 60 * 60 * 1000;
/** How long after an attempt began a request of it could still have reached Stripe (its timeout and more). */
const LIST_WINDOW_MS = 5 * 60 * 1000;
/** When the list around an attempt is too long to read, how long until the search's "none" is believed. */
const SEARCH_TRUSTED_MS = 60 * 60 * 1000;

/**
 * Stripe's own currency rules (docs.stripe.com/currencies), for the amounts this connector passes on
 * unchanged (the gateway counts minor units as Stripe does): its three-decimal currencies take only
 * amounts whose last digit is 0; ISK is written with two decimals but charged in whole kronur only;
 * and a few currencies the gateway knows are no presentment currency of Stripe's.
 */
const STRIPE_THREE_DECIMAL = ["bhd", "jod", "kwd", "omr", "tnd"];
const STRIPE_WHOLE_UNITS_IN_CENTS = ["isk"];
const NOT_AT_STRIPE = ["btn", "cup", "ern", "iqd", "irr", "kpw", "lyd", "sdg", "ssp", "syp", "tmt", "ves", "zwl"];

/** Why Stripe cannot take this amount (its currency, or digits its rules forbid); null when it can. */
export function stripeRefusal(amount: number, currency: string): ConnectorRefusal | null {
  const code = currency.toLowerCase();
  const name = code.toUpperCase();
  if (NOT_AT_STRIPE.includes(code)) return { code: "currency_not_supported", message: `Stripe does not take payments in ${name}.` };
  if (STRIPE_THREE_DECIMAL.includes(code) && amount % 10 !== 0) {
    return { code: "amount_not_supported", message: `Stripe takes ${name} only in amounts whose last digit is 0: ${minorToDecimal(amount, code)} ${name} is not one.` };
  }
  if (STRIPE_WHOLE_UNITS_IN_CENTS.includes(code) && amount % 100 !== 0) {
    return { code: "amount_not_supported", message: `Stripe takes ${name} only in whole units: ${minorToDecimal(amount, code)} ${name} has a fraction.` };
  }
  return null;
}

export class StripeConnector implements Connector {
  readonly name = "stripe" as const;
  readonly accountId: string;
  private readonly stripe: Stripe;
  private readonly searchSettleMs: number;
  private readonly listScanLimit: number;

  constructor(config: StripeConnectorConfig) {
    this.accountId = config.accountId;
    this.searchSettleMs = config.searchSettleMs ?? 600_000;
    this.listScanLimit = config.listScanLimit ?? 2000;
    const base = new URL(config.apiBase);
    this.stripe = new Stripe(config.secretKey, {
      httpClient: Stripe.createFetchHttpClient(),
      host: base.hostname,
      port: base.port ? Number(base.port) : base.protocol === "http:" ? 80 : 443,
      protocol: base.protocol === "http:" ? "http" : "https",
      maxNetworkRetries: 0,
      timeout: config.timeoutMs,
    });
  }

  supports(paymentMethod: PaymentMethodDetails): boolean {
    // Test cards reach Stripe as its test payment methods (pm_card_visa, ...).
    return paymentMethod.type === "card" && paymentMethod.testAlias !== null;
  }

  refusal(amount: number, currency: string): ConnectorRefusal | null {
    return stripeRefusal(amount, currency);
  }

  private createParams(req: AuthorizeRequest): Stripe.PaymentIntentCreateParams {
    return {
      amount: req.amount,
      currency: req.currency,
      payment_method: req.paymentMethod.testAlias ?? undefined,
      // The card is given; redirects (3DS pages) only when the merchant can take the customer back.
      automatic_payment_methods: { enabled: true, allow_redirects: req.returnUrl ? "always" : "never" },
      confirm: true,
      ...(req.offSession ? { off_session: true } : {}),
      ...(req.errorOnRequiresAction && !req.offSession ? { error_on_requires_action: true } : {}),
      capture_method: req.capture ? "automatic" : "manual",
      ...(req.returnUrl ? { return_url: req.returnUrl } : {}),
      ...(req.description ? { description: req.description } : {}),
      metadata: { gateway_intent: req.intentId, gateway_attempt: req.attemptId, gateway_merchant: req.merchantId },
      // Asked for only when the merchant asked: the charge (expanded) says whether Stripe made it available.
      ...(req.requestIncrementalAuthorization && !req.capture ? { expand: ["latest_charge"] } : {}),
      ...(this.cardOptions(req) ? { payment_method_options: { card: this.cardOptions(req) } } : {}),
    };
  }

  /** The card options the merchant asked for that Stripe acts on: an incremental authorization, a 3DS challenge. */
  private cardOptions(req: AuthorizeRequest): Stripe.PaymentIntentCreateParams.PaymentMethodOptions.Card | null {
    const options: Stripe.PaymentIntentCreateParams.PaymentMethodOptions.Card = {
      ...(req.requestIncrementalAuthorization && !req.capture ? { request_incremental_authorization: "if_available" as const } : {}),
      ...(req.requestThreeDSecure ? { request_three_d_secure: req.requestThreeDSecure } : {}),
    };
    return Object.keys(options).length > 0 ? options : null;
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    // An amount Stripe cannot take is refused here, before anything is sent.
    const refused = stripeRefusal(req.amount, req.currency);
    if (refused) return { kind: "provider_error", message: refused.message };
    try {
      return fromPaymentIntent(await this.stripe.paymentIntents.create(this.createParams(req), { idempotencyKey: req.idempotencyKey }));
    } catch (err) {
      return fromAuthorizeError(err);
    }
  }

  async completeAction(req: CompleteActionRequest): Promise<AuthorizeOutcome> {
    // Stripe finishes 3DS on its side; the payment intent says where it stands.
    return this.lookUpAuthorization(req, req.providerReference);
  }

  /**
   * A Stripe error on the replay says nothing of the first call, whose answer was lost: it may have
   * gone through. So a 5xx or a refusal of the replay leaves it unknown (asked again next round), never
   * "nothing moved" (which reopened a payment to a second charge, or a refund to a second refund).
   */
  private static stillUnknown<T extends AuthorizeOutcome | FollowUpOutcome>(outcome: T): T | { kind: "unknown"; providerReference: null; message: string } {
    if (outcome.kind === "provider_error") return { kind: "unknown", providerReference: null, message: `asking Stripe again failed: ${outcome.message}` };
    // A refusal of the payment's data on the replay is taken no further: the search decides.
    if (outcome.kind === "rejected") return { kind: "unknown", providerReference: null, message: `asking Stripe again was refused: ${outcome.message}` };
    return outcome;
  }

  /**
   * Watches a replay's error: when Stripe gave no answer (the connection failed or timed out) or
   * answered 409 (another request with the key is still running), the call may still be under way
   * at Stripe, and reading Stripe's records now could miss what it is about to do.
   */
  private static replayWatch(): { seen: ErrorSeen; running: () => boolean } {
    let running = false;
    return { seen: (err) => (running ||= mayStillBeRunning(err)), running: () => running };
  }

  private static stillRunning(): { kind: "unknown"; providerReference: null; message: string } {
    return { kind: "unknown", providerReference: null, message: "the request may still be running at Stripe (no answer, or its idempotency key is in use): asked again later" };
  }

  async reconcileAuthorization(req: AuthorizeRequest, providerReference: string | null, attemptCreated: number): Promise<AuthorizeOutcome> {
    // Past Stripe's idempotency window a replay would be a new payment: only the search can tell.
    if (!providerReference && Date.now() - attemptCreated >= IDEMPOTENCY_WINDOW_MS) return this.searchAttempt(req, attemptCreated);
    const replay = StripeConnector.replayWatch();
    const outcome = StripeConnector.stillUnknown(await this.lookUpAuthorization(req, providerReference, replay.seen));
    if (outcome.kind !== "unknown" || providerReference) return outcome;
    // The replay may still be making the payment at Stripe: a search now could miss it.
    if (replay.running()) return StripeConnector.stillRunning();
    // The replay could not tell either (Stripe answers a key's 5xx again): the payment is looked for by its attempt.
    return this.searchAttempt(req, attemptCreated);
  }

  /**
   * The attempt's payment found by its metadata. Until the search has had time to see it
   * (`searchSettleMs` after the attempt), none found is unknown; after that, the consistent list of
   * payments made around the attempt decides (none there: nothing moved).
   */
  private async searchAttempt(req: AuthorizeRequest, attemptCreated: number): Promise<AuthorizeOutcome> {
    try {
      const found = await this.stripe.paymentIntents.search({ query: `metadata['gateway_attempt']:'${req.attemptId}'`, limit: 1 });
      const pi = found.data[0];
      if (pi) return fromPaymentIntent(pi);
      if (Date.now() - attemptCreated < this.searchSettleMs) return { kind: "unknown", providerReference: null, message: "Stripe has no payment for this attempt yet; search is eventually consistent" };
      // The search may still lag (an outage of Stripe's index): the list of payments made around the
      // attempt, which is consistent, has the last word, unless there are too many to read.
      const listed = await this.listAttempt(req.attemptId, attemptCreated);
      if (listed === "too_many") {
        // Too many to read whole: the search's word, once it has had an hour.
        if (Date.now() - attemptCreated < SEARCH_TRUSTED_MS) return { kind: "unknown", providerReference: null, message: `Stripe made more than ${this.listScanLimit} payments around the attempt; listed again later` };
        return { kind: "provider_error", message: "Stripe has no payment for this attempt (searched for an hour after its error): nothing moved" };
      }
      if (listed) return fromPaymentIntent(listed);
      return { kind: "provider_error", message: "Stripe has no payment for this attempt (searched and listed after its error): nothing moved" };
    } catch (err) {
      return { kind: "unknown", providerReference: null, message: `searching Stripe failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * The attempt's payment among those Stripe made from a minute before the attempt (clocks differ) to
   * the end of the window a request of it could have reached Stripe in. Null when there is none;
   * "too_many" when the window holds more than `listScanLimit` payments.
   */
  private async listAttempt(attemptId: string, attemptCreated: number): Promise<Stripe.PaymentIntent | null | "too_many"> {
    const created = { gte: Math.floor(attemptCreated / 1000) - 60, lte: Math.ceil((attemptCreated + LIST_WINDOW_MS) / 1000) };
    let startingAfter: string | undefined;
    for (let read = 0; read < this.listScanLimit; ) {
      const page = await this.stripe.paymentIntents.list({ created, limit: Math.min(100, this.listScanLimit), ...(startingAfter ? { starting_after: startingAfter } : {}) });
      const mine = page.data.find((pi) => pi.metadata?.gateway_attempt === attemptId);
      if (mine) return mine;
      read += page.data.length;
      if (!page.has_more || page.data.length === 0) return null;
      startingAfter = page.data[page.data.length - 1]?.id;
    }
    return "too_many";
  }

  private async lookUpAuthorization(req: AuthorizeRequest, providerReference: string | null, seen?: ErrorSeen): Promise<AuthorizeOutcome> {
    try {
      if (providerReference) return fromPaymentIntent(await this.stripe.paymentIntents.retrieve(providerReference, req.requestIncrementalAuthorization && !req.capture ? { expand: ["latest_charge"] } : {}));
      // The same request with the same key: Stripe answers what it did, or does it now, once.
      return fromPaymentIntent(await this.stripe.paymentIntents.create(this.createParams(req), { idempotencyKey: req.idempotencyKey }));
    } catch (err) {
      seen?.(err);
      return fromAuthorizeError(err);
    }
  }

  async capture(req: FollowUpRequest, seen?: ErrorSeen): Promise<FollowUpOutcome> {
    const refused = stripeRefusal(req.amount, req.currency);
    if (refused) return { kind: "failed", code: refused.code, message: refused.message, invalidRequest: { param: "amount_to_capture" } };
    try {
      const pi = await this.stripe.paymentIntents.capture(req.providerReference, { amount_to_capture: req.amount }, { idempotencyKey: req.idempotencyKey });
      return pi.status === "succeeded"
        ? { kind: "succeeded", providerReference: pi.id, responseCode: "succeeded", responseText: "Captured" }
        : pi.status === "processing"
          ? { kind: "unknown", providerReference: pi.id, message: "Stripe is still processing the capture" }
          : { kind: "failed", code: `stripe_${pi.status}`, message: `Stripe answered status ${pi.status}` };
    } catch (err) {
      seen?.(err);
      // Captured already, for this very amount (in Stripe's dashboard, say, its webhook not received):
      // the money moved once, and the capture is on record. Another amount stays a refusal.
      return this.settledAlready(err, req, (pi) =>
        pi.status === "succeeded" && pi.amount_received === req.amount
          ? { kind: "succeeded", providerReference: pi.id, responseCode: "already_captured", responseText: "Captured already at Stripe" }
          : null,
      );
    }
  }

  async void(req: FollowUpRequest, seen?: ErrorSeen): Promise<FollowUpOutcome> {
    try {
      const pi = await this.stripe.paymentIntents.cancel(req.providerReference, {}, { idempotencyKey: req.idempotencyKey });
      return pi.status === "canceled"
        ? { kind: "succeeded", providerReference: pi.id, responseCode: "canceled", responseText: "Authorization released" }
        : { kind: "failed", code: `stripe_${pi.status}`, message: `Stripe answered status ${pi.status}` };
    } catch (err) {
      seen?.(err);
      // Stripe cancels an authorization nobody captured within 7 days on its own, so the expiry
      // sweep's void can find it canceled already: the authorization is released all the same.
      // Captured already (in Stripe's dashboard): a refusal that says what was captured, for the
      // intent to record. Any other state stays a plain refusal.
      return this.settledAlready(err, req, (pi) => {
        if (pi.status === "canceled") return { kind: "succeeded", providerReference: pi.id, responseCode: "already_canceled", responseText: "Authorization already released at Stripe" };
        if (pi.status === "succeeded" && pi.amount_received > 0) {
          return { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe captured this payment already (${pi.amount_received} ${pi.currency}).`, capturedElsewhere: { amount: pi.amount_received, reference: pi.id } };
        }
        return null;
      });
    }
  }

  /** A 3-D Secure challenge the intent drops is canceled at Stripe, as a void is (Stripe would complete it once passed). */
  cancelPendingAction(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.void(req);
  }

  /**
   * A capture or void Stripe refused because the payment intent is no longer in the state it needs
   * (payment_intent_unexpected_state): read it back, and `settled` says whether what we asked for is
   * done already. Otherwise, and for every other error, Stripe's answer stands.
   */
  private async settledAlready(err: unknown, req: FollowUpRequest, settled: (pi: Stripe.PaymentIntent) => FollowUpOutcome | null): Promise<FollowUpOutcome> {
    const outcome = fromFollowUpError(err);
    if (outcome.kind !== "failed" || outcome.code !== "payment_intent_unexpected_state") return outcome;
    try {
      return settled(await this.stripe.paymentIntents.retrieve(req.providerReference)) ?? outcome;
    } catch {
      // The refusal stands; reconciliation or a later request asks again.
      return outcome;
    }
  }

  async refund(req: FollowUpRequest, seen?: ErrorSeen): Promise<FollowUpOutcome> {
    const refused = stripeRefusal(req.amount, req.currency);
    if (refused) return { kind: "failed", code: refused.code, message: refused.message, invalidRequest: { param: "amount" } };
    try {
      const refund = await this.stripe.refunds.create(
        { payment_intent: req.providerReference, amount: req.amount, metadata: { gateway_intent: req.intentId, gateway_attempt: req.attemptId } },
        { idempotencyKey: req.idempotencyKey },
      );
      return fromRefund(refund);
    } catch (err) {
      seen?.(err);
      return fromFollowUpError(err);
    }
  }

  /** Stripe's POST /v1/payment_intents/{id}/increment_authorization, to the new total, with the attempt's key. */
  async incrementAuthorization(req: FollowUpRequest, seen?: ErrorSeen): Promise<FollowUpOutcome> {
    try {
      const pi = await this.stripe.paymentIntents.incrementAuthorization(req.providerReference, { amount: req.amount }, { idempotencyKey: req.idempotencyKey });
      return pi.status === "requires_capture" && pi.amount === req.amount
        ? { kind: "succeeded", providerReference: pi.id, responseCode: "succeeded", responseText: "Incremental authorization approved" }
        : { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe answered status ${pi.status} with amount ${pi.amount}` };
    } catch (err) {
      seen?.(err);
      const outcome = fromFollowUpError(err);
      // Stripe's card_declined carries the issuer's decline code.
      const e = err as { type?: string; decline_code?: string };
      return outcome.kind === "failed" && e.type === "StripeCardError" && e.decline_code ? { ...outcome, declineCode: e.decline_code } : outcome;
    }
  }

  /**
   * The same request with the same key answers what Stripe did; else the payment intent's amount tells.
   * A refusal that is not the issuer's (Stripe forgot the key after 24 hours, and the replay is refused
   * because the authorization holds the new total already) is checked against the amount too.
   */
  async reconcileIncrement(req: FollowUpRequest): Promise<FollowUpOutcome> {
    const replay = StripeConnector.replayWatch();
    const outcome = StripeConnector.stillUnknown(await this.incrementAuthorization(req, replay.seen));
    if (outcome.kind === "succeeded" || (outcome.kind === "failed" && outcome.declineCode)) return outcome;
    if (replay.running()) return StripeConnector.stillRunning();
    try {
      const pi = await this.stripe.paymentIntents.retrieve(req.providerReference);
      if (pi.amount >= req.amount) return { kind: "succeeded", providerReference: pi.id, responseCode: "succeeded", responseText: "Incremental authorization approved (read back from Stripe)" };
      if (outcome.kind === "failed") return outcome;
      if (pi.status === "requires_capture") return { kind: "provider_error", message: "Stripe did not increment the authorization: nothing moved" };
      return { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe holds the payment as ${pi.status} for ${pi.amount}.` };
    } catch (err) {
      return { kind: "unknown", providerReference: null, message: `reading Stripe back failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  async reconcileFollowUp(kind: FollowUpKind, req: FollowUpRequest, _pendingReference: string | null, attemptCreated: number): Promise<FollowUpOutcome> {
    // Past Stripe's idempotency window the key is forgotten: the same refund sent again would be a
    // second refund (a capture or void cannot be done twice to one payment intent, a refund can). So
    // an old refund is only read back, from Stripe's own list of the payment's refunds.
    if (kind === "refund" && Date.now() - attemptCreated >= IDEMPOTENCY_WINDOW_MS) {
      try {
        return await this.readBack(kind, req);
      } catch (err) {
        return { kind: "unknown", providerReference: null, message: `reading Stripe back failed: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    // Same request, same key: Stripe replays its answer (or acts now, once).
    const replay = StripeConnector.replayWatch();
    const outcome = StripeConnector.stillUnknown(kind === "capture" ? await this.capture(req, replay.seen) : kind === "void" ? await this.void(req, replay.seen) : await this.refund(req, replay.seen));
    if (outcome.kind !== "unknown") return outcome;
    // The replay may still be doing it at Stripe: a read now could miss it and call it never done.
    if (replay.running()) return StripeConnector.stillRunning();
    // The replay could not tell (Stripe answers a key's 5xx again): what Stripe holds is read back.
    try {
      return await this.readBack(kind, req);
    } catch (err) {
      return { kind: "unknown", providerReference: null, message: `reading Stripe back failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * A capture, void or refund whose answer nobody has, from Stripe's own records (retrieve and list
   * are consistent reads): done, not done (nothing moved: provider_error, so it may be asked again),
   * or still moving.
   */
  private async readBack(kind: FollowUpKind, req: FollowUpRequest): Promise<FollowUpOutcome> {
    if (kind === "refund") {
      const listed = await this.stripe.refunds.list({ payment_intent: req.providerReference, limit: 100 });
      const mine = listed.data.find((r) => r.metadata?.gateway_attempt === req.attemptId);
      if (mine) return fromRefund(mine);
      if (listed.has_more) return { kind: "unknown", providerReference: null, message: "Stripe lists more than 100 refunds of this payment; asked again later" };
      return { kind: "provider_error", message: "Stripe has no refund for this attempt: nothing moved" };
    }
    const pi = await this.stripe.paymentIntents.retrieve(req.providerReference);
    if (pi.status === "processing") return { kind: "unknown", providerReference: pi.id, message: "Stripe is still processing the payment" };
    if (kind === "capture") {
      if (pi.status === "succeeded" && pi.amount_received === req.amount) return { kind: "succeeded", providerReference: pi.id, responseCode: "succeeded", responseText: "Captured (read back from Stripe)" };
      if (pi.status === "requires_capture") return { kind: "provider_error", message: "Stripe did not capture the payment: nothing moved" };
      return { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe holds the payment as ${pi.status} (${pi.amount_received} received), not as this capture.` };
    }
    if (pi.status === "canceled") return { kind: "succeeded", providerReference: pi.id, responseCode: "canceled", responseText: "Authorization released (read back from Stripe)" };
    if (pi.status === "requires_capture") return { kind: "provider_error", message: "Stripe did not release the authorization: nothing moved" };
    if (pi.status === "succeeded" && pi.amount_received > 0) {
      return { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe captured this payment already (${pi.amount_received} ${pi.currency}).`, capturedElsewhere: { amount: pi.amount_received, reference: pi.id } };
    }
    return { kind: "failed", code: "payment_intent_unexpected_state", message: `Stripe holds the payment as ${pi.status}.` };
  }
}
