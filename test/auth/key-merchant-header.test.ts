// A key (or a seed 003 application) belongs to its merchant: a Merchant-Id header naming another
// merchant is a 403 in the surface's own format, as a token's is, not ignored (the request acted for
// the key's merchant all the same); naming its own merchant changes nothing.
import { describe, expect, it } from "vitest";
import { expectError, get, KEY_A, MERCHANT_A, MERCHANT_B, post, rawCall, type ListJson } from "../helpers";

describe("Merchant-Id beside an API key", () => {
  it("naming another merchant is a 403 on /v1 and on the seed surfaces, and creates nothing; naming its own is as without it", async () => {
    const other = { key: KEY_A, headers: { "merchant-id": MERCHANT_B } };
    const denied = expectError(await get("/v1/payment_intents?limit=1", other), 403);
    expect(denied.message).toContain(MERCHANT_A);
    const before = (await get<ListJson<{ id: string }>>("/v1/customers?limit=1", { key: KEY_A })).body.data[0]?.id;
    expectError(await post("/v1/customers", { email: "elsewhere@example.com" }, other), 403);
    expect((await get<ListJson<{ id: string }>>("/v1/customers?limit=1", { key: KEY_A })).body.data[0]?.id).toBe(before);
    // Seed 002 (POS) and seed 004 answer the same refusal in their own formats.
    const pos = await rawCall("GET", "/api/v1/payments/transactions", { authorization: `Bearer ${KEY_A}`, "merchant-id": MERCHANT_B });
    expect(pos.status).toBe(403);
    expect(pos.json).toMatchObject({ error: { code: expect.any(String) } });
    const backend = await rawCall("POST", "/api/v1/payments/stripe/create-payment-intent/", { authorization: `Bearer ${KEY_A}`, "merchant-id": MERCHANT_B }, JSON.stringify({ amount: 10, currency: "usd" }));
    expect(backend.status).toBe(403);
    expect(backend.json).toMatchObject({ error: expect.any(String) });
    // Its own merchant: as without the header.
    expect((await get("/v1/payment_intents?limit=1", { key: KEY_A, headers: { "merchant-id": MERCHANT_A } })).status).toBe(200);
  });
});
