-- Stripe's invoice period_start / period_end are not the service period the invoice bills (that is its
-- line's `period`): they bound the time during which items were collected for it. A subscription's
-- first invoice has both at its creation; a renewal has the period that just ended. The columns
-- `period_start` / `period_end` keep the line's service period (and the one-invoice-per-period
-- unique index); these hold the invoice's own. Invoices made before this migration get theirs here:
-- a first invoice its creation time; a renewal the period of the subscription's invoice before it
-- (the period that ended as it renewed), through the invoices_period index.
ALTER TABLE `invoices` ADD COLUMN `usage_period_start` integer;
ALTER TABLE `invoices` ADD COLUMN `usage_period_end` integer;
UPDATE `invoices` SET `usage_period_start` = `created`, `usage_period_end` = `created` WHERE `billing_reason` = 'subscription_create';
UPDATE `invoices`
SET `usage_period_end` = `period_start`,
    `usage_period_start` = COALESCE(
      (SELECT MAX(p.`period_start`) FROM `invoices` p WHERE p.`subscription` = `invoices`.`subscription` AND p.`period_start` < `invoices`.`period_start`),
      `period_start`)
WHERE `billing_reason` = 'subscription_cycle';
