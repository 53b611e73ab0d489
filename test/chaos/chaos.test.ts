// Chaos that loses nothing. Each run takes one payment (sandbox, Stripe or PayPal) through confirm, capture and refunds (some of
// them concurrent) while faults chosen by fast-check hit one step of each operation: the PSP call
// errors, times out, or succeeds with its answer lost (PayPal's may also hold the payment PENDING, to
// settle later at PayPal); the read-model write (the D1 batch) or a queue
// send fails, before or after it was done; the object is reset (its memory and unconfirmed writes
// lost) before or after a step or while the PSP holds the call. Then recovery runs as it does in
// production: the merchant retries with the same Idempotency-Key, the object's alarm, reconciliation
// and the cron. After each run: money moved at most once at the PSP and as the gateway says, the read
// model equals the object, every event reached every endpoint exactly once (by id), and refunds never
// exceed the capture. The events consumer's fan-out gets its own faults (its D1 batch, its webhook
// queue send). The fault counts are printed at the end.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { EventRecord, IntentRecord } from "../../src/core/types";
import type { Env as GatewayEnv } from "../../src/env";
import worker, { QUEUES } from "../../src/index";
import { exports } from "cloudflare:workers";
import { addConnector, createEndpoint, newMerchant, post, receivedBy, receiverHook, uniqueKey, type CallOptions, type CallResult, type PaymentIntentJson } from "../helpers";
import {
  armBinding,
  cronAhead,
  faultyEnv,
  disarm,
  expectEventsDelivered,
  expectMoneyConsistent,
  expectPayPalAgrees,
  expectReadModelMatches,
  expectStripeAgrees,
  FaultCounts,
  objectState,
  paypalClearFaults,
  paypalFault,
  paypalHeld,
  paypalRelease,
  paypalSettlePending,
  resetObject,
  settle,
  sleep,
  stripeClearFaults,
  stripeFault,
  stripeHeld,
  stripeRelease,
  type BindingFault,
  type PayPalOp,
  type StripeFaultKind,
  type StripeOp,
} from "./harness";

/** Runs per property: small enough for the whole file to take about a minute on a busy 2-core machine. */
const RUNS = 5;
/** Matrix scenarios run this many at a time. */
const MATRIX_PARALLEL = 6;
const AMOUNT = 10_000;
const counts = new FaultCounts();

afterAll(() => {
  console.log(`\nchaos suite: ${counts.total()} faults injected\n${counts.table()}\n`);
});

type PspFault = "none" | "error" | "timeout" | "lost" | "reset_before" | "reset_after" | "pending";
interface OpFault {
  psp: PspFault;
  binding: BindingFault | null;
}
interface Scenario {
  manual: boolean;
  card: string;
  captureShare: number;
  confirm: OpFault;
  capture: OpFault;
  refunds: { share: number; fault: OpFault }[];
  concurrentRefunds: boolean;
  receiverFails: boolean;
}

const bindingFault: fc.Arbitrary<BindingFault> = fc.record({
  step: fc.constantFrom("read_model", "events_queue", "reconcile_queue"),
  kind: fc.constantFrom("fail", "fail_after", "reset_before", "reset_after"),
  nth: fc.constantFrom(1, 1, 1, 2),
});
const opFault = (psp: fc.Arbitrary<PspFault>): fc.Arbitrary<OpFault> => fc.record({ psp, binding: fc.option(bindingFault, { freq: 4 }) });
const stripePsp = fc.constantFrom<PspFault>("none", "error", "timeout", "lost", "reset_before", "reset_after");
/** PayPal's fake can also hold a payment PENDING (done, settled later at PayPal: reconciliation reads it back). */
const paypalPsp = fc.constantFrom<PspFault>("none", "error", "timeout", "lost", "reset_before", "reset_after", "pending");

type ConnectorName = "sandbox" | "stripe" | "paypal";

