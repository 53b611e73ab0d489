// /v1/events: retrieve and list with filters, deliveries per event, re-sending an event, and the
// retention sweep of the cron trigger.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventJson } from "../../src/core/events";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";
import worker from "../../src/index";
import {
  createEndpoint,
  createIntent,
  expectError,
  get,
  newMerchant,
  ok,
  post,
  receivedBy,
  receiverHook,
  succeededIntent,
  waitFor,
  type CallOptions,
  type ListJson,
} from "../helpers";

async function allEvents(opts: CallOptions, query = "", count = 1): Promise<EventJson[]> {
  return waitFor(async () => {
    const res = await get<ListJson<EventJson>>(`/v1/events?limit=100${query}`, opts);
    return res.body.data.length >= count ? res.body.data : undefined;
  }, 15_000);
}

describe("events API", () => {
  it("lists newest first with type, types[], wildcard and payment_intent filters; retrieves by id", async () => {
    const { opts } = await newMerchant("events-list");
    const pi = await succeededIntent(1200, opts);
    await post("/v1/refunds", { payment_intent: pi.id, amount: 200 }, opts);
    const events = await allEvents(opts, "", 5);
    expect(events.map((e) => e.type)).toEqual(["charge.refunded", "refund.created", "payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]);
    expect(events.every((e) => e.object === "event" && e.livemode === false)).toBe(true);

    const byType = await get<ListJson<EventJson>>("/v1/events?type=payment_intent.succeeded", opts);
    expect(byType.body.data.map((e) => e.type)).toEqual(["payment_intent.succeeded"]);
    const wildcard = await get<ListJson<EventJson>>("/v1/events?type=charge.*", opts);
    expect(wildcard.body.data.map((e) => e.type)).toEqual(["charge.refunded", "charge.succeeded"]);
    const several = await get<ListJson<EventJson>>("/v1/events?types[]=refund.created&types[]=payment_intent.created", opts);
    expect(several.body.data.map((e) => e.type)).toEqual(["refund.created", "payment_intent.created"]);
    const mine = await get<ListJson<EventJson>>(`/v1/events?payment_intent=${pi.id}`, opts);
    expect(mine.body.data).toHaveLength(5);
    const page = await get<ListJson<EventJson>>(`/v1/events?limit=2&starting_after=${events[1]?.id}`, opts);
    expect(page.body.data.map((e) => e.id)).toEqual([events[2]?.id, events[3]?.id]);

    const one = await get<EventJson>(`/v1/events/${events[2]?.id}`, opts);
    expect(one.body).toMatchObject({ id: events[2]?.id, event_id: events[2]?.id, type: "payment_intent.succeeded", pending_webhooks: 0 });
    expect(one.body.data.object).toMatchObject({ id: pi.id, status: "succeeded" });
    expect(one.body.created_ms).toBeGreaterThan(0);
  });

  it("validates filters and answers 404 across merchants", async () => {
    const a = await newMerchant("events-a");
    const b = await newMerchant("events-b");
    await createIntent({}, a.opts);
    const [event] = await allEvents(a.opts);
    expectError(await get(`/v1/events/${event?.id}`, b.opts), 404);
    expectError(await get(`/v1/events/${event?.id}/deliveries`, b.opts), 404);
    expectError(await post(`/v1/events/${event?.id}/retry`, {}, b.opts), 404);
    expect((await get<ListJson<EventJson>>("/v1/events", b.opts)).body.data).toEqual([]);
    expectError(await get("/v1/events?type=DROP TABLE", a.opts), 400);
    expectError(await get("/v1/events?type=a&types[]=b", a.opts), 400);
    expectError(await get("/v1/events/evt_nope", a.opts), 404);
  });

  it("delivery_success: false lists the events with a delivery pending or failed (newest first, paged, by type), true the others", async () => {
    const { opts } = await newMerchant("events-delivery-success");
    await createEndpoint(receiverHook("delivery-ok").url, ["*"], opts);
    await createEndpoint(receiverHook("delivery-failing", "status=500").url, ["payment_intent.created"], opts);
    const intents = [];
    for (const amount of [1100, 1200, 1300]) intents.push((await createIntent({ amount }, opts)).body.id);
    await succeededIntent(1400, opts);
    const events = await allEvents(opts, "", 6);
    const created = events.filter((e) => e.type === "payment_intent.created").map((e) => e.id);
    expect(created).toHaveLength(4);
    // Every delivery to the working endpoint has gone through.
    await waitFor(async () => {
      const all = await Promise.all(events.map((e) => get<ListJson<WebhookDeliveryJson>>(`/v1/events/${e.id}/deliveries`, opts)));
      return all.every((d) => d.body.data.some((x) => x.status === "succeeded")) ? true : undefined;
    }, 20_000, "the deliveries to the working endpoint");
    const undelivered = await get<ListJson<EventJson>>("/v1/events?delivery_success=false", opts);
    expect(undelivered.status, JSON.stringify(undelivered.body)).toBe(200);
    expect(undelivered.body.data.map((e) => e.id)).toEqual(created);
    const first = await get<ListJson<EventJson>>("/v1/events?delivery_success=false&limit=3", opts);
    expect(first.body.has_more).toBe(true);
    const rest = await get<ListJson<EventJson>>(`/v1/events?delivery_success=false&limit=3&starting_after=${first.body.data[2]?.id}`, opts);
    expect([...first.body.data, ...rest.body.data].map((e) => e.id)).toEqual(created);
    expect(rest.body.has_more).toBe(false);
    const back = await get<ListJson<EventJson>>(`/v1/events?delivery_success=false&limit=2&ending_before=${created[3]}`, opts);
    expect(back.body.data.map((e) => e.id)).toEqual(created.slice(1, 3));
    expect((await get<ListJson<EventJson>>("/v1/events?delivery_success=false&type=charge.succeeded", opts)).body.data).toEqual([]);
    expect((await get<ListJson<EventJson>>("/v1/events?delivery_success=false&types[]=payment_intent.*", opts)).body.data.map((e) => e.id)).toEqual(created);
    const delivered = await get<ListJson<EventJson>>("/v1/events?delivery_success=true&limit=100", opts);
    expect(delivered.body.data.map((e) => e.id)).toEqual(events.filter((e) => !created.includes(e.id)).map((e) => e.id));
    expectError(await get(`/v1/events?delivery_success=false&payment_intent=${intents[0]}`, opts), 400);
    expectError(await get("/v1/events?delivery_success=maybe", opts), 400);
  }, 40_000);

  it("lists an event's deliveries and re-sends it on demand, also to an endpoint that had none", async () => {
    const { opts } = await newMerchant("events-retry");
    const first = receiverHook("first");
    const endpoint = await createEndpoint(first.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const [event] = await allEvents(opts);
    const delivered = await waitFor(async () => {
      const d = await get<ListJson<WebhookDeliveryJson>>(`/v1/events/${event?.id}/deliveries`, opts);
      return d.body.data[0]?.status === "succeeded" ? d.body.data : undefined;
    });
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.webhook_endpoint).toBe(endpoint.id);

    const retried = await post<ListJson<WebhookDeliveryJson>>(`/v1/events/${event?.id}/retry`, {}, opts);
    expect(retried.status).toBe(200);
    await waitFor(async () => (await receivedBy(first.name)).length === 2, 15_000, "the re-sent event");

    const later = receiverHook("later");
    const laterEndpoint = await createEndpoint(later.url, ["*"], opts);
    const toLater = await post<ListJson<WebhookDeliveryJson>>(`/v1/events/${event?.id}/retry`, { webhook_endpoint: laterEndpoint.id }, opts);
    expect(toLater.body.data.map((d) => d.webhook_endpoint)).toEqual([laterEndpoint.id]);
    const [request] = await waitFor(async () => {
      const r = await receivedBy(later.name);
      return r.length ? r : undefined;
    });
    expect(request?.headers["webhook-id"]).toBe(event?.id);
    const refundsOnly = await createEndpoint(receiverHook("refunds").url, ["refund.created"], opts);
    expectError(await post(`/v1/events/${event?.id}/retry`, { webhook_endpoint: refundsOnly.id }, opts), 400, "webhook_endpoint_not_subscribed");
    await post(`/v1/webhook_endpoints/${laterEndpoint.id}`, { disabled: true }, opts);
    expectError(await post(`/v1/events/${event?.id}/retry`, { webhook_endpoint: laterEndpoint.id }, opts), 400, "webhook_endpoint_disabled");
  });

  it("an event re-sent before its fan-out keeps the delivery's retries (the fan-out keeps the row it finds)", async () => {
    const m = await newMerchant("events-retry-unfanned");
    const hook = receiverHook("events-retry-unfanned", "status=500");
    const endpoint = await createEndpoint(hook.url, ["*"], m.opts);
    const created = Date.now() - 120_000;
    const id = `evt_unfanned${Date.now()}`;
    const record = { id, type: "invoice.created", created, merchantId: m.id, livemode: false, object: { id: "in_unfanned", object: "invoice" }, requestId: null, idempotencyKey: null };
    // As when its hand-over to the queue failed: stored, not fanned out yet.
    await env.DB.prepare("INSERT INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) VALUES (?, ?, 0, ?, NULL, 0, ?, ?)").bind(id, m.id, record.type, created, JSON.stringify(record)).run();
    expect((await post(`/v1/events/${id}/retry`, { webhook_endpoint: endpoint.id }, m.opts)).status).toBe(200);
    const row = await env.DB.prepare("SELECT retrying FROM webhook_deliveries WHERE event_id = ? AND endpoint_id = ?").bind(id, endpoint.id).first<{ retrying: number }>();
    expect(row?.retrying).toBe(1);
    // An event already fanned out: a re-send to an endpoint that had no delivery is one attempt only.
    const pi = await succeededIntent(800, m.opts);
    const fanned = await waitFor(async () => (await get<ListJson<EventJson>>(`/v1/events?payment_intent=${pi.id}&type=payment_intent.succeeded`, m.opts)).body.data[0], 15_000);
    const later = await createEndpoint(hook.url, ["*"], m.opts);
    expect((await post(`/v1/events/${fanned.id}/retry`, { webhook_endpoint: later.id }, m.opts)).status).toBe(200);
    const once = await env.DB.prepare("SELECT retrying FROM webhook_deliveries WHERE event_id = ? AND endpoint_id = ?").bind(fanned.id, later.id).first<{ retrying: number }>();
    expect(once?.retrying).toBe(0);
  });

  it("the cron sweep deletes events past the retention window, with their deliveries", async () => {
    const { opts, id } = await newMerchant("retention");
    await createEndpoint(receiverHook("retention").url, ["*"], opts);
    await createIntent({}, opts);
    const [event] = await allEvents(opts);
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT status FROM webhook_deliveries WHERE event_id = ?").bind(event?.id).first<{ status: string }>();
      return row?.status === "succeeded";
    });
    // 31 days later, the event is past the 30-day window.
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 31 * 86_400_000, cron: "* * * * *" }), env);
    expectError(await get(`/v1/events/${event?.id}`, opts), 404);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE merchant_id = ?").bind(id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("the cron sweep re-queues a delivery whose queue message was lost", async () => {
    const { opts, id } = await newMerchant("lost-message");
    const hook = receiverHook("lost");
    await createIntent({}, opts);
    const [event] = await allEvents(opts);
    const endpoint = await createEndpoint(hook.url, ["*"], opts);
    const past = Date.now() - 5 * 60_000;
    // As if the consumer had died after creating the delivery and before queueing it.
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, merchant_id, livemode, event_id, event_type, endpoint_id, status, attempts, retrying, next_attempt_at, created, updated) VALUES (?, ?, 0, ?, ?, ?, 'pending', 0, 1, ?, ?, ?)",
    )
      .bind("wd_lostmessage000000000001", id, event?.id, event?.type, endpoint.id, past, past, past)
      .run();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
    const [request] = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length ? r : undefined;
    });
    expect(request?.headers["webhook-id"]).toBe(event?.id);
  });
});

