-- Four eyes follows a credential's makers back to a person (credentialMakers). A key rolled by another
-- credential is made by that one (created_by), and it replaces a key someone else made, whose makers
-- still stand behind it: inherits_makers_of names that key (its audit actor, api_key:key_... or
-- application:app_...), so neither the roller nor the old key's maker approves what the new key asks.
ALTER TABLE `api_keys` ADD COLUMN `inherits_makers_of` text;
