// /v1/products (Stripe's): what prices are the price of. Create, retrieve, update (name, description,
// active, metadata), list, delete (only a product without prices, as at Stripe: archive the others). A price points at its product (POST /v1/prices product=prod_..., or
// product_data[name], which creates one). Each change writes its product.created, .updated or .deleted
// in its own D1 batch.
import { and, eq, notExists } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, resourceMissing } from "../../core/errors";
import { hasPrefix, randomId } from "../../core/ids";
import type { Metadata, Scope } from "../../core/types";
import { db, parseMetadata } from "../../billing/store";
import { booleanField, searchPage, searchResult, searchTotal, tableRows, textField, unsupportedField, type Searchable } from "../../db/object-search";
import { createdConditions, listable, MAX_LIST_IDS, NO_ROWS, pageOf, pageOfIds, withinCreated } from "../../db/queries";
import { prices, products } from "../../db/schema";
import { Writes } from "../../billing/writes";
import { mergeMetadata } from "../../intents/operations/metadata";
import * as f from "./fields";
import { idempotentD1 } from "./idempotency";
import { json, listObject, pageRequest } from "./respond";
import { expanded, expandPaths, searchExpand } from "./expand";
import { route, type App } from "./route";
import { writeCompared } from "./updates";
import { listOf, searchResultOf } from "./schemas";
import { stripeBody } from "./stripe-params";

const TAG = "Billing";
const PRODUCTS = listable(products, "product");

export type ProductRow = typeof products.$inferSelect;

export interface ProductJson {
  id: string;
  object: "product";
  active: boolean;
  created: number;
  default_price: null;
  description: string | null;
  images: string[];
  livemode: boolean;
  marketing_features: { name: string }[];
  metadata: Metadata;
  name: string;
  package_dimensions: null;
  shippable: null;
  statement_descriptor: null;
  tax_code: null;
  tax_details: null;
  type: "service";
  unit_label: null;
  updated: number;
  url: null;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export function renderProduct(row: ProductRow): ProductJson {
  return {
    id: row.id,
    object: "product",
    active: row.active,
    created: seconds(row.created),
    default_price: null,
    description: row.description,
    images: [],
    livemode: row.livemode,
    marketing_features: [],
    metadata: parseMetadata(row.metadata),
    name: row.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: "service",
    unit_label: null,
    updated: seconds(row.updated),
    url: null,
  };
}

export const ProductSchema: z.ZodType<ProductJson> = z
  .object({
    id: z.string(),
    object: z.literal("product"),
    active: z.boolean(),
    created: z.number().int(),
    default_price: z.null(),
    description: z.string().nullable(),
    images: z.array(z.string()),
    livemode: z.boolean(),
    marketing_features: z.array(z.object({ name: z.string() })),
    metadata: z.record(z.string(), z.string()),
    name: z.string(),
    package_dimensions: z.null(),
    shippable: z.null(),
    statement_descriptor: z.null(),
    tax_code: z.null(),
    tax_details: z.null().describe("Always null: the gateway computes no taxes."),
    type: z.literal("service"),
    unit_label: z.null(),
    updated: z.number().int(),
    url: z.null(),
  })
  .meta({ id: "Product" });

const DeletedProductSchema = z.object({ id: z.string(), object: z.literal("product"), deleted: z.literal(true) }).meta({ id: "DeletedProduct" });

const name = f.text(250).pipe(z.string().min(1, "must not be empty"));

const CreateBody = stripeBody("POST /v1/products", {
  name,
  active: f.boolean.optional(),
  description: f.text(40_000).optional(),
  metadata: f.createMetadata.optional(),
  expand: f.expand.optional(),
});

const UpdateBody = stripeBody("POST /v1/products/{id}", {
  name: name.optional(),
  active: f.boolean.optional(),
  description: f.clearableText(40_000).optional(),
  metadata: f.metadata.optional(),
  expand: f.expand.optional(),
});

const ListQuery = z
  .object({
    active: f.boolean.optional(),
    created: f.createdFilter.optional(),
    ids: z
      .union([f.text(255), z.array(f.text(255)).min(1, "must name at least one id").max(MAX_LIST_IDS, `must have at most ${MAX_LIST_IDS} ids`)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional()
      .describe(`Only these products (at most ${MAX_LIST_IDS}).`),
    // Products here are services without a url or shipping: a filter on them is answered for that, never ignored.
    shippable: f.boolean.optional().describe("No product here is shippable or not (shippable is always null): matches none."),
    type: z.enum(["good", "service"]).optional().describe("Every product here is a service: good matches none."),
    url: f.text(5000).optional().describe("No product here has a url: matches none."),
    ...f.listFields,
  })
  .strict();

const SearchQuery = z.object({ ...f.searchFields, expand: f.expand.optional() }).strict();

/**
 * Stripe's product search (src/db/object-search.ts): `active`, `name` (exact: products_name; `~`
 * contains), `description` (exact or `~`, a filter: no index holds 40,000-character texts),
 * `metadata['key']` (object_metadata), `created`. Products here have no url and no shippable (both
 * always null): a 400 names them.
 */
const PRODUCT_SEARCH: Searchable = {
  resource: "products",
  list: PRODUCTS,
  fields: {
    active: booleanField(products.active),
    name: textField(products.name, "selective", { contains: true }),
    description: textField(products.description, "filter", { contains: true }),
    shippable: unsupportedField("products here are not shippable goods (shippable is always null)."),
    url: unsupportedField("products here have no url (it is always null)."),
  },
  metadataObject: "product",
  selectiveHint: "an exact name: or metadata['key']: clause",
  indexedHint: "active:, name:, metadata['key']:, created",
};

/** One of the merchant's products, or resource_missing naming `param` (a 404 when it is the path's id, else a 400: src/api/v1/errors.ts). */
export async function findProduct(d1: D1Database, scope: Scope, id: string, param = "product"): Promise<ProductRow> {
  const [row] = hasPrefix(id, "prod")
    ? await db(d1).select().from(products).where(and(eq(products.id, id), eq(products.merchantId, scope.merchantId), eq(products.livemode, scope.livemode))).limit(1)
    : [];
  if (!row) throw resourceMissing("product", id.slice(0, 80), param);
  return row;
}

/** A new product row (prices' product_data[name] makes one too). */
export function newProduct(scope: Scope, input: { name: string; description?: string | null; active?: boolean; metadata?: Metadata }): ProductRow {
  const now = Date.now();
  return {
    id: randomId("prod"),
    merchantId: scope.merchantId,
    livemode: scope.livemode,
    name: input.name,
    description: input.description ?? null,
    active: input.active ?? true,
    metadata: JSON.stringify(input.metadata ?? {}),
    created: now,
    updated: now,
  };
}

export function registerProducts(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/products", permission: "billing.manage", summary: "Create a product", tag: TAG, body: CreateBody, response: ProductSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "products.create", "", body, async () => {
        // Stripe's default_price and tax_code expand; both are always null here.
        expandPaths(body.expand, "product");
        const row = newProduct(principal, { name: body.name, description: body.description, active: body.active, metadata: body.metadata });
        const w = new Writes(c.env.DB, principal);
        const insert = db(c.env.DB).insert(products).values(row).toSQL();
        w.add(insert.sql, insert.params);
        await w.event("product.created", renderProduct(row), [row.id], { requestId: c.get("requestId") });
        await w.commit(c.env);
        return { status: 200, body: renderProduct(row) };
      }),
  );

