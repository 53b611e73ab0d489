-- The charge search (GET /v1/charges/search): a charge is its intent's successful authorization, so
-- the charges are the intents with charge_authorized_at (written with the row since migration 0023).
-- This partial index holds them in (created, id) order, so `status:'succeeded'` alone is one range
-- of it and every other charge query a range of the intent search's indexes filtered on that column.
--
-- Rows migration 0024 did not backfill (it may be skipped on a large database) get the column here
-- from `data`, as 0024 derives it (the charge attempt's completion), if they have a charge row; the
-- statement reads the charges table once and writes only those rows.
UPDATE payment_intents SET charge_authorized_at = coalesce(
  (SELECT json_extract(a.value, '$.completed') FROM json_each(data, '$.attempts') a WHERE json_extract(a.value, '$.id') = json_extract(data, '$.chargeAttemptId') ORDER BY a.key LIMIT 1),
  created)
WHERE charge_authorized_at IS NULL AND id IN (SELECT payment_intent FROM charges WHERE id = 'ch_' || substr(payment_intent, 4));
CREATE INDEX payment_intents_charged ON payment_intents (merchant_id, livemode, created, id) WHERE charge_authorized_at IS NOT NULL;
PRAGMA optimize;
