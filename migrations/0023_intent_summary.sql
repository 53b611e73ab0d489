-- Seed 000's lists answer up to 1,000 intents a page (issue 15). They render from columns: the
-- fields they show that were only in `data` move to columns of their own (each field is still stored
-- once: a row written since leaves them out of `data`), and the milestones they show, derived from
-- the record's attempts, are kept beside them when the row is written.
--
-- Adding columns rewrites nothing. A row written before this migration, or by the previous version of
-- the code while a deployment rolls out, keeps those fields in `data` and does not set
-- summary_version to its version: it is read through its `data` as before, and takes the new form on
-- its intent's next write.
ALTER TABLE payment_intents ADD invoice_id text;
ALTER TABLE payment_intents ADD client_secret text;
ALTER TABLE payment_intents ADD description text;
ALTER TABLE payment_intents ADD gateway_account text;
ALTER TABLE payment_intents ADD connector_account text;
ALTER TABLE payment_intents ADD last_payment_error text;
ALTER TABLE payment_intents ADD charge_authorized_at integer;
ALTER TABLE payment_intents ADD charge_captured_at integer;
ALTER TABLE payment_intents ADD failed_at integer;
ALTER TABLE payment_intents ADD summary_version integer;
