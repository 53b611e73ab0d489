-- The sandbox's refund-failure test card (4000000000005126, pm_card_refundFail): a refund of its
-- payment succeeds, and some time later the sandbox reports it failed, as a PSP's webhook would. Each
-- such refund waits here until it is due; the cron's sweep reports it through the intent's object
-- (refund.failed) and removes the row. A range of `due` finds the due ones.
CREATE TABLE `sandbox_refund_failures` (
	`idempotency_key` text PRIMARY KEY NOT NULL,
	`intent_id` text NOT NULL,
	`attempt_id` text NOT NULL,
	`account_id` text,
	`merchant_id` text NOT NULL,
	`reference` text NOT NULL,
	`due` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sandbox_refund_failures_due` ON `sandbox_refund_failures` (`due`);
