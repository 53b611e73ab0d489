// Checkout Sessions in D1: rows, Stripe's rendering, and the two transitions, each one conditional
// D1 write with its event in the same batch (see billing/writes.ts):
// - open -> complete, once the session's payment intent went through (succeeded, or authorized with
//   manual capture). Called wherever the gateway learns it: the checkout page, the 3DS page, and the
//   intents' events (3DS, provider returns, reconciliation), at least once and idempotent.
// - open -> expired, by /expire, by the cron past expires_at, or by a shopper opening an overdue one.
//   The intent is canceled first, through its Durable Object: an expired session can never be paid,
//   and a session whose intent already went through completes instead.
import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { derivedId, hasPrefix } from "../core/ids";
import { isPaid } from "../core/intent";
import type { EventRecord, IntentRecord, Metadata, Scope } from "../core/types";
import { UNIT_COST, type StatementBudget } from "../db/budget";
import { advanceRound, afterCursor, roundCursor, type SweepRound } from "../db/rounds";
import { checkoutSessions } from "../db/schema";
import type { Env } from "../env";
import type { RequestContext } from "../intents/params";
import { log } from "../log";
import { Writes } from "../billing/writes";
import { checkoutSessionPageUrl } from "../pages/urls";
import { renderPrice, type PriceJson, type PriceRow } from "../billing/store";
import { merchantEnv } from "../db/shards";

export type CheckoutSessionRow = typeof checkoutSessions.$inferSelect;
export type SessionStatus = "open" | "complete" | "expired";

export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** Stripe's bounds for expires_at: 30 minutes to 24 hours after creation. */
export const MIN_SESSION_TTL_MS = 30 * 60 * 1000;

/** A line item as stored on the session. */
export interface SessionLineItem {
  id: string;
  name: string;
  quantity: number;
  unitAmount: number;
  /**
   * The /v1/prices id: the price named, or the one made inline from price_data (with the session, as at
   * Stripe; sessions made before that hold an id no price has).
   */
  price: string;
  priceType: "one_time" | "recurring";
  /** The price's product: price_data[product], the one made from product_data, or the named price's (absent on sessions made before products were made from product_data). */
  product?: string | null;
  /** price_data[product_data]'s description, images and metadata, kept as given. */
  productDescription?: string;
  images?: string[];
  productMetadata?: Record<string, string>;
  /** line_items[][metadata]. */
  metadata?: Record<string, string>;
  /** line_items[][adjustable_quantity], given with enabled=false (the page does not adjust quantities). */
  adjustableQuantity?: { enabled: false; maximum: number | null; minimum: number | null };
}

const db = (d1: D1Database) => drizzle(d1);
const seconds = (ms: number) => Math.floor(ms / 1000);

export const lineItemsOf = (row: CheckoutSessionRow): SessionLineItem[] => JSON.parse(row.lineItems) as SessionLineItem[];

/** The session, whoever asks (the page: the session id is the shopper's link). */
export async function sessionById(d1: D1Database, id: string): Promise<CheckoutSessionRow | null> {
  if (!hasPrefix(id, "cs")) return null;
  const [row] = await db(d1).select().from(checkoutSessions).where(eq(checkoutSessions.id, id)).limit(1);
  return row ?? null;
}

/** The session of this merchant and mode, or null. */
export async function scopedSession(d1: D1Database, scope: Scope, id: string): Promise<CheckoutSessionRow | null> {
  const row = await sessionById(d1, id);
  return row && row.merchantId === scope.merchantId && row.livemode === scope.livemode ? row : null;
}

export async function sessionOfIntent(d1: D1Database, intentId: string): Promise<CheckoutSessionRow | null> {
  const [row] = await db(d1).select().from(checkoutSessions).where(eq(checkoutSessions.paymentIntent, intentId)).limit(1);
  return row ?? null;
}

/** Whether the intent was made for a Checkout Session (or, made before createdVia, returns to one's page). */
export function isSessionIntent(intent: Pick<IntentRecord, "createdVia" | "returnUrl">): boolean {
  return intent.createdVia === "checkout" || /\/checkout\/cs_[A-Za-z0-9]+\/return$/.test(intent.returnUrl ?? "");
}

/**
 * The Checkout Session an intent was made for, if any, as a payment page must see it: a session past
 * its expires_at is expired first (its intent canceled), so that no page other than the session's own
 * (the bare payment page, the 3D Secure page) pays a session that can no longer be paid. A GET
 * (`readOnly`) only finds it: the session's own page shows an overdue one as expired, and a GET
 * changes nothing.
 */
