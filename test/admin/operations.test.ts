// Operators' tools: payment search, failed payments (counts by reason, retry linked to the failed
// payment, resolve, dismiss) and refund approvals (approve, reject, an unauthorized approver).
import { describe, expect, it } from "vitest";
import {
  approverOf,
  bearer,
  createIntent,
  expectError,
  get,
  hsToken,
  newMerchant,
  post,
  seedCustomer,
  waitFor,
  type CallOptions,
  type ListJson,
  type PaymentIntentJson,
  type RefundJson,
  type TransactionJson,
} from "../helpers";

interface FailedList {
  data: PaymentIntentJson[];
  counts_by_reason: Record<string, number>;
  has_more: boolean;
  next_cursor: string | null;
}

async function decline(opts: CallOptions, method: string, extra: Record<string, unknown> = {}): Promise<PaymentIntentJson> {
  const res = await createIntent({ payment_method: method, confirm: true, ...extra }, opts);
  const error = expectError(res, 402);
  return error.payment_intent as PaymentIntentJson;
}

describe("payment search", () => {
  it("filters by order, customer, status, amounts, dates and card last4, with cursor pages", async () => {
    const { opts, id } = await newMerchant("search");
    await seedCustomer(id, "cus_search0001");
    await seedCustomer(id, "cus_search0002");
    await createIntent({ amount: 1000, order_id: "ord-1", customer: "cus_search0001", payment_method: "pm_card_visa", confirm: true }, opts);
    await createIntent({ amount: 2000, order_id: "ord-2", customer: "cus_search0002", payment_method: "pm_card_mastercard", confirm: true }, opts);
    await createIntent({ amount: 3000, order_id: "ord-3", customer: "cus_search0001" }, opts);
    const search = (q: string) => get<{ data: PaymentIntentJson[]; has_more: boolean; next_cursor: string | null }>(`/v1/admin/payments/search?${q}`, opts);
    expect((await search("order_id=ord-2")).body.data.map((p) => p.amount)).toEqual([2000]);
    expect((await search("customer=cus_search0001")).body.data.map((p) => p.amount).sort()).toEqual([1000, 3000]);
    // An amount range needs a selective filter or a created window (at most 31 days).
    expect((await search(`status=succeeded&amount_gte=1500&created_gte=${new Date().toISOString().slice(0, 10)}`)).body.data.map((p) => p.amount)).toEqual([2000]);
    expectError(await search("status=succeeded&amount_gte=1500"), 400, "parameter_missing");
    expect((await search("card_last4=4444")).body.data.map((p) => p.amount)).toEqual([2000]);
    expect((await search("card_last4=4242&amount_lte=1000")).body.data.map((p) => p.amount)).toEqual([1000]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await search(`created_gte=${today}`)).body.data).toHaveLength(3);
    expect((await search("created_lte=2001-01-01")).body.data).toHaveLength(0);
    // An end date is the whole of its day, and an end in Unix seconds the whole of its second.
    expect((await search(`created_gte=${today}&created_lte=${today}`)).body.data).toHaveLength(3);
    const newest = (await search("limit=1")).body.data[0];
    const createdAt = newest?.created ?? 0;
    expect((await search(`created_gte=${createdAt}&created_lte=${createdAt}`)).body.data.map((p) => p.id)).toContain(newest?.id);
    const first = await search("limit=2");
    expect(first.body.has_more).toBe(true);
    const second = await search(`limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data).toHaveLength(1);
    expectError(await search("card_last4=42"), 400);
    // Admin and support search across merchants, or one merchant.
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const scoped = await get<{ data: PaymentIntentJson[] }>(`/v1/admin/payments/search?merchant=${id}&limit=100`, admin);
    expect(scoped.body.data).toHaveLength(3);
    // Seed 001's operator search by order id, across every merchant: no merchant or window needed.
    const other = await newMerchant("search-other");
    await createIntent({ amount: 4000, order_id: "ord-2" }, other.opts);
    const byOrder = await get<{ data: PaymentIntentJson[] }>("/v1/admin/payments/search?order_id=ord-2", admin);
    expect(byOrder.status, JSON.stringify(byOrder.body)).toBe(200);
    expect(byOrder.body.data.filter((p) => p.merchant_id === id || p.merchant_id === other.id).map((p) => p.amount)).toEqual([4000, 2000]);
  });

  it("refuses an empty filter (it would answer everything) and a date that does not exist, on search and on failed payments", async () => {
    const { opts } = await newMerchant("search-bad-filters");
    await createIntent({ amount: 1000, order_id: "ord-x" }, opts);
    for (const q of ["order_id=", "customer=", "merchant="]) expect(expectError(await get(`/v1/admin/payments/search?${q}`, opts), 400).param).toBe(q.slice(0, -1));
    for (const day of ["2026-13-45", "2026-02-30", "2025-02-29"]) {
      expect(expectError(await get(`/v1/admin/payments/search?created_gte=${day}`, opts), 400).message).toContain("a date that exists");
      expect(expectError(await get(`/v1/admin/failed_payments?created_gte=${day}`, opts), 400).message).toContain("a date that exists");
    }
    // A leap day that exists is a day like any other.
    expect((await get("/v1/admin/payments/search?created_gte=2024-02-29", opts)).status).toBe(200);
  });
});

describe("failed payments", () => {
  it("lists open failed payments with counts by reason", async () => {
    const { opts } = await newMerchant("failed-list");
    await decline(opts, "pm_card_chargeDeclinedInsufficientFunds");
    await decline(opts, "pm_card_chargeDeclinedInsufficientFunds");
    await decline(opts, "pm_card_chargeDeclinedLostCard");
    await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts);
    const res = await get<FailedList>("/v1/admin/failed_payments", opts);
    expect(res.status).toBe(200);
    expect(res.body.counts_by_reason).toEqual({ insufficient_funds: 2, lost_card: 1 });
    expect(res.body.data).toHaveLength(3);
    const lost = await get<FailedList>("/v1/admin/failed_payments?reason=lost_card", opts);
    expect(lost.body.data.map((p) => p.last_payment_error?.decline_code)).toEqual(["lost_card"]);
  });

  it("retries with the same or another payment method, linking the new payment to the failed one", async () => {
    const { opts } = await newMerchant("failed-retry");
    const failed = await decline(opts, "pm_card_chargeDeclinedInsufficientFunds", { amount: 4200, order_id: "ord-retry" });
    const same = await post<{ retry: PaymentIntentJson; original: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts);
    expect(same.status).toBe(402);
    expect(same.body.retry).toMatchObject({ retry_of: failed.id, status: "requires_payment_method", amount: 4200, order_id: "ord-retry" });
    expect(same.body.original.failure_resolution).toBeNull();
    // The declined retry is an attempt of the failed payment, listed with it, not a failed payment of
    // its own (which stayed open after its original was resolved), nor counted twice.
    const listed = (await get<FailedList & { data: (PaymentIntentJson & { retries: { id: string; status: string; created: number }[] })[] }>("/v1/admin/failed_payments", opts)).body;
    expect(listed.data.map((p) => p.id)).toEqual([failed.id]);
    expect(listed.data[0]?.retries).toEqual([{ id: same.body.retry.id, status: "requires_payment_method", created: same.body.retry.created }]);
    expect(listed.counts_by_reason).toEqual({ insufficient_funds: 1 });

    // An operator's token of the other mode does not reach it (a test token never moves live money).
    const liveAdmin = bearer(await hsToken({ roles: ["admin"], merchant: null, livemode: true }));
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, liveAdmin), 404);
    const other = await post<{ retry: PaymentIntentJson; original: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, opts);
    expect(other.status).toBe(200);
    expect(other.body.retry).toMatchObject({ retry_of: failed.id, status: "succeeded", amount: 4200, currency: "usd" });
    expect(other.body.original.failure_resolution).toMatchObject({ status: "resolved", retried_by: other.body.retry.id, paid_by_other_means: false });
    const open = await get<FailedList>("/v1/admin/failed_payments", opts);
    expect(open.body.data.map((p) => p.id)).not.toContain(failed.id);
    const resolved = await get<FailedList & { data: (PaymentIntentJson & { retries: { id: string; status: string }[] })[] }>("/v1/admin/failed_payments?resolution=resolved", opts);
    expect(resolved.body.data.map((p) => p.id)).toEqual([failed.id]);
    expect(resolved.body.data[0]?.retries.map((r) => [r.id, r.status])).toEqual([
      [same.body.retry.id, "requires_payment_method"],
      [other.body.retry.id, "succeeded"],
    ]);
    const all = await get<FailedList>("/v1/admin/failed_payments?resolution=all", opts);
    expect(all.body.data.map((p) => p.id)).toEqual([failed.id]);
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, {}, opts), 400, "failed_payment_already_resolved");
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${other.body.retry.id}/transactions`, opts)).body.data;
    expect(history.map((t) => t.status)).toEqual(["succeeded"]);
  });

  it("a retry sent again with its Idempotency-Key replays its answer (the same retry, once charged); another retry of the resolved payment is refused", async () => {
    const { opts } = await newMerchant("failed-retry-idem");
    const failed = await decline(opts, "pm_card_chargeDeclinedInsufficientFunds", { amount: 3100 });
    const key = `retry-${crypto.randomUUID()}`;
    const send = () => post<{ retry: PaymentIntentJson; original: PaymentIntentJson }>(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, { ...opts, headers: { "Idempotency-Key": key } });
    const first = await send();
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.retry.status).toBe("succeeded");
    const again = await send();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.retry.id).toBe(first.body.retry.id);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const history = (await get<ListJson<TransactionJson>>(`/v1/payment_intents/${first.body.retry.id}/transactions`, opts)).body.data;
    expect(history.map((t) => t.status)).toEqual(["succeeded"]);
    expectError(await post(`/v1/admin/failed_payments/${failed.id}/retry`, { payment_method: "pm_card_visa" }, { ...opts, headers: { "Idempotency-Key": `${key}-other` } }), 400, "failed_payment_already_resolved");
  });

  it("resolves as paid by other means, or dismisses, with a reason; only failed payments", async () => {
    const { opts } = await newMerchant("failed-resolve");
    const one = await decline(opts, "pm_card_chargeDeclined");
    const two = await decline(opts, "pm_card_chargeDeclined");
    const resolved = await post<PaymentIntentJson>(`/v1/admin/failed_payments/${one.id}/resolve`, { reason: "paid by bank transfer", paid_by_other_means: true }, opts);
    expect(resolved.body.failure_resolution).toMatchObject({ status: "resolved", reason: "paid by bank transfer", paid_by_other_means: true });
    const dismissed = await post<PaymentIntentJson>(`/v1/admin/failed_payments/${two.id}/dismiss`, { reason: "duplicate order" }, opts);
    expect(dismissed.body.failure_resolution).toMatchObject({ status: "dismissed", reason: "duplicate order" });
    expectError(await post(`/v1/admin/failed_payments/${one.id}/dismiss`, { reason: "again" }, opts), 400, "failed_payment_already_resolved");
    expectError(await post(`/v1/admin/failed_payments/${one.id}/resolve`, {}, opts), 400, "parameter_missing");
    const ok = (await createIntent({ payment_method: "pm_card_visa", confirm: true }, opts)).body;
    expectError(await post(`/v1/admin/failed_payments/${ok.id}/resolve`, { reason: "x" }, opts), 400, "not_a_failed_payment");
    const counts = await get<FailedList>("/v1/admin/failed_payments?resolution=all", opts);
    expect(counts.body.counts_by_reason).toEqual({ generic_decline: 2 });
    const support = bearer(await hsToken({ roles: ["support"], merchant: null }));
    expectError(await post(`/v1/admin/failed_payments/${one.id}/retry`, {}, support), 403);
  });
});

