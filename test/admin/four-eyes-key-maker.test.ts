// Four eyes across credentials: a refund held for approval records who asked for it, and that actor
// cannot approve it. A person who minted an API key (or an application credential) and asked for the
// refund with it was "api_key:key_...", not themselves, and approved their own refund. The maker of
// the requesting credential (and the maker of the key that minted it, and so on) counts as the
// requester now; another person still approves. A key rolled by itself keeps its maker; a chain too long
// to follow to its person is refused, never cut short.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { credentialMakers, MAKERS_DEPTH } from "../../src/auth/api-keys";
import { mintKey } from "../../src/api/v1/api_keys";
import { planOf, recording, type Captured } from "../db/recording";
import { approverOf, bearer, get, hsToken, newMerchant, post, rawCall, waitFor, type CallOptions, type ListJson, type PaymentIntentJson, type RefundJson } from "../helpers";

async function paid(opts: CallOptions, amount: number): Promise<string> {
  const pi = await post<PaymentIntentJson>("/v1/payment_intents", { amount, currency: "usd", payment_method: "pm_card_visa", confirm: true }, opts);
  expect(pi.status, JSON.stringify(pi.body)).toBe(200);
  return pi.body.id;
}

async function heldRefund(opts: CallOptions, intent: string): Promise<RefundJson> {
  const res = await post<RefundJson>("/v1/refunds", { payment_intent: intent }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body).toMatchObject({ status: "pending", requires_approval: true });
  return res.body;
}

