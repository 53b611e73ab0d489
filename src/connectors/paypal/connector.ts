// The PayPal connector: Orders v2 and Payments v2 over fetch. The payer approves at PayPal: creating
// the order answers `requires_action` with the approval link; when PayPal sends the payer back, the
// order is captured (or authorized, then captured later). Every call carries PayPal-Request-Id, our
// attempt's idempotency key, so a replay never moves money twice. The OAuth token is cached per
// client until shortly before it expires.
import { ApiError } from "../../core/errors";
import { currencyExponent, decimalToMinor, minorToDecimal } from "../../core/money";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { PaymentMethodDetails } from "../../core/types";
import type { AuthorizeRequest, CompleteActionRequest, Connector, ConnectorRefusal, FollowUpKind, FollowUpRequest, PayerDecision } from "../types";

export interface PayPalConfig {
  accountId: string;
  clientId: string;
  clientSecret: string;
  apiBase: string;
  timeoutMs: number;
}

interface Token {
  value: string;
  expiresAt: number;
}

const tokens = new Map<string, Token>();
const pendingTokens = new Map<string, Promise<Token>>();
const TOKEN_MARGIN_MS = 60_000;

interface PayPalResponse {
  status: number;
  body: Record<string, unknown>;
}

type Failure = { kind: "timeout"; message: string } | { kind: "network"; message: string };

interface Link {
  rel?: string;
  href?: string;
}

interface Payment {
  id?: string;
  status?: string;
  amount?: { currency_code?: string; value?: string };
  links?: Link[];
}

interface Authorization extends Payment {
  supplementary_data?: { related_ids?: { order_id?: string } };
}

interface Order {
  id?: string;
  status?: string;
  update_time?: string;
  links?: Link[];
  purchase_units?: { payments?: { captures?: Payment[]; authorizations?: Payment[] } }[];
}

/** The currencies PayPal's REST API takes; HUF, JPY and TWD only in whole units (PayPal's own rule, not ISO's). */
const PAYPAL_CURRENCIES = "aud brl cad cny czk dkk eur gbp hkd huf ils jpy mxn myr nok nzd php pln sek sgd chf thb twd usd".split(" ");
const PAYPAL_WHOLE_UNITS = ["huf", "jpy", "twd"];

/** Why PayPal cannot take this amount (its currency, or a fraction of a whole-unit currency); null when it can. */
export function paypalRefusal(amount: number, currency: string): ConnectorRefusal | null {
  const code = currency.toLowerCase();
  if (!PAYPAL_CURRENCIES.includes(code)) return { code: "currency_not_supported", message: `PayPal does not take payments in ${code.toUpperCase()}.` };
  const ours = currencyExponent(code) ?? 2;
  const theirs = PAYPAL_WHOLE_UNITS.includes(code) ? 0 : 2;
  if (ours > theirs && amount % 10 ** (ours - theirs) !== 0) {
    return { code: "amount_not_supported", message: `PayPal takes ${code.toUpperCase()} only in whole units: ${minorToDecimal(amount, code)} ${code.toUpperCase()} has a fraction.` };
  }
  return null;
}

/** The amount as PayPal writes it (in its own decimals for the currency), exactly; call only when paypalRefusal said null. */
export function paypalValue(amount: number, currency: string): string {
  const code = currency.toLowerCase();
  const ours = currencyExponent(code) ?? 2;
  const theirs = PAYPAL_WHOLE_UNITS.includes(code) ? 0 : 2;
  const units = ours >= theirs ? amount / 10 ** (ours - theirs) : amount * 10 ** (theirs - ours);
  if (theirs === 0) return String(units);
  return `${Math.floor(units / 100)}.${String(units % 100).padStart(2, "0")}`;
}

/**
 * How long PayPal keeps a refund's PayPal-Request-Id ("The server stores keys for 45 days"), less a
 * day's margin: past it the same request would be a second refund.
 */
const REFUND_REQUEST_ID_WINDOW_MS = 44 * 24 * 60 * 60 * 1000;

