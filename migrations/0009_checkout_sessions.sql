-- Checkout Sessions (/v1/checkout/sessions): a hosted payment page for one payment intent. The
-- session is a D1 object; its money moves only through its payment intent's Durable Object.
-- Times are milliseconds since the epoch; line_items and metadata are JSON.
CREATE TABLE checkout_sessions (
  id TEXT PRIMARY KEY NOT NULL,
  merchant_id TEXT NOT NULL,
  livemode INTEGER NOT NULL,
  status TEXT NOT NULL,
  payment_status TEXT NOT NULL,
  payment_intent TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_subtotal INTEGER NOT NULL,
  amount_total INTEGER NOT NULL,
  line_items TEXT NOT NULL,
  success_url TEXT NOT NULL,
  cancel_url TEXT,
  customer TEXT,
  customer_email TEXT,
  client_reference_id TEXT,
  metadata TEXT DEFAULT '{}' NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER,
  created INTEGER NOT NULL
);
CREATE INDEX checkout_sessions_list ON checkout_sessions (merchant_id, livemode, created, id);
CREATE UNIQUE INDEX checkout_sessions_intent ON checkout_sessions (payment_intent);
CREATE INDEX checkout_sessions_expiry ON checkout_sessions (status, expires_at);
