// The webhook queue's consumer: one attempt of one delivery. The attempt is claimed in D1 first (so
// a duplicate message cannot make it twice), the event is POSTed signed with a timeout, the attempt
// is recorded, and a failure is re-queued with the schedule's delay (and jitter), honouring
// Retry-After. 410 Gone disables the endpoint. A delivery out of attempts is marked failed and sent to
// the dead-letter queue.
import { and, eq, isNull, lt, lte, or, sql, type Placeholder } from "drizzle-orm";
import { GATEWAY_API_VERSION } from "../core/api-version";
import { renderEvent } from "../core/events";
import { webhookBody } from "../core/surface-events";
import { merchantSettings } from "../db/merchants";
import { randomId } from "../core/ids";
import type { EventRecord } from "../core/types";
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { config, isDevelopment, type Env } from "../env";
import { log } from "../log";
import type { DeliveryMessage } from "./messages";
import { signPayload } from "./signing";
import { db, signingSecrets, type DeliveryRow, type EndpointRow } from "./store";
import { eventFromRow, eventRow, type EventRow } from "../db/event-row";
import { fieldsOf, prepared, rowOf, statementOf } from "../db/prepared";
import { webhookUrlProblem } from "./url-guard";
import { directoryDb } from "../db/shards";

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
  /** The endpoint did not answer within the timeout. */
  timedOut?: boolean;
  error: string | null;
  retryAfterMs: number | null;
  latencyMs: number;
}

/** The most of an answer's body read (its start kept for the attempt's error); the rest is cancelled. */
const ANSWER_READ_BYTES = 64 * 1024;

/**
 * Reads an answer's body to its end when it is short, so the connection goes back to the pool for the
 * next POST to the same endpoint (cancelling a body closes its connection: profiled under load, the
 * cancel and the new connection it makes the next POST open cost more of the Worker's thread than
 * the rest of an attempt). A longer body is cut at ANSWER_READ_BYTES and cancelled. Returns the
 * first `keep` characters of the text read.
 */
async function readAnswer(res: Response, keep: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      if (text.length < keep) text += decoder.decode(value, { stream: true });
      if (read > ANSWER_READ_BYTES) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch {
    // a body that broke off: what was read is kept
  }
  return text.slice(0, keep);
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<AttemptResult> {
  const started = Date.now();
  try {
    const res = await fetch(url, { method: "POST", body, headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    let error: string | null = null;
    const ok = res.status >= 200 && res.status < 300;
    const text = await readAnswer(res, ok ? 0 : 200);
    if (!ok) error = `HTTP ${res.status}${text ? `: ${text}` : ""}`;
    return { statusCode: res.status, error, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()), latencyMs: Date.now() - started };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      statusCode: null,
      timedOut,
      error: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300),
      retryAfterMs: null,
      latencyMs: Date.now() - started,
    };
  }
}

/** One attempt's work once its delivery is claimed. */
interface Claimed {
  msg: DeliveryMessage;
  row: DeliveryRow;
}

/**
 * Deliveries POSTed at once within a batch. Deployed, a Worker invocation has at most 6 connections
 * waiting for response headers; a seventh fetch waits in the runtime while its timeout already runs,
 * so more lanes would only time out healthy endpoints behind slow ones (`wrangler dev` has no such cap).
 */
export const DELIVERY_CONCURRENCY = 6;
/**
 * Each endpoint's own lanes of them, so one slow endpoint cannot hold every connection; an endpoint
 * that has answered in the batch also takes the lanes no other delivery can use (`boundedByKey`).
 */
export const DELIVERY_CONCURRENCY_PER_ENDPOINT = 2;
/** A list in pieces of `size` (a queue takes at most 100 messages a send). */
function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Runs `work` over `items` in their order, at most `total` at a time. Each key gets `perKey` lanes: an
 * item whose key has that many running waits while later items of other keys go ahead. Lanes that no
 * waiting item can take that way go to keys that have answered in this run (one of their items has
 * finished), evenly between them: a responsive endpoint may use every lane the others leave, while
 * one that has not answered yet (a hanging endpoint) never holds more than `perKey`. Whenever a lane
 * frees, an item under its key's `perKey` comes first. Rejects with the first failure (the items
 * already started still finish).
 */
