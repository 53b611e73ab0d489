// Credentials for the further API surfaces (seeds 002 and 004) mounted as their own Hono sub-apps:
// the same principals (API keys, JWTs) and rate limits as /v1, checked once per request. Each surface
// renders the errors thrown here in its own format.
import { authenticate } from "../../auth/authenticate";
import { authorize, type Permission, type Principal } from "../../auth/permissions";
import { limitCredential } from "../../auth/rate-limit";
import { merchantEnv } from "../../db/shards";
import type { Ctx } from "../v1/route";

/** The caller, rate-limited per credential, holding `permission` and acting for one merchant. */
export async function surfacePrincipal(c: Ctx, permission: Permission | null): Promise<Principal> {
  const principal = await authenticate(c.env, { header: (name) => c.req.header(name) }, (p) => c.executionCtx.waitUntil(p));
  await limitCredential(c.env, principal);
  authorize(principal, permission, { needsMerchant: true });
  useMerchantShard(c, principal);
  return principal;
}

/**
 * After authentication the request's env is the merchant's: its DB is the shard holding the
 * merchant's rows (src/db/shards.ts). Directory tables are reached through directoryDb(c.env). A
 * caller acting across merchants (admin or support without Merchant-Id) keeps the directory's env and
 * fans its reads out. Without D1_SHARDS the env is unchanged.
 */
export function useMerchantShard(c: Ctx, principal: Principal): void {
  if (principal.merchantId) c.env = merchantEnv(c.env, principal.merchantId);
}
