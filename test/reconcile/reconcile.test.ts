// Unknown outcomes: a timeout leaves the intent processing with a pending attempt; reconciliation
// (through its queue, 1 s apart in tests) asks the PSP and settles it, with exactly one
// authorization at the PSP, whatever webhooks arrive first or twice. The cron expires old
// authorizations.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signSandboxWebhook } from "../../src/connectors/sandbox/webhooks";
import worker from "../../src/index";
import type { ReconcileMessage } from "../../src/reconcile/messages";
import { requeueStuckReconciliations } from "../../src/reconcile/sweep";
import { reconcileNow, stripeClearFaults, stripeFault, stripeLedger } from "../chaos/harness";
import {
  addConnector,
  authorizedIntent,
  call,
  createIntent,
  get,
  newMerchant,
  post,
  stripeFakeStats,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type TransactionJson,
} from "../helpers";

const SECRET = "sandbox_webhook_secret_for_development";

async function settled(id: string, opts: CallOptions, from = "processing"): Promise<PaymentIntentJson> {
  return waitFor(
    async () => {
      const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, opts)).body;
      return pi.status !== from ? pi : undefined;
    },
    15_000,
    `${id} to leave ${from}`,
  );
}

async function ledgerRows(intentId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM sandbox_ledger WHERE intent_id = ?").bind(intentId).first<{ n: number }>();
  return row?.n ?? 0;
}

async function history(id: string, opts: CallOptions): Promise<TransactionJson[]> {
  return (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data;
}

export async function sandboxWebhook(body: Record<string, unknown>, secret = SECRET, timestamp?: number) {
  const text = JSON.stringify(body);
  return call<{ received: boolean; applied: number; duplicates: number }>("POST", "/v1/psp_webhooks/sandbox", {
    key: null,
    body: text,
    headers: { "sandbox-signature": await signSandboxWebhook(secret, text, timestamp) },
  });
}

describe.concurrent("reconciliation of unknown outcomes", () => {
  it("a timeout resolves to succeeded, with one authorization at the PSP", async () => {
    const { opts } = await newMerchant("reconcile-success");
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true }, opts)).body;
    expect(pi.status).toBe("processing");
    const done = await settled(pi.id, opts);
    expect(done).toMatchObject({ status: "succeeded", amount_received: 2000 });
    const rows = await history(pi.id, opts);
    expect(rows.filter((t) => t.type === "authorize").map((t) => t.status)).toEqual(["succeeded"]);
    expect(await ledgerRows(pi.id)).toBe(1);
    const events = await waitFor(async () => {
      const types = (await get<ListJson<{ type: string }>>(`/v1/events?payment_intent=${pi.id}&limit=100`, opts)).body.data.map((e) => e.type);
      return types.length >= 4 ? types : undefined;
    });
    expect(events.sort()).toEqual(["charge.succeeded", "payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]);
  });

  it("the decline variant resolves to requires_payment_method", async () => {
    const { opts } = await newMerchant("reconcile-decline");
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenDecline", confirm: true }, opts)).body;
    const done = await settled(pi.id, opts);
    expect(done.status).toBe("requires_payment_method");
    expect(done.last_payment_error?.code).toBe("card_declined");
    expect(await ledgerRows(pi.id)).toBe(1);
  });

  it("a webhook arriving first (and twice) settles it once; reconciliation then finds nothing to do", async () => {
    const { opts } = await newMerchant("reconcile-webhook-first");
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true, capture_method: "manual" }, opts)).body;
    const [attempt] = await history(pi.id, opts);
    const event = { id: `sbxevt_${attempt?.id}`, type: "authorization.approved", data: { intent: pi.id, attempt: attempt?.id, reference: attempt?.provider_reference } };
    const first = await sandboxWebhook(event);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ applied: 1, duplicates: 0 });
    const second = await sandboxWebhook(event);
    expect(second.body).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status).toBe("requires_capture");
    // Reconciliation runs later and agrees: still one authorization.
    await new Promise((r) => setTimeout(r, 2500));
    const rows = await history(pi.id, opts);
    expect(rows.filter((t) => t.type === "authorize" && t.status === "succeeded")).toHaveLength(1);
    expect(await ledgerRows(pi.id)).toBe(1);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body).toMatchObject({ status: "requires_capture", amount_capturable: 2000 });
  });

  it("a Stripe timeout resolves through Stripe with one payment intent there", async () => {
    const { opts } = await newMerchant("reconcile-stripe");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_reconcile" } });
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true }, opts)).body;
    expect(pi.status).toBe("processing");
    const done = await settled(pi.id, opts);
    expect(done).toMatchObject({ status: "succeeded", connector: "stripe" });
    const [attempt] = await history(pi.id, opts);
    expect((await stripeFakeStats()).createdByAttempt[attempt?.id ?? ""]).toBe(1);
  });
});