export async function sessionGuard(env: Env, intent: IntentRecord, base: string, readOnly = false): Promise<CheckoutSessionRow | null> {
  if (!isSessionIntent(intent)) return null;
  const shard = merchantEnv(env, intent.merchantId);
  const row = await sessionOfIntent(shard.DB, intent.id);
  if (!row || readOnly || !isOverdue(row, Date.now())) return row;
  return (await expireSession(shard, row, base, "system")).row;
}

/** success_url with {CHECKOUT_SESSION_ID} replaced (also when a URL parser percent-encoded the braces). */
export function successLocation(row: CheckoutSessionRow): string {
  const filled = row.successUrl.replaceAll("{CHECKOUT_SESSION_ID}", row.id).replaceAll("%7BCHECKOUT_SESSION_ID%7D", row.id);
  // As the parser reads it (a URL stored before control characters were refused would break the
  // redirect's Location header after the payment went through).
  try {
    return new URL(filled).toString();
  } catch {
    return filled;
  }
}

/** Open but past expires_at: the page treats it as expired at once. */
export function isOverdue(row: CheckoutSessionRow, now: number): boolean {
  return row.status === "open" && row.expiresAt <= now;
}


/**
 * A line item's price: the Price itself (`price`, the row of item.price), as at Stripe; for a line of a
 * session made before its price_data made a Price, the Price its line describes (archived, as an
 * inline price is).
 */
function lineItemPrice(item: SessionLineItem, row: CheckoutSessionRow, price: PriceRow | undefined): PriceJson {
  if (price) return renderPrice(price);
  return {
    id: item.price,
    object: "price",
    active: false,
    currency: row.currency,
    unit_amount: item.unitAmount,
    unit_amount_decimal: String(item.unitAmount),
    recurring: null,
    type: "one_time",
    billing_scheme: "per_unit",
    custom_unit_amount: null,
    lookup_key: null,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    product: item.product ?? null,
    product_name: item.name,
    nickname: null,
    metadata: {},
    created: seconds(row.created),
    livemode: row.livemode,
  };
}

/** The prices of a session's line items, by id (what renderLineItems renders them from). */
export type LinePrices = ReadonlyMap<string, PriceRow>;

export function renderLineItem(item: SessionLineItem, row: CheckoutSessionRow, prices: LinePrices = new Map()) {
  const total = item.unitAmount * item.quantity;
  const currency = row.currency;
  return {
    id: item.id,
    object: "item" as const,
    amount_discount: 0,
    amount_subtotal: total,
    amount_tax: 0,
    amount_total: total,
    currency,
    description: item.name,
    quantity: item.quantity,
    adjustable_quantity: item.adjustableQuantity ?? null,
    metadata: item.metadata ?? {},
    price: {
      ...lineItemPrice(item, row, prices.get(item.price)),
      // Ours: what price_data[product_data] gave, as given (images are not kept on the product).
      ...(item.productDescription !== undefined || item.images || item.productMetadata
        ? { product_data: { name: item.name, description: item.productDescription ?? null, images: item.images ?? [], metadata: item.productMetadata ?? {} } }
        : {}),
    },
  };
}

export function renderLineItems(row: CheckoutSessionRow, prices: LinePrices = new Map()) {
  return { object: "list" as const, data: lineItemsOf(row).map((i) => renderLineItem(i, row, prices)), has_more: false, url: `/v1/checkout/sessions/${row.id}/line_items` };
}

export interface RenderOptions {
  base: string;
  paymentIntent?: unknown;
  /** Stripe's includable line_items, rendered with these prices (absent: not included). */
  lineItems?: LinePrices;
}

export function renderSession(row: CheckoutSessionRow, options: RenderOptions) {
  return {
    id: row.id,
    object: "checkout.session" as const,
    amount_subtotal: row.amountSubtotal,
    amount_total: row.amountTotal,
    cancel_url: row.cancelUrl,
    client_reference_id: row.clientReferenceId,
    created: seconds(row.created),
    currency: row.currency,
    customer: row.customer,
    customer_email: row.customerEmail,
    expires_at: seconds(row.expiresAt),
    livemode: row.livemode,
    metadata: JSON.parse(row.metadata || "{}") as Metadata,
    mode: "payment" as const,
    payment_intent: options.paymentIntent ?? row.paymentIntent,
    payment_method_types: ["card"],
    payment_status: row.paymentStatus,
    status: row.status,
    success_url: row.successUrl,
    // As Stripe's: the page's address only while the session can be paid.
    url: row.status === "open" ? checkoutSessionPageUrl(options.base, row.id) : null,
    ...(options.lineItems ? { line_items: renderLineItems(row, options.lineItems) } : {}),
    ...sessionDefaults(row),
  };
}

