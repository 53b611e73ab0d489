// A credential narrowed by its `permissions` (a token's list, a restricted key's) regains no power on
// any route or surface: not through a route that checks a role only (the admin routes, seed 000's
// reads), not through another surface's route for the same act (seed 000's cancel), and not through
// an expand (an invoice's payment intent). (Seed 002's retry of a failed payment needs the
// document's payments.transactions.void alone: test/api/pos/conformance.test.ts.) Each refusal changes nothing; the same call with
// the permission it needs goes through.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, expectError, get, hsToken, MERCHANT_A, newMerchant, ok, post, type CallOptions, type PaymentIntentJson } from "../helpers";

const merchantCount = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM merchants").first<{ n: number }>())?.n ?? 0;

describe("an admin or support token narrowed by its permissions", () => {
  it("creates no merchant (it would mint a secret key) and changes none unless it holds what that needs; reads the audit log and merchants only with payments.transactions.view", async () => {
    const { id: merchant } = await newMerchant("narrowed-admin");
    const narrowed = bearer(await hsToken({ roles: ["admin"], merchant: null, permissions: ["billing.view"] }));
    const before = await merchantCount();
    const created = await post("/v1/admin/merchants", { name: "Made by a narrowed token" }, narrowed);
    expect(expectError(created, 403).message).toContain("every permission");
    expect(await merchantCount()).toBe(before);
    // Renaming a merchant or changing its settings is keys.manage's power, as POST /v1/account is.
    expectError(await post(`/v1/admin/merchants/${merchant}`, { name: "Renamed" }, narrowed), 403);
    expectError(await get("/v1/admin/audit_log?limit=1", narrowed), 403);
    expectError(await get("/v1/admin/merchants?limit=1", narrowed), 403);
    const support = bearer(await hsToken({ roles: ["support"], merchant: null, permissions: ["billing.view"] }));
    expectError(await get("/v1/admin/audit_log?limit=1", support), 403);
    expectError(await get("/v1/admin/merchants?limit=1", support), 403);

    // A token holding all but one permission is still narrowed: no merchant either.
    const allButOne = bearer(await hsToken({ roles: ["admin"], merchant: null, permissions: ["payments.transactions.create", "payments.transactions.void", "payments.transactions.view", "payments.methods.manage", "payments.methods.view", "billing.manage", "billing.view", "refunds.approve", "webhooks.manage"] }));
    expectError(await post("/v1/admin/merchants", { name: "Nope" }, allButOne), 403);
    expect(await merchantCount()).toBe(before);
    const keysOnly = bearer(await hsToken({ roles: ["admin"], merchant: null, permissions: ["keys.manage"] }));
    const renamed = await post<{ name: string }>(`/v1/admin/merchants/${merchant}`, { name: "Renamed by keys.manage" }, keysOnly);
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Renamed by keys.manage");

    // The full roles still do all of it.
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const made = await post<{ merchant: { id: string }; api_key: { secret: string } }>("/v1/admin/merchants", { name: "Made by an admin" }, admin);
    expect(made.status).toBe(200);
    expect(await merchantCount()).toBe(before + 1);
    expect((await get("/v1/admin/audit_log?limit=1", admin)).status).toBe(200);
    const fullSupport = bearer(await hsToken({ roles: ["support"], merchant: null }));
    expect((await get("/v1/admin/audit_log?limit=1", fullSupport)).status).toBe(200);
    expect((await get("/v1/admin/merchants?limit=1", fullSupport)).status).toBe(200);
  });
});

async function restrictedKey(opts: CallOptions, permissions: string[]): Promise<CallOptions> {
  const key = await ok(post<{ secret: string }>("/v1/api_keys", { type: "restricted", permissions }, opts));
  return { key: key.secret };
}

const BASE = "/api/v1/PaymentIntents";

