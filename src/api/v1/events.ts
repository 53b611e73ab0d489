// /v1/events: what happened, kept 30 days (EVENT_RETENTION_DAYS). Filters: `type` (exact, or a
// prefix wildcard like `payment_intent.*`), `types[]`, `created`, and our `payment_intent`.
// An event can be re-sent to its endpoints (or to one endpoint) on demand.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { GATEWAY_API_VERSION } from "../../core/api-version";
import { EVENT_TYPES, renderEvent, subscribes, type EventJson } from "../../core/events";
import type { Principal } from "../../auth/permissions";
import { mayGetEvent as mayGet, mayReadEvent as mayRead } from "./event-access";
import { derivedId, hasPrefix } from "../../core/ids";
import type { EventRecord } from "../../core/types";
import { listEvents } from "../../db/queries";
import { events, webhookDeliveries } from "../../db/schema";
import { attemptsOf, db, findEndpoint, findEvent, parseEndpointEvents, pendingDeliveries, pendingDeliveriesOf } from "../../webhooks/store";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { audit } from "../../audit/log";
import { auditContext, json, listObject, pageRequest } from "./respond";
import { expandPaths } from "./expand";
import { route, type App } from "./route";
import { listOf } from "./schemas";
import { deliveriesPage, renderDelivery, resend, WebhookDeliverySchema } from "./webhook_endpoints";

const typeFilter = z.string().max(100).regex(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$|^\*$/, "must be an event type or a wildcard like payment_intent.*");

const ListQuery = z
  .object({
    ...f.pageFields,
    type: typeFilter.optional(),
    types: z.array(typeFilter).max(20).optional(),
    created: f.createdFilter.optional(),
    payment_intent: f.text(100).optional(),
    delivery_success: f.boolean.optional().describe("true: events every delivery of which went through (or that had none); false: events with a delivery pending or failed."),
    expand: f.expand.optional(),
  })
  .strict();

const RetryBody = z.object({ webhook_endpoint: f.text(100).optional() }).strict();

export const EventSchema: z.ZodType<EventJson> = z
  .object({
    id: z.string(),
    object: z.literal("event"),
    event_id: z.string().describe("Seed 001's name for `id`."),
    api_version: z.string().nullable().describe("The Stripe API version the event is rendered with (the request's, else the merchant's default)."),
    created: z.number().int(),
    created_ms: z.number().int(),
    data: z.object({
      object: z.record(z.string(), z.unknown()),
      previous_attributes: z
        .record(z.string(), z.unknown())
        .optional()
        .describe("On a *.updated event only: the changed fields' values before the change (a nested object gives its changed keys, null for one added)."),
      payment_intent_id: z.string().nullable().describe("Seed 001: the payment intent the event is about, beside Stripe's `object`."),
      order_id: z.string().nullable().describe("Seed 001: that intent's `order_id`."),
    }),
    livemode: z.boolean(),
    pending_webhooks: z.number().int(),
    request: z.object({ id: z.string().nullable(), idempotency_key: z.string().nullable() }),
    type: z.string(),
  })
  .meta({ id: "Event" });


async function eventOr404(d1: D1Database, scope: { merchantId: string; livemode: boolean }, id: string): Promise<EventRecord> {
  const event = hasPrefix(id, "evt") ? await findEvent(d1, scope, id) : null;
  if (!event) throw resourceMissing("event", id.slice(0, 80), "id");
  return event;
}

const TAG = "Events";

/**
 * The type filters a principal's list runs with: unchanged when it may read every event; else the
 * event types it may read, among those asked for (none asked for: all it may read).
 */
function readableTypes(principal: Principal, asked: string[]): string[] {
  if (EVENT_TYPES.every((t) => mayRead(principal, t))) return asked;
  const wanted = (t: string) => asked.length === 0 || asked.some((a) => a === "*" || a === t || (a.endsWith(".*") && t.startsWith(a.slice(0, -1))));
  const readable = EVENT_TYPES.filter((t) => wanted(t) && mayRead(principal, t));
  // Nothing readable among those asked for: a type no event has, so the list is empty.
  return readable.length > 0 ? readable : ["none.readable"];
}

