// The sandbox's refund-failure test card (4000000000005126, pm_card_refundFail, tok_refundFail), as
// Stripe's: the payment succeeds, a refund of it succeeds, and about a minute later the provider
// reports the refund failed. The report comes from the cron's sweep (reportDueRefundFailures), given
// the time here rather than waited for.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REFUND_FAILURE_DELAY_MS, reportDueRefundFailures } from "../../src/connectors/sandbox/refund-failures";
import { addConnector, createIntent, get, newMerchant, post, storedEventRecords, waitFor, type CallOptions, type ChargeJson, type PaymentIntentJson, type RefundJson } from "../helpers";

async function paidWithRefundFailCard(opts: CallOptions, amount = 3000): Promise<PaymentIntentJson> {
  const res = await createIntent({ amount, currency: "usd", payment_method: "pm_card_refundFail", confirm: true }, opts);
  expect(res.body.status, JSON.stringify(res.body)).toBe("succeeded");
  return res.body;
}

const refund = async (id: string, opts: CallOptions) => (await get<RefundJson>(`/v1/refunds/${id}`, opts)).body;
const intent = async (id: string, opts: CallOptions) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;

describe("the sandbox's refund-failure card (4000000000005126)", () => {
  it("a refund succeeds when made and is reported failed once due: failure_reason declined, the amount refundable again, refund.failed sent, once", async () => {
    const { opts } = await newMerchant("refund-fail");
    const pi = await paidWithRefundFailCard(opts);
    const made = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000 }, opts);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(made.body.status).toBe("succeeded");

    // Not due yet: nothing changes.
    await reportDueRefundFailures(env, Date.now() + REFUND_FAILURE_DELAY_MS - 5_000);
    expect((await refund(made.body.id, opts)).status).toBe("succeeded");
    expect((await intent(pi.id, opts)).amount_refunded).toBe(1000);

    const first = await reportDueRefundFailures(env, Date.now() + REFUND_FAILURE_DELAY_MS + 1_000);
    expect(first.done).toBeGreaterThanOrEqual(1);
    const failed = await refund(made.body.id, opts);
    expect(failed).toMatchObject({ status: "failed", failure_reason: "declined" });
    expect((await intent(pi.id, opts)).amount_refunded).toBe(0);
    const charge = (await get<ChargeJson>(`/v1/charges/${pi.latest_charge as string}`, opts)).body;
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false });
    const types = await waitFor(async () => {
      const t = (await storedEventRecords({ paymentIntent: pi.id })).map((e) => e.type);
      return t.includes("refund.failed") ? t : undefined;
    });
    expect(types.filter((t) => t === "refund.failed")).toHaveLength(1);

    // Reported once: a later sweep finds nothing of it.
    await reportDueRefundFailures(env, Date.now() + 10 * REFUND_FAILURE_DELAY_MS);
    expect((await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.type === "refund.failed")).toHaveLength(1);
    // The whole amount may be refunded again (this refund fails too, later).
    const again = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id }, opts);
    expect(again.body).toMatchObject({ status: "succeeded", amount: 3000 });
  });

  it("another card's refunds are never reported failed; the merchant's own sandbox account's are, through that account", async () => {
    const plain = await newMerchant("refund-fail-plain");
    const visa = await createIntent({ amount: 2000, currency: "usd", payment_method: "pm_card_visa", confirm: true }, plain.opts);
    const kept = await post<RefundJson>("/v1/refunds", { payment_intent: visa.body.id }, plain.opts);
    expect(kept.body.status).toBe("succeeded");

    const own = await newMerchant("refund-fail-account");
    await addConnector(own.opts, { connector: "sandbox" });
    const pi = await paidWithRefundFailCard(own.opts, 2500);
    const made = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id }, own.opts);
    expect(made.body.status).toBe("succeeded");

    await reportDueRefundFailures(env, Date.now() + REFUND_FAILURE_DELAY_MS + 1_000);
    expect((await refund(kept.body.id, plain.opts)).status).toBe("succeeded");
    expect((await refund(made.body.id, own.opts))).toMatchObject({ status: "failed", failure_reason: "declined" });
    expect((await intent(pi.id, own.opts)).amount_refunded).toBe(0);
  });
});
