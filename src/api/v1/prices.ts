// /v1/prices: recurring and one-time prices (amount, currency, interval and count, product, lookup key),
// create, retrieve, update (active, nickname, metadata, lookup key; the amount of a price never
// changes), list (by lookup keys too).
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { ApiError, invalidRequest, resourceMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import { findPrice, db, ONE_TIME, parseMetadata, renderPrice, type PriceRow } from "../../billing/store";
import { INTERVALS, MAX_INTERVAL_COUNT } from "../../billing/periods";
import { cursorOf, listable, pageOf, type Page } from "../../db/queries";
import { prices, products } from "../../db/schema";
import { newestFirst } from "../../db/shards";
import { mergeMetadata } from "../../intents/operations/metadata";
import { PriceSchema } from "./billing_schemas";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { findProduct, newProduct, renderProduct } from "./products";
import { idempotentD1 } from "./idempotency";
import { checkExpandable, json, listObject, pageRequest, renderExpanded } from "./respond";
import type { Scope } from "../../core/types";
import { route, type App } from "./route";
import { mergedMetadata, metadataWithinLimit, rowOf, writeGuarded } from "./updates";
import { listOf } from "./schemas";

const TAG = "Billing";
const PRICES = listable(prices, "price");

/** Stripe's lookup_key: up to 200 characters; "" is none (on an update: takes the price's key off). */
const lookupKey = f.text(200).transform((v) => (v === "" ? null : v));
/** Stripe's lookup_keys filter: up to 10 keys, as at Stripe. */
const MAX_LOOKUP_KEYS = 10;

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
    lookup_key: lookupKey.optional(),
    transfer_lookup_key: f.boolean.optional().describe("Take the lookup key from the price that holds it (else that is a 400)."),
    expand: f.expand.optional(),
  });

const UpdateBody = stripeBody("POST /v1/prices/{id}", {
  active: f.boolean.optional(),
  nickname: f.clearableText(250).optional(),
  metadata: f.metadata.optional(),
  lookup_key: lookupKey.optional(),
  transfer_lookup_key: f.boolean.optional().describe("Take the lookup key from the price that holds it (else that is a 400)."),
});
const ListQuery = z
  .object({
    active: f.boolean.optional(),
    currency: f.currency.optional(),
    product: f.text(255).optional(),
    lookup_keys: z
      .union([f.text(200), z.array(f.text(200)).min(1, "must name at least one key").max(MAX_LOOKUP_KEYS, `must have at most ${MAX_LOOKUP_KEYS} keys`)])
      .transform((v) => [...new Set(Array.isArray(v) ? v : [v])])
      .optional()
      .describe(`Only the prices holding these lookup keys (at most ${MAX_LOOKUP_KEYS}).`),
    limit: f.limit.optional(),
    starting_after: f.text(100).optional(),
    ending_before: f.text(100).optional(),
    expand: f.expand.optional(),
  })
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
 * A lookup key another price holds fails it (prices_lookup_key is unique), and the batch it is in.
 */
function insertPriceStatement(d1: D1Database, row: PriceRow, productId: string): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO prices (id, merchant_id, livemode, currency, unit_amount, interval, interval_count, product_name, nickname, active, metadata, created, product, lookup_key)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
       WHERE EXISTS (SELECT 1 FROM products WHERE id = ?13 AND merchant_id = ?2 AND livemode = ?3)`,
    )
    .bind(row.id, row.merchantId, row.livemode ? 1 : 0, row.currency, row.unitAmount, row.interval, row.intervalCount, row.productName, row.nickname, row.active ? 1 : 0, row.metadata, row.created, productId, row.lookupKey);
}

export async function insertPriceOfProduct(d1: D1Database, row: PriceRow, productId: string): Promise<boolean> {
  return (await insertPriceStatement(d1, row, productId).run()).meta.changes === 1;
}

/**
 * transfer_lookup_key: takes the key off the price that holds it (it stays as it is otherwise, active
 * or not), in the batch that gives the key to `to`, so the key is never held twice nor lost: only if
 * `productId`'s product is there (a new price's insert needs it in the same batch), never from `to` itself.
 */
function releaseLookupKey(d1: D1Database, scope: Scope, key: string, to: string, productId: string | null): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE prices SET lookup_key = NULL WHERE merchant_id = ?1 AND livemode = ?2 AND lookup_key = ?3 AND id != ?4
       AND (?5 IS NULL OR EXISTS (SELECT 1 FROM products WHERE id = ?5 AND merchant_id = ?1 AND livemode = ?2))`,
    )
    .bind(scope.merchantId, scope.livemode ? 1 : 0, key, to, productId);
}

