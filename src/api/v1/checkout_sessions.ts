// /v1/checkout/sessions (Stripe-compatible, mode=payment): create, retrieve (expand payment_intent,
// line_items), list, expire, and the session's line items. A session is a D1 object around one payment
// intent, created here through the intent's Durable Object as /v1/payment_intents creates one; the
// shopper pays on the page at the session's `url` (src/pages/checkout.ts).
import { and, eq, inArray, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import { assertAmount } from "../../core/money";
import { findPrice, isRecurring, liveCustomer, ONE_TIME, renderPrice, type PriceRow } from "../../billing/store";
import { findProduct, newProduct, renderProduct, type ProductRow } from "./products";
import { archivedPriceRow, insertPriceSql, insertPriceParams, priceUnitAmount } from "./prices";
import { Writes } from "../../billing/writes";
import {
  DEFAULT_SESSION_TTL_MS,
  expireSession,
  MIN_SESSION_TTL_MS,
  renderLineItems,
  renderSession,
  scopedSession,
  sessionIntentId,
  lineItemsOf as storedLineItems,
  type CheckoutSessionRow,
  type LinePrices,
  type SessionLineItem,
} from "../../checkout/sessions";
import { createdConditions, listable, pageOf } from "../../db/queries";
import { checkoutSessions, prices, products } from "../../db/schema";
import type { Principal } from "../../auth/permissions";
import * as f from "./fields";
import { CONNECT, stripeBody } from "./stripe-params";
import { intentJson, intentStub, json, listObject, pageRequest, publicBase } from "./respond";
import { expanded, expandObjects, expandPaths } from "./expand";
import { requestContext, route, type App, type Ctx } from "./route";
import { createParams } from "../../intents/params";
import { idempotentD1 } from "./idempotency";
import { checkedList, type FilterId } from "./list-filters";

const TAG = "Checkout";
const SESSIONS = listable(checkoutSessions, "checkout.session");
/** A session's expand[] (src/api/v1/expand.ts; on a list, `data.` before each path). */
const checkExpand = (expand: string[] | undefined, list = false) => expandPaths(expand, "checkout.session", list);
const MAX_QUANTITY = 999_999;

/** A parameter refused on purpose: a 400 parameter_not_supported naming it and why (src/api/v1/validation.ts). */
const notSupported = (why: string) => z.unknown().refine(() => false, { message: why, params: { notSupported: true } }).optional();

/** Stripe's product_data of a line item: the product is shown by its name; the rest is kept with the line item. */
const ProductData = z
  .object({
    name: f.text(250).pipe(z.string().min(1, "must not be empty")),
    description: f.text(40_000).optional(),
    images: z.array(f.url).max(8, "at most 8 images").optional(),
    metadata: f.createMetadata.optional(),
    // No taxes are computed and units are not shown: accepted and dropped.
    tax_code: z.unknown().transform(() => undefined).optional(),
    tax_details: z.unknown().transform(() => undefined).optional(),
    unit_label: z.unknown().transform(() => undefined).optional(),
  })
  .strict();

const LineItem = z
  .object({
    price: f.text(255).optional(),
    price_data: z
      .object({
        currency: f.currency,
        unit_amount: priceUnitAmount,
        product: f.text(255).optional().describe("One of the merchant's active products (prod_...), instead of product_data."),
        product_data: ProductData.optional(),
        // No taxes are computed here (total_details.amount_tax is 0): accepted, as on prices.
        tax_behavior: z.enum(["exclusive", "inclusive", "unspecified"]).optional(),
        recurring: notSupported("a session in payment mode takes one-time prices only; create a subscription with /v1/subscriptions"),
        unit_amount_decimal: notSupported("amounts are integer minor units: use unit_amount"),
      })
      .strict()
      .optional(),
    quantity: f.integer.pipe(z.number().min(1, "must be at least 1").max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`)),
    adjustable_quantity: z
      .object({
        enabled: f.boolean.refine((v) => !v, { message: "the page does not let the shopper change quantities yet: pass enabled=false or leave adjustable_quantity out", params: { notSupported: true } }),
        maximum: f.integer.pipe(z.number().min(0).max(MAX_QUANTITY)).optional(),
        minimum: f.integer.pipe(z.number().min(0).max(MAX_QUANTITY)).optional(),
      })
      .strict()
      .optional(),
    metadata: f.createMetadata.optional(),
    tax_rates: notSupported("the gateway computes no taxes"),
    dynamic_tax_rates: notSupported("the gateway computes no taxes"),
  })
  .strict();

/** Stripe's payment_intent_data: what POST /v1/payment_intents takes of the same names, given to the session's intent. */
const PaymentIntentData = z
  .object({
    capture_method: f.captureMethod.optional(),
    description: f.text(1000).optional(),
    metadata: f.createMetadata.optional(),
    receipt_email: f.text(512).optional(),
    setup_future_usage: z.enum(["on_session", "off_session"]).optional().describe("Saves the card to the session's customer once the payment succeeds; without a customer nothing is saved, and the card may be attached to one afterwards."),
    shipping: f.shipping.optional(),
    statement_descriptor: f.text(22).optional(),
    statement_descriptor_suffix: f.text(22).optional(),
    // As on POST /v1/payment_intents: transfers are not made, the group is not kept.
    transfer_group: z.unknown().transform(() => undefined).optional(),
    application_fee_amount: notSupported(CONNECT),
    on_behalf_of: notSupported(CONNECT),
    transfer_data: notSupported(CONNECT),
  })
  .strict();

const CreateBody = stripeBody("POST /v1/checkout/sessions", {
    mode: z.literal("payment", { error: "only mode=payment is supported" }),
    line_items: z.array(LineItem).min(1, "needs at least one line item").max(100, "at most 100 line items"),
    success_url: f.url,
    cancel_url: f.url.optional(),
    customer: f.text(255).optional(),
    customer_email: f.text(512).optional(),
    client_reference_id: f.text(200).optional(),
    metadata: f.createMetadata.optional(),
    payment_intent_data: PaymentIntentData.optional(),
    payment_method_types: z.array(z.literal("card")).optional(),
    expires_at: f.integer.optional().describe("Unix seconds, 30 minutes to 24 hours from now (default 24 hours)."),
    expand: f.expand.optional(),
  });

const ListQuery = z
  .object({
    ...f.pageFields,
    status: z.enum(["open", "complete", "expired"]).optional(),
    payment_intent: f.text(100).optional(),
    customer: f.text(255).optional(),
    customer_details: z.object({ email: f.text(512).min(1, "must not be empty") }).strict().optional().describe("Stripe's filter: the sessions whose customer_details.email is this email"),
    created: f.createdFilter.optional(),
    expand: f.expand.optional(),
  })
  .strict();
const ExpireBody = z.object({ expand: f.expand.optional() }).strict();
const LineItemsQuery = z.object(f.listFields).strict();

export const CheckoutSessionSchema = z
  .object({
    id: z.string(),
    object: z.literal("checkout.session"),
    amount_subtotal: z.number().int(),
    amount_total: z.number().int(),
    cancel_url: z.string().nullable(),
    success_url: z.string(),
    client_reference_id: z.string().nullable(),
    created: z.number().int(),
    currency: z.string(),
    customer: z.string().nullable(),
    customer_email: z.string().nullable(),
    expires_at: z.number().int(),
    livemode: z.boolean(),
    metadata: z.record(z.string(), z.string()),
    mode: z.literal("payment"),
    payment_intent: z.union([z.string(), z.object({ id: z.string() }).passthrough()]),
    payment_status: z.enum(["paid", "unpaid"]),
    status: z.enum(["open", "complete", "expired"]),
    url: z.string().nullable(),
    ui_mode: z.literal("hosted_page").describe("Only the hosted page is served."),
    client_secret: z.null().describe("Only for embedded sessions, which are not served."),
    automatic_tax: z.object({ enabled: z.literal(false), liability: z.null(), provider: z.null(), status: z.null() }),
    custom_fields: z.tuple([]),
    custom_text: z.object({ after_submit: z.null(), shipping_address: z.null(), submit: z.null(), terms_of_service_acceptance: z.null() }),
    customer_details: z
      .object({ address: z.null(), business_name: z.null(), email: z.string(), individual_name: z.null(), name: z.null(), phone: z.null(), tax_exempt: z.null(), tax_ids: z.null() })
      .nullable()
      .describe("The customer_email given, when there is one."),
    discounts: z.tuple([]),
    payment_method_options: z.object({ card: z.object({ request_three_d_secure: z.literal("automatic") }) }),
    phone_number_collection: z.object({ enabled: z.literal(false) }).describe("The page asks for card details only, never a phone number."),
    shipping_options: z.tuple([]),
    total_details: z.object({ amount_discount: z.literal(0), amount_shipping: z.literal(0), amount_tax: z.literal(0) }),
    ...Object.fromEntries(
      [
        "adaptive_pricing", "after_expiration", "allow_promotion_codes", "allowed_payment_method_types", "billing_address_collection", "collected_information", "consent",
        "consent_collection", "currency_conversion", "customer_account", "customer_creation", "integration_identifier", "invoice", "invoice_creation", "locale",
        "managed_payments", "origin_context", "payment_link", "payment_method_collection", "payment_method_configuration_details", "permissions", "recovered_from",
        "saved_payment_method_options", "setup_intent", "shipping_address_collection", "shipping_cost", "submit_type", "subscription", "wallet_options",
      ].map((name) => [name, z.null().describe("Always null: the hosted page's option is not served here.")]),
    ),
  })
  .passthrough()
  .meta({ id: "CheckoutSession" });

const LineItemListSchema = z
  .object({ object: z.literal("list"), data: z.array(z.object({ id: z.string(), object: z.literal("item") }).passthrough()), has_more: z.boolean(), url: z.string() })
  .meta({ id: "CheckoutSessionLineItemList" });


async function findSession(c: Ctx, principal: Principal, id: string, param = "id"): Promise<CheckoutSessionRow> {
  const row = await scopedSession(c.env.DB, principal, id);
  if (!row) throw resourceMissing("checkout.session", id.slice(0, 80), param);
  return row;
}

/** The prices of these sessions' line items (the Price each renders), in one query. */
async function linePrices(c: Ctx, principal: Principal, rows: readonly CheckoutSessionRow[]): Promise<LinePrices> {
  const ids = [...new Set(rows.flatMap((row) => storedLineItems(row).map((item) => item.price)))];
  if (ids.length === 0) return new Map();
  const found = await drizzle(c.env.DB)
    .select()
    .from(prices)
    .where(and(eq(prices.merchantId, principal.merchantId), eq(prices.livemode, principal.livemode), inArray(prices.id, ids)));
  return new Map(found.map((p) => [p.id, p]));
}

/** Sessions with what `expand` (expandPaths' answer) asks for: payment_intent and line_items here, the rest (customer, line_items.data.price.product...) read. */
async function renderAll(c: Ctx, principal: Principal, rows: readonly CheckoutSessionRow[], expand: string[]) {
  const lineItems = expand.includes("line_items") ? await linePrices(c, principal, rows) : undefined;
  const out = [];
  for (const row of rows) {
    let paymentIntent: unknown;
    if (expand.includes("payment_intent")) {
      const intent = await intentStub(c.env, row.paymentIntent).retrieve(principal, row.paymentIntent);
      paymentIntent = intent ? intentJson(c, intent) : row.paymentIntent;
    }
    out.push(renderSession(row, { base: publicBase(c), paymentIntent, lineItems }));
  }
  await expandObjects(c, principal, out, "checkout.session", expand);
  return out;
}

async function render(c: Ctx, principal: Principal, row: CheckoutSessionRow, expand: string[]) {
  const [rendered] = await renderAll(c, principal, [row], expand);
  if (!rendered) throw new Error(`session ${row.id} not rendered`);
  return rendered;
}

/** What a new session's price_data lines make, as Stripe makes them: a Price each (and a Product of product_data), archived. */
interface Made {
  products: ProductRow[];
  prices: PriceRow[];
}

/** An inline price (Stripe's price_data): one-time, archived (active: false) so that it is not offered for reuse. */
function inlinePrice(principal: Principal, currency: string, unitAmount: number, product: ProductRow): PriceRow {
  return archivedPriceRow(principal, { currency, unitAmount, interval: ONE_TIME, intervalCount: 0 }, product);
}

/** The line items of a new session: from /v1/prices ids or price_data, all in one currency. */
async function lineItemsOf(c: Ctx, principal: Principal, items: z.output<typeof LineItem>[]): Promise<{ items: SessionLineItem[]; currency: string; made: Made }> {
  const out: SessionLineItem[] = [];
  const made: Made = { products: [], prices: [] };
  let currency: string | null = null;
  for (const [i, item] of items.entries()) {
    const param = `line_items[${i}]`;
    if ((item.price === undefined) === (item.price_data === undefined)) throw invalidRequest(`Pass either price or price_data in ${param}.`, `${param}[price]`);
    let line: SessionLineItem;
    let itemCurrency: string;
    if (item.price !== undefined) {
      const price = await findPrice(c.env.DB, principal, item.price, `${param}[price]`);
      if (!price.active) throw invalidRequest(`The price ${price.id} is not active.`, `${param}[price]`);
      // As Stripe: a session in payment mode takes one-time prices only (a recurring price needs
      // subscription mode, which sessions here do not offer: subscriptions are made with /v1/subscriptions).
      if (isRecurring(price)) {
        throw invalidRequest(`The price ${price.id} is recurring: a session in payment mode takes one-time prices only. Create a subscription with /v1/subscriptions instead.`, `${param}[price]`);
      }
      itemCurrency = price.currency;
      line = { id: randomId("li"), name: price.productName, quantity: item.quantity, unitAmount: price.unitAmount, price: price.id, priceType: "one_time", product: price.product };
    } else {
      const data = item.price_data;
      if (!data) throw invalidRequest(`Pass price_data in ${param}.`, `${param}[price_data]`);
      if ((data.product === undefined) === (data.product_data === undefined)) {
        throw invalidRequest(`Pass either product or product_data in ${param}[price_data].`, `${param}[price_data][product_data]`, "parameter_missing");
      }
      itemCurrency = data.currency;
      const line0 = { id: randomId("li"), quantity: item.quantity, unitAmount: data.unit_amount, priceType: "one_time" as const };
      if (data.product !== undefined) {
        // One of the merchant's products (another's is missing, as an unknown one: a 400 naming the parameter), shown by its name.
        const product = await findProduct(c.env.DB, principal, data.product, `${param}[price_data][product]`);
        if (!product.active) throw invalidRequest(`The product ${product.id} is archived (active: false): make it active, or use another product.`, `${param}[price_data][product]`);
        const price = inlinePrice(principal, data.currency, data.unit_amount, product);
        made.prices.push(price);
        line = { ...line0, price: price.id, name: product.name, product: product.id };
      } else {
        const productData = data.product_data;
        if (!productData) throw invalidRequest(`Pass product_data in ${param}[price_data].`, `${param}[price_data][product_data]`);
        // Stripe's inline product: made with the session, archived (active: false) as its inline price is.
        const product = newProduct(principal, { name: productData.name, description: productData.description ?? null, active: false, metadata: productData.metadata });
        const price = inlinePrice(principal, data.currency, data.unit_amount, product);
        made.products.push(product);
        made.prices.push(price);
        line = {
          ...line0,
          price: price.id,
          product: product.id,
          name: productData.name,
          ...(productData.description !== undefined ? { productDescription: productData.description } : {}),
          ...(productData.images?.length ? { images: productData.images } : {}),
          ...(productData.metadata && Object.keys(productData.metadata).length > 0 ? { productMetadata: productData.metadata } : {}),
        };
      }
    }
    if (item.metadata && Object.keys(item.metadata).length > 0) line.metadata = item.metadata;
    if (item.adjustable_quantity) line.adjustableQuantity = { enabled: false, maximum: item.adjustable_quantity.maximum ?? null, minimum: item.adjustable_quantity.minimum ?? null };
    if (currency !== null && itemCurrency !== currency) throw invalidRequest("All line items of a session must be in one currency.", `${param}[price_data][currency]`);
    currency = itemCurrency;
    out.push(line);
  }
  return { items: out, currency: currency ?? "usd", made };
}

export function registerCheckoutSessions(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/checkout/sessions", permission: "payments.transactions.create", summary: "Create a Checkout Session (mode=payment)", tag: TAG, body: CreateBody, response: CheckoutSessionSchema },
    // With an Idempotency-Key, a retried create answers the session the first one made (it made a second, payable one).
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "checkout.sessions.create", "", body, async () => {
        const expand = checkExpand(body.expand);
        const now = Date.now();
        let expiresAt = now + DEFAULT_SESSION_TTL_MS;
        if (body.expires_at !== undefined) {
          const at = body.expires_at * 1000;
          if (at < now + MIN_SESSION_TTL_MS - 60_000 || at > now + DEFAULT_SESSION_TTL_MS + 60_000) {
            throw invalidRequest("expires_at must be between 30 minutes and 24 hours from now.", "expires_at");
          }
          expiresAt = at;
        }
        if (body.customer !== undefined) await liveCustomer(c.env.DB, principal, body.customer, "customer");
        const intentData = body.payment_intent_data ?? {};
        // As POST /v1/payment_intents: with the session's customer the card is saved to it once paid;
        // without one (sessions here create no customer), nothing is saved and the card the shopper
        // paid with may be attached to a customer afterwards (POST /v1/payment_methods/{id}/attach).
        const { items, currency, made } = await lineItemsOf(c, principal, body.line_items);
        const total = items.reduce((sum, i) => sum + i.unitAmount * i.quantity, 0);
        // Free prices are allowed on the lines, but a session in payment mode has something to pay (as
        // Stripe refuses it at create): a payment intent is never made for 0.
        if (total === 0) throw invalidRequest("The Checkout Session's total amount due must be greater than 0.", "line_items");
        assertAmount(total, "line_items");

        const id = randomId("cs");
        const intentId = await sessionIntentId(principal, id);
        const origin = publicBase(c);
        const req = { ...(await requestContext(c, principal, "checkout.sessions.create", "", body, { action: "payment_intents.create" })), idempotencyKey: null, fingerprint: null };
        const outcome = await intentStub(c.env, intentId).create(req, createParams({
          id: intentId,
          amount: total,
          currency,
          captureMethod: intentData.capture_method?.capture ?? "automatic",
          captureAsync: intentData.capture_method?.async ?? false,
          customer: body.customer ?? null,
          description: intentData.description ?? null,
          metadata: intentData.metadata ?? {},
          lineItems: items.map((i) => ({ name: i.name, quantity: i.quantity, unitAmount: i.unitAmount })),
          receiptEmail: intentData.receipt_email ?? body.customer_email ?? null,
          statementDescriptor: intentData.statement_descriptor ?? null,
          statementDescriptorSuffix: intentData.statement_descriptor_suffix ?? null,
          shipping: intentData.shipping ?? null,
          setupFutureUsage: intentData.setup_future_usage ?? null,
          // After a 3DS challenge the shopper comes back to the session's page, which sends them on.
          returnUrl: `${origin}/checkout/${id}/return`,
          cancelUrl: body.cancel_url ?? null,
          createdVia: "checkout",
        }));
        if (outcome.error || !outcome.intent) throw invalidRequest(outcome.error?.message ?? "The session's payment could not be created.");

        const row: CheckoutSessionRow = {
          id,
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          status: "open",
          paymentStatus: "unpaid",
          paymentIntent: intentId,
          currency,
          amountSubtotal: total,
          amountTotal: total,
          lineItems: JSON.stringify(items),
          successUrl: body.success_url,
          cancelUrl: body.cancel_url ?? null,
          customer: body.customer ?? null,
          customerEmail: body.customer_email ?? null,
          clientReferenceId: body.client_reference_id ?? null,
          metadata: JSON.stringify(body.metadata ?? {}),
          expiresAt,
          completedAt: null,
          created: now,
        };
        // One batch: the products and prices its price_data lines make (each with its product.created or
        // price.created, as at Stripe), and the session.
        const requestId = c.get("requestId");
        const w = new Writes(c.env.DB, principal);
        for (const product of made.products) {
          const insert = drizzle(c.env.DB).insert(products).values(product).toSQL();
          w.add(insert.sql, insert.params);
          await w.event("product.created", renderProduct(product), [product.id], { requestId });
        }
        for (const price of made.prices) {
          // Only if its product is still there (a product with prices cannot be deleted).
          w.add(insertPriceSql, insertPriceParams(price, price.product ?? ""));
          await w.event("price.created", renderPrice(price), [price.id], { requestId });
        }
        const insert = drizzle(c.env.DB).insert(checkoutSessions).values(row).toSQL();
        w.add(insert.sql, insert.params);
        await w.commit(c.env);
        return { status: 200, body: await render(c, principal, row, expand) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/checkout/sessions", permission: "payments.transactions.view", summary: "List Checkout Sessions, newest first", tag: TAG, query: ListQuery, response: z.object({ object: z.literal("list"), data: z.array(CheckoutSessionSchema), has_more: z.boolean(), url: z.string() }).meta({ id: "CheckoutSessionList" }) },
    async (c, { query, principal }) => {
      const expand = checkExpand(query.expand, true);
      const filters: SQL[] = [];
      if (query.status) filters.push(eq(checkoutSessions.status, query.status));
      if (query.payment_intent) filters.push(eq(checkoutSessions.paymentIntent, query.payment_intent));
      if (query.customer) filters.push(eq(checkoutSessions.customer, query.customer));
      if (query.customer_details) filters.push(eq(checkoutSessions.customerEmail, query.customer_details.email));
      filters.push(...createdConditions(checkoutSessions.created, query.created));
      // The intent and the customer named must be the merchant's (a 400 resource_missing otherwise; a deleted customer is still known).
      const named: FilterId[] = [
        { object: "payment_intent", id: query.payment_intent || undefined },
        { object: "customer", id: query.customer || undefined },
      ];
      const page = await checkedList(c.env.DB, principal, named, () =>
        pageOf(c.env.DB, SESSIONS, principal, filters, pageRequest(query), (where, order, limit) => drizzle(c.env.DB).select().from(checkoutSessions).where(where).orderBy(...order).limit(limit)),
      );
      const data = await renderAll(c, principal, page.items, expand);
      return json(c, { ...listObject("/v1/checkout/sessions", page, (x) => x), data });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/checkout/sessions/{id}", permission: "payments.transactions.view", summary: "Retrieve a Checkout Session", tag: TAG, query: f.expandQuery, response: CheckoutSessionSchema },
    async (c, { params, query, principal }) => {
      const expand = checkExpand(query.expand);
      return json(c, await render(c, principal, await findSession(c, principal, params.id ?? ""), expand));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/checkout/sessions/{id}/line_items", permission: "payments.transactions.view", summary: "A Checkout Session's line items", tag: TAG, query: LineItemsQuery, response: LineItemListSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "item", true);
      const row = await findSession(c, principal, params.id ?? "");
      const all = renderLineItems(row, await linePrices(c, principal, [row]));
      // Stripe's paging over a short, fixed list.
      let data = all.data;
      if (query.starting_after) data = data.slice(data.findIndex((i) => i.id === query.starting_after) + 1);
      if (query.ending_before) data = data.slice(0, Math.max(0, data.findIndex((i) => i.id === query.ending_before)));
      const limit = query.limit ?? 10;
      return json(c, { ...all, data: await expanded(c, principal, data.slice(0, limit), "item", expand), has_more: data.length > limit });
    },
  );

  route(
    app,
    { method: "post", path: "/v1/checkout/sessions/{id}/expire", permission: "payments.transactions.void", summary: "Expire an open Checkout Session (its payment can no longer be made)", tag: TAG, body: ExpireBody, response: CheckoutSessionSchema },
    async (c, { params, body, principal }) => {
      const expand = checkExpand(body.expand);
      const row = await findSession(c, principal, params.id ?? "");
      if (row.status !== "open") throw invalidRequest(`Only Checkout Sessions with a status in ["open"] can be expired; this one is ${row.status}.`, "id", "checkout_session_not_open");
      const result = await expireSession(c.env, row, publicBase(c), principal.actor, c.get("requestId"));
      if (result.kind === "complete") throw invalidRequest("This Checkout Session was paid meanwhile; it is complete and cannot be expired.", "id", "checkout_session_not_open");
      if (result.kind === "unchanged" && result.row.status === "open") {
        throw invalidRequest("The session's payment is being processed; it cannot be expired now.", "id", "checkout_session_payment_processing");
      }
      return json(c, await render(c, principal, result.row, expand));
    },
  );
}
