-- Who created each credential (the audit actor: jwt:<sub>, api_key:key_..., application:app_...): a
-- refund requested with a key is not approved by the person who made that key, nor by the maker of the
-- key that made it (four eyes). Keys created before this migration have none.
ALTER TABLE `api_keys` ADD COLUMN `created_by` text;
