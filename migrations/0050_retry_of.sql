-- Seed 002's failed payments: a retry that fails is another attempt at its original, not a failed
-- payment of its own. retry_of (the record's retryOf, written with the intent's row) lets /failed
-- leave retries out and count each original's attempts from its retries: payment_intents_retries is
-- the range of one original's retries; payment_intents_failed_reasons gains retry_of so that the counts
-- still read the index alone.
ALTER TABLE payment_intents ADD COLUMN retry_of TEXT;
UPDATE payment_intents SET retry_of = json_extract(data, '$.retryOf') WHERE json_extract(data, '$.retryOf') IS NOT NULL;
CREATE INDEX payment_intents_retries ON payment_intents (retry_of, created, id) WHERE retry_of IS NOT NULL;
DROP INDEX payment_intents_failed_reasons;
CREATE INDEX payment_intents_failed_reasons ON payment_intents (merchant_id, livemode, resolution, created, failure_reason, retry_of) WHERE failure_reason IS NOT NULL;
PRAGMA optimize;
