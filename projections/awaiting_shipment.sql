-- Orders awaiting shipment: paid, neither shipped nor cancelled, the longest-waiting payment
-- first -- the shipping desk's queue. GET /v1/views/awaiting_shipment?customer_id=alice
-- (docs/views.md walks through this file).

-- Orders placed and not paid yet: what OrderPaid needs to know about its order. An order
-- leaves when it is paid or cancelled.
CREATE TABLE placed_orders (
    order_id    text PRIMARY KEY,
    customer_id text NOT NULL,
    currency    text NOT NULL,
    total_cents bigint NOT NULL,
    placed_at   timestamptz NOT NULL
);

-- The view: one row per paid order until it ships or is cancelled.
CREATE TABLE awaiting_shipment (
    order_id    text PRIMARY KEY,
    customer_id text NOT NULL,
    account_id  text NOT NULL,      -- the account that paid
    currency    text NOT NULL,
    total_cents bigint NOT NULL,
    paid_cents  bigint NOT NULL,
    placed_at   timestamptz NOT NULL,
    paid_at     timestamptz NOT NULL
);
-- The list order (paid_at, then the key), whole and per customer: a page is one index range.
CREATE INDEX awaiting_shipment_by_age ON awaiting_shipment (paid_at, order_id);
CREATE INDEX awaiting_shipment_by_customer ON awaiting_shipment (customer_id, paid_at, order_id);

-- An order's events come in its stream's order (placed, then paid, then shipped or
-- cancelled); a cancellation can also come before any payment.
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    id text := e.data->>'order_id';
BEGIN
    CASE e.type
    WHEN 'OrderPlaced' THEN
        INSERT INTO placed_orders (order_id, customer_id, currency, total_cents, placed_at)
        VALUES (id, e.data->>'customer_id', e.data->>'currency',
                (e.data->>'total_cents')::bigint, e.recorded_at);
    WHEN 'OrderPaid' THEN
        INSERT INTO awaiting_shipment (order_id, customer_id, account_id, currency, total_cents,
                                       paid_cents, placed_at, paid_at)
        SELECT o.order_id, o.customer_id, e.data->>'account_id', o.currency, o.total_cents,
               (e.data->>'amount_cents')::bigint, o.placed_at, e.recorded_at
        FROM placed_orders o WHERE o.order_id = id;
        DELETE FROM placed_orders WHERE order_id = id;
    WHEN 'OrderShipped', 'OrderCancelled' THEN
        DELETE FROM awaiting_shipment WHERE order_id = id;
        DELETE FROM placed_orders WHERE order_id = id;
    END CASE;
END
$$;

SELECT orderly_view_declare(
    event_types    => ARRAY['OrderPlaced', 'OrderPaid', 'OrderShipped', 'OrderCancelled'],
    view_table     => 'awaiting_shipment',
    key_columns    => ARRAY['order_id'],
    filter_columns => ARRAY['customer_id', 'account_id', 'currency'],
    order_columns  => ARRAY['paid_at']);
