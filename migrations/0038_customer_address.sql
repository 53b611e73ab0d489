-- Customers keep Stripe's `address` and `shipping` (they were accepted and dropped). Each is one
-- JSON column: they are read and written with the customer, never filtered on, so they need no index.
-- Adding nullable columns rewrites no row.
ALTER TABLE customers ADD address text;
ALTER TABLE customers ADD shipping text;
PRAGMA optimize;