describe("refund approvals", () => {
  async function merchantWithThreshold() {
    const m = await newMerchant("approvals");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(m.opts));
    const pi = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    return { ...m, pi };
  }

  it("refunds waiting for approval page with next_cursor, newest first, each once", async () => {
    const { opts, pi, id } = await merchantWithThreshold();
    const waiting: string[] = [(await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 2000 }, opts)).body.id];
    for (let i = 0; i < 2; i++) {
      const other = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
      waiting.push((await post<RefundJson>("/v1/refunds", { payment_intent: other.id, amount: 2000 }, opts)).body.id);
    }
    const first = await get<{ data: RefundJson[]; has_more: boolean; next_cursor: string | null }>("/v1/admin/refunds?limit=2", opts);
    expect(first.body.data.map((r) => r.id)).toEqual([waiting[2], waiting[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await get<{ data: RefundJson[]; has_more: boolean; next_cursor: string | null }>(`/v1/admin/refunds?limit=2&cursor=${encodeURIComponent(first.body.next_cursor ?? "")}`, opts);
    expect(second.body.data.map((r) => r.id)).toEqual([waiting[0]]);
    expect(second.body).toMatchObject({ has_more: false, next_cursor: null });
    expectError(await get("/v1/admin/refunds?cursor=nonsense", opts), 400, "cursor_invalid");
    // Each names its merchant, for an operator approving across merchants.
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const across = await get<{ data: (RefundJson & { merchant_id: string })[] }>(`/v1/admin/refunds?merchant=${id}`, admin);
    expect(across.body.data.map((r) => r.merchant_id)).toEqual([id, id, id]);
  });

  it("a refund above the threshold waits, pending, and goes to the PSP once approved", async () => {
    const { opts, pi, id } = await merchantWithThreshold();
    const small = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500 }, opts);
    expect(small.body).toMatchObject({ status: "succeeded", requires_approval: false });
    const big = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, opts);
    expect(big.body).toMatchObject({ status: "pending", requires_approval: true, approval: null });
    // The waiting refund holds its amount: no more than what is left can be refunded meanwhile.
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 1600 }, opts), 400, "amount_too_large");
    const waiting = await get<{ data: RefundJson[] }>("/v1/admin/refunds", opts);
    expect(waiting.body.data.map((r) => r.id)).toEqual([big.body.id]);

    const approver = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["refunds.approve"], sub: "finance-lead" }));
    const approved = await post<RefundJson>(`/v1/admin/refunds/${big.body.id}:approve`, { reason: "customer called" }, approver);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "succeeded", approval: { status: "approved", actor: "jwt:finance-lead", reason: "customer called" } });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(3500);
    expectError(await post(`/v1/admin/refunds/${big.body.id}:approve`, {}, approver), 400, "refund_not_awaiting_approval");
    const events = await waitFor(async () => {
      const types = (await get<ListJson<{ type: string }>>(`/v1/events?payment_intent=${pi.id}&type=refund.*&limit=100`, opts)).body.data.map((e) => e.type);
      return types.includes("refund.updated") ? types : undefined;
    });
    expect(events).toContain("refund.created");
  });

  it("split into refunds each under the threshold, a payment's refunds still wait for a person past it, even sent at once", async () => {
    const { opts, pi, id } = await merchantWithThreshold();
    // 4 x 500 at once on a threshold of 1000: the first 1000 go through, the rest wait.
    const split = await Promise.all(Array.from({ length: 4 }, () => post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 500 }, opts)));
    expect(split.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(split.map((r) => r.body.status).sort()).toEqual(["pending", "pending", "succeeded", "succeeded"]);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(1000);
    // One approved is a person's decision: it no longer counts against what one may refund alone,
    // but what was refunded alone still does, so the next small one waits too.
    const approver = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["refunds.approve"], sub: "finance-lead" }));
    const held = split.filter((r) => r.body.status === "pending").map((r) => r.body.id);
    expect((await post<RefundJson>(`/v1/admin/refunds/${held[0] ?? ""}:approve`, {}, approver)).body.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 100 }, opts)).body).toMatchObject({ status: "pending", requires_approval: true });
    // A rejected one frees its share: on another payment, 900 alone, then 100 more still go through.
    const other = (await createIntent({ amount: 5000, payment_method: "pm_card_visa", confirm: true }, opts)).body;
    const rejected = (await post<RefundJson>("/v1/refunds", { payment_intent: other.id, amount: 1500 }, opts)).body;
    expect((await post<RefundJson>(`/v1/admin/refunds/${rejected.id}:reject`, {}, approver)).body.status).toBe("canceled");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: other.id, amount: 900 }, opts)).body.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: other.id, amount: 100 }, opts)).body.status).toBe("succeeded");
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: other.id, amount: 1 }, opts)).body.status).toBe("pending");
  });

  it("only a credential that may approve refunds may change the thresholds (keys.manage alone could switch the rule off)", async () => {
    const { opts, pi } = await merchantWithThreshold();
    const manager = (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage", "payments.transactions.void", "payments.transactions.view"] }, opts)).body.secret ?? "";
    const asManager = { key: manager };
    expectError(await post("/v1/account", { settings: { refund_approval_thresholds: {} } }, asManager), 403);
    expectError(await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 99999999 } } }, asManager), 403);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 3000 }, asManager)).body).toMatchObject({ status: "pending", requires_approval: true });
    // Other settings, and the same thresholds, are still its to set.
    expect((await post("/v1/account", { name: "Renamed", settings: { refund_approval_thresholds: { usd: 1000 }, subscription_dunning_final_action: "unpaid" } }, asManager)).status).toBe(200);
    // A secret key holds refunds.approve in name but may not approve, so it may not switch the rule off either.
    expectError(await post("/v1/account", { settings: { refund_approval_thresholds: {} } }, opts), 403);
    const minted = (await post<{ secret?: string }>("/v1/api_keys", { type: "secret" }, opts)).body.secret ?? "";
    expectError(await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 99999999 } } }, { key: minted }), 403);
    expect((await get<{ settings: { refund_approval_thresholds: Record<string, number> } }>("/v1/account", opts)).body.settings.refund_approval_thresholds).toEqual({ usd: 1000 });
    // A person who may approve refunds may ask; removing the rule then waits for a second person.
    const asked = await post<{ settings: { refund_approval_thresholds: Record<string, number> }; pending_settings_change: { status: string } | null }>("/v1/account", { settings: { refund_approval_thresholds: {} } }, await approverOf(opts));
    expect(asked.status).toBe(200);
    expect(asked.body.settings.refund_approval_thresholds).toEqual({ usd: 1000 });
    expect(asked.body.pending_settings_change?.status).toBe("pending");
  });

  it("a rejected refund is canceled and its amount released", async () => {
    const { opts, pi } = await merchantWithThreshold();
    const big = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 4000 }, opts)).body;
    const rejected = await post<RefundJson>(`/v1/admin/refunds/${big.id}/reject`, { reason: "not eligible" }, opts);
    expect(rejected.body).toMatchObject({ status: "canceled", approval: { status: "rejected", reason: "not eligible" } });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, opts)).body.amount_refunded).toBe(0);
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 900 }, opts)).body.status).toBe("succeeded");
  });

  it("an approver without refunds.approve is refused, and nothing changes", async () => {
    const { opts, pi, id } = await merchantWithThreshold();
    const big = (await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 2000 }, opts)).body;
    const clerk = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["payments.transactions.void", "payments.transactions.view"] }));
    expectError(await post(`/v1/admin/refunds/${big.id}:approve`, {}, clerk), 403);
    const support = bearer(await hsToken({ roles: ["support"], merchant: null }));
    expectError(await post(`/v1/admin/refunds/${big.id}:approve`, {}, support), 403);
    expect((await get<RefundJson>(`/v1/refunds/${big.id}`, opts)).body).toMatchObject({ status: "pending", approval: null });
    // An operator's token acts only in its own mode: a live-mode admin does not reach a test refund
    // (nor a test one a live refund).
    const liveAdmin = bearer(await hsToken({ roles: ["admin"], merchant: null, livemode: true }));
    expectError(await post(`/v1/admin/refunds/${big.id}:approve`, {}, liveAdmin), 404);
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    expect((await post<RefundJson>(`/v1/admin/refunds/${big.id}:approve`, {}, admin)).body.status).toBe("succeeded");
    expectError(await post(`/v1/admin/refunds/${big.id}:explode`, {}, admin), 404);
  });
});
