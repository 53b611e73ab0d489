-- The read model at scale (issue 15), second part.
--
-- Shrink the row: payment_intents.metadata was a second copy of the metadata the `data` column holds
-- (and the payment_intent_metadata rows index since 0014); nothing reads it any more. Dropping it
-- rewrites the table once.
ALTER TABLE payment_intents DROP COLUMN metadata;
-- The list index carries the columns that searches filter on without an index of their own
-- (currency, amount, status): a search bounded by a created window tests them on the index entries
-- and reads the table row of the matches only (SQLite defers the row's seek until a column the index
-- lacks is needed), so a rare match costs a walk of small index entries, not of ~3 KB rows.
DROP INDEX IF EXISTS payment_intents_list;
CREATE INDEX payment_intents_list ON payment_intents (merchant_id, livemode, created, id, currency, amount, status);
-- Admin and support reading across merchants (no merchant named) page newest first within a mode:
-- every list index starts with merchant_id, so without these they were a scan and a sort.
CREATE INDEX IF NOT EXISTS payment_intents_mode ON payment_intents (livemode, created, id);
CREATE INDEX IF NOT EXISTS payment_intents_failed_mode ON payment_intents (livemode, created, id) WHERE failure_reason IS NOT NULL;
-- Failed payments' counts by reason: a covering range of the failed rows' (resolution, created,
-- reason), not a read of each failed intent's row; a window of them (POS) is a range of created.
CREATE INDEX IF NOT EXISTS payment_intents_failed_reasons ON payment_intents (merchant_id, livemode, resolution, created, failure_reason) WHERE failure_reason IS NOT NULL;
-- Refunds waiting for approval (or for their PSP's answer): few at any time, newest first, of one
-- merchant or of every merchant.
CREATE INDEX IF NOT EXISTS refunds_pending ON refunds (merchant_id, created, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS refunds_pending_all ON refunds (created, id) WHERE status = 'pending';
-- Statistics for the planner after the index changes.
PRAGMA optimize;
