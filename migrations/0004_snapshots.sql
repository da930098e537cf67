-- Aggregate snapshots for the command side (and bounded temporal reads on the query side): at
-- most one per stream, a cache that can be deleted at any time without changing any answer.

CREATE TABLE snapshots (
    stream_id        text        PRIMARY KEY,
    version          bigint      NOT NULL CHECK (version > 0),
    -- The code's state encoding (SNAPSHOT_SCHEMA in common/codec/snapshot_codec.h); a row of
    -- another schema is ignored, never decoded on trust.
    snapshot_schema  integer     NOT NULL,
    state            jsonb       NOT NULL,
    -- The latest recorded_at among the stream's events 1..version: ?as_of=T may start from this
    -- snapshot only when every event it folds was recorded at or before T.
    last_recorded_at timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE snapshots IS 'orderly aggregate snapshots: a cache of folded stream state';

-- The write side reads, writes and replaces snapshots; DELETE lets an operator's script running
-- as the service role clear them. The read side only reads them (temporal queries).
GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots TO orderly_command;
GRANT SELECT ON snapshots TO orderly_query;