/**
 * Stripe's fields of a session that this gateway's hosted page (mode=payment, cards, no taxes,
 * discounts, shipping or custom fields) fills the same way every time.
 */
function sessionDefaults(row: CheckoutSessionRow) {
  return {
    ui_mode: "hosted_page" as const,
    client_secret: null,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    custom_fields: [] as [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    // A completed session always has its customer_details, as Stripe's (a checkout.session.completed
    // handler reads customer_details.email): the email it was given, else null (the page asks for none).
    customer_details: row.customerEmail || row.status === "complete" ? { address: null, business_name: null, email: row.customerEmail ?? null, individual_name: null, name: null, phone: null, tax_exempt: null, tax_ids: null } : null,
    discounts: [] as [],
    payment_method_options: { card: { request_three_d_secure: "automatic" as const } },
    phone_number_collection: { enabled: false as const },
    shipping_options: [] as [],
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    billing_address_collection: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    currency_conversion: null,
    customer_account: null,
    customer_creation: null,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    locale: null,
    managed_payments: null,
    origin_context: null,
    payment_link: null,
    payment_method_collection: null,
    payment_method_configuration_details: null,
    permissions: null,
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    submit_type: null,
    subscription: null,
    wallet_options: null,
  };
}

/** Events carry the session as /v1 renders it (no expansions); its url uses the base it was created on. */
function eventObject(row: CheckoutSessionRow, base: string) {
  return renderSession(row, { base });
}


/**
 * open -> complete when the session's intent went through. Idempotent: the write and its event happen
 * only if the session was still open. Answers the session as it now is.
 */
export async function completeFromIntent(env: Env, intent: IntentRecord, base: string, requestId: string | null = null): Promise<CheckoutSessionRow | null> {
  const row = await sessionOfIntent(env.DB, intent.id);
  if (!row || row.merchantId !== intent.merchantId || row.livemode !== intent.livemode) return row;
  if (row.status !== "open" || !isPaid(intent)) return row;
  const now = Date.now();
  // Manual capture: the session is complete, the money is only authorized (Stripe says unpaid).
  const paymentStatus = intent.status === "succeeded" ? "paid" : "unpaid";
  const next: CheckoutSessionRow = { ...row, status: "complete", paymentStatus, completedAt: now };
  const writes = new Writes(env.DB, { merchantId: row.merchantId, livemode: row.livemode });
  writes.add("UPDATE checkout_sessions SET status = 'complete', payment_status = ?, completed_at = ? WHERE id = ? AND status = 'open'", [paymentStatus, now, row.id]);
  await writes.event("checkout.session.completed", eventObject(next, base), [row.id], { requestId });
  const [changed] = await writes.commit(env);
  return changed ? next : await sessionById(env.DB, row.id);
}

export type ExpireResult = { kind: "expired" | "complete" | "unchanged"; row: CheckoutSessionRow };

/**
 * open -> expired. The intent is canceled through its Durable Object first (serialized with any
 * payment of it); if it went through meanwhile, the session completes instead; if it is in flight
 * (processing), nothing changes yet.
 */
export async function expireSession(env: Env, row: CheckoutSessionRow, base: string, actor: string, requestId: string | null = null): Promise<ExpireResult> {
  if (row.status !== "open") return { kind: "unchanged", row };
  const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(row.paymentIntent));
  const req: RequestContext = {
    scope: { merchantId: row.merchantId, livemode: row.livemode },
    requestId,
    idempotencyKey: null,
    fingerprint: null,
    origin: base,
    audit: { action: "checkout.sessions.expire", actor, roles: [], details: { checkout_session: row.id } },
  };
  const outcome = await stub.cancel(req, row.paymentIntent, { cancellationReason: "abandoned", checkoutExpiry: true });
  const intent = outcome.intent ?? (await stub.retrieve(req.scope, row.paymentIntent));
  if (intent && isPaid(intent)) {
    const completed = await completeFromIntent(env, intent, base, requestId);
    return { kind: "complete", row: completed ?? row };
  }
  if (intent && intent.status !== "canceled" && intent.status !== "failed") return { kind: "unchanged", row };
  const next: CheckoutSessionRow = { ...row, status: "expired" };
  const writes = new Writes(env.DB, { merchantId: row.merchantId, livemode: row.livemode });
  writes.add("UPDATE checkout_sessions SET status = 'expired' WHERE id = ? AND status = 'open'", [row.id]);
  await writes.event("checkout.session.expired", eventObject(next, base), [row.id], { requestId });
  const [changed] = await writes.commit(env);
  if (!changed) return { kind: "unchanged", row: (await sessionById(env.DB, row.id)) ?? row };
  return { kind: "expired", row: next };
}

