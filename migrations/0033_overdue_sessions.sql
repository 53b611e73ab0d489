-- The checkout sessions the cron expires go round in the order it reads them, (expires_at, id) of the
-- open ones only (the index held every session, by status): a session whose payment stays in flight is
-- left open, and 50 of them first in line held up every other expiry.
CREATE INDEX checkout_sessions_overdue ON checkout_sessions (expires_at, id) WHERE status = 'open';
DROP INDEX checkout_sessions_expiry;
PRAGMA optimize;
