-- The query side's read model: one table per view, fed only by the projector, and the
-- projector's checkpoint, moved in the same transaction as the rows it describes.

-- One row per projection. position: every event with position <= it is applied (and none
-- above it). status: 'running' or 'failed' (error says why; the projector stopped there).
CREATE TABLE projections (
    name       text PRIMARY KEY,
    position   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz,
    status     text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'failed')),
    error      text
);

INSERT INTO projections (name) VALUES ('read_model');

-- GET /v1/orders/{id}: every field of the view. Text fields absent in the view are NULL.
-- placed_position (the OrderPlaced event's position) orders lists newest first and is the
-- keyset of their cursors.
CREATE TABLE rm_orders (
    order_id        text PRIMARY KEY,
    customer_id     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('placed', 'paid', 'shipped', 'cancelled')),
    currency        text NOT NULL,
    items           jsonb NOT NULL,
    total_cents     bigint NOT NULL,
    paid_cents      bigint NOT NULL DEFAULT 0,
    refunded_cents  bigint NOT NULL DEFAULT 0,
    account_id      text,
    carrier         text,
    tracking_number text,
    cancel_reason   text,
    placed_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         bigint NOT NULL,
    placed_position bigint NOT NULL UNIQUE
);

-- ?customer_id=, ?status= and both; the unique index serves the unfiltered list.
CREATE INDEX rm_orders_customer ON rm_orders (customer_id, placed_position DESC);
CREATE INDEX rm_orders_status ON rm_orders (status, placed_position DESC);
CREATE INDEX rm_orders_customer_status ON rm_orders (customer_id, status, placed_position DESC);

CREATE TABLE rm_accounts (
    account_id            text PRIMARY KEY,
    owner                 text NOT NULL,
    currency              text NOT NULL,
    balance_cents         bigint NOT NULL,
    overdraft_limit_cents bigint NOT NULL,
    status                text NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at             timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               bigint NOT NULL,
    opened_position       bigint NOT NULL UNIQUE
);

CREATE INDEX rm_accounts_owner ON rm_accounts (owner, opened_position DESC);

-- open_order_count: orders placed or paid (neither shipped nor cancelled).
-- lifetime_spend_cents: paid minus refunded.
CREATE TABLE rm_customers (
    customer_id          text PRIMARY KEY,
    order_count          bigint NOT NULL DEFAULT 0,
    open_order_count     bigint NOT NULL DEFAULT 0,
    lifetime_spend_cents bigint NOT NULL DEFAULT 0,
    last_order_at        timestamptz
);

-- OrderPaid counts on the UTC day of its recorded_at; a refund on the day of the
-- OrderCancelled that refunded it.
CREATE TABLE rm_revenue_daily (
    day           date   NOT NULL,
    currency      text   NOT NULL,
    orders_paid   bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    refunds_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, currency)
);
