/* The write side's statements over store/db.h: stream loads, appends and idempotency rows.
 * Every PGresult is cleared where it was made. */
#include "store/store.h"
#include "codec/codec.h"
#include "codec/event_json.h"
#include "store/event_row.h"
#include "store/param_array.h"
#include "store/statements.h"
#include "xalloc.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_statement store_statements[STMT__COUNT] = {
    STORE_STATEMENT_TABLE(DB_STATEMENT_ROW)};

void store_db_config(struct db_config *cfg, const char *conninfo, const char *app_name,
                     const char *options)
{
    *cfg = (struct db_config){conninfo, app_name, options, store_statements, STMT__COUNT};
}

/* "{"a","b"}": ids are validated ([A-Za-z0-9_-] after a fixed prefix), so quoting is enough. */
static char *text_array_literal(const char ids[][STREAM_ID_MAX + 1], int n)
{
    size_t cap = 3 + (size_t)n * (STREAM_ID_MAX + 3);
    char *out = xmalloc(cap);
    size_t len = 0;
    out[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i ? "," : "", ids[i]);
    snprintf(out + len, cap - len, "}");
    return out;
}

/* Snapshot rows (STMT_LOAD_SNAP) have a NULL type. */
static void row_to_snapshot(PGresult *r, int row, store_snapshot_fn snap_fn, void *ctx)
{
    struct store_snapshot snap = {
        PQgetvalue(r, row, EV_COL_STREAM), event_row_int(r, row, EV_COL_VERSION),
        event_row_int(r, row, EV_COL_RECORDED_MS), PQgetvalue(r, row, EV_COL_DATA)};
    snap_fn(ctx, &snap);
}

static enum err load_rows(struct db_conn *c, enum store_stmt id, const char *const *params,
                          store_event_fn fn, store_snapshot_fn snap_fn, void *ctx,
                          struct err_detail *why)
{
    PGresult *r;
    enum err rc = db_read(c, id, params, &r);
    if (rc != ERR_OK)
        return rc;
    struct event *e = xmalloc(sizeof *e);
    for (int i = 0; i < PQntuples(r) && rc == ERR_OK; i++) {
        if (snap_fn && PQgetisnull(r, i, EV_COL_TYPE)) {
            row_to_snapshot(r, i, snap_fn, ctx);
            continue;
        }
        rc = event_row_decode(r, i, e, why);
        if (rc == ERR_OK)
            fn(ctx, e);
    }
    free(e);
    PQclear(r);
    return rc;
}

enum err store_load_snapshots(struct db_conn *c, const char ids[][STREAM_ID_MAX + 1], int n,
                              int snapshot_schema, store_event_fn fn, store_snapshot_fn snap_fn,
                              void *ctx, struct err_detail *why)
{
    char *literal = text_array_literal(ids, n);
    char schema[16];
    snprintf(schema, sizeof schema, "%d", snapshot_schema);
    const char *params[] = {literal, schema};
    enum err rc = load_rows(c, STMT_LOAD_SNAP, params, fn, snap_fn, ctx, why);
    free(literal);
    return rc;
}

enum err store_snapshot_save(struct db_conn *c, const char *stream_id, int64_t version,
                             int snapshot_schema, const char *state_json, int64_t last_recorded_ms)
{
    char v[24], schema[16], ms[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    snprintf(schema, sizeof schema, "%d", snapshot_schema);
    snprintf(ms, sizeof ms, "%lld", (long long)last_recorded_ms);
    const char *params[] = {stream_id, v, schema, state_json, ms};
    return db_write(c, STMT_SNAPSHOT_SAVE, params, NULL, NULL);
}

static void copy_field(char *dst, size_t cap, PGresult *r, int col)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, 0, col));
}

/* A transaction that writes (a row no client key can name, gone again at its commit), so its
 * commit waits for the synchronous standby like an append's: once it returns, everything the
 * primary wrote before it is on the standby as well. */
