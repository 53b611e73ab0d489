// Saved payment methods: stored from a token or test card (brand, last4, expiry, funding and keyed
// fingerprint; never the number or CVC), attached to and detached from customers. As at Stripe, an
// attach always attaches the payment method named and answers it: the same card (fingerprint) may be
// on a customer more than once (migration 0056 dropped the unique (customer, fingerprint) index).
import { and, eq } from "drizzle-orm";
import { ApiError, invalidRequest } from "../core/errors";
import type { IntentRecord, Metadata, PaymentMethodDetails, Scope } from "../core/types";
import { authorizedAfterChallenge, effectiveSetupFutureUsage } from "../core/intent";
import { customers, paymentMethods, subscriptions } from "../db/schema";
import type { Env } from "../env";
import { intentStub, pricesByIds, updateSubscription } from "./engine";
import { db, renderCustomer, renderPaymentMethodRow, type CustomerRow, type PaymentMethodRow, type SubscriptionRow } from "./store";
import { log } from "../log";
import { Writes } from "./writes";

export interface StoreOptions {
  customer: CustomerRow | null;
  nickname: string | null;
  metadata: Metadata;
  requestId: string | null;
}

function rowOf(scope: Scope, details: PaymentMethodDetails, options: StoreOptions, now: number): PaymentMethodRow {
  if (details.type !== "card" || !details.card) {
    throw invalidRequest("Only cards can be saved: a PayPal payment is approved by the payer each time.", "payment_method", "payment_method_unsupported_type");
  }
  return {
    id: details.id,
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    customer: options.customer?.id ?? null,
    details: JSON.stringify(details),
    fingerprint: details.card.fingerprint,
    nickname: options.nickname,
    metadata: JSON.stringify(options.metadata),
    created: now,
    detached: null,
  };
}

/**
 * Stores a payment method (attached to `customer` when given), even when the customer already has a
 * payment method of the same card. Answers the stored one and whether it is new: not new when its id
 * was stored already (the same payment method saved again, e.g. by the events hook after the request).
 */
export async function storePaymentMethod(env: Env, scope: Scope, details: PaymentMethodDetails, options: StoreOptions): Promise<{ row: PaymentMethodRow; created: boolean }> {
  const row = rowOf(scope, details, options, Date.now());
  const w = new Writes(env.DB, scope);
  const insert = db(env.DB).insert(paymentMethods).values(row).onConflictDoNothing().toSQL();
  w.add(insert.sql, insert.params);
  if (row.customer) await w.event("payment_method.attached", renderPaymentMethodRow(row), [row.id, row.customer], { requestId: options.requestId });
  const [inserted] = await w.commit(env);
  if (inserted) return { row, created: true };
  // The id was taken: the "new" card was a saved payment method named as a token. It is that
  // card only where it already is (same merchant, mode and customer, not detached); anywhere else it
  // would put another customer's card on this one (and make it their default), so it is refused.
  const existing = await byId(env.DB, row.id);
  if (!existing) throw new Error(`payment method ${row.id} was neither stored nor found`);
  if (existing.merchantId !== scope.merchantId || existing.livemode !== scope.livemode || existing.customer !== row.customer || existing.detached !== null) {
    throw invalidRequest(
      `The payment method ${row.id} is a saved card${existing.customer ? " of another customer" : ""}: save a card from its token or number, or attach a saved payment method with POST /v1/payment_methods/${row.id}/attach.`,
      "payment_method",
      "payment_method_already_attached",
    );
  }
  return { row: existing, created: false };
}

async function byId(d1: D1Database, id: string): Promise<PaymentMethodRow | null> {
  const [row] = await db(d1).select().from(paymentMethods).where(eq(paymentMethods.id, id)).limit(1);
  return row ?? null;
}

/** A detached payment method may not be used again (Stripe's rule): to pay, to be attached, or where it already is. */
export function assertNotDetached(pm: PaymentMethodRow): void {
  if (pm.detached === null) return;
  throw invalidRequest(
    `The payment method ${pm.id} was detached from a customer and may not be used again. Save the card again, or give another payment method.`,
    "payment_method",
    "payment_method_unexpected_state",
  );
}

