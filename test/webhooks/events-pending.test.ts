// GET /v1/events gives each event its pending_webhooks, as GET /v1/events/:id does (the list said 0
// for every event, even while its deliveries were still being retried).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventJson } from "../../src/core/events";
import type { WebhookDeliveryJson } from "../../src/api/v1/webhook_endpoints";
import { pendingDeliveriesOf } from "../../src/webhooks/store";
import { planOf, recording, type Captured } from "../db/recording";
import { createEndpoint, createIntent, get, newMerchant, post, receiverHook, waitFor, type ListJson } from "../helpers";

describe("pending_webhooks in the events list", () => {
  it("counts the event's deliveries still pending, as retrieving the event does", async () => {
    const { opts } = await newMerchant("events-pending");
    const failing = await createEndpoint(receiverHook("events-pending-down", "status=500").url, ["payment_intent.created"], opts);
    const healthy = await createEndpoint(receiverHook("events-pending-up").url, ["payment_intent.created"], opts);
    await createIntent({}, opts);
    // One delivery went through, the other failed once and waits for its retry.
    await waitFor(async () => {
      const down = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${failing.id}/deliveries`, opts)).body.data[0];
      const up = (await get<ListJson<WebhookDeliveryJson>>(`/v1/webhook_endpoints/${healthy.id}/deliveries`, opts)).body.data[0];
      return down?.status === "pending" && down.attempts.length > 0 && up?.status === "succeeded";
    }, 15_000, "one delivery done, one pending");
    const listed = (await get<ListJson<EventJson>>("/v1/events?type=payment_intent.created", opts)).body.data;
    expect(listed).toHaveLength(1);
    const event = listed[0];
    if (!event) throw new Error("no event");
    const retrieved = (await get<EventJson>(`/v1/events/${event.id}`, opts)).body;
    expect(retrieved.pending_webhooks).toBe(1);
    expect(event.pending_webhooks).toBe(1);
    // No more retries: the failing endpoint is disabled, its delivery canceled at its next try.
    await post(`/v1/webhook_endpoints/${failing.id}`, { disabled: true }, opts);
    await waitFor(async () => (await get<ListJson<EventJson>>("/v1/events?type=payment_intent.created", opts)).body.data[0]?.pending_webhooks === 0, 15_000, "no delivery pending");
  }, 30_000);
});

describe("the list's pending count query", () => {
  it("is a range of each event's deliveries (webhook_deliveries_event_endpoint), never a scan of the table", async () => {
    const captured: Captured[] = [];
    await pendingDeliveriesOf(recording(env.DB, captured), ["evt_a", "evt_b", "evt_c"]);
    expect(captured).toHaveLength(1);
    const plan = (await planOf(captured[0] ?? { sql: "", params: [] })).join("\n");
    expect(plan).toMatch(/SEARCH webhook_deliveries USING INDEX webhook_deliveries_event_endpoint \(event_id=\?\)/);
    expect(plan).not.toMatch(/SCAN webhook_deliveries/);
  });
});
