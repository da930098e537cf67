/* Every SQL statement of the write side, in the X(id, nparams, sql) shape the query side's
 * table has too; store.c turns it into its db_statement table, prepared by name on first use.
 * Call sites use the enum; no SQL is built at run time. Macros only (bench/tools prints them). */
#ifndef ORDERLY_STATEMENTS_H
#define ORDERLY_STATEMENTS_H

#include "event_sql.h" /* relative: bench/tools builds without -I common */

/* The appends' guard: none of the versions the input proposes (alias: a row of input) is
 * committed yet, checked with one index probe per row; LATERAL ... LIMIT 1 keeps the plan from
 * hash-joining a scan of events, which the generic plan of a plain join chose. */
#define SQL_NONE_TAKEN(alias, stream, version)                                                     \
    "NOT EXISTS (SELECT FROM input " alias ", LATERAL (SELECT FROM events x"                       \
    " WHERE x.stream_id = " stream " AND x.stream_version >= " version " LIMIT 1) taken)"

/* One statement: the events, the success body (rendered here so the stored copy and the answer
 * are the same bytes, positions included), the idempotency row, and an account key: inserted
 * with the AccountOpened it sealed ($11, $12 hex), deleted with the PersonalDataForgotten ($13).
 * Data-modifying CTEs run even when nothing reads them. A version another writer has already
 * committed (a state decided over is stale) makes the statement write nothing and return no
 * row: no event, no key, and no position taken from the sequence, so a stale state costs no gap
 * (store.c answers ERR_CONFLICT, as for a unique violation). One in flight still meets the
 * unique index as before. */
#define SQL_APPEND                                                                                 \
    "WITH input AS ("                                                                              \
    "  SELECT e, n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(e, n)"                \
    "), ev AS ("                                                                                   \
    "  INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"       \
    "  SELECT e->>'stream_id', (e->>'stream_version')::bigint, e->>'type',"                        \
    "         (e->>'schema_version')::int, e->'data', $2::jsonb"                                   \
    "  FROM input WHERE " SQL_NONE_TAKEN(                                                          \
        "i", "i.e->>'stream_id'",                                                                  \
        "(i.e->>'stream_version')::bigint") "  ORDER BY n"                                         \
                                            "  RETURNING position, stream_id, stream_version, "    \
                                            "type"                                                 \
                                            "), body AS ("                                         \
                                            "  SELECT concat('{\"stream_id\":', "                  \
                                            "to_json($3::text), ',\"id\":', to_json($4::text),"    \
                                            "    ',\"version\":', $5::bigint, ',\"position\":', "  \
                                            "max(position), ',\"events\":[',"                      \
                                            "    string_agg(concat('{\"type\":', to_json(type), "  \
                                            "',\"stream_id\":', to_json(stream_id),"               \
                                            "      ',\"version\":', stream_version, "              \
                                            "',\"position\":', position, '}'), ','"                \
                                            "      ORDER BY position), ']}') AS text FROM ev "     \
                                            "HAVING count(*) > 0"                                  \
                                            "), idem AS ("                                         \
                                            "  INSERT INTO idempotency_keys"                       \
                                            "    (key, request_hash, status, location, etag, "     \
                                            "content_type, body)"                                  \
                                            "  SELECT $6::text, md5($7::text), $8::int, "          \
                                            "$9::text, $10::text, 'application/json', text"        \
                                            "  FROM body WHERE $6::text IS NOT NULL"               \
                                            "), key_new AS ("                                      \
                                            "  INSERT INTO account_keys (account_id, key)"         \
                                            "  SELECT $11::text, decode($12::text, 'hex') FROM "   \
                                            "body WHERE $11::text IS NOT NULL"                     \
                                            "), key_gone AS ("                                     \
                                            "  DELETE FROM account_keys WHERE account_id = "       \
                                            "$13::text AND EXISTS (SELECT FROM body)"              \
                                            ")"                                                    \
                                            " SELECT text FROM body"

/* A run of commands on one stream in one statement (issue 15): per command ($1-$10, arrays by
 * command index k) its success body, idempotency row and metadata; per event ($11-$16, in append
 * order) its command, stream, version, type, schema and data. Each body is rendered as
 * SQL_APPEND renders a lone command's, so an answer does not depend on its company. No account
 * keys: commands that write them are never batched. Guarded as SQL_APPEND: one stale stream
 * writes nothing for any command. */
