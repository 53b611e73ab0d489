// The billing engine: renewals, invoice payments and dunning, on D1 and the payment intents' Durable
// Objects. Nothing here holds a lock across a charge; exactly-once comes from three things:
//  - a renewal moves the subscription on with a version guard, and its invoice has a derived id and a
//    unique (subscription, period_start): racing sweeps make one period and one invoice;
//  - an invoice's payment attempt n is claimed in D1 (guarded by its attempt count and due time) and
//    paid through the intent derived from (invoice, n) with the Idempotency-Key `invoice:<id>:attempt:<n>`,
//    so even two sweeps past the claim reach one Durable Object that charges once;
//  - settling an attempt's result is guarded by the attempt count, so the sweep and the events hook
//    (which sees the intent's own events) record it once, whichever comes first.
// Each change writes its events in the same transaction (see writes.ts).
import { previousAttributes } from "../core/events";
import { and, asc, eq, getTableColumns, inArray, isNull, lte, ne, or, lt, sql, type SQL } from "drizzle-orm";
import { lockTimeout } from "../core/errors";
import { derivedId } from "../core/ids";
import type { IntentRecord, IntentStatus, PaymentMethodDetails, Scope } from "../core/types";
import { merchantSettings } from "../db/merchants";
import { customers, invoices, paymentMethods, prices, subscriptions, testClocks } from "../db/schema";
import { config, type Env } from "../env";
import { createParams, type CreateIntentParams, type RequestContext } from "../intents/params";
import { log } from "../log";
import { boundary, type Interval } from "./periods";
import {
  db,
  ENDED_STATUSES,
  invoiceById,
  LIVE_SUBSCRIPTION,
  MAX_CUSTOMER_SUBSCRIPTIONS,
  parseDetails,
  renderInvoice,
  renderSubscription,
  renderTestClock,
  subscriptionById,
  type CancellationDetailsJson,
  type CustomerRow,
  type InvoiceRow,
  type PriceRow,
  type SubscriptionRow,
  type SubscriptionStatus,
  type TestClockRow,
} from "./store";
import { Writes } from "./writes";
import { savePaidCard } from "./payment-methods";
import { directoryDb } from "../db/shards";
import { hostedInvoicePageUrl } from "../pages/urls";
import { UNIT_COST, type StatementBudget } from "../db/budget";

/** How long a sweep holds an invoice it is charging; a crashed sweep's claim lapses after it. */
export const CLAIM_MS = 5 * 60_000;
/** An attempt whose outcome is unknown (the PSP timed out) is looked at again after this long. */
const RECHECK_MS = 10 * 60_000;
/** Subscriptions in these statuses renew at the end of their period. */
const RENEWING: SubscriptionStatus[] = ["active", "past_due", "trialing"];
/**
 * The sweep's conditions on a subscription's status, written as the literals of the partial indexes
 * subscriptions_renewing and subscriptions_incomplete (migration 0029): a bound value would not let
 * the planner use them.
 */
const RENEWING_SQL = sql.raw(`${RENEWING.map((s) => `'${s}'`).join(", ")}`);

export function intentStub(env: Env, id: string) {
  return env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
}

const scopeOf = (row: { merchantId: string; livemode: boolean }): Scope => ({ merchantId: row.merchantId, livemode: row.livemode });

/** Now for an object: its test clock's frozen time, or the real time. */
export async function clockNow(env: Env, testClock: string | null): Promise<number> {
  if (!testClock) return Date.now();
  const [clock] = await db(env.DB).select({ frozenTime: testClocks.frozenTime }).from(testClocks).where(eq(testClocks.id, testClock)).limit(1);
  return clock?.frozenTime ?? Date.now();
}

export function invoiceIdFor(subscriptionId: string, periodStart: number): Promise<string> {
  return derivedId("in", subscriptionId, String(periodStart));
}

export function attemptIntentId(invoiceId: string, attempt: number): Promise<string> {
  return derivedId("pi", invoiceId, "attempt", String(attempt));
}

export interface NewInvoice {
  id: string;
  subscription: SubscriptionRow;
  price: PriceRow;
  /** The service period it bills (its line's period). */
  periodStart: number;
  periodEnd: number;
  /**
   * Stripe's invoice period_start / period_end: when items were collected for it. Left out: the
   * invoice's creation, both (a subscription's first invoice).
   */
  usagePeriod?: { start: number; end: number };
  billingReason: "subscription_create" | "subscription_cycle";
  amountDue: number;
  /** When the first payment attempt is due (null: nothing to pay). */
  dueAt: number | null;
  /** Set when the creator pays it at once and holds it meanwhile. */
  claimedUntil: number | null;
  /** The customer as the invoice is made: its email, name, phone, address and shipping are kept on the invoice. */
  customer: InvoiceContact | null;
  /** Stripe's hosted_invoice_url (hostedInvoicePageUrl), under the base URL the invoice is made with. */
  hostedUrl: string | null;
  created: number;
}

export function invoiceRow(n: NewInvoice): InvoiceRow {
  const s = n.subscription;
  const paid = n.amountDue === 0;
  return {
    id: n.id,
    merchantId: s.merchantId,
    livemode: s.livemode,
    customer: s.customer,
    subscription: s.id,
    periodStart: n.periodStart,
    periodEnd: n.periodEnd,
    usagePeriodStart: n.usagePeriod?.start ?? n.created,
    usagePeriodEnd: n.usagePeriod?.end ?? n.created,
    currency: n.price.currency,
    amountDue: n.amountDue,
    amountPaid: 0,
    status: paid ? "paid" : "open",
    billingReason: n.billingReason,
    price: n.price.id,
    quantity: s.quantity,
    unitAmount: n.price.unitAmount,
    description: `${n.price.productName} × ${s.quantity}`,
    paymentIntent: null,
    attemptCount: 0,
    nextPaymentAttempt: paid ? null : n.dueAt,
    claimedUntil: n.claimedUntil,
    paidAt: paid ? n.created : null,
    voidedAt: null,
    markedUncollectibleAt: null,
    testClock: s.testClock,
    customerEmail: n.customer?.email ?? null,
    customerName: n.customer?.name ?? null,
    customerPhone: n.customer?.phone ?? null,
    customerAddress: n.customer?.address ?? null,
    customerShipping: n.customer?.shipping ?? null,
    product: n.price.product,
    hostedUrl: n.hostedUrl,
    // Stripe's snapshot of the subscription's metadata at finalization (an invoice here is finalized as it is made).
    subscriptionMetadata: s.metadata,
    created: n.created,
  };
}

/** What an invoice keeps of its customer, as Stripe does at finalization. */
export type InvoiceContact = Pick<CustomerRow, "email" | "name" | "phone" | "address" | "shipping">;

/**
 * What a renewal's invoice keeps of its customer (a deleted customer still has its row), and when the
 * subscription resumed if it did: the payment of its latest invoice when dunning had given up on that
 * one (it was `unpaid`). One statement (a billing step's cost is counted: src/db/budget.ts).
 */
async function renewalContext(d1: D1Database, row: SubscriptionRow): Promise<{ contact: InvoiceContact | null; resumedAt: number | null; previousPage: string | null }> {
  const [found] = await db(d1)
    .select({
      email: customers.email,
      name: customers.name,
      phone: customers.phone,
      address: customers.address,
      shipping: customers.shipping,
      resumedAt: sql<number | null>`(SELECT ${invoices.paidAt} FROM ${invoices} WHERE ${invoices.id} = ${row.latestInvoice ?? ""} AND ${invoices.status} = 'paid' AND ${invoices.markedUncollectibleAt} IS NOT NULL)`,
      previousPage: sql<string | null>`(SELECT ${invoices.hostedUrl} FROM ${invoices} WHERE ${invoices.id} = ${row.latestInvoice ?? ""})`,
    })
    .from(customers)
    .where(eq(customers.id, row.customer))
    .limit(1);
  if (!found) return { contact: null, resumedAt: null, previousPage: null };
  const { resumedAt, previousPage, ...contact } = found;
  return { contact, resumedAt, previousPage };
}

