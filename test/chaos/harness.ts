// The chaos suite's machinery: faults injected into one payment intent's Durable Object and into the
// Stripe fake, the recovery every fault must end in (retries, alarm, reconciliation, cron), and the
// invariants checked afterwards. Nothing here is reachable from production code:
// - binding faults replace the `env` of one live object instance, which only `runInDurableObject`
//   (a @cloudflare/vitest-pool-workers API that exists only inside the test runtime) can reach; a
//   reset (`state.abort()`) drops the instance, and with it the wrapper;
// - PSP faults are armed at the Stripe fake on loopback (test/fakes/stripe.ts), per secret key.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { EventRecord, IntentRecord } from "../../src/core/types";
import type { Env } from "../../src/env";
import worker, { QUEUES } from "../../src/index";
import type { ReconcileMessage } from "../../src/reconcile/messages";
import { readModelIntent, receivedBy, storedEventRecords } from "../helpers";

export const stub = (id: string) => env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** runInDurableObject, again if a reset (armed earlier, firing late in a waitUntil) broke the call. */
async function inObject<R>(id: string, callback: (instance: DurableObject, state: DurableObjectState) => R | Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runInDurableObject(stub(id), callback);
    } catch (err) {
      const reset = typeof err === "object" && err !== null && "durableObjectReset" in err;
      if (!reset || attempt >= 5) throw err;
      await sleep(50);
    }
  }
}

// ---- what was injected ----------------------------------------------------------------------------

/** Faults injected, by step (e.g. "refund.read_model") and kind, plus runs and failures per property. */
export class FaultCounts {
  private readonly fired = new Map<string, Map<string, number>>();
  private readonly kinds = new Set<string>();
  /** Binding faults armed per step, fired or not (an armed step the operation never reached does nothing). */
  private readonly armedAt = new Map<string, number>();
  readonly runs = new Map<string, { runs: number; failures: number }>();

  record(step: string, kind: string): void {
    const row = this.fired.get(step) ?? new Map<string, number>();
    row.set(kind, (row.get(kind) ?? 0) + 1);
    this.fired.set(step, row);
    this.kinds.add(kind);
  }

  armed(step: string): void {
    this.armedAt.set(step, (this.armedAt.get(step) ?? 0) + 1);
  }

  run(property: string, ok: boolean): void {
    const entry = this.runs.get(property) ?? { runs: 0, failures: 0 };
    entry.runs += 1;
    if (!ok) entry.failures += 1;
    this.runs.set(property, entry);
  }

  total(): number {
    let n = 0;
    for (const row of this.fired.values()) for (const v of row.values()) n += v;
    return n;
  }

  table(): string {
    const kinds = [...this.kinds].sort();
    const steps = [...new Set([...this.fired.keys(), ...this.armedAt.keys()])].sort();
    const width = Math.max(24, ...steps.map((s) => s.length + 2));
    const cell = (v: string | number, w = 13) => String(v).padStart(w);
    const lines = [`${"faults injected".padEnd(width)}${kinds.map((k) => cell(k)).join("")}${cell("total", 8)}${cell("armed, not reached", 21)}`];
    const totals = new Map<string, number>();
    for (const step of steps) {
      const row = this.fired.get(step) ?? new Map<string, number>();
      let sum = 0;
      const cells = kinds.map((k) => {
        const v = row.get(k) ?? 0;
        sum += v;
        totals.set(k, (totals.get(k) ?? 0) + v);
        return cell(v);
      });
      const armed = this.armedAt.get(step);
      lines.push(`${step.padEnd(width)}${cells.join("")}${cell(sum, 8)}${cell(armed === undefined ? "" : Math.max(0, armed - sum), 21)}`);
    }
    lines.push(`${"all steps".padEnd(width)}${kinds.map((k) => cell(totals.get(k) ?? 0)).join("")}${cell(this.total(), 8)}`);
    lines.push("");
    for (const [property, r] of this.runs) lines.push(`${property.padEnd(width)}runs ${r.runs}, failed runs ${r.failures}`);
    return lines.join("\n");
  }
}

// ---- binding faults inside the object -------------------------------------------------------------

