-- Stripe's Setup Intents: a card saved for later payments, checked and attached to its customer when
-- the setup is confirmed (src/billing/setup-intents.ts). One row per setup intent; its state changes
-- are guarded by `version` (each write is conditional on the version read, so of two confirmations
-- racing one attaches the card and the other sees the setup succeeded). Lists are index ranges:
-- the merchant's, a customer's and a payment method's, each ending in (created, id).
CREATE TABLE `setup_intents` (
  `id` text PRIMARY KEY NOT NULL,
  `merchant_id` text NOT NULL,
  `livemode` integer NOT NULL,
  `customer` text,
  `payment_method` text,
  `status` text NOT NULL,
  `usage` text NOT NULL,
  `description` text,
  `metadata` text DEFAULT '{}' NOT NULL,
  `last_setup_error` text,
  `cancellation_reason` text,
  `created` integer NOT NULL,
  `version` integer DEFAULT 0 NOT NULL
);
CREATE INDEX `setup_intents_list` ON `setup_intents` (`merchant_id`, `livemode`, `created`, `id`);
CREATE INDEX `setup_intents_customer` ON `setup_intents` (`merchant_id`, `livemode`, `customer`, `created`, `id`);
CREATE INDEX `setup_intents_payment_method` ON `setup_intents` (`merchant_id`, `livemode`, `payment_method`, `created`, `id`);
