// Stripe's incremental authorization: POST /v1/payment_intents/{id}/increment_authorization raises an
// uncaptured authorization to a new total, when the confirmation asked for it
// (payment_method_options[card][request_incremental_authorization]=if_available) and the connector and
// card allow it (the charge's payment_method_details.card.incremental_authorization.status).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventJson } from "../../src/core/events";
import { stub, stripeFault, stripeLedger } from "../chaos/harness";
import {
  addConnector,
  bearer,
  createIntent,
  expectError,
  get,
  hsToken,
  MERCHANT_A,
  newMerchant,
  post,
  readModelIntent,
  seedCustomer,
  stripeClient,
  uniqueKey,
  waitFor,
  type CallOptions,
  type ChargeJson,
  type ListJson,
  type PaymentIntentJson,
  type TransactionJson,
} from "../helpers";

const INCREMENTAL = { card: { request_incremental_authorization: "if_available" } };

/** An authorized (requires_capture) intent that asked for incremental authorization. */
async function incrementable(amount = 5000, paymentMethod = "pm_card_visa", options: CallOptions = {}, extra: Record<string, unknown> = {}): Promise<PaymentIntentJson> {
  const res = await createIntent({ amount, payment_method: paymentMethod, confirm: true, capture_method: "manual", payment_method_options: INCREMENTAL, ...extra }, options);
  expect(res.body.status, JSON.stringify(res.body)).toBe("requires_capture");
  return res.body;
}

