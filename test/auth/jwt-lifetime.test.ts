// Every JWT must expire: no `exp` is a 401, a lifetime above JWT_MAX_LIFETIME (24 h by default; iat
// to exp, or now to exp without iat) is a 401, and an `iat` or `nbf` in the future beyond the 30 s
// clock skew is a 401. Each 401 says which rule the token broke.
import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { checkTimeClaims } from "../../src/auth/jwt";
import { config, type Env } from "../../src/env";
import { bearer, expectError, get, MERCHANT_A } from "../helpers";

const HOUR = 3600;
const JWT_TEST_SECRET = "test-jwt-secret-for-the-suite-only";

type Times = {
  iat?: number;
  exp?: number;
  nbf?: number;
};

/** A merchant token with exactly the time claims given (seconds relative to now; absent: not set). */
async function hsToken(times: Times): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ roles: ["merchant"], merchant_id: MERCHANT_A }).setProtectedHeader({ alg: "HS256" }).setSubject("lifetime").setIssuer("edge-gateway").setAudience("edge-gateway-api");
  if (times.iat !== undefined) jwt.setIssuedAt(now + times.iat);
  if (times.exp !== undefined) jwt.setExpirationTime(now + times.exp);
  if (times.nbf !== undefined) jwt.setNotBefore(now + times.nbf);
  return jwt.sign(new TextEncoder().encode(JWT_TEST_SECRET));
}

async function rsToken(times: Times): Promise<string> {
  const key = await importJWK(JSON.parse(env.JWKS_PRIVATE_KEY) as JsonWebKey, "RS256");
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ roles: ["merchant"], merchant_id: MERCHANT_A }).setProtectedHeader({ alg: "RS256", kid: "test-key-1" }).setIssuer("edge-gateway").setAudience("edge-gateway-api");
  if (times.iat !== undefined) jwt.setIssuedAt(now + times.iat);
  if (times.exp !== undefined) jwt.setExpirationTime(now + times.exp);
  return jwt.sign(key);
}

async function answer(token: string) {
  return get("/v1/payment_intents?limit=1", bearer(token));
}

describe("JWT lifetime", () => {
  it("a token without exp is a 401, HS256 or RS256", async () => {
    for (const token of [await hsToken({ iat: 0 }), await hsToken({}), await rsToken({ iat: 0 })]) {
      expect(expectError(await answer(token), 401).message).toContain("no exp claim");
    }
  });

  it("a lifetime above 24 hours is a 401; up to 24 hours is accepted", async () => {
    expect(expectError(await answer(await hsToken({ iat: 0, exp: 25 * HOUR })), 401).message).toMatch(/lives longer than the 86400 seconds allowed \(iat to exp\)/);
    expect(expectError(await answer(await hsToken({ exp: 25 * HOUR })), 401).message).toMatch(/lives longer than the 86400 seconds allowed \(now to exp\)/);
    // Issued long ago and still valid: the lifetime counts from iat.
    expectError(await answer(await hsToken({ iat: -30 * HOUR, exp: HOUR })), 401);
    expectError(await answer(await rsToken({ iat: 0, exp: 30 * 24 * HOUR })), 401);
    expect((await answer(await hsToken({ iat: 0, exp: 24 * HOUR }))).status).toBe(200);
    expect((await answer(await hsToken({ exp: 23 * HOUR }))).status).toBe(200);
    expect((await answer(await rsToken({ iat: -HOUR, exp: HOUR }))).status).toBe(200);
  });

  it("iat or nbf in the future beyond the clock skew is a 401; within it, accepted", async () => {
    expect(expectError(await answer(await hsToken({ iat: HOUR, exp: 2 * HOUR })), 401).message).toContain("iat claim is in the future");
    expect(expectError(await answer(await hsToken({ iat: 120, exp: HOUR })), 401).message).toContain("iat claim is in the future");
    expect(expectError(await answer(await hsToken({ iat: 0, nbf: 600, exp: HOUR })), 401).message).toContain("not valid yet");
    expect((await answer(await hsToken({ iat: 5, nbf: 5, exp: HOUR }))).status).toBe(200);
  });

  it("the rules, against an injected clock", () => {
    const now = 1_900_000_000;
    const ok = (claims: Times) => () => checkTimeClaims(claims, 86_400, now);
    expect(ok({ iat: now, exp: now + 86_400 })).not.toThrow();
    expect(ok({ iat: now, exp: now + 86_401 })).toThrow(/lives longer/);
    expect(ok({ exp: now + 86_400 + 30 })).not.toThrow();
    expect(ok({ exp: now + 86_400 + 31 })).toThrow(/now to exp/);
    expect(ok({ iat: now + 30, exp: now + 60 })).not.toThrow();
    expect(ok({ iat: now + 31, exp: now + 60 })).toThrow(/iat claim is in the future/);
    expect(ok({ nbf: now + 31, exp: now + 60 })).toThrow(/not valid yet/);
    expect(ok({ iat: now })).toThrow(/no exp claim/);
  });

  it("JWT_MAX_LIFETIME sets the maximum", () => {
    const withMax = (value: string | undefined) => config({ ...env, JWT_MAX_LIFETIME: value } as Env).jwtMaxLifetimeS;
    expect(withMax(undefined)).toBe(86_400);
    expect(withMax("1h")).toBe(3600);
    expect(withMax("90m")).toBe(5400);
    expect(() => withMax("forever")).toThrow(/JWT_MAX_LIFETIME/);
    expect(() => withMax("1h,2h")).toThrow(/JWT_MAX_LIFETIME/);
    expect(() => withMax("60d")).toThrow(/JWT_MAX_LIFETIME/);
  });
});
