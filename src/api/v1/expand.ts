// Stripe's `expand[]` for every /v1 object: which fields of which object may be expanded (EXPANDABLE,
// after the stripe package's types: an id field typed `string | Object`, an includable field such as a
// charge's `refunds`), checked per request (`expandPaths`: a 400 naming a path that cannot be
// expanded, `data.` before each path on a list), and the generic expansion (`expandObjects`): after a
// route has rendered its objects (and expanded what it renders itself: an intent's latest_charge, an
// invoice's confirmation_secret), every id still standing at an asked path is replaced by its object,
// read in one query per kind and level, a path at a time, shortest first, so that
// `items.data.price.product` or `latest_invoice.customer` expand too.
import { and, eq, inArray } from "drizzle-orm";
import { invalidRequest, permissionDenied } from "../../core/errors";
import { hasPrefix, intentIdForCharge } from "../../core/ids";
import { chargeAsOf, renderChargeById, renderChargeRefunds } from "../../core/objects";
import type { Permission, Principal } from "../../auth/permissions";
import { db, renderCustomer, renderInvoice, renderPaymentMethodRow, renderPrice, renderTestClock } from "../../billing/store";
import { renderSetupAttempt, renderSetupIntent } from "../../billing/setup-intents";
import { customers, invoices, paymentMethods, prices, products, setupAttempts, setupIntents, subscriptions, testClocks } from "../../db/schema";
import { renderProduct } from "./products";
import { intentJson, intentStub } from "./respond";
import type { Ctx } from "./route";
import { customerSubscriptions, invoicePayments, renderSubscriptionRows } from "./subscriptions";
import { ownEntry } from "../../core/own";

/** The objects (and the nested objects paths go through) whose fields may be expanded. */
export type Kind =
  | "payment_intent"
  | "charge"
  | "refund"
  | "customer"
  | "customer.invoice_settings"
  | "payment_method"
  | "product"
  | "price"
  | "plan"
  | "subscription"
  | "subscription_item"
  | "invoice"
  | "invoice_payment"
  | "invoice_payment.payment"
  | "invoice.parent"
  | "invoice.parent.subscription_details"
  | "line_item"
  | "line_item.pricing"
  | "line_item.pricing.price_details"
  | "checkout.session"
  | "item"
  | "test_clock"
  | "event"
  | "webhook_endpoint"
  | "setup_intent"
  | "setup_attempt"
  | "account";

/** The objects an id expands to, which expandObjects can read. */
export type Target = "payment_intent" | "charge" | "customer" | "payment_method" | "product" | "price" | "subscription" | "invoice" | "test_clock" | "setup_intent" | "setup_attempt";

type Field =
  /** An id that expands to its object. */
  | { t: "id"; to: Target }
  /** Always null (or an empty list) here: accepted, and it stays so, as an expanded null does at Stripe. */
  | { t: "null" }
  /** Rendered only when asked for (a charge's refunds, a session's line_items), by the route itself; `to` is what paths go on into. */
  | { t: "include"; to: Kind | null; list: boolean }
  /** Always rendered, not expandable itself; paths go on into it (a list: through its `data`). */
  | { t: "within"; to: Kind; list: boolean };

const id = (to: Target): Field => ({ t: "id", to });
const NULL: Field = { t: "null" };
const include = (to: Kind | null, list = false): Field => ({ t: "include", to, list });
const within = (to: Kind, list = false): Field => ({ t: "within", to, list });

/**
 * What each object's expand[] may name, by the fields it renders: Stripe's expandable fields (an id,
 * or an includable list) and the objects paths go through. A field missing here is a 400.
 */
