-- The admin's list of merchants pages by (created, id) (next_cursor; it answered the newest 100 with
-- has_more false).
CREATE INDEX merchants_list ON merchants (created, id);
PRAGMA optimize;
