// /v1/webhook_endpoints: CRUD, the secret shown once, rolling with an overlap, the SSRF guard,
// validation, tenancy, and Idempotency-Key kept in D1.
import { Webhook } from "standardwebhooks";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { WebhookEndpointJson } from "../../src/api/v1/webhook_endpoints";
import { IN_FLIGHT_LEASE_MS } from "../../src/api/v1/idempotency";
import { STRIPE_EVENT_TYPES } from "../../src/webhooks/stripe-event-types";
import {
  call,
  type CallOptions,
  createEndpoint,
  createIntent,
  expectError,
  get,
  newMerchant,
  post,
  receivedBy,
  receiverHook,
  seedMerchant,
  uniqueKey,
  waitFor,
  type ListJson,
} from "../helpers";

describe("webhook endpoints", () => {
  it("creates, retrieves, updates, lists and deletes; the secret is shown only at creation", async () => {
    const { opts } = await newMerchant("crud");
    const created = await post<WebhookEndpointJson>(
      "/v1/webhook_endpoints",
      { url: "https://merchant.example/webhooks", enabled_events: ["payment_intent.succeeded", "refund.created"], description: "main", metadata: { team: "payments" } },
      opts,
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ object: "webhook_endpoint", status: "enabled", url: "https://merchant.example/webhooks", livemode: false, description: "main", metadata: { team: "payments" } });
    expect(created.body.id).toMatch(/^we_/);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.enabled_events).toEqual(["payment_intent.succeeded", "refund.created"]);

    const fetched = await get<WebhookEndpointJson>(`/v1/webhook_endpoints/${created.body.id}`, opts);
    expect(fetched.body.secret).toBeUndefined();
    expect(fetched.body.delivery_stats).toMatchObject({ window_hours: 24, attempts: 0, success_rate: null });

    const updated = await post<WebhookEndpointJson>(`/v1/webhook_endpoints/${created.body.id}`, { enabled_events: ["*"], disabled: true, description: "", metadata: { team: "" } }, opts);
    expect(updated.body).toMatchObject({ enabled_events: ["*"], status: "disabled", description: null, metadata: {} });
    expect(updated.body.secret).toBeUndefined();
    const enabled = await post<WebhookEndpointJson>(`/v1/webhook_endpoints/${created.body.id}`, { disabled: false }, opts);
    expect(enabled.body).toMatchObject({ status: "enabled", disabled_reason: null });

    await createEndpoint("https://merchant.example/second", ["*"], opts);
    const list = await get<ListJson<WebhookEndpointJson>>("/v1/webhook_endpoints?limit=1", opts);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.has_more).toBe(true);
    expect(list.body.data[0]?.secret).toBeUndefined();

    const deleted = await call("DELETE", `/v1/webhook_endpoints/${created.body.id}`, opts);
    expect(deleted.body).toEqual({ id: created.body.id, object: "webhook_endpoint", deleted: true });
    expectError(await get(`/v1/webhook_endpoints/${created.body.id}`, opts), 404);
  });

  it("stores the secret sealed, never in clear", async () => {
    const { opts, id } = await newMerchant("sealed");
    const endpoint = await createEndpoint("https://merchant.example/sealed", ["*"], opts);
    const row = await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE merchant_id = ?").bind(id).first<{ secret: string }>();
    expect(row?.secret).toMatch(/^v1\./);
    expect(row?.secret).not.toContain((endpoint.secret ?? "").slice(6));
  });

  it("rolling the secret signs with both secrets during the overlap, then with the new one only", async () => {
    const { opts } = await newMerchant("roll");
    const hook = receiverHook("roll");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const rolled = await post<WebhookEndpointJson & { secret_rolled_previous_expires_at: number }>(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, { expires_in: 3600 }, opts);
    expect(rolled.status).toBe(200);
    expect(rolled.body.secret).toMatch(/^whsec_/);
    expect(rolled.body.secret).not.toBe(endpoint.secret);
    expect(rolled.body.secret_rolled_previous_expires_at).toBeGreaterThan(Date.now() / 1000 + 3500);
    await createIntent({}, opts);
    const [request] = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length ? r : undefined;
    });
    expect(request?.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [endpoint.secret ?? "", rolled.body.secret ?? ""]) expect(new Webhook(secret).verify(request?.body ?? "", request?.headers ?? {})).toBeTruthy();

    const rolledNow = await post<WebhookEndpointJson>(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, { expires_in: 0 }, opts);
    await createIntent({}, opts);
    const second = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length >= 2 ? r[1] : undefined;
    });
    expect(second.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(new Webhook(rolledNow.body.secret ?? "").verify(second.body, second.headers)).toBeTruthy();
    expect(() => new Webhook(rolled.body.secret ?? "").verify(second.body, second.headers)).toThrow();
    expectError(await post(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, { expires_in: 86_401 }, opts), 400);
  });

  it("rolling again within an overlap keeps every secret still in its own overlap signing; expires_in=0 ends them all", async () => {
    const { opts } = await newMerchant("roll-twice");
    const hook = receiverHook("roll-twice");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const roll = async (body: Record<string, unknown>) => (await post<WebhookEndpointJson>(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, body, opts)).body.secret ?? "";
    // The receiver still verifies with the first secret: the first roll's answer was lost, or its new
    // secret is not deployed yet, when the endpoint is rolled again.
    const first = await roll({ expires_in: 3600 });
    const second = await roll({ expires_in: 3600 });
    const delivered = async (n: number) =>
      waitFor(async () => {
        const r = await receivedBy(hook.name);
        return r.length >= n ? r[n - 1] : undefined;
      });
    await createIntent({}, opts);
    const one = await delivered(1);
    expect(one.headers["webhook-signature"]?.split(" ")).toHaveLength(3);
    for (const secret of [endpoint.secret ?? "", first, second]) expect(new Webhook(secret).verify(one.body, one.headers)).toBeTruthy();
    // Stored sealed, as the current secret is.
    const row = await env.DB.prepare("SELECT older_secrets FROM webhook_endpoints WHERE id = ?").bind(endpoint.id).first<{ older_secrets: string }>();
    expect(row?.older_secrets).toMatch(/"secret":"v1\./);
    expect(row?.older_secrets).not.toContain((endpoint.secret ?? "").slice(6));

    // Each keeps its own expiry: the oldest one's over, it no longer signs.
    await env.DB.prepare("UPDATE webhook_endpoints SET older_secrets = json_set(older_secrets, '$[0].expires', 1) WHERE id = ?").bind(endpoint.id).run();
    await createIntent({}, opts);
    const two = await delivered(2);
    expect(two.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(endpoint.secret ?? "").verify(two.body, two.headers)).toThrow();

    // expires_in=0 (a leak): only the new secret signs.
    await roll({ expires_in: 3600 });
    const last = await roll({ expires_in: 0 });
    await createIntent({}, opts);
    const three = await delivered(3);
    expect(three.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(new Webhook(last).verify(three.body, three.headers)).toBeTruthy();
  });

  it("guards against SSRF: live mode takes only public https URLs; test mode also loopback http", async () => {
    const { id } = await newMerchant("ssrf");
    const liveKey = `sk_live_${uniqueKey("ssrf").replace(/[^A-Za-z0-9]/g, "")}`;
    await seedMerchant(id, "ssrf", `key_live_${id}`, liveKey, true);
    const live = { key: liveKey };
    for (const url of [
      "http://merchant.example/hook",
      "https://127.0.0.1/hook",
      "https://localhost/hook",
      "https://10.1.2.3/hook",
      "https://192.168.0.10/hook",
      "https://172.16.5.5/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://[::1]/hook",
      "https://[fd00::1]/hook",
      "https://[::ffff:10.0.0.1]/hook",
      "https://[64:ff9b::a9fe:a9fe]/hook",
      "https://[fe80::1]/hook",
      "https://2130706433/hook",
      "https://0x7f.1/hook",
      "https://printer.local/hook",
      "https://user:pass@merchant.example/hook",
      "ftp://merchant.example/hook",
      "not a url",
    ]) {
      expectError(await post("/v1/webhook_endpoints", { url, enabled_events: ["*"] }, live), 400);
    }
    expect((await post("/v1/webhook_endpoints", { url: "https://hooks.merchant.example/payments", enabled_events: ["*"] }, live)).status).toBe(200);
    const test = (await newMerchant("ssrf-test")).opts;
    expect((await post("/v1/webhook_endpoints", { url: "http://127.0.0.1:9999/hook", enabled_events: ["*"] }, test)).status).toBe(200);
    expect((await post("/v1/webhook_endpoints", { url: "http://localhost:9999/hook", enabled_events: ["*"] }, test)).status).toBe(200);
    expectError(await post("/v1/webhook_endpoints", { url: "http://10.0.0.8/hook", enabled_events: ["*"] }, test), 400);
    expectError(await post("/v1/webhook_endpoints", { url: "https://169.254.169.254/", enabled_events: ["*"] }, test), 400);
  });

  it("validates enabled_events and the rest of the body", async () => {
    const { opts } = await newMerchant("validation");
    expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/h" }, opts), 400, "parameter_missing");
    expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/h", enabled_events: [] }, opts), 400);
    expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/h", enabled_events: ["payment_intent.exploded"] }, opts), 400);
    expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/h", enabled_events: ["*"], colour: "red" }, opts), 400, "parameter_unknown");
    expectError(await post("/v1/webhook_endpoints", { url: 42, enabled_events: ["*"] }, opts), 400);
    // api_version is accepted and ignored (events follow the merchant's default), but a version Stripe never had is a typo told, not dropped.
    const badVersion = expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/h", enabled_events: ["*"], api_version: "2026-13-45.endive" }, opts), 400);
    expect(badVersion.param).toBe("api_version");
    const known = await post<WebhookEndpointJson>("/v1/webhook_endpoints", { url: "https://merchant.example/version", enabled_events: ["*"], api_version: "2025-03-31.basil" }, opts);
    expect(known.status).toBe(200);
    const form = await call<WebhookEndpointJson>("POST", "/v1/webhook_endpoints", { ...opts, form: "url=https%3A%2F%2Fmerchant.example%2Fform&enabled_events[0]=charge.succeeded&enabled_events[1]=refund.created" });
    expect(form.body.enabled_events).toEqual(["charge.succeeded", "refund.created"]);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE url = 'https://merchant.example/h'").first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("accepts every event type Stripe defines, on create and update, kept as given; refuses names Stripe does not have", async () => {
    const { opts } = await newMerchant("stripe-event-types");
    // Types a Stripe integration subscribes to, most of which the gateway never sends.
    const stripes = ["invoice.payment_succeeded", "invoice.finalized", "invoice.upcoming", "charge.expired", "charge.dispute.created", "checkout.session.async_payment_succeeded", "setup_intent.succeeded", "price.deleted"];
    const created = await post<WebhookEndpointJson>("/v1/webhook_endpoints", { url: "https://merchant.example/stripe-types", enabled_events: stripes }, opts);
    expect(created.status).toBe(200);
    expect(created.body.enabled_events).toEqual(stripes);
    expect((await get<WebhookEndpointJson>(`/v1/webhook_endpoints/${created.body.id}`, opts)).body.enabled_events).toEqual(stripes);
    // The form stripe-node sends, on update; the gateway's own types stay accepted beside Stripe's.
    const updated = await call<WebhookEndpointJson>("POST", `/v1/webhook_endpoints/${created.body.id}`, {
      ...opts,
      form: "enabled_events[0]=invoice.payment_failed&enabled_events[1]=customer.subscription.trial_will_end&enabled_events[2]=icligo.payment.completed",
    });
    expect(updated.status).toBe(200);
    expect(updated.body.enabled_events).toEqual(["invoice.payment_failed", "customer.subscription.trial_will_end", "icligo.payment.completed"]);
    // Every name of Stripe's list, at once.
    const all = await post<WebhookEndpointJson>("/v1/webhook_endpoints", { url: "https://merchant.example/all-types", enabled_events: [...STRIPE_EVENT_TYPES] }, opts);
    expect(all.status).toBe(200);
    expect(all.body.enabled_events).toHaveLength(STRIPE_EVENT_TYPES.length);
    // Names Stripe does not have are still refused, on create and on update, and change nothing.
    for (const name of ["invoice.paid_twice", "Invoice.paid", "invoice.*", "payment_intent.exploded"]) {
      expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/refused", enabled_events: [name] }, opts), 400);
      expectError(await post(`/v1/webhook_endpoints/${created.body.id}`, { enabled_events: ["invoice.paid", name] }, opts), 400);
    }
    expect((await get<WebhookEndpointJson>(`/v1/webhook_endpoints/${created.body.id}`, opts)).body.enabled_events).toEqual(updated.body.enabled_events);
  });

  it("another merchant's endpoint is a 404 on every route and is left alone", async () => {
    const a = await newMerchant("owner");
    const b = await newMerchant("intruder");
    const endpoint = await createEndpoint("https://merchant.example/owned", ["*"], a.opts);
    for (const res of [
      await get(`/v1/webhook_endpoints/${endpoint.id}`, b.opts),
      await post(`/v1/webhook_endpoints/${endpoint.id}`, { url: "https://evil.example/steal" }, b.opts),
      await post(`/v1/webhook_endpoints/${endpoint.id}/roll_secret`, {}, b.opts),
      await call("DELETE", `/v1/webhook_endpoints/${endpoint.id}`, b.opts),
      await get(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, b.opts),
    ]) {
      expectError(res, 404);
    }
    expect((await get<ListJson<WebhookEndpointJson>>("/v1/webhook_endpoints", b.opts)).body.data).toEqual([]);
    expect((await get<WebhookEndpointJson>(`/v1/webhook_endpoints/${endpoint.id}`, a.opts)).body.url).toBe("https://merchant.example/owned");
  });

  it("replays a creation with the same Idempotency-Key, secret included; refuses other parameters", async () => {
    const { opts, id } = await newMerchant("idem");
    const key = uniqueKey();
    const body = { url: "https://merchant.example/idem", enabled_events: ["*"] };
    const first = await post<WebhookEndpointJson>("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: key });
    const second = await post<WebhookEndpointJson>("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: key });
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expectError(await post("/v1/webhook_endpoints", { ...body, url: "https://merchant.example/other" }, { ...opts, idempotencyKey: key }), 400, "idempotency_key_reused");
    const concurrent = await Promise.all(Array.from({ length: 8 }, () => post<WebhookEndpointJson>("/v1/webhook_endpoints", { ...body, url: "https://merchant.example/race" }, { ...opts, idempotencyKey: `${key}-race` })));
    const created = concurrent.filter((r) => r.status === 200);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of concurrent.filter((r) => r.status !== 200)) expectError(r, 409, "idempotency_key_in_use");
    const count = await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE merchant_id = ?").bind(id).first<{ n: number }>();
    expect(count?.n).toBe(2);
    // Validation failures store nothing: the key stays free.
    const fresh = uniqueKey();
    expectError(await post("/v1/webhook_endpoints", { url: "https://merchant.example/x" }, { ...opts, idempotencyKey: fresh }), 400);
    expect((await post("/v1/webhook_endpoints", { url: "https://merchant.example/x", enabled_events: ["*"] }, { ...opts, idempotencyKey: fresh })).status).toBe(200);
  });
});

describe("an Idempotency-Key whose request died in flight", () => {
  // A request that died between its claim and its answer (an evicted isolate) leaves its record in
  // flight: made here by claiming the key as the route does and never answering.
  async function leaveInFlight(merchantId: string, key: string, body: Record<string, unknown>, opts: CallOptions, agoMs: number): Promise<void> {
    // The route's own claim, then its record is put back to "in flight" as a dead request leaves it.
    const first = await post<WebhookEndpointJson>("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: key });
    expect(first.status).toBe(200);
    await call("DELETE", `/v1/webhook_endpoints/${first.body.id}`, opts);
    await env.DB.prepare("UPDATE idempotency_keys SET state = 'in_flight', response_status = NULL, response_body = NULL, created = ? WHERE merchant_id = ? AND key = ?")
      .bind(Date.now() - agoMs, merchantId, key)
      .run();
  }

  it("is 409 within the lease, and taken over by the same request past it (not for a day); other parameters stay refused", async () => {
    const { opts, id } = await newMerchant("idem-lease");
    const body = { url: "https://merchant.example/lease", enabled_events: ["*"] };
    const recent = uniqueKey();
    await leaveInFlight(id, recent, body, opts, IN_FLIGHT_LEASE_MS - 60_000);
    expectError(await post("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: recent }), 409, "idempotency_key_in_use");

    const stale = uniqueKey();
    await leaveInFlight(id, stale, body, opts, IN_FLIGHT_LEASE_MS + 1000);
    expectError(await post("/v1/webhook_endpoints", { ...body, url: "https://merchant.example/other" }, { ...opts, idempotencyKey: stale }), 400, "idempotency_key_reused");
    const retried = await post<WebhookEndpointJson>("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: stale });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    // It ran (a new endpoint), and its answer is now the key's.
    const again = await post<WebhookEndpointJson>("/v1/webhook_endpoints", body, { ...opts, idempotencyKey: stale });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(retried.body.id);
  });
});