function scenario(connector: ConnectorName): fc.Arbitrary<Scenario> {
  // The sandbox's own faults are its cards: timeouts that resolve either way, a 5xx before money moved.
  // A reset during its call is possible only while a timeout card hangs (after the sandbox recorded it).
  const sandboxCards = ["pm_card_visa", "pm_card_sandboxTimeoutThenSuccess", "pm_card_sandboxTimeoutThenDecline", "tok_sandboxProviderError"];
  // Stripe's and PayPal's fakes take every PSP fault; PayPal's "confirm" is the payer's return, which
  // completes the approved order (the money moves there).
  const faultable = connector !== "sandbox";
  const pspFault = connector === "paypal" ? paypalPsp : stripePsp;
  return fc.record({
    manual: fc.boolean(),
    card: connector === "stripe" ? fc.constant("pm_card_visa") : connector === "paypal" ? fc.constant("paypal") : fc.constantFrom(...sandboxCards, "pm_card_visa"),
    captureShare: fc.constantFrom(100, 100, 70),
    confirm: opFault(faultable ? pspFault : fc.constantFrom<PspFault>("none", "reset_after")),
    capture: opFault(faultable ? pspFault : fc.constant<PspFault>("none")),
    refunds: fc.array(fc.record({ share: fc.integer({ min: 5, max: 60 }), fault: opFault(faultable ? pspFault : fc.constant<PspFault>("none")) }), { minLength: 1, maxLength: 3 }),
    concurrentRefunds: fc.boolean(),
    receiverFails: fc.boolean(),
  });
}

interface Run {
  connector: ConnectorName;
  opts: CallOptions;
  secretKey: string;
  /** The PayPal account's client id: the PayPal fake's faults are armed per client. */
  clientId: string;
  intentId: string;
  /** Each refund request's Idempotency-Key, the refund its answer named, and whether any answer was not a 5xx. */
  refundAnswers: { key: string; refundId: string | null; answered: boolean }[];
}

const STRIPE_OP: Record<string, StripeOp> = { confirm: "create", capture: "capture", refund: "refund" };
const PAYPAL_OP: Record<string, PayPalOp> = { confirm: "complete", capture: "capture", refund: "refund" };

/** The PSP fake's controls for this run's account (none for the sandbox, whose faults are its cards). */
function pspControls(run: Run) {
  if (run.connector === "stripe") {
    return { arm: (op: string, kind: StripeFaultKind) => stripeFault(run.secretKey, STRIPE_OP[op] ?? "create", kind), held: () => stripeHeld(run.secretKey), release: () => stripeRelease(run.secretKey), clear: () => stripeClearFaults(run.secretKey) };
  }
  if (run.connector === "paypal") {
    return { arm: (op: string, kind: StripeFaultKind) => paypalFault(run.clientId, PAYPAL_OP[op] ?? "complete", kind), held: () => paypalHeld(run.clientId), release: () => paypalRelease(run.clientId), clear: () => paypalClearFaults(run.clientId) };
  }
  return null;
}

/**
 * The payer back from PayPal on the gateway's return page: its GET only shows the page; the form it
 * submits at once (a POST with the client secret) completes the payment. Submitted again, it is the
 * payer's reload.
 */
