// The ids a /v1 list's filters name (`customer=`, `payment_intent=`, `charge=`, `price=`...). As at
// Stripe, each must be an object of the caller's merchant and mode: an unknown one, or another
// merchant's (the same answer), is a 400 `resource_missing` naming the parameter ("No such customer:
// 'cus_nope'"; resourceMissing's 404 becomes the 400 in src/api/v1/errors.ts, the id being no path's).
// A deleted customer is still known (GET /v1/customers/{id} answers it `{deleted: true}`), so a list
// by it is listed. Each check is one lookup by primary key (src/db/owned.ts), on the database the
// list reads (c.env.DB, the merchant's shard).
import { resourceMissing } from "../../core/errors";
import { hasPrefix, intentIdForCharge } from "../../core/ids";
import { renderChargeById } from "../../core/objects";
import type { Scope } from "../../core/types";
import { ownsId, scopedIntent } from "../../db/owned";
import { listable, type Listable } from "../../db/queries";
import { customers, paymentIntents, paymentMethods, prices, products, subscriptions, testClocks } from "../../db/schema";

/** The objects a filter may name that are rows of their own: their id's prefix and their table. */
const ROWS = {
  customer: { prefix: "cus", table: listable(customers, "customer") },
  payment_intent: { prefix: "pi", table: listable(paymentIntents, "payment_intent") },
  payment_method: { prefix: "pm", table: listable(paymentMethods, "payment_method") },
  price: { prefix: "price", table: listable(prices, "price") },
  product: { prefix: "prod", table: listable(products, "product") },
  subscription: { prefix: "sub", table: listable(subscriptions, "subscription") },
  test_clock: { prefix: "clock", table: listable(testClocks, "test_clock") },
} satisfies Record<string, { prefix: string; table: Listable }>;

/** What a filter names: a row of its own, or a charge (found through its intent, as GET /v1/charges/{id} finds it). */
export type FilterObject = keyof typeof ROWS | "charge";

/**
 * One filter of a list: the object it names, its id, its parameter (the object's name unless given).
 * Undefined: the list does not filter on it, nothing to check (a list that takes `customer=` for no
 * filter passes undefined for ""; one that filters on "" has it checked: no such object).
 */
export interface FilterId {
  object: FilterObject;
  id: string | undefined;
  param?: string;
  /**
   * An id without the object's prefix is another surface's own reference, not an object of ours
   * (an intent's `customer` may be seed 000's integer or the POS API's userId): listed as given, not
   * checked. An id with the prefix (`cus_...`) is checked all the same.
   */
  opaque?: boolean;
}

/** Whether `id` is the merchant's `object` in this mode. An id without the object's prefix is none (no statement). */
async function known(d1: D1Database, scope: Scope, object: FilterObject, id: string, opaque = false): Promise<boolean> {
  if (object === "charge") {
    // ch_X is pi_X's charge, ch_X<attempt> one of its declined ones: the intent's row, then the charge rendered from it.
    if (!hasPrefix(id, "ch")) return false;
    const intent = await scopedIntent(d1, scope, intentIdForCharge(id));
    return intent !== null && renderChargeById(intent, id) !== null;
  }
  const { prefix, table } = ROWS[object];
  if (!hasPrefix(id, prefix)) return opaque && !id.startsWith(`${prefix}_`);
  return ownsId(d1, table, scope, id);
}

/**
 * Checks the ids a list's filters name, all at once (one round trip); the first missing one in
 * `filters`' order is the error, a 404 resource_missing naming its parameter that /v1 answers as a 400.
 */
export async function checkFilterIds(d1: D1Database, scope: Scope, filters: readonly FilterId[]): Promise<void> {
  const named = filters.filter((f): f is FilterId & { id: string } => f.id !== undefined);
  if (named.length === 0) return;
  const found = await Promise.all(named.map((f) => known(d1, scope, f.object, f.id, f.opaque)));
  const missing = named.find((_, i) => !found[i]);
  if (missing) throw resourceMissing(missing.object, missing.id.slice(0, 80), missing.param ?? missing.object);
}

/**
 * A list's page, read alongside the checks of its filters' ids (independent reads: they go to D1
 * together). The checks decide first: a missing filter's 400 wins over whatever the page answered
 * (a missing cursor's, say), and no page is answered for a filter that names nothing.
 */
export async function checkedList<T>(d1: D1Database, scope: Scope, filters: readonly FilterId[], list: () => Promise<T>): Promise<T> {
  if (filters.every((f) => f.id === undefined)) return list();
  const checked = checkFilterIds(d1, scope, filters);
  const listed = Promise.resolve().then(list);
  listed.catch(() => undefined); // its error is raised below, after the checks'
  await checked;
  return listed;
}