const increment = (id: string, body: Record<string, unknown>, options: CallOptions = {}) => post<PaymentIntentJson>(`/v1/payment_intents/${id}/increment_authorization`, body, options);
const retrieve = async (id: string, options: CallOptions = {}) => (await get<PaymentIntentJson>(`/v1/payment_intents/${id}`, options)).body;
const charge = async (id: string, options: CallOptions = {}) => (await get<ChargeJson>(`/v1/charges/ch_${id.slice(3)}`, options)).body;
const history = async (id: string, options: CallOptions = {}) => (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${id}/transactions`, options)).body.data;

async function eventsOf(id: string, types: string[]): Promise<EventJson[]> {
  return waitFor(
    async () => {
      const res = await get<ListJson<EventJson & { type: string }>>(`/v1/events?payment_intent=${id}&limit=100`);
      const data = [...res.body.data].reverse();
      return types.every((t) => data.some((e) => e.type === t)) ? data : undefined;
    },
    10_000,
    `events ${types.join(", ")} of ${id}`,
  );
}

describe("increment_authorization on the sandbox", () => {
  it("raises amount and amount_capturable to the new total; the charge follows; a capture can take the new amount", async () => {
    const pi = await incrementable(5000);
    expect(pi.payment_method_options.card.request_incremental_authorization).toBe("if_available");
    const before = await charge(pi.id);
    expect(before.payment_method_details.card?.incremental_authorization).toEqual({ status: "available" });

    const res = await increment(pi.id, { amount: 7500, description: "room service added", metadata: { folio: "42" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "requires_capture", amount: 7500, amount_capturable: 7500, description: "room service added", metadata: { folio: "42" } });
    const ch = await charge(pi.id);
    expect(ch).toMatchObject({ amount: 7500, captured: false, description: "room service added" });
    expect(ch.payment_method_details.card?.amount_authorized).toBe(7500);

    // Incremented twice: each a new total.
    expect((await increment(pi.id, { amount: 8000 })).body).toMatchObject({ amount: 8000, amount_capturable: 8000 });
    const steps = (await history(pi.id)).map((t) => `${t.type}:${t.status}:${t.amount}`);
    expect(steps).toEqual(["authorize:succeeded:5000", "increment:succeeded:7500", "increment:succeeded:8000"]);

    // More than the new total cannot be captured; the new total can.
    expectError(await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 8001 }), 400, "amount_too_large");
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 8000 });
    expect(captured.body).toMatchObject({ status: "succeeded", amount: 8000, amount_received: 8000, amount_capturable: 0 });
    expect(await charge(pi.id)).toMatchObject({ amount: 8000, amount_captured: 8000, captured: true, refunded: false });
    // Captured: no further increments.
    expectError(await increment(pi.id, { amount: 9000 }), 400, "payment_intent_unexpected_state");

    // The read model follows the object.
    const row = await waitFor(async () => {
      const r = await readModelIntent(pi.id);
      return r?.status === "succeeded" ? r : undefined;
    });
    expect(row).toMatchObject({ amount: 8000, amountReceived: 8000, amountCapturable: 0 });
  });

  it("emits payment_intent.amount_capturable_updated and charge.updated (with previous_attributes), and audits it", async () => {
    const pi = await incrementable(3000);
    expect((await increment(pi.id, { amount: 4500 })).status).toBe(200);
    const events = await eventsOf(pi.id, ["charge.updated"]);
    const capturable = events.filter((e) => (e as EventJson & { type: string }).type === "payment_intent.amount_capturable_updated");
    // One for the authorization, one for the increment.
    expect(capturable).toHaveLength(2);
    expect(capturable[1]?.data.object).toMatchObject({ id: pi.id, amount: 4500, amount_capturable: 4500 });
    const updated = events.find((e) => (e as EventJson & { type: string }).type === "charge.updated");
    expect(updated?.data.object).toMatchObject({ id: `ch_${pi.id.slice(3)}`, amount: 4500 });
    expect(updated?.data.previous_attributes).toMatchObject({ amount: 3000 });
    const audit = await waitFor(async () => {
      const rows = await env.DB.prepare("SELECT action, http_status FROM audit_log WHERE object_id = ? ORDER BY created").bind(pi.id).all<{ action: string; http_status: number }>();
      return rows.results.some((r) => r.action === "payment_intents.increment_authorization") ? rows.results : undefined;
    });
    expect(audit.find((r) => r.action === "payment_intents.increment_authorization")?.http_status).toBe(200);
  });

  it("is refused (400) when the confirmation did not ask for it, and the charge says unavailable", async () => {
    const res = await createIntent({ amount: 2000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" });
    expect(res.body.status).toBe("requires_capture");
    expect((await charge(res.body.id)).payment_method_details.card?.incremental_authorization).toEqual({ status: "unavailable" });
    const refused = expectError(await increment(res.body.id, { amount: 3000 }), 400, "incremental_authorization_unavailable");
    expect(refused.message).toContain("request_incremental_authorization");
    expect(await retrieve(res.body.id)).toMatchObject({ status: "requires_capture", amount: 2000, amount_capturable: 2000 });
    expect((await history(res.body.id)).map((t) => t.type)).toEqual(["authorize"]);
  });

  it("is refused when the card brand does not support it (JCB), or the payment was captured automatically", async () => {
    const jcb = await incrementable(2000, "pm_card_jcb");
    expect((await charge(jcb.id)).payment_method_details.card?.incremental_authorization).toEqual({ status: "unavailable" });
    expectError(await increment(jcb.id, { amount: 3000 }), 400, "incremental_authorization_unavailable");

    const auto = (await createIntent({ amount: 2000, payment_method: "pm_card_visa", confirm: true, payment_method_options: INCREMENTAL })).body;
    expect(auto.status).toBe("succeeded");
    expect((await charge(auto.id)).payment_method_details.card?.incremental_authorization).toEqual({ status: "unavailable" });
    expectError(await increment(auto.id, { amount: 3000 }), 400, "payment_intent_unexpected_state");
  });

  it("is refused (400 payment_intent_unexpected_state) outside requires_capture", async () => {
    const unconfirmed = (await createIntent({ payment_method_options: INCREMENTAL, capture_method: "manual" })).body;
    const err = expectError(await increment(unconfirmed.id, { amount: 3000 }), 400, "payment_intent_unexpected_state");
    expect(err.message).toContain("requires_capture");
    const canceled = await incrementable(2000);
    expect((await post(`/v1/payment_intents/${canceled.id}/cancel`, {})).status).toBe(200);
    expectError(await increment(canceled.id, { amount: 3000 }), 400, "payment_intent_unexpected_state");
    expect(await retrieve(canceled.id)).toMatchObject({ status: "canceled", amount: 2000 });
  });

  it("validates the amount: required, greater than the current amount, at most the maximum; unknown parameters are refused", async () => {
    const pi = await incrementable(5000);
    expectError(await increment(pi.id, {}), 400);
    expect(expectError(await increment(pi.id, { amount: 5000 }), 400, "amount_too_small").param).toBe("amount");
    expectError(await increment(pi.id, { amount: 4000 }), 400, "amount_too_small");
    expectError(await increment(pi.id, { amount: 100_000_000 }), 400);
    expectError(await increment(pi.id, { amount: 1.5 }), 400);
    expectError(await increment(pi.id, { amount: 6000, amount_to_capture: 6000 }), 400);
    expectError(await increment(pi.id, { amount: 6000, application_fee_amount: 10 }), 400, "parameter_not_supported");
    expect(await retrieve(pi.id)).toMatchObject({ status: "requires_capture", amount: 5000, amount_capturable: 5000 });
    expect((await history(pi.id)).map((t) => t.type)).toEqual(["authorize"]);
    // The maximum itself is allowed.
    expect((await increment(pi.id, { amount: 99_999_999 })).body).toMatchObject({ amount: 99_999_999, amount_capturable: 99_999_999 });
  });

  it("a declined increment answers 402 card_declined and leaves the intent capturable for the old amount", async () => {
    const pi = await incrementable(5000, "pm_card_sandboxIncrementDeclined", {}, { description: "before" });
    expect((await charge(pi.id)).payment_method_details.card?.incremental_authorization).toEqual({ status: "available" });
    const declined = await increment(pi.id, { amount: 9000, description: "after", metadata: { k: "v" } });
    const err = expectError(declined, 402, "card_declined");
    expect(err).toMatchObject({ type: "card_error", decline_code: "insufficient_funds" });
    const after = await retrieve(pi.id);
    expect(after).toMatchObject({ status: "requires_capture", amount: 5000, amount_capturable: 5000, description: "before", metadata: {}, last_payment_error: null });
    expect((await charge(pi.id)).amount).toBe(5000);
    expect((await history(pi.id)).map((t) => `${t.type}:${t.status}:${t.amount}`)).toEqual(["authorize:succeeded:5000", "increment:failed:9000"]);
    // The old amount is still capturable.
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {})).body).toMatchObject({ status: "succeeded", amount_received: 5000 });
  });

  it("with an Idempotency-Key: replayed (one attempt at the PSP); the key with other parameters is refused", async () => {
    const pi = await incrementable(5000);
    const key = uniqueKey("incr");
    const first = await increment(pi.id, { amount: 6000 }, { idempotencyKey: key });
    expect(first.status).toBe(200);
    const again = await increment(pi.id, { amount: 6000 }, { idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expectError(await increment(pi.id, { amount: 7000 }, { idempotencyKey: key }), 400, "idempotency_key_reused");
    expect((await history(pi.id)).filter((t) => t.type === "increment")).toHaveLength(1);
    expect(await retrieve(pi.id)).toMatchObject({ amount: 6000, amount_capturable: 6000 });

    // A decline is replayed as such.
    const declining = await incrementable(5000, "pm_card_sandboxIncrementDeclined");
    const dkey = uniqueKey("incr-decline");
    expectError(await increment(declining.id, { amount: 6000 }, { idempotencyKey: dkey }), 402, "card_declined");
    const replay = await increment(declining.id, { amount: 6000 }, { idempotencyKey: dkey });
    expectError(replay, 402, "card_declined");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await history(declining.id)).filter((t) => t.type === "increment")).toHaveLength(1);
  });

  it("concurrent with a capture: serialized, never capturing more than is authorized at the moment of capture", async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const pi = await incrementable(4000);
      // The capture asks for the incremented total: it succeeds only if the increment ran first.
      const capture = () => post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 6000 });
      const inc = () => increment(pi.id, { amount: 6000 });
      const [captured, incremented] = round % 2 === 0 ? await Promise.all([capture(), inc()]) : (await Promise.all([inc(), capture()])).reverse();
      const after = await retrieve(pi.id);
      const steps = (await history(pi.id)).map((t) => `${t.type}:${t.status}:${t.amount}`);
      if (incremented?.status === 200 && captured?.status === 200) {
        // Increment first, then the capture of the new total.
        expect(steps).toEqual(["authorize:succeeded:4000", "increment:succeeded:6000", "capture:succeeded:6000"]);
        expect(after).toMatchObject({ status: "succeeded", amount: 6000, amount_received: 6000, amount_capturable: 0 });
        outcomes.add("increment-then-capture");
      } else {
        // The capture came first and was refused (more than authorized), or the increment came after a capture.
        expect(captured?.status === 200 && incremented?.status === 200).toBe(false);
        if (captured?.status !== 200) expectError(captured as NonNullable<typeof captured>, 400, "amount_too_large");
        expect(after.amount_received).toBeLessThanOrEqual(after.amount);
        outcomes.add(`capture:${captured?.status}/increment:${incremented?.status}`);
      }
      for (const t of await history(pi.id)) if (t.type === "capture" && t.status === "succeeded") expect(t.amount).toBeLessThanOrEqual(after.amount);
    }
    // Both orders happen across the rounds (the object serializes whichever arrives first).
    expect([...outcomes].length, [...outcomes].join(", ")).toBeGreaterThan(0);

    // A full capture (no amount) racing an increment: whichever runs first, what is captured was authorized then.
    for (let round = 0; round < 6; round++) {
      const pi = await incrementable(4000);
      const requests = [post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}), increment(pi.id, { amount: 5000 })];
      const [captured, incremented] = round % 2 === 0 ? await Promise.all(requests) : (await Promise.all([...requests].reverse())).reverse();
      expect(captured?.status).toBe(200);
      const after = await retrieve(pi.id);
      const steps = (await history(pi.id)).map((t) => `${t.type}:${t.status}:${t.amount}`);
      if (incremented?.status === 200) {
        expect(steps).toEqual(["authorize:succeeded:4000", "increment:succeeded:5000", "capture:succeeded:5000"]);
        expect(after).toMatchObject({ status: "succeeded", amount: 5000, amount_received: 5000 });
      } else {
        expectError(incremented as NonNullable<typeof incremented>, 400, "payment_intent_unexpected_state");
        expect(steps).toEqual(["authorize:succeeded:4000", "capture:succeeded:4000"]);
        expect(after).toMatchObject({ status: "succeeded", amount: 4000, amount_received: 4000 });
      }
    }
  });

  it("concurrent with a cancel: one consistent outcome", async () => {
    for (let round = 0; round < 6; round++) {
      const pi = await incrementable(4000);
      const requests = [post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/cancel`, {}), increment(pi.id, { amount: 5000 })];
      const [canceled, incremented] = round % 2 === 0 ? await Promise.all(requests) : (await Promise.all([...requests].reverse())).reverse();
      expect(canceled?.status).toBe(200);
      const after = await retrieve(pi.id);
      expect(after).toMatchObject({ status: "canceled", amount_capturable: 0, amount_received: 0 });
      const steps = (await history(pi.id)).map((t) => `${t.type}:${t.status}`);
      if (incremented?.status === 200) {
        expect(after.amount).toBe(5000);
        expect(steps).toEqual(["authorize:succeeded", "increment:succeeded", "void:succeeded"]);
      } else {
        expectError(incremented as NonNullable<typeof incremented>, 400, "payment_intent_unexpected_state");
        expect(after.amount).toBe(4000);
        expect(steps).toEqual(["authorize:succeeded", "void:succeeded"]);
      }
    }
  });

  it("works through the official stripe client", async () => {
    const stripe = stripeClient();
    const pi = await incrementable(2500);
    const updated = await stripe.paymentIntents.incrementAuthorization(pi.id, { amount: 3500, metadata: { extra: "minibar" } });
    expect(updated).toMatchObject({ id: pi.id, amount: 3500, amount_capturable: 3500, metadata: { extra: "minibar" } });
    const ch = await stripe.charges.retrieve(`ch_${pi.id.slice(3)}`);
    expect(ch.payment_method_details?.card?.incremental_authorization?.status).toBe("available");
    expect(ch.amount).toBe(3500);
  });

  it("a shopper's token cannot increment its own payment (it never re-prices): 403, nothing changes", async () => {
    const customer = `cus_incr${uniqueKey("c").replace(/[^A-Za-z0-9]/g, "")}`;
    await seedCustomer(MERCHANT_A, customer);
    const pi = await incrementable(2000, "pm_card_visa", {}, { customer });
    const shopper = bearer(await hsToken({ roles: ["customer"], customer, sub: "shopper" }));
    expect((await get(`/v1/payment_intents/${pi.id}`, shopper)).status).toBe(200);
    expectError(await increment(pi.id, { amount: 3000 }, shopper), 403);
    expect(await retrieve(pi.id)).toMatchObject({ amount: 2000 });
  });
});

