-- Every list that is not a payment is an index range too, whatever its filter (issue 15): each filter
-- of the customer, card, product, price, subscription, invoice, checkout session and delivery lists
-- (and each exact field of the customer search) has an index that ends in (created, id), scoped like
-- the list index so the planner prefers it (without statistics it counts equality columns). A filter
-- with few matches then reads only them, at any depth, instead of walking the merchant's whole list.
-- test/db/list-query-plans.test.ts asserts each route's plan.
DROP INDEX IF EXISTS customers_email;
CREATE INDEX customers_email ON customers (merchant_id, livemode, email, created, id);
CREATE INDEX customers_name ON customers (merchant_id, livemode, name, created, id);
CREATE INDEX customers_phone ON customers (merchant_id, livemode, phone, created, id);
CREATE INDEX customers_clock ON customers (merchant_id, livemode, test_clock, created, id);
-- Lookups of a customer's card by fingerprint keep payment_methods_customer_card (customer, fingerprint).
DROP INDEX IF EXISTS payment_methods_customer;
CREATE INDEX payment_methods_customer ON payment_methods (merchant_id, livemode, customer, created, id);
CREATE INDEX products_active ON products (merchant_id, livemode, active, created, id);
DROP INDEX IF EXISTS prices_product;
CREATE INDEX prices_product ON prices (merchant_id, livemode, product, created, id);
CREATE INDEX prices_active ON prices (merchant_id, livemode, active, created, id);
CREATE INDEX prices_currency ON prices (merchant_id, livemode, currency, created, id);
-- subscriptions_customer (customer) and subscriptions_clock (test_clock) stay for the lookups that
-- know only the customer or the clock (a customer's deletion, a clock's).
CREATE INDEX subscriptions_customer_list ON subscriptions (merchant_id, livemode, customer, created, id);
CREATE INDEX subscriptions_price ON subscriptions (merchant_id, livemode, price, created, id);
CREATE INDEX subscriptions_clock_list ON subscriptions (merchant_id, livemode, test_clock, created, id);
CREATE INDEX subscriptions_status ON subscriptions (merchant_id, livemode, status, created, id);
-- The default list (all but canceled): only the subscriptions that are not canceled, so a merchant
-- with many canceled ones pages through the others without reading past the canceled.
CREATE INDEX subscriptions_open ON subscriptions (merchant_id, livemode, created, id) WHERE status <> 'canceled';
CREATE INDEX invoices_customer ON invoices (merchant_id, livemode, customer, created, id);
CREATE INDEX invoices_subscription ON invoices (merchant_id, livemode, subscription, created, id);
CREATE INDEX invoices_status ON invoices (merchant_id, livemode, status, created, id);
CREATE INDEX checkout_sessions_status ON checkout_sessions (merchant_id, livemode, status, created, id);
CREATE INDEX checkout_sessions_customer ON checkout_sessions (merchant_id, livemode, customer, created, id);
CREATE INDEX webhook_deliveries_endpoint_status ON webhook_deliveries (endpoint_id, status, created, id);
PRAGMA optimize;
