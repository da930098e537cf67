/* The SQL of `query-service rebuild` that stays in C: the throwaway shadow schema and the calls
 * of the server-side steps, which migrations/0009_rebuild_functions.sql and
 * 0011_rebuild_unique_keys.sql define. Not prepared:
 * it names a schema that exists only during a rebuild. */
#ifndef QUERY_REBUILD_SQL_H
#define QUERY_REBUILD_SQL_H

#include "store/event_sql.h"

#define REBUILD_SCHEMA "orderly_rebuild"

/* The bulk fill's pages (rebuild_fill.c): the events at or below a horizon ($3) in stream
 * order, after the event ($1, $2), read along the unique index (stream_id, stream_version). */
#define REBUILD_EVENTS_BY_STREAM_SQL                                                               \
    "SELECT " SQL_EVENT_COLS " FROM events WHERE (stream_id, stream_version) > ($1, $2) "          \
    "AND position <= $3 ORDER BY stream_id, stream_version LIMIT $4"

/* Only one rebuild at a time; the session lock goes with a killed rebuild. */
#define REBUILD_LOCK_SQL "SELECT pg_try_advisory_lock(4242000002)"

#define REBUILD_LIVE_SCHEMA_SQL "SELECT current_schema()"

// clang-format off

/* A rebuild killed earlier may have left its schema behind: this one starts over. */
#define REBUILD_CLEANUP_SQL "DROP SCHEMA IF EXISTS " REBUILD_SCHEMA " CASCADE"
#define REBUILD_SETUP_SQL                                                                          \
    REBUILD_CLEANUP_SQL ";\n"                                                                      \
    "CREATE SCHEMA " REBUILD_SCHEMA

/* The shadow tables shadow the live ones on this session only: every prepared statement of the
 * projector resolves rm_* and projections here, and events (and the functions below) in the
 * live schema ($1). */
#define REBUILD_SEARCH_PATH_SQL                                                                    \
    "SELECT set_config('search_path', '" REBUILD_SCHEMA ", ' || quote_ident($1), false)"

/* Arguments: shadow (REBUILD_SCHEMA), live (the live tables' schema), the projection's name,
 * a position; each function's comment in the migration says what it does. */
#define REBUILD_CREATE_SQL      "SELECT rebuild_create_shadow($1, $2, $3)"
#define REBUILD_BULK_FINISH_SQL "SELECT rebuild_bulk_finish($1, $2)"
#define REBUILD_FILL_START_SQL  "SELECT rebuild_fill_start($1, $2)"
#define REBUILD_ADD_UNIQUE_SQL  "SELECT rebuild_add_unique($1, $2)"
#define REBUILD_LOCK_LIVE_SQL   "SELECT rebuild_lock_live($1, $2)"
#define REBUILD_SWAP_IN_SQL     "SELECT rebuild_swap_in($1, $2, $3, $4)"

// clang-format on

/* Index builds sort in memory up to this much (the server's default is 64MB). */
#define REBUILD_INDEX_MEM_SQL "SET maintenance_work_mem TO '256MB'"

#define REBUILD_DROP_SQL "DROP SCHEMA " REBUILD_SCHEMA " CASCADE"

#endif
