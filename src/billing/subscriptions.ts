// Creating, changing and canceling subscriptions. The first invoice is charged at once, with the
// customer present (a card that wants 3DS leaves the subscription `incomplete`, its invoice's intent
// showing the challenge); a trial starts with a zero invoice and bills when it ends.
import { and, eq, sql } from "drizzle-orm";
import { canonicalJson } from "../core/canonical-json";
import { invalidRequest, type ApiError } from "../core/errors";
import { randomId } from "../core/ids";
import { MAX_AMOUNT } from "../core/money";
import type { Metadata, Scope } from "../core/types";
import { invoices, subscriptions, testClocks } from "../db/schema";
import { config, type Env } from "../env";
import { hostedInvoicePageUrl } from "../pages/urls";
import { abandonInvoiceIntent, addInvoiceCreatedEvents, cancellationDetailsJson, addVoid, attemptOf, CLAIM_MS, clockNow, insertInvoice, insertSubscription, invoiceIdFor, invoiceRow, openInvoiceIntent, payInvoice, pricesByIds, settleAttempt, transitionSubscription, updateSubscription } from "./engine";
import { boundary, type Interval } from "./periods";
import { db, ENDED_STATUSES, findPaymentMethod, LIVE_SUBSCRIPTION, liveCustomer, MAX_CUSTOMER_SUBSCRIPTIONS, parseMetadata, renderInvoice, renderSubscription, subscriptionById, type CustomerRow, type PriceRow, type SubscriptionRow } from "./store";
import { mergeMetadata } from "../intents/operations/metadata";
import { Writes } from "./writes";
import { log } from "../log";

const DAY_MS = 86_400_000;

export interface CreateSubscriptionInput {
  customer: CustomerRow;
  price: PriceRow;
  quantity: number;
  trialPeriodDays: number | null;
  defaultPaymentMethod: string | null;
  /** Stripe's payment_settings[save_default_payment_method]. */
  saveDefaultPaymentMethod?: "off" | "on_subscription";
  metadata: Metadata;
  /** Its item's metadata (items[0][metadata]), written with the subscription, so that every event of it shows it. */
  itemMetadata?: Metadata;
  origin: string;
  requestId: string | null;
  /**
   * allow_incomplete (the default): the first invoice is charged now. default_incomplete: its intent is
   * created unconfirmed, for the customer to confirm with its client_secret (no payment method needed yet).
   */
  paymentBehavior?: "allow_incomplete" | "default_incomplete";
  /** The parameter that named the customer, for the answer when it is deleted meanwhile ("customer" by default). */
  customerParam?: string;
}

/** The customer's now: its test clock's frozen time, or the real time. */
async function customerNow(env: Env, customer: CustomerRow): Promise<number> {
  if (!customer.testClock) return Date.now();
  const [clock] = await db(env.DB).select().from(testClocks).where(eq(testClocks.id, customer.testClock)).limit(1);
  if (!clock) return Date.now();
  if (clock.status === "internal_failure") throw invalidRequest(`The test clock ${clock.id} failed to advance (internal_failure): delete it and start over with a new one.`, "customer", "test_clock_internal_failure");
  if (clock.status !== "ready") throw invalidRequest(`The test clock ${clock.id} is advancing; try again when it is ready.`, "customer", "test_clock_advancing");
  return clock.frozenTime;
}

/** A payment method the subscription may use: attached to its customer. */
export async function assertCustomersMethod(env: Env, scope: Scope, customer: CustomerRow, id: string, param: string): Promise<void> {
  const pm = await findPaymentMethod(env.DB, scope, id, param);
  if (pm.customer !== customer.id) throw invalidRequest(`The payment method ${id} is not attached to the customer ${customer.id}. Attach it first.`, param, "payment_method_not_attached");
}

