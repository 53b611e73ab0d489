// The request a piece of work runs for, as its events name it (Stripe's event.request: the request id
// and its Idempotency-Key). The intents' objects are handed both; billing's writes (customers,
// products, prices, subscriptions, invoices...) take only the request id, and find the key here, while
// they run within that request.
import { AsyncLocalStorage } from "node:async_hooks";

interface RequestIdentity {
  requestId: string;
  idempotencyKey: string | null;
}

const current = new AsyncLocalStorage<RequestIdentity>();

/** Runs `fn` (the rest of a request) as the request `identity` names. */
export function withRequestIdentity<T>(identity: RequestIdentity, fn: () => Promise<T>): Promise<T> {
  return current.run(identity, fn);
}

/** The Idempotency-Key of the request `requestId`, when the caller runs within it (null otherwise: a sweep, a queue). */
export function idempotencyKeyOf(requestId: string | null | undefined): string | null {
  const identity = current.getStore();
  return requestId && identity?.requestId === requestId ? identity.idempotencyKey : null;
}
