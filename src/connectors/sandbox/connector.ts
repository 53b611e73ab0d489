// The built-in sandbox PSP: deterministic, no network. The outcome of a payment is chosen by the test
// card (see cards.ts). Each call yields to the event loop as a real network call would, so the
// gateway's serialization is exercised exactly as it is with a remote PSP.
import type { AuthorizeOutcome, FollowUpOutcome } from "../../core/outcomes";
import type { SandboxScenario } from "../../core/types";
import type { AuthorizeRequest, Connector, FollowUpRequest } from "../types";

export interface SandboxOptions {
  /** How long a "timeout" card hangs before the sandbox reports an unknown outcome. */
  timeoutMs: number;
}

interface Decline {
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
  expired_card: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired." },
  incorrect_cvc: { code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect." },
  processing_error: {
    code: "processing_error",
    declineCode: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
  },
  test_mode_live_card: {
    code: "card_declined",
    declineCode: "test_mode_live_card",
    message: "Your card was declined. Your request was in test mode, but used a non test (live) card.",
  },
};

const yieldToEventLoop = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A short deterministic reference for an attempt, so a retried call gets the same answer. */
function reference(kind: string, idempotencyKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < idempotencyKey.length; i++) {
    h ^= idempotencyKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `sbx_${kind}_${h.toString(36).padStart(7, "0")}${idempotencyKey.length.toString(36)}`;
}

function authCode(idempotencyKey: string): string {
  return reference("a", idempotencyKey).replace(/[^0-9]/g, "").padEnd(6, "7").slice(0, 6);
}

export class SandboxConnector implements Connector {
  readonly name = "sandbox";

  constructor(private readonly options: SandboxOptions) {}

  async authorize(req: AuthorizeRequest): Promise<AuthorizeOutcome> {
    await yieldToEventLoop();
    const scenario = req.paymentMethod.sandboxScenario;
    const ref = reference("auth", req.idempotencyKey);
    const decline = DECLINES[scenario];
    if (decline) return { kind: "declined", providerReference: ref, ...decline };
    switch (scenario) {
      case "requires_3ds":
        if (!req.authenticated) return { kind: "requires_action", providerReference: ref, redirectUrl: null };
        break;
      case "timeout_then_success":
      case "timeout_then_decline":
        await yieldToEventLoop(this.options.timeoutMs);
        return { kind: "unknown", providerReference: ref, message: "The sandbox PSP did not answer in time" };
      case "provider_error":
        return { kind: "provider_error", message: "sandbox PSP answered 503 Service Unavailable" };
      default:
        break;
    }
    return {
      kind: "approved",
      providerReference: ref,
      captured: req.capture,
      responseCode: "00",
      responseText: "Approved",
      authorizationCode: authCode(req.idempotencyKey),
      avsResult: "Y",
      cvvResult: "M",
    };
  }

  async capture(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("cap", req);
  }

  async void(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("void", req);
  }

  async refund(req: FollowUpRequest): Promise<FollowUpOutcome> {
    return this.followUp("ref", req);
  }

  private async followUp(kind: string, req: FollowUpRequest): Promise<FollowUpOutcome> {
    await yieldToEventLoop();
    return { kind: "succeeded", providerReference: reference(kind, req.idempotencyKey), responseCode: "00", responseText: "Approved" };
  }
}