/** How PayPal's statuses of a capture, refund or authorization read. */
const SETTLED_OK = ["COMPLETED", "CREATED", "CAPTURED", "PARTIALLY_CAPTURED", "PARTIALLY_REFUNDED", "REFUNDED"];

function issue(body: Record<string, unknown>): string {
  const details = body.details as { issue?: string }[] | undefined;
  return details?.[0]?.issue ?? (typeof body.name === "string" ? body.name : "UNKNOWN");
}

export class PayPalConnector implements Connector {
  readonly name = "paypal" as const;
  readonly accountId: string;

  constructor(private readonly config: PayPalConfig) {
    this.accountId = config.accountId;
  }

  supports(paymentMethod: PaymentMethodDetails): boolean {
    return paymentMethod.type === "paypal";
  }

  private tokenKeyOf: Promise<string> | null = null;

  /**
   * Whose token it is: the API base, the client id and a hash of the secret. The client id alone is
   * public (PayPal's JS SDK puts it in every checkout page), so another merchant's account naming it
   * with a wrong secret must not be handed the token its owner's secret earned.
   */
  private tokenKey(): Promise<string> {
    this.tokenKeyOf ??= crypto.subtle.digest("SHA-256", new TextEncoder().encode(this.config.clientSecret)).then((digest) => {
      const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return `${this.config.apiBase}|${this.config.clientId}|${hash}`;
    });
    return this.tokenKeyOf;
  }