/** The SQL value of a row's field (booleans are integers in D1). */
export const sqlValue = (v: unknown) => (typeof v === "boolean" ? (v ? 1 : 0) : (v ?? null));

/**
 * The subscription's insert, made only while its customer has fewer than MAX_CUSTOMER_SUBSCRIPTIONS
 * that have not ended, and only while the customer is not deleted (a deletion that committed since the
 * customer was read would otherwise leave it live on a deleted customer, billed on). The checks and
 * the insert are one statement of the create's transaction, so creates racing at the limit cannot pass
 * it together; the writes after it are guarded on it.
 */
export function insertSubscription(w: Writes, row: SubscriptionRow): void {
  const columns = Object.entries(getTableColumns(subscriptions)) as [keyof SubscriptionRow, { name: string }][];
  w.add(
    `INSERT INTO subscriptions (${columns.map(([, c]) => c.name).join(", ")}) SELECT ${columns.map(() => "?").join(", ")} ` +
      `WHERE (SELECT count(*) FROM subscriptions WHERE customer = ? AND ${LIVE_SUBSCRIPTION}) < ${MAX_CUSTOMER_SUBSCRIPTIONS} ` +
      "AND EXISTS (SELECT 1 FROM customers WHERE id = ? AND deleted = 0)",
    [...columns.map(([k]) => sqlValue(row[k])), row.customer, row.customer],
  );
}

/**
 * An open invoice's void: nothing more is attempted (the event is added by the caller, guarded on it).
 * Unless the caller holds the invoice's claim (`held`), an invoice claimed by a payment attempt in
 * progress is left alone: that attempt may be charging it right now, and a void under it would end
 * as a canceled subscription's invoice voided, then paid. The attempt settles it; one that fails
 * leaves it open, and the next sweep voids it (its subscription has ended).
 */
export function addVoid(w: Writes, invoice: Pick<InvoiceRow, "id">, at: number, held: boolean): void {
  if (held) w.add("UPDATE invoices SET status = 'void', next_payment_attempt = NULL, voided_at = ?, claimed_until = NULL WHERE id = ? AND status = 'open'", [at, invoice.id]);
  else w.add("UPDATE invoices SET status = 'void', next_payment_attempt = NULL, voided_at = ?, claimed_until = NULL WHERE id = ? AND status = 'open' AND (claimed_until IS NULL OR claimed_until < ?)", [at, invoice.id, Date.now()]);
}

/**
 * A new invoice's events, added right after its insert and so guarded on it: invoice.created and
 * invoice.finalized together (an invoice here is finalized as it is made, never a draft), then, for
 * one with nothing to pay (a trial's), its payment's. Their ids derive from the invoice: each is
 * written once.
 */
export async function addInvoiceCreatedEvents(w: Writes, invoice: InvoiceRow, requestId: string | null = null): Promise<void> {
  const object = renderInvoice(invoice);
  await w.events([{ type: "invoice.created", object }, { type: "invoice.finalized", object }], [invoice.id], { requestId });
  if (invoice.status === "paid") await addInvoicePaidEvents(w, invoice, requestId);
}

/**
 * A paid invoice's events, added right after the change that paid it and so guarded on it: Stripe's
 * invoice.paid and invoice.payment_succeeded together (handlers are written for either). Their ids
 * derive from the invoice: an invoice is paid once, and each event is written once.
 */
export async function addInvoicePaidEvents(w: Writes, paid: InvoiceRow, requestId: string | null = null): Promise<void> {
  const object = renderInvoice(paid);
  await w.events([{ type: "invoice.paid", object }, { type: "invoice.payment_succeeded", object }], [paid.id], { requestId });
}

/** The prices of these ids, in one query. */
export async function pricesByIds(env: Env, ids: readonly string[]): Promise<Map<string, PriceRow>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await db(env.DB)
    .select()
    .from(prices)
    .where(sql`${prices.id} IN (SELECT value FROM json_each(${JSON.stringify(unique)}))`);
  return new Map(rows.map((p) => [p.id, p]));
}

/** The invoice's insert: once per (subscription, period), and (when guarded) only if the change before it happened. */
export function insertInvoice(w: Writes, row: InvoiceRow, guarded: boolean): void {
  const columns = Object.entries(getTableColumns(invoices)) as [keyof InvoiceRow, { name: string }][];
  w.add(`INSERT OR IGNORE INTO invoices (${columns.map(([, c]) => c.name).join(", ")}) SELECT ${columns.map(() => "?").join(", ")} WHERE ${guarded ? "changes() > 0" : "1"}`, columns.map(([k]) => sqlValue(row[k])));
}

// ---- subscription changes ------------------------------------------------------------------------

/**
 * A change of a subscription's columns. Its cancellationDetails (JSON of CancellationDetailsJson):
 * payment_failed when dunning cancels it, the caller's comment and feedback on an update or a DELETE.
 */
type SubscriptionChange = Partial<Pick<SubscriptionRow, "status" | "currentPeriodStart" | "currentPeriodEnd" | "periodIndex" | "latestInvoice" | "canceledAt" | "endedAt" | "cancelAtPeriodEnd" | "defaultPaymentMethod" | "saveDefaultPaymentMethod" | "metadata" | "trialEnd" | "cancellationDetails">>;

/**
 * Adds a versioned update of the subscription (and, with `extra`, any further SQL condition) and its
 * event. Answers the subscription as it is if the update applies.
 */
export async function updateSubscription(
  w: Writes,
  row: SubscriptionRow,
  change: SubscriptionChange,
  options: {
    extraWhere?: { sql: string; binds: unknown[] };
    requestId?: string | null;
    price: PriceRow | null;
  },
): Promise<SubscriptionRow> {
  const next: SubscriptionRow = { ...row, ...change, version: row.version + 1 };
  const keys = Object.keys(change) as (keyof SubscriptionChange)[];
  const columns = getTableColumns(subscriptions);
  const sets = keys.map((k) => `${columns[k].name} = ?`);
  const binds: unknown[] = keys.map((k) => sqlValue(change[k]));
  w.add(`UPDATE subscriptions SET ${[...sets, "version = version + 1"].join(", ")} WHERE id = ? AND version = ?${options.extraWhere ? ` AND ${options.extraWhere.sql}` : ""}`, [
    ...binds,
    row.id,
    row.version,
    ...(options.extraWhere?.binds ?? []),
  ]);
  const type = next.status === "canceled" && row.status !== "canceled" ? "customer.subscription.deleted" : "customer.subscription.updated";
  // The event's object is the subscription as a GET shows it after the change (rendered from the whole
  // row: its item's metadata, its cancellation_details, whatever this change read); its item carries
  // its price object, as the API's answers do; an update tells what its changed fields were (Stripe's
  // data.previous_attributes).
  const object = renderSubscription(next, undefined, options.price);
  const before = renderSubscription(row, undefined, options.price);
  const previous = type === "customer.subscription.updated" ? previousAttributes({ ...before }, { ...object }) : undefined;
  // The first payment, made by the request that creates the subscription, activates it while that
  // request still holds its customer.subscription.created: as at Stripe, that event says active (it is
  // rewritten and released, with this change) and no customer.subscription.updated follows. Released
  // already (the request went on, or died and the cron released it), this is an update as any other.
  const held = row.status === "incomplete" && next.status === "active" ? await w.heldEvent(await derivedId("evt", "customer.subscription.created", row.id, "0")) : null;
  if (held) {
    w.releaseHeld({ ...held, object: { ...object } as Record<string, unknown> }, true);
    // Only if the change happened (its version) and the release did not (changes() of the statement before).
    await w.event(type, object, [row.id, String(next.version)], {
      requestId: options.requestId,
      guard: { sql: "changes() = 0 AND EXISTS (SELECT 1 FROM subscriptions WHERE id = ? AND version = ?)", binds: [row.id, next.version] },
      ...(previous ? { previousAttributes: previous } : {}),
    });
    return next;
  }
  await w.event(type, object, [row.id, String(next.version)], { requestId: options.requestId, ...(previous ? { previousAttributes: previous } : {}) });
  return next;
}

