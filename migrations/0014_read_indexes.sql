-- Every list, filter and page of the read model is an index range (issue 15): each filter the
-- surfaces offer has an index that ends in (created, id), so `WHERE merchant_id = ? AND livemode = ?
-- AND <filter> = ? AND (created, id) < (?, ?) ORDER BY created DESC, id DESC LIMIT n` reads n index
-- entries whatever the depth, and never sorts.
DROP INDEX IF EXISTS payment_intents_status;
CREATE INDEX payment_intents_status ON payment_intents (merchant_id, livemode, status, created, id);
DROP INDEX IF EXISTS payment_intents_customer;
CREATE INDEX payment_intents_customer ON payment_intents (merchant_id, livemode, customer, created, id);
DROP INDEX IF EXISTS payment_intents_amount;
CREATE INDEX payment_intents_amount ON payment_intents (merchant_id, livemode, amount, created, id);
-- Superseded by payment_intents_order_created (merchant_id, livemode, order_id, created, id).
DROP INDEX IF EXISTS payment_intents_order;
-- An intent's refunds, charge and events: scoped like the list index, so the planner prefers them to
-- it (without statistics it counts equality columns) and reads only the intent's rows, in order.
DROP INDEX IF EXISTS refunds_intent;
CREATE INDEX refunds_intent ON refunds (merchant_id, livemode, payment_intent, created, id);
CREATE INDEX refunds_charge ON refunds (merchant_id, livemode, charge, created, id);
DROP INDEX IF EXISTS charges_intent;
CREATE INDEX charges_intent ON charges (merchant_id, livemode, payment_intent, created, id);
DROP INDEX IF EXISTS events_type;
CREATE INDEX events_type ON events (merchant_id, livemode, type, created, id);
DROP INDEX IF EXISTS events_intent;
CREATE INDEX events_intent ON events (merchant_id, livemode, payment_intent, created, id);
-- Charges carry their intent's customer (written with the intent, in its batch), so charges by
-- customer is a range of charges_customer instead of a filter on the joined intent.
ALTER TABLE charges ADD COLUMN customer TEXT;
UPDATE charges SET customer = (SELECT customer FROM payment_intents WHERE payment_intents.id = charges.payment_intent);
CREATE INDEX charges_customer ON charges (merchant_id, livemode, customer, created, id);
-- Metadata search through a side table: one row per key of an intent's metadata, written in the
-- intent's batch (src/db/read-model.ts) and replaced only by its current version.
CREATE TABLE payment_intent_metadata (
  intent_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  livemode INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (intent_id, key)
);
CREATE INDEX payment_intent_metadata_search ON payment_intent_metadata (merchant_id, livemode, key, value, created, intent_id);
INSERT INTO payment_intent_metadata (intent_id, merchant_id, livemode, key, value, created)
  SELECT p.id, p.merchant_id, p.livemode, m.key, CAST(m.value AS TEXT), p.created
  FROM payment_intents p, json_each(p.metadata) m
  WHERE json_valid(p.metadata) AND m.type IN ('text', 'integer', 'real');
-- Statistics for the planner after the index changes (D1 accepts PRAGMA optimize in a migration).
PRAGMA optimize;
