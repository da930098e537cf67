/* The write side's libpq access: connection lifecycle, prepared statements, SQLSTATE mapping,
 * stream loads, appends and idempotency rows. Every PGresult is cleared where it was made. */
#include "store/store.h"
#include "codec/codec.h"
#include "http/http.h"
#include "log.h"
#include "store/statements.h"
#include "xalloc.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    char *conninfo;
    char *app_name;
    PGconn *conn; /* NULL or a connection with every statement prepared */
};

struct store *store_new(const char *conninfo, const char *app_name)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->conninfo = xstrdup(conninfo);
    s->app_name = xstrdup(app_name);
    return s;
}

static void store_disconnect(struct store *s)
{
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    store_disconnect(s);
    free(s->conninfo);
    free(s->app_name);
    free(s);
}

/* Maps a failed result to enum err in one place; a lost connection is dropped so the next
 * store_ready reconnects. */
static enum err store_error(struct store *s, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    metrics_count_db_error();
    if (PQstatus(s->conn) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0) {
        log_msg(LOG_WARN, "%s: database connection lost", what);
        store_disconnect(s);
        return ERR_DB_DOWN;
    }
    if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return ERR_CONFLICT;
    if (strcmp(state, "55P03") == 0)
        return ERR_IDEM_BUSY;
    log_msg(LOG_ERROR, "%s failed: sqlstate %s: %s", what, state, PQresultErrorMessage(r));
    return ERR_INTERNAL;
}

static bool store_prepare_all(struct store *s)
{
    for (int i = 0; i < STMT__COUNT; i++) {
        PGresult *r =
            PQprepare(s->conn, statements[i].name, statements[i].sql, statements[i].nparams, NULL);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            log_msg(LOG_ERROR, "prepare %s: %s", statements[i].name, PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return false;
    }
    return true;
}

/* These connections never LISTEN, so an idle socket that has something to read carries the
 * server's goodbye (a FATAL message or EOF after a restart): reconnect before sending, so a
 * write never goes out on a connection we could have known was dead. */
static bool connection_alive(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK)
        return false;
    struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
    return poll(&pfd, 1, 0) == 0;
}

enum err store_ready(struct store *s)
{
    if (s->conn && connection_alive(s->conn))
        return ERR_OK;
    store_disconnect(s);
    /* internal_writer: our appends notify from a separate connection after commit, so the
     * plain-SQL trigger stays quiet; lock_timeout bounds waits on a key another request holds. */
    const char *keys[] = {"dbname", "application_name", "options", "connect_timeout", NULL};
    const char *vals[] = {s->conninfo, s->app_name,
                          "-c orderly.internal_writer=on -c lock_timeout=5s", "3", NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        log_msg(LOG_WARN, "database connection failed: %s", PQerrorMessage(s->conn));
        metrics_count_db_error();
        store_disconnect(s);
        return ERR_DB_DOWN;
    }
    if (!store_prepare_all(s)) {
        store_disconnect(s);
        return ERR_DB_DOWN;
    }
    return ERR_OK;
}

/* Runs a prepared statement once. ERR_OK when it ended with `expect`, else the mapped error.
 * *out holds the result either way (NULL only when no connection could be had): the caller
 * clears it, and may read the refused constraint from it. */
static enum err exec_once(struct store *s, enum stmt id, const char *const *params,
                          ExecStatusType expect, PGresult **out)
{
    *out = NULL;
    enum err rc = store_ready(s);
    if (rc != ERR_OK)
        return rc;
    *out =
        PQexecPrepared(s->conn, statements[id].name, statements[id].nparams, params, NULL, NULL, 0);
    return PQresultStatus(*out) == expect ? ERR_OK : store_error(s, *out, statements[id].name);
}

/* A read-only statement. store_ready notices most dead connections before sending; one that
 * dies between that check and the send costs a read nothing to repeat, so it gets one retry
 * on a fresh connection. */