const EXPANDABLE: Record<Kind, Record<string, Field>> = {
  payment_intent: {
    customer: id("customer"),
    payment_method: id("payment_method"),
    latest_charge: id("charge"),
    invoice: id("invoice"),
    application: NULL,
    on_behalf_of: NULL,
    payment_record: NULL,
    review: NULL,
    source: NULL,
  },
  charge: {
    customer: id("customer"),
    payment_intent: id("payment_intent"),
    refunds: include("refund", true),
    application: NULL,
    application_fee: NULL,
    balance_transaction: NULL,
    failure_balance_transaction: NULL,
    on_behalf_of: NULL,
    review: NULL,
    source_transfer: NULL,
    transfer: NULL,
  },
  refund: {
    charge: id("charge"),
    payment_intent: id("payment_intent"),
    // The charge's: a payment method never saved is expanded by the route, from the refund's intent.
    customer: id("customer"),
    payment_method: id("payment_method"),
    balance_transaction: NULL,
    failure_balance_transaction: NULL,
    source_transfer_reversal: NULL,
    transfer_reversal: NULL,
  },
  customer: { test_clock: id("test_clock"), invoice_settings: within("customer.invoice_settings"), default_source: NULL, subscriptions: include("subscription", true) },
  "customer.invoice_settings": { default_payment_method: id("payment_method") },
  payment_method: { customer: id("customer") },
  product: { default_price: NULL, tax_code: NULL },
  price: { product: id("product") },
  plan: { product: id("product") },
  subscription: {
    customer: id("customer"),
    default_payment_method: id("payment_method"),
    latest_invoice: id("invoice"),
    test_clock: id("test_clock"),
    items: within("subscription_item", true),
    application: NULL,
    default_source: NULL,
    discounts: NULL,
    on_behalf_of: NULL,
    pending_setup_intent: NULL,
    schedule: NULL,
  },
  subscription_item: { price: within("price"), plan: within("plan"), discounts: NULL },
  invoice: {
    customer: id("customer"),
    test_clock: id("test_clock"),
    payment_intent: id("payment_intent"),
    subscription: id("subscription"),
    confirmation_secret: include(null),
    payments: include("invoice_payment", true),
    lines: within("line_item", true),
    parent: within("invoice.parent"),
    // Always null or empty here: the subscription's default payment method pays, no revisions, no taxes, no discounts.
    account_tax_ids: NULL,
    application: NULL,
    default_payment_method: NULL,
    default_source: NULL,
    discounts: NULL,
    latest_revision: NULL,
    on_behalf_of: NULL,
  },
  "invoice.parent": { subscription_details: within("invoice.parent.subscription_details") },
  "invoice.parent.subscription_details": { subscription: id("subscription") },
  line_item: { subscription: id("subscription"), pricing: within("line_item.pricing"), discounts: NULL },
  "line_item.pricing": { price_details: within("line_item.pricing.price_details") },
  "line_item.pricing.price_details": { price: id("price") },
  "checkout.session": {
    customer: id("customer"),
    payment_intent: id("payment_intent"),
    line_items: include("item", true),
    // Always null here: mode=payment makes no invoice, subscription or setup intent, and there are no payment links.
    invoice: NULL,
    payment_link: NULL,
    setup_intent: NULL,
    subscription: NULL,
  },
  item: { price: within("price") },
  invoice_payment: { invoice: id("invoice"), payment: within("invoice_payment.payment") },
  "invoice_payment.payment": { payment_intent: id("payment_intent"), charge: NULL, payment_record: NULL },
  test_clock: {},
  event: {},
  webhook_endpoint: {},
  setup_intent: {
    customer: id("customer"),
    payment_method: id("payment_method"),
    latest_attempt: id("setup_attempt"),
    application: NULL,
    mandate: NULL,
    on_behalf_of: NULL,
    single_use_mandate: NULL,
  },
  setup_attempt: {
    customer: id("customer"),
    payment_method: id("payment_method"),
    setup_intent: id("setup_intent"),
    application: NULL,
    on_behalf_of: NULL,
  },
  account: {},
};

/** A field of `kind` that expand[] may name (its own fields only: `constructor` is nothing). */
function fieldOf(kind: Kind, name: string): Field | undefined {
  return ownEntry(EXPANDABLE[kind], name);
}

/** Stripe's limit: at most four levels of expansion in one path. */
const MAX_LEVELS = 4;