export type BindingStep = "read_model" | "events_queue" | "reconcile_queue" | "webhook_queue";
/** fail: the call throws, nothing done; fail_after: done, then throws; reset_*: the object is reset before / after it. */
export type BindingFaultKind = "fail" | "fail_after" | "reset_before" | "reset_after";
export interface BindingFault {
  step: BindingStep;
  kind: BindingFaultKind;
  /** Which call of that step (1 = the first after arming) gets the fault. */
  nth: number;
}

const realEnvOf = new WeakMap<object, Env>();
type AnyFn = (...args: unknown[]) => unknown;

function isD1(value: unknown): value is D1Database {
  return typeof value === "object" && value !== null && typeof (value as D1Database).batch === "function" && typeof (value as D1Database).prepare === "function";
}

/** Wraps `target` so that its methods named in `methods` pass through `trip`; other members are the target's own. */
function wrapMethods<T extends object>(target: T, methods: readonly string[], trip: (run: () => Promise<unknown>) => Promise<unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop) as unknown;
      if (typeof value !== "function") return value;
      const bound = (value as AnyFn).bind(t);
      if (typeof prop === "string" && methods.includes(prop)) return (...args: unknown[]) => trip(async () => bound(...args));
      return bound;
    },
  });
}

/**
 * `real` with one fault: its D1 databases' `batch` (the read model; the fan-out's write), the events,
 * reconciliation or webhook queue misbehave at the `nth` call. `reset` is how a reset kind resets
 * (the object's `state.abort()`); `onFire` is told when the fault happens.
 */
export function faultyEnv(real: Env, fault: BindingFault, onFire: () => void, reset: (reason: string) => void): Env {
  let calls = 0;
  let fired = false;
  const trip = async (run: () => Promise<unknown>): Promise<unknown> => {
    calls += 1;
    if (fired || calls !== fault.nth) return run();
    fired = true;
    onFire();
    if (fault.kind === "fail") throw new Error(`chaos: ${fault.step} failed (injected)`);
    if (fault.kind === "reset_before") {
      reset(`chaos: object reset before ${fault.step}`);
      throw new Error("chaos: reset");
    }
    await run();
    if (fault.kind === "fail_after") throw new Error(`chaos: ${fault.step} failed after it was done (injected)`);
    reset(`chaos: object reset after ${fault.step}`);
    throw new Error("chaos: reset");
  };
  const overrides = new Map<string, unknown>();
  for (const [name, value] of Object.entries(real)) {
    if (fault.step === "read_model" && isD1(value)) overrides.set(name, wrapMethods(value, ["batch"], trip));
  }
  if (fault.step === "events_queue") overrides.set("EVENTS_QUEUE", wrapMethods(real.EVENTS_QUEUE, ["send", "sendBatch"], trip));
  if (fault.step === "reconcile_queue") overrides.set("RECONCILE_QUEUE", wrapMethods(real.RECONCILE_QUEUE, ["send", "sendBatch"], trip));
  if (fault.step === "webhook_queue") overrides.set("WEBHOOK_QUEUE", wrapMethods(real.WEBHOOK_QUEUE, ["send", "sendBatch"], trip));
  const wrapped = new Proxy(real, { get: (t, prop) => (typeof prop === "string" && overrides.has(prop) ? overrides.get(prop) : Reflect.get(t, prop)) });
  realEnvOf.set(wrapped, real);
  return wrapped;
}

/**
 * Arms one fault in the live instance of the intent's object: its `env` becomes a faultyEnv(), whose
 * reset kinds reset this object. Undone by disarm() or by a reset.
 */
export async function armBinding(id: string, fault: BindingFault, onFire: () => void): Promise<void> {
  await inObject(id, (instance, state) => {
    const current = Reflect.get(instance, "env") as Env;
    const real = realEnvOf.get(current) ?? current;
    Reflect.set(instance, "env", faultyEnv(real, fault, onFire, (reason) => state.abort(reason)));
  });
}

/** Gives the live instance (if it was not reset) its real bindings back. */
export async function disarm(id: string): Promise<void> {
  await inObject(id, (instance) => {
    const real = realEnvOf.get(Reflect.get(instance, "env") as object);
    if (real) Reflect.set(instance, "env", real);
  });
}