export function registerEvents(app: App): void {
  route(
    app,
    { method: "get", path: "/v1/events", permission: "payments.transactions.view", summary: "List events, newest first", tag: TAG, query: ListQuery, response: listOf(EventSchema, "EventList") },
    async (c, { query, principal }) => {
      // Stripe's expand[]: an event has nothing to expand (its data.object is whole), so any path is a 400.
      expandPaths(query.expand, "event", true);
      if (query.type && query.types) throw invalidRequest("Pass either type or types, not both.", "types");
      const types = readableTypes(principal, query.types ?? (query.type ? [query.type] : []));
      if (query.delivery_success === false && query.payment_intent !== undefined) {
        throw invalidRequest("delivery_success=false combines with type, types and created, not with payment_intent.", "payment_intent");
      }
      const page = await listEvents(c.env.DB, principal, { types, paymentIntent: query.payment_intent, created: query.created, deliverySuccess: query.delivery_success }, pageRequest(query));
      // Each event's pending deliveries, as retrieving it says (a receiver reconciling from the list relies on them).
      const pending = await pendingDeliveriesOf(
        c.env.DB,
        page.items.map((e) => e.id),
      );
      return json(c, listObject("/v1/events", page, (e) => renderEvent(e, pending.get(e.id) ?? 0, c.get("apiVersion") ?? GATEWAY_API_VERSION)));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/events/{id}", permission: "payments.transactions.view", summary: "Retrieve an event", tag: TAG, query: f.expandQuery, response: EventSchema },
    async (c, { params, query, principal }) => {
      expandPaths(query.expand, "event");
      const event = await eventOr404(c.env.DB, principal, params.id ?? "");
      if (!mayRead(principal, event.type)) throw resourceMissing("event", event.id, "id");
      return json(c, renderEvent(event, await pendingDeliveries(c.env.DB, event.id), c.get("apiVersion") ?? GATEWAY_API_VERSION));
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/events/{id}/deliveries",
      permission: "webhooks.manage",
      summary: "An event's deliveries, one per endpoint, each with every attempt",
      tag: TAG,
      query: z.object(f.pageFields).strict(),
      response: listOf(WebhookDeliverySchema, "EventDeliveryList"),
    },
    async (c, { params, query, principal }) => {
      const event = await eventOr404(c.env.DB, principal, params.id ?? "");
      return json(c, await deliveriesPage(c.env.DB, principal, [eq(webhookDeliveries.eventId, event.id)], pageRequest(query), `/v1/events/${event.id}/deliveries`));
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/events/{id}/retry",
      permission: "webhooks.manage",
      summary: "Re-send an event now: to every endpoint it was delivered to, or to `webhook_endpoint` (which gets a delivery if it had none)",
      tag: TAG,
      body: RetryBody,
      response: listOf(WebhookDeliverySchema, "EventRetryResult"),
    },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "events.retry", id, body, async () => {
        const event = await eventOr404(c.env.DB, principal, id);
        // Sending an event hands its whole object to an endpoint whose URL the caller chose (or just
        // changed): only a caller who may read that event sends it (a webhooks.manage key without the
        // event's read permission would otherwise read the history it is refused).
        if (!mayGet(principal, event.type)) throw resourceMissing("event", event.id, "id");
        const d = db(c.env.DB);
        if (body.webhook_endpoint !== undefined) {
          const endpoint = hasPrefix(body.webhook_endpoint, "we") ? await findEndpoint(c.env.DB, principal, body.webhook_endpoint) : null;
          if (!endpoint) throw resourceMissing("webhook_endpoint", body.webhook_endpoint.slice(0, 80), "webhook_endpoint");
          if (endpoint.status !== "enabled") throw invalidRequest("That webhook endpoint is disabled; enable it first.", "webhook_endpoint", "webhook_endpoint_disabled");
          if (!subscribes(parseEndpointEvents(endpoint), event.type)) {
            throw invalidRequest(`That webhook endpoint does not subscribe to ${event.type}.`, "webhook_endpoint", "webhook_endpoint_not_subscribed");
          }
          const now = Date.now();
          // An event not fanned out yet (its hand-over to the queue failed; the cron re-fans it) would
          // give this endpoint its delivery, retries included: this row is that delivery (the fan-out
          // keeps the row it finds), so it keeps its retries. Otherwise it is one more attempt only.
          const [row] = await d.select({ fannedOut: events.fannedOut }).from(events).where(eq(events.id, event.id)).limit(1);
          const unfanned = row?.fannedOut === false;
          await d
            .insert(webhookDeliveries)
            .values({
              id: await derivedId("wd", event.id, endpoint.id),
              merchantId: event.merchantId,
              livemode: event.livemode,
              eventId: event.id,
              eventType: event.type,
              eventCreated: event.created,
              endpointId: endpoint.id,
              status: unfanned ? "pending" : "failed",
              attempts: 0,
              retrying: unfanned,
              nextAttemptAt: now,
              created: now,
              updated: now,
            })
            .onConflictDoNothing();
        }
        const rows = await d
          .select()
          .from(webhookDeliveries)
          .where(
            and(
              eq(webhookDeliveries.eventId, event.id),
              ...(body.webhook_endpoint !== undefined ? [eq(webhookDeliveries.endpointId, body.webhook_endpoint)] : []),
            ),
          )
          .limit(100);
        if (rows.length === 0) throw invalidRequest("This event has no deliveries to re-send; name a webhook_endpoint.", "webhook_endpoint", "parameter_missing");
        const retried = [];
        for (const row of rows) retried.push(await resend(c.env, row));
        audit(auditContext(c), principal, {
          action: "events.retry",
          objectType: "event",
          objectId: event.id,
          httpStatus: 200,
          details: { event_type: event.type, deliveries: retried.length, webhook_endpoint: body.webhook_endpoint ?? null },
        });
        const attempts = await attemptsOf(
          c.env.DB,
          retried.map((r) => r.id),
        );
        return {
          status: 200,
          body: { object: "list", data: retried.map((r) => renderDelivery(r, attempts.get(r.id) ?? [])), has_more: false, url: `/v1/events/${event.id}/retry` },
        };
      });
    },
  );
}


