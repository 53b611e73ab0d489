// JWTs (jose): HS256 with a shared secret (development, or a trusted issuer), or RS256/ES256 keys
// from a JWKS URL of an external identity provider (fetched and cached by jose). The algorithm is
// chosen from an allow-list per key source, never from the token alone: `none` is never accepted,
// and an HS256 token is checked only against the HMAC secret, so a public key cannot be used as one.
// Issuer, audience, expiry and not-before are checked with a small clock skew. Every token must
// expire (`exp`), live at most JWT_MAX_LIFETIME (iat to exp, or now to exp without iat), and not be
// issued or valid from a time in the future beyond that skew.
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import { authenticationFailed, permissionDenied } from "../core/errors";
import type { Config } from "../env";
import { isPermission, permissionsFor, ROLES, type Permission, type Principal, type Role } from "./permissions";

export const CLOCK_SKEW_S = 30;
const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
const secrets = new Map<string, Uint8Array>();

export function looksLikeJwt(token: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);
}

interface GatewayClaims extends JWTPayload {
  merchant_id?: unknown;
  roles?: unknown;
  role?: unknown;
  [ROLE_CLAIM_URI]?: unknown;
  permissions?: unknown;
  livemode?: unknown;
  customer_id?: unknown;
}

/** The role claim of tokens issued by ASP.NET's identity stack (seed 000's clients), as `role` is elsewhere. */
const ROLE_CLAIM_URI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

/**
 * The gateway's roles a token names: in `roles`, `role` or ASP.NET's role claim, each a string or a
 * list, in any case ("Admin" is admin: seed 000 names its roles so). Names that are not roles are ignored.
 */
export function rolesOf(claims: GatewayClaims): Role[] {
  const named = [claims.roles, claims.role, claims[ROLE_CLAIM_URI]].flatMap((value) => (Array.isArray(value) ? (value as unknown[]) : [value]));
  const roles = new Set<Role>();
  for (const name of named) {
    const role = typeof name === "string" ? name.trim().toLowerCase() : "";
    if ((ROLES as readonly string[]).includes(role)) roles.add(role as Role);
  }
  return [...roles];
}

/** The actor of a token whose `sub` names no one (none, or only blanks and invisible characters). */
export const ANONYMOUS_JWT_ACTOR = "jwt:anonymous";

/**
 * Who a token acts as, for the audit log and the four-eyes rule: `jwt:<sub>`, or ANONYMOUS_JWT_ACTOR
 * when its `sub` is missing or blank. A blank `sub` ("", "  ", a zero-width space) once made the actor
 * `jwt:` (or `jwt:  `), another name than a token without `sub`: two tokens naming no one then passed
 * for two people, one approving the other's refund.
 */
export function actorOf(sub: unknown): string {
  const text = sub === undefined || sub === null ? "" : String(sub).slice(0, 100);
  return text.normalize("NFKC").replace(/[\s\p{Cf}]/gu, "") === "" ? ANONYMOUS_JWT_ACTOR : `jwt:${text}`;
}

/** Whether a principal is a token naming a person (a `sub` that is not blank): only such may approve. */
export function namesPerson(principal: Pick<Principal, "kind" | "actor">): boolean {
  return principal.kind === "jwt" && principal.actor !== ANONYMOUS_JWT_ACTOR;
}

/** The lifetime and time-claim rules jose does not apply by itself (it checks exp and nbf in the past). */
export function checkTimeClaims(claims: JWTPayload, maxLifetimeS: number, nowS: number): void {
  const { exp, iat, nbf } = claims;
  if (typeof exp !== "number") throw authenticationFailed("Invalid token: it has no exp claim; every token must expire.");
  if (iat !== undefined && (typeof iat !== "number" || iat > nowS + CLOCK_SKEW_S)) {
    throw authenticationFailed("Invalid token: its iat claim is in the future.");
  }
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > nowS + CLOCK_SKEW_S)) {
    throw authenticationFailed("Invalid token: it is not valid yet (nbf is in the future).");
  }
  const lifetime = typeof iat === "number" ? exp - iat : exp - nowS - CLOCK_SKEW_S;
  if (lifetime > maxLifetimeS) {
    throw authenticationFailed(
      `Invalid token: it lives longer than the ${maxLifetimeS} seconds allowed (${typeof iat === "number" ? "iat to exp" : "now to exp"}). Issue tokens that expire sooner.`,
    );
  }
}

