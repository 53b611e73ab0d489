-- The cron's re-queue of deliveries whose message was lost and its hand-over again of events not
-- fanned out go round their rows in (time, id) order, several rounds a sweep, like the expiries
-- (src/db/rounds.ts): after a queue outage, one batch of 100 a minute took an hour and more to send
-- again what the outage left. Each index holds only the rows its sweep reads.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_overdue ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX events_unfanned;
CREATE INDEX events_unfanned ON events (created, id) WHERE fanned_out = 0;
PRAGMA optimize;
