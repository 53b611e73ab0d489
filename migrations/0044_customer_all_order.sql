-- An admin's list of a customer's payments across merchants (seed 000's
-- /api/v1/PaymentIntents/customer/{id}) is ordered by (created, id), the order its cursor and the merge
-- across databases use. The index ended in created alone, so the planner walked payment_intents_mode
-- (every intent of the mode) to get that order: a scan of the whole history at 1M intents. With id as
-- its last column the index serves the order and the cursor as one range.
DROP INDEX IF EXISTS `payment_intents_customer_all`;
CREATE INDEX `payment_intents_customer_all` ON `payment_intents` (`customer`,`livemode`,`created`,`id`);
PRAGMA optimize;
