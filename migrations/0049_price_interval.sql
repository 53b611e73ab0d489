-- GET /v1/prices?recurring[interval]=month (Stripe's list filter): a range of this index in (created,
-- id) order, as the other filters are, rather than a walk of the merchant's recurring prices. Partial,
-- as prices_recurring (one-time prices have no interval to filter by; the list repeats the literal):
-- a one-time price costs its write nothing, and type=one_time keeps to prices_one_time.
CREATE INDEX prices_interval ON prices (merchant_id, livemode, interval, created, id) WHERE interval <> 'one_time';
PRAGMA optimize;
