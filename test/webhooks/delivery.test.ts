// Delivery through the queues: signed, retried on the schedule (shrunk to 1 s, 2 s, 3 s here),
// dead-lettered when exhausted, replayable, and only ever to the right merchant's subscribed,
// enabled endpoints.
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { createEndpoint, createIntent, get, newMerchant, post, receivedBy, receiverHook, succeededIntent, waitFor, type CallOptions, type ListJson } from "../helpers";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";

const cryptoProvider = Stripe.createSubtleCryptoProvider();

async function deliveries(endpointId: string, opts: CallOptions) {
  return (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, opts)).body.data;
}

// Each test has a merchant of its own, so the tests can wait on the queues side by side.
describe.concurrent("webhook delivery", () => {
  it("delivers a signed event that both libraries verify", async () => {
    const { opts } = await newMerchant("signed");
    const hook = receiverHook("signed");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const pi = (await createIntent({ order_id: "ord_sig" }, opts)).body;
    const [request] = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length ? r : undefined;
    });
    if (!request) throw new Error("nothing received");
    const secret = endpoint.secret ?? "";
    const verified = new Webhook(secret).verify(request.body, request.headers) as { type: string; data: { object: { id: string; order_id: string } } };
    expect(verified.type).toBe("payment_intent.created");
    expect(verified.data.object).toMatchObject({ id: pi.id, payment_intent_id: pi.id, order_id: "ord_sig" });
    const event = await Stripe.webhooks.constructEventAsync(request.body, request.headers["stripe-signature"] ?? "", secret, undefined, cryptoProvider);
    expect(event.type).toBe("payment_intent.created");
    expect(request.headers["webhook-id"]).toBe(event.id);
    expect(request.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(request.body) as { event_id: string; created_ms: number; request: { id: string } };
    expect(body.event_id).toBe(event.id);
    expect(typeof body.created_ms).toBe("number");
    expect(body.request.id).toMatch(/^req_/);
  });

  it("500 three times then 200: one success, four attempts logged with growing delays", async () => {
    const { opts } = await newMerchant("flaky");
    const hook = receiverHook("flaky", "fail=3");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const [delivery] = await waitFor(
      async () => {
        const d = await deliveries(endpoint.id, opts);
        return d[0]?.status === "succeeded" ? d : undefined;
      },
      30_000,
      "the delivery to succeed",
    );
    if (!delivery) throw new Error("no delivery");
    expect(delivery.attempt_count).toBe(4);
    expect(delivery.attempts.map((a) => [a.attempt, a.status_code, a.succeeded])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 500, false],
      [4, 200, true],
    ]);
    for (const a of delivery.attempts.slice(0, 3)) {
      expect(a.error).toContain("HTTP 500");
      expect(a.latency_ms).toBeGreaterThanOrEqual(0);
      expect(a.next_retry_at).not.toBeNull();
    }
    // Made by the fan-out before the first attempt, in milliseconds as well as seconds.
    expect(Math.floor(delivery.created_ms / 1000)).toBe(delivery.created);
    expect(delivery.attempts[0]?.started_ms).toBeGreaterThanOrEqual(delivery.created_ms);
    const gaps = delivery.attempts.slice(1).map((a, i) => a.started_ms - (delivery.attempts[i]?.started_ms ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0);
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? 0);
    const received = await receivedBy(hook.name);
    expect(received.filter((r) => r.answered === 200)).toHaveLength(1);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    const stats = (await get<{ delivery_stats: { attempts: number; succeeded: number; success_rate: number } }>(`/v1/webhook_endpoints/${endpoint.id}`, opts)).body.delivery_stats;
    expect(stats).toMatchObject({ attempts: 4, succeeded: 1, success_rate: 0.25 });
  }, 40_000);

  it("a receiver that never answers 2xx ends dead-lettered and failed; a replay then delivers", async () => {
    const { opts } = await newMerchant("down");
    const hook = receiverHook("down", "status=503");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const [failed] = await waitFor(
      async () => {
        const d = await deliveries(endpoint.id, opts);
        return d[0]?.status === "failed" && d[0].dead_lettered ? d : undefined;
      },
      30_000,
      "the delivery to be dead-lettered",
    );
    if (!failed) throw new Error("no delivery");
    expect(failed.attempt_count).toBe(4);
    expect(failed.next_attempt_at).toBeNull();
    // The receiver recovers: point the endpoint at a healthy path and replay.
    const healthy = receiverHook("recovered");
    await post(`/v1/webhook_endpoints/${endpoint.id}`, { url: healthy.url }, opts);
    const replay = await post<WebhookDeliveryJson>(`/v1/webhook_deliveries/${failed.id}/retry`, {}, opts);
    expect(replay.status).toBe(200);
    expect(replay.body.status).toBe("pending");
    await waitFor(async () => (await receivedBy(healthy.name)).length === 1, 15_000, "the replay");
    const after = await waitFor(async () => {
      const d = (await deliveries(endpoint.id, opts))[0];
      return d?.status === "succeeded" ? d : undefined;
    });
    expect(after.attempt_count).toBe(5);
  }, 45_000);

  it("honours Retry-After on 429", async () => {
    const { opts } = await newMerchant("throttled");
    const hook = receiverHook("throttled", "status=429&retry_after=3");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const delivery = await waitFor(async () => {
      const d = (await deliveries(endpoint.id, opts))[0];
      return d && d.attempts.length >= 2 ? d : undefined;
    }, 20_000);
    const [first, second] = delivery.attempts;
    expect((second?.started_ms ?? 0) - (first?.started_ms ?? 0)).toBeGreaterThanOrEqual(2900);
    await post(`/v1/webhook_endpoints/${endpoint.id}`, { disabled: true }, opts);
  }, 30_000);

  it("a retry due after its endpoint was disabled is canceled, counting only the attempts sent (it counted the one it did not send)", async () => {
    const { opts } = await newMerchant("disabled-retry");
    const hook = receiverHook("disabled-retry", "status=500");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    await waitFor(async () => ((await deliveries(endpoint.id, opts))[0]?.attempts.length ? true : undefined), 15_000, "the first attempt");
    await post(`/v1/webhook_endpoints/${endpoint.id}`, { disabled: true }, opts);
    const canceled = await waitFor(async () => {
      const d = (await deliveries(endpoint.id, opts))[0];
      return d?.status === "canceled" ? d : undefined;
    }, 20_000, "the retry to be canceled");
    expect(canceled.attempt_count).toBe(canceled.attempts.length);
    expect(await receivedBy(hook.name)).toHaveLength(canceled.attempts.length);
  }, 30_000);

  it("410 Gone disables the endpoint", async () => {
    const { opts } = await newMerchant("gone");
    const hook = receiverHook("gone", "status=410");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    const updated = await waitFor(async () => {
      const e = (await get<{ status: string; disabled_reason: string }>(`/v1/webhook_endpoints/${endpoint.id}`, opts)).body;
      return e.status === "disabled" ? e : undefined;
    });
    expect(updated.disabled_reason).toContain("410");
    const [delivery] = await deliveries(endpoint.id, opts);
    expect(delivery?.status).toBe("failed");
    expect(delivery?.attempt_count).toBe(1);
  });

  it("sends only subscribed types, nothing to disabled endpoints, and nothing across merchants", async () => {
    const { opts } = await newMerchant("subscriber");
    const other = await newMerchant("other-merchant");
    const refundsOnly = receiverHook("refunds-only");
    const disabled = receiverHook("disabled");
    const everything = receiverHook("everything");
    const otherMerchant = receiverHook("other-merchant");
    const refundsEndpoint = await createEndpoint(refundsOnly.url, ["refund.created"], opts);
    const disabledEndpoint = await createEndpoint(disabled.url, ["*"], opts);
    await post(`/v1/webhook_endpoints/${disabledEndpoint.id}`, { disabled: true }, opts);
    await createEndpoint(everything.url, ["*"], opts);
    await createEndpoint(otherMerchant.url, ["*"], other.opts);

    const pi = await succeededIntent(1500, opts);
    await post("/v1/refunds", { payment_intent: pi.id, amount: 500 }, opts);

    const types = await waitFor(async () => {
      const r = await receivedBy(everything.name);
      return r.length >= 5 ? r.map((x) => (JSON.parse(x.body) as { type: string }).type) : undefined;
    }, 20_000);
    expect(types.sort()).toEqual(["charge.refunded", "charge.succeeded", "payment_intent.created", "payment_intent.succeeded", "refund.created"]);
    const refundHooks = await waitFor(async () => {
      const r = await receivedBy(refundsOnly.name);
      return r.length ? r : undefined;
    });
    expect(refundHooks.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(["refund.created"]);
    expect((await deliveries(refundsEndpoint.id, opts)).map((d) => d.event_type)).toEqual(["refund.created"]);
    // Give stray deliveries time to show up before asserting there are none.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await receivedBy(disabled.name)).toEqual([]);
    expect(await deliveries(disabledEndpoint.id, opts)).toEqual([]);
    expect(await receivedBy(otherMerchant.name)).toEqual([]);
  }, 30_000);
});
