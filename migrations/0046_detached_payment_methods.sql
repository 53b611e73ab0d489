-- A payment method detached from its customer may not be used again (Stripe's rule): without a mark
-- it looked like one never attached, which any customer of the merchant (or none) could pay with.
-- `detached` is when it was detached; a payment method detached before this migration cannot be told
-- from one never attached, so those stay as they were.
ALTER TABLE payment_methods ADD COLUMN detached INTEGER;
PRAGMA optimize;
