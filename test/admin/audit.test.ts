// The audit log records each money-moving call once (replays are not recorded twice), admin actions
// and key changes, with who, what, when, the request id and the status before and after; no entry
// holds a secret, a token or card data. Admin and support read it; merchants' keys cannot.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { approverOf, bearer, createEndpoint, createIntent, expectError, get, hsToken, newMerchant, post, receiverHook, uniqueKey, waitFor, type PaymentIntentJson, type RefundJson } from "../helpers";

interface AuditJson {
  action: string;
  actor: string;
  object_id: string | null;
  request_id: string | null;
  idempotency_key: string | null;
  status_before: string | null;
  status_after: string | null;
  http_status: number;
  merchant: string | null;
  details: Record<string, unknown>;
}

describe("audit log", () => {
  it("records each money-moving call once, with actor, request, and status before and after", async () => {
    const { opts, id: merchant } = await newMerchant("audited");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const pi = (await createIntent({ amount: 4000, payment_method: "pm_card_visa", capture_method: "manual" }, opts)).body;
    const confirmKey = uniqueKey();
    await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { ...opts, idempotencyKey: confirmKey, headers: { "x-request-id": "trace-confirm-1" } });
    await post(`/v1/payment_intents/${pi.id}/confirm`, {}, { ...opts, idempotencyKey: confirmKey });
    await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 3000 }, opts);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500 }, opts)).body;
    const declined = await createIntent({ amount: 700, payment_method: "pm_card_chargeDeclined", confirm: true }, opts);
    expect(declined.status).toBe(402);

    const entries = await waitFor(async () => {
      const res = await get<{ data: AuditJson[] }>(`/v1/admin/audit_log?merchant=${merchant}&limit=100`, admin);
      return res.body.data.length >= 4 ? res.body.data : undefined;
    });
    const forIntent = entries.filter((e) => e.object_id === pi.id || e.object_id === refund.id).reverse();
    expect(forIntent.map((e) => [e.action, e.status_before, e.status_after, e.http_status])).toEqual([
      ["payment_intents.confirm", "requires_confirmation", "requires_capture", 200],
      ["payment_intents.capture", "requires_capture", "succeeded", 200],
      ["refunds.create", null, "succeeded", 200],
    ]);
    const confirm = forIntent[0];
    expect(confirm).toMatchObject({ request_id: "trace-confirm-1", idempotency_key: confirmKey, merchant });
    expect(confirm?.actor).toMatch(/^api_key:key_/);
    const decline = entries.find((e) => e.action === "payment_intents.create_and_confirm");
    expect(decline).toMatchObject({ http_status: 402, status_after: "requires_payment_method", details: expect.objectContaining({ error_code: "card_declined" }) });

    const filtered = await get<{ data: AuditJson[] }>(`/v1/admin/audit_log?object_id=${pi.id}&action=payments_intents.none`, admin);
    expect(filtered.body.data).toEqual([]);
    const byAction = await get<{ data: AuditJson[] }>(`/v1/admin/audit_log?merchant=${merchant}&action=payment_intents.capture&created_gte=${new Date().toISOString().slice(0, 10)}`, admin);
    expect(byAction.body.data).toHaveLength(1);
  });

  it("records admin actions and key changes, pages with a cursor, and holds no secret", async () => {
    const { opts, id: merchant } = await newMerchant("audited-keys");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops@example.com" }));
    const key = (await post<{ id: string; secret: string }>("/v1/api_keys", { name: "ci" }, opts)).body;
    await post("/v1/connector_accounts", { connector: "stripe", credentials: { secret_key: "sk_test_audit_secret_9999" }, webhook_secret: "whsec_audit_secret" }, opts);
    await post("/v1/webhook_endpoints", { url: "https://merchant.example/h", enabled_events: ["*"] }, opts);
    await post(`/v1/admin/merchants/${merchant}`, { settings: { refund_approval_thresholds: { eur: 5000 } } }, admin);
    await createIntent({ payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2040, cvc: "321" } }, confirm: true }, opts);
    const page1 = await waitFor(async () => {
      const res = await get<{ data: AuditJson[]; has_more: boolean; next_cursor: string | null }>(`/v1/admin/audit_log?merchant=${merchant}&limit=2`, admin);
      return res.body.has_more ? res.body : undefined;
    });
    const page2 = await get<{ data: AuditJson[]; next_cursor: string | null }>(`/v1/admin/audit_log?merchant=${merchant}&limit=10&cursor=${page1.next_cursor}`, admin);
    const all = [...page1.data, ...page2.body.data];
    expect(all.map((e) => e.action).sort()).toEqual(["api_keys.create", "connector_accounts.create", "merchants.update", "payment_intents.create_and_confirm", "webhook_endpoints.create"]);
    expect(all.find((e) => e.action === "merchants.update")?.actor).toBe("jwt:ops@example.com");

    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM audit_log").all()).results);
    for (const secret of [key.secret, "sk_test_audit_secret_9999", "whsec_audit_secret", "4242424242424242", '"321"', "sk_test_merchant_a"]) expect(rows).not.toContain(secret);
    expect(rows).not.toMatch(/whsec_[A-Za-z0-9+/]{20}/);
  });

  it("a refused approval is about the refund it named (its id, its amount), as the approval is", async () => {
    const m = await newMerchant("audit-four-eyes");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const requester = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "clerk" }));
    const held = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, requester)).body;
    expect(held.status).toBe("pending");
    expectError(await post(`/v1/admin/refunds/${held.id}:approve`, {}, requester), 403);
    const lead = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["refunds.approve"], sub: "finance-lead" }));
    expect((await post(`/v1/admin/refunds/${held.id}:approve`, {}, lead)).status).toBe(200);
    const entries = await waitFor(async () => {
      const res = await get<{ data: AuditJson[] }>(`/v1/admin/audit_log?object_id=${held.id}&limit=20`, admin);
      return res.body.data.filter((e) => e.action === "refunds.approve").length >= 2 ? res.body.data : undefined;
    });
    const approvals = entries.filter((e) => e.action === "refunds.approve").map((e) => ({ actor: e.actor, http: e.http_status, refundAmount: e.details.refund_amount, before: e.status_before }));
    expect(approvals).toEqual(
      expect.arrayContaining([
        { actor: "jwt:clerk", http: 403, refundAmount: 3000, before: "pending" },
        { actor: "jwt:finance-lead", http: 200, refundAmount: 3000, before: "pending" },
      ]),
    );
  });

  it("re-sending a delivery or an event is recorded (who, which delivery or event)", async () => {
    const m = await newMerchant("audit-resend");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    await createEndpoint(receiverHook("audit-resend").url, ["payment_intent.succeeded"], m.opts);
    await createIntent({ amount: 1200, payment_method: "pm_card_visa", confirm: true }, m.opts);
    // Its first attempt done (a delivery being attempted is not re-sent: 400 delivery_in_progress).
    const delivery = await waitFor(async () => (await env.DB.prepare("SELECT id, event_id FROM webhook_deliveries WHERE merchant_id = ? AND status = 'succeeded'").bind(m.id).first<{ id: string; event_id: string }>()) ?? undefined);
    // A delivery being attempted is not re-sent (400 delivery_in_progress): each re-send waits for the attempt before it.
    const resend = (path: string) => waitFor(async () => {
      const res = await post(path, {}, m.opts);
      if (res.status !== 200) expectError(res, 400, "delivery_in_progress");
      return res.status === 200 ? res : undefined;
    });
    await resend(`/v1/webhook_deliveries/${delivery.id}/retry`);
    await resend(`/v1/events/${delivery.event_id}/retry`);
    const of = async (id: string) => waitFor(async () => {
      const res = await get<{ data: AuditJson[] }>(`/v1/admin/audit_log?object_id=${id}`, admin);
      return res.body.data.length > 0 ? res.body.data : undefined;
    });
    expect((await of(delivery.id)).map((e) => [e.action, e.http_status, e.details.event])).toEqual([["webhook_deliveries.retry", 200, delivery.event_id]]);
    expect((await of(delivery.event_id)).map((e) => [e.action, e.http_status, e.details.deliveries])).toEqual([["events.retry", 200, 1]]);
  });

  it("is read by admin and support only", async () => {
    const { opts } = await newMerchant("audit-readers");
    expectError(await get("/v1/admin/audit_log", opts), 403);
    expectError(await get("/v1/admin/audit_log", bearer(await hsToken({ roles: ["merchant"] }))), 403);
    expect((await get("/v1/admin/audit_log", bearer(await hsToken({ roles: ["support"], merchant: null })))).status).toBe(200);
    expectError(await get("/v1/admin/audit_log?cursor=garbage", bearer(await hsToken({ roles: ["admin"], merchant: null }))), 400);
    const pi = (await createIntent({}, opts)).body as PaymentIntentJson;
    expect(pi.id).toMatch(/^pi_/);
  });
});
