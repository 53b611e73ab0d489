-- Stripe keeps on an invoice the customer's address and shipping as they were when it was finalized
-- (customer_address, customer_shipping), as it keeps its email, name and phone (migration 0020);
-- invoices here are finalized when they are made (src/billing/engine.ts fills these). Each is the
-- JSON of the customer's column of the same name (migration 0038), or null. Invoices made before stay
-- null: what the customer's address was then is not known, and a backfill would rewrite every invoice.
-- Adding nullable columns rewrites no row.
ALTER TABLE invoices ADD customer_address text;
ALTER TABLE invoices ADD customer_shipping text;
PRAGMA optimize;
