// Seed 002's statuses in SQL (the generated column pos_status, migration 0037) say what its answers
// say (posStatus), for a payment in each of them; its status filter finds each by that column; and
// the migration's backfill marks the voided sales written before it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { POS_STATUS_SQL, POS_STATUSES } from "../../src/core/pos-status";
import { createIntent, get, newMerchant, post, uniqueKey, type CallOptions } from "../helpers";

const EXPIRY = "1239";
interface Payment {
  id: string;
  status: string;
}

async function pos(path: string, body: Record<string, unknown>, opts: CallOptions): Promise<Payment> {
  const res = await post<{ data: Payment }>(`/api/v1/payments/${path}`, { clientRequestId: uniqueKey(path.replace(/\W/g, "")), ...body }, opts);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body.data;
}

const card = (token: string) => ({ token, expiry: EXPIRY, currency: "USD" });
const columnOf = async (id: string) => (await env.DB.prepare("SELECT pos_status AS s, pos_voided AS v FROM payment_intents WHERE id = ?").bind(id).first<{ s: string; v: number | null }>()) ?? null;

describe("seed 002's status column", () => {
  it("matches the answers' status for a payment in each status, and the filter finds it there", async () => {
    const { opts } = await newMerchant("pos-status");
    const authorized = await pos("authorize", { amountCents: 1000, ...card("9418594164541111") }, opts);
    const captured = await pos("sale", { amountCents: 1100, ...card("9418594164541111") }, opts);
    const refunded = await pos("sale", { amountCents: 1200, ...card("9418594164541111") }, opts);
    await pos("refund", { paymentIntentId: refunded.id, amountCents: 200 }, opts);
    const voidedSale = await pos("sale", { amountCents: 1300, ...card("9418594164541111") }, opts);
    await pos("void", { paymentIntentId: voidedSale.id }, opts);
    const voidedAuth = await pos("authorize", { amountCents: 1400, ...card("9418594164541111") }, opts);
    await pos("void", { paymentIntentId: voidedAuth.id }, opts);
    const declined = await pos("sale", { amountCents: 1500, ...card("9418594164540002") }, opts);
    const error = await pos("sale", { amountCents: 1600, ...card("9418594164540119") }, opts);
    const resolved = await pos("sale", { amountCents: 1700, ...card("9418594164540002") }, opts);
    await pos(`failed/${resolved.id}/resolve`, { resolution: "resolved", reason: "paid in cash", paidByOtherMeans: true }, opts);
    const dismissed = await pos("sale", { amountCents: 1800, ...card("9418594164540002") }, opts);
    await pos(`failed/${dismissed.id}/resolve`, { resolution: "dismissed", reason: "test order" }, opts);
    const pending = (await createIntent({ amount: 1900 }, opts)).body;

    const expected: Record<string, string> = {
      [authorized.id]: "authorized",
      [captured.id]: "captured",
      [refunded.id]: "refunded",
      [voidedSale.id]: "voided",
      [voidedAuth.id]: "voided",
      [declined.id]: "declined",
      [error.id]: "error",
      [resolved.id]: "resolved",
      [dismissed.id]: "dismissed",
      [pending.id]: "pending",
    };
    expect(new Set(Object.values(expected))).toEqual(new Set(POS_STATUSES));
    for (const [id, status] of Object.entries(expected)) {
      const answer = await get<{ data: { intent: { status: string } } }>(`/api/v1/payments/transactions/${id}`, opts);
      expect(answer.body.data.intent.status, id).toBe(status);
      expect((await columnOf(id))?.s, id).toBe(status);
      const listed = await get<{ data: { id: string }[] }>(`/api/v1/payments/transactions?status=${status}&limit=100`, opts);
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((p) => p.id), status).toEqual(Object.keys(expected).filter((k) => expected[k] === status).reverse());
    }
    expect((await columnOf(voidedSale.id))?.v).toBe(1);
    expect((await columnOf(refunded.id))?.v).toBeNull();
  });

  it("the migration's column is POS_STATUS_SQL, and its backfill marks a voided sale written before it", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0037"));
    const queries = migration?.queries ?? [];
    expect(queries.some((q) => q.includes(`GENERATED ALWAYS AS (${POS_STATUS_SQL}) VIRTUAL`))).toBe(true);
    const backfill = queries.find((q) => q.startsWith("UPDATE payment_intents SET pos_voided = 1"));
    expect(backfill).toBeDefined();

    const { opts } = await newMerchant("pos-status-old");
    const voided = await pos("sale", { amountCents: 2100, ...card("9418594164541111") }, opts);
    await pos("void", { paymentIntentId: voided.id }, opts);
    const refunded = await pos("sale", { amountCents: 2200, ...card("9418594164541111") }, opts);
    await pos("refund", { paymentIntentId: refunded.id, amountCents: 100 }, opts);
    // As the rows were before the migration: no pos_voided.
    await env.DB.prepare("UPDATE payment_intents SET pos_voided = NULL WHERE id IN (?, ?)").bind(voided.id, refunded.id).run();
    expect((await columnOf(voided.id))?.s).toBe("refunded");
    await env.DB.prepare(backfill ?? "").run();
    expect(await columnOf(voided.id)).toEqual({ s: "voided", v: 1 });
    expect(await columnOf(refunded.id)).toEqual({ s: "refunded", v: null });
  });
});
