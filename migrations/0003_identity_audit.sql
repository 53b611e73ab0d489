CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text,
	`livemode` integer NOT NULL,
	`actor` text NOT NULL,
	`actor_roles` text NOT NULL,
	`action` text NOT NULL,
	`object_type` text NOT NULL,
	`object_id` text,
	`request_id` text,
	`idempotency_key` text,
	`status_before` text,
	`status_after` text,
	`http_status` integer NOT NULL,
	`details` text DEFAULT '{}' NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_list` ON `audit_log` (`created`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_merchant` ON `audit_log` (`merchant_id`,`created`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_object` ON `audit_log` (`object_id`,`created`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `kind` text DEFAULT 'secret' NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `name` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `permissions` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `app_id` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `rate_limit` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `last_used` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_app_id_unique` ON `api_keys` (`app_id`);--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `card_last4` text;--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `failure_reason` text;--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `resolution` text;