// /v1/customers: create, retrieve, update, delete, list (by email), search; a customer's payment
// methods (seed 002's cards on file: save with a nickname, list, remove) and payments.
import { and, eq, getTableColumns, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { invalidRequest, permissionDenied, resourceMissing } from "../../core/errors";
import { randomId } from "../../core/ids";
import type { Scope } from "../../core/types";
import type { Principal } from "../../auth/permissions";
import { assertNotDetached, attachPaymentMethod, detachPaymentMethod, storePaymentMethod } from "../../billing/payment-methods";
import { clockNow, sqlValue } from "../../billing/engine";
import { cancelSubscriptions, liveSubscriptionIds } from "../../billing/subscriptions";
import {
  db,
  findCustomer,
  findPaymentMethod,
  findTestClock,
  liveCustomer,
  LIVE_SUBSCRIPTION,
  parseMetadata,
  renderCustomer,
  renderPaymentMethodRow,
  type CustomerJson,
  type CustomerRow,
  type PaymentMethodRow,
} from "../../billing/store";
import { Writes } from "../../billing/writes";
import { createdConditions, listIntents, listable, pageOf } from "../../db/queries";
import { customers, paymentMethods } from "../../db/schema";
import { searchPage, searchResult, searchTotal, tableRows, textField, type Searchable } from "../../db/object-search";
import { mergeMetadata } from "../../intents/operations/metadata";
import * as f from "./fields";
import { stripeBody } from "./stripe-params";
import { idempotentD1 } from "./idempotency";
import { resolvePaymentMethodInput } from "./payment_intents";
import { savedOrTestMethod } from "./payment_methods";
import { CustomerSchema, PaymentMethodObjectSchema } from "./billing_schemas";
import { intentJson, json, listObject, pageRequest } from "./respond";
import { expanded, expandPaths, searchExpand } from "./expand";
import { customerSubscriptions } from "./subscriptions";
import { route, type App, type Ctx } from "./route";
import { DELETE_TRIES, untilWritten, writeCompared } from "./updates";
import { checkedList } from "./list-filters";
import { listOf, PaymentIntentSchema, searchResultOf } from "./schemas";

const TAG = "Customers";
const CUSTOMERS = listable(customers, "customer");
const PAYMENT_METHODS = listable(paymentMethods, "payment_method");

const email = f.text(512).refine((v) => v === "" || /^[^\s@]+@[^\s@]+$/.test(v), "must be an email address");

/** Stripe's invoice settings other than the default payment method: accepted and ignored (invoices carry no footer or custom fields here). */
const ignoredInvoiceSettings = {
  custom_fields: z.unknown().transform(() => undefined).optional(),
  footer: z.unknown().transform(() => undefined).optional(),
  rendering_options: z.unknown().transform(() => undefined).optional(),
};

const CreateBody = stripeBody("POST /v1/customers", {
    email: email.optional(),
    name: f.text(256).optional(),
    phone: f.text(32).optional(),
    description: f.text(1000).optional(),
    metadata: f.createMetadata.optional(),
    address: f.customerAddress.optional(),
    shipping: f.customerShipping.optional(),
    payment_method: f.text(255).optional().describe("A saved payment method (pm_...) to attach at creation."),
    invoice_settings: z.object({ default_payment_method: f.text(255).optional(), ...ignoredInvoiceSettings }).strict().optional(),
    test_clock: f.text(100).optional().describe("Test mode: the test clock whose time this customer lives in."),
    expand: f.expand.optional(),
  });

const UpdateBody = stripeBody("POST /v1/customers/{id}", {
    email: email.transform((v) => (v === "" ? null : v)).optional(),
    name: f.clearableText(256).optional(),
    phone: f.clearableText(32).optional(),
    description: f.clearableText(1000).optional(),
    metadata: f.metadata.optional(),
    address: f.customerAddress.optional(),
    shipping: f.customerShipping.optional(),
    invoice_settings: z.object({ default_payment_method: f.clearableText(255).optional(), ...ignoredInvoiceSettings }).strict().optional(),
    expand: f.expand.optional(),
  });

/** An address or shipping as its column holds it: JSON, or null when unset. */
const jsonOrNull = (value: object | null | undefined): string | null => (value ? JSON.stringify(value) : null);

const ListQuery = z
  .object({
    ...f.pageFields,
    email: f.text(512).optional(),
    created: f.createdFilter.optional(),
    test_clock: f.text(100).optional(),
    expand: f.expand.optional(),
  })
  .strict();
/** The customer and the saved payment method a `/v1/customers/{id}/payment_methods/{payment_method}` path names. */
async function customerAndCard(c: Ctx, principal: Principal, params: Record<string, string>): Promise<{ customer: CustomerRow; pm: PaymentMethodRow }> {
  const customer = await liveCustomer(c.env.DB, principal, params.id ?? "", "id");
  const pm = await findPaymentMethod(c.env.DB, principal, params.payment_method ?? "", "payment_method");
  return { customer, pm };
}

/**
 * Customers, with what `expand` (expandPaths' answer) asks for: Stripe's
 * `invoice_settings.default_payment_method`, `test_clock` (`data.` before each on a list), one query
 * for the page each; Stripe's includable `subscriptions` (the first 10 not canceled, newest first,
 * with what `subscriptions.data.<field>` expands), one query a customer.
 */
async function renderCustomers(c: Ctx, principal: Principal, rows: CustomerRow[], expand: readonly string[]): Promise<unknown[]> {
  const rendered: (CustomerJson & { subscriptions?: unknown })[] = rows.map(renderCustomer);
  const withSubscriptions = expand.filter((p) => p === "subscriptions" || p.startsWith("subscriptions."));
  if (withSubscriptions.length > 0) {
    if (!principal.permissions.has("billing.view")) throw permissionDenied("Expanding subscriptions needs the billing.view permission.");
    const inner = new Set(withSubscriptions.filter((p) => p.startsWith("subscriptions.data.")).map((p) => p.slice("subscriptions.data.".length)));
    const lists = await Promise.all(rendered.map((customer) => customerSubscriptions(c, principal, customer.id, { limit: 10 }, inner)));
    rendered.forEach((customer, i) => {
      customer.subscriptions = lists[i];
    });
  }
  return expanded(c, principal, rendered, "customer", expand.filter((p) => !withSubscriptions.includes(p)));
}

const SaveCardBody = z
  .object({
    payment_method: f.paymentMethod.optional().describe("A token (tok_visa), test payment method, vault token, saved pm_ id, or (test mode) card details."),
    token: f.text(255).optional().describe("Seed 002: a card token."),
    nickname: f.text(100).optional(),
    metadata: f.createMetadata.optional(),
    set_default: f.boolean.optional().describe("Make it the customer's default payment method (invoice_settings.default_payment_method)."),
  })
  .strict();

const PageQuery = z.object(f.pageFields).strict();
/** A customer's payment methods: Stripe's `type` filter too (required by older API versions; cards are all this gateway saves), and expand. */
const MethodsQuery = PageQuery.extend({ type: z.string().regex(/^[a-z_]{1,40}$/, "type must be a payment method type such as card").optional(), expand: f.expand.optional() }).strict();

const SearchQuery = z.object({ ...f.searchFields, expand: f.expand.optional() }).strict();

const DeletedSchema = z.object({ id: z.string(), object: z.literal("customer"), deleted: z.literal(true) }).meta({ id: "DeletedCustomer" });

/**
 * Stripe's customer search, the part we serve (src/db/object-search.ts): `email`, `name` and `phone`
 * with `:` (exact) or `~` (contains), `metadata['key']` (object_metadata, migration 0043) and `created`
 * (Unix seconds), joined by AND or by OR. An exact field has its own index (customers_email, _name,
 * _phone); a contains clause, which none can serve,
 * needs an exact clause beside it or a created window of at most 31 days (else a 400 naming what to
 * add), so a search never walks all of a merchant's customers.
 */
const CUSTOMER_SEARCH: Searchable = {
  resource: "customers",
  list: CUSTOMERS,
  base: [eq(customers.deleted, false)],
  fields: {
    email: textField(customers.email, "selective", { contains: true }),
    name: textField(customers.name, "selective", { contains: true }),
    phone: textField(customers.phone, "selective", { contains: true }),
  },
  metadataObject: "customer",
  selectiveHint: "an exact clause (email:, name:, phone: or metadata['key']:)",
  indexedHint: "email:, name:, phone:, metadata['key']:, created",
};

async function resolveDefault(c: Ctx, scope: Scope, customer: CustomerRow, id: string | null | undefined): Promise<string | null | undefined> {
  if (id === undefined || id === null) return id;
  const pm = await findPaymentMethod(c.env.DB, scope, id, "invoice_settings[default_payment_method]");
  if (pm.customer !== customer.id) {
    throw invalidRequest(`The payment method ${id} is not attached to this customer. Attach it first.`, "invoice_settings[default_payment_method]", "payment_method_not_attached");
  }
  return id;
}

export function registerCustomers(app: App): void {
  route(
    app,
    { method: "post", path: "/v1/customers", permission: "payments.methods.manage", summary: "Create a customer", tag: TAG, body: CreateBody, response: CustomerSchema },
    async (c, { body, principal }) =>
      idempotentD1(c, principal, "customers.create", "", body, async () => {
        const expand = expandPaths(body.expand, "customer");
        if (body.test_clock !== undefined) {
          if (principal.livemode) throw invalidRequest("Test clocks exist only in test mode.", "test_clock", "livemode_mismatch");
          await findTestClock(c.env.DB, principal, body.test_clock);
        }
        const now = Date.now();
        let row: CustomerRow = {
          id: randomId("cus"),
          merchantId: principal.merchantId,
          livemode: principal.livemode,
          email: body.email || null,
          name: body.name ?? null,
          phone: body.phone ?? null,
          description: body.description ?? null,
          metadata: JSON.stringify(body.metadata ?? {}),
          defaultPaymentMethod: null,
          testClock: body.test_clock ?? null,
          deleted: false,
          created: now,
          address: jsonOrNull(body.address),
          shipping: jsonOrNull(body.shipping),
        };
        // Everything a 4xx could come from is checked before the customer exists (and before a test
        // card is stored for it): a failed create leaves no customer behind, nor a customer.created
        // event, so a retry makes no orphan.
        const wantedDefault = body.invoice_settings?.default_payment_method;
        // Stripe's test pattern names the card twice (payment_method=pm_card_visa and
        // invoice_settings[default_payment_method]=pm_card_visa): that is the card being attached.
        if (wantedDefault !== undefined && wantedDefault !== body.payment_method) {
          // Nothing else can be attached to a customer that does not exist yet.
          const other = await findPaymentMethod(c.env.DB, principal, wantedDefault, "invoice_settings[default_payment_method]");
          throw invalidRequest(`The payment method ${other.id} is not attached to this customer. Attach it first.`, "invoice_settings[default_payment_method]", "payment_method_not_attached");
        }
        const pm = body.payment_method ? await savedOrTestMethod(c, principal, body.payment_method, "payment_method") : null;
        if (pm) {
          assertNotDetached(pm);
          if (pm.customer) throw invalidRequest(`The payment method ${pm.id} is attached to another customer; detach it first.`, "payment_method", "payment_method_already_attached");
        }
        const w = new Writes(c.env.DB, principal);
        insertCustomer(w, row);
        await w.event("customer.created", renderCustomer(row), [row.id], { requestId: c.get("requestId") });
        const [inserted] = await w.commit(c.env);
        // Its test clock was deleted since it was read: no customer, no event, the answer to a clock unknown.
        if (!inserted) throw resourceMissing("test_clock", row.testClock ?? "", "test_clock");
        if (pm) {
          const attached = await attachPaymentMethod(c.env, principal, pm, row, c.get("requestId"));
          row = await setDefault(c, row, attached.row.id);
        }
        return { status: 200, body: (await renderCustomers(c, principal, [row], expand))[0] };
      }),
  );

  route(
    app,
    { method: "post", path: "/v1/customers/{id}", permission: "payments.methods.manage", summary: "Update a customer (metadata merges; an empty string clears a field)", tag: TAG, body: UpdateBody, response: CustomerSchema },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "customers.update", params.id ?? "", body, async () => {
        const expand = expandPaths(body.expand, "customer");
        const id = params.id ?? "";
        // Computed on the row as read and written only if it is still that row, with customer.updated
        // in the same transaction; someone else wrote first: read and computed again (writeCompared).
        const written = await writeCompared(c.env, {
          table: customers,
          resource: "customer",
          id,
          read: () => liveCustomer(c.env.DB, principal, id, "id"),
          plan: async (row) => {
            const defaultPaymentMethod = await resolveDefault(c, principal, row, body.invoice_settings?.default_payment_method);
            const changes: Partial<CustomerRow> = {};
            const guards: SQL[] = [];
            if (body.email !== undefined) changes.email = body.email;
            if (body.name !== undefined) changes.name = body.name;
            if (body.phone !== undefined) changes.phone = body.phone;
            if (body.description !== undefined) changes.description = body.description;
            // Given, an address or shipping replaces the whole of it, as at Stripe; "" unsets it.
            if (body.address !== undefined) changes.address = jsonOrNull(body.address);
            if (body.shipping !== undefined) changes.shipping = jsonOrNull(body.shipping);
            if (defaultPaymentMethod !== undefined) {
              changes.defaultPaymentMethod = defaultPaymentMethod;
              // Still this customer's when written: a detach meanwhile must not leave it the default.
              if (defaultPaymentMethod !== null) guards.push(sql`EXISTS (SELECT 1 FROM payment_methods WHERE id = ${defaultPaymentMethod} AND customer = ${row.id})`);
            }
            // Merged on the row as read ("" deletes a key, metadata="" clears them), Stripe's 400 past 50 keys.
            if (body.metadata) changes.metadata = JSON.stringify(mergeMetadata(parseMetadata(row.metadata), body.metadata));
            // Nothing to change: nothing is written, and no customer.updated (as at Stripe).
            return Object.keys(changes).length === 0 ? undefined : { changes, guards };
          },
          event: { type: "customer.updated", render: renderCustomer, requestId: c.get("requestId") },
        });
        return { status: 200, body: (await renderCustomers(c, principal, [written], expand))[0] };
      }),
  );

  route(
    app,
    { method: "delete", path: "/v1/customers/{id}", permission: "payments.methods.manage", summary: "Delete a customer: its subscriptions are canceled now", tag: TAG, response: DeletedSchema },
    async (c, { params, principal }) => {
      const row = await liveCustomer(c.env.DB, principal, params.id ?? "", "id");
      await deleteCustomer(c, principal, row);
      return json(c, { id: row.id, object: "customer", deleted: true });
    },
  );

  route(
    app,
    { method: "get", path: "/v1/customers", permission: "payments.methods.view", summary: "List customers, newest first (filter by exact email)", tag: TAG, query: ListQuery, response: listOf(CustomerSchema, "CustomerList") },
    async (c, { query, principal }) => {
      const filters = [
        eq(customers.deleted, false),
        ...(query.email !== undefined ? [eq(customers.email, query.email)] : []),
        ...(query.test_clock !== undefined ? [eq(customers.testClock, query.test_clock)] : []),
        ...createdConditions(customers.created, query.created),
      ];
      // The test clock named must be the merchant's (a 400 resource_missing otherwise).
      const page = await checkedList(c.env.DB, principal, [{ object: "test_clock", id: query.test_clock }], () =>
        pageOf(c.env.DB, CUSTOMERS, principal, filters, pageRequest(query), (where, order, limit) => db(c.env.DB).select().from(customers).where(where).orderBy(...order).limit(limit)),
      );
      const expand = expandPaths(query.expand, "customer", true);
      return json(c, { ...listObject("/v1/customers", page, renderCustomer), data: await renderCustomers(c, principal, page.items, expand) });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/customers/search",
      permission: "payments.methods.view",
      summary: "Search customers: email, name, phone with `:` (exact) or `~` (contains, with an exact clause or a created window of at most 31 days), metadata['key'], created with >, >=, <, <=, `-` to negate (a filter, bounded like `~`), joined by AND or by OR (exact and created clauses only)",
      tag: TAG,
      query: SearchQuery,
      response: searchResultOf(CustomerSchema, "CustomerSearchResult"),
    },
    async (c, { query, principal }) => {
      const { total, expand: objectExpand } = searchExpand(query.expand);
      const expand = expandPaths(objectExpand, "customer", true);
      const page = await searchPage(c.env.DB, CUSTOMER_SEARCH, principal, { query: query.query, limit: query.limit ?? 10, page: query.page }, tableRows(c.env.DB, customers));
      const totalCount = total ? await searchTotal(c.env.DB, CUSTOMER_SEARCH, principal, query.query, customers) : undefined;
      return json(c, searchResult("/v1/customers/search", page, await renderCustomers(c, principal, page.items, expand), totalCount));
    },
  );

  route(
    app,
    { method: "get", path: "/v1/customers/{id}", permission: "payments.methods.view", summary: "Retrieve a customer (a deleted one answers {deleted: true}; expand[]=invoice_settings.default_payment_method)", tag: TAG, query: f.expandQuery, response: z.union([CustomerSchema, DeletedSchema]) },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "customer");
      const row = await findCustomer(c.env.DB, principal, params.id ?? "", "id");
      return json(c, row.deleted ? { id: row.id, object: "customer", deleted: true } : (await renderCustomers(c, principal, [row], expand))[0]);
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/customers/{id}/payment_methods/{payment_method}",
      permission: "payments.methods.view",
      summary: "One of a customer's saved payment methods (Stripe's customers.retrievePaymentMethod)",
      tag: TAG,
      query: f.expandQuery,
      response: PaymentMethodObjectSchema,
    },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "payment_method");
      const { customer, pm } = await customerAndCard(c, principal, params);
      // Another customer's (or an unattached) card is not this customer's: as missing as an unknown one.
      if (pm.customer !== customer.id) throw resourceMissing("payment_method", pm.id, "payment_method");
      const [answer] = await expanded(c, principal, [renderPaymentMethodRow(pm)], "payment_method", expand);
      return json(c, answer);
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/customers/{id}/payment_methods",
      permission: "payments.methods.view",
      summary: "A customer's saved payment methods, newest first",
      tag: TAG,
      query: MethodsQuery,
      response: listOf(PaymentMethodObjectSchema, "CustomerPaymentMethodList"),
    },
    async (c, { params, query, principal }) => {
      const expand = expandPaths(query.expand, "payment_method", true);
      const customer = await liveCustomer(c.env.DB, principal, params.id ?? "", "id");
      if (query.type !== undefined && query.type !== "card") return json(c, { object: "list", data: [], has_more: false, url: `/v1/customers/${customer.id}/payment_methods` });
      const page = await pageOf(c.env.DB, PAYMENT_METHODS, principal, [eq(paymentMethods.customer, customer.id)], pageRequest(query), (where, order, limit) =>
        db(c.env.DB).select().from(paymentMethods).where(where).orderBy(...order).limit(limit),
      );
      const data = await expanded(c, principal, page.items.map(renderPaymentMethodRow), "payment_method", expand);
      return json(c, { ...listObject(`/v1/customers/${customer.id}/payment_methods`, page, () => null), data });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/customers/{id}/payment_methods",
      permission: "payments.methods.manage",
      summary: "Save a card on file for the customer (seed 002), with a nickname; as at Stripe, the same card may be saved more than once",
      tag: TAG,
      body: SaveCardBody,
      response: PaymentMethodObjectSchema,
    },
    async (c, { params, body, principal }) =>
      idempotentD1(c, principal, "customers.payment_methods.create", params.id ?? "", body, async () => {
        const customer = await liveCustomer(c.env.DB, principal, params.id ?? "", "id");
        if (body.payment_method !== undefined && body.token !== undefined) throw invalidRequest("Pass either payment_method or token, not both.", "token");
        const given = body.payment_method ?? body.token;
        if (given === undefined) throw invalidRequest("Pass the card to save: payment_method (a token, test card or pm_ id) or token.", "payment_method", "parameter_missing");
        let row;
        if (typeof given === "string" && given.startsWith("pm_") && !given.startsWith("pm_card_")) {
          const pm = await findPaymentMethod(c.env.DB, principal, given, "payment_method");
          row = (await attachPaymentMethod(c.env, principal, pm, customer, c.get("requestId"))).row;
        } else {
          const details = await resolvePaymentMethodInput(c, principal, { payment_method: given });
          if (!details) throw invalidRequest("Pass the card to save.", "payment_method", "parameter_missing");
          row = (await storePaymentMethod(c.env, principal, details, { customer, nickname: body.nickname ?? null, metadata: body.metadata ?? {}, requestId: c.get("requestId") })).row;
        }
        if (body.set_default) await setDefault(c, customer, row.id);
        return { status: 200, body: renderPaymentMethodRow(row) };
      }),
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/customers/{id}/payment_methods/{payment_method}",
      permission: "payments.methods.manage",
      summary: "Remove a saved payment method from the customer (detach)",
      tag: TAG,
      response: PaymentMethodObjectSchema,
    },
    async (c, { params, principal }) => {
      const { customer, pm } = await customerAndCard(c, principal, params);
      if (pm.customer !== customer.id) throw invalidRequest(`The payment method ${pm.id} is not attached to this customer.`, "payment_method", "payment_method_not_attached");
      return json(c, renderPaymentMethodRow(await detachPaymentMethod(c.env, principal, pm, c.get("requestId"))));
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/customers/{id}/payment_intents",
      permission: "payments.transactions.view",
      summary: "A customer's payments, newest first",
      tag: TAG,
      query: PageQuery,
      response: listOf(PaymentIntentSchema, "CustomerPaymentIntentList"),
    },
    async (c, { params, query, principal }) => {
      const id = params.id ?? "";
      // The customer's check and the page are independent reads (the page is this merchant's intents
      // of exactly that id), so they go to D1 together: one round trip, not two. The customer's
      // answer still decides first: an unknown customer is a 404 whatever the cursor.
      const found = liveCustomer(c.env.DB, principal, id, "id");
      const listed = Promise.resolve().then(() => listIntents(c.env.DB, principal, { customer: id }, pageRequest(query)));
      listed.catch(() => undefined); // its error is raised below, after the customer's
      const customer = await found;
      const page = await listed;
      return json(c, listObject(`/v1/customers/${customer.id}/payment_intents`, page, (intent) => intentJson(c, intent)));
    },
  );
}

