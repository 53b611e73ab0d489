-- An event held back by the request that wrote it (fanned_out = 2, src/billing/writes.ts HELD): a
-- subscription's customer.subscription.created while its first invoice is paid in the same request,
-- so that it says what Stripe's says (active when that payment went through, with no
-- customer.subscription.updated after it). The request releases it; the cron releases one a request
-- left held (it died) after its grace, through this index.
CREATE INDEX `events_held` ON `events` (`created`, `id`) WHERE `fanned_out` = 2;
