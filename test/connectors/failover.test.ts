// Failover and health: a provider error before any money moved (a refused request) goes on to the
// next connector; a decline, or a 5xx (indeterminate: the payment may have been made), never does. The circuit breaker opens after repeated failures (3 in tests), lets one probe
// through after its cooldown (1 s in tests), and closes when the probe succeeds.
import { describe, expect, it } from "vitest";
import {
  addConnector,
  createIntent,
  expectError,
  get,
  newMerchant,
  post,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type TransactionJson,
  waitFor,
} from "../helpers";
import { reconcileNow, stripeFault, stripeLedger } from "../chaos/harness";

interface HealthRow {
  connector: string;
  connector_account: string | null;
  priority: number | null;
  health: { state: string; calls: number; successes: number; provider_errors: number; success_rate: number | null; p50_latency_ms: number | null; p95_latency_ms: number | null; consecutive_failures: number };
}

const steps = async (id: string, opts: CallOptions) =>
  (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, opts)).body.data.map((t) => `${t.connector}:${t.status}`);
const health = async (opts: CallOptions) => (await get<ListJson<HealthRow>>("/v1/admin/psp_health", opts)).body.data;

describe("failover", () => {
  it("connector 1 refuses the request (429, nothing done): the payment succeeds on connector 2, both attempts recorded", async () => {
    const { opts } = await newMerchant("failover");
    const down = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_1" }, priority: 1 });
    const sandbox = await addConnector(opts, { connector: "sandbox", priority: 2 });
    const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(pi).toMatchObject({ status: "succeeded", connector: "sandbox", connector_account: sandbox.id });
    expect(await steps(pi.id, opts)).toEqual(["stripe:failed", "sandbox:succeeded"]);
    const rows = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(rows[0]).toMatchObject({ connector_account: down.id, response_code: "provider_error" });
  });

  it("a 5xx from connector 1 is indeterminate: no failover, the intent is processing, and reconciliation finds the payment Stripe made (money moved once)", async () => {
    const { opts } = await newMerchant("no-failover-5xx");
    const secret = `sk_test_fake_5xx_${Date.now()}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secret }, priority: 1 });
    await addConnector(opts, { connector: "sandbox", priority: 2 });
    // Stripe makes the payment and answers 500, and keeps that 500 as the key's answer.
    await stripeFault(secret, "create", "error_after");
    const res = await createIntent({ amount: 4100, payment_method: "pm_card_visa", confirm: true }, opts);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe("processing");
    expect(await steps(res.body.id, opts)).toEqual(["stripe:pending"]);
    // A confirm meanwhile cannot charge again.
    expect((await post(`/v1/payment_intents/${res.body.id}/confirm`, {}, opts)).status).toBe(400);
    await reconcileNow(res.body.id);
    const after = await waitFor(async () => {
      const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${res.body.id}`, opts)).body;
      return pi.status === "processing" ? undefined : pi;
    });
    expect(after).toMatchObject({ status: "succeeded", amount_received: 4100, connector: "stripe" });
    expect(await steps(res.body.id, opts)).toEqual(["stripe:succeeded"]);
    expect((await stripeLedger(res.body.id)).intents.map((pi) => pi.amount_received)).toEqual([4100]);
  });

  it("a 5xx where Stripe made nothing: once its search finds no payment, the intent may be confirmed again", async () => {
    const { opts } = await newMerchant("5xx-nothing");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: `sk_test_fake_5xx_none_${Date.now()}` } });
    // The fake's provider-error card answers 500 to every try, making nothing.
    const res = await createIntent({ amount: 4200, payment_method: "pm_card_sandboxProviderError", confirm: true }, opts);
    expect(res.body.status).toBe("processing");
    await reconcileNow(res.body.id);
    const after = await waitFor(async () => {
      const pi = (await get<PaymentIntentJson>(`/v1/payment_intents/${res.body.id}`, opts)).body;
      return pi.status === "processing" ? undefined : pi;
    });
    expect(after).toMatchObject({ status: "requires_confirmation", amount_received: 0 });
    expect((await stripeLedger(res.body.id)).intents).toEqual([]);
  });

  it("a decline on connector 1 does not fail over", async () => {
    const { opts } = await newMerchant("no-failover");
    await addConnector(opts, { connector: "sandbox", priority: 1 });
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_backup" }, priority: 2 });
    const res = await createIntent({ payment_method: "pm_card_chargeDeclined", confirm: true }, opts);
    const error = expectError(res, 402, "card_declined");
    expect(await steps(error.payment_intent?.id ?? "", opts)).toEqual(["sandbox:failed"]);
  });

  it("when every connector fails before money moved, the answer is 502 and the payment may be confirmed again", async () => {
    const { opts } = await newMerchant("all-down");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_a" }, priority: 1 });
    const second = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_b" }, priority: 2 });
    const res = await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    const error = expectError(res, 502, "provider_error");
    const id = error.payment_intent?.id ?? "";
    expect(error.payment_intent?.status).toBe("requires_confirmation");
    expect(await steps(id, opts)).toEqual(["stripe:failed", "stripe:failed"]);
    await post(`/v1/connector_accounts/${second.id}`, { credentials: { secret_key: "sk_test_fake_fixed" } }, opts);
    const retried = await post<PaymentIntentJson>(`/v1/payment_intents/${id}/confirm`, {}, opts);
    expect(retried.body.status).toBe("succeeded");
  });
});

