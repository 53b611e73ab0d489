// /v1/prices: recurring and one-time prices (amount, currency, interval and count, product), create, retrieve,
// update (active, nickname, metadata; the amount of a price never changes), list.
import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import { findPrice, db, ONE_TIME, renderPrice, type PriceRow } from "../../billing/store";
import { INTERVALS, MAX_INTERVAL_COUNT } from "../../billing/periods";
import { listable, pageOf } from "../../db/queries";
import { prices, products } from "../../db/schema";
import { mergeMetadata } from "../../intents/operations/metadata";
import { PriceSchema } from "./billing_schemas";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { findProduct, newProduct, renderProduct } from "./products";
import { idempotentD1 } from "./idempotency";
import { checkExpandable, json, listObject, pageRequest, renderExpanded } from "./respond";
import type { Scope } from "../../core/types";
import { route, type App } from "./route";
import { listOf } from "./schemas";

const TAG = "Billing";
const PRICES = listable(prices, "price");

const CreateBody = stripeBody("POST /v1/prices", {
    unit_amount: f.amount,
    currency: f.currency,
    recurring: z
      .object({ interval: z.enum(INTERVALS), interval_count: f.integer.pipe(z.number().min(1, "must be at least 1")).optional() })
      .strict()
      .optional()
      .describe("Without it, a one-time price (for Checkout); subscriptions need a recurring one."),
    product_data: z.object({ name: f.text(250).pipe(z.string().min(1, "must not be empty")) }).strict().optional(),
    product_name: f.text(250).optional().describe("Shorthand for product_data[name]."),
    product: f.text(255).optional().describe("One of the merchant's products (prod_...)."),
    nickname: f.text(250).optional(),
    active: f.boolean.optional(),
    metadata: f.createMetadata.optional(),
    expand: f.expand.optional(),
  });

const UpdateBody = stripeBody("POST /v1/prices/{id}", { active: f.boolean.optional(), nickname: f.clearableText(250).optional(), metadata: f.metadata.optional() });
const ListQuery = z
  .object({ active: f.boolean.optional(), currency: f.currency.optional(), product: f.text(255).optional(), limit: f.limit.optional(), starting_after: f.text(100).optional(), ending_before: f.text(100).optional(), expand: f.expand.optional() })
  .strict();

/**
 * A price, with its product as an object when `expand` asks for it (Stripe's `expand[]=product`, or
 * `data.product` on a list). The products of a page are read in one query.
 */
async function renderPrices(d1: D1Database, scope: Scope, rows: PriceRow[], expandProduct: boolean): Promise<unknown[]> {
  return renderExpanded(rows, (r) => ({ ...renderPrice(r) }), expandProduct, (r) => r.product, async (ids) => {
    const found = await db(d1).select().from(products).where(and(eq(products.merchantId, scope.merchantId), eq(products.livemode, scope.livemode), inArray(products.id, ids)));
    return new Map(found.map((p) => [p.id, renderProduct(p)]));
  }, (price, product) => ({ ...price, product }));
}

/**
 * Inserts a price of an existing product only if the product is still there, in one statement: a
 * product with prices cannot be deleted (DELETE /v1/products/{id}), and a deletion landing between the
 * product's lookup and this insert must not leave a price of no product. D1 runs the two in some order.
 */
export async function insertPriceOfProduct(d1: D1Database, row: PriceRow, productId: string): Promise<boolean> {
  const res = await d1
    .prepare(
      `INSERT INTO prices (id, merchant_id, livemode, currency, unit_amount, interval, interval_count, product_name, nickname, active, metadata, created, product)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
       WHERE EXISTS (SELECT 1 FROM products WHERE id = ?13 AND merchant_id = ?2 AND livemode = ?3)`,
    )
    .bind(row.id, row.merchantId, row.livemode ? 1 : 0, row.currency, row.unitAmount, row.interval, row.intervalCount, row.productName, row.nickname, row.active ? 1 : 0, row.metadata, row.created, productId)
    .run();
  return res.meta.changes === 1;
}

