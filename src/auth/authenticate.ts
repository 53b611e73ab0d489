// Who is calling: an API key, a JWT, or an application's id and token. Every /v1 route starts here.
// Failed authentications are limited per client IP: an IP over its limit gets a 429 without any
// credential being looked up (a JWT, or a key this isolate verified lately, still passes).
import { ApiError, authenticationFailed, permissionDenied } from "../core/errors";
import { merchantExists } from "../db/merchants";
import { directoryDb } from "../db/shards";
import { config, type Env } from "../env";
import { keyFromHeader, principalFromApplication, principalFromKey } from "./api-keys";
import { authFailuresExhausted, clientIp, countAuthFailure } from "./ip-limit";
import { looksLikeJwt, principalFromJwt } from "./jwt";
import type { Principal } from "./permissions";

export interface AuthRequest {
  header(name: string): string | undefined;
}

export async function authenticate(env: Env, req: AuthRequest, waitUntil: (p: Promise<unknown>) => void): Promise<Principal> {
  return limitFailures(env, req, (lookup) => identify(env, req, waitUntil, lookup));
}

/**
 * How a credential check may verify: `lookup` false allows no lookup of a key or an application's
 * token in D1, only what this isolate verified lately (a JWT's signature needs none).
 */
export interface CredentialCheck {
  lookup: boolean;
}

/**
 * Runs `check` (a credential check that throws a 401 on failure) under the failed-authentication
 * limit of the request's client IP. Surfaces that read credentials of their own use it too.
 *
 * Once the IP has used up its failures, only a credential verified without a lookup gets through: a
 * JWT, or a key this isolate verified lately. The limit stops guessing, and a credential already known
 * to be valid is no guess: behind one address (an office's NAT, a test suite) a client that keeps
 * failing does not lock out the others. Anything else gets the 429, without a lookup and uncounted.
 */
export async function limitFailures<T>(env: Env, req: AuthRequest, check: (mode: CredentialCheck) => Promise<T>): Promise<T> {
  const ip = clientIp((name) => req.header(name));
  const exhausted = await authFailuresExhausted(env, ip);
  if (exhausted) {
    try {
      return await check({ lookup: false });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw exhausted;
      throw err;
    }
  }
  try {
    return await check({ lookup: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) await countAuthFailure(env, ip);
    throw err;
  }
}

/**
 * A JWT names its merchant (its claim, or an admin's Merchant-Id header) without the gateway having
 * issued it: a merchant that does not exist is refused before anything is written for it. (A key
 * belongs to its merchant already.)
 */
export async function knownMerchant(env: Env, principal: Principal): Promise<Principal> {
  if (principal.merchantId === "" || (await merchantExists(directoryDb(env), principal.merchantId))) return principal;
  throw permissionDenied(`No such merchant: '${principal.merchantId.slice(0, 100)}' (or this token may not act for it).`);
}

/**
 * A key or an application belongs to its merchant: a Merchant-Id naming another is refused (403), as a
 * token's is, rather than ignored (the request would have acted for the key's merchant all the same).
 */
function ownMerchantOnly(req: AuthRequest, principal: Principal): Principal {
  const named = req.header("merchant-id");
  if (named !== undefined && named !== principal.merchantId) {
    throw permissionDenied(`This credential acts only for its own merchant (${principal.merchantId}), not for the Merchant-Id given.`);
  }
  return principal;
}

async function identify(env: Env, req: AuthRequest, waitUntil: (p: Promise<unknown>) => void, mode: CredentialCheck): Promise<Principal> {
  const authorization = req.header("authorization");
  const token = keyFromHeader(authorization);
  if (token) {
    if (looksLikeJwt(token)) return knownMerchant(env, await principalFromJwt(token, config(env), req.header("merchant-id") ?? req.header("stripe-account") ?? null));
    return ownMerchantOnly(req, await principalFromKey(env.DB, token, waitUntil, mode));
  }
  const appId = req.header("x-application-id");
  const accessToken = req.header("x-access-token");
  if (appId !== undefined || accessToken !== undefined) {
    if (!appId || !accessToken) {
      throw new ApiError({
        status: 400,
        type: "invalid_request_error",
        code: "parameter_missing",
        message: "Send both X-Application-Id and X-Access-Token.",
      });
    }
    return ownMerchantOnly(req, await principalFromApplication(env.DB, appId, accessToken, waitUntil, mode));
  }
  throw authenticationFailed(
    authorization
      ? "Invalid Authorization header. Use Bearer auth with a secret key (sk_...), a restricted key (rk_...) or a JWT."
      : "You did not provide an API key. Provide your secret key in the Authorization header, using Bearer auth (Authorization: Bearer sk_test_...).",
  );
}
