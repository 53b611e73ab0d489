// Credentials for the further API surfaces (seeds 002 and 004) mounted as their own Hono sub-apps:
// the same principals (API keys, JWTs) and rate limits as /v1, checked once per request. Each surface
// renders the errors thrown here in its own format.
import { authenticate } from "../../auth/authenticate";
import { authorize, type Permission, type Principal } from "../../auth/permissions";
import { limit } from "../../auth/rate-limit";
import { config } from "../../env";
import type { Ctx } from "../v1/route";

/** The caller, rate-limited per credential, holding `permission` and acting for one merchant. */
export async function surfacePrincipal(c: Ctx, permission: Permission | null): Promise<Principal> {
  const principal = await authenticate(c.env, { header: (name) => c.req.header(name) }, (p) => c.executionCtx.waitUntil(p));
  const cfg = config(c.env);
  await limit(c.env, `credential:${principal.actor}`, principal.rateLimit ?? { rate: cfg.rateLimitPerKey, burst: cfg.rateLimitBurstPerKey });
  authorize(principal, permission, { needsMerchant: true });
  return principal;
}
