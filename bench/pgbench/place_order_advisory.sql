-- place_order.sql with one global advisory lock around the append (the rejected design).
\set n random(1, 9000000000000000)
SELECT stream_id, stream_version FROM events WHERE stream_id = ANY(ARRAY['order-a' || :n || '-' || :client_id]);
BEGIN;
SELECT pg_advisory_xact_lock(42);
INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata) VALUES ('order-a' || :n || '-' || :client_id, 1, 'OrderPlaced', 1, ('{"order_id":"a' || :n || '","customer_id":"c1","currency":"EUR","items":[{"sku":"SKU-1","quantity":2,"unit_price_cents":1250}],"total_cents":2500}')::jsonb, '{"command_id":"3f1c2a9e-9d3b-4a57-8f0e-0d6a4c1b2e77","command_type":"PlaceOrder","correlation_id":"0e8b7c6d-5a4f-4e3d-9c2b-1a0f9e8d7c6b","causation_id":"3f1c2a9e-9d3b-4a57-8f0e-0d6a4c1b2e77","actor":"anonymous"}'::jsonb) RETURNING position;
COMMIT;
