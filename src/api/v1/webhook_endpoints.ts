// /v1/webhook_endpoints: where a merchant wants its events. The signing secret is shown at creation
// and when rolled, never again; rolling keeps the old secret valid for an overlap of up to 24 hours,
// during which payloads carry both signatures (and one for each secret rolled before it that is still
// in its own overlap). Deliveries and their attempts are readable and can be
// re-sent on demand, one at a time or as a range (a "replay": an endpoint's deliveries created between
// two times, oldest first, e.g. those that failed while the receiver was down).
import { and, asc, eq, gt, gte, inArray, isNull, lte, ne, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { ApiError, invalidRequest, resourceMissing } from "../../core/errors";
import { EVENT_TYPES } from "../../core/events";
import { hasPrefix, randomId } from "../../core/ids";
import { seal } from "../../core/sealed";
import type { Metadata, Scope } from "../../core/types";
import { listable, pageOf, type PageRequest } from "../../db/queries";
import { webhookDeliveries, webhookEndpoints } from "../../db/schema";
import { config, isDevelopment, type Env } from "../../env";
import { mergeMetadata } from "../../intents/operations/metadata";
import { newSigningSecret } from "../../webhooks/signing";
import { STRIPE_EVENT_TYPES } from "../../webhooks/stripe-event-types";
import { assertWebhookUrl } from "../../webhooks/url-guard";
import { attemptsOf, db, endpointStats, findEndpoint, MAX_OLDER_SECRETS, parseEndpointEvents, retiredSecrets, type AttemptRow, type DeliveryRow, type EndpointRow, type EndpointStats } from "../../webhooks/store";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { idempotentD1 } from "./idempotency";
import { audit } from "../../audit/log";
import { auditContext, json, listObject, pageRequest } from "./respond";
import { expandPaths } from "./expand";
import { route, type App } from "./route";
import { writeCompared } from "./updates";
import { listOf } from "./schemas";
import { assertMaySubscribe, mayGetEvent } from "./event-access";

const MAX_OVERLAP_S = 24 * 60 * 60;
const ENDPOINTS = listable(webhookEndpoints, "webhook_endpoint");
const DELIVERIES = listable(webhookDeliveries, "webhook_delivery");

/**
 * What enabled_events may name, as Stripe accepts it: every event type Stripe defines (an endpoint set
 * up for Stripe names types this gateway never sends, and Stripe refuses only names it does not
 * have), and the gateway's own (seed 003's icligo.payment.*).
 */
const SUBSCRIBABLE: ReadonlySet<string> = new Set<string>([...STRIPE_EVENT_TYPES, ...EVENT_TYPES]);

const enabledEvents = z
  .array(z.string().refine((t) => t === "*" || SUBSCRIBABLE.has(t), "must be '*' or an event type Stripe defines (e.g. invoice.paid, charge.dispute.created), or one of the gateway's own (icligo.payment.*)"))
  .min(1, "must name at least one event type, or '*'")
  .max(SUBSCRIBABLE.size + 1)
  .describe(
    `'*' (every event), or event types: any Stripe defines is accepted (kept as given), and these are the ones the gateway sends: ${EVENT_TYPES.join(", ")}.`,
  );

const CreateBody = stripeBody("POST /v1/webhook_endpoints", {
    url: z.string().min(1).max(2048),
    enabled_events: enabledEvents,
    description: f.text(5000).optional(),
    metadata: f.createMetadata.optional(),
  });

const UpdateBody = stripeBody("POST /v1/webhook_endpoints/{id}", {
    url: z.string().min(1).max(2048).optional(),
    enabled_events: enabledEvents.optional(),
    description: f.clearableText(5000).optional(),
    metadata: f.metadata.optional(),
    disabled: f.boolean.optional(),
  });

const RollBody = z
  .object({ expires_in: f.integer.pipe(z.number().min(0).max(MAX_OVERLAP_S, `must be at most ${MAX_OVERLAP_S} seconds (24 hours)`)).optional() })
  .strict();

const MAX_REPLAY_RANGE_S = 14 * 24 * 60 * 60;
const MAX_REPLAY = 500;

const ReplayBody = z
  .object({
    created: z
      .object({
        gte: f.integer.pipe(z.number().min(0, "must be a Unix time in seconds")),
        lte: f.integer.pipe(z.number().min(0, "must be a Unix time in seconds")).optional(),
      })
      .strict(),
    status: z.enum(["failed", "all"]).optional(),
    starting_after: f.text(100).optional(),
  })
  .strict();

const ReplaySchema = z
  .object({
    object: z.literal("webhook_replay"),
    endpoint: z.string(),
    requested: z.number().int().describe("How many deliveries were re-sent by this call."),
    has_more: z.boolean().describe("More deliveries of the range match: call again with `starting_after` = the last id of `deliveries`."),
    deliveries: z.array(z.string()).describe("The re-sent deliveries' ids, oldest first."),
  })
  .meta({ id: "WebhookReplay" });

export interface WebhookReplayJson {
  object: "webhook_replay";
  endpoint: string;
  requested: number;
  has_more: boolean;
  deliveries: string[];
}

const ListQuery = z.object(f.pageFields).strict();
/** Stripe's list parameters, with expand[] (an endpoint has nothing to expand: any path is a 400). */
const EndpointListQuery = ListQuery.extend({ expand: f.expand.optional() }).strict();
const DeliveriesQuery = ListQuery.extend({ status: z.enum(["pending", "succeeded", "failed", "canceled"]).optional() }).strict();

export interface WebhookEndpointJson {
  id: string;
  object: "webhook_endpoint";
  api_version: null;
  application: null;
  created: number;
  description: string | null;
  enabled_events: string[];
  livemode: boolean;
  metadata: Record<string, string>;
  status: "enabled" | "disabled";
  disabled_reason: string | null;
  url: string;
  secret?: string;
  secret_rolled_previous_expires_at?: number | null;
  delivery_stats?: EndpointStats;
}

export const WebhookEndpointSchema: z.ZodType<WebhookEndpointJson> = z
  .object({
    id: z.string(),
    object: z.literal("webhook_endpoint"),
    api_version: z.null(),
    application: z.null(),
    created: z.number().int(),
    description: z.string().nullable(),
    enabled_events: z.array(z.string()),
    livemode: z.boolean(),
    metadata: z.record(z.string(), z.string()),
    status: z.enum(["enabled", "disabled"]),
    disabled_reason: z.string().nullable(),
    url: z.string(),
    secret: z.string().optional().describe("Only when the endpoint is created or its secret rolled."),
    secret_rolled_previous_expires_at: z.number().int().nullable().optional(),
    delivery_stats: z
      .object({
        window_hours: z.number(),
        attempts: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        success_rate: z.number().nullable(),
        last_attempt_at: z.number().int().nullable(),
      })
      .optional(),
  })
  .meta({ id: "WebhookEndpoint" });

export interface WebhookDeliveryJson {
  id: string;
  object: "webhook_delivery";
  event: string;
  event_type: string;
  webhook_endpoint: string;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  dead_lettered: boolean;
  created: number;
  /** When the fan-out made it, in milliseconds (as an event's `created_ms`). */
  created_ms: number;
  completed_at: number | null;
  attempts: {
    attempt: number;
    started: number;
    started_ms: number;
    status_code: number | null;
    latency_ms: number;
    error: string | null;
    succeeded: boolean;
    next_retry_at: number | null;
  }[];
}

export const WebhookDeliverySchema: z.ZodType<WebhookDeliveryJson> = z
  .object({
    id: z.string(),
    object: z.literal("webhook_delivery"),
    event: z.string(),
    event_type: z.string(),
    webhook_endpoint: z.string(),
    status: z.string(),
    attempt_count: z.number().int(),
    next_attempt_at: z.number().int().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    dead_lettered: z.boolean(),
    created: z.number().int(),
    created_ms: z.number().int(),
    completed_at: z.number().int().nullable(),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        started: z.number().int(),
        started_ms: z.number().int(),
        status_code: z.number().int().nullable(),
        latency_ms: z.number().int(),
        error: z.string().nullable(),
        succeeded: z.boolean(),
        next_retry_at: z.number().int().nullable(),
      }),
    ),
  })
  .meta({ id: "WebhookDelivery" });