describe("events show their object: reading one needs what reading that object needs", () => {
  it("a key that may read payments but not customers or billing does not read customer, card or billing events", async () => {
    const m = await newMerchant("events-perm");
    const restricted = async (permissions: string[]) => ({ key: (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, m.opts)).body.secret ?? "" });
    const payments = await restricted(["payments.transactions.view"]);
    const cards = await restricted(["payments.transactions.view", "payments.methods.view"]);
    const customer = (await post<{ id: string }>("/v1/customers", { email: "private@example.com", payment_method: "pm_card_visa" }, m.opts)).body.id;
    const product = (await post<{ id: string }>("/v1/products", { name: "Plan" }, m.opts)).body.id;
    const pi = (await createIntent({ amount: 700, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const all = await waitFor(async () => {
      const types = (await get<ListJson<EventJson>>("/v1/events?limit=100", m.opts)).body.data;
      const seen = new Set(types.map((e) => e.type));
      return ["customer.created", "payment_method.attached", "product.created", "payment_intent.succeeded"].every((t) => seen.has(t)) ? types : undefined;
    });
    const customerEvent = all.find((e) => e.type === "customer.created")?.id ?? "";
    const productEvent = all.find((e) => e.type === "product.created")?.id ?? "";

    const seenBy = async (opts: CallOptions, query = "") => (await get<ListJson<EventJson>>(`/v1/events?limit=100${query}`, opts)).body.data.map((e) => e.type);
    const byPayments = await seenBy(payments);
    expect(byPayments).toContain("payment_intent.succeeded");
    expect(byPayments.filter((t) => /^(customer|payment_method|product|price|invoice)\./.test(t))).toEqual([]);
    expect(await seenBy(payments, "&type=customer.created")).toEqual([]);
    expect(await seenBy(payments, "&type=customer.*")).toEqual([]);
    expect(JSON.stringify((await get("/v1/events?limit=100", payments)).body)).not.toContain("private@example.com");
    expectError(await get(`/v1/events/${customerEvent}`, payments), 404, "resource_missing");
    expectError(await get(`/v1/events/${productEvent}`, payments), 404, "resource_missing");
    expect((await get(`/v1/events/${all.find((e) => e.type === "payment_intent.succeeded")?.id ?? ""}`, payments)).status).toBe(200);
    // With payments.methods.view, the customer's and the card's events; still not billing's.
    const byCards = await seenBy(cards);
    expect(byCards).toEqual(expect.arrayContaining(["customer.created", "payment_method.attached", "payment_intent.succeeded"]));
    expect(byCards).not.toContain("product.created");
    expect((await get(`/v1/events/${customerEvent}`, cards)).status).toBe(200);
    // The secret key reads them all, as before.
    expect(await seenBy(m.opts)).toEqual(all.map((e) => e.type));
    expect(pi.status).toBe("succeeded");
    expect(customer).toMatch(/^cus_/);
    expect(product).toMatch(/^prod_/);
  });

  it("a webhooks.manage key cannot send an event it may not read to an endpoint of its own (POST /v1/events/:id/retry with webhook_endpoint): 404, nothing sent", async () => {
    const m = await newMerchant("events-retry-perm");
    const restricted = async (permissions: string[]) => ({ key: (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, m.opts)).body.secret ?? "" });
    const hooks = await restricted(["webhooks.manage"]);
    const hooksAndCards = await restricted(["webhooks.manage", "payments.transactions.view", "payments.methods.view"]);
    await post("/v1/customers", { email: "hidden@example.com", name: "Hidden Name" }, m.opts);
    await createIntent({ amount: 700, payment_method: "pm_card_visa", confirm: true }, m.opts);
    const all = await waitFor(async () => {
      const list = (await get<ListJson<EventJson>>("/v1/events?limit=100", m.opts)).body.data;
      return list.some((e) => e.type === "customer.created") && list.some((e) => e.type === "payment_intent.succeeded") ? list : undefined;
    });
    const customerEvent = all.find((e) => e.type === "customer.created")?.id ?? "";
    const paymentEvent = all.find((e) => e.type === "payment_intent.succeeded")?.id ?? "";
    const hook = receiverHook("events-retry-perm");
    // The webhooks.manage key alone may not subscribe an endpoint to them (below); one that may read them does.
    const mine = (await post<{ id: string }>("/v1/webhook_endpoints", { url: hook.url, enabled_events: ["customer.created", "payment_intent.succeeded"] }, hooksAndCards)).body.id;
    expect(mine).toMatch(/^we_/);
    // Neither the customer's event (payments.methods.view) nor a payment's (payments.transactions.view).
    expectError(await post(`/v1/events/${customerEvent}/retry`, { webhook_endpoint: mine }, hooks), 404, "resource_missing");
    expectError(await post(`/v1/events/${paymentEvent}/retry`, { webhook_endpoint: mine }, hooks), 404, "resource_missing");
    // A key that may read them sends them.
    const sent = await post<ListJson<WebhookDeliveryJson>>(`/v1/events/${customerEvent}/retry`, { webhook_endpoint: mine }, hooksAndCards);
    expect(sent.status).toBe(200);
    expect(sent.body.data.map((d) => d.webhook_endpoint)).toEqual([mine]);
    const received = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length ? r : undefined;
    });
    // Only the one the reading key sent.
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([customerEvent]);

    // Nor by pointing an endpoint that already had the event at a URL of its own, then re-sending
    // the event, retrying its delivery, or replaying the endpoint's deliveries.
    const deliveries = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${mine}/deliveries`, hooks)).body.data;
    const delivery = deliveries.find((d) => d.event === customerEvent)?.id ?? "";
    expect(delivery).toMatch(/^wd_/);
    const stolen = receiverHook("events-retry-perm-stolen");
    // The webhooks.manage key alone cannot point it elsewhere; say the reading key did.
    expectError(await post(`/v1/webhook_endpoints/${mine}`, { url: stolen.url }, hooks), 403);
    expect((await post(`/v1/webhook_endpoints/${mine}`, { url: stolen.url }, hooksAndCards)).status).toBe(200);
    expectError(await post(`/v1/events/${customerEvent}/retry`, {}, hooks), 404, "resource_missing");
    expectError(await post(`/v1/webhook_deliveries/${delivery}/retry`, {}, hooks), 404, "resource_missing");
    const replayed = await post<{ requested: number }>(`/v1/webhook_endpoints/${mine}/replay`, { created: { gte: Math.floor(Date.now() / 1000) - 600 }, status: "all" }, hooks);
    expect(replayed.status, JSON.stringify(replayed.body)).toBe(200);
    expect(replayed.body.requested).toBe(0);
    // The reading key replays it.
    const byReader = await post<{ requested: number }>(`/v1/webhook_endpoints/${mine}/replay`, { created: { gte: Math.floor(Date.now() / 1000) - 600 }, status: "all" }, hooksAndCards);
    expect(byReader.body.requested).toBe(1);
    const got = await waitFor(async () => {
      const r = await receivedBy(stolen.name);
      return r.length ? r : undefined;
    });
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([customerEvent]);
  });

  it("an endpoint receives each event whole: subscribing one, or sending its events to another URL, needs what reading them needs (403 otherwise, nothing changed)", async () => {
    const m = await newMerchant("events-subscribe-perm");
    const restricted = async (permissions: string[]) => ({ key: (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, m.opts)).body.secret ?? "" });
    const hooks = await restricted(["webhooks.manage"]);
    const payments = await restricted(["webhooks.manage", "payments.transactions.view"]);
    const hook = receiverHook("events-subscribe-perm");
    const stolen = receiverHook("events-subscribe-perm-stolen");
    const create = (events: string[], opts: { key: string }) => post<{ id: string; error?: { message: string } }>("/v1/webhook_endpoints", { url: stolen.url, enabled_events: events }, opts);

    // Every event, a customer's, an invoice's, or even a payment's, with webhooks.manage alone.
    for (const [events, opts, missing] of [
      [["*"], hooks, "payments.transactions.view"],
      [["payment_intent.succeeded"], hooks, "payments.transactions.view"],
      [["*"], payments, "payments.methods.view"],
      [["payment_intent.succeeded", "customer.created"], payments, "payments.methods.view"],
      [["invoice.paid"], payments, "billing.view"],
    ] as const) {
      const res = await create([...events], opts);
      expectError(res, 403);
      expect(res.body.error?.message).toContain(`'${missing}'`);
    }
    expect((await get<ListJson<{ id: string }>>("/v1/webhook_endpoints", hooks)).body.data).toEqual([]);
    // What it may read, it subscribes.
    const own = await create(["payment_intent.succeeded", "charge.refunded"], payments);
    expect(own.status).toBe(200);
    expectError(await post(`/v1/webhook_endpoints/${own.body.id}`, { enabled_events: ["customer.created"] }, payments), 403);

    // The merchant's endpoint for every event: a key that may not read them all cannot send them to its URL, nor widen its own.
    const all = await ok(post<{ id: string }>("/v1/webhook_endpoints", { url: hook.url, enabled_events: ["*"] }, m.opts));
    expectError(await post(`/v1/webhook_endpoints/${all.id}`, { url: stolen.url }, payments), 403);
    expectError(await post(`/v1/webhook_endpoints/${all.id}`, { url: stolen.url, enabled_events: ["payment_intent.succeeded"] }, hooks), 403);
    expect(await ok(get<{ url: string; enabled_events: string[] }>(`/v1/webhook_endpoints/${all.id}`, m.opts))).toMatchObject({ url: hook.url, enabled_events: ["*"] });
    // Narrowing it to what it may read and moving it is allowed; so are a description and disabling it, which send nothing anywhere.
    expect((await post(`/v1/webhook_endpoints/${all.id}`, { description: "ops" }, hooks)).status).toBe(200);
    expect((await post(`/v1/webhook_endpoints/${all.id}`, { disabled: true }, hooks)).status).toBe(200);
    const moved = await ok(post<{ url: string; enabled_events: string[] }>(`/v1/webhook_endpoints/${all.id}`, { url: stolen.url, enabled_events: ["payment_intent.succeeded"] }, payments));
    expect(moved).toMatchObject({ url: stolen.url, enabled_events: ["payment_intent.succeeded"] });

    // A customer created afterwards reaches neither URL through the endpoints these keys made or moved.
    await ok(post("/v1/customers", { email: "private@example.com" }, m.opts));
    await createIntent({ amount: 900, payment_method: "pm_card_visa", confirm: true }, m.opts);
    const got = await waitFor(async () => {
      const r = await receivedBy(stolen.name);
      return r.length ? r : undefined;
    });
    expect(got.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(["payment_intent.succeeded"]);
    expect(got.every((r) => !r.body.includes("private@example.com"))).toBe(true);
  });
});
