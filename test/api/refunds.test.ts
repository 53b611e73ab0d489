import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { cancelRefund } from "../../src/intents/operations/refund";
import type { OperationTools } from "../../src/intents/operations/tools";
import { ApiError } from "../../src/core/errors";
import {
  approverOf,
  authorizedIntent,
  bearer,
  call,
  createIntent,
  expectError,
  get,
  hsToken,
  KEY_B,
  newMerchant,
  post,
  readModelIntent,
  storedEventRecords,
  stripeClient,
  succeededIntent,
  uniqueKey,
  waitFor,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
} from "../helpers";

/** A restricted key of the merchant behind `key`, with just these permissions. */
async function restrictedKey(key: string, permissions: string[]): Promise<string> {
  const res = await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions }, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.secret ?? "";
}

/** The types of the refund's events, once `type` is among them (they reach D1 through the events queue). */
async function refundEventTypes(intentId: string, refundId: string, type: string): Promise<string[]> {
  return waitFor(async () => {
    const types = (await storedEventRecords({ paymentIntent: intentId })).filter((e) => e.object.id === refundId).map((e) => e.type);
    return types.includes(type) ? types : undefined;
  }, 15_000, `${type} of ${refundId}`);
}

describe("POST /v1/refunds", () => {
  it("refunds part of a payment by payment_intent, with Stripe's and seed 001's fields", async () => {
    const pi = await succeededIntent(5000);
    const res = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 1000, reason: "requested_by_customer", metadata: { ticket: "T-1" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: "refund",
      amount: 1000,
      currency: "usd",
      status: "succeeded",
      reason: "requested_by_customer",
      payment_intent: pi.id,
      charge: pi.latest_charge,
      metadata: { ticket: "T-1" },
    });
    expect(res.body.id).toMatch(/^re_/);
    expect(res.body.refund_id).toBe(res.body.id);
    const after = (await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body;
    expect(after.amount_refunded).toBe(1000);
    expect(after.status).toBe("succeeded");
  });

  it("refunds by Stripe's `charge` and by seed 001's `charge_id`", async () => {
    const pi = await succeededIntent(3000);
    const byCharge = await post<RefundJson>("/v1/refunds", { charge: pi.latest_charge, amount: 1000 });
    expect(byCharge.status).toBe(200);
    const byChargeId = await post<RefundJson>("/v1/refunds", { charge_id: pi.latest_charge, amount: 1000 });
    expect(byChargeId.status).toBe(200);
    expect(byChargeId.body.charge).toBe(pi.latest_charge);
    const charge = (await get(`/v1/charges/${pi.latest_charge}`)).body;
    expect(charge).toMatchObject({ amount_refunded: 2000, refunded: false });
  });

  it("allows several partial refunds up to the captured amount, then refuses", async () => {
    const pi = await authorizedIntent(5000);
    await post(`/v1/payment_intents/${pi.id}/capture`, { amount_to_capture: 4000 });
    expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 1500 })).status).toBe(200);
    expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 1500 })).status).toBe(200);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 1001 }), 400, "amount_too_large");
    const rest = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id });
    expect(rest.body.amount).toBe(1000);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 1 }), 400, "charge_already_refunded");
    const charge = (await get(`/v1/charges/${pi.latest_charge}`)).body;
    // As Stripe counts it on the charge: the 1,000 never captured was given back too (the intent's
    // own amount_refunded stays the refunds).
    expect(charge).toMatchObject({ amount: 5000, amount_captured: 4000, amount_refunded: 5000, refunded: true });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(4000);
  });

  it("refuses intents that have not been captured", async () => {
    expectError(await post("/v1/refunds", { payment_intent: (await authorizedIntent()).id }), 400, "charge_not_refundable");
    expectError(await post("/v1/refunds", { payment_intent: (await createIntent()).body.id }), 400, "charge_not_refundable");
    // A declined authorization's failed charge (GET /v1/charges reads it): nothing was taken, so it is
    // not refundable, not missing; the intent's later successful charge is.
    const intent = (await createIntent()).body;
    const declined = expectError(await post(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_chargeDeclined" }), 402);
    const failedCharge = String(declined.charge);
    expect((await get(`/v1/charges/${failedCharge}`)).status).toBe(200);
    for (const field of ["charge", "charge_id"]) {
      const refused = expectError(await post("/v1/refunds", { [field]: failedCharge }), 400, "charge_not_refundable");
      expect(refused.message).toContain("no money was taken");
      // The parameter the client sent is the one named (it was `charge` for charge_id too).
      expect(refused.param).toBe(field);
    }
    const paid = (await post<PaymentIntentJson>(`/v1/payment_intents/${intent.id}/confirm`, { payment_method: "pm_card_visa" })).body;
    expectError(await post("/v1/refunds", { charge: failedCharge }), 400, "charge_not_refundable");
    expect((await post("/v1/refunds", { charge: paid.latest_charge, amount: 100 })).status).toBe(200);
  });

  it("validates its target and amount", async () => {
    const pi = await succeededIntent();
    expectError(await post("/v1/refunds", {}), 400, "parameter_missing");
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 0 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: -5 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 10.5 }), 400);
    expectError(await post("/v1/refunds", { payment_intent: pi.id, reason: "whim" }), 400);
    // A charge or intent named that does not exist: a 400 resource_missing naming it, as at Stripe.
    expect(expectError(await post("/v1/refunds", { charge: "ch_nope" }), 400, "resource_missing").param).toBe("charge");
    expect(expectError(await post("/v1/refunds", { payment_intent: `pi_${"z".repeat(24)}` }), 400, "resource_missing").param).toBe("payment_intent");
    const other = await succeededIntent();
    expectError(await post("/v1/refunds", { payment_intent: pi.id, charge: other.latest_charge }), 400);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });

  it("answers another merchant resource_missing (a 400: the intent is a parameter's) and refunds nothing", async () => {
    const pi = await succeededIntent();
    expectError(await post("/v1/refunds", { payment_intent: pi.id }, { key: KEY_B }), 400, "resource_missing");
    expectError(await post("/v1/refunds", { charge: pi.latest_charge }, { key: KEY_B }), 400, "resource_missing");
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });
});

