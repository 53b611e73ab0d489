// The webhook dead-letter queue's consumer ends only deliveries that ran out of attempts. A message
// the queue itself gives up on (its batch failed max_retries times, e.g. while D1 was unavailable)
// leaves its delivery pending, and the cron sweep re-sends it: it is never lost as "failed" before
// it was even attempted, and a re-send asked for meanwhile still goes out.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventJson } from "../../src/core/events";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";
import worker from "../../src/index";
import { markDeadLettered } from "../../src/webhooks/deliver";
import { createEndpoint, createIntent, get, newMerchant, receivedBy, receiverHook, waitFor, type CallOptions, type ListJson } from "../helpers";

async function firstEvent(opts: CallOptions): Promise<EventJson> {
  return waitFor(async () => (await get<ListJson<EventJson>>("/v1/events?limit=1", opts)).body.data[0], 15_000, "an event");
}

async function delivery(id: string, endpointId: string, opts: CallOptions): Promise<WebhookDeliveryJson | undefined> {
  const list = await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, opts);
  return list.body.data.find((d) => d.id === id);
}

/** A delivery row as the fan-out or a re-send leaves it, its next attempt overdue (its queue message is the one dead-lettered). */
async function insertDelivery(id: string, merchant: string, event: EventJson, endpointId: string, status: string, attempts: number, retrying: boolean): Promise<void> {
  const past = Date.now() - 5 * 60_000;
  await env.DB.prepare(
    "INSERT INTO webhook_deliveries (id, merchant_id, livemode, event_id, event_type, endpoint_id, status, attempts, retrying, next_attempt_at, created, updated, completed) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(id, merchant, event.id, event.type, endpointId, status, attempts, retrying ? 1 : 0, status === "pending" ? past : null, past, past, status === "pending" ? null : past)
    .run();
}

describe("the webhook dead-letter queue", () => {
  it("a dead-lettered message of a delivery with attempts left keeps it pending, and the cron sweep delivers it", async () => {
    const { opts, id } = await newMerchant("dlq-pending");
    await createIntent({}, opts);
    const event = await firstEvent(opts);
    const hook = receiverHook("dlq-pending");
    const endpoint = await createEndpoint(hook.url, ["*"], opts);
    await insertDelivery("wd_dlqpending00000000000001", id, event, endpoint.id, "pending", 0, true);
    await markDeadLettered(env, { deliveryId: "wd_dlqpending00000000000001", attempt: 1 });
    expect(await delivery("wd_dlqpending00000000000001", endpoint.id, opts)).toMatchObject({ status: "pending", dead_lettered: false });
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
    const [request] = await waitFor(async () => {
      const r = await receivedBy(hook.name);
      return r.length ? r : undefined;
    }, 15_000, "the delivery");
    expect(request?.headers["webhook-id"]).toBe(event.id);
    const done = await waitFor(async () => {
      const d = await delivery("wd_dlqpending00000000000001", endpoint.id, opts);
      return d?.status === "succeeded" ? d : undefined;
    }, 15_000, "the delivery to succeed");
    expect(done).toMatchObject({ attempt_count: 1, dead_lettered: false });
  });

  it("a delivery re-sent by hand after it failed is not ended by its old attempt's dead letter", async () => {
    const { opts, id } = await newMerchant("dlq-resent");
    await createIntent({}, opts);
    const event = await firstEvent(opts);
    const endpoint = await createEndpoint(receiverHook("dlq-resent").url, ["*"], opts);
    // Its fourth and last attempt failed; a retry (POST /v1/webhook_deliveries/:id/retry) made it pending again.
    await insertDelivery("wd_dlqresent000000000000001", id, event, endpoint.id, "pending", 4, false);
    await markDeadLettered(env, { deliveryId: "wd_dlqresent000000000000001", attempt: 4 });
    expect(await delivery("wd_dlqresent000000000000001", endpoint.id, opts)).toMatchObject({ status: "pending", completed_at: null });
  });

  it("a delivery that ran out of attempts (already failed) is flagged dead-lettered", async () => {
    const { opts, id } = await newMerchant("dlq-failed");
    await createIntent({}, opts);
    const event = await firstEvent(opts);
    const endpoint = await createEndpoint(receiverHook("dlq-failed").url, ["*"], opts);
    await insertDelivery("wd_dlqfailed000000000000001", id, event, endpoint.id, "failed", 4, true);
    await markDeadLettered(env, { deliveryId: "wd_dlqfailed000000000000001", attempt: 4 });
    expect(await delivery("wd_dlqfailed000000000000001", endpoint.id, opts)).toMatchObject({ status: "failed", dead_lettered: true });
  });
});
