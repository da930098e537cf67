/* Every SQL statement of the write side, prepared by name on each new connection.
 * Call sites use the enum; no SQL is built at run time. */
#ifndef ORDERLY_STATEMENTS_H
#define ORDERLY_STATEMENTS_H

enum stmt { STMT_LOAD, STMT_APPEND, STMT_IDEM_LOOKUP, STMT_IDEM_SAVE, STMT_EXPIRE, STMT__COUNT };

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
     * answer are the same bytes, positions included) and the idempotency row. */
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
         ")"
         " SELECT text FROM body",
         10},
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
    [STMT_EXPIRE] = {"expire_keys",
                     "DELETE FROM idempotency_keys"
                     " WHERE created_at < now() - make_interval(secs => $1::int)",
                     1},
};

#endif
