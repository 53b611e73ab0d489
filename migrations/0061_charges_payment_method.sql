-- A charge's payment method (the one its authorization was made or declined with): a payment method
-- made for one payment (a test card, a token, card details) and declined stays retrievable by id
-- (GET /v1/payment_methods/{id}) once its intent was paid with another, found by this index. Rows
-- written before this migration have none until their intent is written again.
ALTER TABLE `charges` ADD COLUMN `payment_method` text;
CREATE INDEX `charges_payment_method` ON `charges` (`merchant_id`, `livemode`, `payment_method`) WHERE `payment_method` IS NOT NULL;
