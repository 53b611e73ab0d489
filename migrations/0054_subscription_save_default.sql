-- Stripe's payment_settings[save_default_payment_method] on subscriptions: on_subscription saves the
-- card a payment of the subscription succeeded with to its customer and makes it the subscription's
-- default_payment_method (the quickstart's default_incomplete flow, whose renewals otherwise find no
-- card). Null: off.
ALTER TABLE subscriptions ADD COLUMN save_default_payment_method TEXT;
