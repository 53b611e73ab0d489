-- The customers list and search read only customers that are not deleted (`deleted = 0`): their
-- pages walk a partial index of those, so a merchant that deleted many customers does not read past
-- them. The index of every customer (customers_list) is no longer read by anything.
DROP INDEX IF EXISTS customers_list;
CREATE INDEX customers_live ON customers (merchant_id, livemode, created, id) WHERE deleted = 0;
PRAGMA optimize;
