-- Products (Stripe's /v1/products): what a price is the price of. A price points at its product;
-- prices made before products existed keep product NULL (rendered with the product name they carry).
CREATE TABLE products (
  id TEXT PRIMARY KEY NOT NULL,
  merchant_id TEXT NOT NULL,
  livemode INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  active INTEGER NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE INDEX products_list ON products (merchant_id, livemode, created, id);
ALTER TABLE prices ADD COLUMN product TEXT;
CREATE INDEX prices_product ON prices (product, created);
