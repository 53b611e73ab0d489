-- When an invoice was voided (its subscription canceled, or expired incomplete) and when it was
-- marked uncollectible (dunning's last failure): Stripe's status_transitions.voided_at and
-- marked_uncollectible_at. Older invoices keep null.
ALTER TABLE invoices ADD COLUMN voided_at INTEGER;
ALTER TABLE invoices ADD COLUMN marked_uncollectible_at INTEGER;