export function boundedByKey<T>(items: readonly T[], keyOf: (item: T) => string, total: number, perKey: number, work: (item: T) => Promise<void>): Promise<void> {
  const waiting = [...items];
  const busy = new Map<string, number>();
  const answered = new Set<string>();
  let active = 0;
  return new Promise((resolve, reject) => {
    const start = (i: number, key: string) => {
      const item = waiting[i] as T;
      waiting.splice(i, 1);
      active++;
      busy.set(key, (busy.get(key) ?? 0) + 1);
      work(item).then(() => {
        active--;
        busy.set(key, (busy.get(key) ?? 1) - 1);
        answered.add(key);
        pump();
      }, reject);
    };
    // In order, every waiting item whose key has fewer than `perKey` running, while lanes are free.
    const ownLanes = () => {
      for (let i = 0; i < waiting.length && active < total; ) {
        const key = keyOf(waiting[i] as T);
        if ((busy.get(key) ?? 0) < perKey) start(i, key);
        else i++;
      }
    };
    // The lanes left over, one at a time, each to the answered key with the fewest running (the
    // first in order among equals), so that two answering endpoints share them evenly.
    const share = () => {
      while (active < total) {
        let best = -1;
        let fewest = Infinity;
        for (let i = 0; i < waiting.length; i++) {
          const key = keyOf(waiting[i] as T);
          const running = busy.get(key) ?? 0;
          if (answered.has(key) && running < fewest) {
            best = i;
            fewest = running;
          }
        }
        if (best < 0) return;
        start(best, keyOf(waiting[best] as T));
      }
    };
    const pump = () => {
      if (waiting.length === 0 && active === 0) return resolve();
      ownLanes();
      share();
    };
    pump();
  });
}

// The consumer's statements, built once (src/db/prepared.ts): drizzle building a claim, an attempt and an
// outcome for every message was most of a batch's own CPU (profiled during a webhook run).

/**
 * Claims one attempt: due (a wait longer than a queue delay may be is re-sent instead), or claimed
 * before by a consumer that did not finish and whose lease is over. Of two messages for the same
 * attempt exactly one gets the row back.
 */
const claimDelivery = prepared<"id" | "attempt" | "previous" | "lease" | "now" | "dueBy">((d, p) =>
  d
    .update(webhookDeliveries)
    .set({ attempts: sql`${p("attempt")}`, leaseUntil: sql`${p("lease")}`, updated: sql`${p("now")}` })
    .where(
      and(
        eq(webhookDeliveries.id, p("id")),
        eq(webhookDeliveries.status, "pending"),
        or(
          and(eq(webhookDeliveries.attempts, p("previous")), or(isNull(webhookDeliveries.nextAttemptAt), lte(webhookDeliveries.nextAttemptAt, p("dueBy")))),
          and(eq(webhookDeliveries.attempts, p("attempt")), lt(webhookDeliveries.leaseUntil, p("now"))),
        ),
      ),
    )
    .returning(),
);

/** The batch's deliveries, as one JSON array of ids (one bound value whatever the batch's size). */
const batchDeliveries = (ids: Placeholder) => sql`(select value from json_each(${ids}))`;

const deliveriesById = prepared<"ids">((d, p) => d.select().from(webhookDeliveries).where(sql`${webhookDeliveries.id} in ${batchDeliveries(p("ids"))}`));

const endpointsOfDeliveries = prepared<"ids">((d, p) =>
  d
    .select()
    .from(webhookEndpoints)
    .where(sql`${webhookEndpoints.id} in (select endpoint_id from webhook_deliveries where id in ${batchDeliveries(p("ids"))})`),
);

const eventsOfDeliveries = prepared<"ids">((d, p) =>
  d
    .select(eventRow)
    .from(events)
    .where(sql`${events.id} in (select event_id from webhook_deliveries where id in ${batchDeliveries(p("ids"))})`),
);

/**
 * How many deliveries of each of the batch's events are pending: a range of each event's deliveries
 * (webhook_deliveries_event_endpoint), each tested for its status. Written `+status`, the status term
 * cannot lead the planner to walk every pending delivery of every merchant (through the status index
 * it then had), which it did.
 */