export async function createSubscription(env: Env, scope: Scope, input: CreateSubscriptionInput): Promise<SubscriptionRow> {
  const { customer, price } = input;
  if (!price.active) throw invalidRequest(`The price ${price.id} is not active.`, "price", "price_inactive");
  const amount = price.unitAmount * input.quantity;
  if (amount > MAX_AMOUNT) throw invalidRequest(`The price times the quantity is more than ${MAX_AMOUNT} minor units.`, "quantity");
  if (input.defaultPaymentMethod) await assertCustomersMethod(env, scope, customer, input.defaultPaymentMethod, "default_payment_method");
  const trial = input.trialPeriodDays !== null && input.trialPeriodDays > 0;
  // A free price (unit_amount 0): as a trial's, its first invoice is paid as it is made (0 due, no
  // payment intent) and it is active at once, needing no payment method; so are its renewals.
  const free = !trial && amount === 0;
  const deferred = !free && input.paymentBehavior === "default_incomplete";
  if (!trial && !free && !deferred && !input.defaultPaymentMethod && !customer.defaultPaymentMethod) {
    throw invalidRequest(
      "This customer has no default payment method: pass default_payment_method, or set the customer's invoice_settings[default_payment_method].",
      "default_payment_method",
      "resource_missing",
    );
  }
  const now = await customerNow(env, customer);
  const interval = price.interval as Interval;
  const anchor = trial ? now + (input.trialPeriodDays ?? 0) * DAY_MS : now;
  const id = randomId("sub");
  const periodEnd = trial ? anchor : boundary(anchor, interval, price.intervalCount, 1);
  const invoiceId = await invoiceIdFor(id, now);
  const row: SubscriptionRow = {
    id,
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    customer: customer.id,
    price: price.id,
    quantity: input.quantity,
    status: trial ? "trialing" : free ? "active" : "incomplete",
    currentPeriodStart: now,
    currentPeriodEnd: periodEnd,
    billingCycleAnchor: anchor,
    // The trial is period -1: the first paid period (0) starts at the anchor.
    periodIndex: trial ? -1 : 0,
    trialEnd: trial ? anchor : null,
    trialWillEndSent: false,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    endedAt: null,
    defaultPaymentMethod: input.defaultPaymentMethod,
    saveDefaultPaymentMethod: input.saveDefaultPaymentMethod === "on_subscription" ? "on_subscription" : null,
    latestInvoice: invoiceId,
    testClock: customer.testClock,
    metadata: JSON.stringify(input.metadata),
    cancellationDetails: null,
    itemMetadata: input.itemMetadata && Object.keys(input.itemMetadata).length > 0 ? JSON.stringify(input.itemMetadata) : null,
    version: 0,
    created: now,
  };
  const invoice = invoiceRow({
    id: invoiceId,
    subscription: row,
    price,
    periodStart: now,
    periodEnd,
    billingReason: "subscription_create",
    amountDue: trial ? 0 : amount,
    // Deferred: no attempt is due, the customer confirms the intent.
    dueAt: deferred ? null : now,
    // Charged right here, with the customer present; the claim keeps sweeps off it meanwhile.
    claimedUntil: trial || free || deferred ? null : Date.now() + CLAIM_MS,
    customer,
    hostedUrl: await hostedInvoicePageUrl(config(env).fingerprintKey, config(env).publicBaseUrl ?? input.origin, invoiceId),
    created: now,
  });
  const w = new Writes(env.DB, scope);
  insertSubscription(w, row);
  // Paid here and now (allow_incomplete, something due): customer.subscription.created is held until
  // that payment's outcome, so that it says what Stripe's says: active when the payment went through
  // (the activation rewrites it, and sends no customer.subscription.updated), incomplete otherwise.
  const paysNow = !trial && !free && !deferred;
  await w.event("customer.subscription.created", renderSubscription(row, undefined, price), [id, "0"], { requestId: input.requestId, hold: paysNow });
  insertInvoice(w, invoice, true);
  await addInvoiceCreatedEvents(w, invoice, input.requestId);
  const [inserted] = await w.commit(env);
  if (!inserted) {
    // Its customer was deleted meanwhile: nothing was written, and the answer is a deleted customer's.
    await liveCustomer(env.DB, scope, customer.id, input.customerParam);
    throw invalidRequest(
      `The customer ${customer.id} already has ${MAX_CUSTOMER_SUBSCRIPTIONS} subscriptions that have not ended, the most a customer may have. Cancel one first.`,
      "customer",
      "customer_max_subscriptions",
    );
  }
  if (trial || free) {
    // Nothing to pay: its invoice was made paid.
  } else if (deferred) {
    try {
      await openInvoiceIntent(env, invoiceId, input.origin, input.requestId);
    } catch (err) {
      log("error", "the first invoice's intent could not be created; pay the invoice with POST /v1/invoices/{id}/pay", { subscription: id, invoice: invoiceId, error: String(err) });
    }
  } else {
    try {
      await payInvoice(env, invoiceId, { at: now, onSession: true, origin: input.origin, dueOnly: false, claimed: true, requestId: input.requestId });
    } catch (err) {
      // The subscription exists (answering an error would invite a second one): it stays incomplete
      // and, once the claim lapses, the sweep finishes this same attempt through its derived intent.
      log("error", "the first invoice's payment failed unexpectedly; the sweep will finish it", { subscription: id, invoice: invoiceId, error: String(err) });
    }
    // Not activated by that payment (declined, 3DS, unknown, failed): the event goes as written, incomplete.
    // Activated: the activation released it already, rewritten, and this changes nothing.
    const release = new Writes(env.DB, scope);
    for (const event of w.held) release.releaseHeld(event, false);
    await release.commit(env);
  }
  return (await subscriptionById(env.DB, id)) ?? row;
}