/**
 * Sets (or clears) the customer's default payment method, with customer.updated in the same
 * transaction, on the customer as it is then (also seed 002's isDefault). Deleted meanwhile: nothing
 * written, no event.
 */
export async function setDefault(c: Ctx, row: CustomerRow, paymentMethod: string | null): Promise<CustomerRow> {
  try {
    return await writeCompared(c.env, {
      table: customers,
      resource: "customer",
      id: row.id,
      read: async () => {
        const [now] = await db(c.env.DB).select().from(customers).where(and(eq(customers.id, row.id), eq(customers.deleted, false))).limit(1);
        if (!now) throw new CustomerGone();
        return now;
      },
      plan: async () => ({ changes: { defaultPaymentMethod: paymentMethod } }),
      event: { type: "customer.updated", render: renderCustomer, requestId: c.get("requestId") },
    });
  } catch (err) {
    if (err instanceof CustomerGone) return { ...row, defaultPaymentMethod: paymentMethod };
    throw err;
  }
}

class CustomerGone extends Error {}

/**
 * A new customer's insert. On a test clock, it happens only if the clock is still the merchant's
 * when it is written: one deleted since it was read (its deletion, src/api/v1/test_clocks.ts,
 * deletes only the customers it read) would otherwise keep a customer on a clock that is gone.
 */
