-- Seed 002's status filter as an index range (issue 15): refunded, voided, pending, error, resolved
-- and dismissed were conditions over several columns (and the refunds in `data`), so alone they were
-- refused with a 400 asking for a date window. Now every status is one range of
-- payment_intents_pos_status.
--
-- pos_status is a VIRTUAL generated column (posStatus of src/core/pos-status.ts over the row's
-- columns, POS_STATUS_SQL there): adding it rewrites no row, and the index computes it once when it
-- is built. The one fact that was only in `data`, a same-day void of a sale, gets a column of its own
-- (pos_voided, written with the row from now on); the UPDATE below sets it on the rows written before,
-- which are few (it touches only succeeded intents with a refund carrying the void mark).
ALTER TABLE payment_intents ADD pos_voided integer;
UPDATE payment_intents SET pos_voided = 1 WHERE status = 'succeeded' AND amount_refunded > 0 AND EXISTS (SELECT 1 FROM json_each(payment_intents.data, '$.refunds') WHERE json_extract(value, '$.metadata.pos_void') = 'true' AND json_extract(value, '$.status') NOT IN ('failed', 'canceled'));
ALTER TABLE payment_intents ADD pos_status text GENERATED ALWAYS AS (CASE WHEN resolution IS NOT NULL THEN resolution WHEN failure_reason IS NOT NULL THEN CASE WHEN failure_reason IN ('processing_error', 'provider_error', 'api_error', 'unknown') THEN 'error' ELSE 'declined' END WHEN status = 'requires_capture' THEN 'authorized' WHEN status = 'canceled' THEN 'voided' WHEN status = 'succeeded' THEN CASE WHEN pos_voided = 1 THEN 'voided' WHEN amount_refunded > 0 THEN 'refunded' ELSE 'captured' END ELSE 'pending' END) VIRTUAL;
CREATE INDEX payment_intents_pos_status ON payment_intents (merchant_id, livemode, pos_status, created, id);
PRAGMA optimize;
