// Four eyes on the four-eyes rule: the refund approval thresholds could be raised or removed by the one
// person they should hold (any person with refunds.approve), who then refunded a large amount alone.
// A change that weakens the rule (a threshold raised, a currency removed, the map emptied, one up and
// one down) is now held as the merchant's pending_settings_change until another person approves it,
// by its id; one that only tightens applies at once.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { weakensThresholds } from "../../src/core/settings-change";
import worker from "../../src/index";
import { planOf, recording, type Captured } from "../db/recording";
import { bearer, createIntent, expectError, get, hsToken, newMerchant, post, uniqueKey, waitFor, type CallOptions, type RefundJson } from "../helpers";

interface ChangeJson {
  id: string;
  object: string;
  merchant: string;
  status: string;
  requested_by: string;
  settings: { refund_approval_thresholds: Record<string, number> };
  previous_settings: { refund_approval_thresholds: Record<string, number> };
  decided_by: string | null;
  reason: string | null;
}

interface AccountJson {
  id: string;
  settings: { refund_approval_thresholds: Record<string, number> };
  pending_settings_change: ChangeJson | null;
}

/** A person of merchant `id` who may change the thresholds and approve (keys.manage, refunds.approve). */
async function person(id: string, sub: string): Promise<CallOptions> {
  return bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["keys.manage", "refunds.approve", "payments.transactions.void", "payments.transactions.view"], sub }));
}