export interface UpdateSubscriptionInput {
  defaultPaymentMethod?: string | null;
  saveDefaultPaymentMethod?: "off" | "on_subscription";
  cancelAtPeriodEnd?: boolean;
  /** The metadata given ("" deletes a key): merged into the subscription's as it is when the change is written. */
  metadata?: Metadata;
  /** Stripe's cancellation_details (comment, feedback; null clears one): kept with the subscription, canceled or not. */
  cancellationDetails?: CancellationInput;
  /** The update names more than metadata and cancellation_details, all a canceled subscription takes. */
  changesMore: boolean;
}

/** The cancellation_details a request gives (DELETE's, an update's): null clears one. */
export interface CancellationInput {
  comment?: string | null;
  feedback?: string | null;
  feedback_option?: string | null;
}

/** Stripe's answer to an update of an ended subscription that names more than its metadata and cancellation_details. */
export function canceledSubscriptionFields(): ApiError {
  return invalidRequest("A canceled subscription can only update its cancellation_details and metadata.", undefined, "invalid_canceled_subscription_fields");
}

/**
 * Updates a subscription. One that has ended (canceled, or incomplete_expired) takes only metadata and
 * cancellation_details, as at Stripe; its customer may be gone (null).
 */
export async function changeSubscription(env: Env, scope: Scope, customer: CustomerRow | null, id: string, input: UpdateSubscriptionInput): Promise<SubscriptionRow> {
  if (input.defaultPaymentMethod && customer) await assertCustomersMethod(env, scope, customer, input.defaultPaymentMethod, "default_payment_method");
  const now = await clockNow(env, customer?.testClock ?? null);
  const updated = await transitionSubscription(env, id, (row) => {
    if (ENDED_STATUSES.includes(row.status) && input.changesMore) throw canceledSubscriptionFields();
    // Only what differs from the row is a change: an update that sends what is there already changes
    // nothing and writes no customer.subscription.updated (an event with empty previous_attributes), and
    // asking again to cancel at the period's end keeps the canceled_at of the first request.
    const change: Parameters<typeof updateSubscription>[2] = {};
    if (input.defaultPaymentMethod !== undefined && input.defaultPaymentMethod !== row.defaultPaymentMethod) change.defaultPaymentMethod = input.defaultPaymentMethod;
    if (input.saveDefaultPaymentMethod !== undefined) {
      const save = input.saveDefaultPaymentMethod === "on_subscription" ? "on_subscription" : null;
      if (save !== row.saveDefaultPaymentMethod) change.saveDefaultPaymentMethod = save;
    }
    if (input.cancelAtPeriodEnd !== undefined && input.cancelAtPeriodEnd !== row.cancelAtPeriodEnd) {
      change.cancelAtPeriodEnd = input.cancelAtPeriodEnd;
      change.canceledAt = input.cancelAtPeriodEnd ? now : null;
    }
    // Merged into the row this transition read (and reads again when another change came first): a
    // merge into an earlier read lost the keys concurrent updates had added.
    if (input.metadata !== undefined) {
      const stored = parseMetadata(row.metadata);
      const merged = mergeMetadata(stored, input.metadata);
      if (canonicalJson(merged) !== canonicalJson(stored)) change.metadata = JSON.stringify(merged);
    }
    if (input.cancellationDetails !== undefined) {
      const next = cancellationDetailsJson(row.cancellationDetails, input.cancellationDetails);
      if (next !== cancellationDetailsJson(row.cancellationDetails, {})) change.cancellationDetails = next;
    }
    return Object.keys(change).length ? change : null;
  });
  if (!updated) throw new Error(`subscription ${id} vanished`);
  // A new payment method does not jump the retry schedule: the next retry uses it (or pay the invoice now with POST /v1/invoices/{id}/pay).
  return updated;
}

/** The change that cancels a subscription now (with its new cancellation_details, when given); none for one that has ended already. */
const endNow = (at: number, details?: (stored: string | null) => string) => (row: SubscriptionRow) =>
  ENDED_STATUSES.includes(row.status) ? null : { status: "canceled" as const, canceledAt: at, endedAt: at, ...(details ? { cancellationDetails: details(row.cancellationDetails) } : {}) };

/**
 * Cancels now: the subscription ends, and its open invoices are voided (no further attempts). With
 * `details` (DELETE's), its cancellation_details are written with the cancellation, reason
 * cancellation_requested, and its customer.subscription.deleted carries them.
 */
