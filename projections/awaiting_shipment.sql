-- Orders awaiting shipment: paid, neither shipped nor cancelled, the longest-waiting payment
-- first -- the shipping desk's queue. GET /v1/views/awaiting_shipment?customer_id=alice
-- (docs/views.md walks through this file).

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

-- OrderPaid does not carry the customer, currency, total or placing time: they come from the
-- built-in read model's document of the order (rm_orders.doc, the body of GET /v1/orders/{id}).
-- That row is always there: a handler runs after its batch wrote the read tables, and a view
-- builds only below their checkpoint (docs/views.md, "Reading the read model"). Consuming
-- OrderPlaced instead ran this handler for every order placed, doubling the projection lag
-- under a stream of PlaceOrder (bench/README.md), and kept every unpaid order in a table.
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    id text := e.data->>'order_id';
    placed jsonb;
BEGIN
    IF e.type <> 'OrderPaid' THEN -- shipped or cancelled: no longer waiting
        DELETE FROM awaiting_shipment WHERE order_id = id;
        RETURN;
    END IF;
    SELECT doc::jsonb INTO placed FROM rm_orders WHERE order_id = id;
    IF placed IS NULL THEN
        RAISE EXCEPTION 'order % is paid at position % but not in rm_orders', id, e.position;
    END IF;
    INSERT INTO awaiting_shipment (order_id, customer_id, account_id, currency, total_cents,
                                   paid_cents, placed_at, paid_at)
    VALUES (id, placed->>'customer_id', e.data->>'account_id', placed->>'currency',
            (placed->>'total_cents')::bigint, (e.data->>'amount_cents')::bigint,
            (placed->>'placed_at')::timestamptz, e.recorded_at);
END
$$;

SELECT orderly_view_declare(
    event_types    => ARRAY['OrderPaid', 'OrderShipped', 'OrderCancelled'],
    view_table     => 'awaiting_shipment',
    key_columns    => ARRAY['order_id'],
    filter_columns => ARRAY['customer_id', 'account_id', 'currency'],
    order_columns  => ARRAY['paid_at']);