/** The price of the merchant's (and mode's) that holds `key`, other than `except`. */
async function lookupKeyHolder(d1: D1Database, scope: Scope, key: string, except: string): Promise<string | null> {
  const [row] = await db(d1)
    .select({ id: prices.id })
    .from(prices)
    .where(and(eq(prices.merchantId, scope.merchantId), eq(prices.livemode, scope.livemode), eq(prices.lookupKey, key)))
    .limit(1);
  return row && row.id !== except ? row.id : null;
}

/** Stripe's answer to a lookup key another price holds. */
function lookupKeyTaken(holder: string | null): ApiError {
  return invalidRequest(holder ? `A price (\`${holder}\`) already uses that lookup key.` : "Another price already uses that lookup key.", "lookup_key");
}

/** Whether a batch failed on prices_lookup_key: another request gave the key to another price first. */
function isLookupKeyConflict(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed: prices\.merchant_id, prices\.livemode, prices\.lookup_key/.test(err.message);
}

/**
 * Runs a batch that gives `key` to a price: a 400 naming the holder when the key is taken (checked
 * first for the common case; a create racing this one is caught by the unique index, which fails
 * the whole batch, so nothing of it is written). Without transfer_lookup_key the key is never taken
 * from another price.
 */
async function claimingLookupKey(d1: D1Database, scope: Scope, key: string | null, self: string, transfer: boolean, statements: D1PreparedStatement[]): Promise<D1Result[]> {
  if (key !== null && !transfer) {
    const holder = await lookupKeyHolder(d1, scope, key, self);
    if (holder) throw lookupKeyTaken(holder);
  }
  try {
    return await d1.batch(statements);
  } catch (err) {
    if (key !== null && isLookupKeyConflict(err)) throw lookupKeyTaken(await lookupKeyHolder(d1, scope, key, self));
    throw err;
  }
}

/**
 * The page of the prices holding `keys`, with the list's other filters: each key names at most one
 * price (prices_lookup_key is unique), so they are at most MAX_LOOKUP_KEYS rows, read in one statement
 * that only that index can serve (scope and keys; an IN over several keys has no one index order, so no
 * ORDER BY), then filtered, ordered and cut at the cursor here. The other filters and the cursor stay
 * out of the SQL: given them, SQLite walked another index's range instead (prices_active from the cursor).
 */