describe("seed 000 (/api/v1/PaymentIntents) holds its readers and shoppers to their permissions", () => {
  it("support or admin narrowed away from payments.transactions.view reads no payment (and no client secret); a customer token narrowed to viewing cancels nothing", async () => {
    const shopper = await hsToken({ roles: ["customer"], customer: "7421", sub: "narrowed-shopper" });
    const created = await post<{ id: number; status: string }>(BASE, { amount: 15, currency: "EUR", paymentGatewayId: 1, description: "Narrowed" }, bearer(shopper));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    for (const roles of [["support"], ["admin"]]) {
      const narrowed = { ...bearer(await hsToken({ roles, merchant: null, permissions: ["billing.view"] })), headers: { "merchant-id": MERCHANT_A } };
      for (const path of [BASE, `${BASE}/${id}`, `${BASE}/customer/7421`]) {
        const res = await get(path, narrowed);
        expect(res.status, `${roles[0]} ${path}`).toBe(403);
        expect(JSON.stringify(res.body)).not.toContain("clientSecret");
      }
      const full = { ...bearer(await hsToken({ roles, merchant: null })), headers: { "merchant-id": MERCHANT_A } };
      expect((await get(`${BASE}/${id}`, full)).status).toBe(200);
    }
    const viewOnly = await hsToken({ roles: ["customer"], customer: "7421", sub: "narrowed-shopper", permissions: ["payments.transactions.view"] });
    expect((await post(`${BASE}/${id}/cancel`, {}, bearer(viewOnly))).status).toBe(403);
    const still = await get<{ status: string }>(`${BASE}/${id}`, { ...bearer(await hsToken({ roles: ["support"], merchant: null })), headers: { "merchant-id": MERCHANT_A } });
    expect(still.body.status).toBe(created.body.status);
    expect(still.body.status).not.toBe("Canceled");
    const canceled = await post<{ status: string }>(`${BASE}/${id}/cancel`, {}, bearer(shopper));
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe("Canceled");
  });
});

describe("an invoice's payment intent, expanded", () => {
  it("needs payments.transactions.view, as every other expand: a billing.view key gets 403, not the intent and its client_secret", async () => {
    const m = await newMerchant("narrowed-expand");
    const customer = await ok(post<{ id: string }>("/v1/customers", { email: "narrowed@example.com" }, m.opts));
    await ok(post(`/v1/customers/${customer.id}/payment_methods`, { payment_method: "tok_visa", set_default: true }, m.opts));
    const price = await ok(post<{ id: string }>("/v1/prices", { unit_amount: 1999, currency: "usd", recurring: { interval: "month" }, product_data: { name: "Plan" } }, m.opts));
    const sub = await ok(post<{ id: string; latest_invoice: string }>("/v1/subscriptions", { customer: customer.id, price: price.id }, m.opts));
    const billingView = await restrictedKey(m.opts, ["billing.view"]);
    for (const path of [
      `/v1/invoices/${sub.latest_invoice}?expand[]=payment_intent`,
      `/v1/invoices/${sub.latest_invoice}?expand[]=confirmation_secret`,
      `/v1/invoices?limit=3&expand[]=data.payment_intent`,
      `/v1/subscriptions/${sub.id}?expand[]=latest_invoice.payment_intent`,
      `/v1/subscriptions/${sub.id}?expand[]=latest_invoice.confirmation_secret`,
    ]) {
      const res = await get(path, billingView);
      expect(expectError(res, 403).message, path).toContain("payments.transactions.view");
      expect(JSON.stringify(res.body), path).not.toContain("_secret_");
    }
    // Without the expand, billing.view reads the invoice; with the permission, the expand works.
    expect((await get(`/v1/invoices/${sub.latest_invoice}`, billingView)).status).toBe(200);
    const both = await restrictedKey(m.opts, ["billing.view", "payments.transactions.view"]);
    const expanded = await ok(get<{ payment_intent: PaymentIntentJson }>(`/v1/invoices/${sub.latest_invoice}?expand[]=payment_intent`, both));
    expect(expanded.payment_intent.object).toBe("payment_intent");
  });
});
