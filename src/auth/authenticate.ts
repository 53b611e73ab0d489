// Who is calling: an API key, a JWT, or an application's id and token. Every /v1 route starts here.
// Failed authentications are limited per client IP: an IP over its limit gets a 429 before any
// credential is looked up.
import { ApiError, authenticationFailed, permissionDenied } from "../core/errors";
import { merchantExists } from "../db/merchants";
import { directoryDb } from "../db/shards";
import { config, type Env } from "../env";
import { keyFromHeader, principalFromApplication, principalFromKey } from "./api-keys";
import { assertAuthAllowed, clientIp, countAuthFailure } from "./ip-limit";
import { looksLikeJwt, principalFromJwt } from "./jwt";
import type { Principal } from "./permissions";

export interface AuthRequest {
  header(name: string): string | undefined;
}

export async function authenticate(env: Env, req: AuthRequest, waitUntil: (p: Promise<unknown>) => void): Promise<Principal> {
  return limitFailures(env, req, () => identify(env, req, waitUntil));
}

/**
 * Runs `check` (a credential check that throws a 401 on failure) under the failed-authentication
 * limit of the request's client IP. Surfaces that read credentials of their own use it too.
 */
export async function limitFailures<T>(env: Env, req: AuthRequest, check: () => Promise<T>): Promise<T> {
  const ip = clientIp((name) => req.header(name));
  await assertAuthAllowed(env, ip);
  try {
    return await check();
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

async function identify(env: Env, req: AuthRequest, waitUntil: (p: Promise<unknown>) => void): Promise<Principal> {
  const authorization = req.header("authorization");
  const token = keyFromHeader(authorization);
  if (token) {
    if (looksLikeJwt(token)) return knownMerchant(env, await principalFromJwt(token, config(env), req.header("merchant-id") ?? req.header("stripe-account") ?? null));
    return principalFromKey(env.DB, token, waitUntil);
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
    return principalFromApplication(env.DB, appId, accessToken, waitUntil);
  }
  throw authenticationFailed(
    authorization
      ? "Invalid Authorization header. Use Bearer auth with a secret key (sk_...), a restricted key (rk_...) or a JWT."
      : "You did not provide an API key. Provide your secret key in the Authorization header, using Bearer auth (Authorization: Bearer sk_test_...).",
  );
}
