-- Stripe keeps on an invoice the customer's email, name and phone as they were when it was
-- finalized; invoices here are finalized when they are made (src/billing/engine.ts fills these).
ALTER TABLE invoices ADD customer_email text;
ALTER TABLE invoices ADD customer_name text;
ALTER TABLE invoices ADD customer_phone text;
-- Invoices made before: the customer as it is now is the best record there is.
UPDATE invoices SET
  customer_email = (SELECT email FROM customers c WHERE c.id = invoices.customer),
  customer_name = (SELECT name FROM customers c WHERE c.id = invoices.customer),
  customer_phone = (SELECT phone FROM customers c WHERE c.id = invoices.customer);
