-- The log of PSP webhook events (in the directory, for every merchant) is kept as long as events are
-- (EVENT_RETENTION_DAYS) and then removed by the cron, oldest first: it grew with every PSP event for good.
CREATE INDEX psp_events_received ON psp_events (received);
PRAGMA optimize;
