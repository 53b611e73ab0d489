-- A payment method named on a payment intent (a test card, a token, card details: made for that
-- payment, never saved) can be retrieved as at Stripe: GET /v1/payment_methods/{id} finds the intent
-- that carries it (the one it paid with, or the one it was declined on) through this column, which
-- holds the record's paymentMethod (or lastPaymentError's) id.
ALTER TABLE payment_intents ADD COLUMN payment_method_id TEXT;
UPDATE payment_intents SET payment_method_id = coalesce(
  json_extract(data, '$.paymentMethod.id'),
  json_extract(last_payment_error, '$.paymentMethod.id'),
  json_extract(data, '$.lastPaymentError.paymentMethod.id')
);
CREATE INDEX payment_intents_payment_method ON payment_intents (payment_method_id) WHERE payment_method_id IS NOT NULL;
PRAGMA optimize;