function cannotExpand(path: string, kind: Kind, hint = ""): never {
  const fields = Object.entries(EXPANDABLE[kind])
    .filter(([, field]) => field.t !== "within")
    .map(([name]) => name);
  const expandable = fields.length > 0 ? ` Expandable here: ${fields.join(", ")}.` : " Nothing can be expanded here.";
  throw invalidRequest(`This property cannot be expanded (${path.slice(0, 100)}).${hint}${expandable}`, "expand");
}

/** The expansions one path asks for (itself and each expandable field it goes through), or a 400. */
function pathExpansions(path: string, root: Kind, shown: string): string[] {
  const segments = path.split(".");
  const out: string[] = [];
  let kind: Kind = root;
  let levels = 0;
  for (let i = 0; i < segments.length; i++) {
    const field = fieldOf(kind, segments[i] ?? "");
    if (!field) return cannotExpand(shown, root);
    const last = i === segments.length - 1;
    const here = segments.slice(0, i + 1).join(".");
    if (field.t === "null") {
      if (!last) return cannotExpand(shown, root);
      out.push(here);
      break;
    }
    if (field.t === "within" && last) return cannotExpand(shown, root);
    if (field.t !== "within") {
      out.push(here);
      if (++levels > MAX_LEVELS) throw invalidRequest(`You cannot expand more than ${MAX_LEVELS} levels of a property (${shown.slice(0, 100)}).`, "expand");
      if (last) break;
    }
    const to: Kind | null = field.to;
    if (to === null) return cannotExpand(shown, root);
    if (field.t !== "id" && field.list) {
      // A list is gone through by its data: `items.data.price`.
      if (segments[i + 1] !== "data" || i + 2 >= segments.length) return cannotExpand(shown, root);
      i++;
    }
    kind = to;
  }
  return out;
}

/**
 * Checks `expand[]` against what `kind` can expand and answers the expansions asked for: each path,
 * and each expandable field it goes through (`latest_invoice` for `latest_invoice.payment_intent`).
 * On a list or a search result (`list`), each path names its items' field as `data.<field>`, as at
 * Stripe; the answer is without `data.`. A path that cannot be expanded is a 400 naming it.
 */