const seconds = (ms: number) => Math.floor(ms / 1000);

export function renderEndpoint(row: EndpointRow, extra: Partial<WebhookEndpointJson> = {}): WebhookEndpointJson {
  return {
    id: row.id,
    object: "webhook_endpoint",
    api_version: null,
    application: null,
    created: seconds(row.created),
    description: row.description,
    enabled_events: parseEndpointEvents(row),
    livemode: row.livemode,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    status: row.status === "disabled" ? "disabled" : "enabled",
    disabled_reason: row.disabledReason,
    url: row.url,
    ...extra,
  };
}

export function renderDelivery(row: DeliveryRow, attempts: AttemptRow[]): WebhookDeliveryJson {
  return {
    id: row.id,
    object: "webhook_delivery",
    event: row.eventId,
    event_type: row.eventType,
    webhook_endpoint: row.endpointId,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === "pending" && row.nextAttemptAt !== null ? seconds(row.nextAttemptAt) : null,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    dead_lettered: row.deadLettered,
    created: seconds(row.created),
    created_ms: row.created,
    completed_at: row.completed === null ? null : seconds(row.completed),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      started: seconds(a.started),
      started_ms: a.started,
      status_code: a.statusCode,
      latency_ms: a.latencyMs,
      error: a.error,
      succeeded: a.succeeded,
      next_retry_at: a.nextRetryAt === null ? null : seconds(a.nextRetryAt),
    })),
  };
}