export function registerPrices(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/prices", permission: "billing.manage", summary: "Create a price (recurring, or one-time without recurring)", tag: TAG, body: CreateBody, response: PriceSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "prices.create", "", body, async () => {
        const given = body.product_data?.name ?? body.product_name;
        if (body.product !== undefined && given !== undefined) throw invalidRequest("Pass either product or product_data, not both.", "product_data");
        // The product named, or a new one made from product_data[name] (Stripe's inline product).
        const existing = body.product !== undefined ? await findProduct(c.env.DB, principal, body.product) : null;
        const name = existing?.name ?? given;
        if (!name) throw invalidRequest("Name the product: product (an id) or product_data[name].", "product", "parameter_missing");
        const made = existing ? null : newProduct(principal, { name });
        const recurring = body.recurring;
        const count = recurring ? (recurring.interval_count ?? 1) : 0;
        if (recurring) {
          const max = MAX_INTERVAL_COUNT[recurring.interval];
          if (count > max) throw invalidRequest(`A ${recurring.interval} price bills at most every ${max} ${recurring.interval}s.`, "recurring[interval_count]");
        }
        const row: PriceRow = {
          id: randomId("price"),
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          currency: body.currency,
          unitAmount: body.unit_amount,
          interval: recurring?.interval ?? ONE_TIME,
          intervalCount: count,
          productName: name,
          nickname: body.nickname ?? null,
          active: body.active ?? true,
          metadata: JSON.stringify(body.metadata ?? {}),
          created: Date.now(),
          product: existing?.id ?? made?.id ?? null,
        };
        if (made) await db(c.env.DB).batch([db(c.env.DB).insert(products).values(made), db(c.env.DB).insert(prices).values(row)]);
        else if (existing && !(await insertPriceOfProduct(c.env.DB, row, existing.id))) throw resourceMissing("product", existing.id, "product");
        const [rendered] = await renderPrices(c.env.DB, principal, [row], checkExpandable(body.expand, ["product"]).length > 0);
        return { status: 200, body: rendered };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/prices/{id}", permission: "billing.view", summary: "Retrieve a price (expand[]=product)", tag: TAG, query: f.expandQuery, response: PriceSchema },
    async (c, { params, query, principal }) => {
      const expand = checkExpandable(query.expand, ["product"]);
      const [rendered] = await renderPrices(c.env.DB, principal, [await findPrice(c.env.DB, principal, params.id ?? "", "id")], expand.length > 0);
      return json(c, rendered);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/prices/{id}", permission: "billing.manage", summary: "Update a price: active, nickname, metadata", tag: TAG, body: UpdateBody, response: PriceSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "prices.update", params.id ?? "", body, async () => {
        const row = await findPrice(c.env.DB, principal, params.id ?? "", "id");
        const next: PriceRow = {
          ...row,
          active: body.active ?? row.active,
          nickname: body.nickname !== undefined ? body.nickname : row.nickname,
          metadata: body.metadata ? JSON.stringify(mergeMetadata(JSON.parse(row.metadata) as Record<string, string>, body.metadata)) : row.metadata,
        };
        await db(c.env.DB)
          .update(prices)
          .set({ active: next.active, nickname: next.nickname, metadata: next.metadata })
          .where(and(eq(prices.id, row.id), eq(prices.merchantId, principal.merchantId)));
        return { status: 200, body: renderPrice(next) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/prices", permission: "billing.view", summary: "List prices, newest first", tag: TAG, query: ListQuery, response: listOf(PriceSchema, "PriceList") },
    async (c, { query, principal }) => {
      const filters = [
        ...(query.active !== undefined ? [eq(prices.active, query.active)] : []),
        ...(query.currency ? [eq(prices.currency, query.currency)] : []),
        ...(query.product ? [eq(prices.product, query.product)] : []),
      ];
      const expand = checkExpandable(query.expand, ["data.product"]);
      const page = await pageOf(c.env.DB, PRICES, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(prices).where(where).orderBy(...order).limit(limit));
      return json(c, { ...listObject("/v1/prices", page, renderPrice), data: await renderPrices(c.env.DB, principal, page.items, expand.length > 0) });
    },
  );
}