const pendingOfDeliveries = prepared<"ids">((d, p) =>
  d
    .select({ eventId: webhookDeliveries.eventId, n: sql<number>`count(*)`.as("n") })
    .from(webhookDeliveries)
    .where(
      and(
        sql`${webhookDeliveries.eventId} in (select event_id from webhook_deliveries where id in ${batchDeliveries(p("ids"))})`,
        sql`+${webhookDeliveries.status} = 'pending'`,
      ),
    )
    .groupBy(webhookDeliveries.eventId),
);

const insertAttempt = prepared<"id" | "deliveryId" | "endpointId" | "attempt" | "started" | "statusCode" | "latencyMs" | "error" | "succeeded" | "nextRetryAt">((d, p) =>
  d.insert(webhookAttempts).values({
    id: p("id"),
    deliveryId: p("deliveryId"),
    endpointId: p("endpointId"),
    attempt: p("attempt"),
    started: p("started"),
    statusCode: p("statusCode"),
    latencyMs: p("latencyMs"),
    error: p("error"),
    succeeded: p("succeeded"),
    nextRetryAt: p("nextRetryAt"),
  }),
);

/** An attempt's outcome, only while it is still the delivery's latest: an older attempt's late outcome never overwrites a newer one's. */
const recordOutcome = prepared<"id" | "attempt" | "status" | "nextAttemptAt" | "lastStatusCode" | "lastError" | "updated" | "completed">((d, p) =>
  d
    .update(webhookDeliveries)
    .set({
      status: sql`${p("status")}`,
      nextAttemptAt: sql`${p("nextAttemptAt")}`,
      leaseUntil: null,
      lastStatusCode: sql`${p("lastStatusCode")}`,
      lastError: sql`${p("lastError")}`,
      updated: sql`${p("updated")}`,
      completed: sql`${p("completed")}`,
    })
    .where(and(eq(webhookDeliveries.id, p("id")), eq(webhookDeliveries.attempts, p("attempt")))),
);

/** One attempt of one delivery (the queue consumer makes a batch's attempts together: deliverAttempts). */
export async function deliverAttempt(env: Env, msg: DeliveryMessage): Promise<void> {
  await deliverAttempts(env, [msg]);
}

/**
 * The attempts of a batch of messages. D1 is asked twice per batch, not several times per message:
 * every claim (each its own conditional update, so of two messages for the same attempt exactly one
 * wins, as before) with the deliveries' endpoints, events and pending counts in one batch, and every
 * outcome in one batch (the rows of messages not claimed are read once more, to re-send early ones). The POSTs run concurrently
 * (at most DELIVERY_CONCURRENCY at once; DELIVERY_CONCURRENCY_PER_ENDPOINT to one endpoint, more when it has answered and no other delivery can use the lane). Throws when D1 fails: the caller retries the whole batch,
 * and the claims keep each attempt to one POST.
 */
