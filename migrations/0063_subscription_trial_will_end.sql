-- Stripe's customer.subscription.trial_will_end: sent once, three days before a trial ends (on the
-- first sweep for a shorter trial). The billing sweep finds the trials due for it through this index,
-- and marks each sent in the transaction that stores the event. Trials begun before this migration
-- get theirs on the next sweep that finds them within three days of their end.
ALTER TABLE `subscriptions` ADD COLUMN `trial_will_end_sent` integer NOT NULL DEFAULT 0;
CREATE INDEX `subscriptions_trial_will_end` ON `subscriptions` (`test_clock`, `trial_end`) WHERE `status` = 'trialing' AND `trial_will_end_sent` = 0;
