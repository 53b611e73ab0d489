#!/usr/bin/env node
// `npm run token -- --role admin [--merchant acct_...] [--permissions a,b] [--customer cus_...]
//  [--sub someone] [--live] [--expires 3600]`: mints a development JWT (HS256) signed with the
// development secret that `npm run dev` gives the gateway. Never use it for a deployment. Options are
// parsed by node's util.parseArgs, strictly: --help prints the usage, an unknown option is an error.
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { jwtIssuerAudience, jwtMaxLifetime, operatorName } from "./cli-shared.mjs";
import { DEV_JWT_SECRET } from "./dev-secrets.mjs";
import { parseRoles, ROLES } from "./roles.mjs";

const USAGE = [
  `usage: npm run token -- [--role ${ROLES.join("|")}[,...]] [--merchant acct_id] [--permissions a,b] [--customer cus_id]`,
  "                        [--sub NAME] [--live] [--expires SECONDS]",
  "Prints a development JWT (HS256, the development secret of `npm run dev`): never for a deployment,",
  "whose tokens `npm run cli -- token --secret \"$JWT_SECRET\" --sub NAME` mints.",
  "  --role      the token's roles (default merchant)",
  "  --merchant  its merchant_id (default acct_merchant_a, none for admin and support)",
  "  --sub       its subject: who the audit log says acted (default GATEWAY_OPERATOR, else dev-<role>)",
  "  --expires   its lifetime in seconds, 1 to the gateway's JWT_MAX_LIFETIME (the environment's, else wrangler.toml's, else 24h; default 3600, or JWT_MAX_LIFETIME when shorter)",
  "  -h, --help  this text",
].join("\n");

// Strict: an unknown option or a missing value is an error (exit 2), never a token minted without it.
let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      role: { type: "string", default: "merchant" },
      merchant: { type: "string" },
      permissions: { type: "string" },
      customer: { type: "string" },
      sub: { type: "string" },
      live: { type: "boolean", default: false },
      expires: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// The gateway refuses tokens that live longer than JWT_MAX_LIFETIME (24 h unless set) or have no exp.
const max = jwtMaxLifetime();
if (max.error) {
  console.error(max.error);
  process.exit(2);
}
// By default an hour, or JWT_MAX_LIFETIME when that is shorter.
const given = values.expires ?? String(Math.min(3600, max.seconds));
const expires = Number(given);
if (!/^\d+$/.test(given) || expires < 1 || expires > max.seconds) {
  console.error(`--expires must be 1 to ${max.seconds} seconds: the gateway refuses tokens living longer than ${max.setting}.`);
  process.exit(2);
}

const role = values.role;
// A token with a role the gateway does not know would be refused (or worse, mean nothing) when used.
const parsed = parseRoles(role);
if (parsed.error) {
  console.error(parsed.error);
  process.exit(2);
}
const roles = parsed.roles;
const merchant = values.merchant ?? (roles.some((r) => r === "admin" || r === "support") ? undefined : "acct_merchant_a");
const { permissions, customer } = values;
const operator = operatorName(values.sub);
if (operator.error) {
  console.error(operator.error);
  process.exit(2);
}
const claims = {
  roles,
  ...(merchant ? { merchant_id: merchant } : {}),
  ...(permissions ? { permissions: permissions.split(",") } : {}),
  ...(customer ? { customer_id: customer } : {}),
  ...(values.live ? { livemode: true } : {}),
};
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(operator.name ?? `dev-${role}`)
  .setIssuer(jwtIssuerAudience().issuer)
  .setAudience(jwtIssuerAudience().audience)
  .setIssuedAt()
  .setExpirationTime(`${expires}s`)
  .sign(new TextEncoder().encode(DEV_JWT_SECRET));
console.log(token);
