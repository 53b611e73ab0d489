#!/usr/bin/env node
// `npm run token -- --role admin [--merchant acct_...] [--permissions a,b] [--customer cus_...]
//  [--sub someone] [--live] [--expires 3600]`: mints a development JWT (HS256) signed with the
// development secret that `npm run dev` gives the gateway. Never use it for a deployment.
import { SignJWT } from "jose";
import { DEV_JWT_SECRET } from "./dev-secrets.mjs";
import { parseRoles } from "./roles.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] && !args[i + 1].startsWith("--") ? args[i + 1] : fallback;
};
const flag = (name) => args.includes(`--${name}`);

// The gateway refuses tokens that live longer than JWT_MAX_LIFETIME (24 h unless set) or have no exp.
const expires = Number(option("expires", "3600"));
if (!Number.isInteger(expires) || expires < 1 || expires > 86_400) {
  console.error("--expires must be 1 to 86400 seconds: the gateway refuses tokens living longer than JWT_MAX_LIFETIME (24h by default).");
  process.exit(2);
}

const role = option("role", "merchant");
// A token with a role the gateway does not know would be refused (or worse, mean nothing) when used.
const parsed = parseRoles(role);
if (parsed.error) {
  console.error(parsed.error);
  process.exit(2);
}
const roles = parsed.roles;
const merchant = option("merchant", roles.some((r) => r === "admin" || r === "support") ? undefined : "acct_merchant_a");
const permissions = option("permissions", undefined);
const customer = option("customer", undefined);
const claims = {
  roles,
  ...(merchant ? { merchant_id: merchant } : {}),
  ...(permissions ? { permissions: permissions.split(",") } : {}),
  ...(customer ? { customer_id: customer } : {}),
  ...(flag("live") ? { livemode: true } : {}),
};
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(option("sub", `dev-${role}`))
  .setIssuer(process.env.JWT_ISSUER ?? "edge-gateway")
  .setAudience(process.env.JWT_AUDIENCE ?? "edge-gateway-api")
  .setIssuedAt()
  .setExpirationTime(`${expires}s`)
  .sign(new TextEncoder().encode(DEV_JWT_SECRET));
console.log(token);