/**
 * Attaches a stored payment method to a customer and answers it, as at Stripe: always the payment
 * method named, also when the customer already has one of the same card.
 */
export async function attachPaymentMethod(env: Env, scope: Scope, pm: PaymentMethodRow, customer: CustomerRow, requestId: string | null): Promise<{ row: PaymentMethodRow }> {
  if (pm.customer === customer.id) return { row: pm };
  assertNotDetached(pm);
  if (pm.customer) {
    throw invalidRequest(`The payment method ${pm.id} is attached to another customer; detach it first.`, "payment_method", "payment_method_already_attached");
  }
  const attached: PaymentMethodRow = { ...pm, customer: customer.id };
  const w = new Writes(env.DB, scope);
  // Only while it is unattached and not detached: of two attaches racing on it, one writes (and
  // emits payment_method.attached); a detach between the read above and this write wins.
  w.add("UPDATE payment_methods SET customer = ? WHERE id = ? AND customer IS NULL AND detached IS NULL", [customer.id, pm.id]);
  await w.event("payment_method.attached", renderPaymentMethodRow(attached), [pm.id, customer.id], { requestId });
  const [changed] = await w.commit(env);
  if (changed) return { row: attached };
  // Someone else wrote first: attached to this customer (the same attach, racing), detached, or
  // attached to another customer.
  const now = await byId(env.DB, pm.id);
  if (now?.customer === customer.id) return { row: now };
  if (now) assertNotDetached(now);
  throw invalidRequest(`The payment method ${pm.id} was attached to another customer meanwhile.`, "payment_method", "payment_method_already_attached");
}

/** Detaches it; a customer's or subscription's default that was this payment method is cleared. */
export async function detachPaymentMethod(env: Env, scope: Scope, pm: PaymentMethodRow, requestId: string | null): Promise<PaymentMethodRow> {
  if (!pm.customer) throw invalidRequest(`The payment method ${pm.id} is not attached to a customer.`, "payment_method", "payment_method_not_attached");
  const customerId = pm.customer;
  const detached: PaymentMethodRow = { ...pm, customer: null, detached: Date.now() };
  const w = new Writes(env.DB, scope);
  // Marked, not only unattached: a detached card pays for no one again (Stripe's rule), where an
  // unattached one (saved without a customer) may still be used.
  w.add("UPDATE payment_methods SET customer = NULL, detached = ? WHERE id = ? AND customer = ?", [detached.detached, pm.id, customerId]);
  await w.event("payment_method.detached", { ...renderPaymentMethodRow(detached), customer: null }, [pm.id, customerId, String(Date.now())], { requestId, previousAttributes: { customer: customerId } });
  const [customer] = await db(env.DB).select().from(customers).where(eq(customers.id, customerId)).limit(1);
  // Always in the batch, guarded by its own WHERE (and the event by its changes()): a default set to
  // this card after the read above is cleared too (it survived, pointing at a detached card).
  if (customer) {
    w.add("UPDATE customers SET default_payment_method = NULL WHERE id = ? AND default_payment_method = ?", [customerId, pm.id]);
    // Sent only when that UPDATE changed the row, so the default was this card: Stripe's previous_attributes say so.
    await w.event("customer.updated", renderCustomer({ ...customer, defaultPaymentMethod: null }), null, { requestId, previousAttributes: { invoice_settings: { default_payment_method: pm.id } } });
  }
  const subs = await db(env.DB)
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.customer, customerId), eq(subscriptions.defaultPaymentMethod, pm.id)));
  const subPrices = await pricesByIds(env, subs.map((s) => s.price));
  for (const sub of subs) await updateSubscription(w, sub, { defaultPaymentMethod: null }, { requestId, price: subPrices.get(sub.price) ?? null });
  const [changed] = await w.commit(env);
  if (!changed) throw invalidRequest(`The payment method ${pm.id} is not attached to a customer.`, "payment_method", "payment_method_not_attached");
  return detached;
}