export function expandPaths(expand: readonly string[] | undefined, kind: Kind, list = false): string[] {
  const out = new Set<string>();
  for (const path of expand ?? []) {
    let relative = path;
    if (list) {
      if (!path.startsWith("data.")) cannotExpand(path, kind, fieldOf(kind, path.split(".")[0] ?? "") ? ` On a list, expand its objects' field: 'data.${path.slice(0, 80)}'.` : "");
      relative = path.slice("data.".length);
    }
    for (const p of pathExpansions(relative, kind, path)) out.add(p);
  }
  return [...out];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads the objects of one kind by id, in the caller's scope, rendered: what is not found stays an id. */
type Resolver = (c: Ctx, principal: Principal, ids: string[]) => Promise<Map<string, unknown>>;

/** Reads what an id of each kind expands to, and who may read it. */
const RESOLVERS: Record<Target, { permission: Permission; resolve: Resolver }> = {
  customer: {
    permission: "payments.methods.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(customers).where(and(eq(customers.merchantId, principal.merchantId), eq(customers.livemode, principal.livemode), inArray(customers.id, ids)));
      // A deleted customer expands to Stripe's DeletedCustomer.
      return new Map(rows.map((r) => [r.id, r.deleted ? { id: r.id, object: "customer", deleted: true } : renderCustomer(r)]));
    },
  },
  payment_method: {
    permission: "payments.methods.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(paymentMethods).where(and(eq(paymentMethods.merchantId, principal.merchantId), eq(paymentMethods.livemode, principal.livemode), inArray(paymentMethods.id, ids)));
      return new Map(rows.map((r) => [r.id, renderPaymentMethodRow(r)]));
    },
  },
  // A setup intent and its attempts are read with the permission reading setup intents needs.
  setup_intent: {
    permission: "payments.methods.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(setupIntents).where(and(eq(setupIntents.merchantId, principal.merchantId), eq(setupIntents.livemode, principal.livemode), inArray(setupIntents.id, ids)));
      return new Map(await Promise.all(rows.map(async (r) => [r.id, await renderSetupIntent(c.env, r)] as const)));
    },
  },
  setup_attempt: {
    permission: "payments.methods.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(setupAttempts).where(and(eq(setupAttempts.merchantId, principal.merchantId), eq(setupAttempts.livemode, principal.livemode), inArray(setupAttempts.id, ids)));
      return new Map(rows.map((r) => [r.id, renderSetupAttempt(r)]));
    },
  },
  test_clock: {
    permission: "billing.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(testClocks).where(and(eq(testClocks.merchantId, principal.merchantId), eq(testClocks.livemode, principal.livemode), inArray(testClocks.id, ids)));
      return new Map(rows.map((r) => [r.id, renderTestClock(r)]));
    },
  },
  product: {
    permission: "billing.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(products).where(and(eq(products.merchantId, principal.merchantId), eq(products.livemode, principal.livemode), inArray(products.id, ids)));
      return new Map(rows.map((r) => [r.id, renderProduct(r)]));
    },
  },
  price: {
    permission: "billing.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(prices).where(and(eq(prices.merchantId, principal.merchantId), eq(prices.livemode, principal.livemode), inArray(prices.id, ids)));
      return new Map(rows.map((r) => [r.id, renderPrice(r)]));
    },
  },
  invoice: {
    permission: "billing.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(invoices).where(and(eq(invoices.merchantId, principal.merchantId), eq(invoices.livemode, principal.livemode), inArray(invoices.id, ids)));
      return new Map(rows.map((r) => [r.id, renderInvoice(r)]));
    },
  },
  subscription: {
    permission: "billing.view",
    resolve: async (c, principal, ids) => {
      const rows = await db(c.env.DB).select().from(subscriptions).where(and(eq(subscriptions.merchantId, principal.merchantId), eq(subscriptions.livemode, principal.livemode), inArray(subscriptions.id, ids)));
      const rendered = await renderSubscriptionRows(c.env, principal, rows);
      return new Map(rendered.map((s) => [s.id, s]));
    },
  },
  payment_intent: {
    permission: "payments.transactions.view",
    resolve: async (c, principal, ids) => {
      const found = await Promise.all(ids.filter((i) => hasPrefix(i, "pi")).map((i) => intentStub(c.env, i).retrieve(principal, i)));
      // A customer's token sees only its own payments.
      const visible = found.filter((intent) => intent !== null && (!principal.customerId || intent.customer === principal.customerId));
      return new Map(visible.flatMap((intent) => (intent ? [[intent.id, intentJson(c, intent)] as const] : [])));
    },
  },
  charge: {
    permission: "payments.transactions.view",
    resolve: async (c, principal, ids) => {
      const out = new Map<string, unknown>();
      for (const chargeId of ids.filter((i) => hasPrefix(i, "ch"))) {
        const intentId = intentIdForCharge(chargeId);
        const intent = await intentStub(c.env, intentId).retrieve(principal, intentId);
        if (!intent || (principal.customerId && intent.customer !== principal.customerId)) continue;
        const charge = renderChargeById(intent, chargeId);
        if (charge) out.set(chargeId, chargeAsOf(intent, charge, c.get("apiVersion")));
      }
      return out;
    },
  },
};

interface Slot {
  parent: Json;
  key: string;
  id: string;
}

