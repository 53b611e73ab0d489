// Seed 002's POST /payments/failed/{id}/resolve: another merchant's payment is answered exactly as an
// unknown one, and the fields of a payment paid by other means are refused where they contradict the
// resolution instead of being dropped. Either refusal binds no clientRequestId and changes nothing.
import { describe, expect, it } from "vitest";
import { get, newMerchant, post, uniqueKey, type CallOptions } from "../../helpers";

const EXPIRY = "1239";
type Data = { data: Record<string, unknown> };
type Err = { error: { code: string; message: string; details: { field?: string; message: string }[] } };

async function declinedSale(opts: CallOptions): Promise<string> {
  const res = await post<Data>("/api/v1/payments/sale", { amountCents: 2500, token: "9418594164540002", expiry: EXPIRY, currency: "USD" }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.data.status).toBe("declined");
  return String(res.body.data.id);
}

const resolve = (id: string, body: Record<string, unknown>, opts: CallOptions) => post<Err & Data>(`/api/v1/payments/failed/${id}/resolve`, body, opts);

describe("seed 002 resolve of another merchant's failed payment", () => {
  it("is the same 404 as an unknown id (no field named), binds no clientRequestId, and leaves the payment failed", async () => {
    const a = await newMerchant("pos-resolve-a");
    const b = await newMerchant("pos-resolve-b");
    const theirs = await declinedSale(a.opts);
    const key = uniqueKey("res");
    const cross = await resolve(theirs, { clientRequestId: key, resolution: "dismissed" }, b.opts);
    const unknownId = `pi_${theirs.slice(3, -1)}${theirs.endsWith("A") ? "B" : "A"}`;
    const unknown = await resolve(unknownId, { resolution: "dismissed" }, b.opts);
    expect(cross.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(cross.body).toEqual({ error: { code: "NOT_FOUND", message: `No such payment: '${theirs}'.`, details: [] } });
    expect(unknown.body).toEqual({ error: { code: "NOT_FOUND", message: `No such payment: '${unknownId}'.`, details: [] } });
    // The key was not bound to the refused request: B uses it for its own failed payment.
    const own = await declinedSale(b.opts);
    const ok = await resolve(own, { clientRequestId: key, resolution: "dismissed" }, b.opts);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data).toMatchObject({ id: own, status: "dismissed", resolution: "dismissed" });
    // A's payment is untouched.
    const detail = await get<{ data: { intent: Record<string, unknown> } }>(`/api/v1/payments/transactions/${theirs}`, a.opts);
    expect(detail.body.data.intent.status).toBe("declined");
  });
});

describe("seed 002 resolve fields of a payment paid by other means", () => {
  it("paidByOtherMeans with a dismissal, or otherMeansType without paidByOtherMeans, is a 400 naming the field (it was dropped), and nothing changes", async () => {
    const { opts } = await newMerchant("pos-resolve-means");
    const id = await declinedSale(opts);
    const cases: [Record<string, unknown>, string][] = [
      [{ resolution: "dismissed", paidByOtherMeans: true }, "paidByOtherMeans"],
      [{ resolution: "dismissed", paidByOtherMeans: true, otherMeansType: "cash" }, "paidByOtherMeans"],
      [{ resolution: "resolved", otherMeansType: "cash" }, "otherMeansType"],
      [{ resolution: "resolved", paidByOtherMeans: false, otherMeansType: "cash" }, "otherMeansType"],
      [{ resolution: "dismissed", otherMeansType: "cash" }, "otherMeansType"],
    ];
    const key = uniqueKey("means");
    for (const [body, field] of cases) {
      const res = await resolve(id, { clientRequestId: key, ...body }, opts);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      expect(res.body.error.details.map((d) => d.field)).toEqual([field]);
    }
    const failed = await get<{ data: { id: string }[] }>("/api/v1/payments/failed", opts);
    expect(failed.body.data.map((r) => r.id)).toContain(id);
    // The seed's own example, with the same key (bound to nothing so far): resolved, paid in cash.
    const ok = await resolve(id, { clientRequestId: key, resolution: "resolved", reason: "Customer paid with cash at the counter", paidByOtherMeans: true, otherMeansType: "cash" }, opts);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data).toMatchObject({ id, status: "resolved", resolution: "resolved", paidByOtherMeans: true, otherMeansType: "cash" });
  });
});
