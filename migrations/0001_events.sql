-- The append-only event log, the write side's idempotency keys, and the notification that
-- wakes the projector for rows inserted by plain SQL.

CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id      text        NOT NULL CHECK (length(stream_id) BETWEEN 1 AND 100),
    stream_version bigint      NOT NULL CHECK (stream_version > 0),
    type           text        NOT NULL,
    schema_version integer     NOT NULL DEFAULT 1,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The inserting transaction, for audits ("which events were written together").
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

COMMENT ON TABLE events IS 'orderly event log: append-only, one row per event';

-- The log is immutable: the database itself refuses changes, even from the table's owner.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Positions become visible out of order when transactions commit out of order. Readers find a
-- safe horizon: they read the sequence's last value L, then take a fresh xid N with
-- pg_current_xact_id(); once a later snapshot's xmin reaches N, every transaction that could
-- hold a position <= L has ended. (A snapshot's xmax would not do: an in-flight transaction
-- may hold an xid at or above it.) That needs every transaction holding a position to have an
-- xid when it takes it, so the xid is assigned before the statement computes any position
-- (see docs/projector.md).
CREATE FUNCTION events_assign_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END
$$;

CREATE TRIGGER events_assign_xid BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_assign_xid();

-- Plain-SQL inserts wake the projector at once. The services' own connections set
-- orderly.internal_writer=on and notify after commit, coalesced, from a separate connection:
-- a NOTIFY inside the append transaction would serialize every commit (see bench/README.md).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orderly_events', '');
    RETURN NULL;
END
$$;

-- The WHEN clause is checked without entering PL/pgSQL, so the services' appends pay nothing.
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT
    WHEN (coalesce(current_setting('orderly.internal_writer', true), '') <> 'on')
    EXECUTE FUNCTION events_notify();

-- Idempotency-Key: the stored first answer, written in the same transaction as the events.
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    location     text,
    etag         text,
    content_type text        NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
