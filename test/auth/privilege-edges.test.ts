// Privilege edges: a key manages only keys with at most its own permissions; a refund's requester
// cannot approve it (four eyes); another merchant's ids are always missing (404 in the path, 400 resource_missing in a parameter, as at Stripe).
import { describe, expect, it } from "vitest";
import { approverOf, bearer, createIntent, expectError, get, hsToken, newMerchant, post, call, type PaymentIntentJson, type RefundJson } from "../helpers";

interface KeyJson {
  id: string;
  secret?: string;
  revoked?: boolean;
  status?: string;
}

describe("key management is bounded by the manager's own permissions", () => {
  it("a restricted key holding only keys.manage cannot revoke a secret key, nor a key with more than it holds", async () => {
    const m = await newMerchant("keys-edge");
    const full = await post<KeyJson>("/v1/api_keys", { type: "secret", name: "second full key" }, m.opts);
    expect(full.status).toBe(200);
    const manager = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage"] }, m.opts);
    const wider = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage", "payments.transactions.void"] }, m.opts);
    const narrow = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage"] }, m.opts);
    const asManager = { key: manager.body.secret ?? "" };
    expectError(await call("DELETE", `/v1/api_keys/${full.body.id}`, asManager), 403);
    expectError(await call("DELETE", `/v1/api_keys/${wider.body.id}`, asManager), 403);
    // The full key still works; the narrow one can be revoked by its peer.
    expect((await get("/v1/payment_intents?limit=1", { key: full.body.secret ?? "" })).status).toBe(200);
    expect((await call("DELETE", `/v1/api_keys/${narrow.body.id}`, asManager)).status).toBe(200);
    expectError(await get("/v1/api_keys", { key: narrow.body.secret ?? "" }), 401);
    // Nor can it mint what it does not hold.
    expectError(await post("/v1/api_keys", { type: "secret" }, asManager), 403);
    expectError(await post("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.void"] }, asManager), 403);
  });
});

describe("connector accounts decide where the money goes", () => {
  it("a restricted key holding keys.manage reads them but cannot add, change or remove one (403, nothing changes); a secret key can", async () => {
    const m = await newMerchant("connector-edge");
    const manager = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage"] }, m.opts);
    expect(manager.status, JSON.stringify(manager.body)).toBe(200);
    const asManager = { key: manager.body.secret ?? "" };
    const mine = await post<{ id: string; priority: number; credentials_hint?: string }>("/v1/connector_accounts", { connector: "sandbox", priority: 30 }, m.opts);
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);

    // An attacker's own Stripe account put first in the routing, or swapped into the merchant's account: refused before the body is read.
    expectError(await post("/v1/connector_accounts", { connector: "stripe", priority: 1, credentials: { secret_key: "sk_test_attackers_own_account" } }, asManager), 403);
    expectError(await post("/v1/connector_accounts", { nonsense: true }, asManager), 403);
    expectError(await post(`/v1/connector_accounts/${mine.body.id}`, { priority: 1 }, asManager), 403);
    expectError(await call("DELETE", `/v1/connector_accounts/${mine.body.id}`, asManager), 403);
    const listed = await get<{ data: { id: string; priority: number }[] }>("/v1/connector_accounts", asManager);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((a) => [a.id, a.priority])).toEqual([[mine.body.id, 30]]);

    // The secret key may.
    expect((await post(`/v1/connector_accounts/${mine.body.id}`, { priority: 20 }, m.opts)).status).toBe(200);
    expect((await call("DELETE", `/v1/connector_accounts/${mine.body.id}`, m.opts)).status).toBe(200);
  });
});

