-- Seeds 000 and 003 name payments and payment gateways by integers. Each intent gets a stable number
-- (AUTOINCREMENT: never reused) when it is created; each connector account a gateway number, the
-- built-in sandbox being gateway 1 for every merchant. Existing rows are numbered in creation order.
CREATE TABLE `intent_numbers` (
	`number` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`intent_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `intent_numbers_intent` ON `intent_numbers` (`intent_id`);--> statement-breakpoint
CREATE INDEX `intent_numbers_scope` ON `intent_numbers` (`merchant_id`,`livemode`,`number`);--> statement-breakpoint
CREATE INDEX `intent_numbers_mode` ON `intent_numbers` (`livemode`,`number`);--> statement-breakpoint
INSERT INTO `intent_numbers` (`intent_id`, `merchant_id`, `livemode`, `created`)
	SELECT `id`, `merchant_id`, `livemode`, `created` FROM `payment_intents` ORDER BY `created`, `id`;
--> statement-breakpoint
CREATE TABLE `gateway_numbers` (
	`number` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gateway_numbers_account` ON `gateway_numbers` (`account_id`);--> statement-breakpoint
INSERT INTO `gateway_numbers` (`number`, `account_id`, `created`) VALUES (1, 'sandbox', 0);
--> statement-breakpoint
INSERT INTO `gateway_numbers` (`account_id`, `created`) SELECT `id`, `created` FROM `connector_accounts` ORDER BY `created`, `id`;
--> statement-breakpoint
CREATE INDEX `payment_intents_customer_all` ON `payment_intents` (`customer`,`livemode`,`created`);
