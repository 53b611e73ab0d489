-- The read model at scale (issue 15): no field stored twice.
--
-- A refund's record is the entry of its intent's `refunds` (in payment_intents.data, written in the
-- same batch at the same version): refunds.data was a second copy of it. The refunds table keeps the
-- columns its indexes and filters need and is read joined to its intent (src/db/queries.ts).
ALTER TABLE refunds DROP COLUMN data;
-- The fields of an intent that have a column of their own leave `data` (src/db/intent-row.ts puts
-- them back on read, and writes new rows without them). This rewrites each intent row once; readers
-- also accept a row that still has them (the columns win), so on a database too large to rewrite in
-- one migration this statement can be dropped and rows shrink on their intents' next writes.
-- (updated and reconciled_at are nullable columns added in 0002: a row older than them gets them from
-- its `data` first; SET reads the row as it was.)
UPDATE payment_intents SET
  updated = coalesce(updated, json_extract(data, '$.updated'), created),
  reconciled_at = coalesce(reconciled_at, json_extract(data, '$.reconciledAt')),
  data = json_remove(data, '$.id', '$.merchantId', '$.livemode', '$.version', '$.created', '$.updated', '$.status', '$.amount', '$.currency', '$.amountRefunded', '$.customer', '$.orderId', '$.locationId', '$.reconciledAt');
-- An event's row the same way (src/db/event-row.ts): its id, type, created, merchant and mode are
-- columns; `data` keeps the object's snapshot and the request's references.
UPDATE events SET data = json_remove(data, '$.id', '$.type', '$.created', '$.merchantId', '$.livemode');
PRAGMA optimize;