/** setup_future_usage: once the intent's payment went through, its card is saved to its customer. */
export async function saveFromIntent(env: Env, intent: IntentRecord): Promise<void> {
  if (!effectiveSetupFutureUsage(intent) || !intent.customer || intent.paymentMethod?.type !== "card") return;
  if (intent.status !== "succeeded" && intent.status !== "requires_capture") return;
  const scope = { merchantId: intent.merchantId, livemode: intent.livemode };
  const [customer] = await db(env.DB)
    .select()
    .from(customers)
    .where(and(eq(customers.id, intent.customer), eq(customers.merchantId, scope.merchantId), eq(customers.livemode, scope.livemode), eq(customers.deleted, false)))
    .limit(1);
  if (!customer) return;
  const saved = await saveCardTo(env, scope, intent.paymentMethod, customer);
  // Saved through a passed 3D Secure challenge: the card is set up for off-session use, as a setup
  // intent's passed challenge sets it up (setup-intents.ts), and the issuer lets its later off-session
  // charges through (the sandbox's 4000002500003155).
  if (authorizedAfterChallenge(intent)) {
    await env.DB.prepare("UPDATE payment_methods SET details = json_set(details, '$.setupAuthenticated', json('true')) WHERE id = ? AND merchant_id = ? AND livemode = ? AND customer = ?")
      .bind(saved.id, scope.merchantId, scope.livemode ? 1 : 0, customer.id)
      .run();
  }
}

/**
 * Saves the card a payment was made with to `customer`, as at Stripe: a payment method saved without
 * a customer (POST /v1/payment_methods, then a payment with it) is attached itself; a card given for
 * the payment (a token, a test card, card details) is saved under the payment method id the payment
 * carries. Answers the saved row: the payment method the payment names, whatever else is on file.
 */
async function saveCardTo(env: Env, scope: Scope, details: PaymentMethodDetails, customer: CustomerRow): Promise<PaymentMethodRow> {
  const saved = await byId(env.DB, details.id);
  if (saved && saved.merchantId === scope.merchantId && saved.livemode === scope.livemode) return (await attachPaymentMethod(env, scope, saved, customer, null)).row;
  return (await storePaymentMethod(env, scope, details, { customer, nickname: null, metadata: {}, requestId: null })).row;
}

/**
 * Stripe's payment_settings[save_default_payment_method]=on_subscription, once a payment of the
 * subscription succeeded (`intentId`): the card it was made with is saved to the subscription's
 * customer (a card given at confirmation is made for that payment only). Answers its id, for the
 * subscription's default_payment_method (which its renewals are charged with), or null: not a card, or
 * one that cannot be saved (another customer's, say; logged, and the default stays as it was).
 */
export async function savePaidCard(env: Env, subscription: Pick<SubscriptionRow, "id" | "customer" | "merchantId" | "livemode" | "defaultPaymentMethod">, intentId: string): Promise<string | null> {
  const scope = { merchantId: subscription.merchantId, livemode: subscription.livemode };
  const intent = await intentStub(env, intentId).retrieve(scope, intentId);
  const pm = intent?.status === "succeeded" ? intent.paymentMethod : null;
  if (!pm || pm.type !== "card" || !pm.card) return null;
  if (subscription.defaultPaymentMethod === pm.id) return pm.id;
  const [customer] = await db(env.DB)
    .select()
    .from(customers)
    .where(and(eq(customers.id, subscription.customer), eq(customers.merchantId, scope.merchantId), eq(customers.livemode, scope.livemode), eq(customers.deleted, false)))
    .limit(1);
  if (!customer) return null;
  try {
    // A payment method saved without a customer (POST /v1/payment_methods, then confirm with it:
    // Stripe's usual card flow) is attached, as at Stripe; a card given at confirmation is saved.
    return (await saveCardTo(env, scope, pm, customer)).id;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    log("warn", "the card a subscription was paid with could not be saved as its default", { subscription: subscription.id, intent: intentId, error: err.data.message });
    return null;
  }
}
