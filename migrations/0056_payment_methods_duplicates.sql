-- As at Stripe, the same card may be on a customer more than once: attaching a payment method always
-- attaches the one named, even when a payment method of the same card (fingerprint) is already on the
-- customer. The unique (customer, fingerprint) index answered the card already there instead, leaving
-- the named one unattached. No lookup reads payment_methods by (customer, fingerprint) any more (a
-- customer's cards are read by payment_methods_customer, a card by its id), so no index replaces it.
DROP INDEX IF EXISTS `payment_methods_customer_card`;
