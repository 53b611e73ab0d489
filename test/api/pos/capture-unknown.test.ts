// Seed 002: a capture whose answer the processor lost is not reported as made. "captured" with
// amountCents 0 told the POS that the capture went through while nobody knew; the answer is the seed's
// 504 PROVIDER_TIMEOUT (as for a lost authorization), the same again for the clientRequestId's replay,
// and reconciliation then captures it exactly once.
import { describe, expect, it } from "vitest";
import { addConnector, get, newMerchant, post, uniqueKey, type PaymentIntentJson } from "../../helpers";
import { settle, stripeClearFaults, stripeFault, stripeLedger } from "../../chaos/harness";

interface PosErrorJson {
  error: { code: string; message: string; details: { field: string; paymentIntentId?: string }[] };
}

describe("seed 002: a capture whose outcome at the processor is unknown", () => {
  it("is a 504 PROVIDER_TIMEOUT naming the payment, not captured; its replay answers the same; reconciliation captures it once", async () => {
    const { opts } = await newMerchant("pos-capture-lost");
    const secretKey = `sk_test_fake_${uniqueKey("pos-capture-lost").replace(/[^A-Za-z0-9]/g, "")}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
    const made = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 5000, currency: "usd", capture_method: "manual", payment_method: "pm_card_visa", confirm: true }, opts);
    expect(made.body.status, JSON.stringify(made.body)).toBe("requires_capture");
    const id = made.body.id;

    const clientRequestId = uniqueKey("pos-capture-lost");
    await stripeFault(secretKey, "capture", "lost");
    const res = await post<PosErrorJson>("/api/v1/payments/capture", { clientRequestId, paymentIntentId: id, amountCents: 3000 }, opts);
    await stripeClearFaults(secretKey);
    expect(res.status, JSON.stringify(res.body)).toBe(504);
    expect(res.body.error.code).toBe("PROVIDER_TIMEOUT");
    expect(res.body.error.message).toContain("Do not capture it again");
    expect(res.body.error.details).toContainEqual(expect.objectContaining({ field: "paymentIntentId", paymentIntentId: id }));
    expect(JSON.stringify(res.body)).not.toContain("captured");

    // The same request again: the same answer, nothing sent to the processor again.
    const again = await post<PosErrorJson>("/api/v1/payments/capture", { clientRequestId, paymentIntentId: id, amountCents: 3000 }, opts);
    expect(again.status, JSON.stringify(again.body)).toBe(504);
    expect(again.body.error.message).toBe(res.body.error.message);

    const settled = await settle(id);
    expect(settled.intent).toMatchObject({ status: "succeeded", amountReceived: 3000 });
    expect((await stripeLedger(id)).intents.map((i) => i.amount_received)).toEqual([3000]);
    const read = await get<{ data: { intent: { status: string } } }>(`/api/v1/payments/transactions/${id}`, opts);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.data.intent.status).toBe("captured");
  });
});