describe("a provider failing on the replay of a call whose answer was lost", () => {
  it("never takes the refund as failed: it went through, so Stripe's own list of refunds is read back, and it is recorded once (it was marked failed, and refunded again)", async () => {
    const { opts } = await newMerchant("reconcile-replay-error");
    const secret = `sk_test_fake_replay_${Date.now()}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secret } });
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(pi.status).toBe("succeeded");
    // The refund is done at Stripe but its answer is lost; every replay that asks again gets a 500.
    await stripeFault(secret, "refund", "lost");
    for (let i = 0; i < 10; i++) await stripeFault(secret, "refund", "error");
    const refund = await post<{ id: string; status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, opts);
    expect(refund.body.status).toBe("pending");
    await reconcileNow(pi.id);
    const after = await waitFor(async () => {
      const r = (await get<{ status: string }>(`/v1/refunds/${refund.body.id}`, opts)).body;
      return r.status !== "pending" ? r : undefined;
    }, 15_000);
    expect(after.status).toBe("succeeded");
    await stripeClearFaults(secret);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(3000);
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([3000]);
  });
});

describe("a Stripe 5xx on a capture or refund is indeterminate", () => {
  const stripeMerchant = async (label: string) => {
    const { opts } = await newMerchant(label);
    const secret = `sk_test_fake_${label.replace(/-/g, "_")}_${Date.now()}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secret } });
    return { opts, secret };
  };
  const settled = <T extends { status: string }>(path: string, opts: CallOptions, still: string) =>
    waitFor(async () => {
      const body = (await get<T>(path, opts)).body;
      return body.status === still ? undefined : body;
    }, 15_000);

  it("a refund Stripe made but answered 500 (and answers 500 again to its key) is pending, then read back as made: recorded once", async () => {
    const { opts, secret } = await stripeMerchant("refund-5xx-made");
    const pi = (await createIntent({ amount: 6000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    await stripeFault(secret, "refund", "error_after");
    const refund = await post<{ id: string; status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 2500 }, opts);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body.status).toBe("pending");
    await reconcileNow(pi.id);
    expect((await settled<{ status: string }>(`/v1/refunds/${refund.body.id}`, opts, "pending")).status).toBe("succeeded");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(2500);
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([2500]);
  });

  it("a refund Stripe never made (every try answers 500) fails once Stripe's list shows none: nothing moved, and it can be refunded again", async () => {
    const { opts, secret } = await stripeMerchant("refund-5xx-none");
    const pi = (await createIntent({ amount: 6000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    for (let i = 0; i < 10; i++) await stripeFault(secret, "refund", "error");
    const refund = await post<{ id: string; status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 2500 }, opts);
    expect(refund.body.status).toBe("pending");
    await reconcileNow(pi.id);
    expect((await settled<{ status: string }>(`/v1/refunds/${refund.body.id}`, opts, "pending")).status).toBe("failed");
    await stripeClearFaults(secret);
    expect((await stripeLedger(pi.id)).refunds).toEqual([]);
    expect((await post<{ status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 2500 }, opts)).body.status).toBe("succeeded");
    expect((await stripeLedger(pi.id)).refunds.map((r) => r.amount)).toEqual([2500]);
  });

  it("a capture Stripe made but answered 500 leaves the payment processing, then read back as captured", async () => {
    const { opts, secret } = await stripeMerchant("capture-5xx-made");
    const pi = (await createIntent({ amount: 7000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    await stripeFault(secret, "capture", "error_after");
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 6000 }, opts);
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body.status).toBe("processing");
    await reconcileNow(pi.id);
    expect(await settled<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts, "processing")).toMatchObject({ status: "succeeded", amount_received: 6000 });
    expect((await stripeLedger(pi.id)).intents.map((i) => i.amount_received)).toEqual([6000]);
  });
});

