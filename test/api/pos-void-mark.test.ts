// Seed 002's void of a same-day sale is a refund carrying the gateway's void mark (metadata pos_void).
// The mark is set by the void alone: a /v1 client that wrote it into a refund's metadata made a
// partial refund read as a void on seed 002 (history row "void", a later void answered "already
// voided" with almost all of the sale still captured), and could remove it from a real void (the
// voided sale then read "refunded"). Refused now, on create and on update; clearing all metadata keeps it.
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, uniqueKey, type CallOptions, type ListJson, type RefundJson } from "../helpers";

interface Detail {
  data: {
    intent: { id: string; status: string; capturedAmountCents: number; refundedAmountCents: number };
    transactions: { type: string; status: string; amountCents: number }[];
  };
}
type V1Error = { error: { type: string; param?: string; message: string } };

async function sale(opts: CallOptions, amountCents: number): Promise<string> {
  const res = await post<{ data: { id: string; status: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents, token: "9418594164541111", expiry: "1239", currency: "USD" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data.id;
}

async function detail(opts: CallOptions, id: string): Promise<Detail["data"]> {
  const res = await get<Detail>(`/api/v1/payments/transactions/${id}`, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

describe("seed 002's void mark is the gateway's own", () => {
  it("a /v1 refund naming the mark in its metadata is refused (form and JSON), nothing is refunded, and the sale can still be voided", async () => {
    const { opts } = await newMerchant("void-mark-create");
    const id = await sale(opts, 5000);

    const form = await post<V1Error>("/v1/refunds", undefined, { ...opts, form: `payment_intent=${id}&amount=100&metadata[pos_void]=true` });
    expect(form.status, JSON.stringify(form.body)).toBe(400);
    expect(form.body.error.param).toMatch(/^metadata/);
    const asJson = await post<V1Error>("/v1/refunds", { payment_intent: id, metadata: { pos_void: "true" } }, opts);
    expect(asJson.status, JSON.stringify(asJson.body)).toBe(400);

    const before = await detail(opts, id);
    expect(before.intent).toMatchObject({ status: "captured", refundedAmountCents: 0 });
    expect(before.transactions.map((t) => t.type)).toEqual(["authorize", "capture"]);
    expect((await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${id}`, opts)).body.data).toEqual([]);

    // The void itself still works, and is the sale's void.
    const voided = await post<{ data: { status: string } }>("/api/v1/payments/void", { paymentIntentId: id }, opts);
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body.data.status).toBe("voided");
    const after = await detail(opts, id);
    expect(after.intent).toMatchObject({ status: "voided", refundedAmountCents: 5000 });
    expect(after.transactions.map((t) => t.type)).toEqual(["authorize", "capture", "void"]);
  });

  it("a partial /v1 refund cannot pass for a void: seed 002 reads it as a refund, and the rest cannot be voided as 'already voided'", async () => {
    const { opts } = await newMerchant("void-mark-partial");
    const id = await sale(opts, 5000);
    expect((await post("/v1/refunds", { payment_intent: id, amount: 100, metadata: { pos_void: "true" } }, opts)).status).toBe(400);
    expect((await post("/v1/refunds", { payment_intent: id, amount: 100 }, opts)).status).toBe(200);
    const read = await detail(opts, id);
    expect(read.intent).toMatchObject({ status: "refunded", refundedAmountCents: 100 });
    expect(read.transactions.map((t) => t.type)).toEqual(["authorize", "capture", "refund"]);
    const voided = await post<{ error: { code: string; message: string } }>("/api/v1/payments/void", { paymentIntentId: id }, opts);
    expect(voided.status).toBe(409);
    expect(voided.body.error.message).toBe("This sale was already refunded in part or whole; it can no longer be voided.");
  });

  it("a void's mark survives /v1 updates: removing or changing it is refused, unchanged it is accepted, metadata=\"\" keeps it", async () => {
    const { opts } = await newMerchant("void-mark-update");
    const id = await sale(opts, 3000);
    expect((await post("/api/v1/payments/void", { paymentIntentId: id }, opts)).status).toBe(200);
    const [refund] = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${id}`, opts)).body.data;
    if (!refund) throw new Error("the void left no refund");

    const removed = await post<V1Error>(`/v1/refunds/${refund.id}`, undefined, { ...opts, form: "metadata[pos_void]=" });
    expect(removed.status, JSON.stringify(removed.body)).toBe(400);
    expect(removed.body.error.param).toBe("metadata");
    expect((await post(`/v1/refunds/${refund.id}`, { metadata: { pos_void: "false" } }, opts)).status).toBe(400);

    // Read back and written again with a key of the merchant's own: fine.
    const copied = await post<RefundJson>(`/v1/refunds/${refund.id}`, { metadata: { ...refund.metadata, note: "till 3" } }, opts);
    expect(copied.status, JSON.stringify(copied.body)).toBe(200);
    expect(copied.body.metadata).toEqual({ pos_void: "true", note: "till 3" });
    // Stripe's "unset every key": the merchant's keys go, the mark stays.
    const cleared = await post<RefundJson>(`/v1/refunds/${refund.id}`, undefined, { ...opts, form: "metadata=" });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body.metadata).toEqual({ pos_void: "true" });

    const read = await detail(opts, id);
    expect(read.intent).toMatchObject({ status: "voided", refundedAmountCents: 3000 });
    expect(read.transactions.map((t) => t.type)).toEqual(["authorize", "capture", "void"]);
    const listed = (await get<{ data: { id: string }[] }>("/api/v1/payments/transactions?status=voided&limit=100", opts)).body.data;
    expect(listed.map((p) => p.id)).toContain(id);
  });
});
