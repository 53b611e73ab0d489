// Who may see an event's object: reading an event, and sending it anywhere (a re-send of an event, a
// retry or replay of its deliveries, to an endpoint whose URL the caller may have just changed, or
// every such event to come, through an endpoint it subscribes), needs what reading that object needs.
import type { Permission, Principal } from "../../auth/permissions";
import { permissionDenied } from "../../core/errors";

/**
 * An event shows its object whole, so reading it needs what reading that object needs: a customer's
 * or a card's events need payments.methods.view, billing's (subscriptions, invoices, products,
 * prices) billing.view, beside the events' own payments.transactions.view. A restricted key that may
 * not list customers does not read them through customer.created either.
 */
function eventPermission(type: string): Permission | null {
  if (/^(customer\.subscription|invoice|invoiceitem|product|price|plan|subscription_schedule|test_helpers)\./.test(type)) return "billing.view";
  if (/^(customer|payment_method|setup_intent)\./.test(type)) return "payments.methods.view";
  return null;
}

export function mayReadEvent(principal: Principal, type: string): boolean {
  const needed = eventPermission(type);
  return needed === null || principal.permissions.has(needed);
}

/** Whether GET /v1/events/{id} would show the principal this event (its route's permission, and the event's own). */
export function mayGetEvent(principal: Principal, type: string): boolean {
  return principal.permissions.has("payments.transactions.view") && mayReadEvent(principal, type);
}

/** What receiving every event ('*') needs: every permission an event's object may need. */
const EVERY_EVENT: readonly Permission[] = ["payments.transactions.view", "payments.methods.view", "billing.view"];

/**
 * An endpoint receives each event it subscribes whole, with no one asking: subscribing one (creating
 * an endpoint, or pointing one at another URL) needs what reading those events needs, as sending one
 * by hand does. A webhooks.manage key that may not read customers cannot have customer.created sent to
 * a URL of its own. Throws Stripe's 403 naming the first permission missing.
 */
export function assertMaySubscribe(principal: Principal, types: readonly string[]): void {
  for (const type of types) {
    const needed = type === "*" ? EVERY_EVENT : (["payments.transactions.view", eventPermission(type)].filter((p): p is Permission => p !== null) as Permission[]);
    const missing = needed.find((p) => !principal.permissions.has(p));
    if (missing) {
      const what = type === "*" ? "every event ('*')" : `'${type}' events`;
      throw permissionDenied(
        `This ${principal.kind === "jwt" ? "token" : "key"} may not subscribe an endpoint to ${what}: an endpoint receives each event's object whole, and reading it needs the permission '${missing}'.`,
      );
    }
  }
}
