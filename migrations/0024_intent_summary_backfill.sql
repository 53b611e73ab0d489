-- Gives the rows written before migration 0023 its columns, so seed 000's lists render them from
-- columns too (an intent that never changes again would otherwise be read whole on every list), and
-- strips those fields from their `data` (each field stored once). Nothing depends on it: until a row
-- is rewritten, readers take its fields from `data` (summary_version is not its version).
--
-- The three times are derived as src/core/intent.ts's paymentMilestones derives them from the record:
--   authorized: the charge attempt's completion (the attempt whose id is chargeAttemptId);
--   captured:   the first succeeded capture attempt's completion, else, for a payment captured
--               automatically and succeeded, the authorization's;
--   failed:     with a last payment error, its attempt's completion (else the last update); a failed
--               payment without one, its last update.
-- A test (test/db/intent-row.test.ts) runs this statement over intents of every kind and compares each
-- column with what the code writes.
--
-- The statement rewrites the intents table: on the development machine about 2.5 s per 100,000
-- intents. D1 stops a query after 30 seconds, so on a database of more than about a million intents,
-- skip this migration (record it as applied, or delete the file before deploying): such rows are read
-- the old way, correctly, and take the new form on their next write.
UPDATE payment_intents SET
  invoice_id = json_extract(data, '$.invoiceId'),
  client_secret = json_extract(data, '$.clientSecret'),
  description = json_extract(data, '$.description'),
  gateway_account = json_extract(data, '$.gatewayAccount'),
  connector_account = json_extract(data, '$.connectorAccount'),
  last_payment_error = CASE WHEN json_type(data, '$.lastPaymentError') = 'object' THEN json_extract(data, '$.lastPaymentError') END,
  charge_authorized_at = (SELECT json_extract(a.value, '$.completed') FROM json_each(data, '$.attempts') a WHERE json_extract(a.value, '$.id') = json_extract(data, '$.chargeAttemptId') ORDER BY a.key LIMIT 1),
  charge_captured_at = coalesce(
    (SELECT json_extract(a.value, '$.completed') FROM json_each(data, '$.attempts') a WHERE json_extract(a.value, '$.type') = 'capture' AND json_extract(a.value, '$.status') = 'succeeded' ORDER BY a.key LIMIT 1),
    CASE WHEN status = 'succeeded' AND json_extract(data, '$.captureMethod') = 'automatic'
      THEN (SELECT json_extract(a.value, '$.completed') FROM json_each(data, '$.attempts') a WHERE json_extract(a.value, '$.id') = json_extract(data, '$.chargeAttemptId') ORDER BY a.key LIMIT 1)
    END
  ),
  failed_at = CASE
    WHEN json_type(data, '$.lastPaymentError') = 'object' THEN coalesce(
      (SELECT json_extract(a.value, '$.completed') FROM json_each(data, '$.attempts') a WHERE json_extract(a.value, '$.id') = json_extract(data, '$.lastPaymentError.attemptId') ORDER BY a.key LIMIT 1),
      updated, json_extract(data, '$.updated'), created)
    WHEN status = 'failed' THEN coalesce(updated, json_extract(data, '$.updated'), created)
  END,
  summary_version = version,
  data = json_remove(data, '$.invoiceId', '$.clientSecret', '$.description', '$.gatewayAccount', '$.connectorAccount', '$.lastPaymentError')
WHERE json_type(data, '$.clientSecret') IS NOT NULL;