/** The ids standing at `segments` under `node` (an object of `kind`), with where each stands. */
function slotsAt(node: unknown, kind: Kind, segments: readonly string[], out: Slot[]): Target | null {
  if (!isObject(node)) return null;
  const [head = "", ...rest] = segments;
  const field = fieldOf(kind, head);
  if (!field || field.t === "null") return null;
  const value = node[head];
  if (rest.length === 0) {
    if (field.t !== "id") return null;
    if (typeof value === "string") out.push({ parent: node, key: head, id: value });
    return field.to;
  }
  const to = field.to;
  if (to === null) return null;
  if (field.t !== "id" && field.list) {
    const data = isObject(value) && Array.isArray(value.data) ? value.data : [];
    let target: Target | null = null;
    for (const item of data) target = slotsAt(item, to, rest.slice(1), out) ?? target;
    return target;
  }
  return slotsAt(value, to, rest, out);
}

/**
 * Refuses (a 403) to expand `path` into an object of `target` for a caller without the permission
 * reading that object needs: the one rule for every expand, this module's own and a route's own
 * (an invoice's payment_intent and confirmation_secret).
 */
export function assertMayExpand(principal: Principal, path: string, target: Target): void {
  const { permission } = RESOLVERS[target];
  if (!principal.permissions.has(permission)) throw permissionDenied(`Expanding ${path} needs the ${permission} permission.`);
}

/**
 * Expands, in `objects` (rendered objects of `kind`, changed in place), each id standing at one of
 * `paths` (expandPaths' answer) into its object: shortest paths first, so that a longer one goes on
 * through the object a shorter one put there. What a route expanded itself is an object already and
 * is gone through; an id not found (or not the caller's to read) stays an id. Expanding needs the
 * permission that reading the object needs (a 403 otherwise).
 */
export async function expandObjects(c: Ctx, principal: Principal, objects: readonly unknown[], kind: Kind, paths: readonly string[]): Promise<void> {
  const ordered = [...paths].sort((a, b) => a.split(".").length - b.split(".").length);
  for (const path of ordered) {
    if (await expandInclude(c, principal, objects, kind, path)) continue;
    const slots: Slot[] = [];
    let target: Target | null = null;
    for (const object of objects) target = slotsAt(object, kind, path.split("."), slots) ?? target;
    if (target === null || slots.length === 0) continue;
    assertMayExpand(principal, path, target);
    const found = await RESOLVERS[target].resolve(c, principal, [...new Set(slots.map((s) => s.id))]);
    for (const slot of slots) {
      const object = found.get(slot.id);
      if (object !== undefined) slot.parent[slot.key] = object;
    }
  }
}

/**
 * Includable lists a route does not render where they are nested (a refund's `charge.refunds`, an
 * intent's `customer.subscriptions`): rendered here for each object at the path's parent that lacks
 * the field (a route's own rendering, such as a charge's `refunds` or an intent's
 * `latest_charge.refunds`, is kept), with the permission reading them needs.
 */
const INCLUDES: Partial<Record<Kind, Record<string, { target: Target; render: (c: Ctx, principal: Principal, parent: Json) => Promise<unknown> }>>> = {
  customer: {
    subscriptions: { target: "subscription", render: (c, principal, parent) => customerSubscriptions(c, principal, String(parent.id), { limit: 10 }, new Set()) },
  },
  invoice: {
    // Each attempt's payment intent: a payment's to read, as expand[]=payment_intent is.
    payments: { target: "payment_intent", render: (c, principal, parent) => invoicePayments(c, principal, String(parent.id)) },
  },
  charge: {
    refunds: {
      target: "charge",
      render: async (c, principal, parent) => {
        const id = String(parent.id);
        const intent = await intentStub(c.env, intentIdForCharge(id)).retrieve(principal, intentIdForCharge(id));
        return intent ? renderChargeRefunds(intent, id) : undefined;
      },
    },
  },
};

/** The kind of object `segments` lead to from `root` (through ids, included lists' `data` and nested objects), or null. */
function kindAt(root: Kind, segments: readonly string[]): Kind | null {
  let kind: Kind = root;
  for (let i = 0; i < segments.length; i++) {
    const field = fieldOf(kind, segments[i] ?? "");
    if (!field || field.t === "null" || field.to === null) return null;
    if (field.t !== "id" && field.list) i++;
    kind = field.to;
  }
  return kind;
}

