-- GET /v1/checkout/sessions?customer_details[email]=... (Stripe's list filter): the sessions given that
-- email (their customer_details.email), newest first, as an index range.
CREATE INDEX `checkout_sessions_email` ON `checkout_sessions` (`merchant_id`, `livemode`, `customer_email`, `created`, `id`);
