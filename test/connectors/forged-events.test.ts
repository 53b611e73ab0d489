// PSP events from outside apply only to the attempt or refund they name (by our id or the provider's
// reference), and only in a transition the state machine allows. Anything else is recorded, answered
// 200 with applied: 0, and changes nothing; refunds never exceed the capture, whatever arrives.
import { describe, expect, it } from "vitest";
import { signSandboxWebhook } from "../../src/connectors/sandbox/webhooks";
import { setLogSink } from "../../src/log";
import { call, createIntent, expectError, get, newMerchant, post, type CallOptions, type ListJson, type PaymentIntentJson, type RefundJson, type TransactionJson } from "../helpers";

const SECRET = "sandbox_webhook_secret_for_development";
const KINDS = ["authorization.approved", "authorization.declined", "authorization.processing", "authorization.canceled", "capture.succeeded", "refund.succeeded", "refund.failed"] as const;
let seq = 0;

async function sandboxEvent(type: string, data: Record<string, unknown>) {
  seq += 1;
  const text = JSON.stringify({ id: `sbxevt_forged_${Date.now()}_${seq}`, type, data });
  // The webhook route is limited per client IP; these many events come from many (test) addresses.
  const ip = `198.18.${Math.floor(seq / 8) % 256}.${seq % 256}`;
  const res = await call<{ received: boolean; applied: number }>("POST", "/v1/psp_webhooks/sandbox", {
    key: null,
    body: text,
    headers: { "sandbox-signature": await signSandboxWebhook(SECRET, text), "cf-connecting-ip": ip },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const transactions = async (id: string, opts: CallOptions) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data;

async function snapshot(id: string, opts: CallOptions) {
  const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
  const refunds = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${id}`, opts)).body.data;
  return {
    status: pi.status,
    amount_received: pi.amount_received,
    amount_capturable: pi.amount_capturable,
    amount_refunded: pi.amount_refunded,
    refunds: refunds.map((r) => [r.id, r.status]),
    transactions: (await transactions(id, opts)).map((t) => [t.id, t.status]),
  };
}

type State = "declined" | "requires_action" | "requires_capture" | "succeeded" | "refunded" | "canceled" | "new";

async function intentIn(state: State, opts: CallOptions): Promise<PaymentIntentJson> {
  const make = (body: Record<string, unknown>) => createIntent({ amount: 5000, ...body }, opts);
  switch (state) {
    case "declined": {
      const res = await make({ payment_method: "pm_card_chargeDeclined", confirm: true });
      return (res.body as unknown as { error: { payment_intent: PaymentIntentJson } }).error.payment_intent;
    }
    case "requires_action":
      return (await make({ payment_method: "pm_card_threeDSecure2Required", confirm: true })).body;
    case "requires_capture":
      return (await make({ payment_method: "pm_card_visa", confirm: true, capture_method: "manual" })).body;
    case "succeeded":
      return (await make({ payment_method: "pm_card_visa", confirm: true })).body;
    case "refunded": {
      const pi = (await make({ payment_method: "pm_card_visa", confirm: true })).body;
      expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 2000 }, opts)).status).toBe(200);
      return pi;
    }
    case "canceled": {
      const pi = (await make({})).body;
      await post(`/v1/payment_intents/${pi.id}/cancel`, {}, opts);
      return pi;
    }
    case "new":
      return (await make({})).body;
  }
}

const STATES: State[] = ["declined", "requires_action", "requires_capture", "succeeded", "refunded", "canceled", "new"];

describe("forged or mis-aimed PSP events change nothing", () => {
  for (const state of STATES) {
    it(`every event kind that names no attempt, or names the wrong one, leaves a ${state} intent as it was`, async () => {
      const { opts } = await newMerchant(`forged-${state}`);
      const pi = await intentIn(state, opts);
      const other = await intentIn("requires_action", opts);
      const [otherAttempt] = await transactions(other.id, opts);
      const before = await snapshot(pi.id, opts);
      const shapes: Record<string, unknown>[] = [
        { intent: pi.id },
        { intent: pi.id, attempt: "txn_doesnotexist0000000" },
        { intent: pi.id, reference: "sbx_not_a_reference_of_ours" },
        { intent: pi.id, attempt: otherAttempt?.id, reference: otherAttempt?.provider_reference },
        { intent: pi.id, refund: "re_doesnotexist00000000" },
      ];
      for (const kind of KINDS) {
        for (const data of shapes) {
          const answer = await sandboxEvent(kind, { ...data, captured: true, code: "card_declined" });
          expect(answer.applied, `${kind} ${JSON.stringify(data)}`).toBe(0);
        }
      }
      expect(await snapshot(pi.id, opts)).toEqual(before);
      expect(await snapshot(other.id, opts)).toMatchObject({ status: "requires_action" });
    });
  }

  it("an approval naming a declined attempt does not turn it into a payment, and is raised to operators (money may be held at the provider)", async () => {
    const { opts } = await newMerchant("forged-declined");
    const pi = await intentIn("declined", opts);
    const [declined] = await transactions(pi.id, opts);
    const errors: string[] = [];
    setLogSink((level, line) => {
      if (level === "error") errors.push(line);
    });
    try {
      const answer = await sandboxEvent("authorization.approved", { intent: pi.id, attempt: declined?.id, reference: declined?.provider_reference, captured: true });
      expect(answer.applied).toBe(0);
    } finally {
      setLogSink(null);
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_payment_method", amount_received: 0 });
    const raised = errors.map((l) => JSON.parse(l) as { message: string; intent?: string; result?: string }).find((l) => l.intent === pi.id);
    expect(raised?.message).toContain("money taken for a payment recorded as not taken");
    expect(raised?.result).toContain(declined?.id ?? "?");
  });

  it("an event naming the attempt by our id and a different provider reference is refused", async () => {
    const { opts } = await newMerchant("forged-mismatch");
    const pi = await intentIn("requires_action", opts);
    const [attempt] = await transactions(pi.id, opts);
    const answer = await sandboxEvent("authorization.approved", { intent: pi.id, attempt: attempt?.id, reference: "sbx_someone_elses" });
    expect(answer.applied).toBe(0);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_action");
    // Named properly, it applies.
    expect((await sandboxEvent("authorization.approved", { intent: pi.id, attempt: attempt?.id })).applied).toBe(1);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("succeeded");
  });

  it("a refund.failed that names no refund cannot reopen a succeeded refund: refunds never exceed the capture", async () => {
    const { opts } = await newMerchant("forged-refund");
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    const first = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 5000 }, opts);
    expect(first.body.status).toBe("succeeded");
    expect((await sandboxEvent("refund.failed", { intent: pi.id })).applied).toBe(0);
    // Named by our ids only (no provider reference of the refund): not enough to undo money that moved.
    const refundRow = (await transactions(pi.id, opts)).find((t) => t.type === "refund");
    expect((await sandboxEvent("refund.failed", { intent: pi.id, attempt: refundRow?.id })).applied).toBe(0);
    expect((await sandboxEvent("refund.failed", { intent: pi.id, attempt: first.body.id })).applied).toBe(0);
    expect((await get<RefundJson>(`/v1/refunds/${first.body.id}`, opts)).body.status).toBe("succeeded");
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 5000 }, opts), 400);
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body;
    expect(after.amount_refunded).toBe(5000);
    const refunds = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}`, opts)).body.data;
    expect(refunds.filter((r) => r.status === "succeeded" || r.status === "pending").reduce((s, r) => s + r.amount, 0)).toBeLessThanOrEqual(after.amount_received);
  });

  it("a refund failure named by the provider's refund reference is applied (news, not a forgery)", async () => {
    const { opts } = await newMerchant("named-refund-failure");
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, opts)).body;
    const row = (await transactions(pi.id, opts)).find((t) => t.type === "refund");
    expect(row?.provider_reference).toBeTruthy();
    expect((await sandboxEvent("refund.failed", { intent: pi.id, reference: row?.provider_reference, code: "expired_or_canceled_card" })).applied).toBe(1);
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, opts)).body.status).toBe("failed");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(0);
  });
});