async function endpointOr404(d1: D1Database, scope: Scope, id: string): Promise<EndpointRow> {
  const row = hasPrefix(id, "we") ? await findEndpoint(d1, scope, id) : null;
  if (!row) throw resourceMissing("webhook_endpoint", id.slice(0, 80), "id");
  return row;
}

/** A page of deliveries with their attempts; `filters` narrow it to an endpoint or an event. */
export async function deliveriesPage(d1: D1Database, scope: Scope, filters: SQL[], page: PageRequest, url: string) {
  const rows = await pageOf(d1, DELIVERIES, scope, filters, page, (where, order, limit) =>
    db(d1).select().from(webhookDeliveries).where(where).orderBy(...order).limit(limit),
  );
  const attempts = await attemptsOf(
    d1,
    rows.items.map((r) => r.id),
  );
  return listObject(url, rows, (row) => renderDelivery(row, attempts.get(row.id) ?? []));
}

const TAG = "Webhook endpoints";

export function registerWebhookEndpoints(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/webhook_endpoints", permission: "webhooks.manage", summary: "Create a webhook endpoint (the secret is shown only now)", tag: TAG, body: CreateBody, response: WebhookEndpointSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "webhook_endpoints.create", "", body, async () => {
        assertWebhookUrl(body.url, principal.livemode, isDevelopment(c.env));
        assertMaySubscribe(principal, body.enabled_events);
        const secret = newSigningSecret();
        const now = Date.now();
        const row: EndpointRow = {
          id: randomId("we"),
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          url: body.url,
          description: body.description ?? null,
          enabledEvents: JSON.stringify([...new Set(body.enabled_events)]),
          metadata: JSON.stringify(body.metadata ?? {}),
          status: "enabled",
          disabledReason: null,
          secret: await seal(secret, config(c.env).encryptionKey),
          previousSecret: null,
          previousSecretExpires: null,
          olderSecrets: null,
          created: now,
          updated: now,
        };
        await db(c.env.DB).insert(webhookEndpoints).values(row);
        audit(auditContext(c), principal, { action: "webhook_endpoints.create", objectType: "webhook_endpoint", objectId: row.id, statusAfter: "enabled", httpStatus: 200 });
        return { status: 200, body: renderEndpoint(row, { secret }) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/webhook_endpoints", permission: "webhooks.manage", summary: "List webhook endpoints", tag: TAG, query: EndpointListQuery, response: listOf(WebhookEndpointSchema, "WebhookEndpointList") },
    async (c, { query, principal }) => {
      expandPaths(query.expand, "webhook_endpoint", true);
      const page = await pageOf(c.env.DB, ENDPOINTS, principal, [], pageRequest(query), (where, order, limit) =>
        db(c.env.DB).select().from(webhookEndpoints).where(where).orderBy(...order).limit(limit),
      );
      return json(c, listObject("/v1/webhook_endpoints", page, (row) => renderEndpoint(row)));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/webhook_endpoints/{id}", permission: "webhooks.manage", summary: "Retrieve a webhook endpoint, with its last 24 hours of delivery statistics", tag: TAG, query: f.expandQuery, response: WebhookEndpointSchema },
    async (c, { params, query, principal }) => {
      expandPaths(query.expand, "webhook_endpoint");
      const row = await endpointOr404(c.env.DB, principal, params.id ?? "");
      return json(c, renderEndpoint(row, { delivery_stats: await endpointStats(c.env.DB, row.id, Date.now()) }));
    },
  );

  route(
    app,
    { method: "post", path: "/v1/webhook_endpoints/{id}", permission: "webhooks.manage", summary: "Update a webhook endpoint (url, events, description, metadata, disabled)", tag: TAG, body: UpdateBody, response: WebhookEndpointSchema },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "webhook_endpoints.update", id, body, async () => {
        // Computed on the endpoint as read and written only if it is still that endpoint: a concurrent
        // update, a secret rolled or the endpoint disabled by a 410 meanwhile are never written back
        // from a stale read (it is read and computed again).
        const written = await writeCompared(c.env, {
          table: webhookEndpoints,
          resource: "webhook_endpoint",
          id,
          read: () => endpointOr404(c.env.DB, principal, id),
          plan: async (row) => {
            const changes: Partial<typeof webhookEndpoints.$inferSelect> = {};
            if (body.url !== undefined) {
              assertWebhookUrl(body.url, principal.livemode, isDevelopment(c.env));
              changes.url = body.url;
            }
            if (body.enabled_events !== undefined) changes.enabledEvents = JSON.stringify([...new Set(body.enabled_events)]);
            // Where the events go, or which go there: the caller must be able to read what it would receive.
            if (body.url !== undefined || body.enabled_events !== undefined) assertMaySubscribe(principal, body.enabled_events ?? parseEndpointEvents(row));
            if (body.description !== undefined) changes.description = body.description;
            if (body.disabled !== undefined) {
              changes.status = body.disabled ? "disabled" : "enabled";
              changes.disabledReason = body.disabled ? "Disabled by the merchant." : null;
            }
            // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
            if (body.metadata) changes.metadata = JSON.stringify(mergeMetadata(JSON.parse(row.metadata) as Metadata, body.metadata));
            return Object.keys(changes).length === 0 ? undefined : { changes: { ...changes, updated: Date.now() } };
          },
          event: null,
        });
        return { status: 200, body: renderEndpoint(written) };
      });
    },
  );

  route(
    app,
    { method: "delete", path: "/v1/webhook_endpoints/{id}", permission: "webhooks.manage", summary: "Delete a webhook endpoint; its pending deliveries are canceled", tag: TAG, response: z.object({ id: z.string(), object: z.literal("webhook_endpoint"), deleted: z.literal(true) }) },
    async (c, { params, principal }) => {
      const row = await endpointOr404(c.env.DB, principal, params.id ?? "");
      const now = Date.now();
      await db(c.env.DB).batch([
        db(c.env.DB).delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id)),
        db(c.env.DB)
          .update(webhookDeliveries)
          .set({ status: "canceled", lastError: "the endpoint was deleted", updated: now, completed: now })
          .where(and(eq(webhookDeliveries.endpointId, row.id), eq(webhookDeliveries.status, "pending"))),
      ]);
      audit(auditContext(c), principal, { action: "webhook_endpoints.delete", objectType: "webhook_endpoint", objectId: row.id, statusBefore: row.status, statusAfter: "deleted", httpStatus: 200 });
      return json(c, { id: row.id, object: "webhook_endpoint", deleted: true });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/webhook_endpoints/{id}/roll_secret",
      permission: "webhooks.manage",
      summary: "Roll the signing secret; the old one stays valid for `expires_in` seconds (default and at most 24 h)",
      tag: TAG,
      body: RollBody,
      response: WebhookEndpointSchema,
    },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "webhook_endpoints.roll_secret", id, body, async () => {
        const secret = newSigningSecret();
        const sealed = await seal(secret, config(c.env).encryptionKey);
        const overlapMs = (body.expires_in ?? MAX_OVERLAP_S) * 1000;
        let next: EndpointRow | undefined;
        let row = await endpointOr404(c.env.DB, principal, id);
        // Only the secrets are written, and only over the secret read (compare and swap; another roll
        // meanwhile: read again): the secret replaced keeps verifying for the overlap even if another
        // roll made it after this read (it is the one its caller holds), and an update meanwhile is never
        // written back. With an overlap, the secrets replaced before it that are still in theirs keep
        // signing until their own expiry (a receiver may still hold any of them: a second roll within a
        // day, or a roll sent again after its answer was lost); expires_in=0 ends all of them at once.
        for (let attempt = 0; ; attempt++) {
          const now = Date.now();
          const older = overlapMs > 0 ? retiredSecrets(row, now).slice(0, MAX_OLDER_SECRETS) : [];
          [next] = await db(c.env.DB)
            .update(webhookEndpoints)
            .set({
              secret: sealed,
              previousSecret: overlapMs > 0 ? row.secret : null,
              previousSecretExpires: overlapMs > 0 ? now + overlapMs : null,
              olderSecrets: older.length > 0 ? JSON.stringify(older) : null,
              updated: now,
            })
            .where(and(eq(webhookEndpoints.id, row.id), eq(webhookEndpoints.secret, row.secret)))
            .returning();
          if (next || attempt >= 4) break;
          row = await endpointOr404(c.env.DB, principal, id);
        }
        if (!next) throw new ApiError({ status: 409, type: "invalid_request_error", code: "secret_roll_conflict", message: "The endpoint's secret kept being rolled by other requests meanwhile; nothing was changed. Roll it again." });
        audit(auditContext(c), principal, { action: "webhook_endpoints.roll_secret", objectType: "webhook_endpoint", objectId: row.id, httpStatus: 200, details: { overlap_seconds: overlapMs / 1000 } });
        return { status: 200, body: renderEndpoint(next, { secret, secret_rolled_previous_expires_at: next.previousSecretExpires === null ? null : seconds(next.previousSecretExpires) }) };
      });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/webhook_endpoints/{id}/deliveries",
      permission: "webhooks.manage",
      summary: "An endpoint's deliveries, newest first, each with every attempt (time, status code, latency, error, next retry)",
      tag: TAG,
      query: DeliveriesQuery,
      response: listOf(WebhookDeliverySchema, "WebhookDeliveryList"),
    },
    async (c, { params, query, principal }) => {
      const row = await endpointOr404(c.env.DB, principal, params.id ?? "");
      const filters = [eq(webhookDeliveries.endpointId, row.id), ...(query.status ? [eq(webhookDeliveries.status, query.status)] : [])];
      return json(c, await deliveriesPage(c.env.DB, principal, filters, pageRequest(query), `/v1/webhook_endpoints/${row.id}/deliveries`));
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/webhook_endpoints/{id}/replay",
      permission: "webhooks.manage",
      summary:
        "Re-send an endpoint's deliveries created in a range (`created[gte]`, `created[lte]` in Unix seconds, at most 14 days, not in the future), oldest first, at most 500 a call; `status` failed (the default: those that did not succeed) or all",
      tag: TAG,
      body: ReplayBody,
      response: ReplaySchema,
    },
    async (c, { params, body, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "webhook_endpoints.replay", id, body, async () => {
        const row = await endpointOr404(c.env.DB, principal, id);
        if (row.status === "disabled") throw invalidRequest("This webhook endpoint is disabled; enable it before replaying its deliveries.", undefined, "webhook_endpoint_disabled");
        const replayed = await replay(c.env, row, body, (type) => mayGetEvent(principal, type));
        audit(auditContext(c), principal, {
          action: "webhook_endpoints.replay",
          objectType: "webhook_endpoint",
          objectId: row.id,
          httpStatus: 200,
          details: { gte: body.created.gte, lte: body.created.lte ?? null, status: body.status ?? "failed", requested: replayed.requested },
        });
        return { status: 200, body: replayed };
      });
    },
  );

  route(
    app,
    { method: "post", path: "/v1/webhook_deliveries/{id}/retry", permission: "webhooks.manage", summary: "Re-send a delivery now (one attempt, whatever its status)", tag: TAG, body: z.object({}).strict(), response: WebhookDeliverySchema },
    async (c, { params, principal }) => {
      const id = params.id ?? "";
      return idempotentD1(c, principal, "webhook_deliveries.retry", id, {}, async () => {
        if (!hasPrefix(id, "wd")) throw resourceMissing("webhook_delivery", id.slice(0, 80), "id");
        const [row] = await db(c.env.DB)
          .select()
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.merchantId, principal.merchantId), eq(webhookDeliveries.livemode, principal.livemode)))
          .limit(1);
        // Its event goes to the endpoint's URL, which the caller may have just changed: only an event it may read.
        if (!row || !mayGetEvent(principal, row.eventType)) throw resourceMissing("webhook_delivery", id, "id");
        const retried = await resend(c.env, row);
        audit(auditContext(c), principal, {
          action: "webhook_deliveries.retry",
          objectType: "webhook_delivery",
          objectId: row.id,
          statusBefore: row.status,
          statusAfter: retried.status,
          httpStatus: 200,
          details: { event: row.eventId, event_type: row.eventType, webhook_endpoint: row.endpointId },
        });
        const attempts = await attemptsOf(c.env.DB, [row.id]);
        return { status: 200, body: renderDelivery(retried, attempts.get(row.id) ?? []) };
      });
    },
  );
}

