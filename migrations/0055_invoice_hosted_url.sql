-- Stripe's hosted_invoice_url: the page where the invoice's customer sees it and pays it
-- (GET /invoice/{in_id}/{token}, src/pages/invoice.ts). Kept with the base URL the invoice was made
-- under (PUBLIC_BASE_URL, or the origin of the request that made it), as Stripe keeps the link it
-- sent. Null: an invoice made before this migration, which has no page.
ALTER TABLE invoices ADD COLUMN hosted_url TEXT;
