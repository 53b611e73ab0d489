-- Four eyes on the refund approval rule: a change of a merchant's refund_approval_thresholds that
-- weakens it (a threshold raised or removed) is held here until another person with refunds.approve
-- approves it. `settings_change` is the pending change (JSON: its id, what it sets, what was in force
-- when it was asked, who asked and when); `settings_change_id` its id, by which an approver names it
-- from any merchant (an operator's approval route), unique while pending. Every decision is in the audit log.
ALTER TABLE `merchants` ADD COLUMN `settings_change` text;
ALTER TABLE `merchants` ADD COLUMN `settings_change_id` text;
CREATE UNIQUE INDEX `merchants_settings_change` ON `merchants` (`settings_change_id`) WHERE `settings_change_id` IS NOT NULL;
