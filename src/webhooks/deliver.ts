// The webhook queue's consumer: one attempt of one delivery. The attempt is claimed in D1 first (so
// a duplicate message cannot make it twice), the event is POSTed signed with a timeout, the attempt
// is recorded, and a failure is re-queued with the schedule's delay (and jitter), honouring
// Retry-After. 410 Gone disables the endpoint. A delivery out of attempts is marked failed and sent to
// the dead-letter queue.
import { and, eq, lt, or } from "drizzle-orm";
import { GATEWAY_API_VERSION } from "../core/api-version";
import { renderEvent } from "../core/events";
import { merchantSettings } from "../db/merchants";
import { randomId } from "../core/ids";
import type { EventRecord } from "../core/types";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { config, type Env } from "../env";
import { log } from "../log";
import type { DeliveryMessage } from "./messages";
import { signPayload } from "./signing";
import { db, pendingDeliveries, signingSecrets } from "./store";
import { webhookUrlProblem } from "./url-guard";

/** Queues cannot delay a message by more than 12 hours; longer waits are re-sent on arrival. */
export const MAX_QUEUE_DELAY_S = 12 * 60 * 60;
const MAX_WAIT_MS = 24 * 60 * 60 * 1000;
const USER_AGENT = "EdgeGateway-Webhooks/1.0";

const delaySeconds = (ms: number) => Math.min(MAX_QUEUE_DELAY_S, Math.max(0, Math.round(ms / 1000)));

/** The wait before retry `n` (1-based): the schedule's delay plus up to 10% jitter, at least Retry-After. */
export function retryDelay(schedule: readonly number[], n: number, retryAfterMs: number | null, random = Math.random): number {
  const base = schedule[Math.min(n, schedule.length) - 1] ?? 0;
  const jittered = Math.round(base * (1 + random() * 0.1));
  return Math.min(MAX_WAIT_MS, Math.max(jittered, retryAfterMs ?? 0));
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  retryAfterMs: number | null;
  latencyMs: number;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<AttemptResult> {
  const started = Date.now();
  try {
    const res = await fetch(url, { method: "POST", body, headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    let error: string | null = null;
    if (res.status < 200 || res.status >= 300) {
      const text = (await res.text().catch(() => "")).slice(0, 200);
      error = `HTTP ${res.status}${text ? `: ${text}` : ""}`;
    } else {
      await res.body?.cancel();
    }
    return { statusCode: res.status, error, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()), latencyMs: Date.now() - started };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      statusCode: null,
      error: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300),
      retryAfterMs: null,
      latencyMs: Date.now() - started,
    };
  }
}

