-- The server-side steps of `query-service rebuild` (query-service/rebuild.c, README "Rebuilding
-- a projection with no downtime"): create the shadow tables, strip and restore their indexes
-- around the bulk fill, pause the live projector, swap the shadow tables in. Each rebuild used
-- to create them from C strings in its throwaway schema; they are schema, so they live here.
--
-- Every function takes the schemas it works on (shadow: the rebuild's throwaway schema, live:
-- the read tables') and the projection's name as arguments: rebuild.c names each once.
-- SECURITY INVOKER (the default): they do only what their caller may do anyway. The rebuild runs
-- as the migrating role (it creates a schema, which orderly_query may not), which owns them;
-- nobody else may call them (EXECUTE is revoked from PUBLIC at the end): orderly_query owns the
-- read tables and could otherwise lock them or swap them away through these functions.

-- The projection's tables (every rm_* table of live, as 0003 grants them) in the order the
-- projector's batch touches them (project_batch.c: rm_orders, rm_accounts, then the deltas):
-- locking in that order means a batch in flight and the swap cannot deadlock.
CREATE FUNCTION rebuild_read_tables(live text) RETURNS SETOF text
    LANGUAGE sql STABLE AS $$
    SELECT tablename::text
    FROM pg_tables
    WHERE schemaname = live AND tablename LIKE 'rm\_%'
    ORDER BY tablename <> 'rm_orders', tablename <> 'rm_accounts', tablename
$$;

-- An index's definition after its name and table (" USING btree (customer_id)"): how an index
-- of a shadow table is matched to the live one, whose name it cannot share in one schema.
CREATE FUNCTION rebuild_index_body(ix oid) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT substring(pg_get_indexdef(ix) FROM ' USING .*$')
$$;

-- The indexes of rel that no constraint owns (a primary key or unique constraint owns its
-- index, and the batch upserts on those): the bulk fill drops them from the shadow tables and
-- builds them once after it.
CREATE FUNCTION rebuild_plain_indexes(rel regclass)
    RETURNS TABLE (index_name name, uniq boolean, body text)
    LANGUAGE sql STABLE AS $$
    SELECT c.relname, i.indisunique, rebuild_index_body(i.indexrelid)
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = rel
      AND NOT EXISTS (SELECT 1
                      FROM pg_constraint k
                      WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid)
$$;

-- Empty copies in shadow of the read tables and of projections, with every index, default and
-- check, and the projection's checkpoint row at 0.
CREATE FUNCTION rebuild_create_shadow(shadow text, live text, projection text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) UNION ALL SELECT 'projections' LOOP
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING ALL)', shadow, t, live, t);
    END LOOP;
    EXECUTE format('INSERT INTO %I.projections (name) VALUES ($1)', shadow) USING projection;
END
$$;

-- Before the bulk fill: the shadow tables unlogged, with only their constraints' indexes.
-- Only shadow is touched, so a kill at any instant leaves the live tables as they were.
CREATE FUNCTION rebuild_bulk_start(shadow text, live text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    ix record;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        FOR ix IN SELECT * FROM rebuild_plain_indexes(format('%I.%I', shadow, t)::regclass) LOOP
            EXECUTE format('DROP INDEX %I.%I', shadow, ix.index_name);
        END LOOP;
        EXECUTE format('ALTER TABLE %I.%I SET UNLOGGED', shadow, t);
    END LOOP;
END
$$;

-- After the bulk fill: the shadow tables logged and indexed as the live ones are, each index
-- built once from the live table's definition under the live index's name.
CREATE FUNCTION rebuild_bulk_finish(shadow text, live text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    ix record;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        EXECUTE format('ALTER TABLE %I.%I SET LOGGED', shadow, t);
        FOR ix IN SELECT * FROM rebuild_plain_indexes(format('%I.%I', live, t)::regclass) LOOP
            EXECUTE format('CREATE %sINDEX %I ON %I.%I',
                           CASE WHEN ix.uniq THEN 'UNIQUE ' ELSE '' END, ix.index_name,
                           shadow, t) || ix.body;
        END LOOP;
    END LOOP;
END
$$;

-- Pauses the live projector and readers until the caller's transaction ends: the projector's
-- next batch waits on the tables, its checkpoint update on projections. Returns the live
-- checkpoint (0 when the row is missing).
CREATE FUNCTION rebuild_lock_live(live text, projection text) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    p bigint;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', live, t);
    END LOOP;
    EXECUTE format('LOCK TABLE %I.projections IN EXCLUSIVE MODE', live);
    EXECUTE format('SELECT position FROM %I.projections WHERE name = $1', live)
        INTO p USING projection;
    RETURN coalesce(p, 0);
END
$$;

-- Replaces the live table t by its shadow under the old table's owner, grants and index names
-- (a later migration may name an index). Indexes are matched by uniqueness and definition.
-- Column-level grants are not carried over.
CREATE FUNCTION rebuild_swap_table(shadow text, live text, t text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    rel regclass := format('%I.%I', live, t)::regclass;
    own text;
    acl aclitem[];
    names jsonb;
    ix record;
    g record;
BEGIN
    SELECT relowner::regrole::text, relacl INTO own, acl FROM pg_class WHERE oid = rel;
    SELECT coalesce(jsonb_object_agg(i.indisunique::text || rebuild_index_body(i.indexrelid),
                                     c.relname), '{}')
    INTO names
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = rel;

    EXECUTE format('DROP TABLE %I.%I', live, t);
    EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', shadow, t, live);
    rel := format('%I.%I', live, t)::regclass;

    FOR ix IN SELECT c.relname, i.indisunique::text || rebuild_index_body(i.indexrelid) AS k
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = rel LOOP
        IF names ? ix.k AND names->>ix.k <> ix.relname THEN
            EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', live, ix.relname, names->>ix.k);
        END IF;
    END LOOP;

    EXECUTE format('ALTER TABLE %I.%I OWNER TO %s', live, t, own);
    FOR g IN SELECT a.privilege_type, a.is_grantable,
                    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS who
             FROM aclexplode(acl) a
             WHERE a.grantee::regrole::text IS DISTINCT FROM own LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', g.privilege_type, live, t, g.who)
                || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
    END LOOP;
END
$$;

-- Swaps every read table in, then moves the projection's checkpoint to pos, creating a
-- missing row. Run inside the transaction that took rebuild_lock_live; the caller notifies
-- the projectors (project_batch.c's statement) in that transaction too.
CREATE FUNCTION rebuild_swap_in(shadow text, live text, projection text, pos bigint)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        PERFORM rebuild_swap_table(shadow, live, t);
    END LOOP;
    EXECUTE format('INSERT INTO %I.projections AS p (name, position, updated_at) '
                   'VALUES ($1, $2, now()) '
                   'ON CONFLICT (name) DO UPDATE '
                   'SET position = $2, status = ''running'', error = NULL, updated_at = now()',
                   live)
        USING projection, pos;
END
$$;

REVOKE ALL ON FUNCTION
    rebuild_read_tables(text),
    rebuild_index_body(oid),
    rebuild_plain_indexes(regclass),
    rebuild_create_shadow(text, text, text),
    rebuild_bulk_start(text, text),
    rebuild_bulk_finish(text, text),
    rebuild_lock_live(text, text),
    rebuild_swap_table(text, text, text),
    rebuild_swap_in(text, text, text, bigint)
FROM PUBLIC;
