-- Failed payments' counts by reason of every resolution (`/v1/admin/failed_payments?resolution=all`,
-- of one merchant or across merchants) read only the failed payments of their window, from the index
-- alone: the failed indexes carry the reason. Without it the planner walked every payment of the
-- window (payment_intents_list) and read each row. Same prefix, so the failed lists' pages are the
-- same ranges as before.
DROP INDEX payment_intents_failed;
CREATE INDEX payment_intents_failed ON payment_intents (merchant_id, livemode, created, id, failure_reason) WHERE failure_reason IS NOT NULL;
DROP INDEX payment_intents_failed_mode;
CREATE INDEX payment_intents_failed_mode ON payment_intents (livemode, created, id, failure_reason) WHERE failure_reason IS NOT NULL;
PRAGMA optimize;
