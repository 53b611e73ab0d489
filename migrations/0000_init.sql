CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`redacted` text NOT NULL,
	`livemode` integer NOT NULL,
	`created` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_merchant` ON `api_keys` (`merchant_id`);--> statement-breakpoint
CREATE TABLE `charges` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`payment_intent` text NOT NULL,
	`created` integer NOT NULL,
	`version` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `charges_list` ON `charges` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `charges_intent` ON `charges` (`payment_intent`);--> statement-breakpoint
CREATE TABLE `merchants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created` integer NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `payment_intents` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`status` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`customer` text,
	`order_id` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created` integer NOT NULL,
	`version` integer NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `payment_intents_list` ON `payment_intents` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `payment_intents_status` ON `payment_intents` (`merchant_id`,`livemode`,`status`,`created`);--> statement-breakpoint
CREATE INDEX `payment_intents_customer` ON `payment_intents` (`merchant_id`,`livemode`,`customer`,`created`);--> statement-breakpoint
CREATE INDEX `payment_intents_order` ON `payment_intents` (`merchant_id`,`livemode`,`order_id`);--> statement-breakpoint
CREATE TABLE `refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`payment_intent` text NOT NULL,
	`charge` text NOT NULL,
	`status` text NOT NULL,
	`amount` integer NOT NULL,
	`created` integer NOT NULL,
	`version` integer NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `refunds_list` ON `refunds` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `refunds_intent` ON `refunds` (`payment_intent`,`created`);