  // Before /v1/products/{id}, so that "search" is not taken for an id.
  route(
    app,
    {
      method: "get",
      path: "/v1/products/search",
      permission: "billing.view",
      summary: "Search products: active, name (`:` or `~` contains), description (`:` or `~`), metadata['key'], created; joined by AND or by OR (indexed clauses only)",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(ProductSchema, "ProductSearchResult"),
    },
    async (c, { query, principal }) => {
      // Stripe's default_price and tax_code expand; both are always null here.
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = expandPaths(objectExpand, "product", true);
      const page = await searchPage(c.env.DB, PRODUCT_SEARCH, principal, { query: query.query, limit: query.limit ?? 10, page: query.page }, tableRows(c.env.DB, products));
      const totalCount = total ? await searchTotal(c.env.DB, PRODUCT_SEARCH, principal, query.query, products) : undefined;
      return json(c, searchResult("/v1/products/search", page, await expanded(c, principal, page.items.map(renderProduct), "product", expand), totalCount));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/products/{id}", permission: "billing.view", summary: "Retrieve a product (a deleted one is a 404, as at Stripe)", tag: TAG, query: f.expandQuery, response: ProductSchema },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "product");
      const [answer] = await expanded(c, principal, [renderProduct(await findProduct(c.env.DB, principal, params.id ?? "", "id"))], "product", expand);
      return json(c, answer);
    },
  );