describe("authorization expiry", () => {
  it("the cron cancels authorizations older than 7 days and leaves younger ones", async () => {
    const { opts } = await newMerchant("expiry");
    const old = await authorizedIntent(3000, opts);
    const young = await authorizedIntent(2000, opts);
    await env.DB.prepare("UPDATE payment_intents SET authorized_at = ? WHERE id = ?").bind(Date.now() - 8 * 86_400_000, young.id).run();
    // Eight days on, as the cron sees it: only the intent whose own authorization is 8 days old goes...
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
    // ...which the object checks against its own record, not the read model: young is still young.
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${young.id}`, opts)).body.status).toBe("requires_capture");
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 8 * 86_400_000, cron: "* * * * *" }), env);
    const expired = (await get<PaymentIntentJson>(`/v1/payment_intents/${old.id}`, opts)).body;
    expect(expired).toMatchObject({ status: "canceled", cancellation_reason: "automatic", amount_capturable: 0 });
    expect((await history(old.id, opts)).map((t) => `${t.type}:${t.status}`)).toEqual(["authorize:succeeded", "void:succeeded"]);
  });
});

describe("the cron's rescue of stuck reconciliations", () => {
  it("re-queues intents whose pending attempts nobody asked about for longer than the schedule's longest wait", async () => {
    const { opts } = await newMerchant("rescue");
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true }, opts)).body;
    const sent: ReconcileMessage[] = [];
    const recorder = { sendBatch: async (batch: { body: ReconcileMessage }[]) => void sent.push(...batch.map((m) => m.body)) } as unknown as typeof env.RECONCILE_QUEUE;
    // As if the chain had died: pending, and last looked at an hour ago.
    await env.DB.prepare("UPDATE payment_intents SET pending_attempts = 1, reconciled_at = ?, updated = ? WHERE id = ?").bind(Date.now() - 3_600_000, Date.now() - 3_600_000, pi.id).run();
    expect((await requeueStuckReconciliations({ ...env, RECONCILE_QUEUE: recorder }, Date.now())).done).toBeGreaterThanOrEqual(1);
    expect(sent).toContainEqual({ intentId: pi.id, round: 0 });
    // Recently looked at: left to its chain.
    sent.length = 0;
    await env.DB.prepare("UPDATE payment_intents SET reconciled_at = ? WHERE id = ?").bind(Date.now(), pi.id).run();
    await requeueStuckReconciliations({ ...env, RECONCILE_QUEUE: recorder }, Date.now());
    expect(sent.find((m) => m.intentId === pi.id)).toBeUndefined();
  });

  it("a chain whose queue message was lost is picked up one round's slack after the round it missed, not after the longest wait (12 h; the shopper read 'processing' all along)", async () => {
    const { opts } = await newMerchant("rescue-round");
    const pi = (await createIntent({ payment_method: "pm_card_sandboxTimeoutThenSuccess", confirm: true }, opts)).body;
    await waitFor(async () => ((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.status === "succeeded" ? true : undefined), 15_000, "the intent to settle");
    const row = await env.DB.prepare("SELECT data FROM payment_intents WHERE id = ?").bind(pi.id).first<{ data: string }>();
    // As if its attempt had started at `start` and were still pending (the row, settled, is no longer written to).
    const start = Date.now() - 1000;
    const data = JSON.parse(row?.data ?? "{}") as { attempts: { type: string; status: string; created: number }[] };
    for (const a of data.attempts) if (a.type === "authorize") Object.assign(a, { status: "pending", created: start });
    const pending = (reconciledAt: number | null) =>
      env.DB.prepare("UPDATE payment_intents SET pending_attempts = 1, reconciled_at = ?, updated = ?, data = ? WHERE id = ?").bind(reconciledAt, start, JSON.stringify(data), pi.id).run();
    // The production schedule: rounds due 30 s, 2 min 30 s, 12 min 30 s, ... after the attempt started.
    const production = { ...env, RECONCILE_SCHEDULE: "30s,2m,10m,1h,3h,6h,12h" };
    const sentAt = async (now: number): Promise<boolean> => {
      const sent: ReconcileMessage[] = [];
      const recorder = { sendBatch: async (batch: { body: ReconcileMessage }[]) => void sent.push(...batch.map((m) => m.body)) } as unknown as typeof env.RECONCILE_QUEUE;
      await env.DB.prepare("DELETE FROM sweep_cursors WHERE name = 'requeue_reconciliations'").run();
      await requeueStuckReconciliations({ ...production, RECONCILE_QUEUE: recorder }, now);
      return sent.some((m) => m.intentId === pi.id && m.round === 0);
    };
    const SLACK = 5 * 60_000;
    try {
      // The first round's message never came: found once its time and the slack have passed.
      await pending(null);
      expect(await sentAt(start + 30_000 + SLACK - 1000)).toBe(false);
      expect(await sentAt(start + 30_000 + SLACK + 1000)).toBe(true);
      // The first round ran (at 31 s) and the second's message was lost: found after 2 min 30 s and the slack.
      await pending(start + 31_000);
      expect(await sentAt(start + 150_000 + SLACK - 1000)).toBe(false);
      expect(await sentAt(start + 150_000 + SLACK + 1000)).toBe(true);
      // The sweep's own check ran then: nothing until the next round is due (12 min 30 s) and late.
      await pending(start + 150_000 + SLACK + 2000);
      expect(await sentAt(start + 750_000 + SLACK - 1000)).toBe(false);
      expect(await sentAt(start + 750_000 + SLACK + 1000)).toBe(true);
    } finally {
      await env.DB.prepare("UPDATE payment_intents SET pending_attempts = 0, data = ? WHERE id = ?").bind(row?.data ?? "{}", pi.id).run();
    }
  });
});
