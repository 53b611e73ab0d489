-- The charge search finds failed charges too (an intent's declined authorizations, each a failed
-- charge with its own row in `charges`). declined_charges counts them, written with the intent's row
-- from its record; the partial index holds the intents that have any, in (created, id) order, beside
-- payment_intents_charged (those with a successful charge, migration 0041).
ALTER TABLE payment_intents ADD COLUMN declined_charges INTEGER NOT NULL DEFAULT 0;
-- The rows written before: their failed charges' rows (ch_<intent body><attempt>; the successful
-- charge is ch_<intent body>), counted once for the intents that have any.
UPDATE payment_intents SET declined_charges = (
  SELECT count(*) FROM charges c WHERE c.payment_intent = payment_intents.id AND c.id <> 'ch_' || substr(payment_intents.id, 4)
)
WHERE id IN (SELECT payment_intent FROM charges WHERE id <> 'ch_' || substr(payment_intent, 4));
CREATE INDEX payment_intents_declined ON payment_intents (merchant_id, livemode, created, id) WHERE declined_charges > 0;
PRAGMA optimize;
