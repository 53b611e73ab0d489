-- Merchant-wide binding of idempotency keys: a key belongs to one merchant and mode and, for 24 hours,
-- to the first request that used it (route, target and a keyed fingerprint of its parameters), on
-- every surface. The answers themselves stay where they are replayed from (the intent's Durable
-- Object, or idempotency_keys for requests that touch no intent).
CREATE TABLE `idempotency_claims` (
	`merchant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`key` text NOT NULL,
	`route` text NOT NULL,
	`target` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `livemode`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_claims_created` ON `idempotency_claims` (`created`);
