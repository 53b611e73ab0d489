// Who may see an event's object: reading an event, and sending it anywhere (a re-send of an event, a
// retry or replay of its deliveries, to an endpoint whose URL the caller may have just changed), needs
// what reading that object needs.
import type { Permission, Principal } from "../../auth/permissions";

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
