// The state machine as data: random sequences of operations and PSP outcomes never break an invariant.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/core/errors";
import {
  ALLOWED_FROM,
  applyAuthorizeOutcome,
  applyCancel,
  applyCaptureOutcome,
  applyRefundOutcome,
  applyVoidOutcome,
  assertDeclineVelocity,
  assertOperationAllowed,
  checkInvariants,
  DECLINE_VELOCITY_WINDOW_MS,
  refundableAmount,
  startAttempt,
  TERMINAL_STATUSES,
} from "../../src/core/intent";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../src/core/outcomes";
import type { IntentRecord, PaymentMethodDetails } from "../../src/core/types";
import { newIntent } from "../../src/intents/operations/create";

const card: PaymentMethodDetails = {
  id: "pm_test",
  type: "card",
  card: { brand: "visa", last4: "4242", expMonth: 12, expYear: 2034, funding: "credit", country: "US", fingerprint: "fp" },
  source: "token",
  sandboxScenario: "success",
  testAlias: "pm_card_visa",
  created: 0,
};

function fresh(amount: number, manual: boolean): IntentRecord {
  return newIntent(
    {
      id: "pi_machine0000000000000000",
      amount,
      currency: "usd",
      captureMethod: manual ? "manual" : "automatic",
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
      paymentMethod: card,
      confirm: false,
    },
    { merchantId: "acct_x", livemode: false },
    0,
  );
}

const authorizeOutcome: fc.Arbitrary<AuthorizeOutcome> = fc.oneof(
  fc.constant<AuthorizeOutcome>({ kind: "approved", providerReference: "r", captured: false, responseCode: "00", responseText: "ok", authorizationCode: "1", avsResult: "Y", cvvResult: "M" }),
  fc.constant<AuthorizeOutcome>({ kind: "declined", providerReference: "r", code: "card_declined", declineCode: "generic_decline", message: "no" }),
  fc.constant<AuthorizeOutcome>({ kind: "requires_action", providerReference: "r", redirectUrl: null }),
  fc.constant<AuthorizeOutcome>({ kind: "provider_error", message: "503" }),
  fc.constant<AuthorizeOutcome>({ kind: "rejected", code: "amount_too_small", param: "amount", message: "too small" }),
  fc.constant<AuthorizeOutcome>({ kind: "unknown", providerReference: null, message: "timeout" }),
);
const followUp: fc.Arbitrary<FollowUpOutcome> = fc.oneof(
  fc.constant<FollowUpOutcome>({ kind: "succeeded", providerReference: "r", responseCode: "00", responseText: "ok" }),
  fc.constant<FollowUpOutcome>({ kind: "failed", code: "refused", message: "no" }),
  fc.constant<FollowUpOutcome>({ kind: "failed", code: "amount_too_small", message: "too small", invalidRequest: { param: "amount" } }),
  fc.constant<FollowUpOutcome>({ kind: "provider_error", message: "503" }),
);

type Step =
  | { op: "confirm"; outcome: AuthorizeOutcome }
  | { op: "capture"; fraction: number; outcome: FollowUpOutcome }
  | { op: "cancel"; outcome: FollowUpOutcome }
  | { op: "refund"; fraction: number; outcome: FollowUpOutcome };

const step: fc.Arbitrary<Step> = fc.oneof(
  authorizeOutcome.map((outcome) => ({ op: "confirm" as const, outcome })),
  fc.tuple(fc.double({ min: 0, max: 1.2, noNaN: true }), followUp).map(([fraction, outcome]) => ({ op: "capture" as const, fraction, outcome })),
  followUp.map((outcome) => ({ op: "cancel" as const, outcome })),
  fc.tuple(fc.double({ min: 0, max: 1.2, noNaN: true }), followUp).map(([fraction, outcome]) => ({ op: "refund" as const, fraction, outcome })),
);