async function account(opts: CallOptions): Promise<AccountJson> {
  const res = await get<AccountJson>("/v1/account", opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** A merchant whose refunds above 10.00 USD wait for approval, and two people of it. */
async function guarded(label: string) {
  const m = await newMerchant(label);
  const jane = await person(m.id, "jane");
  const bob = await person(m.id, "bob");
  const set = await post<AccountJson>("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, jane);
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  expect(set.body.settings.refund_approval_thresholds).toEqual({ usd: 1000 });
  return { ...m, jane, bob };
}

async function ask(opts: CallOptions, thresholds: Record<string, number>): Promise<AccountJson> {
  const res = await post<AccountJson>("/v1/account", { settings: { refund_approval_thresholds: thresholds } }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe("which changes weaken the rule", () => {
  it("raising, removing or emptying weakens (a mix too); lowering and adding do not", () => {
    const current = { usd: 1000, eur: 2000 };
    expect(weakensThresholds(current, { usd: 1001, eur: 2000 })).toBe(true);
    expect(weakensThresholds(current, { usd: 1000 })).toBe(true);
    expect(weakensThresholds(current, {})).toBe(true);
    expect(weakensThresholds(current, { usd: 1, eur: 99999999 })).toBe(true);
    expect(weakensThresholds(current, { usd: 999, eur: 2000 })).toBe(false);
    expect(weakensThresholds(current, { usd: 1000, eur: 2000, gbp: 5000 })).toBe(false);
    expect(weakensThresholds({}, { usd: 1 })).toBe(false);
  });
});

describe("a weakening of the refund approval thresholds waits for a second person", () => {
  it("raising, removing, emptying or a mixed change is held; the rule in force stays, and a big refund still waits", async () => {
    const m = await guarded("sc-held");
    await ask(m.jane, { usd: 1000, eur: 500 });
    const weakenings: Record<string, number>[] = [{ usd: 99999999, eur: 500 }, { eur: 500 }, {}, { usd: 1, eur: 99999999 }];
    for (const thresholds of weakenings) {
      const answer = await ask(m.jane, thresholds);
      expect(answer.settings.refund_approval_thresholds).toEqual({ usd: 1000, eur: 500 });
      expect(answer.pending_settings_change).toMatchObject({
        object: "settings_change",
        merchant: m.id,
        status: "pending",
        requested_by: "jwt:jane",
        settings: { refund_approval_thresholds: thresholds },
        previous_settings: { refund_approval_thresholds: { usd: 1000, eur: 500 } },
        decided_by: null,
      });
      expect(answer.pending_settings_change?.id).toMatch(/^msc_/);
    }
    // A form's empty value is Stripe's way to clear a hash: emptying, held like {}.
    const cleared = await post<AccountJson>("/v1/account", {}, { ...m.jane, form: "settings[refund_approval_thresholds]=" });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body.settings.refund_approval_thresholds).toEqual({ usd: 1000, eur: 500 });
    expect(cleared.body.pending_settings_change?.settings.refund_approval_thresholds).toEqual({});
    await ask(m.jane, { usd: 1, eur: 99999999 });
    const shown = await account(m.opts);
    expect(shown.settings.refund_approval_thresholds).toEqual({ usd: 1000, eur: 500 });
    expect(shown.pending_settings_change?.settings.refund_approval_thresholds).toEqual({ usd: 1, eur: 99999999 });
    // The admin API shows it on the merchant too.
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));
    const listed = await get<{ data: AccountJson[] }>("/v1/admin/merchants?limit=100", admin);
    expect(listed.body.data.find((r) => r.id === m.id)?.pending_settings_change?.id).toBe(shown.pending_settings_change?.id);
    const pi = (await createIntent({ amount: 9000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    const refund = await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 5000 }, m.jane);
    expect(refund.body).toMatchObject({ status: "pending", requires_approval: true });
  });

  it("a tightening applies at once and replaces a pending change, which can no longer be approved", async () => {
    const m = await guarded("sc-tighten");
    const held = (await ask(m.jane, { usd: 50000 })).pending_settings_change;
    if (!held) throw new Error("not held");
    const tightened = await ask(m.bob, { usd: 500, eur: 700 });
    expect(tightened.settings.refund_approval_thresholds).toEqual({ usd: 500, eur: 700 });
    expect(tightened.pending_settings_change).toBeNull();
    expectError(await post(`/v1/admin/settings_changes/${held.id}/approve`, {}, m.bob), 404);
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({ usd: 500, eur: 700 });
    // Sending back the thresholds in force changes nothing, and leaves a pending change as it is.
    const again = (await ask(m.jane, {})).pending_settings_change;
    const unchanged = await ask(m.bob, { eur: 700, usd: 500 });
    expect(unchanged.pending_settings_change?.id).toBe(again?.id);
  });

  it("the one who asked cannot approve it: not as themselves, not spelled otherwise, not with a key they minted; another person can, and then a big refund needs no approval", async () => {
    const m = await guarded("sc-self");
    const change = (await ask(m.jane, { usd: 99999999 })).pending_settings_change;
    if (!change) throw new Error("not held");
    for (const self of [m.jane, await person(m.id, "Jane"), await person(m.id, "ｊａｎｅ")]) {
      const refused = await post<{ error: { message: string } }>(`/v1/admin/settings_changes/${change.id}/approve`, {}, self);
      expectError(refused, 403);
      expect(refused.body.error.message).toContain("another person must approve it");
    }
    // Jane's own secret key: an API key may never approve (nor ask for a weakening).
    const janeWithEveryPermission = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "jane" }));
    const minted = await post<{ secret: string }>("/v1/api_keys", { type: "secret", name: "jane's" }, janeWithEveryPermission);
    expect(minted.status, JSON.stringify(minted.body)).toBe(200);
    expectError(await post(`/v1/admin/settings_changes/${change.id}/approve`, {}, { key: minted.body.secret }), 403);
    expectError(await post(`/v1/admin/settings_changes/${change.id}/approve`, {}, m.opts), 403);
    expectError(await post("/v1/account", { settings: { refund_approval_thresholds: {} } }, { key: minted.body.secret }), 403);
    // A person without refunds.approve may not approve.
    const clerk = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, permissions: ["keys.manage"], sub: "clerk" }));
    expectError(await post(`/v1/admin/settings_changes/${change.id}/approve`, {}, clerk), 403);
    // Nor a person of another merchant, who does not see it.
    const other = await newMerchant("sc-self-other");
    expectError(await post(`/v1/admin/settings_changes/${change.id}/approve`, {}, await person(other.id, "mallory")), 404);
    const before = await account(m.opts);
    expect(before.settings.refund_approval_thresholds).toEqual({ usd: 1000 });
    expect(before.pending_settings_change?.id).toBe(change.id);

    const approved = await post<ChangeJson>(`/v1/admin/settings_changes/${change.id}/approve`, { reason: "peak season" }, m.bob);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ id: change.id, status: "approved", decided_by: "jwt:bob", reason: "peak season", settings: { refund_approval_thresholds: { usd: 99999999 } } });
    const after = await account(m.opts);
    expect(after.settings.refund_approval_thresholds).toEqual({ usd: 99999999 });
    expect(after.pending_settings_change).toBeNull();
    const pi = (await createIntent({ amount: 9000, payment_method: "pm_card_visa", confirm: true }, m.opts)).body;
    expect((await post<RefundJson>("/v1/refunds", { payment_intent: pi.id, amount: 9000 }, m.jane)).body).toMatchObject({ status: "succeeded", requires_approval: false });
    // Decided, it is no one's to decide again.
    expectError(await post(`/v1/admin/settings_changes/${change.id}/approve`, {}, m.bob), 404);
  });

  it("an approval names the change it approves: one replaced since is not applied, and the newer one is applied exactly", async () => {
    const m = await guarded("sc-bound");
    const first = (await ask(m.jane, { usd: 5000 })).pending_settings_change;
    // The same request again keeps the change and its id.
    expect((await ask(m.jane, { usd: 5000 })).pending_settings_change?.id).toBe(first?.id);
    const second = (await ask(m.jane, {})).pending_settings_change;
    if (!first || !second) throw new Error("not held");
    expect(second.id).not.toBe(first.id);
    expectError(await post(`/v1/admin/settings_changes/${first.id}/approve`, {}, m.bob), 404);
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({ usd: 1000 });
    expectError(await post(`/v1/admin/settings_changes/msc_NotAnIdOfOurs1/approve`, {}, m.bob), 404);
    expect((await post<ChangeJson>(`/v1/admin/settings_changes/${second.id}/approve`, {}, m.bob)).body.status).toBe("approved");
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({});
  });

  it("concurrent approvals apply it once; an approval racing a replacement applies what it approved or nothing", async () => {
    const m = await guarded("sc-race");
    const carol = await person(m.id, "carol");
    const change = (await ask(m.jane, { usd: 40000 })).pending_settings_change;
    if (!change) throw new Error("not held");
    const answers = await Promise.all([m.bob, carol, m.bob, carol, m.bob, carol].map((who) => post<ChangeJson>(`/v1/admin/settings_changes/${change.id}/approve`, {}, who)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers) expect([200, 404, 409]).toContain(a.status);
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({ usd: 40000 });
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));
    await waitFor(async () => {
      const audited = await get<{ data: { action: string; http_status: number }[] }>(`/v1/admin/audit_log?object_id=${change.id}`, admin);
      return audited.body.data.some((e) => e.action === "merchants.settings_change.approve");
    }, 10_000, "the approval in the audit log");
    const audited = await get<{ data: { action: string; http_status: number }[] }>(`/v1/admin/audit_log?object_id=${change.id}`, admin);
    expect(audited.body.data.filter((e) => e.action === "merchants.settings_change.approve" && e.http_status === 200)).toHaveLength(1);

    for (let i = 0; i < 8; i++) {
      const base = (await account(m.opts)).settings.refund_approval_thresholds.usd ?? 0;
      const asked = (await ask(m.jane, { usd: base + 100 })).pending_settings_change;
      if (!asked) throw new Error("not held");
      const [approval, replacement] = await Promise.all([
        post<ChangeJson>(`/v1/admin/settings_changes/${asked.id}/approve`, {}, m.bob),
        post<AccountJson>("/v1/account", { settings: { refund_approval_thresholds: { usd: base + 200 } } }, m.jane),
      ]);
      expect(replacement.status).toBe(200);
      const now = await account(m.opts);
      // Never the replacement's thresholds, which no one approved.
      if (approval.status === 200) {
        expect({ round: i, usd: now.settings.refund_approval_thresholds.usd }).toEqual({ round: i, usd: base + 100 });
      } else {
        expect([404, 409]).toContain(approval.status);
        expect({ round: i, usd: now.settings.refund_approval_thresholds.usd }).toEqual({ round: i, usd: base });
      }
      expect(now.pending_settings_change?.settings.refund_approval_thresholds).toEqual({ usd: base + 200 });
      expect((await post(`/v1/admin/settings_changes/${now.pending_settings_change?.id ?? ""}/approve`, {}, carol)).status).toBe(200);
    }
  });

  it("two requests at once: the later replaces the earlier's change, and the replaced one is in the audit log as replaced", async () => {
    const m = await guarded("sc-two-asks");
    const carol = await person(m.id, "carol");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));
    for (let i = 0; i < 4; i++) {
      const [byJane, byCarol] = await Promise.all([ask(m.jane, { usd: 2000 + i }), ask(carol, { usd: 3000 + i })]);
      const ids = [byJane.pending_settings_change?.id ?? "", byCarol.pending_settings_change?.id ?? ""];
      const kept = (await account(m.opts)).pending_settings_change?.id ?? "";
      expect(ids).toContain(kept);
      const lost = ids.find((id) => id !== kept) ?? "";
      await waitFor(async () => {
        const audited = await get<{ data: { action: string }[] }>(`/v1/admin/audit_log?object_id=${lost}`, admin);
        return audited.body.data.some((e) => e.action === "merchants.settings_change.replace");
      }, 10_000, "the replaced change in the audit log");
      expectError(await post(`/v1/admin/settings_changes/${lost}/approve`, {}, m.bob), 404);
    }
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({ usd: 1000 });
  });

  it("an approval sent again with its Idempotency-Key replays its answer (not a 404 for a change no longer pending); the key is bound to that change", async () => {
    const m = await guarded("sc-idem");
    const change = (await ask(m.jane, { usd: 8000 })).pending_settings_change;
    if (!change) throw new Error("not held");
    const key = uniqueKey("sc-approve");
    const first = await post<ChangeJson>(`/v1/admin/settings_changes/${change.id}/approve`, {}, { ...m.bob, idempotencyKey: key });
    const again = await post<ChangeJson>(`/v1/admin/settings_changes/${change.id}/approve`, {}, { ...m.bob, idempotencyKey: key });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const next = (await ask(m.jane, { usd: 9000 })).pending_settings_change;
    expectError(await post(`/v1/admin/settings_changes/${next?.id ?? ""}/approve`, {}, { ...m.bob, idempotencyKey: key }), 400, "idempotency_key_reused");
    const now = await account(m.opts);
    expect(now.settings.refund_approval_thresholds).toEqual({ usd: 8000 });
    expect(now.pending_settings_change?.id).toBe(next?.id);
  });

  it("the one who asked may withdraw it, another person may reject it; each is in the audit log", async () => {
    const m = await guarded("sc-withdraw");
    const first = (await ask(m.jane, {})).pending_settings_change;
    if (!first) throw new Error("not held");
    const refused = await post<{ error: { message: string } }>(`/v1/admin/settings_changes/${first.id}/withdraw`, {}, m.bob);
    expectError(refused, 403);
    expect(refused.body.error.message).toContain("reject it instead");
    expect((await post<ChangeJson>(`/v1/admin/settings_changes/${first.id}/withdraw`, {}, m.jane)).body).toMatchObject({ status: "withdrawn", decided_by: "jwt:jane" });
    const second = (await ask(m.jane, { usd: 2000 })).pending_settings_change;
    if (!second) throw new Error("not held");
    expect((await post<ChangeJson>(`/v1/admin/settings_changes/${second.id}/reject`, { reason: "no" }, m.bob)).body).toMatchObject({ status: "rejected", decided_by: "jwt:bob", reason: "no" });
    const now = await account(m.opts);
    expect(now.settings.refund_approval_thresholds).toEqual({ usd: 1000 });
    expect(now.pending_settings_change).toBeNull();
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));
    const actions = async (id: string) => (await get<{ data: { action: string; actor: string; http_status: number }[] }>(`/v1/admin/audit_log?object_id=${id}`, admin)).body.data.map((e) => `${e.action} ${e.actor} ${e.http_status}`);
    await waitFor(async () => (await actions(second.id)).length >= 2, 10_000, "the audit log");
    expect((await actions(first.id)).sort()).toEqual(["merchants.settings_change.request jwt:jane 200", "merchants.settings_change.withdraw jwt:bob 403", "merchants.settings_change.withdraw jwt:jane 200"]);
    expect((await actions(second.id)).sort()).toEqual(["merchants.settings_change.reject jwt:bob 200", "merchants.settings_change.request jwt:jane 200"]);
  });

  it("an operator's approval finds the change by its index and writes the merchant by its key (no scan of merchants)", async () => {
    const m = await guarded("sc-plans");
    const change = (await ask(m.jane, { usd: 7000 })).pending_settings_change;
    if (!change) throw new Error("not held");
    const admin = await hsToken({ roles: ["admin"], merchant: null, sub: "ops" });
    const captured: Captured[] = [];
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test/v1/admin/settings_changes/${change.id}/approve`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: "{}" }),
      { ...env, DB: recording(env.DB, captured) },
      ctx,
    );
    expect(res.status, await res.text()).toBe(200);
    await waitOnExecutionContext(ctx);
    const ours = captured.filter((c) => /"merchants"/.test(c.sql));
    expect(ours.length).toBeGreaterThanOrEqual(2);
    for (const c of ours) {
      const plan = (await planOf(c)).join("\n");
      expect(plan, c.sql).toMatch(/SEARCH merchants USING (INDEX merchants_settings_change|INDEX sqlite_autoindex_merchants_1|PRIMARY KEY)/);
      expect(plan, c.sql).not.toMatch(/SCAN merchants/);
    }
    expect((await account(m.opts)).settings.refund_approval_thresholds).toEqual({ usd: 7000 });
  });
});
