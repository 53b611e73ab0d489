// One D1 transaction per billing state change, with its events. A change is a conditional write (a
// version or status guard); its events are inserted right after it, each only if the statement before
// it changed a row (`changes() > 0`), so an event exists exactly when its change happened, in the same
// transaction. Events are stored "not fanned out" and handed to the events queue after the commit;
// should that hand-over fail, the cron sweep hands them over again (see refanEvents).
import { idempotencyKeyOf } from "../http/request-identity";
import { and, asc, eq, lt, sql } from "drizzle-orm";
import { advanceRound, afterCursor, roundCursor, type SweepRound } from "../db/rounds";
import type { EventType } from "../core/events";
import { derivedId, randomId } from "../core/ids";
import type { EventRecord, Scope } from "../core/types";
import { events } from "../db/schema";
import { eventData, eventFromRow, eventRow, HELD } from "../db/event-row";
import type { Env } from "../env";
import { log } from "../log";
import { paymentIntentOf } from "../webhooks/fanout";
import { db } from "./store";

/** Events of objects that live in D1 (billing objects, the catalog, Checkout Sessions), written with their change. */
export type BillingEventType = Extract<EventType, `customer.${string}` | `payment_method.${string}` | `invoice.${string}` | `checkout.session.${string}` | `product.${string}` | `price.${string}` | `setup_intent.${string}` | `test_helpers.${string}`>;

const eventSql = (guard: string, rows = 1, fannedOut = 0) =>
  `INSERT OR IGNORE INTO events (id, merchant_id, livemode, type, payment_intent, fanned_out, created, data) ${Array.from({ length: rows }, () => `SELECT ?, ?, ?, ?, ?, ${fannedOut}, ?, ? WHERE ${guard}`).join(" UNION ALL ")}`;

/*
 * HELD (src/db/event-row.ts), fanned_out of an event held back by the request that wrote it (migration
 * 0069): stored, but not handed to the queue, and not by the cron either (events_unfanned holds only 0),
 * nor shown to the merchant's reads (NOT_HELD), until it is released (0) by that request, by the change
 * that rewrites it (see Writes.releaseHeld), or by the cron once it has waited the cron's grace
 * (events_held): a request that died never loses it.
 */

type EventOptions = {
  guarded?: boolean;
  /** A guard of its own in place of `guarded`'s (each row's WHERE), with its binds. */
  guard?: { sql: string; binds: unknown[] };
  /** Stored held (HELD): not handed to the queue at commit; `held` lists them for the writer to release. */
  hold?: boolean;
  requestId?: string | null;
  previousAttributes?: Record<string, unknown>;
};

/**
 * The last time given to a billing event in this isolate. Events get strictly increasing times (as an
 * intent's do, src/intents/object.ts), so lists and webhook consumers, which order by (created, id),
 * see those written one after the other (invoice.payment_failed, invoice.marked_uncollectible, then the
 * subscription's change) in that order even within one millisecond.
 */
let lastEventMs = 0;

function eventTime(): number {
  lastEventMs = Math.max(Date.now(), lastEventMs + 1);
  return lastEventMs;
}

export class Writes {
  private readonly statements: D1PreparedStatement[] = [];
  private readonly eventAt: { index: number; event: EventRecord }[] = [];
  /** The events written held (see HELD), for the writer to release once it knows what they should say. */
  readonly held: EventRecord[] = [];

  constructor(
    private readonly d1: D1Database,
    private readonly scope: Scope,
  ) {}

  /** How many statements it holds: the index in `commit`'s answer of the next one added. */
  get size(): number {
    return this.statements.length;
  }

  /** A write; `guarded` makes it happen only if the statement before it changed a row. */
  add(sql: string, binds: unknown[]): this {
    this.statements.push(this.d1.prepare(sql).bind(...binds));
    return this;
  }

  /**
   * The event of the change just added: inserted only if that change (or the event before it, itself
   * so guarded) changed a row. `idParts` make the id: a retried change makes the same event, once.
   */
  async event(
    type: BillingEventType,
    object: object,
    idParts: string[] | null,
    options: EventOptions = {},
  ): Promise<this> {
    return this.events([{ type, object }], idParts, options);
  }

