// JWTs beside API keys: HS256 with the configured secret, RS256 from the identity provider's JWKS.
// Forged, `alg: none`, HS256-signed-with-the-public-key, expired, not yet valid, wrong issuer and
// wrong audience tokens are all 401 and change nothing; a missing permission is 403.
import { env } from "cloudflare:workers";
import { exportSPKI, importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { bearer, createIntent, expectError, get, hsToken, MERCHANT_A, MERCHANT_B, post, seedCustomer, succeededIntent, type ListJson, type PaymentIntentJson } from "../helpers";

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

async function rsToken(claims: Record<string, unknown>, options: { expiresIn?: number } = {}) {
  const key = await importJWK(JSON.parse(env.JWKS_PRIVATE_KEY) as JsonWebKey, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "test-key-1" })
    .setSubject("idp-user")
    .setIssuer("edge-gateway")
    .setAudience("edge-gateway-api")
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .sign(key);
}

async function countIntents(merchant: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM payment_intents WHERE merchant_id = ?").bind(merchant).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("JWT authentication", () => {
  it("accepts an HS256 token of the configured issuer and an RS256 token from the JWKS", async () => {
    const hs = await hsToken();
    const created = await createIntent({ amount: 1111 }, bearer(hs));
    expect(created.status).toBe(200);
    expect(created.body.merchant_id).toBe(MERCHANT_A);
    const rs = await rsToken({ roles: ["merchant"], merchant_id: MERCHANT_A });
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${created.body.id}`, bearer(rs))).status).toBe(200);
  });

  it("reads roles from roles, role or ASP.NET's role claim, in any case; a valid token naming no role is 403", async () => {
    const uri = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";
    // Seed 000 names its roles "Admin" and "Support".
    for (const claims of [{ role: "Admin" }, { roles: ["Support"] }, { [uri]: ["Support", "Auditor"] }, { role: [" admin "] }]) {
      expect((await get<unknown[]>("/api/v1/PaymentIntents?limit=1", bearer(await rsToken(claims)))).status, JSON.stringify(claims)).toBe(200);
    }
    const merchant = await createIntent({ amount: 1212 }, bearer(await rsToken({ roles: "Merchant", merchant_id: MERCHANT_A })));
    expect(merchant.status).toBe(200);
    const before = await countIntents(MERCHANT_A);
    for (const claims of [{ roles: ["User"], merchant_id: MERCHANT_A }, { merchant_id: MERCHANT_A }, { role: 7, roles: {} }]) {
      const token = await rsToken(claims);
      expectError(await createIntent({ amount: 999 }, bearer(token)), 403);
      const seed = await get<{ status: number }>("/api/v1/PaymentIntents", bearer(token));
      expect(seed.status, JSON.stringify(claims)).toBe(403);
    }
    expect(await countIntents(MERCHANT_A)).toBe(before);
  });

  it("refuses forged, unsigned, confused, expired, early and misaddressed tokens with 401, changing nothing", async () => {
    const before = await countIntents(MERCHANT_A);
    const now = Math.floor(Date.now() / 1000);
    const payload = { roles: ["admin"], merchant_id: MERCHANT_A, sub: "mallory", iss: "edge-gateway", aud: "edge-gateway-api", iat: now, exp: now + 600 };
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
    const publicPem = await exportSPKI((await importJWK({ ...(JSON.parse(env.JWKS_PRIVATE_KEY) as JsonWebKey & { d?: string }), d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined } as JsonWebKey, "RS256", { extractable: true })) as CryptoKey);
    const confused = await hsToken({ roles: ["admin"], secret: publicPem });
    const tokens: Record<string, string> = {
      forged: await hsToken({ roles: ["admin"], secret: "not-the-secret" }),
      "alg none": unsigned,
      "HS256 signed with the public key": confused,
      expired: await hsToken({ expiresIn: -120 }),
      "not yet valid": await hsToken({ notBefore: 3600 }),
      "wrong issuer": await hsToken({ issuer: "someone-else" }),
      "wrong audience": await hsToken({ audience: "another-api" }),
      "RS256 expired": await rsToken({ roles: ["merchant"], merchant_id: MERCHANT_A }, { expiresIn: -120 }),
      garbage: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlcyI6WyJhZG1pbiJdfQ.c2lnbmF0dXJl",
    };
    for (const [name, token] of Object.entries(tokens)) {
      const res = await createIntent({ amount: 999 }, bearer(token));
      expect(res.status, name).toBe(401);
      expectError(res, 401);
      expectError(await get("/v1/payment_intents", bearer(token)), 401);
    }
    expect(await countIntents(MERCHANT_A)).toBe(before);
  });

  it("a missing permission is 403 and changes nothing", async () => {
    const before = await countIntents(MERCHANT_A);
    const viewer = await hsToken({ permissions: ["payments.transactions.view"] });
    const denied = expectError(await createIntent({}, bearer(viewer)), 403);
    // Stripe's type for it (stripe-node raises StripePermissionError by the 403).
    expect(denied.type).toBe("invalid_request_error");
    expect(denied.message).toContain("payments.transactions.create");
    expect((await get("/v1/payment_intents?limit=1", bearer(viewer))).status).toBe(200);
    const pi = await succeededIntent(800);
    expectError(await post("/v1/refunds", { payment_intent: pi.id }, bearer(viewer)), 403);
    expectError(await post("/v1/webhook_endpoints", { url: "https://x.example/h", enabled_events: ["*"] }, bearer(viewer)), 403);
    expect(await countIntents(MERCHANT_A)).toBe(before + 1);
  });

  it("a merchant token cannot act for another merchant: 403 (authenticated, not allowed), never counted as a failed sign-in", async () => {
    const token = await hsToken({ merchant: MERCHANT_A });
    const other = { ...bearer(token), headers: { "merchant-id": MERCHANT_B, "cf-connecting-ip": "198.51.100.77" } };
    expectError(await get("/v1/payment_intents", other), 403);
    // Far more than the failed sign-ins an address may make: the same address still signs in.
    for (let i = 0; i < 30; i++) expect((await get("/v1/payment_intents?limit=1", other)).status).toBe(403);
    expect((await get("/v1/payment_intents?limit=1", { ...bearer(token), headers: { "cf-connecting-ip": "198.51.100.77" } })).status).toBe(200);
  });
});

describe("roles", () => {
  it("admin acts across merchants, choosing one with Merchant-Id", async () => {
    const admin = await hsToken({ roles: ["admin"], merchant: null });
    expectError(await get("/v1/payment_intents", bearer(admin)), 400, "merchant_required");
    const pi = await succeededIntent(700);
    const asA = { ...bearer(admin), headers: { "merchant-id": MERCHANT_A } };
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`, asA)).body.id).toBe(pi.id);
    expectError(await get(`/v1/payment_intents/${pi.id}`, { ...bearer(admin), headers: { "merchant-id": MERCHANT_B } }), 404);
    expect((await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, asA)).status).toBe(200);
  });

  it("a merchant that does not exist is refused (403) on every surface, and nothing is written for it", async () => {
    const ghost = `acct_ghost_${Date.now()}`;
    const admin = await hsToken({ roles: ["admin"], merchant: null });
    const asGhost = { ...bearer(admin), headers: { "merchant-id": ghost } };
    const ghostToken = bearer(await hsToken({ roles: ["merchant"], merchant: ghost }));
    for (const opts of [asGhost, ghostToken]) {
      expectError(await createIntent({ amount: 999 }, opts), 403);
      expectError(await post("/v1/customers", { email: "a@example.com" }, opts), 403);
      const seed000 = await post("/api/v1/PaymentIntents", { amount: 9.99, currency: "EUR", paymentGatewayId: 1 }, opts);
      expect(seed000.status, JSON.stringify(seed000.body)).toBe(403);
      const seed002 = await post("/api/v1/payments/sale", { amountCents: 999, currency: "USD", token: "9418594164541111", expiry: "1239" }, opts);
      expect(seed002.status, JSON.stringify(seed002.body)).toBe(403);
    }
    expect(await countIntents(ghost)).toBe(0);
    const customers = await env.DB.prepare("SELECT count(*) AS n FROM customers WHERE merchant_id = ?").bind(ghost).first<{ n: number }>();
    expect(customers?.n).toBe(0);
    // An existing one still works, and admin reads across merchants need no header.
    expect((await createIntent({ amount: 998 }, { ...bearer(admin), headers: { "merchant-id": MERCHANT_A } })).status).toBe(200);
    expect((await get("/v1/admin/payments/search?limit=1", bearer(admin))).status).toBe(200);
  });

  it("support beside a role that writes (merchant, customer) is dropped: the token acts for its own merchant only", async () => {
    const pi = await succeededIntent(500);
    const mixed = await hsToken({ roles: ["support", "merchant"], merchant: MERCHANT_B });
    const asA = { ...bearer(mixed), headers: { "merchant-id": MERCHANT_A } };
    expectError(await post("/v1/refunds", { payment_intent: pi.id, amount: 100 }, asA), 403);
    expectError(await post("/v1/api_keys", { type: "secret" }, asA), 403);
    const shopper = await hsToken({ roles: ["customer", "support"], merchant: MERCHANT_B, customer: "cus_mixed0001" });
    expectError(await get("/v1/payment_intents", { ...bearer(shopper), headers: { "merchant-id": MERCHANT_A } }), 403);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });

  it("support reads across merchants but cannot write", async () => {
    const support = await hsToken({ roles: ["support"], merchant: null });
    const asA = { ...bearer(support), headers: { "merchant-id": MERCHANT_A } };
    const pi = await succeededIntent(600);
    expect((await get(`/v1/payment_intents/${pi.id}`, asA)).status).toBe(200);
    expect((await get("/v1/admin/payments/search?limit=5", bearer(support))).status).toBe(200);
    for (const res of [
      await createIntent({}, asA),
      await post(`/v1/payment_intents/${pi.id}/cancel`, {}, asA),
      await post("/v1/refunds", { payment_intent: pi.id }, asA),
      await post("/v1/webhook_endpoints", { url: "https://x.example/h", enabled_events: ["*"] }, asA),
      await post("/v1/api_keys", {}, asA),
      await post("/v1/admin/merchants", { name: "Nope" }, bearer(support)),
      await post("/v1/setup_intents", {}, asA),
      // As the README's role table says: endpoints (and their deliveries), keys and connector accounts
      // need webhooks.manage or keys.manage, to read them too.
      await get("/v1/webhook_endpoints", asA),
      await get("/v1/api_keys", asA),
      await get("/v1/connector_accounts", asA),
    ]) {
      expectError(res, 403);
    }
    expect((await get("/v1/customers?limit=1", asA)).status).toBe(200);
    expect((await get("/v1/setup_intents?limit=1", asA)).status).toBe(200);
    expect((await get<PaymentIntentJson>(`/v1/payment_intents/${pi.id}`)).body.amount_refunded).toBe(0);
  });

  it("a customer's token sees and pays only that customer's payments", async () => {
    const alice = await hsToken({ roles: ["customer"], customer: "cus_alice_jwt", sub: "alice" });
    const mine = await createIntent({ amount: 1500 }, bearer(alice));
    expect(mine.status).toBe(200);
    expect(mine.body.customer).toBe("cus_alice_jwt");
    await seedCustomer(MERCHANT_A, "cus_bobJwt00001");
    const theirs = (await createIntent({ amount: 1600, customer: "cus_bobJwt00001" })).body;
    expect(theirs.status).toBe("requires_payment_method");
    expectError(await get(`/v1/payment_intents/${theirs.id}`, bearer(alice)), 404);
    expectError(await post(`/v1/payment_intents/${theirs.id}/confirm`, { payment_method: "pm_card_visa" }, bearer(alice)), 404);
    expectError(await createIntent({ customer: "cus_bobJwt00001" }, bearer(alice)), 403);
    const confirmed = await post<PaymentIntentJson>(`/v1/payment_intents/${mine.body.id}/confirm`, { payment_method: "pm_card_visa" }, bearer(alice));
    expect(confirmed.body.status).toBe("succeeded");
    const listed = await get<ListJson<PaymentIntentJson>>("/v1/payment_intents?limit=100", bearer(alice));
    expect(listed.body.data.every((p) => p.customer === "cus_alice_jwt")).toBe(true);
    expect(listed.body.data.some((p) => p.id === mine.body.id)).toBe(true);
    expectError(await get("/v1/refunds", bearer(alice)), 403);
    expectError(await get(`/v1/charges/${confirmed.body.latest_charge}`, bearer(alice)), 403);
    expectError(await post("/v1/refunds", { payment_intent: mine.body.id }, bearer(alice)), 403);
  });
});