  route(
    app,
    { method: "post", path: "/v1/products/{id}", permission: "billing.manage", summary: "Update a product: name, description, active, metadata", tag: TAG, body: UpdateBody, response: ProductSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "products.update", params.id ?? "", body, async () => {
        expandPaths(body.expand, "product");
        const id = params.id ?? "";
        // Computed on the product as read and written only if it is still that product, with
        // product.updated in the same transaction; someone else wrote first: read and computed again.
        const written = await writeCompared(c.env, {
          table: products,
          resource: "product",
          id,
          read: () => findProduct(c.env.DB, principal, id, "id"),
          plan: async (row) => {
            const changes: Partial<ProductRow> = {};
            if (body.name !== undefined && body.name !== row.name) changes.name = body.name;
            if (body.description !== undefined && body.description !== row.description) changes.description = body.description;
            if (body.active !== undefined && body.active !== row.active) changes.active = body.active;
            if (body.metadata) {
              // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
              const metadata = JSON.stringify(mergeMetadata(parseMetadata(row.metadata), body.metadata));
              if (metadata !== JSON.stringify(parseMetadata(row.metadata))) changes.metadata = metadata;
            }
            // Nothing changes: nothing is written, and no product.updated.
            if (Object.keys(changes).length === 0) return undefined;
            // A new name reaches the copy its prices keep (checkout line items, invoice lines), from the
            // product as it stands after the batch's update, whichever update won.
            const rename = (w: Writes) =>
              w.add(
                "UPDATE prices SET product_name = (SELECT name FROM products WHERE id = ?1 AND merchant_id = ?2 AND livemode = ?3) WHERE merchant_id = ?2 AND livemode = ?3 AND product = ?1",
                [row.id, row.merchantId, row.livemode ? 1 : 0],
              );
            return { changes: { ...changes, updated: Date.now() }, ...(changes.name !== undefined ? { after: rename } : {}) };
          },
          event: { type: "product.updated", render: renderProduct, requestId: c.get("requestId") },
        });
        return { status: 200, body: renderProduct(written) };
      }),
  );

  route(
    app,
    { method: "delete", path: "/v1/products/{id}", permission: "billing.manage", summary: "Delete a product that has no prices (one with prices: archive it, active=false)", tag: TAG, response: DeletedProductSchema },
    async (c, { params, principal }) => {
      const row = await findProduct(c.env.DB, principal, params.id ?? "", "id");
      const ofProduct = and(eq(prices.merchantId, principal.merchantId), eq(prices.livemode, principal.livemode), eq(prices.product, row.id));
      // One statement: a price created meanwhile (it checks its product in its own insert) either
      // lands first and keeps the product, or finds it gone. product.deleted is in its batch, written
      // only if the product was.
      const deletion = db(c.env.DB)
        .delete(products)
        .where(and(eq(products.id, row.id), eq(products.merchantId, principal.merchantId), eq(products.livemode, principal.livemode), notExists(db(c.env.DB).select({ id: prices.id }).from(prices).where(ofProduct))))
        .toSQL();
      const w = new Writes(c.env.DB, principal);
      w.add(deletion.sql, deletion.params);
      await w.event("product.deleted", { ...renderProduct(row), deleted: true }, [row.id], { requestId: c.get("requestId") });
      const [deleted] = await w.commit(c.env);
      if (!deleted) {
        const [price] = await db(c.env.DB).select({ id: prices.id }).from(prices).where(ofProduct).limit(1);
        if (!price) throw resourceMissing("product", row.id, "id");
        throw invalidRequest("This product cannot be deleted because it has one or more user-created prices. Archive it instead (active=false).");
      }
      return json(c, { id: row.id, object: "product", deleted: true });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/products", permission: "billing.view", summary: "List products, newest first", tag: TAG, query: ListQuery, response: listOf(ProductSchema, "ProductList") },
    async (c, { query, principal }) => {
      const expand = expandPaths(query.expand, "product", true);
      const none = query.shippable !== undefined || query.type === "good" || query.url !== undefined;
      const filters = [...(query.active !== undefined ? [eq(products.active, query.active)] : []), ...createdConditions(products.created, query.created), ...(none ? [NO_ROWS] : [])];
      const page = query.ids
        ? await pageOfIds<ProductRow>(c.env.DB, PRODUCTS, principal, query.ids, pageRequest(query), (row) => !none && (query.active === undefined || row.active === query.active) && withinCreated(row.created, query.created))
        : await pageOf(c.env.DB, PRODUCTS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(products).where(where).orderBy(...order).limit(limit));
      return json(c, { ...listObject("/v1/products", page, () => null), data: await expanded(c, principal, page.items.map(renderProduct), "product", expand) });
    },
  );
}
