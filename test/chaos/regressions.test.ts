// Cases the chaos suite found, each replayed deterministically.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addConnector, createIntent, get, newMerchant, post, uniqueKey, type CallOptions, type PaymentIntentJson, type RefundJson } from "../helpers";
import { armBinding, expectMoneyConsistent, expectReadModelMatches, expectStripeAgrees, objectState, resetObject, settle, sleep, stripeClearFaults, stripeFault, stripeHeld, stripeLedger, stripeRelease } from "./harness";

async function stripeMerchant(label: string): Promise<{ opts: CallOptions; secretKey: string }> {
  const { opts } = await newMerchant(label);
  const secretKey = `sk_test_fake_${uniqueKey(label).replace(/[^A-Za-z0-9]/g, "")}`;
  await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
  return { opts, secretKey };
}

async function untilHeld(secretKey: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await stripeHeld(secretKey)) === 0) {
    if (Date.now() > deadline) throw new Error("the Stripe fake never received the call");
    await sleep(20);
  }
}

describe("chaos regressions", () => {
  it("an authorization the sandbox refused (provider error), its object reset before the answer was recorded, settles: the sandbox has no record, nothing moved", async () => {
    const { opts } = await newMerchant("chaos-sandbox-provider-error");
    const pi = (await createIntent({ amount: 3000, payment_method: "tok_sandboxProviderError", capture_method: "manual" }, opts)).body;
    let fired = false;
    await armBinding(pi.id, { step: "read_model", kind: "reset_before", nth: 1 }, () => {
      fired = true;
    });
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {}, opts);
    expect(fired).toBe(true);
    expect(confirmed.status).toBeGreaterThanOrEqual(500);
    // The attempt was checkpointed pending; reconciliation asks the sandbox, whose answer is final.
    const intent = (await settle(pi.id)).intent;
    expect(intent.status).toBe("requires_confirmation");
    expect(intent.attempts.map((a) => `${a.type}:${a.status}`)).toEqual(["authorize:failed"]);
    expectMoneyConsistent(intent);
    await expectReadModelMatches(intent);
  });

  it("a capture whose answer is lost leaves the intent processing (200, not a 500 from a broken invariant); reconciliation captures once", async () => {
    const { opts, secretKey } = await stripeMerchant("chaos-capture-timeout");
    const pi = (await createIntent({ amount: 4000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect(pi.status).toBe("requires_capture");
    await stripeFault(secretKey, "capture", "lost");
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, opts);
    await stripeClearFaults(secretKey);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body.status).toBe("processing");
    const intent = (await settle(pi.id)).intent;
    expect(intent).toMatchObject({ status: "succeeded", amountReceived: 4000, amountCapturable: 0 });
    expectMoneyConsistent(intent);
    await expectStripeAgrees(intent);
    await expectReadModelMatches(intent);
    const types = (await env.DB.prepare("SELECT type FROM events WHERE payment_intent = ? ORDER BY created").bind(pi.id).all<{ type: string }>()).results.map((r) => r.type);
    expect(types).toContain("payment_intent.processing");
  });

  it("a refund retried with its Idempotency-Key after the object was reset mid-call is the same refund: money moves once", async () => {
    const { opts, secretKey } = await stripeMerchant("chaos-refund-reset");
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(pi.status).toBe("succeeded");
    const key = uniqueKey("refund");
    await stripeFault(secretKey, "refund", "hold_after");
    const first = post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, { ...opts, idempotencyKey: key });
    await untilHeld(secretKey);
    // Stripe has made the refund; the object is reset before it hears so.
    await resetObject(pi.id);
    await stripeRelease(secretKey);
    expect((await first).status).toBe(500);
    const retry = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, { ...opts, idempotencyKey: key });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const intent = (await settle(pi.id)).intent;
    expect(intent.refunds).toHaveLength(1);
    expect(retry.body.id).toBe(intent.refunds[0]?.id);
    expect(intent.amountRefunded).toBe(1000);
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([1000]);
    await expectStripeAgrees(intent);
    await expectReadModelMatches(intent);
    // Replayed again later: the refund as it stands now.
    const again = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, { ...opts, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: intent.refunds[0]?.id, status: "succeeded" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("a confirm retried with its Idempotency-Key after the object was reset mid-call answers the payment as it stands, and charges once", async () => {
    const { opts, secretKey } = await stripeMerchant("chaos-confirm-reset");
    const pi = (await createIntent({ amount: 3000, payment_method: "pm_card_visa" }, opts)).body;
    const key = uniqueKey("confirm");
    await stripeFault(secretKey, "create", "hold_after");
    const first = post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {}, { ...opts, idempotencyKey: key });
    await untilHeld(secretKey);
    await resetObject(pi.id);
    await stripeRelease(secretKey);
    expect((await first).status).toBe(500);
    const retry = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {}, { ...opts, idempotencyKey: key });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body).toMatchObject({ id: pi.id, status: "processing" });
    const intent = (await settle(pi.id)).intent;
    expect(intent.status).toBe("succeeded");
    await expectStripeAgrees(intent);
    const later = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/confirm`, {}, { ...opts, idempotencyKey: key });
    expect(later.body).toMatchObject({ id: pi.id, status: "succeeded" });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("succeeded");
    expect((await objectState(pi.id)).outbox).toBe(0);
  });
});
