// D1 schema (drizzle). D1 is the read model and the home of what no single intent owns. Intents,
// charges and refunds are written here only by their intent's Durable Object, after each transition.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const merchants = sqliteTable("merchants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  created: integer("created").notNull(),
  settings: text("settings").notNull().default("{}"),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id")
      .notNull()
      .references(() => merchants.id),
    /** SHA-256 of the whole key; the key itself is never stored. */
    keyHash: text("key_hash").notNull().unique(),
    /** What the dashboard may show: "sk_test_…t_a". */
    redacted: text("redacted").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    created: integer("created").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_merchant").on(t.merchantId)],
);

export const paymentIntents = sqliteTable(
  "payment_intents",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    status: text("status").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    customer: text("customer"),
    orderId: text("order_id"),
    metadata: text("metadata").notNull().default("{}"),
    /** Milliseconds; lists sort by (created, id) descending. */
    created: integer("created").notNull(),
    version: integer("version").notNull(),
    /** The domain record (IntentRecord) as JSON. */
    data: text("data").notNull(),
  },
  (t) => [
    index("payment_intents_list").on(t.merchantId, t.livemode, t.created, t.id),
    index("payment_intents_status").on(t.merchantId, t.livemode, t.status, t.created),
    index("payment_intents_customer").on(t.merchantId, t.livemode, t.customer, t.created),
    index("payment_intents_order").on(t.merchantId, t.livemode, t.orderId),
  ],
);

export const charges = sqliteTable(
  "charges",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    paymentIntent: text("payment_intent").notNull(),
    created: integer("created").notNull(),
    version: integer("version").notNull(),
  },
  (t) => [index("charges_list").on(t.merchantId, t.livemode, t.created, t.id), index("charges_intent").on(t.paymentIntent)],
);

export const refunds = sqliteTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    merchantId: text("merchant_id").notNull(),
    livemode: integer("livemode", { mode: "boolean" }).notNull(),
    paymentIntent: text("payment_intent").notNull(),
    charge: text("charge").notNull(),
    status: text("status").notNull(),
    amount: integer("amount").notNull(),
    created: integer("created").notNull(),
    version: integer("version").notNull(),
    /** The domain record (RefundRecord) as JSON. */
    data: text("data").notNull(),
  },
  (t) => [index("refunds_list").on(t.merchantId, t.livemode, t.created, t.id), index("refunds_intent").on(t.paymentIntent, t.created)],
);
