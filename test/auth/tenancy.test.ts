// The tenant-isolation matrix: merchant B, with its key and with its tokens, on every /v1 route
// that names one of merchant A's objects, gets 404 (400 resource_missing when a parameter names it); B's lists show none of A's objects; and nothing
// of A's changes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  approverOf,
  addConnector,
  bearer,
  call,
  createEndpoint,
  createIntent,
  expectError,
  get,
  hsToken,
  newMerchant,
  post,
  receiverHook,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
} from "../helpers";

async function snapshot(merchant: string): Promise<string> {
  // (Deliveries are left out: A's own events keep being delivered meanwhile.)
  const tables = ["payment_intents", "refunds", "webhook_endpoints", "connector_accounts", "api_keys"];
  const parts: unknown[] = [];
  for (const t of tables) parts.push((await env.DB.prepare(`SELECT * FROM ${t} WHERE merchant_id = ? ORDER BY id`).bind(merchant).all()).results);
  return JSON.stringify(parts);
}

describe("tenant isolation on every /v1 route", () => {
  it("merchant B's key and tokens get 404 on each of A's objects, see none in lists, and change nothing", async () => {
    const a = await newMerchant("tenant-a");
    const b = await newMerchant("tenant-b");
    await post(`/v1/account`, { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(a.opts));
    // Registered before the payments, so their events are delivered to it whenever the queues run.
    const endpoint = await createEndpoint(receiverHook("tenant").url, ["*"], a.opts);

    const open = (await createIntent({ payment_method: "pm_card_visa", description: "A's" }, a.opts)).body;
    const authorized = (await createIntent({ amount: 3000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, a.opts)).body;
    const paid = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, a.opts)).body;
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: paid.id, amount: 100 }, a.opts)).body;
    const waiting = (await post<RefundJson>("/v1/refunds", { payment_intent: paid.id, amount: 2000 }, a.opts)).body;
    expect(waiting).toMatchObject({ status: "pending", requires_approval: true });
    const failedRes = await createIntent({ payment_method: "pm_card_chargeDeclined", confirm: true }, a.opts);
    const failed = expectError(failedRes, 402).payment_intent as PaymentIntentJson;
    const account = await addConnector(a.opts, { connector: "sandbox" });
    const key = (await post<{ id: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, a.opts)).body;
    const event = await waitFor(async () => (await get<ListJson<{ id: string }>>(`/v1/events?payment_intent=${paid.id}`, a.opts)).body.data[0]);
    const delivery = await waitFor(async () => (await get<ListJson<{ id: string }>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, a.opts)).body.data[0]);
    await new Promise((r) => setTimeout(r, 500));
    const before = await snapshot(a.id);

    const bToken = await hsToken({ roles: ["merchant"], merchant: b.id });
    for (const [who, as] of [
      ["B's key", b.opts],
      ["B's token", bearer(bToken)],
    ] as [string, CallOptions][]) {
      const attempts: [string, Promise<{ status: number; body: unknown }>][] = [
        ["get intent", get(`/v1/payment_intents/${open.id}`, as)],
        ["transactions", get(`/v1/payment_intents/${open.id}/transactions`, as)],
        ["update", post(`/v1/payment_intents/${open.id}`, { description: "B was here" }, as)],
        ["confirm", post(`/v1/payment_intents/${open.id}/confirm`, {}, as)],
        ["cancel", post(`/v1/payment_intents/${open.id}/cancel`, {}, as)],
        ["capture", post(`/v1/payment_intents/${authorized.id}/capture`, {}, as)],
        ["get refund", get(`/v1/refunds/${refund.id}`, as)],
        ["get charge", get(`/v1/charges/${paid.latest_charge}`, as)],
        ["get event", get(`/v1/events/${event.id}`, as)],
        ["event deliveries", get(`/v1/events/${event.id}/deliveries`, as)],
        ["event retry", post(`/v1/events/${event.id}/retry`, {}, as)],
        ["get endpoint", get(`/v1/webhook_endpoints/${endpoint.id}`, as)],
        ["update endpoint", post(`/v1/webhook_endpoints/${endpoint.id}`, { url: "https://evil.example/h" }, as)],
        ["roll secret", post(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, {}, as)],
        ["endpoint deliveries", get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, as)],
        ["delete endpoint", call("DELETE", `/v1/webhook_endpoints/${endpoint.id}`, as)],
        ["retry delivery", post(`/v1/webhook_deliveries/${delivery.id}/retry`, {}, as)],
        ["get connector account", get(`/v1/connector_accounts/${account.id}`, as)],
        ["update connector account", post(`/v1/connector_accounts/${account.id}`, { disabled: true }, as)],
        ["delete connector account", call("DELETE", `/v1/connector_accounts/${account.id}`, as)],
        ["revoke A's key", call("DELETE", `/v1/api_keys/${key.id}`, as)],
        ["retry failed payment", post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, as)],
        ["resolve failed payment", post(`/v1/admin/failed_payments/${failed.id}/resolve`, { reason: "x" }, as)],
        ["dismiss failed payment", post(`/v1/admin/failed_payments/${failed.id}/dismiss`, { reason: "x" }, as)],
        ["approve refund", post(`/v1/admin/refunds/${waiting.id}:approve`, {}, as)],
        ["reject refund", post(`/v1/admin/refunds/${waiting.id}/reject`, {}, as)],
      ];
      for (const [name, pending] of attempts) {
        const res = await pending;
        // An API key never approves (a person does): refused as a key before any refund is looked up, whichever it names.
        const refusedAsKey = name === "approve refund" && who === "B's key";
        expect(res.status, `${who}: ${name} ${JSON.stringify(res.body)}`).toBe(refusedAsKey ? 403 : 404);
      }
      // A's objects named in a parameter: missing to B as unknown ones are, a 400 resource_missing (as at Stripe: only the path's object is a 404).
      const named: [string, Promise<{ status: number; body: unknown }>][] = [
        ["refund by intent", post("/v1/refunds", { payment_intent: paid.id }, as)],
        ["refund by charge", post("/v1/refunds", { charge: paid.latest_charge }, as)],
        ["refund by charge_id", post("/v1/refunds", { charge_id: paid.latest_charge }, as)],
      ];
      for (const [name, pending] of named) {
        const res = await pending;
        expect(res.status, `${who}: ${name} ${JSON.stringify(res.body)}`).toBe(400);
        expect((res.body as { error: { code?: string } }).error.code, `${who}: ${name}`).toBe("resource_missing");
      }
      const lists = await Promise.all([
        get("/v1/payment_intents?limit=100", as),
        get("/v1/payment_intents/search?query=amount%3E0", as),
        get("/v1/refunds?limit=100", as),
        get("/v1/charges?limit=100", as),
        get("/v1/events?limit=100", as),
        get("/v1/webhook_endpoints", as),
        get("/v1/connector_accounts", as),
        get("/v1/api_keys", as),
        get("/v1/admin/payments/search?limit=100", as),
        get("/v1/admin/failed_payments?resolution=all", as),
        get("/v1/admin/refunds", as),
        get("/v1/admin/psp_health", as),
      ]);
      const seen = JSON.stringify(lists.map((l) => l.body));
      for (const id of [open.id, authorized.id, paid.id, refund.id, waiting.id, failed.id, endpoint.id, account.id, key.id, event.id, delivery.id]) {
        expect(seen.includes(id), `${who} sees ${id}`).toBe(false);
      }
      expectError(await get(`/v1/admin/payments/search?merchant=${a.id}`, as), 403);
    }
    expect(await snapshot(a.id)).toBe(before);
  });
});