async function pageByLookupKeys(d1: D1Database, scope: Scope, keys: string[], query: z.output<typeof ListQuery>): Promise<Page<PriceRow>> {
  const { limit, startingAfter, endingBefore } = pageRequest(query);
  const cursor = endingBefore ? await cursorOf(d1, PRICES, scope, endingBefore, "ending_before") : startingAfter ? await cursorOf(d1, PRICES, scope, startingAfter, "starting_after") : null;
  const rows = await db(d1)
    .select()
    .from(prices)
    .where(and(eq(prices.merchantId, scope.merchantId), eq(prices.livemode, scope.livemode), inArray(prices.lookupKey, keys)))
    .limit(MAX_LOOKUP_KEYS);
  const listed = rows
    .filter((r) => (query.active === undefined || r.active === query.active) && (query.currency === undefined || r.currency === query.currency) && (query.product === undefined || r.product === query.product))
    .sort(newestFirst);
  if (cursor && endingBefore) {
    const newer = listed.filter((r) => newestFirst(r, cursor) < 0);
    return { items: newer.slice(-limit), hasMore: newer.length > limit };
  }
  const older = cursor ? listed.filter((r) => newestFirst(r, cursor) > 0) : listed;
  return { items: older.slice(0, limit), hasMore: older.length > limit };
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
          lookupKey: body.lookup_key ?? null,
        };
        const productId = existing?.id ?? made?.id ?? "";
        const d1 = c.env.DB;
        const productInsert = made ? db(d1).insert(products).values(made).toSQL() : null;
        // One batch: the inline product, the key taken off its holder (transfer_lookup_key), the price.
        const statements = [
          ...(productInsert ? [d1.prepare(productInsert.sql).bind(...productInsert.params)] : []),
          ...(row.lookupKey !== null && body.transfer_lookup_key ? [releaseLookupKey(d1, principal, row.lookupKey, row.id, productId)] : []),
          insertPriceStatement(d1, row, productId),
        ];
        const results = await claimingLookupKey(d1, principal, row.lookupKey, row.id, body.transfer_lookup_key === true, statements);
        if (results[results.length - 1]?.meta.changes !== 1) throw resourceMissing("product", productId, "product");
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
    { method: "post", path: "/v1/prices/{id}", permission: "billing.manage", summary: "Update a price: active, nickname, metadata, lookup_key (transfer_lookup_key takes it from its holder)", tag: TAG, body: UpdateBody, response: PriceSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "prices.update", params.id ?? "", body, async () => {
        const id = params.id ?? "";
        const row = await findPrice(c.env.DB, principal, id, "id");
        // Stripe's error for too many keys, on the row as read; the write checks the limit again on the row it merges into.
        if (body.metadata) mergeMetadata(parseMetadata(row.metadata), body.metadata);
        // Only what the body changes is written, on the row as it is then (metadata merged on the stored
        // JSON): a concurrent update's fields and keys are never written back from this read.
        const changes: SQLiteUpdateSetSource<typeof prices> = {};
        const guards: SQL[] = [eq(prices.id, row.id), eq(prices.merchantId, principal.merchantId), eq(prices.livemode, principal.livemode)];
        if (body.active !== undefined) changes.active = body.active;
        if (body.nickname !== undefined) changes.nickname = body.nickname;
        // The key is written only when it changes: one transferred away since the read is not taken back.
        const keyChanges = body.lookup_key !== undefined && body.lookup_key !== row.lookupKey;
        if (keyChanges) changes.lookupKey = body.lookup_key;
        if (body.metadata) {
          const merged = mergedMetadata(prices.metadata, body.metadata);
          changes.metadata = merged;
          guards.push(metadataWithinLimit(merged));
        }
        if (Object.keys(changes).length === 0) return { status: 200, body: renderPrice(row) };
        const d1 = c.env.DB;
        const update = db(d1).update(prices).set(changes).where(and(...guards)).returning().toSQL();
        const claimed = keyChanges ? (body.lookup_key ?? null) : null;
        const written = await writeGuarded(
          "price",
          row.id,
          async () => {
            const statements = [
              ...(claimed !== null && body.transfer_lookup_key ? [releaseLookupKey(d1, principal, claimed, row.id, null)] : []),
              d1.prepare(update.sql).bind(...update.params),
            ];
            const results = await claimingLookupKey(d1, principal, claimed, row.id, body.transfer_lookup_key === true, statements);
            const [raw] = (results[results.length - 1]?.results ?? []) as Record<string, unknown>[];
            return raw ? rowOf(prices, raw) : undefined;
          },
          async () => {
            const now = await findPrice(d1, principal, id, "id");
            if (body.metadata) mergeMetadata(parseMetadata(now.metadata), body.metadata);
          },
        );
        return { status: 200, body: renderPrice(written) };
      }),
  );

  route(
    app,
    { method: "get", path: "/v1/prices", permission: "billing.view", summary: "List prices, newest first (filter by active, currency, product, lookup_keys)", tag: TAG, query: ListQuery, response: listOf(PriceSchema, "PriceList") },
    async (c, { query, principal }) => {
      const filters = [
        ...(query.active !== undefined ? [eq(prices.active, query.active)] : []),
        ...(query.currency ? [eq(prices.currency, query.currency)] : []),
        ...(query.product ? [eq(prices.product, query.product)] : []),
      ];
      const expand = checkExpandable(query.expand, ["data.product"]);
      const page = query.lookup_keys
        ? await pageByLookupKeys(c.env.DB, principal, query.lookup_keys, query)
        : await pageOf(c.env.DB, PRICES, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(prices).where(where).orderBy(...order).limit(limit));
      return json(c, { ...listObject("/v1/prices", page, renderPrice), data: await renderPrices(c.env.DB, principal, page.items, expand.length > 0) });
    },
  );
}
