-- Stripe's search of the billing objects (GET /v1/products/search, /v1/prices/search,
-- /v1/subscriptions/search, /v1/invoices/search; src/db/object-search.ts): every clause that is not
-- refused is a range of an index ending in (created, id), as the lists are (issue 15).
--
-- Exact fields without an index of their own until now: a product's name, an invoice's currency and
-- total (amount_due), and a price's type (one_time or recurring, held in `interval`: one partial
-- index per type, whose conditions the search repeats literally so the planner can use them).
CREATE INDEX products_name ON products (merchant_id, livemode, name, created, id);
CREATE INDEX invoices_currency ON invoices (merchant_id, livemode, currency, created, id);
CREATE INDEX invoices_total ON invoices (merchant_id, livemode, amount_due, created, id);
CREATE INDEX prices_one_time ON prices (merchant_id, livemode, created, id) WHERE interval = 'one_time';
CREATE INDEX prices_recurring ON prices (merchant_id, livemode, created, id) WHERE interval <> 'one_time';
-- metadata['key']:'value' through a side table, as payment_intent_metadata serves the intents' search:
-- one row per key of a product's, price's or subscription's metadata (their `metadata` JSON column),
-- in the object's own order (created, object_id) under (merchant, mode, object, key, value).
CREATE TABLE object_metadata (
  object_id TEXT NOT NULL,
  object TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  livemode INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (object_id, key)
);
CREATE INDEX object_metadata_search ON object_metadata (merchant_id, livemode, object, key, value, created, object_id);
-- Kept by triggers, so every writer of these rows (creates, writeCompared's updates, the billing
-- engine, a deletion) keeps it in the same transaction as the row, with nothing to forget: an insert
-- adds the object's keys, a change of its metadata replaces them, a deletion removes them. Beware:
-- D1's meta.changes of a statement counts the rows its triggers write too (SQL's changes(), which
-- Writes' event guards use, does not): test a write of these tables for changes > 0, never = 1.
CREATE TRIGGER products_metadata_insert AFTER INSERT ON products BEGIN
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'product', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER products_metadata_update AFTER UPDATE OF metadata ON products WHEN OLD.metadata IS NOT NEW.metadata BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'product', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER products_metadata_delete AFTER DELETE ON products BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
END;
CREATE TRIGGER prices_metadata_insert AFTER INSERT ON prices BEGIN
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'price', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER prices_metadata_update AFTER UPDATE OF metadata ON prices WHEN OLD.metadata IS NOT NEW.metadata BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'price', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER prices_metadata_delete AFTER DELETE ON prices BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
END;
CREATE TRIGGER subscriptions_metadata_insert AFTER INSERT ON subscriptions BEGIN
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'subscription', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER subscriptions_metadata_update AFTER UPDATE OF metadata ON subscriptions WHEN OLD.metadata IS NOT NEW.metadata BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'subscription', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER subscriptions_metadata_delete AFTER DELETE ON subscriptions BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
END;
-- The objects made before: their keys, once.
INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
  SELECT p.id, 'product', p.merchant_id, p.livemode, m.key, CAST(m.value AS TEXT), p.created
  FROM products p, json_each(p.metadata) m WHERE json_valid(p.metadata) AND m.type IN ('text', 'integer', 'real');
INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
  SELECT p.id, 'price', p.merchant_id, p.livemode, m.key, CAST(m.value AS TEXT), p.created
  FROM prices p, json_each(p.metadata) m WHERE json_valid(p.metadata) AND m.type IN ('text', 'integer', 'real');
INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
  SELECT s.id, 'subscription', s.merchant_id, s.livemode, m.key, CAST(m.value AS TEXT), s.created
  FROM subscriptions s, json_each(s.metadata) m WHERE json_valid(s.metadata) AND m.type IN ('text', 'integer', 'real');
PRAGMA optimize;
