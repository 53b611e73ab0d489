-- A webhook endpoint's secrets rolled earlier and still within their overlap: rolling again while an
-- overlap runs used to drop the oldest secret at once, so a receiver still verifying with it (its new
-- secret not deployed yet, or the answer of the first roll lost) failed every delivery. A JSON array of
-- {"secret": <sealed, as secret is>, "expires": <ms>}, newest first; each keeps its own expiry.
ALTER TABLE `webhook_endpoints` ADD COLUMN `older_secrets` text;