describe("four eyes: the maker of the requesting credential is the requester", () => {
  it("a person cannot approve a refund asked for with a key they made, or with a key made by that key, or with their application; someone else can", async () => {
    const m = await newMerchant("four-eyes-maker");
    const lead = await approverOf(m.opts);
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, lead)).status).toBe(200);
    const alice = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "alice" }));

    // Alice mints a secret key, and with it a restricted one.
    const key1 = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "secret", name: "alice's" }, alice);
    expect(key1.status, JSON.stringify(key1.body)).toBe(200);
    const byKey1: CallOptions = { key: key1.body.secret };
    const key2 = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.create", "payments.transactions.void"] }, byKey1);
    expect(key2.status, JSON.stringify(key2.body)).toBe(200);
    const byKey2: CallOptions = { key: key2.body.secret };

    const viaKey1 = await heldRefund(byKey1, await paid(byKey1, 5000));
    const viaKey2 = await heldRefund(byKey2, await paid(byKey1, 4000));
    for (const refund of [viaKey1, viaKey2]) {
      const refused = await post<{ error: { type: string; message: string } }>(`/v1/admin/refunds/${refund.id}:approve`, {}, alice);
      expect(refused.status, JSON.stringify(refused.body)).toBe(403);
      expect(refused.body.error.message).toContain("another person must approve it");
      expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, m.opts)).body.status).toBe("pending");
    }

    // An application credential of alice's, refunding through seed 003.
    const app = await post<{ application_id: string; access_token: string }>(
      "/v1/api_keys",
      { type: "application", permissions: ["payments.transactions.view", "payments.transactions.void"] },
      alice,
    );
    expect(app.status, JSON.stringify(app.body)).toBe(200);
    const intent = await paid(m.opts, 3000);
    const held = await rawCall("POST", `/payments/${intent}/refund`, { "x-application-id": app.body.application_id, "x-access-token": app.body.access_token }, "{}");
    expect(held.status, held.text).toBe(202);
    const [viaApp] = (await get<ListJson<RefundJson>>(`/v1/refunds?payment_intent=${intent}`, m.opts)).body.data;
    if (!viaApp) throw new Error("the application's refund is missing");
    expect((await post(`/v1/admin/refunds/${viaApp.id}:approve`, {}, alice)).status).toBe(403);

    // The refusals are recorded about each refund, as a requester's own is.
    const ops = bearer(await hsToken({ roles: ["admin"], merchant: null, sub: "ops" }));
    await waitFor(async () => {
      const audited = await get<{ data: { object_id: string; http_status: number; actor: string }[] }>(`/v1/admin/audit_log?object_id=${viaKey1.id}`, ops);
      return audited.body.data.some((e) => e.actor === "jwt:alice" && e.http_status === 403);
    }, 10_000, "the refused approval in the audit log");

    // Another person approves all three.
    for (const refund of [viaKey1, viaKey2, viaApp]) {
      const approved = await post<RefundJson>(`/v1/admin/refunds/${refund.id}:approve`, {}, lead);
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body.status).toBe("succeeded");
    }
  });

  it("the makers are read by the keys' primary key and the applications' unique id, one row each (no scan of api_keys)", async () => {
    const m = await newMerchant("four-eyes-plans");
    const bob = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "bob" }));
    const key = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "secret" }, bob);
    const app = await post<{ application_id: string }>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.void"] }, { key: key.body.secret });
    expect(app.status, JSON.stringify(app.body)).toBe(200);
    const captured: Captured[] = [];
    expect(await credentialMakers(recording(env.DB, captured), `application:${app.body.application_id}`)).toEqual([`api_key:${key.body.id}`, "jwt:bob"]);
    expect(captured.length).toBe(2);
    for (const c of captured) {
      const plan = await planOf(c);
      expect(plan.join("\n"), c.sql).toMatch(/^SEARCH api_keys USING (INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)/);
      expect(plan.some((line) => line.startsWith("SCAN")), c.sql).toBe(false);
    }
  });

  it("a key whose maker is not on record (seeded, or made before the record was kept) is judged by its own actor, as before", async () => {
    const m = await newMerchant("four-eyes-seeded");
    const lead = await approverOf(m.opts);
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, lead)).status).toBe(200);
    const refund = await heldRefund(m.opts, await paid(m.opts, 2000));
    const approved = await post<RefundJson>(`/v1/admin/refunds/${refund.id}:approve`, {}, lead);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe("succeeded");
  });

  it("a key rolled by itself, again and again, still has its first maker: that person cannot approve what the latest key asks for", async () => {
    const m = await newMerchant("four-eyes-self-roll");
    const lead = await approverOf(m.opts);
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, lead)).status).toBe(200);
    const alice = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "alice" }));
    const first = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "secret", name: "integration" }, alice);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    // The integration rotates its own key routinely (each roll made with the key it replaces), more
    // times than the makers were once followed (8).
    let key = first.body;
    for (let roll = 0; roll < 10; roll++) {
      const rolled = await post<{ id: string; secret: string }>(`/v1/api_keys/${key.id}/roll`, {}, { key: key.secret });
      expect(rolled.status, JSON.stringify(rolled.body)).toBe(200);
      key = rolled.body;
    }
    expect(await credentialMakers(env.DB, `api_key:${key.id}`)).toEqual(["jwt:alice"]);
    const refund = await heldRefund({ key: key.secret }, await paid({ key: key.secret }, 5000));
    const refused = await post<{ error: { message: string } }>(`/v1/admin/refunds/${refund.id}:approve`, {}, alice);
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, m.opts)).body.status).toBe("pending");
    const approved = await post<RefundJson>(`/v1/admin/refunds/${refund.id}:approve`, {}, lead);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  });

  it("a chain of keys longer than the makers are followed is not cut short: nobody may approve what its last key asked for", async () => {
    const m = await newMerchant("four-eyes-long-chain");
    // Alice made a key, that key another, and so on: one past the depth, and exactly at it.
    let maker = "jwt:alice";
    const chain: string[] = [];
    for (let i = 0; i <= MAKERS_DEPTH; i++) {
      const { row } = await mintKey(env.DB, m.id, false, "secret", { createdBy: maker });
      chain.push(row.id);
      maker = `api_key:${row.id}`;
    }
    const atDepth = chain[MAKERS_DEPTH - 1] ?? "";
    const makers = await credentialMakers(env.DB, `api_key:${atDepth}`);
    expect(makers.length).toBe(MAKERS_DEPTH);
    expect(makers.at(-1)).toBe("jwt:alice");
    await expect(credentialMakers(env.DB, maker)).rejects.toMatchObject({ status: 403 });
  });

  it("a key rolled by someone else has both makers: neither the one who made the old key nor the one who rolled it approves what it asks for", async () => {
    const m = await newMerchant("four-eyes-roll-other");
    const lead = await approverOf(m.opts);
    expect((await post("/v1/account", { settings: { refund_approval_thresholds: { usd: 1000 } } }, lead)).status).toBe(200);
    const bob = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "bob" }));
    const alice = bearer(await hsToken({ roles: ["merchant"], merchant: m.id, sub: "alice" }));
    // Bob's integration key, rotated for him by alice, who hands him the new secret.
    const bobs = await post<{ id: string; secret: string }>("/v1/api_keys", { type: "secret", name: "bob's integration" }, bob);
    expect(bobs.status, JSON.stringify(bobs.body)).toBe(200);
    const rolled = await post<{ id: string; secret: string }>(`/v1/api_keys/${bobs.body.id}/roll`, { expires_in: 60 }, alice);
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(200);
    expect(await credentialMakers(env.DB, `api_key:${rolled.body.id}`)).toEqual(["jwt:alice", `api_key:${bobs.body.id}`, "jwt:bob"]);
    // Rolled by itself afterwards, it keeps both.
    const again = await post<{ id: string; secret: string }>(`/v1/api_keys/${rolled.body.id}/roll`, {}, { key: rolled.body.secret });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await credentialMakers(env.DB, `api_key:${again.body.id}`)).toEqual(["jwt:alice", `api_key:${bobs.body.id}`, "jwt:bob"]);
    const byNew: CallOptions = { key: again.body.secret };
    const refund = await heldRefund(byNew, await paid(byNew, 5000));
    for (const person of [bob, alice]) {
      const refused = await post<{ error: { message: string } }>(`/v1/admin/refunds/${refund.id}:approve`, {}, person);
      expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    }
    expect((await get<RefundJson>(`/v1/refunds/${refund.id}`, m.opts)).body.status).toBe("pending");
    expect((await post<RefundJson>(`/v1/admin/refunds/${refund.id}:approve`, {}, lead)).status).toBe(200);
  });
});
