// Token buckets: per credential (a key's own limit here), per IP on the routes without credentials,
// and per IP for failed authentications. Over the limit: 429, Stripe's rate_limit code and
// Retry-After; the bucket refills. Every bucket's clock is frozen and stepped by the test, so the
// counts are exact and no test depends on how fast the machine is.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { authFailureBucket, clientIp } from "../../src/auth/ip-limit";
import { principalFromJwt } from "../../src/auth/jwt";
import { bucketObject, credentialBucket, merchantBucket, LEASE_TTL_MS, leaseSize, SAVE_EVERY_MS, type RateLimiterObject } from "../../src/auth/rate-limit";
import { config } from "../../src/env";
import { bearer, call, expectError, get, hsToken, KEY_B, newMerchant, post, type CallResult } from "../helpers";

/**
 * Freezes the clock of bucket `key` at a time the test then steps by hand. It is installed through
 * the running object's own class (the worker's module), before the bucket's first request.
 */
async function frozenClock(key: string): Promise<{ advance(ms: number): void }> {
  let now = Date.UTC(2030, 0, 1);
  const object = bucketObject(env, key);
  await runInDurableObject(object, (instance) => {
    (instance.constructor as typeof RateLimiterObject).clocks.set(object.id.toString(), () => now);
  });
  return {
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Tests of hundreds of requests: their counts are exact whatever the speed, but a busy machine is slow. */
const HEAVY_MS = 120_000;

const count = (results: CallResult<unknown>[], status: number) => results.filter((r) => r.status === status).length;

async function keyWithLimit(label: string, perSecond: number, burst: number): Promise<{ key: string; id: string }> {
  const { opts } = await newMerchant(label);
  const res = await post<{ id: string; secret: string }>("/v1/api_keys", { name: label, rate_limit: { per_second: perSecond, burst } }, opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { key: res.body.secret, id: res.body.id };
}

describe("rate limiting per credential", () => {
  it("200 concurrent requests against a key with burst 120 get exactly 120 answers and 80 x 429", async () => {
    const { key, id } = await keyWithLimit("exact", 100, 120);
    const clock = await frozenClock(`credential:api_key:${id}`);
    const results = await Promise.all(Array.from({ length: 200 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(results, 200)).toBe(120);
    expect(count(results, 429)).toBe(80);
    // 100 per second: 50 ms later there are exactly 5 more.
    clock.advance(50);
    const more = await Promise.all(Array.from({ length: 30 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(more, 200)).toBe(5);
    expect(count(more, 429)).toBe(25);
  }, HEAVY_MS);

  it("sustained load over the rate gets exactly the rate through, not less", async () => {
    const { key, id } = await keyWithLimit("sustained", 100, 10);
    const clock = await frozenClock(`credential:api_key:${id}`);
    let admitted = count(await Promise.all(Array.from({ length: 15 }, () => get("/v1/payment_intents?limit=1", { key }))), 200);
    expect(admitted).toBe(10);
    // Five steps of 100 ms (half a second at 100 per second), 15 concurrent requests each.
    for (let step = 0; step < 5; step++) {
      clock.advance(100);
      admitted += count(await Promise.all(Array.from({ length: 15 }, () => get("/v1/payment_intents?limit=1", { key }))), 200);
    }
    expect(admitted).toBe(10 + 50);
  }, HEAVY_MS);

  it("a key over its limit gets 429 with Retry-After and recovers once the bucket refills", async () => {
    const { key, id } = await keyWithLimit("slow", 2, 3);
    const clock = await frozenClock(`credential:api_key:${id}`);
    const results = await Promise.all(Array.from({ length: 6 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(results, 200)).toBe(3);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    const error = expectError(limited[0] as CallResult<unknown>, 429, "rate_limit");
    // Stripe's body for it: invalid_request_error with code rate_limit (stripe-node raises StripeRateLimitError by the 429).
    expect(error.type).toBe("invalid_request_error");
    expect(limited[0]?.headers.get("retry-after")).toBe("1");
    expectError(await get("/v1/payment_intents?limit=1", { key }), 429);
    clock.advance(500); // one token at 2 per second
    expect((await get("/v1/payment_intents?limit=1", { key })).status).toBe(200);
    expectError(await get("/v1/payment_intents?limit=1", { key }), 429);
    clock.advance(60_000); // full again, never above the burst
    const refilled = await Promise.all(Array.from({ length: 5 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(refilled, 200)).toBe(3);
  });

  it("a bucket's count outlives its object: saved together, and a reset object does not start full again", async () => {
    const { key, id } = await keyWithLimit("persisted", 1, 4);
    const clock = await frozenClock(`credential:api_key:${id}`);
    const object = bucketObject(env, `credential:api_key:${id}`);
    const first = await Promise.all(Array.from({ length: 3 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(first, 200)).toBe(3);
    // The three takes wait in memory for one save, SAVE_EVERY_MS later (a timer; polled here, however
    // slow the machine), then the object is reset: its memory is gone, its storage stays.
    const stored = () => runInDurableObject(object, (_instance, state) => state.storage.kv.get<{ tokens: number }>("bucket")?.tokens ?? null);
    await vi.waitFor(async () => expect(await stored()).toBe(1), { timeout: 30_000, interval: SAVE_EVERY_MS });
    try {
      await runInDurableObject(object, (_instance, state) => state.abort("test: reset the bucket's object"));
    } catch {
      // abort() throws into its caller by design
    }
    // One token left, not a fresh burst of four.
    const after = await Promise.all(Array.from({ length: 3 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(after, 200)).toBe(1);
    expect(count(after, 429)).toBe(2);
    clock.advance(1000);
    expect((await get("/v1/payment_intents?limit=1", { key })).status).toBe(200);
  });

  it("a busy key leases what it used in the last window, spends the lease in the isolate, drops what is left after LEASE_TTL_MS, and stays exact", async () => {
    const bucket = { rate: 100, burst: 120 };
    expect(leaseSize(bucket)).toBe(10); // 100 ms of refill, under a tenth of the burst (12)
    const { key, id } = await keyWithLimit("leased", bucket.rate, bucket.burst);
    const name = `credential:api_key:${id}`;
    const clock = await frozenClock(name);
    const object = bucketObject(env, name);
    const inObject = () => runInDurableObject(object, (instance) => (instance as RateLimiterObject).peek(bucket).tokens);
    const one = async () => (await get("/v1/payment_intents?limit=1", { key })).status;
    // A key this isolate has not seen lately leases one token at a time: nothing is stranded.
    for (let i = 0; i < 3; i++) expect(await one()).toBe(200);
    expect(await inObject()).toBe(117);
    // A window later, the lease is what the last window used: 3 tokens, one spent, two held here.
    clock.advance(LEASE_TTL_MS); // refills 20, back to the burst
    expect(await one()).toBe(200);
    expect(await inObject()).toBe(117);
    expect(await one()).toBe(200);
    expect(await one()).toBe(200);
    expect(await inObject()).toBe(117); // spent in the isolate, no call to the object
    expect(await one()).toBe(200);
    expect(await inObject()).toBe(114);
    for (let i = 0; i < 6; i++) expect(await one()).toBe(200); // 10 requests in this window
    // Unspent tokens are dropped after LEASE_TTL_MS of the bucket's clock, not spent later.
    clock.advance(LEASE_TTL_MS);
    expect(await inObject()).toBe(120);
    expect(await one()).toBe(200);
    expect(await inObject()).toBe(110); // a lease of 10 (the window's demand, at most leaseSize)
    // With leases of 10 in play, 200 concurrent requests still get exactly the bucket's tokens.
    const results = await Promise.all(Array.from({ length: 200 }, () => get("/v1/payment_intents?limit=1", { key })));
    expect(count(results, 200)).toBe(110 + 9);
    expect(count(results, 429)).toBe(200 - 119);
    expect(await inObject()).toBe(0);
  }, HEAVY_MS);

  it("other credentials of the merchant have buckets of their own", async () => {
    const { opts } = await newMerchant("own-buckets");
    const slow = await post<{ id: string; secret: string }>("/v1/api_keys", { rate_limit: { per_second: 1, burst: 1 } }, opts);
    await frozenClock(`credential:api_key:${slow.body.id}`);
    expect((await get("/v1/payment_intents?limit=1", { key: slow.body.secret })).status).toBe(200);
    expectError(await get("/v1/payment_intents?limit=1", { key: slow.body.secret }), 429);
    expect((await get("/v1/payment_intents?limit=1", opts)).status).toBe(200);
  });
});

describe("a merchant's bucket", () => {
  it("every API key of a merchant shares one bucket too: more keys never add up to more than the merchant's limit; tokens and other merchants are not counted in it", async () => {
    const { id, opts } = await newMerchant("merchant-bucket");
    const made = await Promise.all([1, 2].map(() => post<{ id: string; secret: string }>("/v1/api_keys", { name: "extra" }, opts)));
    const keys = [opts.key, ...made.map((k) => k.body.secret)];
    const name = `merchant:${id}:test`;
    expect(merchantBucket(await principalFromJwt(await hsToken({ merchant: id }), config(env), null))).toBeNull();
    // The merchant's bucket emptied at a frozen time (the suite's: burst 40000); each key's own stays full.
    await frozenClock(name);
    expect((await bucketObject(env, name).take({ rate: 20_000, burst: 40_000 }, 40_000)).granted).toBe(40_000);
    for (const key of keys) {
      const refused = expectError(await get("/v1/payment_intents?limit=1", { key }), 429, "rate_limit");
      expect(refused.message).toContain("across all of its API keys");
    }
    // A token of the merchant (minted by the deployment's issuer) and another merchant's key go on.
    expect((await get("/v1/payment_intents?limit=1", bearer(await hsToken({ merchant: id })))).status).toBe(200);
    expect((await get("/v1/payment_intents?limit=1", { key: KEY_B })).status).toBe(200);
  });
});

describe("a token's bucket", () => {
  it("tokens of two merchants with one sub have buckets of their own (one merchant's flood never limits the other)", async () => {
    const a = await newMerchant("jwt-bucket-a");
    const b = await newMerchant("jwt-bucket-b");
    const tokenA = await hsToken({ merchant: a.id, sub: "shared-user" });
    const tokenB = await hsToken({ merchant: b.id, sub: "shared-user" });
    const name = credentialBucket(await principalFromJwt(tokenA, config(env), null));
    expect(name).not.toBe(credentialBucket(await principalFromJwt(tokenB, config(env), null)));
    // A's bucket emptied at a frozen time (the suite's default: burst 10000).
    await frozenClock(name);
    const { granted } = await bucketObject(env, name).take({ rate: 5000, burst: 10_000 }, 10_000);
    expect(granted).toBe(10_000);
    expectError(await get("/v1/payment_intents?limit=1", bearer(tokenA)), 429);
    expect((await get("/v1/payment_intents?limit=1", bearer(tokenB))).status).toBe(200);
    // A customer's token of A has its own too.
    const shopper = await hsToken({ merchant: a.id, sub: "shared-user", roles: ["customer"], customer: "cus_jwt_bucket" });
    expect((await get("/v1/payment_intents?limit=1", bearer(shopper))).status).toBe(200);
  });

  it("the client IP is CF-Connecting-IP only: X-Real-IP, which any client can send, names no bucket", () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    expect(clientIp(headers({ "x-real-ip": "198.51.100.7" }))).toBe("unknown");
    expect(clientIp(headers({ "cf-connecting-ip": "198.51.100.8", "x-real-ip": "198.51.100.7" }))).toBe("198.51.100.8");
  });
});

describe("a credential's own rate limit", () => {
  it("above the deployment's default needs an admin (403 otherwise, and no key is made)", async () => {
    const { id, opts } = await newMerchant("raise");
    // The suite's defaults: 5000 per second, burst 10000.
    for (const rate_limit of [
      { per_second: 5001, burst: 10 },
      { per_second: 10, burst: 10_001 },
    ]) {
      const error = expectError(await post("/v1/api_keys", { name: "fast", rate_limit }, opts), 403);
      expect(error.message).toContain("Only an admin");
    }
    const merchantToken = await hsToken({ merchant: id });
    expectError(await post("/v1/api_keys", { rate_limit: { per_second: 6000, burst: 10 } }, bearer(merchantToken)), 403);
    const listed = await get<{ data: { name: string | null }[] }>("/v1/api_keys", opts);
    expect(listed.body.data.some((k) => k.name === "fast")).toBe(false);
    // At or below the default: any holder of keys.manage.
    expect((await post("/v1/api_keys", { rate_limit: { per_second: 5000, burst: 10_000 } }, opts)).status).toBe(200);
    const admin = await hsToken({ roles: ["admin"], merchant: null });
    const raised = await post<{ rate_limit: { per_second: number; burst: number } }>(
      "/v1/api_keys",
      { rate_limit: { per_second: 20_000, burst: 40_000 } },
      { ...bearer(admin), headers: { "merchant-id": id } },
    );
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body.rate_limit).toEqual({ per_second: 20_000, burst: 40_000 });
  });
});

describe("rate limiting per client IP", () => {
  it("routes without credentials are limited per client IP", async () => {
    const ip = "203.0.113.77";
    const clock = await frozenClock(`ip:${ip}`);
    const results: CallResult[] = [];
    for (let i = 0; i < 50; i++) results.push(await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": ip } }));
    // The suite's per-IP bucket: 20 per second, burst 40.
    expect(count(results, 400)).toBe(40);
    expect(count(results, 429)).toBe(10);
    expect(results.slice(40).every((r) => r.status === 429 && r.headers.get("retry-after") === "1")).toBe(true);
    // Another IP is unaffected; this one gets a token back after 50 ms.
    expect((await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": "203.0.113.78" } })).status).toBe(400);
    clock.advance(50);
    expect((await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": ip } })).status).toBe(400);
    expect((await call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": ip } })).status).toBe(429);
  }, HEAVY_MS);

  it("seed 004's webhooks answer the IP's 429 in their own error format", async () => {
    const ip = "203.0.113.79";
    await frozenClock(`ip:${ip}`);
    const results: CallResult[] = [];
    for (let i = 0; i < 41; i++) results.push(await call("POST", "/api/v1/payments/webhooks/stripe/", { key: null, body: "{}", headers: { "cf-connecting-ip": ip } }));
    expect(count(results, 400)).toBe(40);
    const limited = results[40];
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get("retry-after")).toBe("1");
    expect(typeof (limited?.body as { error?: unknown }).error).toBe("string");
  }, HEAVY_MS);

  it("an IPv6 client is counted by its /64", async () => {
    await frozenClock("ip:2001:db8:1:2::/64");
    const from = (ip: string) => call("POST", "/v1/psp_webhooks/sandbox", { key: null, body: "{}", headers: { "cf-connecting-ip": ip } });
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) => from(`2001:db8:1:2::${(i + 1).toString(16)}`)));
    expect(count(results, 400)).toBe(40);
    expect(count(results, 429)).toBe(5);
    expect((await from("2001:db8:1:3::1")).status).toBe(400);
  }, HEAVY_MS);
});

describe("failed authentication per client IP", () => {
  it("300 invalid-key guesses from one IP: exactly the burst (100) get 401, the rest 429, and then even a valid key waits", async () => {
    const ip = "198.51.100.23";
    const clock = await frozenClock(authFailureBucket(ip));
    const headers = { "cf-connecting-ip": ip };
    const guess = (i: number) => get("/v1/payment_intents?limit=1", { key: `sk_test_guess${i}x${Math.random().toString(36).slice(2)}`, headers });
    const results: CallResult[] = [];
    for (let round = 0; round < 6; round++) results.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => guess(round * 50 + i)))));
    expect(count(results, 401)).toBe(100);
    expect(count(results, 429)).toBe(200);
    const limited = expectError(results.find((r) => r.status === 429) as CallResult<unknown>, 429, "rate_limit");
    expect(limited.message).toContain("failed authentications");
    // Refused before the key is looked up: a valid key from that IP is refused too, and a bad JWT or
    // a missing credential are counted alike.
    const { key } = await newMerchant("behind-the-guesser");
    expectError(await get("/v1/payment_intents?limit=1", { key, headers }), 429);
    expectError(await get("/v1/payment_intents?limit=1", { key: null, headers }), 429);
    // Another IP is unaffected.
    expect((await get("/v1/payment_intents?limit=1", { key, headers: { "cf-connecting-ip": "198.51.100.24" } })).status).toBe(200);
    // At 60000 per minute (the suite's setting) one failure is allowed again 1 ms later; the valid key passes and costs nothing.
    clock.advance(1);
    expect((await get("/v1/payment_intents?limit=1", { key, headers })).status).toBe(200);
    expect((await get("/v1/payment_intents?limit=1", { key, headers })).status).toBe(200);
    expectError(await get("/v1/payment_intents?limit=1", { key: "sk_test_onemore", headers }), 401);
    expectError(await get("/v1/payment_intents?limit=1", { key: "sk_test_twomore", headers }), 429);
    // 300 requests in rounds of 50: beside the browser tests in .ci/run this took more than 120 s.
  }, 300_000);

  it("over the limit, a credential verified lately (a key, an application's token) and a JWT still get through; a new or wrong one gets the 429, unlooked-up", async () => {
    const ip = "198.51.100.91";
    await frozenClock(authFailureBucket(ip));
    const headers = { "cf-connecting-ip": ip };
    const { key, opts } = await newMerchant("known-behind-a-guesser");
    const app = (await post<{ application_id: string; access_token: string }>("/v1/api_keys", { type: "application", permissions: ["payments.transactions.view"] }, opts)).body;
    const appHeaders = { "x-application-id": app.application_id, "x-access-token": app.access_token };
    const unused = (await post<{ secret: string }>("/v1/api_keys", { type: "secret" }, opts)).body.secret;
    // Verified before, from another address of the same office.
    expect((await get("/v1/payment_intents?limit=1", { key, headers: { "cf-connecting-ip": "198.51.100.92" } })).status).toBe(200);
    expect((await call("GET", "/payments/999999999", { key: null, headers: { ...appHeaders, "cf-connecting-ip": "198.51.100.92" } })).status).toBe(404);
    // Another client behind the same address guesses until it is stopped.
    const guess = (i: number) => get("/v1/payment_intents?limit=1", { key: `sk_test_office${i}x${Math.random().toString(36).slice(2)}`, headers });
    for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: 50 }, (_, i) => guess(round * 50 + i)));
    expectError(await guess(100), 429);
    // Verified lately: again now, from the other address (the isolate keeps a verified key for 60 s of
    // real time, and the guessing above may take longer than that on a busy machine).
    expect((await get("/v1/payment_intents?limit=1", { key, headers: { "cf-connecting-ip": "198.51.100.92" } })).status).toBe(200);
    expect((await call("GET", "/payments/999999999", { key: null, headers: { ...appHeaders, "cf-connecting-ip": "198.51.100.92" } })).status).toBe(404);
    // The known key, the known application and a signed token still work from there.
    expect((await get("/v1/payment_intents?limit=1", { key, headers })).status).toBe(200);
    expect((await call("GET", "/payments/999999999", { key: null, headers: { ...appHeaders, ...headers } })).status).toBe(404);
    expect((await get("/v1/payment_intents?limit=1", { key: await hsToken(), headers })).status).toBe(200);
    // A valid key this isolate never verified is not looked up: 429, as a wrong token, a forged JWT and no credential.
    expectError(await get("/v1/payment_intents?limit=1", { key: unused, headers }), 429);
    expectError(await get("/v1/payment_intents?limit=1", { key: `${await hsToken()}x`, headers }), 429);
    expectError(await get("/v1/payment_intents?limit=1", { key: null, headers }), 429);
    expect((await call("GET", "/payments/999999999", { key: null, headers: { ...appHeaders, "x-access-token": "tok_wrong", ...headers } })).status).toBe(429);
    // That key works from elsewhere, and from then on from there too.
    expect((await get("/v1/payment_intents?limit=1", { key: unused })).status).toBe(200);
    expect((await get("/v1/payment_intents?limit=1", { key: unused, headers })).status).toBe(200);
    // 100 guesses and a dozen checks: beside four other vitest runs (load 8 on 2 cores) this took more than 120 s.
  }, 300_000);

  it("a failed authentication takes exactly one token, however busy its IP was: that bucket is peeked, so it is never leased", async () => {
    const ip = "198.51.100.77";
    const clock = await frozenClock(authFailureBucket(ip));
    const headers = { "cf-connecting-ip": ip };
    const bucket = { rate: 1000, burst: 100 }; // the suite's 60000 per minute, burst 100
    const object = bucketObject(env, authFailureBucket(ip));
    const inObject = () => runInDurableObject(object, (instance) => (instance as RateLimiterObject).peek(bucket).tokens);
    for (let i = 0; i < 20; i++) expectError(await get("/v1/payment_intents?limit=1", { key: `sk_test_wrong${i}`, headers }), 401);
    expect(await inObject()).toBe(80);
    // A window later a leased bucket would ask for the last window's 20 (at most 10): this one takes 1.
    clock.advance(LEASE_TTL_MS);
    expect(await inObject()).toBe(100);
    expectError(await get("/v1/payment_intents?limit=1", { key: "sk_test_wrong_again", headers }), 401);
    expect(await inObject()).toBe(99);
    // 21 requests, each an object round trip: on a loaded machine more than the default 30 s.
  }, HEAVY_MS);
});
