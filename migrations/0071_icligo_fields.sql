-- Seed 003's descriptive fields get storage of their own in an intent's record (`icligo`, written
-- only by that surface's create), so that a /v1 metadata update can no longer forge or rewrite what
-- seed 003 answers. The payments it made before kept them in their metadata only: their rows get the
-- record's field from those keys, as they read today (src/core/icligo-fields.ts does the same for a
-- record loaded by a payment's object, and for a row a writer from before this left).
UPDATE payment_intents SET data = json_set(data, '$.icligo', json_object(
  'productId', json_extract(data, '$.metadata.productId'),
  'productType', json_extract(data, '$.metadata.productType'),
  'company', json_extract(data, '$.metadata.company'),
  'microsite', json_extract(data, '$.metadata.microsite'),
  'country', json_extract(data, '$.metadata.country')
)) WHERE json_extract(data, '$.createdVia') = 'icligo' AND json_type(data, '$.icligo') IS NULL;