describe("circuit breaker and psp_health", () => {
  it("opens after repeated failures, skips the connector, probes after the cooldown and closes on success", async () => {
    const { opts } = await newMerchant("breaker");
    const flaky = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_breaker" }, priority: 1 });
    await addConnector(opts, { connector: "sandbox", priority: 2 });
    for (let i = 0; i < 3; i++) {
      const pi = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
      expect(await steps(pi.id, opts)).toEqual(["stripe:failed", "sandbox:succeeded"]);
    }
    const opened = (await health(opts)).find((h) => h.connector_account === flaky.id);
    expect(opened?.health).toMatchObject({ state: "open", provider_errors: 3, consecutive_failures: 3 });

    // Open: Stripe is not even asked.
    const skipped = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(await steps(skipped.id, opts)).toEqual(["sandbox:succeeded"]);

    // Stripe recovers; after the cooldown one probe goes through and closes the breaker.
    await post(`/v1/connector_accounts/${flaky.id}`, { credentials: { secret_key: "sk_test_fake_recovered" } }, opts);
    await new Promise((r) => setTimeout(r, 1200));
    const probe = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(await steps(probe.id, opts)).toEqual(["stripe:succeeded"]);
    const closed = (await health(opts)).find((h) => h.connector_account === flaky.id);
    expect(closed?.health.state).toBe("closed");
    expect(closed?.health.successes).toBe(1);
    expect(closed?.health.success_rate).toBeCloseTo(0.25, 2);
    expect(typeof closed?.health.p95_latency_ms).toBe("number");
  });

  it("a failed probe opens the breaker again", async () => {
    const { opts } = await newMerchant("breaker-probe");
    const flaky = await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_probe" }, priority: 1 });
    await addConnector(opts, { connector: "sandbox", priority: 2 });
    for (let i = 0; i < 3; i++) await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    await new Promise((r) => setTimeout(r, 1200));
    const probe = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(await steps(probe.id, opts)).toEqual(["stripe:failed", "sandbox:succeeded"]);
    expect((await health(opts)).find((h) => h.connector_account === flaky.id)?.health.state).toBe("open");
    const skipped = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expect(await steps(skipped.id, opts)).toEqual(["sandbox:succeeded"]);
  });

  it("with its only connector paused, a payment is refused with 503 and nothing recorded", async () => {
    const { opts } = await newMerchant("breaker-only");
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: "sk_test_fake_refused_only" } });
    for (let i = 0; i < 3; i++) expectError(await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts), 502);
    const res = await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    expectError(res, 503, "connectors_unavailable");
  });

  it("the built-in sandbox has health too", async () => {
    const { opts } = await newMerchant("sandbox-health");
    await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    await createIntent({ payment_method: "pm_card_chargeDeclined", confirm: true }, opts);
    // Successes reach the health object in batches, within half a second.
    const row = await waitFor(async () => {
      const [first] = await health(opts);
      return first && first.health.calls === 2 ? first : undefined;
    });
    expect(row).toMatchObject({ connector: "sandbox", connector_account: null });
    expect(row?.health).toMatchObject({ state: "closed", calls: 2, successes: 1, success_rate: 1 });
    expectError(await get("/v1/admin/psp_health", { key: "sk_test_nobody_here" }), 401);
  });
});
