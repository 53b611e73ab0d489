CREATE TABLE `connector_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`connector` text NOT NULL,
	`priority` integer NOT NULL,
	`status` text NOT NULL,
	`description` text,
	`credentials` text NOT NULL,
	`credentials_hint` text,
	`webhook_secret` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created` integer NOT NULL,
	`updated` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `connector_accounts_merchant` ON `connector_accounts` (`merchant_id`,`livemode`,`priority`);--> statement-breakpoint
CREATE TABLE `psp_events` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`connector` text NOT NULL,
	`event_id` text NOT NULL,
	`kind` text NOT NULL,
	`intent_id` text,
	`result` text NOT NULL,
	`received` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `psp_events_intent` ON `psp_events` (`intent_id`,`received`);--> statement-breakpoint
CREATE TABLE `sandbox_ledger` (
	`idempotency_key` text PRIMARY KEY NOT NULL,
	`intent_id` text NOT NULL,
	`attempt_id` text NOT NULL,
	`kind` text NOT NULL,
	`outcome` text NOT NULL,
	`created` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `updated` integer;--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `authorized_at` integer;--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `pending_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `payment_intents` ADD `reconciled_at` integer;--> statement-breakpoint
CREATE INDEX `payment_intents_pending` ON `payment_intents` (`pending_attempts`,`updated`);--> statement-breakpoint
CREATE INDEX `payment_intents_capturable` ON `payment_intents` (`status`,`authorized_at`);