describe("refund-approval thresholds made stricter in another isolate", () => {
  it("hold the next refund at once: a refund reads them fresh, never from this isolate's cache of the settings", async () => {
    const m = await newMerchant("thresholds-fresh");
    const pi = await succeededIntent(5000, m.opts);
    // This isolate reads (and caches) the settings: no thresholds yet.
    expect((await post<{ status: string }>("/v1/refunds", { payment_intent: pi.id, amount: 100 }, m.opts)).body.status).toBe("succeeded");
    // Another isolate writes a threshold of 10.00 (straight into D1: this isolate's cache is not told).
    await env.DB.prepare("UPDATE merchants SET settings = json_set(coalesce(nullif(settings, ''), '{}'), '$.refund_approval_thresholds', json(?)) WHERE id = ?").bind(JSON.stringify({ usd: 1000 }), m.id).run();
    const above = await post<{ status: string; requires_approval?: boolean }>("/v1/refunds", { payment_intent: pi.id, amount: 2000 }, m.opts);
    expect(above.body).toMatchObject({ status: "pending", requires_approval: true });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, m.opts)).body.amount_refunded).toBe(100);
  });
});

describe("GET /v1/refunds", () => {
  it("retrieves a refund, and 404s for unknown ids and another merchant", async () => {
    const pi = await succeededIntent();
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 100 })).body;
    const res = await get<RefundJson>(`/v1/refunds/${refund.id}`);
    expect(res.body).toEqual(refund);
    expectError(await get(`/v1/refunds/${refund.id}`, { key: KEY_B }), 404);
    expectError(await get(`/v1/refunds/re_${"q".repeat(24)}`), 404);
  });

  it("lists refunds newest first, filtered by payment_intent", async () => {
    const pi = await succeededIntent(900);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 100 })).body.id);
    const res = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}`);
    expect(res.body.object).toBe("list");
    expect(res.body.data.map((r) => r.id)).toEqual([...ids].reverse());
    const page = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=2`);
    expect(page.body.has_more).toBe(true);
    const next = await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${pi.id}&limit=2&starting_after=${page.body.data[1]?.id}`);
    expect(next.body.data.map((r) => r.id)).toEqual([ids[0]]);
    expect(next.body.has_more).toBe(false);
    // Another merchant's intent is as missing as an unknown one: a 400 resource_missing naming the filter.
    const theirs = expectError(await get(`/v1/refunds?payment_intent=${pi.id}`, { key: KEY_B }), 400, "resource_missing");
    expect(theirs).toMatchObject({ param: "payment_intent", message: `No such payment_intent: '${pi.id}'` });
  });
});

describe("POST /v1/refunds/:id (Stripe's refunds.update: metadata only)", () => {
  it("merges metadata through the intent's object: the read model agrees, refund.updated is emitted", async () => {
    const stripe = stripeClient();
    const pi = await succeededIntent(3000);
    const created = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000, metadata: { ticket: "T-1", agent: "ann" } });
    const updated = await stripe.refunds.update(created.id, { metadata: { ticket: "", reason_code: "R7" } });
    expect(updated).toMatchObject({ id: created.id, object: "refund", amount: 1000, status: "succeeded", metadata: { agent: "ann", reason_code: "R7" } });
    expect(updated.metadata).not.toHaveProperty("ticket");
    // The D1 read (retrieve, list) and the object's own (expand reads the intent's object) agree.
    expect((await stripe.refunds.retrieve(created.id)).metadata).toEqual({ agent: "ann", reason_code: "R7" });
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data[0]?.metadata).toEqual({ agent: "ann", reason_code: "R7" });
    expect((await readModelIntent(pi.id))?.refunds[0]?.metadata).toEqual({ agent: "ann", reason_code: "R7" });
    const expanded = await stripe.refunds.retrieve(created.id, { expand: ["payment_intent"] });
    expect(expanded.payment_intent).toMatchObject({ id: pi.id, amount_refunded: 1000 });
    const types = await refundEventTypes(pi.id, created.id, "refund.updated");
    expect(types.filter((t) => t === "refund.updated")).toHaveLength(1);
    const event = (await storedEventRecords({ paymentIntent: pi.id })).find((e) => e.type === "refund.updated");
    expect(event?.object).toMatchObject({ id: created.id, metadata: { agent: "ann", reason_code: "R7" } });
    // Stripe's previous_attributes: the metadata keys the update changed, as they were.
    expect(event?.previousAttributes).toEqual({ metadata: { ticket: "T-1", reason_code: null } });
    // The money is untouched.
    expect((await stripe.paymentIntents.retrieve(pi.id)).amount_received).toBe(3000);
    expect((await stripe.charges.retrieve(String(pi.latest_charge))).amount_refunded).toBe(1000);
  });

  it("metadata='' unsets every key; an update that changes nothing changes nothing (no new version, no event)", async () => {
    const stripe = stripeClient();
    const pi = await succeededIntent(2000);
    const created = await stripe.refunds.create({ payment_intent: pi.id, amount: 500, metadata: { a: "1", b: "2" } });
    expect((await stripe.refunds.update(created.id, { metadata: "" })).metadata).toEqual({});
    await refundEventTypes(pi.id, created.id, "refund.updated");
    const version = (await readModelIntent(pi.id))?.version;
    expect((await stripe.refunds.update(created.id, { metadata: { gone: "" } })).metadata).toEqual({});
    const same = await stripe.refunds.update(created.id, { expand: ["charge"] });
    expect(same.charge).toMatchObject({ id: pi.latest_charge, object: "charge", amount_refunded: 500 });
    expect((await readModelIntent(pi.id))?.version).toBe(version);
    const types = (await storedEventRecords({ paymentIntent: pi.id })).filter((e) => e.object.id === created.id).map((e) => e.type);
    expect(types.filter((t) => t === "refund.updated")).toHaveLength(1);
  });

  it("refuses every other parameter as Stripe does (amount, reason, status: unknown), and bad metadata, changing nothing", async () => {
    const pi = await succeededIntent(2000);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500, metadata: { a: "1" } })).body;
    for (const [form, param] of [
      ["amount=100", "amount"],
      ["reason=fraudulent", "reason"],
      ["status=canceled", "status"],
      ["metadata[a]=2&currency=eur", "currency"],
    ] as const) {
      const err = expectError(await call("POST", `/v1/refunds/${refund.id}`, { form }), 400, "parameter_unknown");
      expect(err).toMatchObject({ type: "invalid_request_error", param, message: `Received unknown parameter: ${param}` });
    }
    expectError(await post(`/v1/refunds/${refund.id}`, { metadata: { ["k".repeat(41)]: "v" } }), 400);
    expectError(await post(`/v1/refunds/${refund.id}`, { metadata: "x" }), 400);
    // Stripe's expandable balance_transaction is accepted and stays null (no balance transactions here); a field it cannot expand is a 400.
    expect((await post<RefundJson>(`/v1/refunds/${refund.id}`, { expand: ["balance_transaction"] })).body.balance_transaction).toBeNull();
    expectError(await post(`/v1/refunds/${refund.id}`, { expand: ["amount"] }), 400);
    const err = await stripeClient().refunds.update(refund.id, { metadata: { a: "2" }, amount: 1 } as Stripe.RefundUpdateParams).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((err as Stripe.errors.StripeInvalidRequestError).param).toBe("amount");
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`)).body).toMatchObject({ amount: 500, status: "succeeded", metadata: { a: "1" } });
  });

  it("replays with the same Idempotency-Key, refuses the key with other parameters, and answers 404 for unknown or others' refunds", async () => {
    const stripe = stripeClient();
    const pi = await succeededIntent(2000);
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 700 });
    const idempotencyKey = uniqueKey("refund-update");
    const first = await stripe.refunds.update(refund.id, { metadata: { n: "1" } }, { idempotencyKey });
    const again = await stripe.refunds.update(refund.id, { metadata: { n: "1" } }, { idempotencyKey });
    // The worker build of the client hands over the response's Headers as they are.
    expect(new Headers(again.lastResponse.headers as HeadersInit).get("idempotent-replayed")).toBe("true");
    expect(again.metadata).toEqual(first.metadata);
    await expect(stripe.refunds.update(refund.id, { metadata: { n: "2" } }, { idempotencyKey })).rejects.toMatchObject({ type: "StripeIdempotencyError" });
    const other = await stripe.refunds.create({ payment_intent: pi.id, amount: 100 });
    await expect(stripe.refunds.update(other.id, { metadata: { n: "1" } }, { idempotencyKey })).rejects.toMatchObject({ type: "StripeIdempotencyError" });
    expect((await stripe.refunds.retrieve(refund.id)).metadata).toEqual({ n: "1" });
    const types = await refundEventTypes(pi.id, refund.id, "refund.updated");
    expect(types.filter((t) => t === "refund.updated")).toHaveLength(1);

    await expect(stripeClient(KEY_B).refunds.update(refund.id, { metadata: { n: "3" } })).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    expectError(await post(`/v1/refunds/re_${"q".repeat(24)}`, { metadata: { n: "3" } }), 404, "resource_missing");
    expectError(await post(`/v1/refunds/${pi.id}`, { metadata: { n: "3" } }), 404, "resource_missing");
    expect((await stripe.refunds.retrieve(refund.id)).metadata).toEqual({ n: "1" });
  });

  it("needs payments.transactions.void, as creating a refund does: view or create alone is a 403", async () => {
    const m = await newMerchant("refund-update-perms");
    const pi = await succeededIntent(2000, m.opts);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 300 }, m.opts)).body;
    for (const permissions of [["payments.transactions.view"], ["payments.transactions.create", "payments.transactions.view"], ["refunds.approve"]]) {
      const key = await restrictedKey(m.key, permissions);
      await expect(stripeClient(key).refunds.update(refund.id, { metadata: { by: "restricted" } })).rejects.toMatchObject({ type: "StripePermissionError", statusCode: 403 });
    }
    const voider = await restrictedKey(m.key, ["payments.transactions.void"]);
    expect((await stripeClient(voider).refunds.update(refund.id, { metadata: { by: "voider" } })).metadata).toEqual({ by: "voider" });
  });
});