export async function deliverAttempt(env: Env, msg: DeliveryMessage): Promise<void> {
  const cfg = config(env);
  const d = db(env.DB);
  const now = Date.now();
  const [row] = await d.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, msg.deliveryId)).limit(1);
  if (!row || row.status !== "pending") return;
  if (row.attempts === msg.attempt - 1 && row.nextAttemptAt !== null && row.nextAttemptAt > now + 1000) {
    // Early: the wait was longer than a queue delay may be. Wait the rest.
    await env.WEBHOOK_QUEUE.send(msg, { delaySeconds: delaySeconds(row.nextAttemptAt - now) });
    return;
  }
  const lease = now + cfg.webhookTimeoutMs + 30_000;
  const claimed = await d
    .update(webhookDeliveries)
    .set({ attempts: msg.attempt, leaseUntil: lease, updated: now })
    .where(
      and(
        eq(webhookDeliveries.id, msg.deliveryId),
        eq(webhookDeliveries.status, "pending"),
        or(eq(webhookDeliveries.attempts, msg.attempt - 1), and(eq(webhookDeliveries.attempts, msg.attempt), lt(webhookDeliveries.leaseUntil, now))),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  if (claimed.length === 0) return; // made already, or being made by another consumer

  const [[endpoint], [eventRow]] = await Promise.all([
    d.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, row.endpointId)).limit(1),
    d.select({ data: events.data }).from(events).where(eq(events.id, row.eventId)).limit(1),
  ]);
  if (!endpoint || endpoint.status !== "enabled" || !eventRow) {
    await d
      .update(webhookDeliveries)
      .set({ status: "canceled", lastError: endpoint ? "the endpoint is disabled" : "the endpoint or event no longer exists", leaseUntil: null, updated: now, completed: now })
      .where(eq(webhookDeliveries.id, row.id));
    return;
  }

  const event = JSON.parse(eventRow.data) as EventRecord;
  // Rendered with the merchant's default Stripe API version (the gateway's when it has none).
  const apiVersion = (await merchantSettings(env.DB, event.merchantId)).api_version ?? GATEWAY_API_VERSION;
  const body = JSON.stringify(renderEvent(event, await pendingDeliveries(env.DB, event.id), apiVersion));
  const signed = await signPayload(event.id, body, await signingSecrets(endpoint, cfg.encryptionKey, now), Math.floor(Date.now() / 1000));
  // The URL was checked when it was set; check it again, so that a rule tightened since then holds.
  const refused = webhookUrlProblem(endpoint.url, endpoint.livemode);
  const result: AttemptResult = refused
    ? { statusCode: null, error: `not sent: ${refused.message}`, retryAfterMs: null, latencyMs: 0 }
    : await post(endpoint.url, body, { "content-type": "application/json", "user-agent": USER_AGENT, ...signed }, cfg.webhookTimeoutMs);

  const done = Date.now();
  const succeeded = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const gone = result.statusCode === 410;
  const exhausted = !row.retrying || msg.attempt > cfg.webhookRetrySchedule.length;
  const retryAfter = result.statusCode === 429 || result.statusCode === 503 ? result.retryAfterMs : null;
  const wait = succeeded || gone || exhausted ? null : retryDelay(cfg.webhookRetrySchedule, msg.attempt, retryAfter);
  const status = succeeded ? "succeeded" : wait === null ? "failed" : "pending";
  const nextAttemptAt = wait === null ? null : done + wait;
  log("info", "webhook delivery attempt", {
    delivery: row.id,
    endpoint: endpoint.id,
    event: event.id,
    event_type: event.type,
    attempt: msg.attempt,
    status_code: result.statusCode,
    outcome: status,
    duration_ms: result.latencyMs,
    error: result.error ? result.error.slice(0, 200) : null,
  });

  await d.batch([
    d.insert(webhookAttempts).values({
      id: randomId("wa"),
      deliveryId: row.id,
      endpointId: endpoint.id,
      attempt: msg.attempt,
      started: now,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error,
      succeeded,
      nextRetryAt: nextAttemptAt,
    }),
    d
      .update(webhookDeliveries)
      .set({
        status,
        nextAttemptAt,
        leaseUntil: null,
        lastStatusCode: result.statusCode,
        lastError: result.error,
        updated: done,
        completed: status === "pending" ? null : done,
      })
      .where(eq(webhookDeliveries.id, row.id)),
    ...(gone
      ? [
          d
            .update(webhookEndpoints)
            .set({ status: "disabled", disabledReason: "The endpoint answered 410 Gone.", updated: done })
            .where(eq(webhookEndpoints.id, endpoint.id)),
        ]
      : []),
  ]);

  if (wait !== null) {
    await env.WEBHOOK_QUEUE.send({ deliveryId: row.id, attempt: msg.attempt + 1 }, { delaySeconds: delaySeconds(wait) });
  } else if (status === "failed" && row.retrying && !gone) {
    log("warn", "webhook delivery exhausted its attempts", { delivery: row.id, endpoint: endpoint.id, event: event.id, attempts: msg.attempt });
    await env.WEBHOOK_DLQ.send(msg);
  }
}

/** The dead-letter queue's consumer: whatever ends there is marked failed, and stays replayable. */
export async function markDeadLettered(env: Env, msg: DeliveryMessage): Promise<void> {
  const now = Date.now();
  await db(env.DB)
    .update(webhookDeliveries)
    .set({ status: "failed", deadLettered: true, leaseUntil: null, updated: now, completed: now })
    .where(and(eq(webhookDeliveries.id, msg.deliveryId), or(eq(webhookDeliveries.status, "pending"), eq(webhookDeliveries.status, "failed"))));
}
