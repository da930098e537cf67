-- GET /v1/customers/{id} serves the bytes of doc, as the order and account GETs do (0007). A
-- batch adds a customer's deltas in SQL (ST_PROJ_CUSTOMERS_ADD) and never holds the totals, so
-- the document is a stored generated column: PostgreSQL renders it from the row's sums in the
-- statement that changes them, and a rebuild's shadow copy (LIKE ... INCLUDING ALL) carries it.
-- The bytes are the ones jansson wrote from these columns before: compact, in this key order,
-- last_order_at as RFC 3339 UTC with milliseconds. Ids are [A-Za-z0-9_-] (names.c), so
-- to_json has nothing to escape in them.
-- IMMUTABLE, as a generated column requires: the text depends on the arguments alone (a UTC
-- time in a fixed numeric format, no locale-dependent field).
CREATE FUNCTION rm_customer_doc(id text, orders bigint, open bigint, spend bigint,
                                last_at timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{"customer_id":' || to_json(id)::text || ',"order_count":' || orders
    || ',"open_order_count":' || open || ',"lifetime_spend_cents":' || spend
    || ',"last_order_at":'
    || coalesce('"' || to_char(last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"',
                'null')
    || '}';

ALTER TABLE rm_customers ADD COLUMN doc text NOT NULL
    GENERATED ALWAYS AS (rm_customer_doc(customer_id, order_count, open_order_count,
                                         lifetime_spend_cents, last_order_at)) STORED;

-- GET /v1/stats/revenue: each day's row carries its document the same way, and an answer is
-- {"days":[ + the documents, joined by , + ]}.
CREATE FUNCTION rm_revenue_doc(day date, currency text, paid bigint, revenue bigint,
                               refunds bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{"date":"' || to_char(day, 'YYYY-MM-DD') || '","currency":' || to_json(currency)::text
    || ',"orders_paid":' || paid || ',"revenue_cents":' || revenue || ',"refunds_cents":'
    || refunds || '}';

ALTER TABLE rm_revenue_daily ADD COLUMN doc text NOT NULL
    GENERATED ALWAYS AS (rm_revenue_doc(day, currency, orders_paid, revenue_cents,
                                        refunds_cents)) STORED;