/** Queues one more attempt of a delivery now, outside its schedule. */
export async function resend(env: Env, row: DeliveryRow): Promise<DeliveryRow> {
  const [next] = await resendAll(env, [row]);
  if (!next) throw invalidRequest("This delivery is being attempted right now; retry when it is done.", undefined, "delivery_in_progress");
  return next;
}

// D1 binds at most 100 parameters a statement: the ids plus the few of the update.
const RESEND_CHUNK = 80;

/**
 * Queues one more attempt of each delivery now, outside its schedule, and answers the re-sent rows in
 * the order given. A delivery being attempted right now (pending and leased) is left alone: the lease
 * is checked in the update itself, so a consumer that claims it meanwhile wins. A finished delivery
 * gets one more attempt; a pending one keeps its schedule if this attempt fails.
 */
async function resendAll(env: Env, rows: readonly DeliveryRow[]): Promise<DeliveryRow[]> {
  const now = Date.now();
  const sent = new Map<string, DeliveryRow>();
  for (let i = 0; i < rows.length; i += RESEND_CHUNK) {
    const ids = rows.slice(i, i + RESEND_CHUNK).map((r) => r.id);
    const updated = await db(env.DB)
      .update(webhookDeliveries)
      .set({
        status: "pending",
        // SQLite evaluates the whole SET against the row as it was.
        retrying: sql`CASE WHEN status = 'pending' THEN retrying ELSE 0 END`,
        nextAttemptAt: now,
        leaseUntil: null,
        updated: now,
        completed: null,
      })
      .where(
        and(
          inArray(webhookDeliveries.id, ids),
          or(ne(webhookDeliveries.status, "pending"), isNull(webhookDeliveries.leaseUntil), lte(webhookDeliveries.leaseUntil, now)),
        ),
      )
      .returning();
    if (updated.length) await env.WEBHOOK_QUEUE.sendBatch(updated.map((r) => ({ body: { deliveryId: r.id, attempt: r.attempts + 1 } })));
    for (const r of updated) sent.set(r.id, r);
  }
  return rows.flatMap((r) => sent.get(r.id) ?? []);
}