/**
 * Cron: expires open sessions past their expires_at, a bounded batch a round, going round the overdue
 * ones (src/db/rounds.ts): a session whose payment stays in flight is left open, and 50 of them first
 * in line would hold up every other expiry. With a budget, a round takes only the sessions whose
 * statements it has room for, and the next round goes on after the last one taken.
 */
export async function expireOverdueSessions(env: Env, now: number, base: string, limit = 50, budget?: StatementBudget): Promise<SweepRound> {
  const cursor = await roundCursor(env.DB, "expire_checkout_sessions");
  // A range of checkout_sessions_overdue, whose condition the literal repeats.
  const rows = await db(env.DB)
    .select()
    .from(checkoutSessions)
    .where(and(sql`${checkoutSessions.status} = 'open'`, lte(checkoutSessions.expiresAt, now), ...afterCursor(checkoutSessions.expiresAt, checkoutSessions.id, cursor)))
    .orderBy(asc(checkoutSessions.expiresAt), asc(checkoutSessions.id))
    .limit(limit);
  // Room for each expiry, and for the cursor's write.
  const room = budget ? Math.max(0, Math.floor((budget.left - 1) / UNIT_COST.sessionExpiry)) : rows.length;
  const taken = rows.slice(0, room);
  if (taken.length === 0 && rows.length > 0) return { done: 0, more: true };
  const cut = taken.length < rows.length;
  await advanceRound(env.DB, "expire_checkout_sessions", taken.map((r) => ({ key: r.expiresAt, id: r.id })), cut ? taken.length : limit, cursor);
  let expired = 0;
  for (const row of taken) {
    try {
      const result = await expireSession(env, row, base, "system");
      if (result.kind === "expired") expired++;
    } catch (err) {
      log("warn", "expiring a checkout session failed; the next sweep retries", { checkout_session: row.id, error: String(err) });
    }
  }
  return { done: expired, more: cut || rows.length === limit };
}

const COMPLETING = new Set(["payment_intent.succeeded", "payment_intent.amount_capturable_updated"]);

/** The events consumer: an intent of a session that went through completes its session (at least once). */
export async function onCheckoutIntentEvents(env: Env, events: EventRecord[], base: string): Promise<void> {
  const completing = events.flatMap((event) => {
    const id = COMPLETING.has(event.type) && typeof event.object.id === "string" ? event.object.id : null;
    return id && hasPrefix(id, "pi") ? [{ event, id }] : [];
  });
  if (completing.length === 0) return;
  // The batch's sessions in one query per 90 intents (D1 binds at most 100 parameters), not one per event.
  const ids = [...new Set(completing.map((c) => c.id))];
  const sessions = new Map<string, CheckoutSessionRow>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db(env.DB).select().from(checkoutSessions).where(inArray(checkoutSessions.paymentIntent, ids.slice(i, i + 90)));
    for (const row of rows) if (row.paymentIntent) sessions.set(row.paymentIntent, row);
  }
  for (const { event, id } of completing) {
    const row = sessions.get(id);
    if (!row || row.status !== "open") continue;
    const stub = env.PAYMENT_INTENTS.get(env.PAYMENT_INTENTS.idFromName(id));
    const intent = await stub.retrieve({ merchantId: event.merchantId, livemode: event.livemode }, id);
    if (intent) await completeFromIntent(env, intent, base);
  }
}

/** The intent id of a session: derived from the session's id, so a retried creation lands on one intent. */
export function sessionIntentId(scope: Scope, sessionId: string): Promise<string> {
  return derivedId("pi", scope.merchantId, String(scope.livemode), `checkout:${sessionId}`);
}