/** Resets the object as the runtime may at any time: in-memory state and unconfirmed writes are lost. */
export async function resetObject(id: string): Promise<void> {
  try {
    await runInDurableObject(stub(id), (_instance, state) => state.abort("chaos: object reset"));
  } catch {
    // abort() throws into its caller by design
  }
}

// ---- the Stripe fake ----------------------------------------------------------------------------

export type StripeOp = "create" | "capture" | "cancel" | "refund" | "increment";
export type StripeFaultKind = "error" | "timeout" | "lost" | "hold_before" | "hold_after" | "pending" | "error_after" | "slow" | "rate_limit";

/** The fault controls of a PSP fake (test/fakes/faults.ts) at `base`, for one key. */
function fakeControls(base: () => string, name: string) {
  const at = (path: string, key: string) => `${base()}${path}?key=${encodeURIComponent(key)}`;
  return {
    async arm(key: string, op: string, kind: StripeFaultKind): Promise<void> {
      const res = await fetch(`${base()}/__faults`, { method: "POST", body: JSON.stringify({ key, op, kind }) });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`arming the ${name} fake failed: ${res.status}`);
    },
    async clear(key: string): Promise<void> {
      await (await fetch(at("/__faults", key), { method: "DELETE" })).body?.cancel();
    },
    async held(key: string): Promise<number> {
      return ((await (await fetch(at("/__held", key))).json()) as { held: number }).held;
    },
    async release(key: string): Promise<void> {
      await (await fetch(at("/__release", key), { method: "POST" })).body?.cancel();
    },
  };
}

const stripeControls = fakeControls(() => env.STRIPE_API_BASE, "Stripe");
export const stripeFault = (secretKey: string, op: StripeOp, kind: StripeFaultKind) => stripeControls.arm(secretKey, op, kind);
export const stripeClearFaults = (secretKey: string) => stripeControls.clear(secretKey);
export const stripeHeld = (secretKey: string) => stripeControls.held(secretKey);
export const stripeRelease = (secretKey: string) => stripeControls.release(secretKey);

export interface StripeLedger {
  intents: { id: string; status: string; amount_received: number; amount_capturable: number; attempt: string | null }[];
  refunds: { id: string; amount: number; status: string; payment_intent: string; attempt: string | null }[];
}

export async function stripeLedger(intentId: string): Promise<StripeLedger> {
  return (await (await fetch(`${env.STRIPE_API_BASE}/__ledger?intent=${encodeURIComponent(intentId)}`)).json()) as StripeLedger;
}

// ---- the PayPal fake (the same controls, per client id) --------------------------------------------

/** complete: the approved order's capture or authorize, when the payer is back; capture: an authorization's. */
export type PayPalOp = "complete" | "capture" | "refund" | "read";

const paypalControls = fakeControls(() => env.PAYPAL_API_BASE, "PayPal");
export const paypalFault = (clientId: string, op: PayPalOp, kind: StripeFaultKind) => paypalControls.arm(clientId, op, kind);
export const paypalClearFaults = (clientId: string) => paypalControls.clear(clientId);
export const paypalHeld = (clientId: string) => paypalControls.held(clientId);
export const paypalRelease = (clientId: string) => paypalControls.release(clientId);

export interface PayPalLedger {
  orders: {
    id: string;
    intent: string;
    status: string;
    authorizations: { id: string; status: string; amount: number }[];
    captures: { id: string; status: string; amount: number; request_id: string | null; refunds: { id: string; status: string; amount: number; request_id: string | null }[] }[];
  }[];
}

/**
 * PayPal settles what it held pending (the fake's "pending" fault): a pending authorization is
 * created, a pending capture or refund completes. Answers how many it settled.
 */
export async function paypalSettlePending(intentId: string): Promise<number> {
  const ledger = await paypalLedger(intentId);
  const captures = ledger.orders.flatMap((o) => o.captures);
  const held = [
    ...ledger.orders.flatMap((o) => o.authorizations).filter((a) => a.status === "PENDING").map((a) => ({ id: a.id, status: "CREATED" })),
    ...captures.filter((c) => c.status === "PENDING").map((c) => ({ id: c.id, status: "COMPLETED" })),
    ...captures.flatMap((c) => c.refunds).filter((r) => r.status === "PENDING").map((r) => ({ id: r.id, status: "COMPLETED" })),
  ];
  for (const h of held) {
    const res = await fetch(`${env.PAYPAL_API_BASE}/__settle`, { method: "POST", body: JSON.stringify(h) });
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`settling ${h.id} at the PayPal fake failed: ${res.status}`);
  }
  return held.length;
}

