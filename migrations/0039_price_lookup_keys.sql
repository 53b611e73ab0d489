-- Prices keep Stripe's lookup_key (it was accepted and dropped). A merchant's key names at most one of
-- its prices in a mode, archived ones included (as at Stripe: a key held by an archived price is
-- still taken until transfer_lookup_key moves it). The unique index enforces that under concurrent
-- creates (the second insert fails its whole batch, an inline product with it) and serves
-- GET /v1/prices?lookup_keys[]= as one lookup per key. Prices without a key are not in it.
ALTER TABLE prices ADD lookup_key text;
CREATE UNIQUE INDEX prices_lookup_key ON prices (merchant_id, livemode, lookup_key) WHERE lookup_key IS NOT NULL;
PRAGMA optimize;
