// Rolling a credential (POST /v1/api_keys/{id}/roll): a new secret like the old credential, and the old
// one working on for an overlap of up to 7 days, or stopping at once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, post, type CallOptions, type ListJson } from "../helpers";

interface KeyJson {
  id: string;
  type: string;
  name: string | null;
  secret?: string;
  access_token?: string;
  application_id: string | null;
  permissions: string[] | null;
  rate_limit: { per_second: number; burst: number } | null;
  revoked: boolean;
  expires_at: number | null;
  rolled_from?: { id: string; expires_at: number | null; revoked: boolean };
}

const works = async (opts: CallOptions): Promise<number> => (await get("/v1/payment_intents?limit=1", opts)).status;

/** Moves a key's expiry into the past, as the clock would once its overlap ends. */
async function overlapEnds(id: string): Promise<void> {
  await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?").bind(Date.now() - 1, id).run();
}

describe("rolling API keys", () => {
  it("with an overlap: both work until the old one expires; the new one keeps name, permissions and rate limit", async () => {
    const { opts } = await newMerchant("roll-overlap");
    const made = await post<KeyJson>("/v1/api_keys", { type: "restricted", name: "orders", permissions: ["payments.transactions.view"], rate_limit: { per_second: 5, burst: 10 } }, opts);
    const old = { key: made.body.secret ?? "" };
    const before = Math.floor(Date.now() / 1000);
    const rolled = await post<KeyJson>(`/v1/api_keys/${made.body.id}/roll`, { expires_in: 3600 }, opts);
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({ type: "restricted", name: "orders", permissions: ["payments.transactions.view"], rate_limit: { per_second: 5, burst: 10 }, revoked: false, expires_at: null });
    expect(rolled.body.id).not.toBe(made.body.id);
    expect(rolled.body.secret).toMatch(/^rk_test_/);
    expect(rolled.body.secret).not.toBe(old.key);
    expect(rolled.body.rolled_from?.id).toBe(made.body.id);
    expect(rolled.body.rolled_from?.revoked).toBe(false);
    expect(rolled.body.rolled_from?.expires_at).toBeGreaterThanOrEqual(before + 3600);
    expect(rolled.body.rolled_from?.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    const fresh = { key: rolled.body.secret ?? "" };
    expect(await works(old)).toBe(200);
    expect(await works(fresh)).toBe(200);
    // The new key holds only what the old one held.
    expectError(await post("/v1/payment_intents", { amount: 100, currency: "usd" }, fresh), 403);
    // The list shows the old key expiring, the new one with its own id.
    const listed = (await get<ListJson<KeyJson>>("/v1/api_keys?limit=100", opts)).body.data;
    expect(listed.find((k) => k.id === made.body.id)).toMatchObject({ revoked: false, expires_at: rolled.body.rolled_from?.expires_at });
    expect(listed.find((k) => k.id === rolled.body.id)).toMatchObject({ revoked: false, expires_at: null });
    // A second roll of the old key makes nothing: roll the key that replaced it.
    expectError(await post(`/v1/api_keys/${made.body.id}/roll`, {}, opts), 400, "api_key_not_rollable");
    expect((await get<ListJson<KeyJson>>("/v1/api_keys?limit=100", opts)).body.data).toHaveLength(listed.length);
  });

  it("an expired overlap is refused as a revoked key is (checked on the row, whatever the cache holds)", async () => {
    const { opts } = await newMerchant("roll-expiry");
    const made = await post<KeyJson>("/v1/api_keys", { name: "to expire" }, opts);
    const rolled = await post<KeyJson>(`/v1/api_keys/${made.body.id}/roll`, { expires_in: 60 }, opts);
    expect(rolled.status).toBe(200);
    // Never used before its overlap ends: the first lookup reads the expired row.
    await overlapEnds(made.body.id);
    expectError(await get("/v1/payment_intents?limit=1", { key: made.body.secret ?? "" }), 401);
    expect(await works({ key: rolled.body.secret ?? "" })).toBe(200);
    expect((await get<ListJson<KeyJson>>("/v1/api_keys?limit=100", opts)).body.data.find((k) => k.id === made.body.id)?.revoked).toBe(true);
  });

  it("without an overlap the old key stops at once; a revoked key cannot be rolled; bad overlaps are 400s", async () => {
    const { opts } = await newMerchant("roll-now");
    const made = await post<KeyJson>("/v1/api_keys", { name: "leaked" }, opts);
    expect(await works({ key: made.body.secret ?? "" })).toBe(200);
    for (const bad of [-1, 604801, 1.5, "soon"]) expectError(await post(`/v1/api_keys/${made.body.id}/roll`, { expires_in: bad }, opts), 400);
    expectError(await post(`/v1/api_keys/${made.body.id}/roll`, { expires_after: 5 }, opts), 400);
    expect(await works({ key: made.body.secret ?? "" })).toBe(200);
    const rolled = await post<KeyJson>(`/v1/api_keys/${made.body.id}/roll`, {}, opts);
    expect(rolled.status).toBe(200);
    expect(rolled.body.rolled_from).toMatchObject({ id: made.body.id, revoked: true });
    expectError(await get("/v1/payment_intents?limit=1", { key: made.body.secret ?? "" }), 401);
    expect(await works({ key: rolled.body.secret ?? "" })).toBe(200);
    // Revoked by DELETE: nothing to roll.
    const other = await post<KeyJson>("/v1/api_keys", { name: "gone" }, opts);
    expect((await call("DELETE", `/v1/api_keys/${other.body.id}`, opts)).status).toBe(200);
    expectError(await post(`/v1/api_keys/${other.body.id}/roll`, { expires_in: 60 }, opts), 400, "api_key_not_rollable");
    // Another merchant's key, or no key at all: 404.
    const b = await newMerchant("roll-now-other");
    expectError(await post(`/v1/api_keys/${made.body.id}/roll`, {}, b.opts), 404);
    expectError(await post("/v1/api_keys/key_missing/roll", {}, opts), 404);
  });

  it("an application rolls to a new id and token; the old pair works through the overlap", async () => {
    const { opts } = await newMerchant("roll-app");
    const app = await post<KeyJson>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.view"] }, opts);
    const row = await env.DB.prepare("SELECT id FROM api_keys WHERE app_id = ?").bind(app.body.application_id).first<{ id: string }>();
    const rolled = await post<KeyJson>(`/v1/api_keys/${row?.id ?? ""}/roll`, { expires_in: 600 }, opts);
    expect(rolled.status).toBe(200);
    expect(rolled.body.application_id).toMatch(/^app_/);
    expect(rolled.body.application_id).not.toBe(app.body.application_id);
    const pair = (id: string | null, token: string | undefined): CallOptions => ({ key: null, headers: { "x-application-id": id ?? "", "x-access-token": token ?? "" } });
    expect(await works(pair(app.body.application_id, app.body.access_token))).toBe(200);
    expect(await works(pair(rolled.body.application_id, rolled.body.access_token))).toBe(200);
    // The new token does not open the old id, nor the old token the new one.
    expectError(await get("/v1/payment_intents", pair(app.body.application_id, rolled.body.access_token)), 401);
    expectError(await get("/v1/payment_intents", pair(rolled.body.application_id, app.body.access_token)), 401);
  });

  it("only a credential holding every permission of the key may roll it; the new secret is never replayed to another key", async () => {
    const { opts } = await newMerchant("roll-powers");
    const manager = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage", "payments.transactions.view"] }, opts);
    const secret = await post<KeyJson>("/v1/api_keys", { name: "full" }, opts);
    const narrow = { key: manager.body.secret ?? "" };
    expectError(await post(`/v1/api_keys/${secret.body.id}/roll`, {}, narrow), 403);
    expect(await works({ key: secret.body.secret ?? "" })).toBe(200);
    // The same Idempotency-Key answers the first roll again (one new key), and to no other credential.
    const idem = { ...opts, headers: { "idempotency-key": "roll-once" } };
    const first = await post<KeyJson>(`/v1/api_keys/${secret.body.id}/roll`, { expires_in: 60 }, idem);
    const again = await post<KeyJson>(`/v1/api_keys/${secret.body.id}/roll`, { expires_in: 60 }, idem);
    expect(first.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.secret).toBe(first.body.secret);
    const other = await post(`/v1/api_keys/${secret.body.id}/roll`, { expires_in: 60 }, { key: first.body.secret ?? "", headers: { "idempotency-key": "roll-once" } });
    expect(JSON.stringify(other.body)).not.toContain(first.body.secret ?? "never");
  });

  it("a key in its overlap still works for payments but makes, rolls and revokes no credentials", async () => {
    const { opts } = await newMerchant("roll-overlap-powers");
    const made = await post<KeyJson>("/v1/api_keys", { name: "leaving" }, opts);
    const old = { key: made.body.secret ?? "" };
    // Before the roll it manages keys, as every secret key does.
    const spare = await post<KeyJson>("/v1/api_keys", { name: "spare" }, old);
    expect(spare.status).toBe(200);
    const rolled = await post<KeyJson>(`/v1/api_keys/${made.body.id}/roll`, { expires_in: 3600 }, opts);
    expect(rolled.status).toBe(200);
    expect((await post("/v1/payment_intents", { amount: 500, currency: "usd" }, old)).status).toBe(200);
    expectError(await post("/v1/api_keys", { name: "lasting" }, old), 403);
    expectError(await post(`/v1/api_keys/${spare.body.id}/roll`, {}, old), 403);
    expectError(await call("DELETE", `/v1/api_keys/${rolled.body.id}`, old), 403);
    expectError(await get("/v1/api_keys", old), 403);
    // The new key does all of it.
    expect((await get("/v1/api_keys", { key: rolled.body.secret ?? "" })).status).toBe(200);
  });

  it("two rolls of one key at once make one new key", async () => {
    const { opts } = await newMerchant("roll-race");
    const made = await post<KeyJson>("/v1/api_keys", { name: "raced" }, opts);
    const answers = await Promise.all(Array.from({ length: 6 }, () => post<KeyJson>(`/v1/api_keys/${made.body.id}/roll`, { expires_in: 120 }, opts)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 200)) expectError(a, 400, "api_key_not_rollable");
    const keys = (await get<ListJson<KeyJson>>("/v1/api_keys?limit=100", opts)).body.data;
    expect(keys.filter((k) => k.name === "raced")).toHaveLength(2);
  });

  it("a roll whose new key cannot be made undoes only its own claim: a revocation made meanwhile stands", async () => {
    const { opts } = await newMerchant("roll-undo");
    const made = await post<KeyJson>("/v1/api_keys", { name: "roll-undo-target" }, opts);
    expect(made.status).toBe(200);
    // Right after the roll claims the old key, a DELETE revokes it (a trigger of the test's own plays
    // that request), and the new key's insert fails (another trigger).
    await env.DB.batch([
      env.DB.prepare(
        `CREATE TRIGGER roll_undo_revoke AFTER UPDATE OF expires_at ON api_keys WHEN NEW.expires_at IS NOT NULL AND NEW.name = 'roll-undo-target'
         BEGIN UPDATE api_keys SET revoked_at = 1 WHERE id = NEW.id; END`,
      ),
      env.DB.prepare(`CREATE TRIGGER roll_undo_mint BEFORE INSERT ON api_keys WHEN NEW.name = 'roll-undo-target' BEGIN SELECT RAISE(ABORT, 'no new key'); END`),
    ]);
    try {
      const failed = await post(`/v1/api_keys/${made.body.id}/roll`, { expires_in: 60 }, opts);
      expect(failed.status).toBe(500);
    } finally {
      await env.DB.batch([env.DB.prepare("DROP TRIGGER roll_undo_revoke"), env.DB.prepare("DROP TRIGGER roll_undo_mint")]);
    }
    const row = await env.DB.prepare("SELECT revoked_at, expires_at FROM api_keys WHERE id = ?").bind(made.body.id).first<{ revoked_at: number | null; expires_at: number | null }>();
    expect(row?.revoked_at).toBe(1);
    expectError(await get("/v1/payment_intents?limit=1", { key: made.body.secret ?? "" }), 401);
  });
});