describe("refund approval needs a second person", () => {
  it("the principal that requested a refund cannot approve it; another can", async () => {
    const m = await newMerchant("four-eyes");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const requester = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "clerk" }));
    const big = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, requester);
    expect(big.body).toMatchObject({ status: "pending", requires_approval: true });
    expectError(await post(`/v1/admin/refunds/${big.body.id}:approve`, {}, requester), 403);
    expectError(await post(`/v1/admin/refunds/${big.body.id}/approve`, {}, requester), 403);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body.amount_refunded).toBe(0);
    // The merchant's own secret key asking and approving is the same principal too.
    const byKey = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1500 }, m.opts);
    expectError(await post(`/v1/admin/refunds/${byKey.body.id}:approve`, {}, m.opts), 403);
    // Nor can the key approve through another key it mints itself: approving takes a person's token.
    const minted = await post<{ secret?: string }>("/v1/api_keys", { type: "secret" }, m.opts);
    expect(minted.status, JSON.stringify(minted.body)).toBe(200);
    expectError(await post(`/v1/admin/refunds/${byKey.body.id}:approve`, {}, { key: minted.body.secret ?? "" }), 403);
    const lead = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve"], sub: "finance-lead" }));
    const approved = await post<RefundJson>(`/v1/admin/refunds/${big.body.id}:approve`, {}, lead);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "succeeded", approval: { status: "approved", actor: "jwt:finance-lead" } });
    // Withdrawing one's own request is allowed.
    expect((await post<RefundJson>(`/v1/admin/refunds/${byKey.body.id}/reject`, {}, m.opts)).body.status).toBe("canceled");
  });

  it("the requester's name in another case or width is the same person; the refund says who asked, and the credential who it is", async () => {
    const m = await newMerchant("four-eyes-case");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const as = async (sub: string) => bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve", "payments.transactions.void", "payments.transactions.view"], sub }));
    const alice = await as("admin.alice");
    const big = await post<RefundJson & { requested_by?: string }>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, alice);
    expect(big.body).toMatchObject({ status: "pending", requires_approval: true, requested_by: "jwt:admin.alice" });
    expect((await get<{ actor: string }>("/v1/credential", alice)).body.actor).toBe("jwt:admin.alice");
    for (const sub of ["ADMIN.ALICE", "Admin.Alice ", " admin.alice", "ａｄｍｉｎ.ａｌｉｃｅ", "admin.\u200balice", "admin.al\u00adice"]) {
      const refused = await post<{ error: { message: string } }>(`/v1/admin/refunds/${big.body.id}/approve`, {}, await as(sub));
      expectError(refused, 403);
      expect(refused.body.error.message).toContain("another person must approve it");
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body.amount_refunded).toBe(0);
    expect((await post<RefundJson>(`/v1/admin/refunds/${big.body.id}/approve`, {}, await as("bob"))).body.status).toBe("succeeded");
  });

  it("a token whose sub names no one (none, empty, blank, invisible) cannot approve, nor change the thresholds: two such tokens are not two people", async () => {
    const m = await newMerchant("four-eyes-anonymous");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = (await createIntent({ amount: 9000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const as = async (sub: string | null) => bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve", "keys.manage", "payments.transactions.void", "payments.transactions.view"], sub }));
    // Asked by a token with an empty sub, approved by one without: before, "jwt:" and "jwt:anonymous" passed for two people.
    const big = await post<RefundJson & { requested_by?: string }>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, await as(""));
    expect(big.body).toMatchObject({ status: "pending", requires_approval: true, requested_by: "jwt:anonymous" });
    for (const sub of [null, "", "   ", "\u200b"]) {
      const refused = await post<{ error: { message: string } }>(`/v1/admin/refunds/${big.body.id}/approve`, {}, await as(sub));
      expectError(refused, 403);
      expect(refused.body.error.message).toContain("names no one");
      expectError(await post("/v1/account", { settings: { refund_approval_thresholds: {} } }, await as(sub)), 403);
    }
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body.amount_refunded).toBe(0);
    // A named person approves it.
    expect((await post<RefundJson>(`/v1/admin/refunds/${big.body.id}/approve`, {}, await as("carol"))).body.status).toBe("succeeded");
  });
});

describe("a credential that may never approve is refused before any refund is looked up", () => {
  it("an API key (even with refunds.approve) and a token naming no one get 403 on approve whatever the id, not 404 for an unknown one", async () => {
    const m = await newMerchant("approve-order");
    const approverKey = (await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["refunds.approve"] }, m.opts)).body.secret ?? "";
    const anonymous = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve"], sub: null }));
    for (const path of ["/v1/admin/refunds/re_noSuchRefund/approve", "/v1/admin/refunds/re_noSuchRefund:approve", "/v1/admin/refunds/not-a-refund-id/approve"]) {
      expectError(await post(path, {}, m.opts), 403);
      expectError(await post(path, {}, { key: approverKey }), 403);
      expectError(await post(path, {}, anonymous), 403);
    }
    // A person with the permission is told the refund is missing; rejecting (withdrawing) is anyone's with the permission.
    const person = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve"], sub: "finance-lead" }));
    expectError(await post("/v1/admin/refunds/re_noSuchRefund/approve", {}, person), 404);
    expectError(await post("/v1/admin/refunds/re_noSuchRefund/reject", {}, { key: approverKey }), 404);
  });
});

describe("another merchant's ids are always missing", () => {
  it("merchant B cannot attach merchant A's customer to its own intent", async () => {
    const a = await newMerchant("owner-a");
    const b = await newMerchant("owner-b");
    const customerOfA = (await post<{ id: string }>("/v1/customers", { email: "a@example.com" }, a.opts)).body.id;
    // Named in a parameter: a 400 resource_missing, as an unknown id is (Stripe's status; only the path's object is a 404).
    expectError(await createIntent({ customer: customerOfA }, b.opts), 400, "resource_missing");
    const mine = (await createIntent({}, b.opts)).body;
    expectError(await post(`/v1/payment_intents/${mine.id}`, { customer: customerOfA }, b.opts), 400, "resource_missing");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${mine.id}`, b.opts)).body.customer).toBeNull();
    expectError(await post("/v1/subscriptions", { customer: customerOfA, items: [{ price: "price_doesnotexist0000" }] }, b.opts), 400, "resource_missing");
    // A's own use still works.
    expect((await createIntent({ customer: customerOfA }, a.opts)).status).toBe(200);
  });
});
