/* The SQL of `query-service rebuild`: the shadow schema and the server-side helpers that create,
 * lock and swap in its tables. Not prepared: it names a schema that exists only during a rebuild.
 */
#ifndef QUERY_REBUILD_SQL_H
#define QUERY_REBUILD_SQL_H

#define REBUILD_SCHEMA "orderly_rebuild"

/* Only one rebuild at a time; the session lock goes with a killed rebuild. */
#define REBUILD_LOCK_SQL "SELECT pg_try_advisory_lock(4242000002)"

#define REBUILD_LIVE_SCHEMA_SQL "SELECT current_schema()"

/* The shadow tables shadow the live ones on this session only: every prepared statement of the
 * projector resolves rm_* and projections here, and events in the live schema. */
#define REBUILD_SEARCH_PATH_SQL                                                                    \
    "SELECT set_config('search_path', '" REBUILD_SCHEMA ", ' || quote_ident($1), false)"

/* read_tables: the projection's tables (every rm_* table, as 0003 grants them), in the order the
 * projector's batch touches them (project_batch.c: rm_orders, rm_accounts, then the deltas):
 * locking in that order means a batch in flight and the swap cannot deadlock.
 * create_shadow: empty copies with every index, default and check, and a checkpoint row at 0. */
#define REBUILD_SETUP_SQL                                                                          \
    "DROP SCHEMA IF EXISTS " REBUILD_SCHEMA " CASCADE;\n"                                          \
    "CREATE SCHEMA " REBUILD_SCHEMA ";\n"                                                          \
    "CREATE FUNCTION " REBUILD_SCHEMA ".read_tables(live text) RETURNS SETOF text "                \
    "LANGUAGE sql STABLE AS $f$ "                                                                  \
    "SELECT tablename::text FROM pg_tables WHERE schemaname = live AND tablename LIKE 'rm\\_%' "   \
    "ORDER BY tablename <> 'rm_orders', tablename <> 'rm_accounts', tablename $f$;\n"              \
    "CREATE FUNCTION " REBUILD_SCHEMA ".create_shadow(live text) RETURNS void "                    \
    "LANGUAGE plpgsql AS $f$ DECLARE t text; BEGIN "                                               \
    "FOR t IN SELECT " REBUILD_SCHEMA ".read_tables(live) UNION ALL SELECT 'projections' LOOP "    \
    "EXECUTE format('CREATE TABLE " REBUILD_SCHEMA                                                 \
    ".%I (LIKE %I.%I INCLUDING ALL)', t, live, t); "                                               \
    "END LOOP; "                                                                                   \
    "INSERT INTO " REBUILD_SCHEMA                                                                  \
    ".projections (name) VALUES ('read_model'); END $f$;\n" REBUILD_LOCK_LIVE_FN REBUILD_SWAP_FN

/* Pauses the live projector and readers: its next batch waits on the tables, its checkpoint
 * update on projections. Returns the live checkpoint (0 when the row is missing). */
#define REBUILD_LOCK_LIVE_FN                                                                       \
    "CREATE FUNCTION " REBUILD_SCHEMA ".lock_live(live text) RETURNS bigint "                      \
    "LANGUAGE plpgsql AS $f$ DECLARE t text; p bigint; BEGIN "                                     \
    "FOR t IN SELECT " REBUILD_SCHEMA ".read_tables(live) LOOP "                                   \
    "EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', live, t); END LOOP; "             \
    "EXECUTE format('LOCK TABLE %I.projections IN EXCLUSIVE MODE', live); "                        \
    "EXECUTE format('SELECT position FROM %I.projections WHERE name = ''read_model''', live) "     \
    "INTO p; RETURN coalesce(p, 0); END $f$;\n"

/* Replaces each live table by its shadow under the old table's owner, grants and index names
 * (a later migration may name an index), then moves the checkpoint, creating a missing row.
 * Indexes are matched by their definition after the name and table. */
#define REBUILD_SWAP_FN                                                                            \
    "CREATE FUNCTION " REBUILD_SCHEMA ".swap_in(live text, pos bigint) RETURNS void "              \
    "LANGUAGE plpgsql AS $f$ DECLARE t text; rel regclass; own text; acl aclitem[]; "              \
    "names jsonb; ix record; g record; BEGIN "                                                     \
    "FOR t IN SELECT " REBUILD_SCHEMA ".read_tables(live) LOOP "                                   \
    "rel := format('%I.%I', live, t)::regclass; "                                                  \
    "SELECT relowner::regrole::text, relacl INTO own, acl FROM pg_class WHERE oid = rel; "         \
    "SELECT coalesce(jsonb_object_agg(" REBUILD_INDEX_KEY ", c.relname), '{}') INTO names "        \
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = rel; "             \
    "EXECUTE format('DROP TABLE %I.%I', live, t); "                                                \
    "EXECUTE format('ALTER TABLE " REBUILD_SCHEMA ".%I SET SCHEMA %I', t, live); "                 \
    "rel := format('%I.%I', live, t)::regclass; "                                                  \
    "FOR ix IN SELECT c.relname, " REBUILD_INDEX_KEY " AS k FROM pg_index i "                      \
    "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = rel LOOP "                         \
    "IF names ? ix.k AND names->>ix.k <> ix.relname THEN "                                         \
    "EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', live, ix.relname, names->>ix.k); "           \
    "END IF; END LOOP; "                                                                           \
    "EXECUTE format('ALTER TABLE %I.%I OWNER TO %s', live, t, own); "                              \
    "FOR g IN SELECT a.privilege_type, a.is_grantable, "                                           \
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS who "              \
    "FROM aclexplode(acl) a WHERE a.grantee::regrole::text IS DISTINCT FROM own LOOP "             \
    "EXECUTE format('GRANT %s ON %I.%I TO %s', g.privilege_type, live, t, g.who) || "              \
    "CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END; END LOOP; END LOOP; "         \
    "EXECUTE format('INSERT INTO %I.projections AS p (name, position, updated_at) "                \
    "VALUES (''read_model'', $1, now()) ON CONFLICT (name) DO UPDATE SET position = $1, "          \
    "status = ''running'', error = NULL, updated_at = now()', live) USING pos; "                   \
    "PERFORM pg_notify('orderly_projection', pos::text); END $f$;\n"

#define REBUILD_INDEX_KEY                                                                          \
    "i.indisunique::text || substring(pg_get_indexdef(i.indexrelid) from ' USING .*$')"

#define REBUILD_CREATE_SQL "SELECT " REBUILD_SCHEMA ".create_shadow($1)"
#define REBUILD_LOCK_LIVE  "SELECT " REBUILD_SCHEMA ".lock_live($1)"
#define REBUILD_SWAP_IN    "SELECT " REBUILD_SCHEMA ".swap_in($1, $2)"
#define REBUILD_DROP_SQL   "DROP SCHEMA " REBUILD_SCHEMA " CASCADE"

#endif