#define SYNC_BARRIER_SQL                                                                           \
    "INSERT INTO idempotency_keys (key, request_hash, status, content_type, body)"                 \
    " VALUES (repeat('~', 256) || pg_backend_pid(), '', 0, '', '');"                               \
    "DELETE FROM idempotency_keys WHERE key = repeat('~', 256) || pg_backend_pid()"

/* A stored answer may come from an append that was cancelled while it waited for the
 * synchronous standby (answered 503, committed on the primary alone): it is replayed only
 * after a barrier proves it is on the standby too, or the lookup is ERR_DB_DOWN. */
enum err store_idem_lookup(struct db_conn *c, const char *key, const char *request_text,
                           struct stored_response *out, bool *found)
{
    *found = false;
    const char *params[] = {key, request_text};
    PGresult *r;
    enum err rc = db_read(c, STMT_IDEM_LOOKUP, params, &r);
    if (rc != ERR_OK)
        return rc;
    if (PQntuples(r) == 1) {
        *found = true;
        out->same_request = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        out->status = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
        copy_field(out->location, sizeof out->location, r, 2);
        copy_field(out->etag, sizeof out->etag, r, 3);
        copy_field(out->content_type, sizeof out->content_type, r, 4);
        out->body_len = (size_t)PQgetlength(r, 0, 5);
        out->body = xstrndup(PQgetvalue(r, 0, 5), out->body_len);
    }
    PQclear(r);
    if (*found && (rc = db_sql(c, SYNC_BARRIER_SQL, 0, NULL, NULL)) != ERR_OK) {
        free(out->body);
        out->body = NULL;
        *found = false;
    }
    return rc;
}

char *store_events_json(const struct decision *d)
{
    struct render_buf b = {0};
    event_array_render(&b, d->events, d->count);
    return b.text;
}

enum err store_append(struct db_conn *c, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken)
{
    *key_taken = false;
    char *events = store_events_json(a->decision);
    char version[24], status[8];
    snprintf(version, sizeof version, "%lld", (long long)a->version);
    snprintf(status, sizeof status, "%d", a->status);
    const char *params[] = {events,
                            a->metadata_json,
                            a->stream_id,
                            a->id,
                            version,
                            a->idem_key,
                            a->request_text,
                            status,
                            a->location,
                            a->etag,
                            a->key_account_id,
                            a->key_hex,
                            a->forget_account_id};
    PGresult *r;
    char constraint[64];
    enum err rc = db_write(c, STMT_APPEND, params, &r, constraint);
    if (rc == ERR_OK && PQntuples(r) == 0) {
        PQclear(r);
        rc = ERR_CONFLICT; /* a version was taken: nothing was written (statements.h) */
        constraint[0] = '\0';
    }
    if (rc == ERR_OK) {
        *len_out = (size_t)PQgetlength(r, 0, 0);
        *body_out = xstrndup(PQgetvalue(r, 0, 0), *len_out);
        PQclear(r);
    } else {
        *key_taken = rc == ERR_CONFLICT && strcmp(constraint, "idempotency_keys_pkey") == 0;
        /* A lock wait that timed out is on another request's key, if there is a key at all;
         * without one it is a busy database. */
        if (rc == ERR_IDEM_BUSY && !a->idem_key)
            rc = ERR_DB_DOWN;
    }
    free(events);
    return rc;
}

/* STMT_APPEND_BATCH's columns: ten per command, six per event. */
enum { BATCH_CMD_COLS = 10, BATCH_EV_COLS = 6 };

static void text_or_null(struct param_array *a, const char *s)
{
    if (s)
        param_array_text(a, s);
    else
        param_array_null(a);
}

static void batch_command_row(struct param_array *col, int k, const struct append_request *a)
{
    param_array_int(&col[0], k);
    param_array_text(&col[1], a->stream_id);
    param_array_text(&col[2], a->id);
    param_array_int(&col[3], a->version);
    text_or_null(&col[4], a->idem_key);
    text_or_null(&col[5], a->request_text);
    param_array_int(&col[6], a->status);
    text_or_null(&col[7], a->location);
    param_array_text(&col[8], a->etag);
    param_array_text(&col[9], a->metadata_json);
}

