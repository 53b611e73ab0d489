-- A key rolled with an overlap keeps working until expires_at (unix ms), then is refused as a revoked
-- one is: clients move to the new key without a moment when neither works. Null: no expiry.
ALTER TABLE `api_keys` ADD COLUMN `expires_at` integer;
