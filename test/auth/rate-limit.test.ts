// Token buckets: per credential (a key's own limit here) and per IP on the routes without
// credentials. Over the limit: 429, Stripe's rate_limit_error and Retry-After; the bucket refills.
import { describe, expect, it } from "vitest";
import { call, expectError, get, newMerchant, post } from "../helpers";

describe("rate limiting", () => {
  it("a key over its limit gets 429 with Retry-After, and recovers after the window", async () => {
    const { opts } = await newMerchant("limited");
    const key = (await post<{ secret: string }>("/v1/api_keys", { name: "slow", rate_limit: { per_second: 2, burst: 3 } }, opts)).body.secret;
    const results = await Promise.all(Array.from({ length: 6 }, () => get("/v1/payment_intents?limit=1", { key })));
    const limited = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    const error = expectError(limited[0] ?? results[0] ?? { status: 0, body: {}, headers: new Headers() }, 429, "rate_limit");
    expect(error.type).toBe("rate_limit_error");
    const retryAfter = Number(limited[0]?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
    expect((await get("/v1/payment_intents?limit=1", { key })).status).toBe(200);
    // Other credentials of the merchant have their own buckets.
    expect((await get("/v1/payment_intents?limit=1", opts)).status).toBe(200);
  });

  it("routes without credentials are limited per client IP", async () => {
    const ip = { "cf-connecting-ip": "203.0.113.77" };
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: ip }));
    expect(results.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(40);
    const limited = results.find((r) => r.status === 429);
    expect(limited).toBeDefined();
    expect(limited?.headers.get("retry-after")).toBeTruthy();
    // Another IP is unaffected.
    expect((await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": "203.0.113.78" } })).status).toBe(400);
  });
});