/** How often a billing transition reads the subscription again when another request changed it first. */
const TRANSITION_TRIES = 8;

/**
 * Applies `decide` to the subscription as it is now, retrying when someone else changed it first.
 * `decide` answers the change to make, or null when there is nothing (any more) to do.
 */
export async function transitionSubscription(
  env: Env,
  id: string,
  decide: (row: SubscriptionRow) => Promise<SubscriptionChange | null> | SubscriptionChange | null,
): Promise<SubscriptionRow | null> {
  for (let i = 0; i < TRANSITION_TRIES; i++) {
    const row = await subscriptionById(env.DB, id);
    if (!row) return null;
    const change = await decide(row);
    if (!change) return row;
    const w = new Writes(env.DB, scopeOf(row));
    const next = await updateSubscription(w, row, change, { price: await priceOf(env, row.price) });
    const [changed] = await w.commit(env);
    if (changed) return next;
  }
  // Others kept changing it: Stripe's lock_timeout (a 429 its clients retry), never a 500.
  log("warn", "subscription kept changing under a billing transition", { subscription: id });
  throw lockTimeout(`subscription ${id}`, TRANSITION_TRIES);
}


// ---- renewal ---------------------------------------------------------------------------------------

export async function priceOf(env: Env, id: string): Promise<PriceRow | null> {
  const [row] = await db(env.DB).select().from(prices).where(eq(prices.id, id)).limit(1);
  return row ?? null;
}

/** A renewal this call made: its invoice, and the clock's time it was made at (its first attempt's). */
/**
 * The base URL of a renewal's hosted invoice page: PUBLIC_BASE_URL, else the one the subscription's
 * previous invoice was given (the origin its creating request came to: a sweep has no request), else
 * none (a path on the gateway's origin).
 */
function renewalBase(env: Env, previousPage: string | null): string {
  const configured = config(env).publicBaseUrl;
  if (configured) return configured;
  const at = previousPage?.indexOf("/invoice/") ?? -1;
  return previousPage && at >= 0 ? previousPage.slice(0, at) : "";
}

export interface Renewal {
  invoiceId: string;
  at: number;
}

/**
 * Moves a due subscription into its next period (creating that period's invoice), or ends it when it
 * was set to cancel at period end. Answers the new invoice and its time when this call made the renewal.
 */
export async function renewSubscription(env: Env, row: SubscriptionRow): Promise<Renewal | null> {
  const w = new Writes(env.DB, scopeOf(row));
  const price = await priceOf(env, row.price);
  if (row.cancelAtPeriodEnd) {
    await updateSubscription(w, row, { status: "canceled", endedAt: row.currentPeriodEnd, canceledAt: row.canceledAt ?? row.currentPeriodEnd }, { price });
    await w.commit(env);
    return null;
  }
  if (!price) throw new Error(`subscription ${row.id} has no price ${row.price}`);
  const index = row.periodIndex + 1;
  const interval = price.interval as Interval;
  const start = boundary(row.billingCycleAnchor, interval, price.intervalCount, index);
  const end = boundary(row.billingCycleAnchor, interval, price.intervalCount, index + 1);
  const invoiceId = await invoiceIdFor(row.id, start);
  // When it renews: as its period ends, unless it was `unpaid` then (not renewed while unpaid) and
  // resumed later, when its uncollectible invoice was paid: then at that payment. Its new period may
  // have started before that (it resumes with the period it is in), but its invoice is made, and first
  // attempted, when it resumed, so its retries count from there, never from a time already past.
  const { contact, resumedAt, previousPage } = await renewalContext(env.DB, row);
  const at = Math.max(row.currentPeriodEnd, resumedAt ?? 0);
  const next = await updateSubscription(w, row, {
    currentPeriodStart: start,
    currentPeriodEnd: end,
    periodIndex: index,
    latestInvoice: invoiceId,
    // The trial is over: the first paid period starts (its payment decides what comes next).
    status: row.status === "trialing" ? "active" : (row.status as SubscriptionStatus),
  }, { price });
  const invoice = invoiceRow({
    id: invoiceId,
    subscription: next,
    price,
    periodStart: start,
    periodEnd: end,
    // Stripe's renewal invoice collects over the period that just ended (its line bills the new one).
    usagePeriod: { start: row.currentPeriodStart, end: row.currentPeriodEnd },
    billingReason: "subscription_cycle",
    amountDue: price.unitAmount * row.quantity,
    dueAt: at,
    claimedUntil: null,
    customer: contact,
    hostedUrl: await hostedInvoicePageUrl(config(env).fingerprintKey, renewalBase(env, previousPage), invoiceId),
    // On a test clock, the clock's time of the renewal (as Stripe stamps what a simulation makes):
    // its created, finalized_at and effective_at. In real time, now.
    created: row.testClock ? at : Date.now(),
  });
  insertInvoice(w, invoice, true);
  await addInvoiceCreatedEvents(w, invoice);
  const [changed] = await w.commit(env);
  return changed ? { invoiceId, at } : null;
}

/**
 * The invoice the subscription's next renewal will make, as renewSubscription would make it now
 * (Stripe's `POST /v1/invoices/create_preview`): its next period, price times quantity, the customer as
 * it is. Nothing is written. A subscription that will not renew (canceled, expired, or canceling at
 * its period's end) has none: null. The row's id is `upcoming_in_` and the subscription's; its status
 * is `draft` (the route renders it as Stripe renders a preview).
 */
export async function previewRenewal(env: Env, row: SubscriptionRow): Promise<InvoiceRow | null> {
  if (row.status === "canceled" || row.status === "incomplete_expired" || row.cancelAtPeriodEnd) return null;
  const price = await priceOf(env, row.price);
  if (!price) return null;
  const index = row.periodIndex + 1;
  const interval = price.interval as Interval;
  const start = boundary(row.billingCycleAnchor, interval, price.intervalCount, index);
  const end = boundary(row.billingCycleAnchor, interval, price.intervalCount, index + 1);
  const { contact } = await renewalContext(env.DB, row);
  const at = Math.max(row.currentPeriodEnd, start);
  const invoice = invoiceRow({
    id: `upcoming_in_${row.id.slice(row.id.indexOf("_") + 1)}`,
    subscription: { ...row, status: row.status === "trialing" ? "active" : row.status },
    price,
    periodStart: start,
    periodEnd: end,
    // Stripe's renewal invoice collects over the period that just ended (its line bills the new one).
    usagePeriod: { start: row.currentPeriodStart, end: row.currentPeriodEnd },
    billingReason: "subscription_cycle",
    amountDue: price.unitAmount * row.quantity,
    dueAt: null,
    claimedUntil: null,
    customer: contact,
    hostedUrl: null,
    created: at,
  });
  return { ...invoice, status: "draft", paidAt: null, nextPaymentAttempt: null };
}

// ---- paying an invoice -----------------------------------------------------------------------------

export interface PayOptions {
  /** The clock's time of this attempt (the due time in a sweep). */
  at: number;
  /** The customer is present (the first invoice): a 3DS challenge is offered rather than declined. */
  onSession: boolean;
  origin: string;
  /** A sweep only claims what is due at `at`; an explicit payment claims any open invoice. */
  dueOnly: boolean;
  /** The creator already holds the claim. */
  claimed?: boolean;
  /** Pay with this saved payment method rather than the subscription's or customer's default. */
  paymentMethod?: string;
  requestId?: string | null;
}

