/* PGresults built without a server (libpq's PQmakeEmptyPGresult), for the unit suites of
 * query-service code that decodes rows: every column text, as the service's statements send;
 * and the read pool pointed at a database that cannot be reached. */
#ifndef TESTS_QUERY_ROWS_H
#define TESTS_QUERY_ROWS_H

#include "reads.h"
#include "store/event_row.h"

#include <check.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#define ROWS_COLS_MAX 16
#define TEXT_OID      25

/* An empty result of ncols text columns; PQclear it. */
static inline PGresult *rows_new(int ncols)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[ROWS_COLS_MAX];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < ncols; i++) {
        attrs[i].name = (char *)"c";
        attrs[i].typid = TEXT_OID;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    ck_assert_int_eq(PQsetResultAttrs(res, ncols, attrs), 1);
    return res;
}

/* Sets one value (NULL: SQL NULL); rows grow as needed. */
static inline void rows_set(PGresult *res, int row, int col, const char *v)
{
    ck_assert_int_eq(PQsetvalue(res, row, col, (char *)v, v ? (int)strlen(v) : -1), 1);
}

static inline void rows_set_int(PGresult *res, int row, int col, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    rows_set(res, row, col, text);
}

/* Appends a row of SQL_EVENT_COLS; data uses single quotes for double ones. */
static inline void rows_event(PGresult *res, int64_t position, const char *stream, int version,
                              const char *type, int schema, const char *data, int64_t recorded_ms)
{
    int row = PQntuples(res);
    char json[2048];
    snprintf(json, sizeof json, "%s", data);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    rows_set_int(res, row, EV_COL_POSITION, position);
    rows_set(res, row, EV_COL_STREAM, stream);
    rows_set_int(res, row, EV_COL_VERSION, version);
    rows_set(res, row, EV_COL_TYPE, type);
    rows_set_int(res, row, EV_COL_SCHEMA, schema);
    rows_set(res, row, EV_COL_DATA, json);
    rows_set_int(res, row, EV_COL_RECORDED_MS, recorded_ms);
    rows_set(res, row, EV_COL_METADATA, "{}");
}

/* The read pool (reads_init) on a socket in a directory that does not exist: it connects
 * lazily, and every connection fails at once. reads_close_all undoes it. */
static inline void rows_reads_nowhere(void)
{
    static const struct db_settings s = {.pool_size = 2, .pool_wait_ms = 0, .lock_timeout_ms = 100};
    reads_init("host=/nonexistent-orderly-dir port=1 dbname=x", &s);
}

#endif
