// A merchant's update writes only what it changes: concurrent updates of its name, of its refund
// approval thresholds (the four-eyes rule on refunds) and of its other settings all survive. The
// update read the row, merged, and wrote the whole row back: the later of two writers undid the other.
import { describe, expect, it } from "vitest";
import { approverOf, bearer, get, hsToken, newMerchant, post, type CallOptions } from "../helpers";

interface MerchantJson {
  name: string;
  settings: { refund_approval_thresholds: Record<string, number>; subscription_dunning_final_action: string; api_version: string | null };
}

const PAIRS = 30;

describe("concurrent merchant updates", () => {
  it("a name change and a thresholds change at once both survive, every time", async () => {
    const { opts } = await newMerchant("settings-race");
    for (let i = 0; i < PAIRS; i++) {
      const [renamed, guarded] = await Promise.all([
        post<MerchantJson>("/v1/account", { name: `Shop ${i}` }, opts),
                // Lowered each time: a tightening applies at once (a raise would wait for a second person).
        post<MerchantJson>("/v1/account", { settings: { refund_approval_thresholds: { usd: 10000 - i } } }, await approverOf(opts)),
      ]);
      expect([renamed.status, guarded.status]).toEqual([200, 200]);
      const account = (await get<MerchantJson>("/v1/account", opts)).body;
      expect({ pair: i, name: account.name, thresholds: account.settings.refund_approval_thresholds }).toEqual({ pair: i, name: `Shop ${i}`, thresholds: { usd: 10000 - i } });
    }
  });

  it("two settings changed at once by two callers both survive, through the admin route too", async () => {
    const { id, opts } = await newMerchant("settings-race-admin");
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    await post(`/v1/admin/merchants/${id}`, { settings: { refund_approval_thresholds: { usd: 1, eur: 5000 } } }, admin);
    for (let i = 0; i < PAIRS; i++) {
      const action = i % 2 === 0 ? "unpaid" : "canceled";
      const [dunning, guarded] = await Promise.all([
        post<MerchantJson>("/v1/account", { settings: { subscription_dunning_final_action: action } }, opts),
        post<MerchantJson>(`/v1/admin/merchants/${id}`, { settings: { refund_approval_thresholds: { usd: 1, eur: 500 - i } } }, admin),
      ]);
      expect([dunning.status, guarded.status]).toEqual([200, 200]);
      const settings = (await get<MerchantJson>("/v1/account", opts)).body.settings;
      // GET /v1/account is Stripe's Account: our settings sit beside Stripe's (branding, dashboard...).
      const ours = { refund_approval_thresholds: settings.refund_approval_thresholds, subscription_dunning_final_action: settings.subscription_dunning_final_action, api_version: settings.api_version };
      expect({ pair: i, ...ours }).toEqual({ pair: i, refund_approval_thresholds: { usd: 1, eur: 500 - i }, subscription_dunning_final_action: action, api_version: null });
    }
  });

  it("a credential without refunds.approve that sends the thresholds it read cannot undo an approver's change made meanwhile", async () => {
    const { id, opts } = await newMerchant("settings-race-stale");
    await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, await approverOf(opts));
    const manager: CallOptions = { key: (await post<{ secret?: string }>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage", "payments.transactions.view"] }, opts)).body.secret ?? "" };
    const approver = bearer(await hsToken({ roles: ["merchant"], merchant: id, permissions: ["refunds.approve", "keys.manage"] }));
    for (let i = 0; i < PAIRS; i++) {
      const before = (await get<MerchantJson>("/v1/account", opts)).body.settings.refund_approval_thresholds;
      const [renamed, lowered] = await Promise.all([
        // A form that sends back every setting as it showed them, with a new name.
        post<MerchantJson>("/v1/account", { name: `Managed ${i}`, settings: { refund_approval_thresholds: before } }, manager),
        post<MerchantJson>("/v1/account", { settings: { refund_approval_thresholds: { usd: 900 - i } } }, approver),
      ]);
      expect([lowered.status]).toEqual([200]);
      // The manager's update is refused (403) if it saw the approver's thresholds already, applied otherwise.
      expect([200, 403]).toContain(renamed.status);
      const account = (await get<MerchantJson>("/v1/account", opts)).body;
      expect({ pair: i, thresholds: account.settings.refund_approval_thresholds }).toEqual({ pair: i, thresholds: { usd: 900 - i } });
      if (renamed.status === 200) expect(account.name).toBe(`Managed ${i}`);
    }
  });
});
