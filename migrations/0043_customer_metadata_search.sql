-- Stripe's customer search by metadata (GET /v1/customers/search?query=metadata['user_id']:'42'): a
-- customer's metadata keys in object_metadata (migration 0042), kept by triggers as the billing
-- objects' are, so every writer of a customer (creates, writeCompared's updates) keeps them in its own
-- transaction. A deleted customer keeps its row (deleted = 1); the search leaves it out.
-- As there: D1's meta.changes of a write to customers now counts these rows too; test it > 0.
CREATE TRIGGER customers_metadata_insert AFTER INSERT ON customers BEGIN
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'customer', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER customers_metadata_update AFTER UPDATE OF metadata ON customers WHEN OLD.metadata IS NOT NEW.metadata BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
  INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
    SELECT NEW.id, 'customer', NEW.merchant_id, NEW.livemode, m.key, CAST(m.value AS TEXT), NEW.created
    FROM json_each(NEW.metadata) m WHERE json_valid(NEW.metadata) AND m.type IN ('text', 'integer', 'real');
END;
CREATE TRIGGER customers_metadata_delete AFTER DELETE ON customers BEGIN
  DELETE FROM object_metadata WHERE object_id = OLD.id;
END;
-- The customers made before: their keys, once.
INSERT INTO object_metadata (object_id, object, merchant_id, livemode, key, value, created)
  SELECT c.id, 'customer', c.merchant_id, c.livemode, m.key, CAST(m.value AS TEXT), c.created
  FROM customers c, json_each(c.metadata) m WHERE json_valid(c.metadata) AND m.type IN ('text', 'integer', 'real');
PRAGMA optimize;
