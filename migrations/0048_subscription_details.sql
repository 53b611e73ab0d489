-- Stripe keeps on a subscription why and how it was canceled (cancellation_details: comment,
-- feedback, reason), given to DELETE /v1/subscriptions/{id}, and its item's metadata
-- (items[0][metadata] at creation). Each is JSON, null until set; older subscriptions stay null
-- (rendered as Stripe's defaults). Adding nullable columns rewrites no row.
ALTER TABLE subscriptions ADD cancellation_details text;
ALTER TABLE subscriptions ADD item_metadata text;
PRAGMA optimize;
