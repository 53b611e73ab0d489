CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`email` text,
	`name` text,
	`phone` text,
	`description` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`default_payment_method` text,
	`test_clock` text,
	`deleted` integer DEFAULT false NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `customers_list` ON `customers` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `customers_email` ON `customers` (`merchant_id`,`livemode`,`email`);--> statement-breakpoint
CREATE TABLE `invoices` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer` text NOT NULL,
	`subscription` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer NOT NULL,
	`currency` text NOT NULL,
	`amount_due` integer NOT NULL,
	`amount_paid` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`billing_reason` text NOT NULL,
	`price` text NOT NULL,
	`quantity` integer NOT NULL,
	`unit_amount` integer NOT NULL,
	`description` text,
	`payment_intent` text,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`next_payment_attempt` integer,
	`claimed_until` integer,
	`paid_at` integer,
	`test_clock` text,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_period` ON `invoices` (`subscription`,`period_start`);--> statement-breakpoint
CREATE INDEX `invoices_list` ON `invoices` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `invoices_due` ON `invoices` (`status`,`next_payment_attempt`);--> statement-breakpoint
CREATE TABLE `payment_methods` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer` text,
	`details` text NOT NULL,
	`fingerprint` text,
	`nickname` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `payment_methods_list` ON `payment_methods` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `payment_methods_customer` ON `payment_methods` (`customer`,`created`);--> statement-breakpoint
CREATE UNIQUE INDEX `payment_methods_customer_card` ON `payment_methods` (`customer`,`fingerprint`);--> statement-breakpoint
CREATE TABLE `prices` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`currency` text NOT NULL,
	`unit_amount` integer NOT NULL,
	`interval` text NOT NULL,
	`interval_count` integer NOT NULL,
	`product_name` text NOT NULL,
	`nickname` text,
	`active` integer NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `prices_list` ON `prices` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer` text NOT NULL,
	`price` text NOT NULL,
	`quantity` integer NOT NULL,
	`status` text NOT NULL,
	`current_period_start` integer NOT NULL,
	`current_period_end` integer NOT NULL,
	`billing_cycle_anchor` integer NOT NULL,
	`period_index` integer DEFAULT 0 NOT NULL,
	`trial_end` integer,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`canceled_at` integer,
	`ended_at` integer,
	`default_payment_method` text,
	`latest_invoice` text,
	`test_clock` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `subscriptions_list` ON `subscriptions` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `subscriptions_due` ON `subscriptions` (`status`,`current_period_end`);--> statement-breakpoint
CREATE INDEX `subscriptions_customer` ON `subscriptions` (`customer`);--> statement-breakpoint
CREATE INDEX `subscriptions_clock` ON `subscriptions` (`test_clock`);--> statement-breakpoint
CREATE TABLE `test_clocks` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`name` text,
	`frozen_time` integer NOT NULL,
	`status` text NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `test_clocks_list` ON `test_clocks` (`merchant_id`,`livemode`,`created`,`id`);--> statement-breakpoint
ALTER TABLE `events` ADD `fanned_out` integer DEFAULT true NOT NULL;