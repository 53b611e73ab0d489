-- An invoice line's `pricing.price_details` names its price and the price's product (Stripe's
-- invoice line item since the 2025-03-31 API). The invoice keeps the product as it was when made.
ALTER TABLE invoices ADD product text;
-- Invoices made before: their price's product (null for a price made before products existed).
UPDATE invoices SET product = (SELECT product FROM prices p WHERE p.id = invoices.price);
