-- The sweep that re-queues stuck reconciliations goes round the intents with an unknown outcome in
-- (updated, id) order, and reads only them (the index held every intent, by its pending count): a
-- reconciliation that keeps failing before it records itself left its intent first in line, and 50
-- of them held up every other.
DROP INDEX payment_intents_pending;
CREATE INDEX payment_intents_pending ON payment_intents (updated, id) WHERE pending_attempts > 0;
PRAGMA optimize;
