// Seed 000: what a fresh read of the document still caught. Errors are problem details naming the
// field, a 400, and nothing is made.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { get, hsToken, newMerchant, type ListJson, type PaymentIntentJson } from "../../helpers";

const BASE = "/api/v1/PaymentIntents";

async function create(token: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await exports.default.fetch(new Request(`http://gateway.test${BASE}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body }));
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe("seed 000 amounts of any length", () => {
  it("an amount with trailing zeros, as a decimal type may print it, is taken; one too large or too precise however written is a 400 naming amount, and nothing is made", async () => {
    const m = await newMerchant("s0-audit-long-amounts");
    const user = await hsToken({ roles: ["merchant"], sub: "456", merchant: m.id });
    // System.Text.Json writes a decimal with its scale: 29.99m * 1.0000m is 29.990000.
    for (const amount of [`29.99${"0".repeat(26)}`, `"29.99${"0".repeat(26)}"`]) {
      const made = await create(user, `{"amount": ${amount}, "currency": "EUR"}`);
      expect(made.status, JSON.stringify(made.json)).toBe(201);
      expect(made.json.amount).toBe(29.99);
    }
    const refused: [string, string][] = [
      [`1${"0".repeat(75)}`, "Amount must be no more than 999999.99 EUR."],
      ["1e-39", "Amount 0.0000000000000000000000... has more decimal places than EUR allows (2)."],
      [`"0.${"0".repeat(21)}1"`, `Amount 0.${"0".repeat(21)}1 has more decimal places than EUR allows (2).`],
    ];
    for (const [amount, detail] of refused) {
      const res = await create(user, `{"amount": ${amount}, "currency": "EUR"}`);
      expect(res.status, JSON.stringify(res.json)).toBe(400);
      expect(res.json.detail).toBe(detail);
      expect(res.json.errors).toEqual({ amount: [detail] });
    }
    expect((await get<ListJson<PaymentIntentJson>>("/v1/payment_intents", m.opts)).body.data.length).toBe(2);
  });
});
