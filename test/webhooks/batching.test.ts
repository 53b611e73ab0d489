// The webhook pipeline works a queue batch at a time: the fan-out stores and fans out a whole batch
// of events (up to 100, more than D1 binds in one statement), and the delivery consumer makes a
// batch's attempts together. Neither may lose an event or make an attempt twice: replayed batches
// and duplicate messages in one batch change nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventRecord } from "../../src/core/types";
import { deliverAttempts } from "../../src/webhooks/deliver";
import { fanOut } from "../../src/webhooks/fanout";
import { createEndpoint, get, newMerchant, receivedBy, receiverHook, waitFor, type ListJson } from "../helpers";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";

const EVENTS = 120;

function events(merchantId: string, label: string): EventRecord[] {
  const created = Date.now();
  return Array.from({ length: EVENTS }, (_, i) => ({
    id: `evt_${label}_${String(i).padStart(3, "0")}`,
    type: "payment_intent.created",
    created: created + i,
    merchantId,
    livemode: false,
    object: { id: `pi_${label}_${i}`, object: "payment_intent", amount: 1000 + i, currency: "usd", status: "requires_payment_method" },
    requestId: `req_${label}_${i}`,
    idempotencyKey: null,
    paymentIntentId: `pi_${label}_${i}`,
    orderId: null,
  }));
}

describe("webhook batches", () => {
  it("a batch of 120 events is stored and fanned out once each; replaying it and re-sending every attempt (twice in one batch) delivers nothing more", async () => {
    const { id: merchantId, opts } = await newMerchant("batch");
    const hook = receiverHook("batch");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const batch = events(merchantId, hook.name);

    await fanOut(env, batch);
    const received = await waitFor(
      async () => {
        const r = await receivedBy(hook.name);
        return new Set(r.map((x) => JSON.parse(x.body).id as string)).size === EVENTS ? r : undefined;
      },
      20_000,
      `${EVENTS} deliveries`,
    );
    expect(received).toHaveLength(EVENTS);
    expect(new Set(received.map((r) => r.headers["webhook-id"]))).toEqual(new Set(batch.map((e) => e.id)));

    const stored = await env.DB.prepare("SELECT count(*) AS n, sum(fanned_out) AS fanned FROM events WHERE merchant_id = ?1").bind(merchantId).first<{ n: number; fanned: number }>();
    expect(stored).toEqual({ n: EVENTS, fanned: EVENTS });

    // The queue may hand a batch over again (at least once): nothing is stored or delivered twice.
    await fanOut(env, batch);
    const deliveries: WebhookDeliveryJson[] = [];
    let after = "";
    for (;;) {
      const page = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=100${after}`, opts)).body;
      deliveries.push(...page.data);
      const last = page.data[page.data.length - 1];
      if (!page.has_more || !last) break;
      after = `&starting_after=${last.id}`;
    }
    expect(deliveries).toHaveLength(EVENTS);
    expect(deliveries.every((d) => d.status === "succeeded" && d.attempt_count === 1)).toBe(true);

    // Every first attempt again, each twice in the same batch: each was made already, so none is made.
    const again = deliveries.flatMap((d) => [{ deliveryId: d.id, attempt: 1 }, { deliveryId: d.id, attempt: 1 }]);
    await deliverAttempts(env, again);
    expect(await receivedBy(hook.name)).toHaveLength(EVENTS);
  });

  it("two copies of a new attempt in one batch make one POST", async () => {
    const { id: merchantId, opts } = await newMerchant("twice");
    const hook = receiverHook("twice", "fail=1");
    const endpoint = await createEndpoint(hook.url, ["payment_intent.created"], opts);
    const [event] = events(merchantId, hook.name);
    if (!event) throw new Error("no event");
    await fanOut(env, [event]);
    // The first attempt fails (500); its retry waits on the schedule. Send attempt 2 twice now.
    const [delivery] = await waitFor(async () => {
      const d = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, opts)).body.data;
      return d[0] && d[0].attempt_count === 1 && d[0].attempts.length === 1 ? d : undefined;
    });
    if (!delivery) throw new Error("no delivery");
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ?1 WHERE id = ?2").bind(Date.now(), delivery.id).run();
    await deliverAttempts(env, [
      { deliveryId: delivery.id, attempt: 2 },
      { deliveryId: delivery.id, attempt: 2 },
    ]);
    // (The queue's own retry message may have made attempt 2 meanwhile: then both copies are dropped.)
    const after = await waitFor(async () => {
      const d = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpoint.id}/deliveries`, opts)).body.data[0];
      return d?.status === "succeeded" ? d : undefined;
    });
    expect(after?.attempt_count).toBe(2);
    const posts = await receivedBy(hook.name);
    expect(posts.filter((p) => p.answered >= 200 && p.answered < 300)).toHaveLength(1);
  });
});
