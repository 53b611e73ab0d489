-- Stripe's invoice parent.subscription_details.metadata: the subscription's metadata when the invoice
-- was finalized (here, as it is made), an immutable snapshot; a subscription line's metadata is the
-- same. JSON, kept with the invoice. Invoices made before this migration keep null (rendered as
-- Stripe renders invoices older than the field: null): the subscription's metadata then is not known.
-- Adding a nullable column rewrites no row.
ALTER TABLE `invoices` ADD COLUMN `subscription_metadata` text;