/** Plays one step the way the Durable Object does; an operation refused by the machine changes nothing. */
function play(intent: IntentRecord, s: Step, n: number): void {
  const before = JSON.stringify(intent);
  try {
    switch (s.op) {
      case "confirm": {
        assertOperationAllowed("confirm", intent);
        if (!intent.paymentMethod) intent.paymentMethod = card;
        const attempt = startAttempt(intent, { id: `txn_${n}`, type: "authorize", amount: intent.amount, connector: "sandbox", capture: intent.captureMethod === "automatic", now: n });
        const outcome = s.outcome.kind === "approved" ? { ...s.outcome, captured: intent.captureMethod === "automatic" } : s.outcome;
        applyAuthorizeOutcome(intent, attempt, outcome, { now: n, restoreStatus: "requires_confirmation", challengeUrl: "https://x" });
        return;
      }
      case "capture": {
        assertOperationAllowed("capture", intent);
        const amount = Math.max(1, Math.floor(intent.amountCapturable * s.fraction));
        if (amount > intent.amountCapturable) return;
        const attempt = startAttempt(intent, { id: `txn_${n}`, type: "capture", amount, connector: "sandbox", now: n });
        applyCaptureOutcome(intent, attempt, s.outcome, n);
        return;
      }
      case "cancel": {
        assertOperationAllowed("cancel", intent);
        if (intent.status === "requires_capture") {
          const attempt = startAttempt(intent, { id: `txn_${n}`, type: "void", amount: intent.amountCapturable, connector: "sandbox", now: n });
          applyVoidOutcome(intent, attempt, s.outcome, n);
          if (s.outcome.kind !== "succeeded") return;
        }
        applyCancel(intent, "requested_by_customer", n);
        return;
      }
      case "refund": {
        assertOperationAllowed("refund", intent);
        const remaining = refundableAmount(intent);
        const amount = Math.max(1, Math.floor(remaining * s.fraction));
        if (remaining <= 0 || amount > remaining) return;
        const attempt = startAttempt(intent, { id: `txn_${n}`, type: "refund", amount, connector: "sandbox", refundId: `re_${n}`, now: n });
        const refund = { id: `re_${n}`, paymentIntentId: intent.id, chargeId: "ch_x", amount, currency: "usd", status: "pending" as const, reason: null, metadata: {}, failureReason: null, attemptId: attempt.id, requiresApproval: false, approval: null, created: n };
        intent.refunds.push(refund);
        applyRefundOutcome(intent, refund, attempt, s.outcome, n);
        return;
      }
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    expect(JSON.stringify(intent)).toBe(before);
  }
}

describe("payment intent state machine", () => {
  it("keeps every invariant over random operation sequences (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), fc.array(step, { maxLength: 25 }), (amount, manual, steps) => {
        const intent = fresh(amount, manual);
        let terminalSince: string | null = null;
        steps.forEach((s, i) => {
          const statusBefore = intent.status;
          play(intent, s, i + 1);
          expect(checkInvariants(intent)).toEqual([]);
          // Terminal states stay terminal: only refunds act on a succeeded intent.
          if (TERMINAL_STATUSES.includes(statusBefore)) expect(intent.status).toBe(statusBefore);
          if (intent.status === "canceled" || intent.status === "failed") terminalSince ??= intent.status;
        });
        if (terminalSince) expect(intent.status).toBe(terminalSince);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses every operation outside its allowed statuses", () => {
    const intent = fresh(100, true);
    for (const [op, allowed] of Object.entries(ALLOWED_FROM)) {
      for (const status of ["requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture", "succeeded", "canceled", "failed"] as const) {
        intent.status = status;
        const run = () => assertOperationAllowed(op as keyof typeof ALLOWED_FROM, intent);
        if (allowed.includes(status)) expect(run).not.toThrow();
        else expect(run).toThrow(ApiError);
      }
    }
  });

  it("never ends an intent on declines: any number leave it requires_payment_method, and a later approval succeeds", () => {
    const intent = fresh(100, false);
    for (let i = 1; i <= 12; i++) {
      intent.paymentMethod = card;
      const attempt = startAttempt(intent, { id: `txn_${i}`, type: "authorize", amount: 100, connector: "sandbox", now: i });
      applyAuthorizeOutcome(intent, attempt, { kind: "declined", providerReference: null, code: "card_declined", declineCode: "generic_decline", message: "no" }, { now: i, restoreStatus: "requires_confirmation", challengeUrl: "" });
      expect(intent.status).toBe("requires_payment_method");
      expect(intent.lastPaymentError).toMatchObject({ code: "card_declined", attemptId: `txn_${i}` });
    }
    intent.paymentMethod = card;
    const attempt = startAttempt(intent, { id: "txn_ok", type: "authorize", amount: 100, connector: "sandbox", now: 13 });
    applyAuthorizeOutcome(intent, attempt, { kind: "approved", providerReference: "r", responseCode: "00", responseText: "ok", authorizationCode: "A", avsResult: null, cvvResult: null, captured: true }, { now: 13, restoreStatus: "requires_confirmation", challengeUrl: "" });
    expect(intent.status).toBe("succeeded");
  });

  it("a provider's page to send the shopper to is taken only when it is a web address (a javascript: or data: answer falls back to the challenge page)", () => {
    const asked = (redirectUrl: string | null) => {
      const intent = fresh(100, false);
      const attempt = startAttempt(intent, { id: "txn_action", type: "authorize", amount: 100, connector: "stripe", capture: true, now: 1 });
      applyAuthorizeOutcome(intent, attempt, { kind: "requires_action", providerReference: "r", redirectUrl }, { now: 1, restoreStatus: "requires_confirmation", challengeUrl: "https://gateway.example/3ds/pi" });
      expect(intent.status).toBe("requires_action");
      return intent.nextAction?.url;
    };
    expect(asked("https://hooks.stripe.com/3d_secure_2/hosted?x=1")).toBe("https://hooks.stripe.com/3d_secure_2/hosted?x=1");
    expect(asked("http://127.0.0.1:9000/approve")).toBe("http://127.0.0.1:9000/approve");
    for (const bad of ["javascript:alert(document.cookie)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "/relative/path", "not a url", null]) {
      expect(asked(bad), String(bad)).toBe("https://gateway.example/3ds/pi");
    }
  });

  it("the decline velocity rule refuses a confirm with a clear error, changes nothing, and lapses with its window", () => {
    const intent = fresh(100, false);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      intent.paymentMethod = card;
      const attempt = startAttempt(intent, { id: `txn_${i}`, type: "authorize", amount: 100, connector: "sandbox", now: t0 + i });
      applyAuthorizeOutcome(intent, attempt, { kind: "declined", providerReference: null, code: "card_declined", declineCode: "generic_decline", message: "no" }, { now: t0 + i, restoreStatus: "requires_confirmation", challengeUrl: "" });
    }
    const before = JSON.stringify(intent);
    expect(() => assertDeclineVelocity(intent, t0 + 10, 3)).toThrow(expect.objectContaining({ data: expect.objectContaining({ status: 400, code: "card_decline_rate_limit_exceeded" }) }));
    expect(JSON.stringify(intent)).toBe(before);
    expect(() => assertDeclineVelocity(intent, t0 + 10, 4)).not.toThrow();
    expect(() => assertDeclineVelocity(intent, t0 + DECLINE_VELOCITY_WINDOW_MS + 1, 3)).not.toThrow();
  });

  it("parks an unknown outcome in processing with the attempt still pending", () => {
    const intent = fresh(100, false);
    const attempt = startAttempt(intent, { id: "txn_1", type: "authorize", amount: 100, connector: "sandbox", now: 1 });
    const t = applyAuthorizeOutcome(intent, attempt, { kind: "unknown", providerReference: "r", message: "timeout" }, { now: 1, restoreStatus: "requires_confirmation", challengeUrl: "" });
    expect(intent.status).toBe("processing");
    expect(attempt.status).toBe("pending");
    expect(t.events).toEqual(["payment_intent.processing"]);
  });
});