/**
 * Claims an invoice for one change that may charge it or end its collection (a payment attempt, a
 * void, a mark_uncollectible): only while nobody else holds it and its attempt count is still the one
 * read. Answers the claim's value (its expiry, which the holder may guard its own write on), or null.
 */
export async function claimInvoice(env: Env, row: InvoiceRow, options: Pick<PayOptions, "dueOnly" | "at">): Promise<number | null> {
  const now = Date.now();
  const conditions: SQL[] = [
    eq(invoices.id, row.id),
    eq(invoices.attemptCount, row.attemptCount),
    options.dueOnly ? eq(invoices.status, "open") : inArray(invoices.status, ["open", "uncollectible"]),
    or(isNull(invoices.claimedUntil), lt(invoices.claimedUntil, now)) as SQL,
  ];
  if (options.dueOnly) conditions.push(lte(invoices.nextPaymentAttempt, options.at));
  const until = now + CLAIM_MS;
  const result = await db(env.DB).update(invoices).set({ claimedUntil: until }).where(and(...conditions)).run();
  return (result.meta.changes ?? 0) > 0 ? until : null;
}

/**
 * The payment method an attempt uses: the one asked for, else the subscription's, else the customer's
 * default; the first of them still attached to the customer.
 */
export async function paymentMethodFor(env: Env, invoice: InvoiceRow, subscription: SubscriptionRow | null, asked: string | undefined) {
  const [customer] = await db(env.DB).select({ pm: customers.defaultPaymentMethod }).from(customers).where(eq(customers.id, invoice.customer)).limit(1);
  const candidates = [asked, subscription?.defaultPaymentMethod, customer?.pm].filter((id): id is string => typeof id === "string");
  if (candidates.length === 0) return null;
  const rows = await db(env.DB)
    .select()
    .from(paymentMethods)
    .where(and(inArray(paymentMethods.id, candidates), eq(paymentMethods.customer, invoice.customer)));
  const row = candidates.map((id) => rows.find((r) => r.id === id)).find((r) => r !== undefined);
  return row ? parseDetails(row) : null;
}

interface AttemptResult {
  id: string | null;
  status: IntentStatus | "no_payment_method";
}

/**
 * One payment attempt of an open invoice: claim it, charge it through its derived intent, settle the
 * result. Answers the invoice after it (or as it was, when someone else holds it).
 */
export async function payInvoice(env: Env, invoiceId: string, options: PayOptions): Promise<{ invoice: InvoiceRow | null; attempted: boolean; underWay?: boolean }> {
  let row = await invoiceById(env.DB, invoiceId);
  if (!row) return { invoice: null, attempted: false };
  if (!options.claimed && (await claimInvoice(env, row, options)) === null) return { invoice: row, attempted: false };
  const scope = scopeOf(row);
  try {
    // A payment still waiting on its customer (3DS) is abandoned before a new attempt, unless it went through meanwhile.
    if (row.paymentIntent) {
      const previous = await intentStub(env, row.paymentIntent).retrieve(scope, row.paymentIntent);
      if (previous && (previous.status === "succeeded" || previous.status === "processing")) {
        await settleAttempt(env, row, attemptOf(previous) ?? row.attemptCount, previous, options.at);
        // underWay: this call charged nothing; a payment it did not make (a shopper's on the invoice's
        // page, or an attempt whose outcome the PSP has not told yet) is being confirmed.
        return { invoice: await invoiceById(env.DB, invoiceId), attempted: true, underWay: previous.status === "processing" };
      }
      // requires_payment_method: a default_incomplete intent the customer may still confirm (or a declined one): canceled so it cannot charge a second time.
      if (previous && ["requires_payment_method", "requires_action", "requires_confirmation", "requires_capture"].includes(previous.status)) {
        const canceled = await intentStub(env, previous.id).cancel(systemRequest(scope, `invoice:${row.id}:abandon:${previous.id}`, options.origin), previous.id, { cancellationReason: "abandoned" });
        if (canceled.intent?.status === "succeeded") {
          await settleAttempt(env, row, attemptOf(canceled.intent) ?? row.attemptCount, canceled.intent, options.at);
          return { invoice: await invoiceById(env.DB, invoiceId), attempted: true };
        }
      }
      // An intent left for the customer to confirm (default_incomplete) and never confirmed holds the
      // next attempt's number: it counts as made, and this payment is the one after it.
      const made = previous ? attemptOf(previous) : null;
      if (made !== null && made > row.attemptCount) {
        await db(env.DB).update(invoices).set({ attemptCount: made }).where(and(eq(invoices.id, row.id), eq(invoices.attemptCount, row.attemptCount)));
        row = { ...row, attemptCount: made };
      }
    }
    const subscription = await subscriptionById(env.DB, row.subscription);
    // A subscription that ended keeps no open invoice: its cancellation voids them, and one left open
    // is voided here, after its waiting intent was canceled above, never charged. That one was left
    // open by a request that stopped between ending the subscription and voiding its invoices, or by a
    // cancellation that came while an attempt held the invoice's claim (it does not void a claimed invoice).
    if (options.dueOnly && row.status === "open" && subscription && ENDED_STATUSES.includes(subscription.status)) {
      const w = new Writes(env.DB, scope);
      addVoid(w, row, options.at, true);
      await w.event("invoice.voided", renderInvoice({ ...row, status: "void", nextPaymentAttempt: null, voidedAt: options.at, claimedUntil: null }), [row.id], { requestId: options.requestId ?? null });
      await w.commit(env);
      return { invoice: await invoiceById(env.DB, invoiceId), attempted: false };
    }
    const attempt = row.attemptCount + 1;
    const paymentMethod = await paymentMethodFor(env, row, subscription, options.paymentMethod);
    let result: AttemptResult = { id: null, status: "no_payment_method" };
    if (paymentMethod) {
      const id = await attemptIntentId(row.id, attempt);
      const stub = intentStub(env, id);
      let intent: IntentRecord | null = await stub.retrieve(scope, id);
      if (!intent) {
        const outcome = await stub.create(systemRequest(scope, `invoice:${row.id}:attempt:${attempt}`, options.origin, options.requestId), attemptParams(row, id, attempt, paymentMethod, true, !options.onSession, options.at));
        intent = outcome.intent ?? (await stub.retrieve(scope, id));
      }
      if (intent) result = intent;
    }
    await settleAttempt(env, row, attempt, result, options.at);
  } catch (err) {
    // The claim lapses by itself; the next sweep finds the same attempt and its intent.
    log("error", "invoice payment attempt failed", { invoice: row.id, error: String(err) });
    throw err;
  }
  return { invoice: await invoiceById(env.DB, invoiceId), attempted: true };
}

/** The intent of attempt `attempt` of an invoice: its amount left to pay, marked with the invoice and the attempt. */
function attemptParams(row: InvoiceRow, id: string, attempt: number, paymentMethod: PaymentMethodDetails | null, confirm: boolean, offSession: boolean, at: number): CreateIntentParams {
  return createParams({
    // Under a test clock, stamped with the clock's time (the simulation's), as Stripe stamps it.
    created: row.testClock ? at : null,
    id,
    amount: row.amountDue - row.amountPaid,
    currency: row.currency,
    customer: row.customer,
    description: row.description,
    metadata: { subscription: row.subscription, invoice: row.id, invoice_attempt: String(attempt) },
    invoiceId: row.id,
    paymentMethod,
    confirm,
    offSession,
  });
}

/**
 * payment_behavior=default_incomplete: the first invoice's intent (attempt 1) is created but not
 * confirmed; the customer confirms it with its client_secret (requires_payment_method, or
 * requires_confirmation with the default payment method). Its events settle the invoice as any
 * attempt's do. Nothing sweeps the invoice meanwhile (it has no next_payment_attempt).
 */
