// /v1/api_keys and credentials: secret, restricted and application keys; shown once, stored as
// hashes; revocation; seed 003's X-Application-Id + X-Access-Token; admins creating merchants.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, createIntent, expectError, get, hsToken, newMerchant, post, type CallOptions, type ListJson } from "../helpers";

interface KeyJson {
  id: string;
  type: string;
  name: string | null;
  secret?: string;
  access_token?: string;
  application_id: string | null;
  redacted: string;
  permissions: string[] | null;
  last_used: number | null;
  revoked: boolean;
}

describe("API keys", () => {
  it("an admin lists merchants in pages, newest first, each once (next_cursor)", async () => {
    const admin = bearer(await hsToken({ roles: ["admin"], merchant: null }));
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await post<{ merchant: { id: string } }>("/v1/admin/merchants", { name: `Paged shop ${i}` }, admin)).body.merchant.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 500; pages++) {
      const page: { body: { data: { id: string }[]; has_more: boolean; next_cursor: string | null } } = await get(`/v1/admin/merchants?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, admin);
      seen.push(...page.body.data.map((m) => m.id));
      if (!page.body.has_more) break;
      expect(page.body.data).toHaveLength(2);
      cursor = page.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(3); // the demo merchants and others are older
    // Newest first: the three just made come in reverse order of creation (other files may add merchants meanwhile).
    expect(seen.filter((id) => made.includes(id))).toEqual([...made].reverse());
  });

  it("lists the keys in pages, newest first, each key once (limit, starting_after, ending_before)", async () => {
    const { opts } = await newMerchant("keys-pages");
    for (let i = 0; i < 11; i++) expect((await post("/v1/api_keys", { name: `k${i}` }, opts)).status).toBe(200);
    const all = await get<ListJson<KeyJson>>("/v1/api_keys?limit=100", opts);
    expect(all.body.has_more).toBe(false);
    const ids = all.body.data.map((k) => k.id);
    expect(ids.length).toBe(12); // the merchant's first key and the 11 new ones
    expect(all.body.data[0]?.name).toBe("k10");
    const first = await get<ListJson<KeyJson>>("/v1/api_keys", opts);
    expect(first.body.data.map((k) => k.id)).toEqual(ids.slice(0, 10)); // Stripe's default page of 10
    expect(first.body.has_more).toBe(true);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await get<ListJson<KeyJson>>(`/v1/api_keys?limit=5${after ? `&starting_after=${after}` : ""}`, opts);
      paged.push(...page.body.data.map((k) => k.id));
      if (!page.body.has_more) break;
      after = page.body.data[page.body.data.length - 1]?.id;
    }
    expect(paged).toEqual(ids);
    const before = await get<ListJson<KeyJson>>(`/v1/api_keys?limit=3&ending_before=${ids[5] ?? ""}`, opts);
    expect(before.body.data.map((k) => k.id)).toEqual(ids.slice(2, 5));
    expectError(await get("/v1/api_keys?starting_after=key_doesnotexist000", opts), 400, "resource_missing");
  });

  it("creates a secret key shown once, lists it redacted with its last use, and revokes it", async () => {
    const { opts, id } = await newMerchant("keys");
    const created = await post<KeyJson>("/v1/api_keys", { name: "backend" }, opts);
    expect(created.status).toBe(200);
    expect(created.body.secret).toMatch(/^sk_test_[A-Za-z0-9]{40}$/);
    const key = created.body.secret ?? "";
    expect((await createIntent({}, { key })).status).toBe(200);
    const listed = await get<ListJson<KeyJson>>("/v1/api_keys", opts);
    const row = listed.body.data.find((k) => k.id === created.body.id);
    expect(row).toMatchObject({ type: "secret", revoked: false });
    expect(row?.secret).toBeUndefined();
    expect(row?.redacted).toBe(`${key.slice(0, 8)}***${key.slice(-4)}`);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(row?.last_used).toBeTypeOf("number");
    const stored = await env.DB.prepare("SELECT * FROM api_keys WHERE merchant_id = ?").bind(id).all();
    expect(JSON.stringify(stored.results)).not.toContain(key);

    const revoked = await call<KeyJson>("DELETE", `/v1/api_keys/${created.body.id}`, opts);
    expect(revoked.body.revoked).toBe(true);
    expectError(await get("/v1/payment_intents", { key }), 401);
  });

  it("GET /v1/credential tells any accepted credential what it is and may do (a restricted key, a secret key, a token without a merchant, a customer's token); none: 401", async () => {
    const { opts } = await newMerchant("credential");
    const rk = (await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view", "payments.transactions.void"] }, opts)).body.secret ?? "";
    const restricted = (await get<{ permissions: string[] }>("/v1/credential", { key: rk })).body;
    expect(restricted).toMatchObject({ object: "credential", kind: "api_key", cross_merchant: false, livemode: false });
    expect([...restricted.permissions].sort()).toEqual(["payments.transactions.view", "payments.transactions.void"]);
    const sk = (await get<{ permissions: string[]; merchant_id: string }>("/v1/credential", opts)).body;
    expect(sk.permissions).toContain("keys.manage");
    expect(sk.merchant_id).toMatch(/^acct_/);
    const support = (await get<{ permissions: string[] }>("/v1/credential", bearer(await hsToken({ roles: ["support"], merchant: null })))).body;
    expect(support).toMatchObject({ kind: "jwt", roles: ["support"], merchant_id: null, cross_merchant: true });
    expect([...support.permissions].sort()).toEqual(["billing.view", "payments.methods.view", "payments.transactions.view"]);
    expect((await get("/v1/credential", bearer(await hsToken({ roles: ["customer"], customer: "cus_someone" })))).body).toMatchObject({ kind: "jwt", customer: "cus_someone" });
    expectError(await get("/v1/credential", { key: null }), 401);
    expectError(await get("/v1/credential", { key: "sk_test_nope" }), 401);
  });

  it("restricted keys have only their permissions, and cannot be given more than their creator holds", async () => {
    const { opts } = await newMerchant("restricted");
    const viewer = await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, opts);
    const rk = viewer.body.secret ?? "";
    expect(rk).toMatch(/^rk_test_/);
    expect((await get("/v1/payment_intents", { key: rk })).status).toBe(200);
    expectError(await createIntent({}, { key: rk }), 403);
    const manager = (await post<KeyJson>("/v1/api_keys", { type: "restricted", permissions: ["keys.manage", "payments.transactions.view"] }, opts)).body.secret ?? "";
    expectError(await post("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.create"] }, { key: manager }), 403);
    expectError(await post("/v1/api_keys", {}, { key: manager }), 403);
    expect((await post("/v1/api_keys", { type: "restricted", permissions: ["payments.transactions.view"] }, { key: manager })).status).toBe(200);
    expectError(await post("/v1/api_keys", { type: "restricted" }, opts), 400, "parameter_missing");
    expectError(await post("/v1/api_keys", { type: "restricted", permissions: ["payments.everything"] }, opts), 400);
    // A stored answer is replayed only to the credential that made the request: the manager reusing the
    // secret key's Idempotency-Key does not read the new secret key it could not create.
    const key = `keys-${Date.now()}-${Math.random()}`;
    const made = await post<KeyJson>("/v1/api_keys", { type: "secret", name: "ops" }, { ...opts, idempotencyKey: key });
    expect(made.body.secret).toMatch(/^sk_test_/);
    expect((await post<KeyJson>("/v1/api_keys", { type: "secret", name: "ops" }, { ...opts, idempotencyKey: key })).body.secret).toBe(made.body.secret);
    const replayed = await post<KeyJson>("/v1/api_keys", { type: "secret", name: "ops" }, { key: manager, idempotencyKey: key });
    expect(replayed.status).toBe(400);
    expect(JSON.stringify(replayed.body)).not.toContain(made.body.secret ?? "never");
    // Expanding a payment's customer needs the permission to read customers.
    expectError(await get("/v1/payment_intents?expand[]=data.customer", { key: rk }), 403);
    expect((await get("/v1/payment_intents?expand[]=data.customer", opts)).status).toBe(200);
  });

  it("application credentials authenticate with X-Application-Id and X-Access-Token (seed 003)", async () => {
    const { opts } = await newMerchant("application");
    const app = await post<KeyJson>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.create", "payments.transactions.view"] }, opts);
    const appId = app.body.application_id ?? "";
    const token = app.body.access_token ?? "";
    expect(appId).toMatch(/^app_/);
    const headers = (h: Record<string, string>): CallOptions => ({ key: null, headers: h });
    const ok = await createIntent({ amount: 1234 }, headers({ "x-application-id": appId, "x-access-token": token }));
    expect(ok.status).toBe(200);
    expectError(await get("/v1/payment_intents", headers({ "x-application-id": appId })), 400);
    expectError(await get("/v1/payment_intents", headers({ "x-access-token": token })), 400);
    expectError(await get("/v1/payment_intents", headers({ "x-application-id": appId, "x-access-token": "tok_wrong" })), 401);
    expectError(await get("/v1/payment_intents", headers({ "x-application-id": "app_doesnotexist", "x-access-token": token })), 401);
    expectError(await get("/v1/payment_intents", { key: token }), 401);
  });

  it("an admin creates a merchant with its first key", async () => {
    const admin = await hsToken({ roles: ["admin"], merchant: null });
    const res = await post<{ merchant: { id: string }; api_key: KeyJson }>("/v1/admin/merchants", { name: "New shop", settings: { refund_approval_thresholds: { usd: 10000 } } }, bearer(admin));
    expect(res.status).toBe(200);
    const key = res.body.api_key.secret ?? "";
    const account = await get<{ id: string; settings: { refund_approval_thresholds: Record<string, number> } }>("/v1/account", { key });
    expect(account.body).toMatchObject({ id: res.body.merchant.id, settings: { refund_approval_thresholds: { usd: 10000 } } });
    expectError(await post("/v1/admin/merchants", { name: "x" }, { key }), 403);
    const merchant = await hsToken({ roles: ["merchant"] });
    expect(expectError(await post("/v1/admin/merchants", { name: "x" }, bearer(merchant)), 403).message).toBe("Only admin users may use POST /v1/admin/merchants.");
    // The message names the route, whatever its summary says.
    expect(expectError(await get("/v1/admin/merchants", { key }), 403).message).toBe("Only admin or support users may use GET /v1/admin/merchants.");
  });
});

describe("hardening", () => {
  it("sends no CORS headers on the API: no browser calls it directly", async () => {
    const preflight = await exports.default.fetch(new Request("http://gateway.test/v1/payment_intents", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } }));
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const normal = await get("/v1/payment_intents?limit=1", { headers: { origin: "https://evil.example" } });
    expect(normal.headers.get("access-control-allow-origin")).toBeNull();
    expect(normal.headers.get("x-content-type-options")).toBe("nosniff");
    expect(normal.headers.get("strict-transport-security")).toBeTruthy();
  });
});