describe("increment_authorization through the Stripe connector (the local Stripe fake)", () => {
  async function stripeMerchant(label: string) {
    const { opts } = await newMerchant(label);
    const secretKey = `sk_test_fake_${uniqueKey(label).replace(/[^A-Za-z0-9]/g, "")}`;
    await addConnector(opts, { connector: "stripe", credentials: { secret_key: secretKey } });
    return { opts, secretKey };
  }

  it("asks Stripe for an incrementable authorization and increments it there", async () => {
    const { opts } = await stripeMerchant("incr-stripe");
    const pi = await incrementable(5000, "pm_card_visa", opts);
    expect((await charge(pi.id, opts)).payment_method_details.card?.incremental_authorization).toEqual({ status: "available" });
    const res = await increment(pi.id, { amount: 7000 }, opts);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ amount: 7000, amount_capturable: 7000 });
    const ledger = await stripeLedger(pi.id);
    expect(ledger.intents).toEqual([expect.objectContaining({ status: "requires_capture", amount_capturable: 7000 })]);
    const captured = await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, opts);
    expect(captured.body).toMatchObject({ status: "succeeded", amount_received: 7000 });
    expect((await stripeLedger(pi.id)).intents).toEqual([expect.objectContaining({ status: "succeeded", amount_received: 7000 })]);
  });

  it("not asked for at Stripe: unavailable, refused before Stripe hears of it", async () => {
    const { opts } = await stripeMerchant("incr-stripe-no");
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true, capture_method: "manual" }, opts)).body;
    expect((await charge(pi.id, opts)).payment_method_details.card?.incremental_authorization).toEqual({ status: "unavailable" });
    expectError(await increment(pi.id, { amount: 7000 }, opts), 400, "incremental_authorization_unavailable");
  });

  it("a decline at Stripe is a 402 and changes nothing", async () => {
    const { opts } = await stripeMerchant("incr-stripe-decline");
    const pi = await incrementable(5000, "pm_card_sandboxIncrementDeclined", opts);
    const err = expectError(await increment(pi.id, { amount: 7000 }, opts), 402, "card_declined");
    expect(err.decline_code).toBe("insufficient_funds");
    expect(await retrieve(pi.id, opts)).toMatchObject({ status: "requires_capture", amount: 5000, amount_capturable: 5000 });
    expect((await stripeLedger(pi.id)).intents).toEqual([expect.objectContaining({ status: "requires_capture", amount_capturable: 5000 })]);
  });

  it("an unknown outcome (Stripe 500) leaves the attempt pending; capture waits (409); reconciliation applies it", async () => {
    const { opts, secretKey } = await stripeMerchant("incr-stripe-unknown");
    const pi = await incrementable(5000, "pm_card_visa", opts);
    await stripeFault(secretKey, "increment", "error_after");
    const res = await increment(pi.id, { amount: 6500 }, opts);
    expectError(res, 504, "provider_timeout");
    expect(await retrieve(pi.id, opts)).toMatchObject({ status: "requires_capture", amount: 5000, amount_capturable: 5000 });
    expect((await history(pi.id, opts)).map((t) => `${t.type}:${t.status}`)).toEqual(["authorize:succeeded", "increment:pending"]);
    const waiting = await post(`/v1/payment_intents/${pi.id}/capture`, {}, opts);
    expectError(waiting, 409, "payment_intent_pending_reconciliation");
    // An answer, not a lock: stripe-node, which retries 409s by itself, is told not to.
    expect(waiting.headers.get("stripe-should-retry")).toBe("false");
    expectError(await increment(pi.id, { amount: 7000 }, opts), 409, "payment_intent_pending_reconciliation");

    const result = await stub(pi.id).reconcile(pi.id);
    expect(result).toMatchObject({ found: true, stillPending: 0 });
    expect(await retrieve(pi.id, opts)).toMatchObject({ status: "requires_capture", amount: 6500, amount_capturable: 6500 });
    expect((await post<PaymentIntentJson>(`/v1/payment_intents/${pi.id}/capture`, {}, opts)).body).toMatchObject({ status: "succeeded", amount_received: 6500 });
  });
});
