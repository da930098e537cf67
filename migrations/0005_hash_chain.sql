-- The tamper-evident audit trail: every event stores a sha256 hash chained to the previous
-- event of its stream, computed by the database so that plain-SQL inserts are chained too.
--
-- hash = sha256(prev_hash || utf8(jsonb_build_array(stream_id, stream_version, type,
--                                                   schema_version, data, metadata,
--                                                   recorded_at as epoch microseconds)::text))
-- prev_hash is the hash of (stream_id, stream_version - 1), or 32 zero bytes for version 1.
-- jsonb's text form is canonical (key order, spacing) and JSON escaping makes the array
-- unambiguous, so the same content always gives the same bytes, also after a dump and restore.
-- The query service recomputes the chain with its own copy of this encoding
-- (query-service/statements.h, SQL_CHAIN_HASH): keep the two identical.
--
-- Why per stream and not one global chain: a stream is appended one version at a time
-- (events_stream_version_key), so the previous link is already fixed when a row is inserted and
-- no lock beyond the unique index is needed. A global chain would serialize every append.
-- What it cannot see: a rewrite of a whole stream tail with recomputed hashes, or a deleted last
-- event. Anchoring stream heads outside the database (README, "Audit trail") closes that.

ALTER TABLE events ADD COLUMN hash bytea;

COMMENT ON COLUMN events.hash IS
    'sha256 over the canonical content and the previous event''s hash in the stream';

-- The array text is spelled out with concat() instead of jsonb_build_array(...)::text: the bytes
-- are identical (to_json and jsonb escape strings alike, data and metadata print as jsonb), but
-- building a jsonb array copies both documents first and made the trigger ~4x more expensive
-- (bench/README.md, "The hash chain").
CREATE FUNCTION events_chain_hash(prev bytea, stream_id text, stream_version bigint, type text,
                                  schema_version integer, data jsonb, metadata jsonb,
                                  recorded_at timestamptz)
    RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                  || convert_to(concat('[', to_json(stream_id), ', ', stream_version, ', ',
                                       to_json(type), ', ', schema_version, ', ', data, ', ',
                                       metadata, ', ',
                                       (extract(epoch FROM recorded_at) * 1000000)::bigint, ']'),
                                'UTF8'))
$$;

-- One-time backfill of the rows already present, in stream order, carrying the previous hash
-- in a variable. The immutability trigger is off for this one UPDATE pass only, inside the
-- migration's transaction (ALTER TABLE holds an exclusive lock until it commits, so no append
-- can slip in unhashed or see the trigger disabled).
ALTER TABLE events DISABLE TRIGGER events_no_update_delete;

DO $$
DECLARE
    r record;
    last_stream text := NULL;
    prev bytea := NULL;
BEGIN
    FOR r IN SELECT position, stream_id, stream_version, type, schema_version, data, metadata,
                    recorded_at
             FROM events ORDER BY stream_id, stream_version LOOP
        IF last_stream IS DISTINCT FROM r.stream_id THEN
            prev := NULL;
            last_stream := r.stream_id;
        END IF;
        prev := events_chain_hash(prev, r.stream_id, r.stream_version, r.type,
                                  r.schema_version, r.data, r.metadata, r.recorded_at);
        UPDATE events SET hash = prev WHERE position = r.position;
    END LOOP;
END
$$;

ALTER TABLE events ENABLE TRIGGER events_no_update_delete;

ALTER TABLE events ALTER COLUMN hash SET NOT NULL;

-- Row triggers see the rows their own statement inserted before (the services append several
-- events in one INSERT ... SELECT), so a second event of one stream in one statement still
-- finds its predecessor. A missing predecessor (a plain-SQL insert that skips a version)
-- chains from zero and `verify` reports that row as broken.
CREATE FUNCTION events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    IF NEW.stream_version > 1 THEN
        SELECT e.hash INTO prev FROM events e
        WHERE e.stream_id = NEW.stream_id AND e.stream_version = NEW.stream_version - 1;
    END IF;
    NEW.hash := events_chain_hash(prev, NEW.stream_id, NEW.stream_version, NEW.type,
                                  NEW.schema_version, NEW.data, NEW.metadata, NEW.recorded_at);
    RETURN NEW;
END
$$;

-- Row triggers of one event fire in name order: the "zz" makes this the last BEFORE INSERT row
-- trigger, so it hashes the row exactly as it will be stored, whatever an earlier one changed.
-- A client-supplied hash is always overwritten.
CREATE TRIGGER events_zz_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_chain();
