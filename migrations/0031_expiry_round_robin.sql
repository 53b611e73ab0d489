-- Expiring authorizations past 7 days goes round the due ones instead of always starting from the
-- oldest: an authorization whose expiry keeps failing (its void refused by the PSP, its object gone)
-- stayed the oldest, and 50 of them stopped every other expiry for good. The sweep keeps where it got
-- to in sweep_cursors. The index holds only the authorizations waiting for capture, in the order the
-- sweep reads them (it held every intent, by status).
CREATE TABLE sweep_cursors (
  name TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
DROP INDEX payment_intents_capturable;
CREATE INDEX payment_intents_capturable ON payment_intents (authorized_at, id) WHERE status = 'requires_capture';
PRAGMA optimize;
