-- Stripe's GET /v1/events?delivery_success=false: the events a delivery of which is still pending or
-- has failed, newest first. A delivery carries its event's created (event_created, written with the
-- delivery by the fan-out), so that the undelivered events are a range of webhook_deliveries_undelivered
-- in the events' own order, which holds only the deliveries not (yet) delivered, never the history.
ALTER TABLE webhook_deliveries ADD COLUMN event_created INTEGER;
UPDATE webhook_deliveries SET event_created = (SELECT created FROM events WHERE events.id = webhook_deliveries.event_id);
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (merchant_id, livemode, event_created, event_id, event_type) WHERE status IN ('pending', 'failed');
PRAGMA optimize;