#define SQL_APPEND_BATCH                                                                           \
    "WITH cmd AS ("                                                                                \
    "  SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::text[],"          \
    "    $6::text[], $7::int[], $8::text[], $9::text[], $10::jsonb[])"                             \
    "    AS c(k, stream_id, id, version, key, request_text, status, location, etag, metadata)"     \
    "), input AS ("                                                                                \
    "  SELECT * FROM unnest($11::int[], $12::text[], $13::bigint[], $14::text[], $15::int[],"      \
    "    $16::jsonb[]) WITH ORDINALITY"                                                            \
    "    AS i(k, stream_id, stream_version, type, schema_version, data, n)"                        \
    "), ev AS ("                                                                                   \
    "  INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"       \
    "  SELECT i.stream_id, i.stream_version, i.type, i.schema_version, i.data, c.metadata"         \
    "  FROM input i JOIN cmd c USING (k) WHERE " SQL_NONE_TAKEN(                                   \
        "s", "s.stream_id",                                                                        \
        "s.stream_version") "  ORDER BY i.n"                                                       \
                            "  RETURNING position, stream_id, stream_version, type"                \
                            "), body AS ("                                                         \
                            "  SELECT c.k, c.key, c.request_text, c.status, c.location, c.etag,"   \
                            "    concat('{\"stream_id\":', to_json(c.stream_id), ',\"id\":', "     \
                            "to_json(c.id),"                                                       \
                            "    ',\"version\":', c.version, ',\"position\":', max(ev.position), " \
                            "',\"events\":[',"                                                     \
                            "    string_agg(concat('{\"type\":', to_json(ev.type), "               \
                            "',\"stream_id\":',"                                                   \
                            "      to_json(ev.stream_id), ',\"version\":', ev.stream_version, "    \
                            "',\"position\":',"                                                    \
                            "      ev.position, '}'), ',' ORDER BY ev.position), ']}') AS text"    \
                            "  FROM ev JOIN input i USING (stream_id, stream_version) JOIN cmd c " \
                            "ON c.k = i.k"                                                         \
                            "  GROUP BY c.k, c.key, c.request_text, c.status, c.location, "        \
                            "c.etag, c.stream_id, c.id,"                                           \
                            "    c.version"                                                        \
                            "), idem AS ("                                                         \
                            "  INSERT INTO idempotency_keys"                                       \
                            "    (key, request_hash, status, location, etag, content_type, body)"  \
                            "  SELECT key, md5(request_text), status, location, etag, "            \
                            "'application/json', text"                                             \
                            "  FROM body WHERE key IS NOT NULL"                                    \
                            ")"                                                                    \
                            " SELECT k, text FROM body ORDER BY k"

/* X(id, nparams, sql) */
#define STORE_STATEMENT_TABLE(X)                                                                   \
    X(STMT_APPEND, 13, SQL_APPEND)                                                                 \
    X(STMT_APPEND_BATCH, 16, SQL_APPEND_BATCH)                                                     \
    X(STMT_IDEM_LOOKUP, 2,                                                                         \
      "SELECT request_hash = md5($2::text), status, coalesce(location, ''),"                       \
      " coalesce(etag, ''), content_type, body FROM idempotency_keys WHERE key = $1")              \
    X(STMT_IDEM_SAVE, 5,                                                                           \
      "INSERT INTO idempotency_keys (key, request_hash, status, content_type, body)"               \
      " VALUES ($1, md5($2::text), $3::int, $4, $5) ON CONFLICT (key) DO NOTHING RETURNING 1")     \
    X(STMT_PING, 0, "SELECT 1")                                                                    \
    X(STMT_EXPIRE, 1,                                                                              \
      "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1::int)")    \
    /* A command's streams ($1, a text[] of ids) from their snapshots of schema $2 (0: none). */   \
    X(STMT_LOAD_SNAP, 2, SQL_SNAPSHOT_TAIL("unnest($1::text[])", "$2::int", "true", "true"))       \
    /* Always replaces: a row that was ignored (garbage, even at a huge version) must not pin the  \
     * stream to full replays. A slower writer may replace a newer snapshot with an older one;     \
     * both are true states, so that only lengthens the next tail. A snapshot is a cache of        \
     * committed events, so its own commit need not wait for the WAL flush: set_config(..., true)  \
     * makes this statement's transaction asynchronous (the setting is in force at its commit). */ \
    X(STMT_SNAPSHOT_SAVE, 5,                                                                       \
      "INSERT INTO snapshots (stream_id, version, snapshot_schema, state, last_recorded_at)"       \
      " SELECT $1, $2::bigint, $3::int, $4::jsonb, " SQL_TS(                                       \
          "$5::bigint") " FROM set_config('synchronous_commit', 'off', true)"                      \
                        " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,"       \
                        " snapshot_schema = excluded.snapshot_schema, state = excluded.state,"     \
                        " last_recorded_at = excluded.last_recorded_at, created_at = now()")       \
    X(STMT_NOTIFY, 0, "SELECT pg_notify('orderly_events', '')")

enum store_stmt {
#define STORE_STMT_ENUM(id, n, sql) id,
    STORE_STATEMENT_TABLE(STORE_STMT_ENUM)
#undef STORE_STMT_ENUM
        STMT__COUNT
};

#endif