/**
 * Re-sends the endpoint's deliveries created in [gte, lte] (seconds, inclusive; lte defaults to now),
 * oldest first, at most 500, through the (endpoint_id, created, id) index. `starting_after` (a
 * delivery of this endpoint) continues a range that had more.
 */
/**
 * Re-sends an endpoint's deliveries in a range. `mayRead` says which events the caller may see: only
 * those are sent (the endpoint's URL may be one the caller just set).
 */
export async function replay(env: Env, endpoint: EndpointRow, body: z.output<typeof ReplayBody>, mayRead: (eventType: string) => boolean = () => true): Promise<WebhookReplayJson> {
  const nowS = seconds(Date.now());
  const from = body.created.gte;
  const to = body.created.lte ?? nowS;
  if (from > nowS) throw invalidRequest("Invalid created[gte]: must not be in the future.", "created[gte]");
  if (to > nowS) throw invalidRequest("Invalid created[lte]: must not be in the future.", "created[lte]");
  if (from > to) throw invalidRequest("Invalid created[gte]: must not be after created[lte].", "created[gte]");
  if (to - from > MAX_REPLAY_RANGE_S) throw invalidRequest(`Invalid created: the range must be at most 14 days (${MAX_REPLAY_RANGE_S} seconds).`, "created[lte]");
  const d = db(env.DB);
  const t = webhookDeliveries;
  const filters: SQL[] = [eq(t.endpointId, endpoint.id), gte(t.created, from * 1000), lte(t.created, to * 1000 + 999)];
  if ((body.status ?? "failed") === "failed") filters.push(ne(t.status, "succeeded"));
  if (body.starting_after !== undefined) {
    const [cursor] = hasPrefix(body.starting_after, "wd")
      ? await d.select({ id: t.id, created: t.created }).from(t).where(and(eq(t.id, body.starting_after), eq(t.endpointId, endpoint.id))).limit(1)
      : [];
    if (!cursor) throw resourceMissing("webhook_delivery", body.starting_after.slice(0, 80), "starting_after");
    const after = or(gt(t.created, cursor.created), and(eq(t.created, cursor.created), gt(t.id, cursor.id)));
    if (after) filters.push(after);
  }
  const rows = await d
    .select()
    .from(t)
    .where(and(...filters))
    .orderBy(asc(t.created), asc(t.id))
    .limit(MAX_REPLAY + 1);
  const sent = await resendAll(env, rows.slice(0, MAX_REPLAY).filter((r) => mayRead(r.eventType)));
  return { object: "webhook_replay", endpoint: endpoint.id, requested: sent.length, has_more: rows.length > MAX_REPLAY, deliveries: sent.map((r) => r.id) };
}