/* data is the caller's buffer, reused across rows. */
static void batch_event_row(struct param_array *col, int k, const struct event *e,
                            struct render_buf *data)
{
    render_reset(data);
    event_data_render(data, e);
    param_array_int(&col[0], k);
    param_array_text(&col[1], e->stream_id);
    param_array_int(&col[2], e->stream_version);
    param_array_text(&col[3], event_type_name(e->type));
    param_array_int(&col[4], event_schema_version(e->type));
    param_array_text(&col[5], data->text);
}

static void batch_bodies(PGresult *r, int n, char **bodies, size_t *lens)
{
    for (int i = 0; i < n; i++) {
        lens[i] = (size_t)PQgetlength(r, i, 1);
        bodies[i] = xstrndup(PQgetvalue(r, i, 1), lens[i]);
    }
}

enum err store_append_batch(struct db_conn *c, const struct append_request *a, int n, char **bodies,
                            size_t *lens, bool *key_taken)
{
    if (n == 1) /* the plainer statement: a lone command pays nothing for the arrays */
        return store_append(c, a, bodies, lens, key_taken);
    struct param_array col[BATCH_CMD_COLS + BATCH_EV_COLS];
    const char *params[BATCH_CMD_COLS + BATCH_EV_COLS];
    bool any_key = false;
    struct render_buf data = {0};
    for (int i = 0; i < BATCH_CMD_COLS + BATCH_EV_COLS; i++)
        param_array_init(&col[i]);
    for (int k = 0; k < n; k++) {
        batch_command_row(col, k, &a[k]);
        any_key = any_key || a[k].idem_key;
        for (int j = 0; j < a[k].decision->count; j++)
            batch_event_row(col + BATCH_CMD_COLS, k, &a[k].decision->events[j], &data);
    }
    render_free(&data);
    for (int i = 0; i < BATCH_CMD_COLS + BATCH_EV_COLS; i++)
        params[i] = param_array_done(&col[i]);
    PGresult *r;
    char constraint[64];
    enum err rc = db_write(c, STMT_APPEND_BATCH, params, &r, constraint);
    *key_taken = rc == ERR_CONFLICT && strcmp(constraint, "idempotency_keys_pkey") == 0;
    if (rc == ERR_OK) {
        if (PQntuples(r) == n)
            batch_bodies(r, n, bodies, lens);
        else /* none: a version was taken, nothing written; else committed, but not as asked */
            rc = PQntuples(r) == 0 ? ERR_CONFLICT : ERR_INTERNAL;
        PQclear(r);
    }
    if (rc == ERR_IDEM_BUSY && !any_key)
        rc = ERR_DB_DOWN; /* as store_append: without a key a lock wait is a busy database */
    for (int i = 0; i < BATCH_CMD_COLS + BATCH_EV_COLS; i++)
        param_array_free(&col[i]);
    return rc;
}

enum err store_idem_save(struct db_conn *c, const char *key, const char *request_text, int status,
                         const char *content_type, const char *body, bool *key_taken)
{
    *key_taken = false;
    char status_text[8];
    snprintf(status_text, sizeof status_text, "%d", status);
    const char *params[] = {key, request_text, status_text, content_type, body};
    PGresult *r;
    enum err rc = db_write(c, STMT_IDEM_SAVE, params, &r, NULL);
    if (rc == ERR_OK)
        *key_taken = PQntuples(r) == 0;
    PQclear(r);
    return rc;
}

enum err store_ping(struct db_conn *c)
{
    return db_read(c, STMT_PING, NULL, NULL);
}

enum err store_notify(struct db_conn *c)
{
    return db_write(c, STMT_NOTIFY, NULL, NULL, NULL);
}

enum err store_expire_keys(struct db_conn *c, int max_age_s, long *deleted)
{
    *deleted = 0;
    char age[16];
    snprintf(age, sizeof age, "%d", max_age_s);
    const char *params[] = {age};
    PGresult *r;
    enum err rc = db_write(c, STMT_EXPIRE, params, &r, NULL);
    if (rc == ERR_OK)
        *deleted = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}
