-- Stripe's SetupIntent.next_action: a setup whose card asks for 3D Secure waits in requires_action
-- for its customer's answer on the sandbox's challenge page (src/pages/setup-threeds.ts). JSON of where
-- that page is served (the origin) and the confirmation's return_url; the address itself is made when
-- the setup is rendered (it carries the client secret, an HMAC of the id, never stored), and only in
-- requires_action. Null until a challenge is asked; the latest one is kept after its answer, so that its
-- page still leads back to the return_url. Adding a nullable column rewrites no row.
ALTER TABLE `setup_intents` ADD `next_action` text;
