-- Seed 002 (the POS gateway surface): the merchant's `payments` entitlement (on by default; off, every
-- route of /api/v1/payments/* and /api/v1/customers/*/payment-methods answers 403), and indexed
-- columns of the read model for its transaction filters: location, card last4, amount, refunded
-- amount, and the failed payments' list.
ALTER TABLE `merchants` ADD `payments_entitlement` integer DEFAULT true NOT NULL;
--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `location_id` text;
--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `amount_refunded` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
UPDATE `payment_intents` SET `location_id` = json_extract(`data`, '$.locationId'), `amount_refunded` = coalesce(json_extract(`data`, '$.amountRefunded'), 0);
--> statement-breakpoint
CREATE INDEX `payment_intents_location` ON `payment_intents` (`merchant_id`,`livemode`,`location_id`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `payment_intents_card_last4` ON `payment_intents` (`merchant_id`,`livemode`,`card_last4`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `payment_intents_amount` ON `payment_intents` (`merchant_id`,`livemode`,`amount`,`created`);--> statement-breakpoint
CREATE INDEX `payment_intents_order_created` ON `payment_intents` (`merchant_id`,`livemode`,`order_id`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `payment_intents_failed` ON `payment_intents` (`merchant_id`,`livemode`,`created`,`id`) WHERE `failure_reason` IS NOT NULL;
