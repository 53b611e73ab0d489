// Seed 002's void of a sale and its refunds: a sale with any refund (given back, waiting for an
// approver, or at the processor) is no longer voided; a void and a refund sent together never both
// go through (the check is made in the intent's object, one operation at a time); a void that waits
// for an approver leaves the sale captured in every read until it goes through; a voided sale voided
// again says so.
import { describe, expect, it } from "vitest";
import { approverOf, get, newMerchant, post, uniqueKey, waitFor, type CallOptions, type ListJson, type RefundJson } from "../helpers";

const EXPIRY = "1239";
const REFUNDED_NOT_VOIDABLE = "This sale was already refunded in part or whole; it can no longer be voided.";

type Err = { error: { code: string; message: string; details: unknown[] } };
type Answer = { data: { id: string; status: string; refundId?: string; refundedAmountCents?: number } };
interface Detail {
  data: {
    intent: { id: string; status: string; capturedAmountCents: number; refundedAmountCents: number; voidStatus?: string };
    transactions: { type: string; status: string; amountCents: number }[];
  };
}

async function sale(opts: CallOptions, amountCents: number): Promise<string> {
  const res = await post<Answer>("/api/v1/payments/sale", { clientRequestId: uniqueKey("s"), amountCents, token: "9418594164541111", expiry: EXPIRY, currency: "USD" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.data.status).toBe("captured");
  return res.body.data.id;
}

const voidSale = (opts: CallOptions, id: string, key: string | undefined = uniqueKey("v")) =>
  post<Answer | Err>("/api/v1/payments/void", { ...(key ? { clientRequestId: key } : {}), paymentIntentId: id }, opts);
const refund = (opts: CallOptions, id: string, amountCents: number) => post<Answer | Err>("/api/v1/payments/refund", { clientRequestId: uniqueKey("r"), paymentIntentId: id, amountCents }, opts);
const detail = async (opts: CallOptions, id: string) => {
  const res = await get<Detail>(`/api/v1/payments/transactions/${id}`, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
};
const listed = async (opts: CallOptions, status: string) => (await get<{ data: { id: string; status: string; voidStatus?: string }[] }>(`/api/v1/payments/transactions?status=${status}&limit=100`, opts)).body.data;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function expectRefusal(res: { status: number; body: unknown }, message: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(409);
  expect((res.body as Err).error.code).toBe("INVALID_STATE");
  expect((res.body as Err).error.message).toBe(message);
}

async function withThreshold(label: string, usd: number) {
  const m = await newMerchant(label);
  expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd } } }, await approverOf(m.opts))).status).toBe(200);
  return { opts: m.opts, approver: await approverOf(m.opts) };
}