async function submitReturnPage(back: string): Promise<CallResult<Record<string, unknown>>> {
  const shown = await exports.default.fetch(new Request(back, { redirect: "manual" }));
  const html = await shown.text();
  if (shown.status !== 200) return { status: shown.status, body: { page: html.slice(0, 200) }, headers: shown.headers };
  const decode = (v: string) => v.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
  const action = decode(/<form id="complete" method="post" action="([^"]+)">/.exec(html)?.[1] ?? "");
  const secret = decode(/name="client_secret" value="([^"]+)"/.exec(html)?.[1] ?? "");
  if (!action) return { status: 200, body: { page: "no form: nothing left to complete" }, headers: shown.headers };
  const res = await exports.default.fetch(
    new Request(new URL(action, back), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_secret=${encodeURIComponent(secret)}`, redirect: "manual" }),
  );
  return { status: res.status, body: { page: (await res.text()).slice(0, 200) }, headers: res.headers };
}
const HOLD: Partial<Record<PspFault, StripeFaultKind>> = { reset_before: "hold_before", reset_after: "hold_after" };

async function sandboxRecorded(intentId: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM sandbox_ledger WHERE intent_id = ?").bind(intentId).first<{ n: number }>();
  return (row?.n ?? 0) > 0;
}

/**
 * One operation under its fault, then the merchant's retry with the same Idempotency-Key. An answer
 * that was not a 5xx must be replayed as it was.
 */
async function faulted(
  run: Run,
  op: "confirm" | "capture" | "refund",
  fault: OpFault | null,
  send: (key: string) => Promise<CallResult<Record<string, unknown>>>,
  replays = true,
): Promise<CallResult<Record<string, unknown>>> {
  const key = uniqueKey(`chaos-${op}`);
  if (fault?.binding) {
    const b = fault.binding;
    counts.armed(`${run.connector} ${op}.${b.step}`);
    await armBinding(run.intentId, b, () => counts.record(`${run.connector} ${op}.${b.step}`, b.kind));
  }
  const psp = fault?.psp ?? "none";
  const pspKind: StripeFaultKind | undefined = psp === "none" ? undefined : (HOLD[psp] ?? (psp as StripeFaultKind));
  const controls = pspControls(run);
  if (controls && pspKind) await controls.arm(op, pspKind);
  const answer = send(key);
  if (psp === "reset_before" || psp === "reset_after") {
    // The PSP holds the call (Stripe fake), or the sandbox hangs on a timeout card after recording it:
    // reset the object meanwhile. If the call never comes (the operation was refused first), nothing happens.
    const deadline = Date.now() + 4_000;
    let caught = false;
    while (Date.now() < deadline) {
      if (controls ? (await controls.held()) > 0 : await sandboxRecorded(run.intentId)) {
        caught = true;
        break;
      }
      await sleep(25);
    }
    if (caught) {
      counts.record(`${run.connector} ${op}.psp_call`, psp);
      await resetObject(run.intentId);
    }
    if (controls) await controls.release();
  } else if (controls && psp !== "none") {
    counts.record(`${run.connector} ${op}.psp_call`, psp);
  }
  const first = await answer;
  if (fault?.binding) await disarm(run.intentId);
  if (controls) await controls.clear();
  const retry = await send(key);
  if (replays && first.status < 500 && retry.status < 500) {
    expect(retry.status, `the retry of ${op} with its Idempotency-Key replays the answer`).toBe(first.status);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
  }
  if (op === "refund") {
    const ids = [first, retry].filter((r) => r.status === 200).map((r) => String(r.body.id));
    if (ids.length === 2) expect(ids[1], "a refund's retry names the same refund").toBe(ids[0]);
    run.refundAnswers.push({ key, refundId: ids[0] ?? null, answered: first.status < 500 || retry.status < 500 });
  }
  return retry.status < 500 ? retry : first;
}

async function status(run: Run): Promise<IntentRecord> {
  // What PayPal held pending, it settles in its own time: here, before the gateway is driven to rest.
  if (run.connector === "paypal") await paypalSettlePending(run.intentId);
  return (await settle(run.intentId)).intent;
}

async function runScenario(connector: ConnectorName, s: Scenario): Promise<void> {
  const merchant = await newMerchant(`chaos-${connector}`);
  const secretKey = `sk_test_fake_chaos_${uniqueKey("k").replace(/[^A-Za-z0-9]/g, "")}`;
  const clientId = `chaos-${uniqueKey("client").replace(/[^A-Za-z0-9]/g, "")}`;
  if (connector === "stripe") await addConnector(merchant.opts, { connector: "stripe", credentials: { secret_key: secretKey } });
  if (connector === "paypal") await addConnector(merchant.opts, { connector: "paypal", credentials: { client_id: clientId, client_secret: "paypal-secret-9876" } });
  const hooks = [receiverHook("chaos-a"), receiverHook("chaos-b", s.receiverFails ? "fail=1" : "")];
  if (s.receiverFails) counts.record(`${connector} webhook.delivery`, "receiver_500");
  const endpoints = [];
  for (const hook of hooks) endpoints.push({ id: (await createEndpoint(hook.url, ["*"], merchant.opts)).id, name: hook.name });

  const created = await post<PaymentIntentJson>(
    "/v1/payment_intents",
    { amount: AMOUNT, currency: "usd", ...(connector === "paypal" ? { payment_method_data: { type: "paypal" } } : { payment_method: s.card }), capture_method: s.manual ? "manual" : "automatic" },
    { ...merchant.opts, idempotencyKey: uniqueKey("chaos-create") },
  );
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const run: Run = { connector, opts: merchant.opts, secretKey, clientId, intentId: created.body.id, refundAnswers: [] };
  const path = `/v1/payment_intents/${run.intentId}`;

  // The sandbox's card is its PSP fault: processed with the answer lost (timeout cards), or a 5xx.
  if (connector === "sandbox" && s.card.includes("Timeout")) counts.record("sandbox confirm.psp_call", "lost");
  if (connector === "sandbox" && s.card.includes("ProviderError")) counts.record("sandbox confirm.psp_call", "error");
  let intent: IntentRecord;
  if (connector === "paypal") {
    // Confirm makes the order (no money moves) and answers PayPal's approval link; the payer approves
    // there and comes back: that return completes the order, under the faults.
    const confirmed = await post<PaymentIntentJson>(`${path}/confirm`, {}, { ...run.opts, idempotencyKey: uniqueKey("chaos-confirm") });
    expect(confirmed.body.status, JSON.stringify(confirmed.body)).toBe("requires_action");
    const atPayPal = await fetch(confirmed.body.next_action?.redirect_to_url?.url ?? "", { redirect: "manual" });
    await atPayPal.body?.cancel();
    const back = atPayPal.headers.get("location") ?? "";
    expect(back).toContain("/connectors/return/");
    await faulted(run, "confirm", s.confirm, () => submitReturnPage(back), false);
    intent = await status(run);
  } else {
    // Confirm; a provider error (nothing moved) leaves it to be confirmed again, once, without faults.
    await faulted(run, "confirm", s.confirm, (key) => post(`${path}/confirm`, {}, { ...run.opts, idempotencyKey: key }));
    intent = await status(run);
  }
  if (intent.status === "requires_confirmation") {
    await faulted(run, "confirm", null, (key) => post(`${path}/confirm`, {}, { ...run.opts, idempotencyKey: key }));
    intent = await status(run);
  }

  if (intent.status === "requires_capture") {
    const amount = Math.floor((intent.amountCapturable * s.captureShare) / 100);
    await faulted(run, "capture", s.capture, (key) => post(`${path}/capture`, { amount_to_capture: amount }, { ...run.opts, idempotencyKey: key }));
    intent = await status(run);
  }

  if (intent.status === "succeeded" && s.refunds.length > 0) {
    const refund = (r: Scenario["refunds"][number], withFault: boolean) =>
      faulted(run, "refund", withFault ? r.fault : null, (key) => post("/v1/refunds", { payment_intent: run.intentId, amount: Math.max(1, Math.floor((AMOUNT * r.share) / 100)) }, { ...run.opts, idempotencyKey: key }));
    if (s.concurrentRefunds) {
      // Concurrent: one of them carries the faults (a reset hits whatever else is in flight too).
      await Promise.all(s.refunds.map((r, i) => refund(r, i === 0)));
    } else {
      for (const r of s.refunds) {
        await refund(r, true);
        await status(run);
      }
    }
    intent = await status(run);
  }

  // Everything at rest: check what the object says against the PSP, the read model and the receivers.
  const final = await objectState(run.intentId);
  intent = final.intent;
  expect(final.outbox, "events left in the outbox").toBe(0);
  expectMoneyConsistent(intent);
  // One refund per Idempotency-Key: every refund is the one its request's answer named, or belongs to
  // a request that never got an answer (its refund may still have been made; reconciliation settled it).
  const named = new Set(run.refundAnswers.flatMap((a) => (a.refundId ? [a.refundId] : [])));
  expect(named.size, "two requests' answers named the same refund").toBe(run.refundAnswers.filter((a) => a.refundId).length);
  const unnamed = intent.refunds.filter((r) => !named.has(r.id));
  expect(unnamed.length, `refunds no answer named: ${unnamed.map((r) => r.id).join(", ")}`).toBeLessThanOrEqual(run.refundAnswers.filter((a) => !a.answered).length);
  if (connector === "stripe") await expectStripeAgrees(intent);
  if (connector === "paypal") await expectPayPalAgrees(intent);
  await expectReadModelMatches(intent);
  await expectEventsDelivered(intent, endpoints);
}

function property(connector: ConnectorName) {
  return fc.asyncProperty(scenario(connector), async (s) => {
    let ok = false;
    try {
      await runScenario(connector, s);
      ok = true;
    } finally {
      counts.run(`${connector} runs`, ok);
      if (!ok) console.log(`chaos ${connector} scenario that failed: ${JSON.stringify(s)}`);
    }
  });
}

/**
 * Every kind of fault at every step, at least once, whatever the random runs pick: each binding fault
 * (with the PSP's answer lost, so that reconciliation is queued and its send can fail) and each PSP
 * fault, at confirm (PayPal: the payer's return), capture and a refund of one payment.
 */
function matrix(connector: "stripe" | "paypal"): Scenario[] {
  const base = { manual: true, card: "pm_card_visa", captureShare: 100, concurrentRefunds: false, receiverFails: false };
  const out: Scenario[] = [];
  for (const step of ["read_model", "events_queue", "reconcile_queue"] as const) {
    for (const kind of ["fail", "fail_after", "reset_before", "reset_after"] as const) {
      const fault: OpFault = { psp: step === "reconcile_queue" ? "lost" : "none", binding: { step, kind, nth: 1 } };
      out.push({ ...base, confirm: fault, capture: fault, refunds: [{ share: 30, fault }] });
    }
  }
  for (const psp of ["error", "timeout", "lost", "reset_before", "reset_after", ...(connector === "paypal" ? (["pending"] as const) : [])] as const) {
    const fault: OpFault = { psp, binding: null };
    out.push({ ...base, receiverFails: psp === "lost", confirm: fault, capture: fault, refunds: [{ share: 30, fault }] });
  }
  return out;
}

describe.concurrent("chaos: faults at every step of confirm, capture and refund lose nothing", () => {
  for (const connector of ["stripe", "paypal"] as const) {
    it(`every fault kind at every step, once each (${connector === "stripe" ? "Stripe" : "PayPal"})`, { timeout: 240_000 }, async () => {
      // Each scenario has its own merchant, intent and PSP account: a few at a time, independent.
      const waiting = matrix(connector).map((s) => (connector === "paypal" ? { ...s, card: "paypal" } : s));
      const worker = async () => {
        for (let s = waiting.shift(); s; s = waiting.shift()) {
          let ok = false;
          try {
            await runScenario(connector, s);
            ok = true;
          } finally {
            counts.run(`${connector} matrix runs`, ok);
            if (!ok) console.log(`chaos ${connector} matrix scenario that failed: ${JSON.stringify(s)}`);
          }
        }
      };
      await Promise.all(Array.from({ length: MATRIX_PARALLEL }, worker));
    });
  }

  it("through the sandbox", { timeout: 240_000 }, async () => {
    await fc.assert(property("sandbox"), { numRuns: RUNS, endOnFailure: true });
  });

  it("through Stripe (the fake)", { timeout: 240_000 }, async () => {
    await fc.assert(property("stripe"), { numRuns: RUNS, endOnFailure: true });
  });

  it("through PayPal (the fake): the payer's return completes the order under the faults", { timeout: 240_000 }, async () => {
    await fc.assert(property("paypal"), { numRuns: RUNS, endOnFailure: true });
  });

  it("the events consumer's fan-out: its D1 batch or its webhook queue send fails, before or after it was done", { timeout: 240_000 }, async () => {
    const fanOutFault = fc.record({
      step: fc.constantFrom<"read_model" | "webhook_queue">("read_model", "webhook_queue"),
      kind: fc.constantFrom<"fail" | "fail_after">("fail", "fail_after"),
      duplicate: fc.boolean(),
      endpoints: fc.integer({ min: 1, max: 2 }),
    });
    type FanOutFault = typeof fanOutFault extends fc.Arbitrary<infer T> ? T : never;
    const examples: [FanOutFault][] = [];
    for (const step of ["read_model", "webhook_queue"] as const) for (const kind of ["fail", "fail_after"] as const) examples.push([{ step, kind, duplicate: false, endpoints: 2 }]);
    await fc.assert(
      fc.asyncProperty(fanOutFault, async (f) => {
        let ok = false;
        try {
          await fanOutScenario(f);
          ok = true;
        } finally {
          counts.run("fan-out runs", ok);
          if (!ok) console.log(`chaos fan-out scenario that failed: ${JSON.stringify(f)}`);
        }
      }),
      { numRuns: examples.length + 3, examples, endOnFailure: true },
    );
  });
});

/**
 * One event through the events queue's consumer (the Worker's own handler) with a fault in its
 * fan-out; the queue's redelivery (and a duplicate message) and the cron follow. Each endpoint answers
 * 2xx to it exactly once.
 */
async function fanOutScenario(f: { step: "read_model" | "webhook_queue"; kind: "fail" | "fail_after"; duplicate: boolean; endpoints: number }): Promise<void> {
  const merchant = await newMerchant("chaos-fanout");
  const hooks = Array.from({ length: f.endpoints }, (_, i) => receiverHook(`chaos-fan-${i}`));
  for (const hook of hooks) await createEndpoint(hook.url, ["*"], merchant.opts);
  const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount: 1000, currency: "usd" }, merchant.opts);
  const event: EventRecord = {
    id: `evt_chaos${uniqueKey("fan").replace(/[^A-Za-z0-9]/g, "")}`,
    type: "payment_intent.updated",
    created: Date.now(),
    merchantId: merchant.id,
    livemode: false,
    object: { ...pi.body },
    requestId: null,
    idempotencyKey: null,
    paymentIntentId: pi.body.id,
    orderId: null,
  };
  const deliver = async (attempt: number, bindings: GatewayEnv) => {
    const batch = createMessageBatch<EventRecord>(QUEUES.events, [{ id: `msg-${event.id}-${attempt}`, timestamp: new Date(), attempts: attempt, body: event }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, bindings);
    return getQueueResult(batch, ctx);
  };
  const step = `fan-out.${f.step}`;
  counts.armed(step);
  const first = await deliver(1, faultyEnv(env, { step: f.step, kind: f.kind, nth: 1 }, () => counts.record(step, f.kind), () => undefined));
  // The queue redelivers what was not acknowledged; a duplicate message may come anyway.
  if (first.retryBatch.retry || first.retryMessages.length > 0) await deliver(2, env);
  if (f.duplicate) await deliver(3, env);
  const okAt = async (name: string) => (await receivedBy(name)).filter((r) => (JSON.parse(r.body) as { id: string }).id === event.id && r.answered >= 200 && r.answered < 300).length;
  const deadline = Date.now() + 20_000;
  for (let round = 0; ; round++) {
    const got = await Promise.all(hooks.map((h) => okAt(h.name)));
    if (got.every((n) => n >= 1)) break;
    if (Date.now() > deadline) throw new Error(`event ${event.id} not delivered to every endpoint: ${got.join(", ")}`);
    // A delivery stored without its first message waits for the cron.
    if (round % 4 === 3) await cronAhead();
    await sleep(250);
  }
  await sleep(800);
  for (const hook of hooks) expect(await okAt(hook.name), `event ${event.id} delivered (2xx) to ${hook.name}`).toBe(1);
  const stored = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE id = ?").bind(event.id).first<{ n: number }>();
  expect(stored?.n).toBe(1);
  const deliveries = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?").bind(event.id).first<{ n: number }>();
  expect(deliveries?.n).toBe(f.endpoints);
}