describe("POST /v1/refunds/:id/cancel (Stripe's refunds.cancel)", () => {
  /** A merchant whose refunds above 10.00 USD wait for approval, and a 50.00 payment of it. */
  async function held() {
    const m = await newMerchant("refund-cancel");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = await succeededIntent(5000, m.opts);
    return { ...m, pi, stripe: stripeClient(m.key) };
  }

  it("a refund of a charge whose rest is held by a refund waiting for approval is told so", async () => {
    const { stripe, pi } = await held();
    expect(await stripe.refunds.create({ payment_intent: pi.id, amount: 4000 })).toMatchObject({ status: "pending", requires_approval: true });
    expect((await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 })).status).toBe("succeeded");
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 1 })).rejects.toMatchObject({
      code: "charge_already_refunded",
      message: `Charge ${String(pi.latest_charge)} has already been refunded (4000 of it by refunds still pending: waiting for approval or for the processor).`,
    });
  });

  it("cancels a refund waiting for approval: its amount is released, nothing reaches the PSP, refund.updated is emitted, and it is audited", async () => {
    const { stripe, pi, opts, id: merchant } = await held();
    const waiting = await stripe.refunds.create({ payment_intent: pi.id, amount: 4000 });
    expect(waiting).toMatchObject({ status: "pending", requires_approval: true });
    // Held: only what is left beside it may be refunded meanwhile.
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 1001 })).rejects.toMatchObject({ code: "amount_too_large" });

    const canceled = await stripe.refunds.cancel(waiting.id, { expand: ["payment_intent"] });
    expect(canceled).toMatchObject({ id: waiting.id, object: "refund", status: "canceled", amount: 4000, approval: null, payment_intent: { id: pi.id, amount_refunded: 0 } });
    // The read model agrees with the object; the approvals queue no longer shows it; no attempt went to the PSP.
    expect((await stripe.refunds.retrieve(waiting.id)).status).toBe("canceled");
    expect((await readModelIntent(pi.id))?.refunds.find((r) => r.id === waiting.id)?.status).toBe("canceled");
    expect((await get<ListJson<RefundJson>>("/v1/admin/refunds", opts)).body.data.map((r) => r.id)).not.toContain(waiting.id);
    const attempts = (await get<ListJson<{ type: string }>>(`/v1/payment_intents/${pi.id}/transactions`, opts)).body.data;
    expect(attempts.filter((a) => a.type === "refund")).toEqual([]);
    const types = await refundEventTypes(pi.id, waiting.id, "refund.updated");
    expect(types).toEqual(["refund.created", "refund.updated"]);
    const event = (await storedEventRecords({ paymentIntent: pi.id })).find((e) => e.type === "refund.updated");
    expect(event?.object).toMatchObject({ id: waiting.id, status: "canceled" });
    // The whole payment may be refunded again (under the threshold, straight away).
    expect((await stripe.refunds.create({ payment_intent: pi.id, amount: 900 })).status).toBe("succeeded");
    expect((await stripe.charges.retrieve(String(pi.latest_charge))).amount_refunded).toBe(900);

    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const audit = await waitFor(async () => {
      const res = await get<ListJson<{ action: string; status_before: string | null; status_after: string | null }>>(`/v1/admin/audit_log?merchant=${merchant}&object_id=${waiting.id}&limit=10`, admin);
      return res.body.data.find((e) => e.action === "refunds.cancel");
    });
    expect(audit).toMatchObject({ status_before: "pending", status_after: "canceled" });
  });

  it("refuses a refund that is not waiting for approval with Stripe's 400, changing nothing; after a cancel, approval is refused too", async () => {
    const { stripe, pi, opts, id } = await held();
    const done = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    expect(done.status).toBe("succeeded");
    const err = await stripe.refunds.cancel(done.id).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, type: "StripeInvalidRequestError", message: `Refund ${done.id} cannot be canceled because it has a status of succeeded.` });
    const raw = await call("POST", `/v1/refunds/${done.id}/cancel`, { form: "" });
    expect((raw.body as { error: Record<string, unknown> }).error).not.toHaveProperty("payment_intent");
    expect((await stripe.refunds.retrieve(done.id)).status).toBe("succeeded");
    expect((await stripe.charges.retrieve(String(pi.latest_charge))).amount_refunded).toBe(500);

    const waiting = await stripe.refunds.create({ payment_intent: pi.id, amount: 2000 });
    await stripe.refunds.cancel(waiting.id);
    await expect(stripe.refunds.cancel(waiting.id)).rejects.toMatchObject({ statusCode: 400, message: `Refund ${waiting.id} cannot be canceled because it has a status of canceled.` });
    const approver = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["refunds.approve"], sub: "approver" }));
    expectError(await post(`/v1/admin/refunds/${waiting.id}:approve`, {}, approver), 400, "refund_not_awaiting_approval");
    // An approved one has gone to the PSP: it cannot be canceled either.
    const approved = await stripe.refunds.create({ payment_intent: pi.id, amount: 1500 });
    expect((await post<RefundJson>(`/v1/admin/refunds/${approved.id}:approve`, {}, approver)).body.status).toBe("succeeded");
    await expect(stripe.refunds.cancel(approved.id)).rejects.toMatchObject({ statusCode: 400, message: `Refund ${approved.id} cannot be canceled because it has a status of succeeded.` });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(2000);
    expectError(await call("POST", `/v1/refunds/${approved.id}/cancel`, { form: "reason=duplicate", key: opts.key }), 400, "parameter_unknown");
  });

  it("refuses a refund sent to the PSP whose answer is not known yet (pending, not held for approval)", async () => {
    const pi = await succeededIntent(2000);
    const refund = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 300 })).body;
    const draft = await readModelIntent(pi.id);
    const record = draft?.refunds.find((r) => r.id === refund.id);
    if (!draft || !record) throw new Error("refund missing from the read model");
    Object.assign(record, { status: "pending", requiresApproval: false, approval: null });
    const emitted: string[] = [];
    const tools = { now: () => Date.now(), emit: (type: string) => emitted.push(type) } as unknown as OperationTools;
    const err = await cancelRefund(draft, { refundId: refund.id }, tools).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).data).toMatchObject({ status: 400, type: "invalid_request_error", message: expect.stringContaining("cannot be canceled because it has a status of pending") });
    expect(record.status).toBe("pending");
    expect(emitted).toEqual([]);
  });

  it("a cancel racing an approval: exactly one of them wins, and the money agrees with it", async () => {
    const { stripe, pi, opts, id } = await held();
    const waiting = await stripe.refunds.create({ payment_intent: pi.id, amount: 3000 });
    const approver = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["refunds.approve"], sub: "racer" }));
    const [canceled, approved] = await Promise.all([post<RefundJson>(`/v1/refunds/${waiting.id}/cancel`, {}, opts), post<RefundJson>(`/v1/admin/refunds/${waiting.id}:approve`, {}, approver)]);
    expect([canceled.status, approved.status].sort()).toEqual([200, 400]);
    const final = await stripe.refunds.retrieve(waiting.id);
    const refunded = (await stripe.charges.retrieve(String(pi.latest_charge))).amount_refunded;
    if (canceled.status === 200) expect([final.status, refunded]).toEqual(["canceled", 0]);
    else expect([final.status, refunded]).toEqual(["succeeded", 3000]);
  });

  it("replays with the same Idempotency-Key (no 400 for the now canceled refund), and answers 404 for unknown or others' refunds", async () => {
    const { stripe, pi, key } = await held();
    const waiting = await stripe.refunds.create({ payment_intent: pi.id, amount: 2500 });
    const idempotencyKey = uniqueKey("refund-cancel");
    const first = await stripe.refunds.cancel(waiting.id, {}, { idempotencyKey });
    const again = await stripe.refunds.cancel(waiting.id, {}, { idempotencyKey });
    expect(again.status).toBe("canceled");
    expect(again.id).toBe(first.id);
    expect(new Headers(again.lastResponse.headers as HeadersInit).get("idempotent-replayed")).toBe("true");
    const other = await stripe.refunds.create({ payment_intent: pi.id, amount: 2500 });
    await expect(stripe.refunds.cancel(other.id, {}, { idempotencyKey })).rejects.toMatchObject({ type: "StripeIdempotencyError" });
    expect((await stripe.refunds.retrieve(other.id)).status).toBe("pending");
    const types = await refundEventTypes(pi.id, waiting.id, "refund.updated");
    expect(types.filter((t) => t === "refund.updated")).toHaveLength(1);

    await expect(stripeClient(KEY_B).refunds.cancel(other.id)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    await expect(stripeClient(key).refunds.cancel(`re_${"q".repeat(24)}`)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    expect((await stripe.refunds.retrieve(other.id)).status).toBe("pending");
  });

  it("needs payments.transactions.void, as creating a refund does: view, create or refunds.approve alone is a 403", async () => {
    const { key, pi, stripe } = await held();
    const waiting = await stripe.refunds.create({ payment_intent: pi.id, amount: 2000 });
    for (const permissions of [["payments.transactions.view"], ["payments.transactions.create", "payments.transactions.view"], ["refunds.approve"]]) {
      const restricted = await restrictedKey(key, permissions);
      await expect(stripeClient(restricted).refunds.cancel(waiting.id)).rejects.toMatchObject({ type: "StripePermissionError", statusCode: 403 });
    }
    expect((await stripe.refunds.retrieve(waiting.id)).status).toBe("pending");
    const voider = await restrictedKey(key, ["payments.transactions.void"]);
    expect((await stripeClient(voider).refunds.cancel(waiting.id)).status).toBe("canceled");
  });
});