static enum err exec_read(struct store *s, enum stmt id, const char *const *params, PGresult **out)
{
    bool was_connected = s->conn != NULL;
    enum err rc = exec_once(s, id, params, PGRES_TUPLES_OK, out);
    if (rc == ERR_DB_DOWN && was_connected) {
        PQclear(*out);
        rc = exec_once(s, id, params, PGRES_TUPLES_OK, out);
    }
    if (rc != ERR_OK) {
        PQclear(*out);
        *out = NULL;
    }
    return rc;
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

static enum err row_to_event(PGresult *r, int row, struct event *e, struct err_detail *why)
{
    memset(e, 0, sizeof *e);
    const char *type = PQgetvalue(r, row, 3);
    if (!event_type_parse(type, &e->type))
        return err_set(why, ERR_BAD_EVENT, "unknown event type %s", type);
    snprintf(e->stream_id, sizeof e->stream_id, "%s", PQgetvalue(r, row, 0));
    e->stream_version = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    e->position = strtoll(PQgetvalue(r, row, 2), NULL, 10);
    e->recorded_at_ms = strtoll(PQgetvalue(r, row, 6), NULL, 10);
    int schema_version = (int)strtol(PQgetvalue(r, row, 4), NULL, 10);
    json_error_t jerr;
    json_t *data = json_loads(PQgetvalue(r, row, 5), 0, &jerr);
    if (!data)
        return err_set(why, ERR_BAD_EVENT, "event %lld: data is not JSON", (long long)e->position);
    enum err rc = event_data_from_json(e, schema_version, data, why);
    json_decref(data);
    return rc;
}

/* Snapshot rows (STMT_LOAD_SNAP) have a NULL type. */
static void row_to_snapshot(PGresult *r, int row, store_snapshot_fn snap_fn, void *ctx)
{
    struct store_snapshot snap = {PQgetvalue(r, row, 0), strtoll(PQgetvalue(r, row, 1), NULL, 10),
                                  strtoll(PQgetvalue(r, row, 6), NULL, 10), PQgetvalue(r, row, 5)};
    snap_fn(ctx, &snap);
}

static enum err load_rows(struct store *s, enum stmt id, const char *const *params,
                          store_event_fn fn, store_snapshot_fn snap_fn, void *ctx,
                          struct err_detail *why)
{
    PGresult *r;
    enum err rc = exec_read(s, id, params, &r);
    if (rc != ERR_OK)
        return rc;
    struct event *e = xmalloc(sizeof *e);
    for (int i = 0; i < PQntuples(r) && rc == ERR_OK; i++) {
        if (snap_fn && PQgetisnull(r, i, 3)) {
            row_to_snapshot(r, i, snap_fn, ctx);
            continue;
        }
        rc = row_to_event(r, i, e, why);
        if (rc == ERR_OK)
            fn(ctx, e);
    }
    free(e);
    PQclear(r);
    return rc;
}

enum err store_load_streams(struct store *s, const char ids[][STREAM_ID_MAX + 1], int n,
                            store_event_fn fn, void *ctx, struct err_detail *why)
{
    char *literal = text_array_literal(ids, n);
    const char *params[] = {literal};
    enum err rc = load_rows(s, STMT_LOAD, params, fn, NULL, ctx, why);
    free(literal);
    return rc;
}

enum err store_load_snapshots(struct store *s, const char ids[][STREAM_ID_MAX + 1], int n,
                              int snapshot_schema, store_event_fn fn, store_snapshot_fn snap_fn,
                              void *ctx, struct err_detail *why)
{
    char *literal = text_array_literal(ids, n);
    char schema[16];
    snprintf(schema, sizeof schema, "%d", snapshot_schema);
    const char *params[] = {literal, schema};
    enum err rc = load_rows(s, STMT_LOAD_SNAP, params, fn, snap_fn, ctx, why);
    free(literal);
    return rc;
}

enum err store_snapshot_save(struct store *s, const char *stream_id, int64_t version,
                             int snapshot_schema, const char *state_json, int64_t last_recorded_ms)
{
    char v[24], schema[16], ms[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    snprintf(schema, sizeof schema, "%d", snapshot_schema);
    snprintf(ms, sizeof ms, "%lld", (long long)last_recorded_ms);
    const char *params[] = {stream_id, v, schema, state_json, ms};
    PGresult *r;
    enum err rc = exec_once(s, STMT_SNAPSHOT_SAVE, params, PGRES_COMMAND_OK, &r);
    PQclear(r);
    return rc;
}

static void copy_field(char *dst, size_t cap, PGresult *r, int col)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, 0, col));
}

enum err store_idem_lookup(struct store *s, const char *key, const char *request_text,
                           struct stored_response *out, bool *found)
{
    *found = false;
    const char *params[] = {key, request_text};
    PGresult *r;
    enum err rc = exec_read(s, STMT_IDEM_LOOKUP, params, &r);
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
    return ERR_OK;
}

/* The events as one jsonb array parameter; the caller frees the text. */
static char *events_param(const struct decision *d)
{
    json_t *arr = json_array();
    for (int i = 0; i < d->count; i++) {
        const struct event *e = &d->events[i];
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:i, s:o}", "stream_id", e->stream_id,
                                             "stream_version", (json_int_t)e->stream_version,
                                             "type", event_type_name(e->type), "schema_version",
                                             event_schema_version(e->type), "data",
                                             event_data_to_json(e)));
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

static bool is_idem_conflict(PGresult *r)
{
    const char *c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    return c && strcmp(c, "idempotency_keys_pkey") == 0;
}

enum err store_append(struct store *s, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken)
{
    *key_taken = false;
    char *events = events_param(a->decision);
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
    enum err rc = exec_once(s, STMT_APPEND, params, PGRES_TUPLES_OK, &r);
    if (rc == ERR_OK) {
        *len_out = (size_t)PQgetlength(r, 0, 0);
        *body_out = xstrndup(PQgetvalue(r, 0, 0), *len_out);
    } else {
        *key_taken = rc == ERR_CONFLICT && is_idem_conflict(r);
    }
    PQclear(r);
    free(events);
    return rc;
}

enum err store_idem_save(struct store *s, const char *key, const char *request_text, int status,
                         const char *content_type, const char *body, bool *key_taken)
{
    *key_taken = false;
    char status_text[8];
    snprintf(status_text, sizeof status_text, "%d", status);
    const char *params[] = {key, request_text, status_text, content_type, body};
    PGresult *r;
    enum err rc = exec_once(s, STMT_IDEM_SAVE, params, PGRES_TUPLES_OK, &r);
    if (rc == ERR_OK)
        *key_taken = PQntuples(r) == 0;
    PQclear(r);
    return rc;
}

static enum err exec_simple(struct store *s, const char *sql, const char *what)
{
    enum err rc = store_ready(s);
    if (rc != ERR_OK)
        return rc;
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = store_error(s, r, what);
    PQclear(r);
    return rc;
}

enum err store_ping(struct store *s)
{
    PGresult *r;
    enum err rc = exec_read(s, STMT_PING, NULL, &r);
    PQclear(r);
    return rc;
}

enum err store_notify(struct store *s)
{
    return exec_simple(s, "NOTIFY orderly_events", "notify");
}

enum err store_expire_keys(struct store *s, int max_age_s, long *deleted)
{
    *deleted = 0;
    char age[16];
    snprintf(age, sizeof age, "%d", max_age_s);
    const char *params[] = {age};
    PGresult *r;
    enum err rc = exec_once(s, STMT_EXPIRE, params, PGRES_COMMAND_OK, &r);
    if (rc == ERR_OK)
        *deleted = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}
