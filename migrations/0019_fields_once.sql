-- The read model at scale (issue 15): no field stored twice.
--
-- A refund's record is the entry of its intent's `refunds` (in payment_intents.data, written in the
-- same batch at the same version): refunds.data was a second copy of it. The refunds table keeps the
-- columns its indexes and filters need and is read joined to its intent (src/db/queries.ts).
--
-- The fields of an intent (src/db/intent-row.ts) and of an event (src/db/event-row.ts) that have a
-- column of their own are no longer written to `data`; readers put them back from the columns, and
-- accept a row that still has them. Rows written before are stripped by migration 0021, kept apart
-- so that it can be skipped on a database too large to rewrite within D1's query time.
ALTER TABLE refunds DROP COLUMN data;
PRAGMA optimize;