export async function paypalLedger(intentId: string): Promise<PayPalLedger> {
  return (await (await fetch(`${env.PAYPAL_API_BASE}/__ledger?intent=${encodeURIComponent(intentId)}`)).json()) as PayPalLedger;
}

/**
 * PayPal's side of the payment equals the gateway's: at most one capture (money moved once), captured
 * as much as the gateway received, an open authorization for what it may still capture, refunded as
 * much as it refunded, and each refund at PayPal made by a refund attempt that succeeded.
 */
export async function expectPayPalAgrees(intent: IntentRecord): Promise<void> {
  const ledger = await paypalLedger(intent.id);
  const captures = ledger.orders.flatMap((o) => o.captures);
  expect(captures.length, `captures at PayPal for ${intent.id}: ${JSON.stringify(ledger.orders)}`).toBeLessThanOrEqual(1);
  const paid = ledger.orders.filter((o) => o.captures.length > 0 || o.authorizations.some((a) => a.status !== "VOIDED"));
  expect(paid.length, `orders that took money at PayPal for ${intent.id}`).toBeLessThanOrEqual(1);
  const received = captures.reduce((sum, c) => sum + c.amount, 0);
  expect(received, "captured at PayPal == the gateway's amount_received").toBe(intent.amountReceived);
  if (intent.status === "requires_capture") {
    const open = ledger.orders.flatMap((o) => o.authorizations).filter((a) => a.status === "CREATED");
    expect(open.map((a) => a.amount), "the open authorization at PayPal").toEqual([intent.amountCapturable]);
  }
  const refunds = captures.flatMap((c) => c.refunds);
  const refunded = refunds.reduce((sum, r) => sum + r.amount, 0);
  expect(refunded, `refunded at PayPal == the gateway's amount_refunded (${JSON.stringify(refunds)})`).toBe(intent.amountRefunded);
  expect(refunded).toBeLessThanOrEqual(received);
  const refundKeys = new Set(intent.attempts.filter((a) => a.type === "refund" && a.status === "succeeded").map((a) => a.idempotencyKey));
  for (const r of refunds) expect(refundKeys.has(r.request_id ?? ""), `PayPal refund ${r.id} belongs to a succeeded refund attempt`).toBe(true);
}

// ---- recovery -----------------------------------------------------------------------------------

export interface ObjectState {
  intent: IntentRecord;
  outbox: number;
  alarm: number | null;
}

/** What the object has durably stored (not its memory). */
export async function objectState(id: string): Promise<ObjectState> {
  return inObject(id, async (_instance, state) => {
    const intent = await state.storage.get<IntentRecord>("intent");
    if (!intent) throw new Error(`no intent stored in the object of ${id}`);
    return { intent, outbox: (await state.storage.list({ prefix: "outbox:" })).size, alarm: await state.storage.getAlarm() };
  });
}

const pending = (intent: IntentRecord) => intent.attempts.filter((a) => a.status === "pending").length;

/** One reconciliation message for the intent, through the Worker's own queue handler (round 0: no follow-up chain). */
export async function reconcileNow(id: string): Promise<void> {
  const batch = createMessageBatch<ReconcileMessage>(QUEUES.reconcile, [{ id: `chaos-${id}-${Date.now()}`, timestamp: new Date(), attempts: 1, body: { intentId: id, round: 0 } }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  await getQueueResult(batch, ctx);
}

/** The cron, as if it ran `aheadMs` from now (past the reconciliation rescue's quiet period and webhook grace). */
export async function cronAhead(aheadMs = 15 * 60_000): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + aheadMs, cron: "* * * * *" }), env);
}

/**
 * Drives the object back to rest: its alarm, reconciliation and (from the second round) the cron,
 * until it has no pending attempt, an empty outbox and a read model at its version. Bounded.
 */