export async function deliverAttempts(env: Env, msgs: DeliveryMessage[]): Promise<void> {
  if (msgs.length === 0) return;
  const cfg = config(env);
  const d = db(env.DB);
  const now = Date.now();
  const ids = [...new Set(msgs.map((m) => m.deliveryId))];
  // The lease covers the whole batch: its POSTs run DELIVERY_CONCURRENCY at a time, so the last one may
  // start only after ceil(n / DELIVERY_CONCURRENCY) rounds of timeouts. A lease of one timeout lapsed
  // under slow endpoints while deliveries still waited for a lane, and the cron re-sent them meanwhile.
  const lease = now + Math.ceil(msgs.length / DELIVERY_CONCURRENCY) * cfg.webhookTimeoutMs + 30_000;
  // Round trip 1: every claim (each its own conditional update: of two messages for the same attempt
  // exactly one wins), then the endpoints, events and pending counts of the batch's deliveries.
  const claimStatements = msgs.map((msg) =>
    claimDelivery(env.DB, { id: msg.deliveryId, attempt: msg.attempt, previous: msg.attempt - 1, lease, now, dueBy: now + 1000 }),
  );
  const idList = JSON.stringify(ids);
  const results = await env.DB.batch<Record<string, unknown>>([
    ...claimStatements,
    endpointsOfDeliveries(env.DB, { ids: idList }),
    eventsOfDeliveries(env.DB, { ids: idList }),
    pendingOfDeliveries(env.DB, { ids: idList }),
  ]);
  const claimed: Claimed[] = [];
  const unclaimed: DeliveryMessage[] = [];
  msgs.forEach((msg, i) => {
    const raw = results[i]?.results[0];
    if (raw) claimed.push({ msg, row: rowOf(webhookDeliveries, raw) });
    else unclaimed.push(msg);
  });
  const endpoints = new Map<string, EndpointRow>();
  const eventsById = new Map<string, EventRecord>();
  const pending = new Map<string, number>();
  const at = msgs.length;
  for (const raw of results[at]?.results ?? []) {
    const e = rowOf(webhookEndpoints, raw);
    endpoints.set(e.id, e);
  }
  for (const raw of results[at + 1]?.results ?? []) {
    const e = fieldsOf(eventRow, raw) as unknown as EventRow;
    eventsById.set(e.id, eventFromRow(e));
  }
  for (const raw of results[at + 2]?.results ?? []) pending.set(String(raw.event_id), Number(raw.n));

  // Messages not claimed: made already or being made (dropped), or early: the wait was longer than a
  // queue delay may be, so it is re-sent for the rest (only these rows are read again).
  if (unclaimed.length > 0) {
    const rows = new Map<string, DeliveryRow>();
    const reread = await deliveriesById(env.DB, { ids: JSON.stringify([...new Set(unclaimed.map((m) => m.deliveryId))]) }).all<Record<string, unknown>>();
    for (const raw of reread.results) {
      const row = rowOf(webhookDeliveries, raw);
      rows.set(row.id, row);
    }
    const early = unclaimed.flatMap((msg) => {
      const row = rows.get(msg.deliveryId);
      return row && row.status === "pending" && row.attempts === msg.attempt - 1 && row.nextAttemptAt !== null && row.nextAttemptAt > now + 1000
        ? [{ body: msg, delaySeconds: delaySeconds(row.nextAttemptAt - now) }]
        : [];
    });
    for (const part of chunks(early, 100)) await env.WEBHOOK_QUEUE.sendBatch(part);
  }
  if (claimed.length === 0) return;

  const outcomes: D1PreparedStatement[] = [];
  const retries: { body: DeliveryMessage; delaySeconds: number }[] = [];
  const deadLetters: { body: DeliveryMessage }[] = [];
  // An endpoint that timed out in this batch gets no more POSTs from it: its other deliveries are
  // handed back unattempted (their claim undone) and come again after the first retry delay, so a
  // hanging endpoint costs the batch one timeout, not one per delivery.
  const tripped = new Set<string>();
  const deferred: Claimed[] = [];
  // Per batch: each endpoint's secrets unsealed once, each merchant's version read once.
  const secrets = new Map<string, Promise<string[]>>();
  const versions = new Map<string, Promise<string>>();
  const secretsOf = (endpoint: EndpointRow) => {
    let s = secrets.get(endpoint.id);
    if (!s) secrets.set(endpoint.id, (s = signingSecrets(endpoint, cfg.encryptionKey, now)));
    return s;
  };
  const versionOf = (merchantId: string) => {
    let v = versions.get(merchantId);
    if (!v) versions.set(merchantId, (v = merchantSettings(directoryDb(env), merchantId).then((s) => s.api_version ?? GATEWAY_API_VERSION)));
    return v;
  };

  await boundedByKey(claimed, (c) => c.row.endpointId, DELIVERY_CONCURRENCY, DELIVERY_CONCURRENCY_PER_ENDPOINT, async ({ msg, row }) => {
    const endpoint = endpoints.get(row.endpointId);
    const event = eventsById.get(row.eventId);
    if (!endpoint || endpoint.status !== "enabled" || event === undefined) {
      outcomes.push(
        statementOf(
          env.DB,
          d
            .update(webhookDeliveries)
            // Nothing was sent: the claim's count goes back to the attempts actually made.
            .set({ status: "canceled", attempts: msg.attempt - 1, lastError: endpoint ? "the endpoint is disabled" : "the endpoint or event no longer exists", leaseUntil: null, updated: now, completed: now })
            .where(eq(webhookDeliveries.id, row.id)),
        ),
      );
      return;
    }
    if (tripped.has(endpoint.id)) {
      deferred.push({ msg, row });
      return;
    }
    // Rendered with the merchant's default Stripe API version (the gateway's when it has none).
    const body = webhookBody(renderEvent(event, pending.get(event.id) ?? 0, await versionOf(event.merchantId)));
    const signed = await signPayload(event.id, body, await secretsOf(endpoint), Math.floor(Date.now() / 1000));
    // The URL was checked when it was set; check it again, so that a rule tightened since then holds.
    const refused = webhookUrlProblem(endpoint.url, endpoint.livemode, isDevelopment(env));
    const started = Date.now();
    const result: AttemptResult = refused
      ? { statusCode: null, error: `not sent: ${refused.message}`, retryAfterMs: null, latencyMs: 0 }
      : await post(endpoint.url, body, { "content-type": "application/json", "user-agent": USER_AGENT, ...signed }, cfg.webhookTimeoutMs);

    const done = Date.now();
    if (result.timedOut) tripped.add(endpoint.id);
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
    outcomes.push(
      insertAttempt(env.DB, {
        id: randomId("wa"),
        deliveryId: row.id,
        endpointId: endpoint.id,
        attempt: msg.attempt,
        started,
        statusCode: result.statusCode,
        latencyMs: result.latencyMs,
        error: result.error,
        succeeded,
        nextRetryAt: nextAttemptAt,
      }),
      recordOutcome(env.DB, {
        id: row.id,
        attempt: msg.attempt,
        status,
        nextAttemptAt,
        lastStatusCode: result.statusCode,
        lastError: result.error,
        updated: done,
        completed: status === "pending" ? null : done,
      }),
    );
    if (gone) {
      outcomes.push(
        statementOf(
          env.DB,
          d.update(webhookEndpoints).set({ status: "disabled", disabledReason: "The endpoint answered 410 Gone.", updated: done }).where(eq(webhookEndpoints.id, endpoint.id)),
        ),
      );
    }
    if (wait !== null) retries.push({ body: { deliveryId: row.id, attempt: msg.attempt + 1 }, delaySeconds: delaySeconds(wait) });
    else if (status === "failed" && row.retrying && !gone) {
      log("warn", "webhook delivery exhausted its attempts", { delivery: row.id, endpoint: endpoint.id, event: event.id, attempts: msg.attempt });
      deadLetters.push({ body: msg });
    }
  });

  if (deferred.length > 0) {
    const deferMs = retryDelay(cfg.webhookRetrySchedule, 1, null);
    const at = Date.now();
    log("warn", "webhook endpoint timed out: the rest of its deliveries in this batch wait for the next try", { endpoints: [...tripped], deferred: deferred.length });
    for (const { msg, row } of deferred) {
      outcomes.push(
        statementOf(
          env.DB,
          d
            .update(webhookDeliveries)
            .set({ attempts: msg.attempt - 1, leaseUntil: null, nextAttemptAt: at + deferMs, updated: at })
            .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.attempts, msg.attempt))),
        ),
      );
      retries.push({ body: msg, delaySeconds: delaySeconds(deferMs) });
    }
  }
  if (outcomes.length > 0) await env.DB.batch(outcomes);
  for (const part of chunks(retries, 100)) await env.WEBHOOK_QUEUE.sendBatch(part);
  for (const part of chunks(deadLetters, 100)) await env.WEBHOOK_DLQ.sendBatch(part);
}

/**
 * The dead-letter queue's consumer. A delivery that ran out of attempts was marked failed before its
 * message was sent here: it is flagged dead-lettered (and stays replayable). A message the queue
 * itself gave up on (the consumer failed on its batch max_retries times, say while D1 was
 * unavailable) ends nothing: its delivery is still pending with attempts left, or was re-sent by hand
 * meanwhile, and the cron sweep (requeueOverdue) queues it again once it is overdue. Marking such a
 * delivery failed stopped it for good after a minute's outage, before it was ever attempted.
 */
export async function markDeadLettered(env: Env, msg: DeliveryMessage): Promise<void> {
  const now = Date.now();
  const flagged = await db(env.DB)
    .update(webhookDeliveries)
    .set({ deadLettered: true, leaseUntil: null, updated: now })
    .where(and(eq(webhookDeliveries.id, msg.deliveryId), eq(webhookDeliveries.status, "failed")))
    .returning({ id: webhookDeliveries.id });
  if (flagged.length === 0) {
    log("error", "a webhook delivery's message reached the dead-letter queue though the delivery had not failed: left as it is (a pending one is re-sent by the cron sweep)", {
      delivery: msg.deliveryId,
      attempt: msg.attempt,
    });
  }
}