function insertCustomer(w: Writes, row: CustomerRow): void {
  const columns = Object.entries(getTableColumns(customers)) as [keyof CustomerRow, { name: string }][];
  const clockThere = row.testClock === null ? "1" : "EXISTS (SELECT 1 FROM test_clocks WHERE id = ? AND merchant_id = ? AND livemode = ?)";
  w.add(`INSERT INTO customers (${columns.map(([, c]) => c.name).join(", ")}) SELECT ${columns.map(() => "?").join(", ")} WHERE ${clockThere}`, [
    ...columns.map(([k]) => sqlValue(row[k])),
    ...(row.testClock === null ? [] : [row.testClock, row.merchantId, row.livemode ? 1 : 0]),
  ]);
}

/**
 * Ends the customer's subscriptions, then deletes it with its customer.deleted, only if it has no
 * subscription left that has not ended: one created between the two (its insert checks only that the
 * customer is not deleted yet) refuses the deletion, and is read and ended on the next try, so none
 * stays live on a deleted customer. Deleted by another request meanwhile: done, with no second event.
 */
async function deleteCustomer(c: Ctx, scope: Scope, row: CustomerRow): Promise<void> {
  const noLiveSubscription = { sql: `NOT EXISTS (SELECT 1 FROM subscriptions WHERE customer = ? AND ${LIVE_SUBSCRIPTION})`, binds: [row.id] };
  await untilWritten("customer", row.id, DELETE_TRIES, async () => {
    // A customer on a test clock ends its subscriptions at the clock's time, as the clock's own deletion does.
    await cancelSubscriptions(c.env, scope, await liveSubscriptionIds(c.env.DB, row.id), await clockNow(c.env, row.testClock), c.get("requestId"));
    const w = new Writes(c.env.DB, scope);
    await addCustomerDeletion(w, row, c.get("requestId"), noLiveSubscription);
    const [deleted] = await w.commit(c.env);
    return Boolean(deleted) || (await findCustomer(c.env.DB, scope, row.id, "id")).deleted;
  });
}

/**
 * A customer's deletion with its customer.deleted (the customer as read), the event only if this
 * deleted it; `guard` (SQL with its binds) a further condition of the deletion. Deleting a customer
 * and deleting its test clock both write it so.
 */
export async function addCustomerDeletion(w: Writes, row: CustomerRow, requestId: string | null, guard?: { sql: string; binds: unknown[] }): Promise<void> {
  w.add(`UPDATE customers SET deleted = 1 WHERE id = ? AND deleted = 0${guard ? ` AND ${guard.sql}` : ""}`, [row.id, ...(guard?.binds ?? [])]);
  await w.event("customer.deleted", { ...renderCustomer(row), deleted: true }, [row.id], { requestId });
}