/** The objects standing at `segments` under `node` (of `kind`): through objects, and each item of a list's `data`. */
function objectsAt(node: unknown, kind: Kind, segments: readonly string[], out: Json[]): void {
  if (!isObject(node)) return;
  if (segments.length === 0) {
    out.push(node);
    return;
  }
  const [head = "", ...rest] = segments;
  const field = fieldOf(kind, head);
  if (!field || field.t === "null" || field.to === null) return;
  const value = node[head];
  if (field.t !== "id" && field.list) {
    for (const item of isObject(value) && Array.isArray(value.data) ? value.data : []) objectsAt(item, field.to, rest.slice(1), out);
    return;
  }
  objectsAt(value, field.to, rest, out);
}

/** A path ending at an includable list of INCLUDES: rendered where it is missing (true: handled, nothing else to do for it). */
async function expandInclude(c: Ctx, principal: Principal, objects: readonly unknown[], kind: Kind, path: string): Promise<boolean> {
  const segments = path.split(".");
  const field = segments[segments.length - 1] ?? "";
  const parentKind = kindAt(kind, segments.slice(0, -1));
  const include = parentKind ? ownEntry(INCLUDES[parentKind] ?? {}, field) : undefined;
  if (!parentKind || !include) return false;
  const parents: Json[] = [];
  for (const object of objects) objectsAt(object, kind, segments.slice(0, -1), parents);
  // A deleted customer has no lists; what a route rendered itself stays.
  const missing = parents.filter((p) => p[field] === undefined && p.deleted !== true && typeof p.id === "string");
  if (missing.length === 0) return true;
  assertMayExpand(principal, path, include.target);
  const lists = await Promise.all(missing.map((p) => include.render(c, principal, p)));
  missing.forEach((p, i) => {
    if (lists[i] !== undefined) p[field] = lists[i];
  });
  return true;
}

/**
 * The payment methods an intent's render carries as objects (payment_method when expanded, and
 * last_payment_error.payment_method), as GET /v1/payment_methods/{id} has them where they are saved
 * (their customer and metadata; the intent knows only the card). Changed in place; a method made for
 * one payment (never saved) stays as rendered. Needs the permission reading payment methods needs;
 * without it the renders are left as they are.
 */
export async function withSavedMethods(c: Ctx, principal: Principal, intents: readonly { payment_method: unknown; last_payment_error: { payment_method: unknown } | null }[]): Promise<void> {
  if (!principal.permissions.has(RESOLVERS.payment_method.permission)) return;
  const slots: { parent: Json; key: string; id: string }[] = [];
  const collect = (parent: Json, key: string) => {
    const value = parent[key];
    if (isObject(value) && typeof value.id === "string") slots.push({ parent, key, id: value.id });
  };
  for (const intent of intents) {
    collect(intent as unknown as Json, "payment_method");
    if (intent.last_payment_error) collect(intent.last_payment_error as unknown as Json, "payment_method");
  }
  if (slots.length === 0) return;
  const found = await RESOLVERS.payment_method.resolve(c, principal, [...new Set(slots.map((s) => s.id))]);
  for (const slot of slots) {
    const saved = found.get(slot.id);
    if (saved !== undefined) slot.parent[slot.key] = saved;
  }
}

/** `objects` expanded as `paths` ask (expandObjects), for a route with nothing of its own to expand. */
export async function expanded<T>(c: Ctx, principal: Principal, objects: T[], kind: Kind, paths: readonly string[]): Promise<T[]> {
  await expandObjects(c, principal, objects, kind, paths);
  return objects;
}

/**
 * A search's expand[]: `total_count` is the search result's own field (Stripe's count of the matches,
 * only rendered when expanded), apart from its objects' `data.` paths.
 */
export function searchExpand(expand: readonly string[] | undefined): { total: boolean; expand: string[] | undefined } {
  if (!expand) return { total: false, expand: undefined };
  return { total: expand.includes("total_count"), expand: expand.filter((p) => p !== "total_count") };
}
