// The authorization step with a connector that refuses the payment's own data (Stripe's
// amount_too_small): it fails over to the next connector; from the last, or when the connectors left
// are paused by their circuit breakers, the refusal is the merchant's 400. Fake connectors and an
// injected clock: nothing here depends on time or on a PSP.
import { describe, expect, it } from "vitest";
import type { AuthorizeOutcome, FollowUpOutcome } from "../../src/core/outcomes";
import type { IntentRecord, PaymentMethodDetails } from "../../src/core/types";
import type { Connector, ConnectorName } from "../../src/connectors/types";
import type { Config } from "../../src/env";
import { authorize } from "../../src/intents/operations/authorize";
import type { OperationTools } from "../../src/intents/operations/tools";
import { newIntent } from "../../src/intents/operations/create";

const card: PaymentMethodDetails = {
  id: "pm_rejected",
  type: "card",
  card: { brand: "visa", last4: "4242", expMonth: 12, expYear: 2034, funding: "credit", country: "US", fingerprint: "fp" },
  source: "token",
  sandboxScenario: "success",
  testAlias: "pm_card_visa",
  created: 0,
};

function draft(): IntentRecord {
  const intent = newIntent(
    {
      id: "pi_rejected000000000000000",
      amount: 30,
      currency: "usd",
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
      paymentMethod: card,
      confirm: false,
    },
    { merchantId: "acct_rejected", livemode: false },
    1_000,
  );
  intent.status = "requires_confirmation";
  return intent;
}

const notCalled = (): Promise<FollowUpOutcome> => Promise.reject(new Error("not called"));

function connector(name: ConnectorName, accountId: string, answer: AuthorizeOutcome): Connector & { calls: number } {
  const c = {
    name,
    accountId,
    calls: 0,
    supports: () => true,
    authorize: () => {
      c.calls += 1;
      return Promise.resolve(answer);
    },
    completeAction: () => Promise.resolve(answer),
    capture: notCalled,
    void: notCalled,
    refund: notCalled,
    reconcileAuthorization: () => Promise.resolve(answer),
    reconcileFollowUp: notCalled,
  };
  return c;
}

function tools(paused: Set<string> = new Set()): OperationTools & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    config: {} as Config,
    health: { admit: (c) => Promise.resolve(!paused.has(c.accountId ?? "")), report: () => undefined },
    now: () => 2_000,
    routes: () => Promise.resolve([]),
    connectorOf: () => Promise.reject(new Error("not called")),
    checkpoint: () => Promise.resolve(),
    emit: (type) => events.push(type),
    challengeUrl: () => "http://gateway.test/sandbox/3ds/pi?client_secret=s",
    gatewayReturnUrl: () => "http://gateway.test/connectors/return/pi?client_secret=s",
  };
}

const tooSmall: AuthorizeOutcome = { kind: "rejected", code: "amount_too_small", param: "amount", message: "Amount must be at least $0.50 usd" };
const approved: AuthorizeOutcome = { kind: "approved", providerReference: "ref_1", captured: true, responseCode: "00", responseText: "Approved", authorizationCode: "1", avsResult: null, cvvResult: null };

describe("authorize: a refusal of the payment's data", () => {
  it("fails over to the next connector, which takes it; the refusal is kept as a failed attempt with the provider's code", async () => {
    const intent = draft();
    const first = connector("stripe", "mca_first", tooSmall);
    const second = connector("sandbox", "mca_second", approved);
    const t = tools();
    const result = await authorize(intent, t, { authenticated: false, connectors: [first, second] });
    expect(result.error).toBeUndefined();
    expect(intent.status).toBe("succeeded");
    expect(intent.attempts.map((a) => [a.connectorAccount, a.status, a.responseCode, a.refusedRequest ?? false])).toEqual([
      ["mca_first", "failed", "amount_too_small", true],
      ["mca_second", "succeeded", "00", false],
    ]);
  });

  it("from the last connector: the merchant's 400, nothing charged, no decline, the intent confirmable again with its card", async () => {
    const intent = draft();
    const t = tools();
    const result = await authorize(intent, t, { authenticated: false, connectors: [connector("stripe", "mca_only", tooSmall)] });
    expect(result.error).toEqual({ status: 400, type: "invalid_request_error", code: "amount_too_small", param: "amount", message: "Amount must be at least $0.50 usd" });
    expect(intent).toMatchObject({ status: "requires_confirmation", lastPaymentError: null, declineCount: 0, amountReceived: 0, chargeAttemptId: null });
    expect(intent.paymentMethod?.id).toBe("pm_rejected");
    expect(t.events).toEqual([]);
  });

  it("when the connectors left are paused by their circuit breakers: the refusal seen is the answer, not a 502", async () => {
    const intent = draft();
    const second = connector("stripe", "mca_paused", approved);
    const result = await authorize(intent, tools(new Set(["mca_paused"])), { authenticated: false, connectors: [connector("stripe", "mca_first", tooSmall), second] });
    expect(result.error).toMatchObject({ status: 400, code: "amount_too_small", param: "amount" });
    expect(second.calls).toBe(0);
    expect(intent.status).toBe("requires_confirmation");
    expect(intent.attempts.map((a) => a.responseCode)).toEqual(["amount_too_small"]);
  });
});
