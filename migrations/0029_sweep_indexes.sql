-- The cron sweep's reads are index ranges too (they ran every minute as scans of the largest table):
-- the event purge takes the oldest events first, a range of (created, id) rather than a walk of
-- every event and a sort; the hand-over again of events not fanned out yet (billing's, whose send
-- failed) reads only those; the test clocks being advanced are found without a scan; and the
-- subscriptions due for renewal, or incomplete for too long, of real time or of one test clock, are
-- read in the order they are handled (it was a range of every due status, then a sort).
CREATE INDEX events_created ON events (created, id);
CREATE INDEX events_unfanned ON events (created) WHERE fanned_out = 0;
CREATE INDEX test_clocks_advancing ON test_clocks (status);
CREATE INDEX subscriptions_renewing ON subscriptions (test_clock, current_period_end) WHERE status IN ('active', 'past_due', 'trialing');
CREATE INDEX subscriptions_incomplete ON subscriptions (test_clock, current_period_start) WHERE status = 'incomplete';
DROP INDEX subscriptions_due;
PRAGMA optimize;