export async function openInvoiceIntent(env: Env, invoiceId: string, origin: string, requestId: string | null): Promise<void> {
  const row = await invoiceById(env.DB, invoiceId);
  if (!row || row.status !== "open" || row.paymentIntent) return;
  const scope = scopeOf(row);
  const subscription = await subscriptionById(env.DB, row.subscription);
  const paymentMethod = await paymentMethodFor(env, row, subscription, undefined);
  const id = await attemptIntentId(row.id, 1);
  const stub = intentStub(env, id);
  const outcome = await stub.create(systemRequest(scope, `invoice:${row.id}:attempt:1`, origin, requestId), attemptParams(row, id, 1, paymentMethod, false, false, await clockNow(env, row.testClock)));
  const intent = outcome.intent ?? (await stub.retrieve(scope, id));
  if (!intent) throw new Error(`invoice ${row.id}: its intent ${id} was not created`);
  // attempt_count stays 0 until the customer confirms (as at Stripe); the intent's events settle attempt 1.
  await db(env.DB)
    .update(invoices)
    .set({ paymentIntent: intent.id, claimedUntil: null, nextPaymentAttempt: null })
    .where(and(eq(invoices.id, row.id), isNull(invoices.paymentIntent)));
}

/**
 * The hosted invoice page's payment of an invoice nothing is coming for (marked uncollectible, or open
 * with no attempt planned) whose latest intent can no longer take a card (canceled) or that has none:
 * the next attempt's intent, not confirmed, for the customer to pay with a card on that intent's page
 * (as Stripe's page pays an uncollectible invoice). Made under the invoice's claim, so a payment the
 * merchant asks for meanwhile (POST /v1/invoices/{id}/pay) waits for it, and then finds this same
 * attempt's derived intent rather than charging the card on file beside it. Answers the invoice's
 * latest intent (the new one, or the one it already had when that one is not canceled), or null when
 * the invoice cannot be paid this way now (someone else holds it, or it is paid, void, or its retries
 * are still planned).
 */
export async function openPageAttempt(env: Env, invoiceId: string, origin: string, requestId: string | null): Promise<IntentRecord | null> {
  const row = await invoiceById(env.DB, invoiceId);
  if (!row || !(row.status === "uncollectible" || (row.status === "open" && row.nextPaymentAttempt === null))) return null;
  const until = await claimInvoice(env, row, { dueOnly: false, at: 0 });
  if (until === null) return null;
  const scope = scopeOf(row);
  try {
    const previous = row.paymentIntent ? await intentStub(env, row.paymentIntent).retrieve(scope, row.paymentIntent) : null;
    if (previous && previous.status !== "canceled") return previous;
    const attempt = Math.max(row.attemptCount, (previous && attemptOf(previous)) ?? 0) + 1;
    const id = await attemptIntentId(row.id, attempt);
    const stub = intentStub(env, id);
    let intent: IntentRecord | null = await stub.retrieve(scope, id);
    if (!intent) {
      const outcome = await stub.create(systemRequest(scope, `invoice:${row.id}:attempt:${attempt}`, origin, requestId), attemptParams(row, id, attempt, null, false, false, await clockNow(env, row.testClock)));
      intent = outcome.intent ?? (await stub.retrieve(scope, id));
    }
    if (!intent) throw new Error(`invoice ${row.id}: its intent ${id} was not created`);
    // attempt_count stays where it is until the customer confirms: the intent's events settle this attempt.
    await db(env.DB)
      .update(invoices)
      .set({ paymentIntent: intent.id })
      .where(and(eq(invoices.id, row.id), eq(invoices.claimedUntil, until)));
    return intent;
  } finally {
    await db(env.DB)
      .update(invoices)
      .set({ claimedUntil: null })
      .where(and(eq(invoices.id, row.id), eq(invoices.claimedUntil, until)));
  }
}

export function systemRequest(scope: Scope, key: string, origin: string, requestId: string | null = null): RequestContext {
  // The key names the attempt; the fingerprint is fixed, so a replay is always recognized as one.
  return { scope, requestId, idempotencyKey: key, fingerprint: "billing", origin, audit: null };
}