export async function cancelSubscription(env: Env, scope: Scope, id: string, at: number, requestId: string | null, details?: CancellationInput): Promise<SubscriptionRow> {
  // What it does not name stays as an update may have set it.
  const given = details ? { comment: details.comment, feedback: details.feedback, feedback_option: details.feedback_option } : null;
  const ended = await transitionSubscription(env, id, endNow(at, given ? (stored) => cancellationDetailsJson(stored, { ...given, reason: "cancellation_requested" }) : undefined));
  if (!ended) throw new Error(`subscription ${id} vanished`);
  await voidOpenInvoices(env, scope, [id], at, requestId);
  return ended;
}

/** How many subscriptions `cancelSubscriptions` ends in one transaction (and hands their events to the queue in one batch). */
export const CANCEL_CHUNK = 50;

/**
 * Cancels many subscriptions now, each as `cancelSubscription` would (a customer's or a test clock's,
 * when it is deleted). A chunk of 50 is read, ended with its events in one transaction, and its open
 * invoices voided in another, so the D1 queries do not grow with each subscription: deleting a customer
 * with 500 makes about 50, where one at a time made 2,000, past the 1,000 a Worker invocation may make.
 * One that changed between the read and the write (a renewal, say) is canceled again on its own.
 */
export async function cancelSubscriptions(env: Env, scope: Scope, ids: readonly string[], at: number, requestId: string | null): Promise<void> {
  for (let i = 0; i < ids.length; i += CANCEL_CHUNK) {
    const chunk = ids.slice(i, i + CANCEL_CHUNK);
    // By id alone (the primary key); the scope is checked on the rows, as a condition on it would
    // lead the planner to a merchant-wide index.
    const rows = (
      await db(env.DB)
        .select()
        .from(subscriptions)
        .where(sql`${subscriptions.id} IN (SELECT value FROM json_each(${JSON.stringify(chunk)}))`)
    ).filter((r) => r.merchantId === scope.merchantId && r.livemode === scope.livemode);
    const prices = await pricesByIds(env, rows.map((r) => r.price));
    const w = new Writes(env.DB, scope);
    const updates: { id: string; index: number }[] = [];
    for (const row of rows) {
      const change = endNow(at)(row);
      if (!change) continue;
      updates.push({ id: row.id, index: w.size });
      await updateSubscription(w, row, change, { price: prices.get(row.price) ?? null, requestId });
    }
    const changed = await w.commit(env);
    for (const u of updates) if (!changed[u.index]) await transitionSubscription(env, u.id, endNow(at));
    await voidOpenInvoices(env, scope, chunk, at, requestId);
  }
}

/** The ids of the customer's subscriptions that have not ended (through the partial index subscriptions_customer_live). */
export async function liveSubscriptionIds(d1: D1Database, customerId: string): Promise<string[]> {
  const rows = await db(d1)
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(and(eq(subscriptions.customer, customerId), sql.raw(LIVE_SUBSCRIPTION)));
  return rows.map((r) => r.id);
}

/**
 * Voids the open invoices of these subscriptions (one query for them, one transaction for the voids).
 * The intent each waits on is canceled first, so nobody pays a canceled subscription's invoice
 * afterwards; one whose intent succeeded meanwhile is paid, not voided.
 */
async function voidOpenInvoices(env: Env, scope: Scope, subscriptionIds: readonly string[], at: number, requestId: string | null): Promise<void> {
  const open = await db(env.DB)
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.merchantId, scope.merchantId),
        eq(invoices.livemode, scope.livemode),
        sql`${invoices.subscription} IN (SELECT value FROM json_each(${JSON.stringify(subscriptionIds)}))`,
        // Not an index term (the unary +): the planner would otherwise walk every open invoice of the
        // merchant (invoices_status) rather than these subscriptions' few (invoices_subscription).
        sql`+${invoices.status} = 'open'`,
      ),
    );
  const w = new Writes(env.DB, scope);
  try {
    for (const invoice of open) {
      const intent = await abandonInvoiceIntent(env, invoice, "cancel", "");
      if (intent?.status === "succeeded") {
        await settleAttempt(env, invoice, attemptOf(intent) ?? Math.max(invoice.attemptCount, 1), intent, at);
        continue;
      }
      addVoid(w, invoice, at, false);
      await w.event("invoice.voided", renderInvoice({ ...invoice, status: "void", nextPaymentAttempt: null, voidedAt: at, claimedUntil: null }), [invoice.id], { requestId });
    }
  } finally {
    // The invoices whose intents were abandoned are voided even when a later one failed: a retry
    // finds their subscriptions ended already and would not come back to them.
    await w.commit(env);
  }
}
