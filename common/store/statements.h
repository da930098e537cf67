/* Every SQL statement of the write side, prepared by name on each new connection.
 * Call sites use the enum; no SQL is built at run time. */
#ifndef ORDERLY_STATEMENTS_H
#define ORDERLY_STATEMENTS_H

enum stmt {
    STMT_LOAD,
    STMT_APPEND,
    STMT_IDEM_LOOKUP,
    STMT_IDEM_SAVE,
    STMT_EXPIRE,
    STMT_LOAD_SNAP,
    STMT_SNAPSHOT_SAVE,
    STMT_PING,
    STMT__COUNT
};

struct statement {
    const char *name;
    const char *sql;
    int nparams;
};

static const struct statement statements[STMT__COUNT] = {
    [STMT_LOAD] = {"load_streams",
                   "SELECT stream_id, stream_version, position, type, schema_version, data::text,"
                   " floor(extract(epoch FROM recorded_at) * 1000)::bigint"
                   " FROM events WHERE stream_id = ANY($1::text[])"
                   " ORDER BY stream_id, stream_version",
                   1},
    /* One statement: the events, the success body (rendered here so the stored copy and the
     * answer are the same bytes, positions included), the idempotency row, and an account key:
     * inserted with the AccountOpened it sealed ($11, $12 hex), deleted with the
     * PersonalDataForgotten ($13). Data-modifying CTEs run even when nothing reads them. */
    [STMT_APPEND] =
        {"append",
         "WITH input AS ("
         "  SELECT e, n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(e, n)"
         "), ev AS ("
         "  INSERT INTO events (stream_id, stream_version, type, schema_version, data, metadata)"
         "  SELECT e->>'stream_id', (e->>'stream_version')::bigint, e->>'type',"
         "         (e->>'schema_version')::int, e->'data', $2::jsonb"
         "  FROM input ORDER BY n"
         "  RETURNING position, stream_id, stream_version, type"
         "), body AS ("
         "  SELECT concat('{\"stream_id\":', to_json($3::text), ',\"id\":', to_json($4::text),"
         "    ',\"version\":', $5::bigint, ',\"position\":', max(position), ',\"events\":[',"
         "    string_agg(concat('{\"type\":', to_json(type), ',\"stream_id\":', to_json(stream_id),"
         "      ',\"version\":', stream_version, ',\"position\":', position, '}'), ','"
         "      ORDER BY position), ']}') AS text FROM ev"
         "), idem AS ("
         "  INSERT INTO idempotency_keys"
         "    (key, request_hash, status, location, etag, content_type, body)"
         "  SELECT $6::text, md5($7::text), $8::int, $9::text, $10::text, 'application/json', text"
         "  FROM body WHERE $6::text IS NOT NULL"
         "), key_new AS ("
         "  INSERT INTO account_keys (account_id, key)"
         "  SELECT $11::text, decode($12::text, 'hex') WHERE $11::text IS NOT NULL"
         "), key_gone AS ("
         "  DELETE FROM account_keys WHERE account_id = $13::text"
         ")"
         " SELECT text FROM body",
         13},
    [STMT_IDEM_LOOKUP] = {"idem_lookup",
                          "SELECT request_hash = md5($2::text), status, coalesce(location, ''),"
                          " coalesce(etag, ''), content_type, body"
                          " FROM idempotency_keys WHERE key = $1",
                          2},
    [STMT_IDEM_SAVE] = {"idem_save",
                        "INSERT INTO idempotency_keys"
                        " (key, request_hash, status, content_type, body)"
                        " VALUES ($1, md5($2::text), $3::int, $4, $5)"
                        " ON CONFLICT (key) DO NOTHING RETURNING 1",
                        5},
    [STMT_PING] = {"ping", "SELECT 1", 0},
    [STMT_EXPIRE] = {"expire_keys",
                     "DELETE FROM idempotency_keys"
                     " WHERE created_at < now() - make_interval(secs => $1::int)",
                     1},
    /* Snapshot + tail in one round trip: per stream its snapshot of schema $2 (a row with a
     * NULL type) and then only the events after it. The lateral subquery keeps the tail an
     * index range scan on (stream_id, stream_version) however long the stream is. $2 = 0
     * matches no snapshot: the full streams. */
    [STMT_LOAD_SNAP] =
        {"load_streams_snap",
         "WITH ids AS (SELECT DISTINCT unnest($1::text[]) AS id),"
         " snap AS (SELECT sn.stream_id, sn.version, sn.state::text AS state,"
         "   floor(extract(epoch FROM sn.last_recorded_at) * 1000)::bigint AS ms"
         "   FROM snapshots sn JOIN ids ON sn.stream_id = ids.id"
         "   WHERE sn.snapshot_schema = $2::int)"
         " SELECT stream_id, version, 0::bigint, NULL::text, 0, state, ms FROM snap"
         " UNION ALL"
         " SELECT e.stream_id, e.stream_version, e.position, e.type, e.schema_version,"
         "   e.data::text, floor(extract(epoch FROM e.recorded_at) * 1000)::bigint"
         " FROM ids CROSS JOIN LATERAL (SELECT * FROM events ev WHERE ev.stream_id = ids.id"
         "   AND ev.stream_version > coalesce((SELECT version FROM snap"
         "     WHERE snap.stream_id = ids.id), 0)) e"
         " ORDER BY 1, 2",
         2},
    /* Always replaces: a row that was ignored (garbage, even at a huge version) must not pin
     * the stream to full replays. A slower writer may replace a newer snapshot with an older
     * one; both are true states, so that only lengthens the next tail. */
    [STMT_SNAPSHOT_SAVE] =
        {"snapshot_save",
         "INSERT INTO snapshots (stream_id, version, snapshot_schema, state, last_recorded_at)"
         " VALUES ($1, $2::bigint, $3::int, $4::jsonb,"
         "   timestamptz 'epoch' + $5::bigint * interval '1 millisecond')"
         " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,"
         "   snapshot_schema = excluded.snapshot_schema, state = excluded.state,"
         "   last_recorded_at = excluded.last_recorded_at, created_at = now()",
         5},
};

#endif