  /**
   * Events Stripe sends together for one change (invoice.created and invoice.finalized; invoice.paid
   * and invoice.payment_succeeded), written by one statement: each row guarded as `event` guards one,
   * on the statement before (so both or neither), and one statement of a sweep's budget
   * (src/db/budget.ts), as a single event is.
   */
  async events(
    list: readonly { type: BillingEventType; object: object }[],
    idParts: string[] | null,
    options: EventOptions = {},
  ): Promise<this> {
    const records: EventRecord[] = [];
    for (const { type, object } of list) {
      records.push({
        id: idParts ? await derivedId("evt", type, ...idParts) : randomId("evt"),
        type,
        created: eventTime(),
        merchantId: this.scope.merchantId,
        livemode: this.scope.livemode,
        object: object as Record<string, unknown>,
        requestId: options.requestId ?? null,
        // The request's Idempotency-Key, while this runs within the request that made the change.
        idempotencyKey: idempotencyKeyOf(options.requestId),
        ...(options.previousAttributes !== undefined ? { previousAttributes: options.previousAttributes } : {}),
      });
    }
    if (records.length === 0) return this;
    const guard = options.guard?.sql ?? (options.guarded === false ? "1" : "changes() > 0");
    const guardBinds = options.guard?.binds ?? [];
    // Every row's guard reads changes() of the statement before this one: it is the same for all of them.
    this.statements.push(
      this.d1
        .prepare(eventSql(guard, records.length, options.hold ? HELD : 0))
        .bind(...records.flatMap((r) => [r.id, r.merchantId, r.livemode ? 1 : 0, r.type, paymentIntentOf(r), r.created, eventData(r), ...guardBinds])),
    );
    if (options.hold) this.held.push(...records);
    else for (const event of records) this.eventAt.push({ index: this.statements.length - 1, event });
    return this;
  }

  /** A held event (see HELD) as stored, or null when there is none by that id (or it was released). */
  async heldEvent(id: string): Promise<EventRecord | null> {
    const row = await db(this.d1).select(eventRow).from(events).where(and(eq(events.id, id), sql`${events.fannedOut} = ${sql.raw(String(HELD))}`)).limit(1);
    return row[0] ? eventFromRow(row[0]) : null;
  }

  /**
   * Releases a held event (see HELD) as `event` says it now (its object may be rewritten): stored so
   * and handed to the queue at commit, only if it is still held and, with `guarded`, only if the
   * statement before this one changed a row. The statement after it sees changes() 1 exactly when
   * this released it.
   */
  releaseHeld(event: EventRecord, guarded: boolean): this {
    this.statements.push(
      this.d1.prepare(`UPDATE events SET fanned_out = 0, data = ? WHERE id = ? AND fanned_out = ${HELD}${guarded ? " AND changes() > 0" : ""}`).bind(eventData(event), event.id),
    );
    this.eventAt.push({ index: this.statements.length - 1, event });
    return this;
  }

  /** Commits; answers each statement's changed-row count, and hands the events that happened to the queue. */
  async commit(env: Env): Promise<number[]> {
    if (this.statements.length === 0) return [];
    const results = await this.d1.batch(this.statements);
    const changed = results.map((r) => r.meta.changes ?? 0);
    const happened = this.eventAt.filter((e) => (changed[e.index] ?? 0) > 0).map((e) => e.event);
    if (happened.length > 0) await publish(env, happened);
    return changed;
  }
}

/**
 * Events handed to the queue in one sendBatch: a batch holds at most 100 messages and 256 KB, and a
 * subscription's event (with its price) is a few KB, so a transaction's 50 cancellations fit in one.
 */
const PUBLISH_CHUNK = 50;

async function publish(env: Env, records: EventRecord[]): Promise<void> {
  try {
    for (let i = 0; i < records.length; i += PUBLISH_CHUNK) {
      await env.EVENTS_QUEUE.sendBatch(records.slice(i, i + PUBLISH_CHUNK).map((body) => ({ body, contentType: "json" as const })));
    }
  } catch (err) {
    // Stored and marked not fanned out: the cron sweep hands them over again.
    log("warn", "billing events not handed to the queue yet", { error: String(err), count: records.length });
  }
}

/**
 * Cron: events stored by a billing change but not fanned out after `graceMs` go to the queue again, a
 * batch a round, going round them in (created, id) order (src/db/rounds.ts), so a sweep can run
 * several rounds without handing the same ones over twice.
 */
export async function refanEvents(env: Env, now = Date.now(), graceMs = 30_000, limit = 100): Promise<SweepRound> {
  // Events held by a request that has not released them within the grace (it died): released as they
  // were written, a range of events_held. Their change, if it comes later, sends its own event.
  await env.DB.prepare(`UPDATE events SET fanned_out = 0 WHERE fanned_out = ${HELD} AND created < ?`).bind(now - graceMs).run();
  const cursor = await roundCursor(env.DB, "refan_events");
  const rows = await db(env.DB)
    .select(eventRow)
    .from(events)
    // The literal 0 matches the partial index events_unfanned's own condition.
    .where(and(sql`${events.fannedOut} = 0`, lt(events.created, now - graceMs), ...afterCursor(events.created, events.id, cursor)))
    .orderBy(asc(events.created), asc(events.id))
    .limit(limit);
  await advanceRound(env.DB, "refan_events", rows.map((r) => ({ key: r.created, id: r.id })), limit, cursor);
  if (rows.length > 0) await publish(env, rows.map(eventFromRow));
  return { done: rows.length, more: rows.length === limit };
}
