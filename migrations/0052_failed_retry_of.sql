-- /v1's failed payments leave retries out as seed 002's /failed does (a retry that fails is another
-- attempt at its original, listed with it): the counts of every resolution (payment_intents_failed,
-- and _mode across merchants) gain retry_of so that they still read the index alone.
DROP INDEX payment_intents_failed;
CREATE INDEX payment_intents_failed ON payment_intents (merchant_id, livemode, created, id, failure_reason, retry_of) WHERE failure_reason IS NOT NULL;
DROP INDEX payment_intents_failed_mode;
CREATE INDEX payment_intents_failed_mode ON payment_intents (livemode, created, id, failure_reason, retry_of) WHERE failure_reason IS NOT NULL;
PRAGMA optimize;
