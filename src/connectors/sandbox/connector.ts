// The built-in sandbox PSP: deterministic, no network. The outcome of a payment is chosen by the test
// card (see cards.ts). Each call yields to the event loop as a real network call would, so the
// gateway's serialization is exercised exactly as it is with a remote PSP.
//
// Like a real PSP, it remembers what it did when its answer got lost: a "timeout" card is processed
// (recorded in the sandbox's ledger in D1) and only then times out, so reconciliation can later ask
// what happened. Other calls are idempotent by key, so asking again gives the same answer.
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { PaymentMethodDetails, SandboxScenario } from "../../core/types";
import type { AuthorizeRequest, CompleteActionRequest, Connector, FollowUpKind, FollowUpRequest } from "../types";
import { recordRefundFailure } from "./refund-failures";

export interface SandboxOptions {
  /** How long a "timeout" card hangs before the sandbox reports an unknown outcome. */
  timeoutMs: number;
  /** The sandbox's ledger of processed calls whose answers were lost. */
  db: D1Database;
  accountId?: string | null;
}

export interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

const DECLINES: Partial<Record<SandboxScenario, Decline>> = {
  generic_decline: { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." },
  insufficient_funds: { code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
  lost_card: { code: "card_declined", declineCode: "lost_card", message: "Your card was declined." },
  stolen_card: { code: "card_declined", declineCode: "stolen_card", message: "Your card was declined." },
  fraudulent: { code: "card_declined", declineCode: "fraudulent", message: "Your card was declined." },
  card_velocity_exceeded: { code: "card_declined", declineCode: "card_velocity_exceeded", message: "Your card was declined for making repeated attempts too frequently or exceeding its amount limit." },
  expired_card: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired." },
  incorrect_cvc: { code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect." },
  processing_error: {
    code: "processing_error",
    declineCode: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
  },
  timeout_then_decline: { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." },
  test_mode_live_card: {
    code: "card_declined",
    declineCode: "test_mode_live_card",
    message: "Your card was declined. Your request was in test mode, but used a non test (live) card.",
  },
};

/**
 * The check a SetupIntent's confirmation makes of a card (Stripe's zero-amount verification), by the
 * sandbox's rules: the declining cards decline it, with the same codes a payment gets, except the card
 * that attaches and declines only its charges (4000000000000341); a card that requires 3D Secure asks
 * its customer for a challenge first ("challenge": the setup waits in requires_action); the others pass.
 */
/** The cards that ask for 3D Secure (4000002500003155 no longer off session once set up). */
const asksFor3ds = (scenario: SandboxScenario): boolean => scenario === "requires_3ds" || scenario === "requires_3ds_on_setup";

export function sandboxSetupCheck(paymentMethod: PaymentMethodDetails): Decline | "challenge" | null {
  if (paymentMethod.testAlias === "pm_card_chargeCustomerFail") return null;
  const decline = DECLINES[paymentMethod.sandboxScenario];
  if (decline) return decline;
  if (asksFor3ds(paymentMethod.sandboxScenario)) return "challenge";
  return null;
}

const yieldToEventLoop = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A short deterministic reference for an attempt, so a retried call gets the same answer. */
export function sandboxReference(kind: string, idempotencyKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < idempotencyKey.length; i++) {
    h ^= idempotencyKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `sbx_${kind}_${h.toString(36).padStart(7, "0")}${idempotencyKey.length.toString(36)}`;
}

function authCode(idempotencyKey: string): string {
  return sandboxReference("a", idempotencyKey).replace(/[^0-9]/g, "").padEnd(6, "7").slice(0, 6);
}

const TIMEOUT_SCENARIOS: readonly SandboxScenario[] = ["timeout_then_success", "timeout_then_decline"];

/** The brands whose authorizations the sandbox lets be incremented (Stripe's: Visa, Mastercard, American Express, Discover). */
export const INCREMENTAL_BRANDS: ReadonlySet<string> = new Set(["visa", "mastercard", "amex", "discover"]);

export class SandboxConnector implements Connector {
  readonly name = "sandbox" as const;
  readonly accountId: string | null;

  constructor(private readonly options: SandboxOptions) {
    this.accountId = options.accountId ?? null;
  }

  supports(paymentMethod: PaymentMethodDetails): boolean {
    return paymentMethod.type === "card";
  }

  /** What the sandbox decides for an authorization, ignoring timeouts: the same every time for the same key. */
  private decide(req: AuthorizeRequest): AuthorizeOutcome {
    const scenario = req.paymentMethod.sandboxScenario;
    const ref = sandboxReference("auth", req.idempotencyKey);
    // The merchant asked for a challenge (request_three_d_secure any or challenge) and the customer is
    // there to pass it: asked first, as an issuer's ACS comes before its decision. American Express's
    // test card, as at Stripe, does not support 3D Secure.
    if (req.requestThreeDSecure && !req.authenticated && !req.offSession && req.paymentMethod.card?.brand !== "amex") return { kind: "requires_action", providerReference: ref, redirectUrl: null };
    const decline = DECLINES[scenario];
    if (decline) return { kind: "declined", providerReference: ref, ...decline };
    // Set up with a passed challenge: the issuer lets this card's off-session charges through, as Stripe's 4000002500003155.
    const setUp = scenario === "requires_3ds_on_setup" && req.paymentMethod.setupAuthenticated === true;
    if (asksFor3ds(scenario) && !req.authenticated && req.offSession && !setUp) {
      // Nobody is there to pass the challenge: declined, as an issuer does with an off-session charge it wants authenticated.
      return { kind: "declined", providerReference: ref, code: "authentication_required", declineCode: "authentication_required", message: "Your card was declined. This transaction requires authentication." };
    }
    if (asksFor3ds(scenario) && !req.authenticated && !(setUp && req.offSession)) return { kind: "requires_action", providerReference: ref, redirectUrl: null };
    if (scenario === "provider_error") return { kind: "provider_error", message: "sandbox PSP answered 503 Service Unavailable" };
    const incremental = req.requestIncrementalAuthorization === true && !req.capture && INCREMENTAL_BRANDS.has(req.paymentMethod.card?.brand ?? "");
    return {
      kind: "approved",
      providerReference: ref,
      captured: req.capture,
      // Code and text as the processor's in seed 002's transaction history ("00", "Approval").
      responseCode: "00",
      responseText: "Approval",
      authorizationCode: authCode(req.idempotencyKey),
      avsResult: "Y",
      // No CVV came with the request (a card on file, a POS payment without cvv): not processed (P), not a match.
      cvvResult: req.paymentMethod.cvcPresented === false ? "P" : "M",
      ...(incremental ? { incrementalAuthorization: true } : {}),
    };
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    await yieldToEventLoop();
    const outcome = this.decide(req);
    if (TIMEOUT_SCENARIOS.includes(req.paymentMethod.sandboxScenario)) {
      // Processed, but the answer never makes it back.
      await this.options.db
        .prepare("INSERT OR IGNORE INTO sandbox_ledger (idempotency_key, intent_id, attempt_id, kind, outcome, created) VALUES (?, ?, ?, 'authorize', ?, ?)")
        .bind(req.idempotencyKey, req.intentId, req.attemptId, JSON.stringify(outcome), Date.now())
        .run();
      await yieldToEventLoop(this.options.timeoutMs);
      return { kind: "unknown", providerReference: "providerReference" in outcome ? outcome.providerReference : null, message: "The sandbox PSP did not answer in time" };
    }
    return outcome;
  }

  async completeAction(_req: CompleteActionRequest): Promise<AuthorizeOutcome> {
    return { kind: "provider_error", message: "the sandbox has no redirect flow to complete" };
  }

  async reconcileAuthorization(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    await yieldToEventLoop();
    const row = await this.options.db.prepare("SELECT outcome FROM sandbox_ledger WHERE idempotency_key = ?").bind(req.idempotencyKey).first<{ outcome: string }>();
    if (row) return JSON.parse(row.outcome) as AuthorizeOutcome;
    // Never recorded: a timeout card that never reached us moved nothing; any other call is
    // idempotent by key, so asking again is the answer.
    if (TIMEOUT_SCENARIOS.includes(req.paymentMethod.sandboxScenario)) return { kind: "provider_error", message: "the sandbox has no record of this payment" };
    return this.decide(req);
  }

  async capture(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("cap", req);
  }

  async void(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("void", req);
  }

  async refund(req: FollowUpRequest): Promise<FollowUpOutcome> {
    const outcome = await this.followUp("ref", req);
    // The refund-failure card: succeeded now, reported failed later (src/connectors/sandbox/refund-failures.ts).
    if (req.paymentMethod?.sandboxScenario === "refund_fail" && outcome.kind === "succeeded") {
      await recordRefundFailure(this.options.db, req, this.accountId, outcome.providerReference, Date.now());
    }
    return outcome;
  }

  /** Deterministic: approved, except for the increment-declined test card (card_declined / insufficient_funds). */
  async incrementAuthorization(req: FollowUpRequest): Promise<FollowUpOutcome> {
    await yieldToEventLoop();
    if (req.paymentMethod?.sandboxScenario === "increment_declined") {
      return { kind: "failed", code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds for the incremental authorization." };
    }
    return { kind: "succeeded", providerReference: sandboxReference("inc", req.idempotencyKey), responseCode: "00", responseText: "Incremental authorization approved" };
  }

  /** Idempotent by key: asking again is the answer. */
  async reconcileIncrement(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.incrementAuthorization(req);
  }

  async reconcileFollowUp(kind: FollowUpKind, req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp(kind === "capture" ? "cap" : kind === "void" ? "void" : "ref", req);
  }

  private async followUp(kind: string, req: FollowUpRequest): Promise<FollowUpOutcome> {
    await yieldToEventLoop();
    return { kind: "succeeded", providerReference: sandboxReference(kind, req.idempotencyKey), responseCode: "00", responseText: "Approval" };
  }
}
