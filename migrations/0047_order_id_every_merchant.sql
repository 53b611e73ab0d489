-- Seed 001's operator search, GET /v1/admin/payments/search?order_id=..., by an admin across every
-- merchant: an order id is a range of this index in (created, id) order, as a customer already is.
-- Partial: intents without an order id (most, on some surfaces) cost their write nothing.
CREATE INDEX payment_intents_order_mode ON payment_intents (livemode, order_id, created, id) WHERE order_id IS NOT NULL;
PRAGMA optimize;
