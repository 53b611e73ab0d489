// The gateway's roles, for the scripts that mint tokens (scripts/cli.mjs `token`, scripts/token.mjs).
// Plain JS, so it cannot import src/auth/permissions.ts: test/e2e/cli.e2e.test.ts checks this list
// against its ROLES.
export const ROLES = ["admin", "support", "merchant", "customer"];

/** `--role a,b` as a list of roles, or an error message naming the unknown ones and the gateway's roles. */
export function parseRoles(role) {
  const roles = String(role)
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !ROLES.includes(r));
  if (roles.length === 0) return { error: `--role needs a role: one (or several, comma-separated) of ${ROLES.join(", ")}` };
  if (unknown.length > 0) {
    return { error: `unknown role${unknown.length > 1 ? "s" : ""} ${unknown.map((r) => `'${r}'`).join(", ")}: the gateway's roles are ${ROLES.join(", ")} (comma-separate several, e.g. --role admin,support)` };
  }
  return { roles };
}
