// The audit log says which surface an operation came through (seeds 000, 002, 003 and 004 hand the
// intent's object one request context, built by surfaceRequest): an operator reading an intent's history
// sees who did what, and where.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hsToken, newApplication, newMerchant, post, rawCall, uniqueKey } from "../helpers";

interface AuditRow {
  action: string;
  actor: string;
  details: string;
}

async function auditOf(merchant: string, action: string): Promise<{ actor: string; details: Record<string, unknown> }[]> {
  const rows = await env.DB.prepare("SELECT action, actor, details FROM audit_log WHERE merchant_id = ? AND action = ? ORDER BY created, id").bind(merchant, action).all<AuditRow>();
  return rows.results.map((r) => ({ actor: r.actor, details: JSON.parse(r.details) as Record<string, unknown> }));
}

describe("each surface's operations are audited with the surface named", () => {
  it("seed 002 sale, seed 003 cancel, seed 000 cancel, seed 004 create: one entry each, its surface and caller", async () => {
    const m = await newMerchant("surface-audit");

    const sale = await post<{ data: { status: string } }>("/api/v1/payments/sale", { clientRequestId: uniqueKey("audit-sale"), amountCents: 1000, token: "9418594164541111", expiry: "1239", currency: "USD" }, m.opts);
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(await auditOf(m.id, "pos.sale")).toEqual([{ actor: expect.stringMatching(/^api_key:/), details: expect.objectContaining({ surface: "pos" }) }]);

    const app = await newApplication(m.opts);
    const appHeaders = { "X-Application-Id": app.appId, "X-Access-Token": app.token };
    const made = await rawCall("POST", "/payments/create-payment-intent", appHeaders, JSON.stringify({ userId: "user_1", productId: "product_1", currency: "EUR", amount: 9.0, manualCapture: false }));
    expect(made.status, made.text).toBe(200);
    const canceled = await rawCall("POST", `/payments/${String((made.json as { id: number }).id)}/cancel`, appHeaders);
    expect(canceled.status, canceled.text).toBe(200);
    expect(await auditOf(m.id, "payment_intents.cancel")).toEqual([{ actor: `application:${app.appId}`, details: expect.objectContaining({ surface: "icligo" }) }]);

    const user = await hsToken({ roles: ["merchant"], sub: "456", merchant: m.id });
    const bearer = { authorization: `Bearer ${user}` };
    const created = await rawCall("POST", "/api/v1/PaymentIntents", bearer, '{"amount": 12.00, "currency": "EUR"}');
    expect(created.status, created.text).toBe(201);
    const dropped = await rawCall("POST", `/api/v1/PaymentIntents/${String((created.json as { id: number }).id)}/cancel`, bearer);
    expect(dropped.status, dropped.text).toBe(200);
    const cancels = await auditOf(m.id, "payment_intents.cancel");
    expect(cancels.map((a) => a.details.surface)).toEqual(["icligo", "paymentintents"]);
    expect(cancels[1]?.actor).toBe("jwt:456");

    const backend = await post<{ payment_intent_id: string }>("/api/v1/payments/stripe/create-payment-intent/", { amount: 29.99, currency: "usd" }, m.opts);
    expect(backend.status, JSON.stringify(backend.body)).toBe(200);
    expect(await auditOf(m.id, "seed004.stripe.create_payment_intent")).toEqual([{ actor: expect.stringMatching(/^api_key:/), details: expect.objectContaining({ surface: "seed004" }) }]);
  });
});