/** The attempt number an invoice's intent was made for. */
export function attemptOf(intent: Pick<IntentRecord, "metadata">): number | null {
  const n = Number(intent.metadata.invoice_attempt);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * When a renewal invoice whose attempt `attempt` failed at `at` is tried again (null: that was the
 * last). The schedule's delays (1, 3 and 5 days by default) count from the invoice's first failed
 * attempt: from `at` for the first; for a later one, from the first's time as the retry now made
 * tells it (its due time less its own delay), so a retry made early by hand (POST /pay) does not move
 * the others. A retry is never due at or before the attempt that failed: one that would be (the
 * attempts fell behind their schedule) comes the schedule's gap after this one instead, so an
 * advance of the clock makes one attempt per retry time that passed, never a burst for one instant.
 */
export function nextRetry(schedule: readonly number[], invoice: Pick<InvoiceRow, "nextPaymentAttempt">, attempt: number, at: number): number | null {
  const delay = schedule[attempt - 1];
  if (delay === undefined) return null;
  const before = attempt >= 2 ? (schedule[attempt - 2] ?? 0) : 0;
  const gap = delay > before ? delay - before : delay;
  const due = attempt >= 2 && invoice.nextPaymentAttempt !== null ? invoice.nextPaymentAttempt : at;
  const next = due + gap;
  return next > at ? next : at + gap;
}

/**
 * Records the result of attempt `attempt` of an invoice, once: paid; failed (with the next retry or the
 * merchant's final action); waiting for the customer (3DS); or unknown for now (looked at again later).
 */
export async function settleAttempt(env: Env, invoice: InvoiceRow, attempt: number, intent: AttemptResult, at: number): Promise<void> {
  const scope = scopeOf(invoice);
  const status = intent.status;
  if (status === "succeeded") {
    const w = new Writes(env.DB, scope);
    const paid: InvoiceRow = { ...invoice, status: "paid", amountPaid: invoice.amountDue, paidAt: at, paymentIntent: intent.id, attemptCount: Math.max(invoice.attemptCount, attempt), nextPaymentAttempt: null, claimedUntil: null };
    // Money moved: the invoice is paid whatever happened to it meanwhile (voided by a cancellation, uncollectible).
    w.add("UPDATE invoices SET status = 'paid', amount_paid = amount_due, paid_at = ?, payment_intent = ?, attempt_count = MAX(attempt_count, ?), next_payment_attempt = NULL, claimed_until = NULL WHERE id = ? AND status != 'paid'", [
      at,
      intent.id,
      attempt,
      invoice.id,
    ]);
    await addInvoicePaidEvents(w, paid);
    await w.commit(env);
    await afterPayment(env, invoice.subscription, invoice.id, intent.id);
    return;
  }
  if (status === "processing") {
    // Unknown for now: reconciliation will tell (and the events hook settles it); the sweep looks again later.
    await db(env.DB)
      .update(invoices)
      .set({ paymentIntent: intent.id, claimedUntil: Date.now() + RECHECK_MS })
      .where(and(eq(invoices.id, invoice.id), eq(invoices.status, "open")));
    return;
  }
  if (status === "requires_action") {
    const w = new Writes(env.DB, scope);
    const waiting: InvoiceRow = { ...invoice, paymentIntent: intent.id, attemptCount: attempt, nextPaymentAttempt: null, claimedUntil: null };
    w.add("UPDATE invoices SET payment_intent = ?, attempt_count = ?, next_payment_attempt = NULL, claimed_until = NULL WHERE id = ? AND status = 'open' AND attempt_count = ?", [intent.id, attempt, invoice.id, attempt - 1]);
    await w.event("invoice.payment_action_required", renderInvoice(waiting), [invoice.id, String(attempt)]);
    await w.commit(env);
    return;
  }
  // Declined, failed, canceled, or nothing to pay with.
  const cfg = config(env);
  const first = invoice.billingReason === "subscription_create";
  // An uncollectible invoice (dunning gave up on it, or the merchant marked it so) is not retried:
  // a payment asked for by hand that fails leaves it uncollectible.
  const given = invoice.status === "uncollectible";
  const nextAttempt = first || given ? null : nextRetry(cfg.dunningSchedule, invoice, attempt, at);
  const final = !first && nextAttempt === null;
  // The invoice as this failure leaves it, before any final action: what invoice.payment_failed tells.
  const attempted: InvoiceRow = {
    ...invoice,
    paymentIntent: intent.id ?? invoice.paymentIntent,
    attemptCount: attempt,
    nextPaymentAttempt: nextAttempt,
    claimedUntil: null,
    // Open; an uncollectible one (paid by hand after dunning gave up, or after the merchant marked it
    // uncollectible) stays uncollectible when that payment fails too.
    status: invoice.status === "paid" ? "paid" : given ? "uncollectible" : "open",
  };
  const failed: InvoiceRow = final ? { ...attempted, status: "uncollectible", markedUncollectibleAt: at } : attempted;
  const w = new Writes(env.DB, scope);
  w.add("UPDATE invoices SET payment_intent = ?, attempt_count = ?, next_payment_attempt = ?, claimed_until = NULL, status = ?, marked_uncollectible_at = ? WHERE id = ? AND status = ? AND attempt_count = ?", [
    failed.paymentIntent,
    attempt,
    failed.nextPaymentAttempt,
    failed.status,
    failed.markedUncollectibleAt,
    invoice.id,
    invoice.status,
    attempt - 1,
  ]);
  // In the order they happened: the attempt failed (the invoice still open), then dunning gave up on it
  // (then, in afterFailure, the subscription's final action).
  await w.event("invoice.payment_failed", renderInvoice(attempted), [invoice.id, String(attempt)]);
  if (final) await w.event("invoice.marked_uncollectible", renderInvoice(failed), [invoice.id]);
  await w.commit(env);
  await afterFailure(env, invoice.subscription, at);
}

/**
 * After a payment: the subscription is active again once nothing it owes is still being collected;
 * with save_default_payment_method=on_subscription, the card it was paid with (`intentId`) becomes its
 * default payment method.
 */
async function afterPayment(env: Env, subscriptionId: string, invoiceId: string, intentId: string | null): Promise<void> {
  let paidWith: string | null | undefined;
  await transitionSubscription(env, subscriptionId, async (row) => {
    const status = await statusAfterPayment(env, row, invoiceId);
    if (row.saveDefaultPaymentMethod !== "on_subscription" || !intentId || ENDED_STATUSES.includes(row.status)) return status;
    // Saved once, whichever read of the subscription this transition makes.
    if (paidWith === undefined) paidWith = await savePaidCard(env, row, intentId);
    return paidWith && paidWith !== row.defaultPaymentMethod ? { ...status, defaultPaymentMethod: paidWith } : status;
  });
}

/** The status change a payment makes: active again once nothing the subscription owes is still being collected. */
async function statusAfterPayment(env: Env, row: SubscriptionRow, invoiceId: string): Promise<SubscriptionChange | null> {
  if (!["incomplete", "past_due", "unpaid"].includes(row.status)) return null;
  const owing = await db(env.DB)
    .select({ id: invoices.id })
    .from(invoices)
    .where(and(eq(invoices.subscription, row.id), ne(invoices.id, invoiceId), eq(invoices.status, "open")))
    .limit(1);
  if (owing.length > 0) return null;
  if (row.status !== "unpaid") return { status: "active" };
  // An unpaid subscription was not renewed while it was unpaid. Paid up, it resumes with the period
  // it is in now (billed at the next sweep, once): the periods it missed are not charged after the
  // fact, one invoice each.
  const price = await priceOf(env, row.price);
  if (!price) return { status: "active" };
  const interval = price.interval as Interval;
  const now = await clockNow(env, row.testClock);
  let index = row.periodIndex;
  while (boundary(row.billingCycleAnchor, interval, price.intervalCount, index + 2) <= now) index++;
  if (index === row.periodIndex) return { status: "active" };
  return {
    status: "active",
    periodIndex: index,
    currentPeriodStart: boundary(row.billingCycleAnchor, interval, price.intervalCount, index),
    currentPeriodEnd: boundary(row.billingCycleAnchor, interval, price.intervalCount, index + 1),
  };
}

/** After a failed attempt: a renewal that failed makes the subscription past due; one that failed for good ends or freezes it. */
export async function afterFailure(env: Env, subscriptionId: string, at: number): Promise<void> {
  const finalAction = async (row: SubscriptionRow) => (await merchantSettings(directoryDb(env), row.merchantId)).subscription_dunning_final_action;
  await transitionSubscription(env, subscriptionId, async (row) => {
    if (!RENEWING.includes(row.status as SubscriptionStatus)) return null;
    const open = await db(env.DB)
      .select({ status: invoices.status, attempts: invoices.attemptCount, reason: invoices.billingReason })
      .from(invoices)
      .where(and(eq(invoices.subscription, row.id), inArray(invoices.status, ["open", "uncollectible"])));
    const renewals = open.filter((i) => i.reason === "subscription_cycle" && i.attempts > 0);
    if (renewals.some((i) => i.status === "uncollectible")) {
      if ((await finalAction(row)) === "unpaid") return { status: "unpaid" };
      // Stripe's cancellation_details.reason payment_failed (any comment and feedback given before are kept).
      return { status: "canceled", canceledAt: at, endedAt: at, cancellationDetails: cancellationDetailsJson(row.cancellationDetails, { reason: "payment_failed" }) };
    }
    if (renewals.length > 0 && row.status !== "past_due") return { status: "past_due" };
    return null;
  });
}

/** Stored cancellation_details (JSON) with `change` applied to them (a key given as undefined is left as it was). */
export function cancellationDetailsJson(stored: string | null, change: Partial<CancellationDetailsJson>): string {
  const d: Partial<CancellationDetailsJson> = stored ? (JSON.parse(stored) as Partial<CancellationDetailsJson>) : {};
  const pick = <K extends keyof CancellationDetailsJson>(k: K): CancellationDetailsJson[K] | null => (change[k] !== undefined ? (change[k] ?? null) : (d[k] ?? null));
  const next: CancellationDetailsJson = { comment: pick("comment"), feedback: pick("feedback"), feedback_option: pick("feedback_option"), reason: pick("reason") };
  return JSON.stringify(next);
}

/** The events hook: an invoice's intent reached a result (e.g. after 3DS, or after reconciliation). */
export async function settleFromIntent(env: Env, intent: { id: string; status: IntentStatus; invoice: string | null; metadata: Record<string, string>; merchantId: string; livemode: boolean }): Promise<void> {
  if (!intent.invoice) return;
  const attempt = attemptOf(intent);
  if (attempt === null) return;
  const invoice = await invoiceById(env.DB, intent.invoice);
  if (!invoice) return;
  // Only the invoice's own attempt settles it: the intent the engine made for that attempt (its id is
  // derived from the invoice and the attempt), of the invoice's merchant and mode. Any other intent
  // naming the invoice (a merchant's, a shopper's, another merchant's) neither pays nor fails it.
  if (invoice.merchantId !== intent.merchantId || invoice.livemode !== intent.livemode) return;
  if (intent.id !== (await attemptIntentId(invoice.id, attempt))) return;
  if (invoice.status === "paid") return;
  if (invoice.status !== "open" && intent.status !== "succeeded") return;
  // A failure only counts for the attempt the invoice is at (settleAttempt guards it as well).
  if (intent.status !== "succeeded" && invoice.attemptCount > attempt) return;
  if (intent.status === "requires_action" || intent.status === "requires_confirmation") return;
  await settleAttempt(env, invoice, attempt, { id: intent.id, status: intent.status }, await clockNow(env, invoice.testClock));
}

// ---- sweeps ----------------------------------------------------------------------------------------

export interface SweepScope {
  /** Null: the real-time sweep (objects on no test clock); else the objects on this clock. */
  testClock: string | null;
  now: number;
  /** At most this many renewals and payment attempts. */
  limit: number;
  origin: string;
  /** The statements the steps may run in this invocation (src/db/budget.ts): a step starts only when one fits. */
  budget?: StatementBudget;
  /** Subscriptions and invoices not to try again in this invocation (kept across calls of one sweep). */
  skipped?: Set<string>;
  /** Where the pass records the subscriptions and invoices whose step failed (threw): a test clock with one is Stripe's internal_failure. */
  failed?: Set<string>;
}

/** What a billing pass did: its steps, and whether it stopped because nothing was left due (not at its limit or budget). */
export interface DueResult {
  steps: number;
  drained: boolean;
}

/**
 * Before an open invoice is voided: the intent it waits on (the customer's to confirm, a 3DS
 * challenge, or a declined attempt) is canceled, so nothing charges for it afterwards. Answers that
 * intent as it ends up (succeeded: money moved meanwhile; processing: not known yet), or null.
 */
export async function abandonInvoiceIntent(env: Env, invoice: InvoiceRow, why: string, origin: string): Promise<IntentRecord | null> {
  if (invoice.status !== "open" || !invoice.paymentIntent) return null;
  const scope = scopeOf(invoice);
  const stub = intentStub(env, invoice.paymentIntent);
  const waiting: IntentRecord | null = await stub.retrieve(scope, invoice.paymentIntent);
  if (!waiting || !WAITING.includes(waiting.status)) return waiting;
  const outcome = await stub.cancel(systemRequest(scope, `invoice:${invoice.id}:${why}:${waiting.id}`, origin), waiting.id, { cancellationReason: "abandoned" });
  return outcome.intent ?? waiting;
}

/** Stripe's window for a subscription's first payment: still incomplete this long after it started, it expires. */
export const INCOMPLETE_EXPIRY_MS = 23 * 3_600_000;
export const WAITING: IntentStatus[] = ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"];

/**
 * Subscriptions of one clock still incomplete 23 hours after they started (their first invoice never
 * paid: default_incomplete never confirmed, or a first payment declined) become incomplete_expired, for
 * good: the first invoice is voided, the intent it waited on is canceled first (so nothing charges
 * after the expiry), and customer.subscription.updated and invoice.voided are sent. A payment that went
 * through meanwhile wins: the invoice is settled paid and the subscription activates instead; one whose
 * outcome is not known yet (processing) is left for the next sweep. Answers how many expired.
 */
export async function expireIncomplete(env: Env, sweep: SweepScope): Promise<DueResult> {
  const clock = sweep.testClock ? eq(subscriptions.testClock, sweep.testClock) : isNull(subscriptions.testClock);
  // A range of subscriptions_incomplete: this clock's (or real time's) incomplete ones, oldest first.
  const rows = await db(env.DB)
    .select()
    .from(subscriptions)
    .where(and(sql`${subscriptions.status} = 'incomplete'`, lte(subscriptions.currentPeriodStart, sweep.now - INCOMPLETE_EXPIRY_MS), clock))
    .orderBy(asc(subscriptions.currentPeriodStart))
    .limit(sweep.limit);
  let expired = 0;
  for (const row of rows) {
    if (sweep.budget && !sweep.budget.allows(UNIT_COST.billingStep)) return { steps: expired, drained: false };
    const scope = scopeOf(row);
    const invoice = row.latestInvoice ? await invoiceById(env.DB, row.latestInvoice) : null;
    const intent = invoice ? await abandonInvoiceIntent(env, invoice, "expire", sweep.origin) : null;
    if (invoice && intent?.status === "succeeded") {
      await settleAttempt(env, invoice, attemptOf(intent) ?? Math.max(invoice.attemptCount, 1), intent, sweep.now);
      continue;
    }
    if (intent?.status === "processing") continue;
    const w = new Writes(env.DB, scope);
    await updateSubscription(w, row, { status: "incomplete_expired", endedAt: sweep.now }, { price: await priceOf(env, row.price), extraWhere: { sql: "status = 'incomplete'", binds: [] } });
    if (invoice?.status === "open") {
      // Voided only with the expiry (the statement before it is the event, itself guarded by the update).
      w.add("UPDATE invoices SET status = 'void', next_payment_attempt = NULL, claimed_until = NULL, voided_at = ? WHERE id = ? AND status = 'open' AND changes() > 0", [sweep.now, invoice.id]);
      await w.event("invoice.voided", renderInvoice({ ...invoice, status: "void", nextPaymentAttempt: null, claimedUntil: null, voidedAt: sweep.now }), [invoice.id]);
    }
    const [changed] = await w.commit(env);
    if (changed) expired += 1;
  }
  return { steps: expired, drained: rows.length < sweep.limit };
}

/**
 * Whether an attempt of this test clock that is due is held by another sweep right now (its claim;
 * not one this pass set aside itself): the clock is not drained until that sweep is done with it and
 * with what it holds back (see processDue). An invoice whose claim a failure left lapses in minutes.
 * The range of invoices_due that processDue's own read of due invoices walks.
 */
async function heldOnClock(env: Env, testClock: string, now: number, skip: string): Promise<boolean> {
  const [row] = await db(env.DB)
    .select({ id: invoices.id })
    .from(invoices)
    .where(
      and(
        eq(invoices.status, "open"),
        lte(invoices.nextPaymentAttempt, now),
        sql`${invoices.claimedUntil} >= ${Date.now()}`,
        eq(invoices.testClock, testClock),
        sql`${invoices.id} NOT IN (SELECT value FROM json_each(${skip}))`,
      ),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * Expires the incomplete subscriptions of one clock, then renews the due subscriptions and makes the
 * due payment attempts, oldest first, so that advancing a test clock by months replays them in the
 * order they would have happened.
 */
export async function processDue(env: Env, sweep: SweepScope): Promise<DueResult> {
  const d = db(env.DB);
  const clockCondition = (column: typeof subscriptions.testClock | typeof invoices.testClock) => (sweep.testClock ? eq(column, sweep.testClock) : isNull(column));
  const skipped = sweep.skipped ?? new Set<string>();
  const incomplete = await expireIncomplete(env, sweep);
  let done = incomplete.steps;
  // An attempt this pass found taken by another sweep: that one finishes it, and this pass did not drain the clock.
  let held = false;
  // Trials due for Stripe's customer.subscription.trial_will_end (three days before their end) come
  // first: each is due before its own subscription's every other step (the trial's end renews it),
  // and a trialing subscription has no payment to wait for.
  while (done < sweep.limit) {
    if (sweep.budget && !sweep.budget.allows(UNIT_COST.billingStep)) return { steps: done, drained: false };
    const skip = JSON.stringify([...skipped]);
    const [trial] = await d
      .select()
      .from(subscriptions)
      .where(
        and(
          sql`${subscriptions.status} = 'trialing'`,
          sql`${subscriptions.trialWillEndSent} = 0`,
          lte(subscriptions.trialEnd, sweep.now + TRIAL_NOTICE_MS),
          clockCondition(subscriptions.testClock),
          ...(skipped.size ? [sql`${subscriptions.id} NOT IN (SELECT value FROM json_each(${skip}))`] : []),
        ),
      )
      .orderBy(asc(subscriptions.trialEnd))
      .limit(1);
    if (!trial) break;
    done += 1;
    try {
      await tellTrialWillEnd(env, trial);
    } catch (err) {
      log("error", "a billing step failed; the sweep goes on without it", { object: trial.id, error: String(err) });
      skipped.add(trial.id);
      sweep.failed?.add(trial.id);
    }
  }
  while (done < sweep.limit) {
    if (sweep.budget && !sweep.budget.allows(UNIT_COST.billingStep)) return { steps: done, drained: false };
    // Bound as one JSON array: a sweep may skip more ids than D1 binds parameters (100).
    const skip = JSON.stringify([...skipped]);
    // One subscription's steps happen in the order of their times, also while another sweep of the
    // same clock runs beside this one (an advance and the cron's, or two crons): a step waits while an
    // earlier payment attempt of its subscription is still to be made, by this sweep or by the one
    // holding it now (what this sweep set aside itself does not hold it back). Going past a held
    // retry renewed a subscription that dunning was about to end, and charged periods after its end.
    const earlierAttempt = (subscription: SQL, before: SQL, self: SQL | null) =>
      sql`NOT EXISTS (SELECT 1 FROM invoices AS earlier WHERE earlier.subscription = ${subscription} AND +earlier.status = 'open' AND +earlier.next_payment_attempt < ${before}${self ? sql` AND earlier.id != ${self}` : sql``}${skipped.size ? sql` AND earlier.id NOT IN (SELECT value FROM json_each(${skip}))` : sql``})`;
    const [sub] = await d
      .select()
      .from(subscriptions)
      .where(
        and(
          sql`${subscriptions.status} IN (${RENEWING_SQL})`,
          lte(subscriptions.currentPeriodEnd, sweep.now),
          clockCondition(subscriptions.testClock),
          ...(skipped.size ? [sql`${subscriptions.id} NOT IN (SELECT value FROM json_each(${skip}))`] : []),
          earlierAttempt(sql`${subscriptions.id}`, sql`${subscriptions.currentPeriodEnd}`, null),
        ),
      )
      .orderBy(asc(subscriptions.currentPeriodEnd))
      .limit(1);
    const realNow = Date.now();
    const [inv] = await d
      .select()
      .from(invoices)
      .where(
        and(
          eq(invoices.status, "open"),
          lte(invoices.nextPaymentAttempt, sweep.now),
          or(isNull(invoices.claimedUntil), lt(invoices.claimedUntil, realNow)),
          clockCondition(invoices.testClock),
          ...(skipped.size ? [sql`${invoices.id} NOT IN (SELECT value FROM json_each(${skip}))`] : []),
          earlierAttempt(sql`${invoices.subscription}`, sql`${invoices.nextPaymentAttempt}`, sql`${invoices.id}`),
        ),
      )
      .orderBy(asc(invoices.nextPaymentAttempt))
      .limit(1);
    if (!sub && !inv) return { steps: done, drained: incomplete.drained && !held && !(sweep.testClock && (await heldOnClock(env, sweep.testClock, sweep.now, skip))) };
    done += 1;
    const renewing = sub && (!inv || sub.currentPeriodEnd <= (inv.nextPaymentAttempt ?? 0)) ? sub : null;
    try {
      if (renewing) {
        const renewal = await renewSubscription(env, renewing);
        if (renewal) await payInvoice(env, renewal.invoiceId, { at: renewal.at, onSession: false, origin: sweep.origin, dueOnly: true });
        else {
          // Null: it ended at period end, or another sweep renewed it first (then go on from where it is).
          // Unchanged means it cannot be renewed now: leave it to the next sweep.
          const now = await subscriptionById(env.DB, renewing.id);
          if (!now || now.version === renewing.version) skipped.add(renewing.id);
        }
      } else if (inv) {
        const { invoice: after, attempted } = await payInvoice(env, inv.id, { at: inv.nextPaymentAttempt ?? sweep.now, onSession: false, origin: sweep.origin, dueOnly: true });
        // Held by another sweep: that one makes the attempt (and, set aside by neither, it still holds
        // back the later steps of its subscription here). Its outcome not known yet: not again in this sweep.
        if (!attempted) held = true;
        else if (!after || (after.attemptCount === inv.attemptCount && after.status === inv.status)) skipped.add(inv.id);
      }
    } catch (err) {
      // One subscription or invoice that cannot be handled (its price gone, say) is left for a later
      // sweep; the others due after it are still renewed and paid.
      const id = renewing?.id ?? inv?.id ?? "";
      log("error", "a billing step failed; the sweep goes on without it", { object: id, error: String(err) });
      skipped.add(id);
      sweep.failed?.add(id);
    }
  }
  return { steps: done, drained: false };
}

/** How long before a trial's end its customer.subscription.trial_will_end is sent: three days, as at Stripe. */
export const TRIAL_NOTICE_MS = 3 * 86_400_000;

/**
 * Stripe's customer.subscription.trial_will_end for a trialing subscription, once: the mark and the
 * event in one transaction, the event only if this wrote the mark (two sweeps at once send one; a
 * subscription canceled meanwhile, no longer trialing, gets none).
 */
async function tellTrialWillEnd(env: Env, row: SubscriptionRow): Promise<void> {
  const w = new Writes(env.DB, scopeOf(row));
  w.add("UPDATE subscriptions SET trial_will_end_sent = 1 WHERE id = ? AND status = 'trialing' AND trial_will_end_sent = 0", [row.id]);
  await w.event("customer.subscription.trial_will_end", renderSubscription({ ...row, trialWillEndSent: true }, undefined, await priceOf(env, row.price)), [row.id, "trial_will_end"]);
  await w.commit(env);
}

/**
 * Cron: the real-time sweep, then any test clock left advancing (by a request that died, or an advance
 * that had more due than one invocation's statements). A clock is ready once nothing is left due at its
 * time; otherwise a later sweep goes on. `skipped` carries what failed across the calls of one sweep.
 */
export async function billingSweep(env: Env, now: number, limit = 100, budget?: StatementBudget, skipped = new Set<string>()): Promise<DueResult> {
  const origin = config(env).publicBaseUrl ?? "";
  const real = await processDue(env, { testClock: null, now, limit, origin, budget, skipped });
  let steps = real.steps;
  let drained = real.drained;
  if (budget && !budget.allows(UNIT_COST.billingStep)) return { steps, drained: false };
  const advancing = await db(env.DB).select().from(testClocks).where(eq(testClocks.status, "advancing")).limit(10);
  for (const clock of advancing) {
    if (budget && !budget.allows(UNIT_COST.billingStep)) return { steps, drained: false };
    const failed = new Set<string>();
    const pass = await processDue(env, { testClock: clock.id, now: clock.frozenTime, limit, origin, budget, skipped, failed });
    steps += pass.steps;
    // A step that failed: Stripe's internal_failure (the clock did not reach its time cleanly), not ready.
    const status = failed.size > 0 ? "internal_failure" : pass.drained ? "ready" : null;
    if (status) await finishTestClock(env, clock, status, null);
    if (status !== "ready") drained = false;
  }
  return { steps, drained };
}

/**
 * Ends an advance of a test clock (left advancing at its frozen time): ready, or internal_failure when
 * a step failed; with Stripe's test_helpers.test_clock.ready or .internal_failure event, in the same
 * transaction, only if this is the write that ended it (an advance's request and the cron's pass may
 * both try). Answers whether it was.
 */
export async function finishTestClock(env: Env, clock: TestClockRow, status: "ready" | "internal_failure", requestId: string | null): Promise<boolean> {
  const w = new Writes(env.DB, scopeOf(clock));
  w.add("UPDATE test_clocks SET status = ? WHERE id = ? AND status = 'advancing' AND frozen_time = ?", [status, clock.id, clock.frozenTime]);
  await w.event(`test_helpers.test_clock.${status}`, renderTestClock({ ...clock, status }), [clock.id, String(clock.frozenTime), status], { requestId });
  const [changed] = await w.commit(env);
  return (changed ?? 0) > 0;
}
