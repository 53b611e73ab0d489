-- GET /v1/subscriptions?status=ended (Stripe's: canceled and incomplete_expired together), newest
-- first, as an index range: the two statuses are two ranges of subscriptions_status, which would need
-- a sort to merge; this partial index holds only the ended ones, in list order (the list's condition
-- repeats this literal, so the planner can use it).
CREATE INDEX `subscriptions_ended` ON `subscriptions` (`merchant_id`, `livemode`, `created`, `id`) WHERE status IN ('canceled', 'incomplete_expired');
