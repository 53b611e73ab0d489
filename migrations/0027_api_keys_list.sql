-- The merchant's API keys are a paged list (limit, starting_after, ending_before) like every other:
-- a range of (merchant_id, livemode, created, id). It replaces api_keys_merchant (merchant_id), which
-- its first column still serves.
DROP INDEX IF EXISTS api_keys_merchant;
CREATE INDEX api_keys_list ON api_keys (merchant_id, livemode, created, id);
PRAGMA optimize;
