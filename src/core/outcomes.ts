// What a connector can answer. Every PSP's replies are translated into these before the domain sees
// them, so the state machine knows nothing of any one provider.

export interface CardChecks {
  authorizationCode: string | null;
  avsResult: string | null;
  cvvResult: string | null;
}

export type AuthorizeOutcome =
  | ({
      kind: "approved";
      providerReference: string;
      captured: boolean;
      responseCode: string;
      responseText: string;
      /** The authorization may be incremented later (it was asked for, and the provider and card allow it). */
      incrementalAuthorization?: boolean;
    } & CardChecks)
  | { kind: "declined"; providerReference: string | null; code: string; declineCode: string; message: string }
  | { kind: "requires_action"; providerReference: string | null; redirectUrl: string | null }
  | { kind: "provider_error"; message: string }
  /**
   * The provider refused the payment's own data before doing anything (Stripe's 400 amount_too_small:
   * an amount below its minimum): nothing moved, and it is the merchant's request to change, not a
   * failure of the provider. Another provider may take it; the last one's refusal is the merchant's
   * 400 invalid_request_error, with the provider's code, param and message.
   */
  | { kind: "rejected"; code: string; param: string | null; message: string }
  | { kind: "unknown"; providerReference: string | null; message: string };

/** Capture, void and refund: the money either moved, was refused, or we cannot tell yet. */
export type FollowUpOutcome =
  | { kind: "succeeded"; providerReference: string; responseCode: string; responseText: string }
  | {
      kind: "failed";
      code: string;
      message: string;
      /** A card issuer's refusal (an incremental authorization declined): its decline code. */
      declineCode?: string;
      /**
       * A void refused because the authorization was captured outside the gateway (in the provider's
       * dashboard), as read back from the provider: the capture's amount and reference.
       */
      capturedElsewhere?: { amount: number; reference: string };
      /**
       * The provider refused the request itself (an invalid_request_error: an amount below its
       * minimum, a refund it will not make), not the card issuer: the merchant gets a 400
       * invalid_request_error with the provider's code and this param, not a 402 card_error.
       */
      invalidRequest?: { param: string | null };
    }
  | { kind: "provider_error"; message: string }
  | { kind: "unknown"; providerReference: string | null; message: string };