export async function settle(id: string, deadlineMs = 20_000): Promise<ObjectState> {
  const deadline = Date.now() + deadlineMs;
  for (let round = 0; ; round++) {
    await runDurableObjectAlarm(stub(id)).catch(() => false);
    await reconcileNow(id);
    if (round >= 1 && round % 3 === 1) await cronAhead();
    const state = await objectState(id);
    const row = await env.DB.prepare("SELECT version FROM payment_intents WHERE id = ?").bind(id).first<{ version: number }>();
    if (pending(state.intent) === 0 && state.outbox === 0 && row?.version === state.intent.version) return state;
    if (Date.now() > deadline) {
      const open = state.intent.attempts.filter((a) => a.status === "pending").map((a) => `${a.type} ${a.id} (reference ${a.providerReference ?? "none"}: ${a.responseText ?? ""})`);
      throw new Error(`${id} did not settle: ${pending(state.intent)} pending attempts [${open.join("; ")}], ${state.outbox} events in the outbox, read model v${row?.version ?? "none"} vs object v${state.intent.version}`);
    }
    await sleep(200);
  }
}

// ---- invariants ---------------------------------------------------------------------------------

export interface StoredEvent {
  id: string;
  type: string;
  created: number;
  record: EventRecord;
}

export async function storedEvents(id: string): Promise<StoredEvent[]> {
  return (await storedEventRecords({ paymentIntent: id })).map((record) => ({ id: record.id, type: record.type, created: record.created, record }));
}

/** The read model's row and refunds equal the object's state. */
export async function expectReadModelMatches(intent: IntentRecord): Promise<void> {
  const row = await env.DB.prepare("SELECT * FROM payment_intents WHERE id = ?").bind(intent.id).first<Record<string, unknown>>();
  expect(row, `read model row of ${intent.id}`).not.toBeNull();
  expect({ status: row?.status, version: row?.version, amount_refunded: row?.amount_refunded, pending_attempts: row?.pending_attempts }, "read model row").toEqual({
    status: intent.status,
    version: intent.version,
    amount_refunded: intent.amountRefunded,
    pending_attempts: pending(intent),
  });
  // The whole record, as the read model's columns and `data` give it back.
  expect(await readModelIntent(intent.id), "read model record").toEqual(intent);
  const refunds = await env.DB.prepare("SELECT id, status, amount FROM refunds WHERE payment_intent = ? ORDER BY id").bind(intent.id).all<{ id: string; status: string; amount: number }>();
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  expect([...refunds.results].sort(byId), "read model refunds").toEqual(intent.refunds.map((r) => ({ id: r.id, status: r.status, amount: r.amount })).sort(byId));
}

/** Money: refunds never above the capture; the intent's totals agree with its attempts. */
export function expectMoneyConsistent(intent: IntentRecord): void {
  const succeeded = (type: string) => intent.attempts.filter((a) => a.type === type && a.status === "succeeded");
  expect(succeeded("authorize").length, "successful authorizations").toBeLessThanOrEqual(1);
  expect(succeeded("capture").length, "successful captures").toBeLessThanOrEqual(1);
  const refunded = intent.refunds.filter((r) => r.status === "succeeded").reduce((s, r) => s + r.amount, 0);
  expect(intent.amountRefunded, "amount_refunded is the sum of succeeded refunds").toBe(refunded);
  expect(refunded, "refunds never exceed the capture").toBeLessThanOrEqual(intent.amountReceived);
  expect(intent.amountReceived, "captured at most the amount").toBeLessThanOrEqual(intent.amount);
}

