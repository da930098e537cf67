/* The SQL both services read events with: one column list, one decoder order (EV_COL_*), and
 * one snapshot + tail query. Macros only (no libpq), so bench tools can print statements. */
#ifndef ORDERLY_EVENT_SQL_H
#define ORDERLY_EVENT_SQL_H

/* Timestamps leave the database as epoch milliseconds, floored so that a view's time and an
 * ?as_of= of that same printed time agree. */
#define SQL_MS(col) "floor(extract(epoch from " col ") * 1000)::bigint"
#define SQL_TS(ms)  "(timestamptz 'epoch' + (" ms ") * interval '1 millisecond')"

/* Every statement that returns events returns these columns (event_row_decode reads them). */
#define SQL_EVENT_COLS                                                                             \
    "position, stream_id, stream_version, type, schema_version, data::text, " SQL_MS(              \
        "recorded_at") ", metadata::text"
enum {
    EV_COL_POSITION,
    EV_COL_STREAM,
    EV_COL_VERSION,
    EV_COL_TYPE,
    EV_COL_SCHEMA,
    EV_COL_DATA,
    EV_COL_RECORDED_MS,
    EV_COL_METADATA
};

/* Streams from their snapshots: for each stream id of `ids` (a set-returning SQL expression),
 * its snapshot of schema `schema` (0 matches none) that satisfies snap_ok (over `sn`), then only
 * the events after it that satisfy event_ok (over `ev`), in SQL_EVENT_COLS. The snapshot row
 * comes first with a NULL type: its version in EV_COL_VERSION, its state in EV_COL_DATA and the
 * latest recorded_at it folded in EV_COL_RECORDED_MS. The lateral subquery keeps each tail an
 * index range scan on (stream_id, stream_version) however long the stream is. */
#define SQL_SNAPSHOT_TAIL(ids, schema, snap_ok, event_ok)                                          \
    "WITH ids AS (SELECT DISTINCT " ids " AS id), "                                                \
    "snap AS (SELECT sn.stream_id, sn.version, sn.state::text AS state, " SQL_MS(                  \
        "sn.last_recorded_at") " AS ms FROM snapshots sn JOIN ids ON sn.stream_id = ids.id "       \
                               "WHERE sn.snapshot_schema = " schema " AND " snap_ok ") "           \
                               "SELECT 0::bigint, stream_id, version, NULL::text, " schema         \
                               ", state, ms, NULL::text FROM snap UNION ALL "                      \
                               "SELECT " SQL_EVENT_COLS " FROM ids CROSS JOIN LATERAL "            \
                               "(SELECT * FROM events ev WHERE ev.stream_id = ids.id "             \
                               "AND " event_ok                                                     \
                               " AND ev.stream_version > coalesce((SELECT version FROM snap "      \
                               "WHERE snap.stream_id = ids.id), 0)) e ORDER BY 2, 3"

#endif
