-- Stripe's SetupAttempts: one row per confirmation of a setup intent that checked a card (succeeded,
-- or failed with its setup_error), written in the same batch as the setup's new status, only if that
-- status change happened (src/billing/setup-intents.ts). The setup intent names its newest one in
-- latest_attempt. GET /v1/setup_attempts?setup_intent= lists a setup's attempts newest first: a range
-- of setup_attempts_setup_intent, which ends in (created, id) as every list index does.
CREATE TABLE `setup_attempts` (
  `id` text PRIMARY KEY NOT NULL,
  `merchant_id` text NOT NULL,
  `livemode` integer NOT NULL,
  `setup_intent` text NOT NULL,
  `customer` text,
  `payment_method` text NOT NULL,
  `payment_method_details` text NOT NULL,
  `status` text NOT NULL,
  `usage` text NOT NULL,
  `setup_error` text,
  `created` integer NOT NULL
);
CREATE INDEX `setup_attempts_setup_intent` ON `setup_attempts` (`merchant_id`, `livemode`, `setup_intent`, `created`, `id`);
ALTER TABLE `setup_intents` ADD `latest_attempt` text;
