-- One description per view: since 0007 the document (doc) holds every field of an order or an
-- account view, rendered from one field table (common/codec/view_codec.c), and the projector
-- reads its state back from it. The columns kept are the ones a statement filters, orders or
-- looks up by (the indexes of 0002), the keyset position and the version (the ETag); the
-- projector fills them from the document in the same statement (ST_PROJ_*_SAVE). A field no
-- query filters on is added to the domain and the field table, and to no table here.

ALTER TABLE rm_orders
    DROP COLUMN currency,
    DROP COLUMN items,
    DROP COLUMN total_cents,
    DROP COLUMN paid_cents,
    DROP COLUMN refunded_cents,
    DROP COLUMN account_id,
    DROP COLUMN carrier,
    DROP COLUMN tracking_number,
    DROP COLUMN cancel_reason,
    DROP COLUMN placed_at,
    DROP COLUMN updated_at;

ALTER TABLE rm_accounts
    DROP COLUMN currency,
    DROP COLUMN balance_cents,
    DROP COLUMN overdraft_limit_cents,
    DROP COLUMN status,
    DROP COLUMN opened_at,
    DROP COLUMN updated_at;