/** The refund of a payment that waits for an approver (the read model has it once the object wrote it). */
async function waitingRefund(opts: CallOptions, id: string): Promise<RefundJson> {
  return waitFor(async () => {
    const list = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${id}&limit=100`, opts)).body.data;
    return list.find((r) => r.status === "pending");
  });
}

describe("seed 002 void of a sale with refunds", () => {
  it("a sale with a refund waiting for approval cannot be voided: 409, nothing changes; after the refund is rejected it reads captured", async () => {
    const { opts, approver } = await withThreshold("pos-void-pending-refund", 1000);
    const id = await sale(opts, 2000);
    const r = await refund(opts, id, 1500);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body as Answer).data.status).toBe("refund_pending");

    expectRefusal(await voidSale(opts, id), REFUNDED_NOT_VOIDABLE);
    const held = await detail(opts, id);
    expect(held.intent).toMatchObject({ status: "captured", capturedAmountCents: 2000, refundedAmountCents: 0 });
    expect(held.transactions.map((t) => t.type)).not.toContain("void");
    expect((await listed(opts, "voided")).map((p) => p.id)).not.toContain(id);

    // Rejected: the refund no longer counts, and nothing was voided in the meantime.
    const waiting = await waitingRefund(opts, id);
    expect((await post<RefundJson>(`/v1/admin/refunds/${waiting.id}:reject`, {}, approver)).body.status).toBe("canceled");
    const after = await detail(opts, id);
    expect(after.intent).toMatchObject({ status: "captured", capturedAmountCents: 2000, refundedAmountCents: 0 });
    expect((await listed(opts, "voided")).map((p) => p.id)).not.toContain(id);
    expect((await listed(opts, "captured")).map((p) => p.id)).toContain(id);
  });

  it("a sale refunded in part cannot be voided either (the refund went through): 409, nothing changes", async () => {
    const { opts } = await newMerchant("pos-void-refunded");
    const id = await sale(opts, 2000);
    expect((await refund(opts, id, 500)).status).toBe(200);
    expectRefusal(await voidSale(opts, id), REFUNDED_NOT_VOIDABLE);
    const after = await detail(opts, id);
    expect(after.intent).toMatchObject({ status: "refunded", capturedAmountCents: 2000, refundedAmountCents: 500 });
    expect(after.transactions.map((t) => t.type)).toEqual(["authorize", "capture", "refund"]);
  });
});

describe("seed 002 void and refund sent together", () => {
  it("never both go through: the second is refused, the money given back never exceeds the capture, and reads agree", async () => {
    const { opts } = await newMerchant("pos-void-race");
    const outcomes: string[] = [];
    const voidedIds: string[] = [];
    for (let round = 0; round < 10; round++) {
      const id = await sale(opts, 1000);
      // The refund a little later each round, so that either may reach the object first.
      const [r, v] = await Promise.all([pause(round * 2).then(() => refund(opts, id, 300)), voidSale(opts, id)]);
      const refunded = r.status === 200;
      const voided = v.status === 200;
      outcomes.push(`${refunded ? "refund" : "-"}/${voided ? "void" : "-"}`);
      expect({ round, both: refunded && voided }, JSON.stringify([r.body, v.body])).toEqual({ round, both: false });
      expect(refunded || voided, JSON.stringify([r.body, v.body])).toBe(true);
      const read = await detail(opts, id);
      const rows = read.transactions.filter((t) => t.type === "refund" || t.type === "void").map((t) => [t.type, t.amountCents]);
      expect(read.intent.refundedAmountCents).toBeLessThanOrEqual(read.intent.capturedAmountCents);
      if (voided) {
        expect((v.body as Answer).data.status).toBe("voided");
        expect(r.status).toBe(409);
        expect((r.body as Err).error.code).toBe("INVALID_STATE");
        expect(read.intent).toMatchObject({ status: "voided", refundedAmountCents: 1000 });
        expect(rows).toEqual([["void", 1000]]);
        voidedIds.push(id);
      } else {
        expect((r.body as Answer).data.status).toBe("refunded");
        expectRefusal(v, REFUNDED_NOT_VOIDABLE);
        expect(read.intent).toMatchObject({ status: "refunded", refundedAmountCents: 300 });
        expect(rows).toEqual([["refund", 300]]);
      }
    }
    expect(outcomes).toHaveLength(10);
    expect(new Set((await listed(opts, "voided")).map((p) => p.id))).toEqual(new Set(voidedIds));
  });
});

describe("seed 002 void waiting for approval", () => {
  it("reads say captured (with voidStatus void_pending) while it waits, not voided; rejected, captured; approved, voided", async () => {
    const { opts, approver } = await withThreshold("pos-void-held-reads", 1000);
    const rejected = await sale(opts, 5000);
    const v = await voidSale(opts, rejected);
    expect(v.status, JSON.stringify(v.body)).toBe(200);
    expect((v.body as Answer).data.status).toBe("void_pending");

    const waiting = await detail(opts, rejected);
    expect(waiting.intent).toMatchObject({ status: "captured", capturedAmountCents: 5000, refundedAmountCents: 0, voidStatus: "void_pending" });
    expect((await listed(opts, "voided")).map((p) => p.id)).not.toContain(rejected);
    expect((await listed(opts, "captured")).find((p) => p.id === rejected)).toMatchObject({ status: "captured", voidStatus: "void_pending" });
    // While it waits, neither a refund nor another void goes through.
    const refundWhileWaiting = await refund(opts, rejected, 100);
    expect(refundWhileWaiting.status, JSON.stringify(refundWhileWaiting.body)).toBe(409);
    expect((refundWhileWaiting.body as Err).error.message).toContain("void waiting");
    const voidAgain = await voidSale(opts, rejected);
    expect(voidAgain.status, JSON.stringify(voidAgain.body)).toBe(409);
    expect((voidAgain.body as Err).error.message).toContain("void waiting");

    const held = await waitingRefund(opts, rejected);
    expect((await post<RefundJson>(`/v1/admin/refunds/${held.id}:reject`, {}, approver)).body.status).toBe("canceled");
    const back = await detail(opts, rejected);
    expect(back.intent).toMatchObject({ status: "captured", refundedAmountCents: 0 });
    expect(back.intent.voidStatus).toBeUndefined();

    const approved = await sale(opts, 4000);
    expect(((await voidSale(opts, approved)).body as Answer).data.status).toBe("void_pending");
    const toApprove = await waitingRefund(opts, approved);
    expect((await post<RefundJson>(`/v1/admin/refunds/${toApprove.id}:approve`, {}, approver)).body.status).toBe("succeeded");
    const done = await detail(opts, approved);
    expect(done.intent).toMatchObject({ status: "voided", refundedAmountCents: 4000 });
    expect(done.intent.voidStatus).toBeUndefined();
    expect(done.transactions.map((t) => [t.type, t.status])).toEqual([
      ["authorize", "approved"],
      ["capture", "approved"],
      ["void", "approved"],
    ]);
    expect((await listed(opts, "voided")).map((p) => p.id)).toEqual([approved]);
  });
});

describe("seed 002 void of a voided sale", () => {
  it("with a new clientRequestId (or none) says the sale was already voided; the same one replays the void", async () => {
    const { opts } = await newMerchant("pos-void-twice");
    const id = await sale(opts, 1200);
    const key = uniqueKey("v");
    const first = await voidSale(opts, id, key);
    expect((first.body as Answer).data.status).toBe("voided");
    expectRefusal(await voidSale(opts, id, uniqueKey("v2")), "This sale was already voided.");
    expectRefusal(await voidSale(opts, id, undefined), "This sale was already voided.");
    const replay = await voidSale(opts, id, key);
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const read = await detail(opts, id);
    expect(read.intent).toMatchObject({ status: "voided", refundedAmountCents: 1200 });
    expect(read.transactions.filter((t) => t.type === "void")).toHaveLength(1);
  });
});