/** At the Stripe fake: the money that moved there is the money the gateway says moved, once. */
export async function expectStripeAgrees(intent: IntentRecord): Promise<void> {
  const ledger = await stripeLedger(intent.id);
  const live = ledger.intents.filter((pi) => pi.status === "succeeded" || pi.status === "requires_capture");
  expect(live.length, `payments authorized at Stripe for ${intent.id}: ${JSON.stringify(ledger.intents)}`).toBeLessThanOrEqual(1);
  const perAttempt = new Map<string, number>();
  for (const pi of ledger.intents) perAttempt.set(pi.attempt ?? "", (perAttempt.get(pi.attempt ?? "") ?? 0) + 1);
  for (const [attempt, n] of perAttempt) expect(n, `Stripe payments of attempt ${attempt}`).toBe(1);
  const received = ledger.intents.reduce((s, pi) => s + pi.amount_received, 0);
  expect(received, "captured at Stripe == the gateway's amount_received").toBe(intent.amountReceived);
  if (intent.status === "requires_capture") expect(live[0]?.amount_capturable).toBe(intent.amountCapturable);
  const refunded = ledger.refunds.filter((r) => r.status === "succeeded").reduce((s, r) => s + r.amount, 0);
  expect(refunded, `refunded at Stripe == the gateway's amount_refunded (${JSON.stringify(ledger.refunds)})`).toBe(intent.amountRefunded);
  expect(refunded).toBeLessThanOrEqual(received);
  const refundAttempts = new Set(intent.attempts.filter((a) => a.type === "refund" && a.status === "succeeded").map((a) => a.id));
  for (const r of ledger.refunds) expect(refundAttempts.has(r.attempt ?? ""), `Stripe refund ${r.id} belongs to a succeeded refund attempt`).toBe(true);
}

/**
 * Events: nothing stuck, the stream ends in the object's state, each request's key created at most one
 * refund, and every stored event reached every endpoint exactly once (one 2xx per event id).
 */
export async function expectEventsDelivered(intent: IntentRecord, endpoints: { id: string; name: string }[], deadlineMs = 60_000): Promise<StoredEvent[]> {
  // A bound for a busy machine, not a speed: a passing run leaves as soon as all is delivered (the
  // cron's rescue starts at 12 s, as it always did); only a stuck delivery waits for the bound.
  const started = Date.now();
  const deadline = started + deadlineMs;
  let events: StoredEvent[] = [];
  const wanted = (list: StoredEvent[]) => {
    const lastIntentEvent = [...list].reverse().find((e) => e.type.startsWith("payment_intent."));
    const statusOk = lastIntentEvent?.record.object.status === intent.status;
    const refundsOk = intent.refunds.every((r) => list.some((e) => e.type.startsWith("refund.") && e.record.object.id === r.id && e.record.object.status === r.status));
    return statusOk && refundsOk;
  };
  for (;;) {
    events = await storedEvents(intent.id);
    const ids = events.map((e) => e.id);
    let delivered = wanted(events);
    if (delivered && ids.length > 0) {
      const placeholders = ids.map(() => "?").join(",");
      const rows = await env.DB.prepare(`SELECT event_id, endpoint_id, status FROM webhook_deliveries WHERE event_id IN (${placeholders})`).bind(...ids).all<{ event_id: string; endpoint_id: string; status: string }>();
      delivered = rows.results.length === ids.length * endpoints.length && rows.results.every((r) => r.status === "succeeded");
    }
    if (delivered) break;
    if (Date.now() > deadline) {
      throw new Error(`events of ${intent.id} (status ${intent.status}) not all stored and delivered: ${events.map((e) => `${e.type}:${String(e.record.object.status)}`).join(", ")}`);
    }
    // Stuck deliveries are re-queued by the cron (a lost first attempt waits for it).
    if (Date.now() - started > 12_000) await cronAhead();
    await sleep(250);
  }
  // Let any duplicate still travelling arrive before counting.
  await sleep(800);
  const ids = new Set(events.map((e) => e.id));
  for (const endpoint of endpoints) {
    const received = await receivedBy(endpoint.name);
    const ok = new Map<string, number>();
    for (const r of received) {
      const id = (JSON.parse(r.body) as { id: string }).id;
      expect(ids.has(id), `endpoint ${endpoint.name} received ${id}, an event the gateway did not store for ${intent.id}`).toBe(true);
      if (r.answered >= 200 && r.answered < 300) ok.set(id, (ok.get(id) ?? 0) + 1);
    }
    for (const id of ids) expect(ok.get(id) ?? 0, `event ${id} delivered (2xx) to ${endpoint.name}`).toBe(1);
  }
  const refundsByKey = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== "refund.created" || !e.record.idempotencyKey) continue;
    const set = refundsByKey.get(e.record.idempotencyKey) ?? new Set<string>();
    set.add(String(e.record.object.id));
    refundsByKey.set(e.record.idempotencyKey, set);
  }
  for (const [key, refunds] of refundsByKey) expect([...refunds], `refunds created by Idempotency-Key ${key}`).toHaveLength(1);
  return events;
}