function failureReason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "it has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "exp" && err.reason === "missing") return "it has no exp claim; every token must expire";
    if (err.claim === "nbf") return "it is not valid yet (nbf is in the future)";
    return `its ${err.claim} claim is not valid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  return "it could not be verified";
}

async function verify(token: string, cfg: Config): Promise<GatewayClaims> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw authenticationFailed("Invalid token: its header cannot be read.");
  }
  const options = { issuer: cfg.jwtIssuer, audience: cfg.jwtAudience, clockTolerance: CLOCK_SKEW_S, requiredClaims: ["exp"] };
  let claims: GatewayClaims | null = null;
  try {
    if (alg === "HS256" && cfg.jwtSecret) {
      let key = secrets.get(cfg.jwtSecret);
      if (!key) secrets.set(cfg.jwtSecret, (key = new TextEncoder().encode(cfg.jwtSecret)));
      claims = (await jwtVerify<GatewayClaims>(token, key, { ...options, algorithms: ["HS256"] })).payload;
    }
    if ((alg === "RS256" || alg === "ES256") && cfg.jwtJwksUrl) {
      let set = remoteSets.get(cfg.jwtJwksUrl);
      if (!set) remoteSets.set(cfg.jwtJwksUrl, (set = createRemoteJWKSet(new URL(cfg.jwtJwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 })));
      claims = (await jwtVerify<GatewayClaims>(token, set, { ...options, algorithms: ["RS256", "ES256"] })).payload;
    }
  } catch (err) {
    throw authenticationFailed(`Invalid token: ${failureReason(err)}.`);
  }
  if (claims) {
    checkTimeClaims(claims, cfg.jwtMaxLifetimeS, Math.floor(Date.now() / 1000));
    return claims;
  }
  throw authenticationFailed(`Invalid token: the algorithm '${String(alg).slice(0, 16)}' is not accepted.`);
}

/**
 * The principal of a verified token. `merchantHeader` picks the merchant for admin and support.
 * `rolelessAsCustomer`: a surface whose writes are open to any authenticated user (seed 000's create,
 * confirm and cancel) takes a token naming no role of the gateway, but a merchant, as that merchant's
 * customer: its `customer_id`, else its subject; it then pays and reads only for itself.
 */
export async function principalFromJwt(token: string, cfg: Config, merchantHeader: string | null, options: { rolelessAsCustomer?: boolean } = {}): Promise<Principal> {
  const claims = await verify(token, cfg);
  let named = rolesOf(claims);
  let customerClaim = typeof claims.customer_id === "string" ? claims.customer_id : null;
  if (named.length === 0 && options.rolelessAsCustomer && typeof claims.merchant_id === "string" && claims.merchant_id !== "") {
    const subject = typeof claims.sub === "string" && claims.sub.trim() !== "" ? claims.sub.slice(0, 100) : null;
    customerClaim = customerClaim ?? subject;
    if (customerClaim) named = ["customer"];
  }
  // A valid token that grants no role is authenticated but may do nothing: 403, as seed 000 says.
  if (named.length === 0) throw permissionDenied(`This token names no role of the gateway (${ROLES.join(", ")}): it may do nothing here.`);
  // Support reads across merchants and writes nothing. Beside a role that writes for one merchant
  // (merchant, customer) it is dropped: the token acts as that role, for its own merchant only (the
  // two together wrote across merchants, and a shopper's token lost its customer limit).
  const roles = named.includes("support") && !named.includes("admin") && (named.includes("merchant") || named.includes("customer")) ? named.filter((r) => r !== "support") : named;
  const explicit = Array.isArray(claims.permissions) ? claims.permissions.filter((p): p is Permission => typeof p === "string" && isPermission(p)) : null;
  const crossMerchant = roles.includes("admin") || roles.includes("support");
  const claimed = typeof claims.merchant_id === "string" ? claims.merchant_id : null;
  const merchantId = crossMerchant ? (merchantHeader ?? claimed) : claimed;
  if (!crossMerchant && !merchantId) throw authenticationFailed("Invalid token: it names no merchant_id.");
  // Authenticated (the signature holds), but not for that merchant: 403, not counted as a failed sign-in
  // (operators behind one address naming the wrong merchant would lock each other out).
  if (!crossMerchant && merchantHeader && merchantHeader !== merchantId) throw permissionDenied(`This token acts only for its own merchant (${merchantId}), not for the Merchant-Id given.`);
  const customerId = roles.includes("customer") && !crossMerchant && !roles.includes("merchant") ? customerClaim : null;
  if (roles.includes("customer") && !crossMerchant && !roles.includes("merchant") && !customerId) throw authenticationFailed("Invalid token: a customer token needs customer_id.");
  return {
    kind: "jwt",
    actor: actorOf(claims.sub),
    keyId: null,
    merchantId: merchantId ?? "",
    livemode: claims.livemode === true,
    roles,
    permissions: permissionsFor(roles, explicit),
    customerId,
    crossMerchant,
    rateLimit: null,
  };
}
