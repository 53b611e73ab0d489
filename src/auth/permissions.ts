// Roles, permissions, and the one check every route goes through. The table of route to permission
// is documented in the README ("Access control").
import { ApiError, permissionDenied } from "../core/errors";
import type { Scope } from "../core/types";
import { noteRequest } from "../log";

export const PERMISSIONS = [
  "payments.transactions.create",
  "payments.transactions.void",
  "payments.transactions.view",
  "payments.methods.manage",
  "payments.methods.view",
  "billing.manage",
  "billing.view",
  "refunds.approve",
  "webhooks.manage",
  "keys.manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["admin", "support", "merchant", "customer"] as const;
export type Role = (typeof ROLES)[number];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** What each role may do when a token names no permissions of its own. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  merchant: PERMISSIONS,
  support: ["payments.transactions.view", "payments.methods.view", "billing.view"],
  customer: ["payments.transactions.create", "payments.transactions.view", "payments.methods.view"],
};

export interface Principal extends Scope {
  kind: "api_key" | "jwt" | "application";
  /** Who, for the audit log: api_key:key_..., jwt:<sub>, application:<app id>. */
  actor: string;
  keyId: string | null;
  roles: readonly Role[];
  permissions: ReadonlySet<Permission>;
  /** A customer's token sees only this customer's payments. */
  customerId: string | null;
  /** Admin and support act across merchants (choosing one with the Merchant-Id header). */
  crossMerchant: boolean;
  /** This credential's own rate limit (requests per second, burst), if it has one. */
  rateLimit: { rate: number; burst: number } | null;
}

/** A credential's permissions: its roles' own, narrowed (never widened) by the permissions it names. */
export function permissionsFor(roles: readonly Role[], explicit: readonly Permission[] | null): Set<Permission> {
  const ofRoles = new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));
  if (!explicit) return ofRoles;
  return new Set(explicit.filter((p) => ofRoles.has(p)));
}

/** Whether the credential holds every permission there is (what a secret key holds). */
export function holdsEveryPermission(principal: Pick<Principal, "permissions">): boolean {
  return PERMISSIONS.every((p) => principal.permissions.has(p));
}

export function hasRole(principal: Principal, ...roles: Role[]): boolean {
  return principal.roles.some((r) => roles.includes(r));
}

/** The check of every route: the permission, and for merchant routes a merchant to act for. */
export function authorize(principal: Principal, permission: Permission | null, options: { needsMerchant: boolean }): void {
  noteRequest({ merchant: principal.merchantId, actor: principal.actor });
  if (permission && !principal.permissions.has(permission)) {
    throw permissionDenied(`This ${principal.kind === "jwt" ? "token" : "key"} does not have the permission '${permission}'.`);
  }
  if (options.needsMerchant && !principal.merchantId) {
    throw new ApiError({
      status: 400,
      type: "invalid_request_error",
      code: "merchant_required",
      message: "This token acts across merchants: choose one with the Merchant-Id header.",
    });
  }
}

export function requireRoles(principal: Principal, roles: Role[], what: string): void {
  if (!hasRole(principal, ...roles)) throw permissionDenied(`Only ${roles.join(" or ")} users may ${what}.`);
}
