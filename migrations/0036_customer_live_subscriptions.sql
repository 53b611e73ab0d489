-- A customer may have at most 500 subscriptions that have not ended (Stripe's limit): each create
-- counts them in the statement that inserts it, and deleting the customer cancels them in chunks.
-- This index holds only those, so neither reads the customer's canceled history.
CREATE INDEX subscriptions_customer_live ON subscriptions (customer) WHERE status NOT IN ('canceled', 'incomplete_expired');
PRAGMA optimize;