  /** An access token, from the cache while it is valid; concurrent callers share one request. */
  async accessToken(now = Date.now()): Promise<string> {
    const key = await this.tokenKey();
    const cached = tokens.get(key);
    if (cached && cached.expiresAt - TOKEN_MARGIN_MS > now) return cached.value;
    let pending = pendingTokens.get(key);
    if (!pending) {
      pending = (async () => {
        const res = await fetch(`${this.config.apiBase}/v1/oauth2/token`, {
          method: "POST",
          headers: { authorization: `Basic ${btoa(`${this.config.clientId}:${this.config.clientSecret}`)}`, "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=client_credentials",
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
        const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
        if (!res.ok || !body.access_token) throw new Error(`PayPal OAuth answered ${res.status}`);
        const token = { value: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 300) * 1000 };
        tokens.set(key, token);
        return token;
      })().finally(() => pendingTokens.delete(key));
      pendingTokens.set(key, pending);
    }
    return (await pending).value;
  }

  private async call(method: string, path: string, requestId: string | null, body?: unknown): Promise<PayPalResponse | Failure> {
    let token: string;
    try {
      token = await this.accessToken();
    } catch (err) {
      // No token, no request: nothing can have moved.
      return { kind: "network", message: err instanceof Error ? err.message : String(err) };
    }
    try {
      const res = await fetch(`${this.config.apiBase}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          prefer: "return=representation",
          ...(requestId ? { "paypal-request-id": requestId } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      if (res.status === 401) tokens.delete(await this.tokenKey());
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return { kind: timedOut ? "timeout" : "network", message: err instanceof Error ? err.message : String(err) };
    }
  }

  refusal(amount: number, currency: string): ConnectorRefusal | null {
    return paypalRefusal(amount, currency);
  }

  private amount(amount: number, currency: string) {
    return { currency_code: currency.toUpperCase(), value: paypalValue(amount, currency) };
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    const refused = paypalRefusal(req.amount, req.currency);
    if (refused) return { kind: "provider_error", message: refused.message };
    const res = await this.call("POST", "/v2/checkout/orders", req.idempotencyKey, {
      intent: req.capture ? "CAPTURE" : "AUTHORIZE",
      purchase_units: [
        {
          reference_id: req.attemptId,
          custom_id: req.intentId,
          invoice_id: req.attemptId,
          amount: this.amount(req.amount, req.currency),
          ...(req.description ? { description: req.description.slice(0, 127) } : {}),
        },
      ],
      payment_source: { paypal: { experience_context: { return_url: req.gatewayReturnUrl, cancel_url: `${req.gatewayReturnUrl}&canceled=true`, user_action: "PAY_NOW" } } },
    });
    // Creating an order moves no money: whatever went wrong, nothing happened.
    if ("kind" in res) return { kind: "provider_error", message: `PayPal did not answer: ${res.message}` };
    if (res.status >= 300) return { kind: "provider_error", message: `PayPal answered ${res.status} ${issue(res.body)}` };
    const order = res.body as Order;
    const approve = order.links?.find((l) => l.rel === "payer-action" || l.rel === "approve")?.href ?? null;
    if (!order.id || !approve) return { kind: "provider_error", message: "PayPal's order has no approval link" };
    return { kind: "requires_action", providerReference: order.id, redirectUrl: approve };
  }

  /** After approval: capture the order (intent CAPTURE) or authorize it (AUTHORIZE). */
  async completeAction(req: CompleteActionRequest): Promise<AuthorizeOutcome> {
    const path = `/v2/checkout/orders/${encodeURIComponent(req.providerReference)}/${req.capture ? "capture" : "authorize"}`;
    const res = await this.call("POST", path, req.idempotencyKey, {});
    if ("kind" in res) return { kind: "unknown", providerReference: req.providerReference, message: `PayPal did not answer: ${res.message}` };
    if (res.status === 422 && issue(res.body) === "ORDER_NOT_APPROVED") {
      return { kind: "requires_action", providerReference: req.providerReference, redirectUrl: null };
    }
    if (res.status === 422 && ["INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "TRANSACTION_REFUSED"].includes(issue(res.body))) {
      return { kind: "declined", providerReference: req.providerReference, code: "card_declined", declineCode: issue(res.body).toLowerCase(), message: "PayPal declined the payment." };
    }
    if (res.status >= 500) return { kind: "unknown", providerReference: req.providerReference, message: `PayPal answered ${res.status}` };
    if (res.status >= 300) return { kind: "provider_error", message: `PayPal answered ${res.status} ${issue(res.body)}` };
    const payments = (res.body as Order).purchase_units?.[0]?.payments;
    const payment = req.capture ? payments?.captures?.[0] : payments?.authorizations?.[0];
    return this.fromPayment(payment, req.capture, req.providerReference);
  }

  /**
   * The order's capture (or authorization) as an outcome. A pending one keeps the ORDER's id as the
   * attempt's reference: reconciliation reads the order back, and PayPal's webhooks name the order.
   */
  private fromPayment(payment: Payment | undefined, captured: boolean, orderId: string): AuthorizeOutcome {
    if (!payment?.id) return { kind: "unknown", providerReference: orderId, message: "PayPal's answer has no payment" };
    if (payment.status === "PENDING") return { kind: "unknown", providerReference: orderId, message: `PayPal has the payment ${payment.id} pending` };
    if (payment.status && SETTLED_OK.includes(payment.status)) {
      return { kind: "approved", providerReference: payment.id, captured, responseCode: payment.status, responseText: "Approved by PayPal", authorizationCode: null, avsResult: null, cvvResult: null };
    }
    return { kind: "declined", providerReference: payment.id, code: "card_declined", declineCode: (payment.status ?? "declined").toLowerCase(), message: "PayPal declined the payment." };
  }

  /**
   * The truth of a completion whose answer was lost, or that PayPal held pending: the order read back.
   * Completed: its capture (or authorization) as it stands now. Approved and not completed: the
   * completion asked again with its PayPal-Request-Id (only that moves money, and a replay cannot move
   * it twice). Not approved: the payer has not finished at PayPal.
   */
  async reconcileAuthorization(req: AuthorizeRequest, providerReference: string | null): Promise<AuthorizeOutcome> {
    if (!providerReference) return { kind: "provider_error", message: "no PayPal order was created" };
    const read = await this.call("GET", `/v2/checkout/orders/${encodeURIComponent(providerReference)}`, null);
    // An attempt parked by older code holds its pending capture's id, not the order's: read that back.
    if (!("kind" in read) && read.status === 404 && req.capture) {
      const capture = await this.call("GET", `/v2/payments/captures/${encodeURIComponent(providerReference)}`, null);
      if (!("kind" in capture) && capture.status === 200) return this.fromPayment(capture.body as Payment, true, providerReference);
    }
    if ("kind" in read || read.status !== 200) return { kind: "unknown", providerReference, message: `reading PayPal's order back failed (${"kind" in read ? read.message : read.status})` };
    const order = read.body as Order;
    if (order.status === "COMPLETED") {
      const payments = order.purchase_units?.[0]?.payments;
      return this.fromPayment(req.capture ? payments?.captures?.[0] : payments?.authorizations?.[0], req.capture, providerReference);
    }
    if (order.status === "APPROVED") return this.completeAction({ ...req, providerReference });
    if (order.status === "VOIDED") return { kind: "declined", providerReference, code: "card_declined", declineCode: "order_voided", message: "PayPal voided the order." };
    return { kind: "requires_action", providerReference, redirectUrl: null };
  }

  /**
   * The payer's decision, read from the order: APPROVED (the payer approved and nothing completed the
   * order yet: the JS SDK's flow approves in a popup and never comes back through a return page) or
   * VOIDED; null for anything else, and when PayPal cannot be asked.
   */
  async payerDecision(providerReference: string): Promise<PayerDecision | null> {
    const read = await this.call("GET", `/v2/checkout/orders/${encodeURIComponent(providerReference)}`, null);
    if ("kind" in read || read.status !== 200) return null;
    const order = read.body as Order;
    if (order.status !== "APPROVED" && order.status !== "VOIDED") return null;
    const at = order.update_time ? Date.parse(order.update_time) : Number.NaN;
    return { decision: order.status, at: Number.isFinite(at) ? at : null };
  }

  private async followUpCall(path: string, req: FollowUpRequest, body: unknown, okStatuses: string[]): Promise<FollowUpOutcome> {
    // An amount PayPal cannot take is refused here, before anything is sent.
    const refused = paypalRefusal(req.amount, req.currency);
    if (refused) return { kind: "failed", code: refused.code, message: refused.message };
    const res = await this.call("POST", path, req.idempotencyKey, body);
    if ("kind" in res) return { kind: "unknown", providerReference: null, message: `PayPal did not answer: ${res.message}` };
    if (res.status >= 500) return { kind: "unknown", providerReference: null, message: `PayPal answered ${res.status}` };
    if (res.status === 204) return { kind: "succeeded", providerReference: req.providerReference, responseCode: "204", responseText: "Done" };
    if (res.status >= 300) return { kind: "failed", code: issue(res.body).toLowerCase(), message: `PayPal answered ${res.status} ${issue(res.body)}` };
    const payment = res.body as Payment;
    if (payment.status === "PENDING") return { kind: "unknown", providerReference: payment.id ?? null, message: "PayPal has it pending" };
    if (payment.status && okStatuses.includes(payment.status)) return { kind: "succeeded", providerReference: payment.id ?? req.providerReference, responseCode: payment.status, responseText: "Done" };
    return { kind: "failed", code: (payment.status ?? "failed").toLowerCase(), message: `PayPal answered ${payment.status ?? "no status"}` };
  }

  async capture(req: FollowUpRequest): Promise<FollowUpOutcome> {
    const outcome = await this.followUpCall(`/v2/payments/authorizations/${encodeURIComponent(req.providerReference)}/capture`, req, { amount: this.amount(req.amount, req.currency), final_capture: true }, ["COMPLETED"]);
    if (outcome.kind === "failed" && outcome.code === "authorization_already_captured") return this.capturedAlready(req);
    return outcome;
  }

  /** The captures taken from the request's authorization, read back through its order (or why they could not be). */
  private async capturesOf(req: FollowUpRequest): Promise<{ captures: Payment[] } | { unknown: string }> {
    const auth = await this.call("GET", `/v2/payments/authorizations/${encodeURIComponent(req.providerReference)}`, null);
    if ("kind" in auth || auth.status !== 200) return { unknown: "reading the authorization back failed" };
    const orderId = (auth.body as Authorization).supplementary_data?.related_ids?.order_id;
    if (!orderId) return { unknown: "the authorization names no order" };
    const order = await this.call("GET", `/v2/checkout/orders/${encodeURIComponent(orderId)}`, null);
    if ("kind" in order || order.status !== 200) return { unknown: "reading its order back failed" };
    const ofThis = (c: Payment) => !c.links?.some((l) => l.rel === "up") || c.links.some((l) => l.rel === "up" && l.href?.endsWith(`/authorizations/${req.providerReference}`));
    return { captures: ((order.body as Order).purchase_units ?? []).flatMap((u) => u.payments?.captures ?? []).filter((c) => c.status !== "DECLINED" && c.status !== "FAILED" && ofThis(c)) };
  }

  /** A payment's amount in minor units of `currency`; null when it is in another currency or not exact. */
  private minorOf(payment: Payment, currency: string): number | null {
    if (payment.amount?.currency_code?.toLowerCase() !== currency.toLowerCase() || typeof payment.amount.value !== "string") return null;
    try {
      return decimalToMinor(payment.amount.value, currency);
    } catch {
      return null;
    }
  }

  /**
   * PayPal says the authorization was captured already: in its dashboard, or by this very capture
   * whose answer was lost and whose PayPal-Request-Id PayPal no longer remembers. Reading back what
   * was captured tells which: one capture of exactly this amount is this capture's money, recorded as
   * it stands (it moved once). Anything else is refused, naming what PayPal holds, and nothing is
   * recorded; a failed read-back leaves the outcome unknown for reconciliation to ask again.
   */
  private async capturedAlready(req: FollowUpRequest): Promise<FollowUpOutcome> {
    const unknown = (why: string): FollowUpOutcome => ({ kind: "unknown", providerReference: null, message: `PayPal says the authorization was captured already; ${why}` });
    const read = await this.capturesOf(req);
    if (!("captures" in read)) return unknown(read.unknown);
    const { captures } = read;
    const minor = (c: Payment) => this.minorOf(c, req.currency);
    const [only] = captures;
    if (captures.length === 1 && only?.id && only.status === "PENDING" && minor(only) === req.amount) return unknown(`its capture ${only.id} is pending there`);
    if (captures.length === 1 && only?.id && only.status === "COMPLETED" && minor(only) === req.amount) {
      return { kind: "succeeded", providerReference: only.id, responseCode: "AUTHORIZATION_ALREADY_CAPTURED", responseText: "Captured at PayPal already (read back): this amount, once" };
    }
    const held = captures.map((c) => `${c.id ?? "?"} ${c.amount?.value ?? "?"} ${c.amount?.currency_code ?? ""} ${c.status ?? ""}`.trim()).join(", ") || "none readable";
    return {
      kind: "failed",
      code: "authorization_already_captured",
      message: `PayPal captured this authorization already (${held}), not as one capture of ${minorToDecimal(req.amount, req.currency)} ${req.currency.toUpperCase()}: nothing was recorded here.`,
    };
  }

  async void(req: FollowUpRequest): Promise<FollowUpOutcome> {
    const outcome = await this.followUpCall(`/v2/payments/authorizations/${encodeURIComponent(req.providerReference)}/void`, req, {}, ["VOIDED"]);
    // Voided already (in PayPal's dashboard, say): the authorization is released all the same.
    if (outcome.kind === "failed" && outcome.code === "previously_voided") {
      return { kind: "succeeded", providerReference: req.providerReference, responseCode: "PREVIOUSLY_VOIDED", responseText: "Authorization already voided at PayPal" };
    }
    // Captured already (in PayPal's dashboard): still a refusal, saying what PayPal captured when it
    // is one completed capture, for the intent to record.
    if (outcome.kind === "failed" && outcome.code === "previously_captured") {
      const read = await this.capturesOf(req);
      const captures = "captures" in read ? read.captures : [];
      const only = captures.length === 1 ? captures[0] : undefined;
      const amount = only ? this.minorOf(only, req.currency) : null;
      if (only?.id && only.status === "COMPLETED" && amount !== null && amount > 0) return { ...outcome, capturedElsewhere: { amount, reference: only.id } };
    }
    return outcome;
  }

  refund(req: FollowUpRequest): Promise<FollowUpOutcome> {
    // custom_id names the payment in PayPal's refund webhooks, as the order's does.
    return this.followUpCall(`/v2/payments/captures/${encodeURIComponent(req.providerReference)}/refund`, req, { amount: this.amount(req.amount, req.currency), custom_id: req.intentId }, ["COMPLETED"]);
  }

  /**
   * A capture or refund PayPal answered PENDING carries its own id (`pendingReference`): it is read
   * back (GET), never asked for again. Without one (the answer was lost) the call is replayed with
   * its PayPal-Request-Id, which cannot move money twice while PayPal keeps the id (45 days for a
   * refund). An older refund without its id is never sent again: PayPal would make a second one, and
   * nothing lists a capture's refunds by our attempt, so it stays unknown for an operator to check at
   * PayPal (it still counts against what is left to refund, so nothing can be refunded twice here).
   */
  async reconcileFollowUp(kind: FollowUpKind, req: FollowUpRequest, pendingReference: string | null = null, attemptCreated = Date.now()): Promise<FollowUpOutcome> {
    if ((kind === "capture" || kind === "refund") && pendingReference && pendingReference !== req.providerReference) {
      const read = await this.call("GET", `/v2/payments/${kind === "capture" ? "captures" : "refunds"}/${encodeURIComponent(pendingReference)}`, null);
      if ("kind" in read || read.status !== 200) return { kind: "unknown", providerReference: pendingReference, message: `reading PayPal's ${kind} ${pendingReference} back failed (${"kind" in read ? read.message : read.status})` };
      const payment = read.body as Payment;
      if (payment.status === "PENDING") return { kind: "unknown", providerReference: pendingReference, message: `PayPal has the ${kind} ${pendingReference} pending` };
      if (payment.status && SETTLED_OK.includes(payment.status)) return { kind: "succeeded", providerReference: pendingReference, responseCode: payment.status, responseText: "Done (read back from PayPal)" };
      return { kind: "failed", code: `${kind}_${(payment.status ?? "failed").toLowerCase()}`, message: `PayPal reports the ${kind} ${pendingReference} ${payment.status ?? "without a status"}.` };
    }
    if (kind === "capture") return this.capture(req);
    if (kind === "void") return this.void(req);
    if (Date.now() - attemptCreated >= REFUND_REQUEST_ID_WINDOW_MS) {
      return {
        kind: "unknown",
        providerReference: null,
        message: `The refund's answer was lost and PayPal forgets its PayPal-Request-Id after 45 days: it is not sent again (that would refund twice). Check capture ${req.providerReference} at PayPal.`,
      };
    }
    return this.refund(req);
  }

  /** PayPal's own check of a webhook's signature (POST /v1/notifications/verify-webhook-signature). */
  async verifyWebhook(headers: Headers, event: unknown, webhookId: string): Promise<boolean> {
    const res = await this.call("POST", "/v1/notifications/verify-webhook-signature", null, {
      auth_algo: headers.get("paypal-auth-algo"),
      cert_url: headers.get("paypal-cert-url"),
      transmission_id: headers.get("paypal-transmission-id"),
      transmission_sig: headers.get("paypal-transmission-sig"),
      transmission_time: headers.get("paypal-transmission-time"),
      webhook_id: webhookId,
      webhook_event: event,
    });
    // PayPal down (no answer, a 5xx, a rate limit) says nothing about the signature: the sender is
    // told to try again (PayPal resends an event until it is answered 2xx), not that it was forged.
    if ("kind" in res || res.status >= 500 || res.status === 429) {
      throw new ApiError({
        status: 503,
        type: "api_error",
        code: "provider_unavailable",
        retryAfterSeconds: 60,
        message: `PayPal could not verify the webhook's signature just now (${"kind" in res ? res.message : `PayPal answered ${res.status}`}); nothing was applied. Send it again later.`,
      });
    }
    return res.status === 200 && res.body.verification_status === "SUCCESS";
  }
}

/** Forgets cached tokens (tests). */
export function clearPayPalTokens(): void {
  tokens.clear();
}
