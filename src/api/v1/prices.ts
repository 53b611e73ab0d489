// /v1/prices: recurring and one-time prices (amount, currency, interval and count, product, lookup key),
// create, retrieve, update (active, nickname, metadata, lookup key; the amount of a price never
// changes), list (by lookup keys too). Each change writes its events (price.created or .updated, the
// product.created of an inline product, the price.updated of a price whose lookup key is transferred)
// in its own D1 batch.
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { ApiError, invalidRequest, resourceMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import { findPrice, db, ONE_TIME, parseMetadata, renderPrice, type PriceRow } from "../../billing/store";
import { INTERVALS, MAX_INTERVAL_COUNT } from "../../billing/periods";
import { booleanField, conditionField, searchPage, searchResult, searchTotal, tableRows, textField, type Searchable } from "../../db/object-search";
import { createdConditions, cursorOf, listable, NO_ROWS, pageOf, withinCreated, type Page } from "../../db/queries";
import { prices, products } from "../../db/schema";
import { newestFirst } from "../../db/shards";
import { Writes } from "../../billing/writes";
import { mergeMetadata } from "../../intents/operations/metadata";
import { PriceSchema } from "./billing_schemas";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { findProduct, newProduct, renderProduct } from "./products";
import { idempotentD1 } from "./idempotency";
import { json, listObject, pageRequest } from "./respond";
import { expanded, expandPaths, searchExpand } from "./expand";
import type { Principal } from "../../auth/permissions";
import type { Scope } from "../../core/types";
import type { Env } from "../../env";
import { route, type App, type Ctx } from "./route";
import { afterLoss, COMPARE_TRIES, heldBack, sameRow, writeCompared } from "./updates";
import { listOf, searchResultOf } from "./schemas";
import { checkedList } from "./list-filters";

const TAG = "Billing";
const PRICES = listable(prices, "price");

/** Stripe's lookup_key: up to 200 characters; "" is none (on an update: takes the price's key off). */
const lookupKey = f.text(200).transform((v) => (v === "" ? null : v));
/** Stripe's lookup_keys filter: up to 10 keys, as at Stripe. */
const MAX_LOOKUP_KEYS = 10;

/**
 * Stripe's unit_amount of a price: an integer in minor units, 0 (a free price) up to the largest
 * amount. Whatever bills it copes with a 0: a subscription's invoice is paid as it is made (no payment
 * intent), and a Checkout Session whose total is 0 is refused at create.
 */
export const priceUnitAmount = f.minorAmount(0, "must be at least 0 (0 for a free price; a positive integer in minor units otherwise)");

const CreateBody = stripeBody("POST /v1/prices", {
    unit_amount: priceUnitAmount,
    currency: f.currency,
    recurring: z
      .object({
        interval: z.enum(INTERVALS),
        interval_count: f.integer.pipe(z.number().min(1, "must be at least 1")).optional(),
        // Stripe's default; metered (usage-based) prices need usage records, which are not kept here.
        usage_type: z.enum(["licensed", "metered"]).refine((v) => v === "licensed", { message: "only licensed prices: usage-based (metered) billing is not served", params: { notSupported: true } }).optional(),
        trial_period_days: z.unknown().refine(() => false, { message: "prices carry no trial here (Stripe deprecated it): pass trial_period_days to POST /v1/subscriptions", params: { notSupported: true } }).optional(),
        meter: z.unknown().refine(() => false, { message: "only licensed prices: usage-based (metered) billing is not served", params: { notSupported: true } }).optional(),
      })
      .strict()
      .optional()
      .describe("Without it, a one-time price (for Checkout); subscriptions need a recurring one."),
    product_data: z
      .object({
        name: f.text(250).pipe(z.string().min(1, "must not be empty")),
        metadata: f.createMetadata.optional(),
        active: f.boolean.optional(),
        // As on POST /v1/products: shown by its name only, no taxes, the intent's descriptor.
        statement_descriptor: z.unknown().transform(() => undefined).optional(),
        tax_code: z.unknown().transform(() => undefined).optional(),
        unit_label: z.unknown().transform(() => undefined).optional(),
      })
      .strict()
      .optional(),
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
    type: z.enum(["one_time", "recurring"]).optional(),
    recurring: z.object({ interval: z.enum(INTERVALS).optional(), usage_type: z.enum(["licensed", "metered"]).optional() }).strict().optional(),
    created: f.createdFilter.optional(),
    lookup_keys: z
      .union([f.text(200), z.array(f.text(200)).min(1, "must name at least one key").max(MAX_LOOKUP_KEYS, `must have at most ${MAX_LOOKUP_KEYS} keys`)])
      .transform((v) => [...new Set(Array.isArray(v) ? v : [v])])
      .optional()
      .describe(`Only the prices holding these lookup keys (at most ${MAX_LOOKUP_KEYS}).`),
    ...f.listFields,
  })
  .strict();

/**
 * Stripe's price search (src/db/object-search.ts): `active`, `currency`, `lookup_key` (the unique
 * prices_lookup_key), `product`, `type` (one_time or recurring: a partial index each, whose conditions
 * these literals repeat), `metadata['key']` (object_metadata), `created`.
 */
const PRICE_SEARCH: Searchable = {
  resource: "prices",
  list: PRICES,
  fields: {
    active: booleanField(prices.active),
    currency: textField(prices.currency, "indexed", { normalize: (v) => v.toLowerCase() }),
    lookup_key: textField(prices.lookupKey, "selective"),
    product: textField(prices.product, "selective"),
    type: conditionField({ one_time: sql`${prices.interval} = 'one_time'`, recurring: sql`${prices.interval} <> 'one_time'` }),
  },
  metadataObject: "price",
  selectiveHint: "an exact product:, lookup_key: or metadata['key']: clause",
  indexedHint: "active:, currency:, lookup_key:, product:, type:, metadata['key']:, created",
};

const SearchQuery = z.object({ ...f.searchFields, expand: f.expand.optional() }).strict();

/**
 * A price, with its product as an object when `expand` asks for it (Stripe's `expand[]=product`, or
 * `data.product` on a list). The products of a page are read in one query.
 */
function renderPrices(c: Ctx, principal: Principal, rows: PriceRow[], expand: readonly string[]): Promise<unknown[]> {
  return expanded(c, principal, rows.map(renderPrice), "price", expand);
}

/**
 * Inserts a price of an existing product only if the product is still there, in one statement: a
 * product with prices cannot be deleted (DELETE /v1/products/{id}), and a deletion landing between the
 * product's lookup and this insert must not leave a price of no product. D1 runs the two in some order.
 * A lookup key another price holds fails it (prices_lookup_key is unique), and the batch it is in.
 */
export const insertPriceSql = `INSERT INTO prices (id, merchant_id, livemode, currency, unit_amount, interval, interval_count, product_name, nickname, active, metadata, created, product, lookup_key)
  SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14
  WHERE EXISTS (SELECT 1 FROM products WHERE id = ?13 AND merchant_id = ?2 AND livemode = ?3)`;

export function insertPriceParams(row: PriceRow, productId: string): unknown[] {
  return [row.id, row.merchantId, row.livemode ? 1 : 0, row.currency, row.unitAmount, row.interval, row.intervalCount, row.productName, row.nickname, row.active ? 1 : 0, row.metadata, row.created, productId, row.lookupKey];
}

export async function insertPriceOfProduct(d1: D1Database, row: PriceRow, productId: string): Promise<boolean> {
  // D1's changes count the rows the insert's triggers write too (its metadata keys in object_metadata):
  // inserted or not is whether any changed.
  return (await d1.prepare(insertPriceSql).bind(...insertPriceParams(row, productId)).run()).meta.changes > 0;
}

/** What items[][price_data] of a subscription names: a recurring price of one of the merchant's products. */
export interface InlinePriceInput {
  currency: string;
  unitAmount: number;
  interval: (typeof INTERVALS)[number];
  intervalCount: number;
  product: string;
}

/** The row of an inline price (Stripe's price_data), archived (active: false) so that it is not offered for reuse. */
export function archivedPriceRow(scope: Scope, price: Pick<PriceRow, "currency" | "unitAmount" | "interval" | "intervalCount">, product: { id: string; name: string }): PriceRow {
  return {
    id: randomId("price"),
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    ...price,
    productName: product.name,
    nickname: null,
    active: false,
    metadata: "{}",
    created: Date.now(),
    product: product.id,
    lookupKey: null,
  };
}

/**
 * An ad-hoc price made from price_data (a subscription's items[][price_data]), with its price.created:
 * as at Stripe, it belongs to an existing product of the merchant's (another's is a 400 resource_missing naming
 * `param[product]`, an archived one a 400) and is created archived (active: false), so that it is not
 * offered for reuse; the subscription made with it goes on using it.
 */
export async function createInlinePrice(env: Env, scope: Scope, input: InlinePriceInput, param: string, requestId: string | null): Promise<PriceRow> {
  const product = await findProduct(env.DB, scope, input.product, `${param}[product]`);
  if (!product.active) throw invalidRequest(`The product ${product.id} is archived (active: false): make it active, or use another product.`, `${param}[product]`);
  const max = MAX_INTERVAL_COUNT[input.interval];
  if (input.intervalCount > max) throw invalidRequest(`A ${input.interval} price bills at most every ${max} ${input.interval}s.`, `${param}[recurring][interval_count]`);
  const row = archivedPriceRow(scope, { currency: input.currency, unitAmount: input.unitAmount, interval: input.interval, intervalCount: input.intervalCount }, product);
  const w = new Writes(env.DB, scope);
  const at = w.size;
  w.add(insertPriceSql, insertPriceParams(row, product.id));
  await w.event("price.created", renderPrice(row), [row.id], { requestId });
  // None inserted: the product was deleted meanwhile.
  if (((await w.commit(env))[at] ?? 0) === 0) throw resourceMissing("product", product.id, `${param}[product]`);
  return row;
}

/**
 * transfer_lookup_key: takes the key off the price that holds it (it stays as it is otherwise, active
 * or not), with that price's price.updated, in the batch that gives the key to `to`, so the key is
 * never held twice nor lost: only if the holder is still the row read (its event is that row without
 * the key) and `productId`'s product is there (a new price's insert needs it in the same batch). A
 * holder changed meanwhile keeps the key, so the batch fails on prices_lookup_key and is tried again
 * (transferLost).
 */
async function releaseLookupKey(w: Writes, d1: D1Database, scope: Scope, key: string, to: string, productId: string | null, requestId: string | null): Promise<void> {
  const [holder] = await db(d1)
    .select()
    .from(prices)
    .where(and(eq(prices.merchantId, scope.merchantId), eq(prices.livemode, scope.livemode), eq(prices.lookupKey, key), ne(prices.id, to)))
    .limit(1);
  if (!holder) return;
  const productThere = productId === null ? [] : [sql`EXISTS (SELECT 1 FROM products WHERE id = ${productId} AND merchant_id = ${scope.merchantId} AND livemode = ${scope.livemode ? 1 : 0})`];
  const release = db(d1).update(prices).set({ lookupKey: null }).where(and(sameRow(prices, holder), ...productThere)).toSQL();
  w.add(release.sql, release.params);
  await w.event("price.updated", renderPrice({ ...holder, lookupKey: null }), null, { requestId, previousAttributes: { lookup_key: key } });
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

/** Without transfer_lookup_key, a key another price holds is a 400 naming it (checked first for the common case; a create racing this one is caught by the unique index). */
async function checkLookupKeyFree(d1: D1Database, scope: Scope, key: string | null, self: string, transfer: boolean): Promise<void> {
  if (key === null || transfer) return;
  const holder = await lookupKeyHolder(d1, scope, key, self);
  if (holder) throw lookupKeyTaken(holder);
}

/**
 * Runs `write`, whose batch gives `key` to a price: failed on prices_lookup_key (the unique index
 * fails the whole batch, so nothing of it is written), it is the 400 naming the holder; with
 * transfer_lookup_key, the key moved on between the holder's read and the batch, and it is tried again.
 */
async function claimingLookupKey<T>(d1: D1Database, scope: Scope, key: string | null, self: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
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
    .filter(
      (r) =>
        (query.active === undefined || r.active === query.active) &&
        (query.currency === undefined || r.currency === query.currency) &&
        (query.product === undefined || r.product === query.product) &&
        (query.type === undefined || (query.type === "one_time") === (r.interval === ONE_TIME)) &&
        (query.recurring?.interval === undefined || r.interval === query.recurring.interval) &&
        (query.recurring?.usage_type === undefined || (query.recurring.usage_type === "licensed" && r.interval !== ONE_TIME)) &&
        withinCreated(r.created, query.created),
    )
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
        const made = existing ? null : newProduct(principal, { name, metadata: body.product_data?.metadata, active: body.product_data?.active });
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
        const requestId = c.get("requestId");
        const transfer = body.transfer_lookup_key === true && row.lookupKey !== null;
        await checkLookupKeyFree(d1, principal, row.lookupKey, row.id, body.transfer_lookup_key === true);
        // One batch: the inline product, the key taken off its holder (transfer_lookup_key), the price,
        // each with its event.
        const inserted = await claimingLookupKey(d1, principal, row.lookupKey, row.id, async () => {
          for (let i = 0; i < COMPARE_TRIES; i++) {
            const w = new Writes(d1, principal);
            if (made) {
              const productInsert = db(d1).insert(products).values(made).toSQL();
              w.add(productInsert.sql, productInsert.params);
              await w.event("product.created", renderProduct(made), [made.id], { requestId });
            }
            if (transfer && row.lookupKey !== null) await releaseLookupKey(w, d1, principal, row.lookupKey, row.id, productId, requestId);
            const at = w.size;
            w.add(insertPriceSql, insertPriceParams(row, productId));
            await w.event("price.created", renderPrice(row), [row.id], { requestId });
            try {
              // Counted with the rows its triggers write (object_metadata): none means no insert.
              return ((await w.commit(c.env))[at] ?? 0) > 0;
            } catch (err) {
              // The key moved on between the holder's read and the batch: read its holder again.
              if (!transfer || !isLookupKeyConflict(err)) throw err;
            }
            await afterLoss(i);
          }
          throw heldBack("price", row.id, COMPARE_TRIES);
        });
        if (!inserted) throw resourceMissing("product", productId, "product");
        const [rendered] = await renderPrices(c, principal, [row], expandPaths(body.expand, "price"));
        return { status: 200, body: rendered };
      }),
  );

  // Before /v1/prices/{id}, so that "search" is not taken for an id.
  route(
    app,
    {
      method: "get",
      path: "/v1/prices/search",
      permission: "billing.view",
      summary: "Search prices: active, currency, lookup_key, product, type (one_time, recurring), metadata['key'], created; joined by AND or by OR (expand[]=data.product)",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(PriceSchema, "PriceSearchResult"),
    },
    async (c, { query, principal }) => {
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = expandPaths(objectExpand, "price", true);
      const page = await searchPage(c.env.DB, PRICE_SEARCH, principal, { query: query.query, limit: query.limit ?? 10, page: query.page }, tableRows(c.env.DB, prices));
      const totalCount = total ? await searchTotal(c.env.DB, PRICE_SEARCH, principal, query.query, prices) : undefined;
      return json(c, searchResult("/v1/prices/search", page, await renderPrices(c, principal, page.items, expand), totalCount));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/prices/{id}", permission: "billing.view", summary: "Retrieve a price (expand[]=product)", tag: TAG, query: f.expandQuery, response: PriceSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "price");
      const [rendered] = await renderPrices(c, principal, [await findPrice(c.env.DB, principal, params.id ?? "", "id")], expand);
      return json(c, rendered);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/prices/{id}", permission: "billing.manage", summary: "Update a price: active, nickname, metadata, lookup_key (transfer_lookup_key takes it from its holder)", tag: TAG, body: UpdateBody, response: PriceSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "prices.update", params.id ?? "", body, async () => {
        const id = params.id ?? "";
        const d1 = c.env.DB;
        const requestId = c.get("requestId");
        const transfer = body.transfer_lookup_key === true;
        // Computed on the price as read and written only if it is still that price, with price.updated
        // (and the price.updated of the one its lookup key is taken from) in the same transaction;
        // someone else wrote first: read and computed again.
        const written = await claimingLookupKey(d1, principal, body.lookup_key ?? null, id, () =>
          writeCompared(c.env, {
            table: prices,
            resource: "price",
            id,
            read: () => findPrice(d1, principal, id, "id"),
            plan: async (row) => {
              const changes: Partial<PriceRow> = {};
              if (body.active !== undefined && body.active !== row.active) changes.active = body.active;
              if (body.nickname !== undefined && body.nickname !== row.nickname) changes.nickname = body.nickname;
              if (body.metadata) {
                // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
                const metadata = JSON.stringify(mergeMetadata(parseMetadata(row.metadata), body.metadata));
                if (metadata !== JSON.stringify(parseMetadata(row.metadata))) changes.metadata = metadata;
              }
              const claimed = body.lookup_key !== undefined && body.lookup_key !== row.lookupKey ? body.lookup_key : undefined;
              if (claimed !== undefined) {
                changes.lookupKey = claimed;
                await checkLookupKeyFree(d1, principal, claimed, row.id, transfer);
              }
              // Nothing changes: nothing is written, and no price.updated.
              if (Object.keys(changes).length === 0) return undefined;
              return {
                changes,
                before: claimed !== undefined && claimed !== null && transfer ? (w: Writes) => releaseLookupKey(w, d1, principal, claimed, row.id, null, requestId) : undefined,
                // With transfer_lookup_key, a key that moved on between the holder's read and the batch: read again.
                lost: (err: unknown) => transfer && isLookupKeyConflict(err),
              };
            },
            event: { type: "price.updated", render: renderPrice, requestId },
          }),
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
        // As the partial indexes prices_one_time and prices_recurring say it, so that the list walks one.
        ...(query.type === "one_time" ? [sql`${prices.interval} = 'one_time'`] : query.type === "recurring" ? [sql`${prices.interval} <> 'one_time'`] : []),
        // A range of the partial index prices_interval (migration 0049), whose condition the literal repeats.
        ...(query.recurring?.interval ? [sql`${prices.interval} <> 'one_time'`, eq(prices.interval, query.recurring.interval)] : []),
        // Every price here is licensed: metered matches none, licensed every recurring price.
        ...(query.recurring?.usage_type === "metered" ? [NO_ROWS] : query.recurring?.usage_type === "licensed" && !query.recurring.interval ? [sql`${prices.interval} <> 'one_time'`] : []),
        ...createdConditions(prices.created, query.created),
      ];
      const expand = expandPaths(query.expand, "price", true);
      // The product named must be the merchant's (a 400 resource_missing otherwise; a deleted product is gone, as at Stripe).
      const page = await checkedList(c.env.DB, principal, [{ object: "product", id: query.product || undefined }], () =>
        query.lookup_keys
          ? pageByLookupKeys(c.env.DB, principal, query.lookup_keys, query)
          : pageOf(c.env.DB, PRICES, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(prices).where(where).orderBy(...order).limit(limit)),
      );
      return json(c, { ...listObject("/v1/prices", page, renderPrice), data: await renderPrices(c, principal, page.items, expand) });
    },
  );
}
