/* Read queries for the HTTP handlers: each statement on a connection borrowed from the query
 * pool (store/db.h), every row turned into the contract's JSON here. */
#include "reads.h"
#include "reads_internal.h"

#include "codec/codec.h"
#include "codec/snapshot_codec.h"
#include "domain/domain.h"
#include "http/http.h"
#include "log.h"
#include "personal.h"
#include "query_db.h"
#include "timefmt.h"
#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db_config config;
static struct db_pool *pool;

void reads_init(const char *database_url, const struct db_settings *s)
{
    /* lock_timeout: a read stuck behind a lock (a rebuild's swap, an operator's LOCK) gives its
     * pooled connection back after at most this long, as a 503, and is retried once first. */
    static char options[48];
    snprintf(options, sizeof options, "-c lock_timeout=%dms", s->lock_timeout_ms);
    query_db_config(&config, database_url, "orderly-query", options);
    pool = db_pool_new(&config, s->pool_size, s->pool_wait_ms);
}

void reads_close_all(void)
{
    db_pool_free(pool);
    pool = NULL;
}

struct db_pool *reads_pool(void)
{
    return pool;
}

void reads_metrics(void *buf)
{
    db_pool_metrics(pool, buf);
}

PGresult *reads_run(enum query_stmt st, const char *const *params, enum err *e)
{
    struct db_conn *c;
    PGresult *res = NULL;
    *e = db_pool_get(pool, &c, NULL);
    if (*e != ERR_OK)
        return NULL;
    *e = db_read(c, st, params, &res);
    db_pool_put(pool, c);
    return res;
}

enum err reads_ping(void)
{
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_PING, NULL, &e);
    PQclear(res);
    return e;
}

static json_t *time_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    char buf[TIMEFMT_LEN];
    timefmt_rfc3339(query_db_int(res, row, col), buf);
    return json_string(buf);
}

static json_t *int_json(const PGresult *res, int row, int col)
{
    return json_integer(query_db_int(res, row, col));
}

/* The keys of the accounts in ids (a JSON array text), in one query; *k is empty on error. */
static enum err load_keys(const char *ids, struct personal_keys *k)
{
    const char *params[] = {ids};
    enum err e = ERR_OK;
    memset(k, 0, sizeof *k);
    PGresult *res = reads_run(ST_PII_KEYS, params, &e);
    if (!res)
        return e;
    personal_keys_load(k, res);
    PQclear(res);
    return ERR_OK;
}

/* A folded account's owner is sealed (or "[forgotten]"): open it with its key, if it still
 * has one, so temporal reads show what the current view shows. */
static enum err reveal_account(struct account_state *a)
{
    if (!pii_is_sealed(a->owner))
        return ERR_OK;
    json_t *ids = json_pack("[s]", a->account_id);
    char *text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    struct personal_keys k;
    enum err e = load_keys(text, &k);
    free(text);
    if (e == ERR_OK)
        personal_reveal_owner(a->owner, &k, a->account_id);
    personal_keys_free(&k);
    return e;
}

/* Opens the sealed owners of a page of events (the audit trail, the feeds) with one query. */
static enum err reveal_events(json_t *events)
{
    char *ids = personal_sealed_ids(events);
    if (!ids)
        return ERR_OK;
    struct personal_keys k;
    enum err e = load_keys(ids, &k);
    free(ids);
    if (e == ERR_OK)
        personal_reveal_events(events, &k);
    personal_keys_free(&k);
    return e;
}

/* Folds rows of SQL_TEMPORAL with the command side's evolve, starting from the snapshot row
 * when there is one. ERR_CONFLICT: the snapshot is unusable and the caller reads again
 * without snapshots. */
enum err reads_fold_rows(bool order, const PGresult *res, json_t **out)
{
    struct event *ev = xmalloc(sizeof *ev);
    struct order_state *os = xcalloc(1, sizeof *os);
    struct account_state as = {0};
    struct err_detail why = {0};
    enum err e = ERR_OK;
    for (int i = 0; i < PQntuples(res) && e == ERR_OK; i++) {
        if (PQgetisnull(res, i, EV_COL_TYPE)) {
            if (!snapshot_decode(
                    PQgetvalue(res, i, EV_COL_STREAM), query_db_int(res, i, EV_COL_VERSION),
                    PQgetvalue(res, i, EV_COL_DATA), order ? os : NULL, order ? NULL : &as, &why))
                e = ERR_CONFLICT;
            continue;
        }
        e = event_row_decode(res, i, ev, &why);
        if (e == ERR_OK && order)
            order_evolve(os, ev);
        else if (e == ERR_OK)
            account_evolve(&as, ev);
    }
    if (e == ERR_CONFLICT)
        log_msg(LOG_WARN, "query: ignoring a snapshot: %s", why.detail);
    else if (e != ERR_OK)
        log_msg(LOG_ERROR, "query: %s", why.detail);
    else if (order ? os->status == ORDER_NONE : as.status == ACCOUNT_NONE)
        e = ERR_NOT_FOUND;
    else if (!order && (e = reveal_account(&as)) != ERR_OK)
        log_msg(LOG_WARN, "query: cannot read the key of account %s", as.account_id);
    else
        *out = order ? order_view_json(os) : account_view_json(&as);
    free(ev);
    free(os);
    return e;
}

enum err reads_aggregate_at(bool order, const char *id, bool by_version, int64_t bound,
                            json_t **out)
{
    char stream[STREAM_ID_MAX + 1], b[24], schema[16];
    if (order)
        stream_id_order(stream, id);
    else
        stream_id_account(stream, id);
    snprintf(b, sizeof b, "%" PRId64, bound);
    snprintf(schema, sizeof schema, "%d", SNAPSHOT_SCHEMA);
    const char *params[] = {stream, b, schema};
    enum err e = ERR_CONFLICT;
    for (int attempt = 0; attempt < 2 && e == ERR_CONFLICT; attempt++) {
        if (attempt > 0)
            snprintf(schema, sizeof schema, "0"); /* matches no snapshot */
        PGresult *res = reads_run(by_version ? ST_STREAM_TO_VERSION : ST_STREAM_AS_OF, params, &e);
        if (!res)
            return e;
        e = reads_fold_rows(order, res, out);
        PQclear(res);
    }
    return e;
}

enum query_stmt reads_list_stmt(bool order, const char *f1, const char *f2)
{
    if (!order)
        return f1 ? ST_ACCOUNTS_OWNER : ST_ACCOUNTS_ALL;
    if (f1 && f2)
        return ST_ORDERS_CUSTOMER_STATUS;
    if (f1)
        return ST_ORDERS_CUSTOMER;
    return f2 ? ST_ORDERS_STATUS : ST_ORDERS_ALL;
}

/* "[doc,doc,...]" of the first n rows' documents (column 0), in one allocation. */
char *reads_join_docs(const PGresult *res, int n, size_t *len)
{
    size_t total = 2;
    for (int i = 0; i < n; i++)
        total += (size_t)PQgetlength(res, i, 0) + 1;
    char *out = xmalloc(total + 1), *p = out;
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        size_t l = (size_t)PQgetlength(res, i, 0);
        if (i > 0)
            *p++ = ',';
        memcpy(p, PQgetvalue(res, i, 0), l);
        p += l;
    }
    *p++ = ']';
    *p = '\0';
    *len = (size_t)(p - out);
    return out;
}

enum err reads_list(bool order, const char *filter1, const char *filter2, int64_t before, int limit,
                    char **items, size_t *len, int64_t *next)
{
    char b[24], l[24];
    snprintf(b, sizeof b, "%" PRId64, before);
    snprintf(l, sizeof l, "%d", limit + 1); /* one more row tells whether a next page exists */
    const char *params[] = {b, l, filter1 ? filter1 : filter2, filter2};
    enum err e = ERR_OK;
    PGresult *res = reads_run(reads_list_stmt(order, filter1, filter2), params, &e);
    if (!res)
        return e;
    int n = PQntuples(res) > limit ? limit : PQntuples(res);
    *items = reads_join_docs(res, n, len);
    *next = PQntuples(res) > limit ? query_db_int(res, n - 1, 1) : 0;
    PQclear(res);
    return ERR_OK;
}

enum err reads_customer(const char *id, char **doc, size_t *len)
{
    const char *params[] = {id};
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_CUSTOMER_GET, params, &e);
    if (!res)
        return e;
    if (PQntuples(res) == 1) {
        *len = (size_t)PQgetlength(res, 0, 0);
        *doc = xstrndup(PQgetvalue(res, 0, 0), *len);
    } else {
        e = ERR_NOT_FOUND;
    }
    PQclear(res);
    return e;
}

enum err reads_revenue(const char *from, const char *to, char **body, size_t *len)
{
    const char *params[] = {from, to};
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_REVENUE, params, &e);
    if (!res)
        return e;
    size_t days_len;
    char *days = reads_join_docs(res, PQntuples(res), &days_len);
    PQclear(res);
    *body = xmalloc(days_len + 16);
    *len = (size_t)snprintf(*body, days_len + 16, "{\"days\":%s}", days);
    free(days);
    return ERR_OK;
}

/* Stored JSON as stored; a value that does not parse (it always should) becomes null. */
static json_t *stored_json(const PGresult *res, int row, int col)
{
    json_t *v = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

/* The event's data in its type's current shape (the upcaster chain every reader uses), so a
 * consumer needs one parser per type; schema_version stays as stored, telling auditors what
 * was written. Data no upcaster can raise (an unknown type or version) is shown as stored. */
static json_t *upcast_json(const PGresult *res, int row)
{
    json_t *data = stored_json(res, row, EV_COL_DATA);
    enum event_type t;
    if (!event_type_parse(PQgetvalue(res, row, EV_COL_TYPE), &t))
        return data;
    struct err_detail why = {0};
    json_t *up = event_data_upcast(t, (int)query_db_int(res, row, EV_COL_SCHEMA), data, &why);
    if (!up)
        return data;
    json_decref(data);
    return up;
}

json_t *reads_event_json(const PGresult *res, int row, bool with_stream)
{
    json_t *ev = json_pack(
        "{s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "position", int_json(res, row, EV_COL_POSITION),
        "stream_version", int_json(res, row, EV_COL_VERSION), "type",
        PQgetvalue(res, row, EV_COL_TYPE), "schema_version", int_json(res, row, EV_COL_SCHEMA),
        "data", upcast_json(res, row), "metadata", stored_json(res, row, EV_COL_METADATA),
        "recorded_at", time_json(res, row, EV_COL_RECORDED_MS));
    if (with_stream)
        json_object_set_new(ev, "stream_id", json_string(PQgetvalue(res, row, EV_COL_STREAM)));
    return ev;
}

static enum err stream_exists(const char *stream_id)
{
    const char *params[] = {stream_id};
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_STREAM_EXISTS, params, &e);
    if (res && PQntuples(res) == 0)
        e = ERR_NOT_FOUND;
    PQclear(res);
    return e;
}

enum err reads_stream(const char *stream_id, int64_t from_version, int limit, json_t **out)
{
    char v[24], l[24];
    snprintf(v, sizeof v, "%" PRId64, from_version);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {stream_id, v, l};
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_STREAM_EVENTS, params, &e);
    if (!res)
        return e;
    int n = PQntuples(res);
    json_t *events = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(events, reads_event_json(res, i, false));
    PQclear(res);
    if ((n == 0 && (e = stream_exists(stream_id)) != ERR_OK) ||
        (e = reveal_events(events)) != ERR_OK) {
        json_decref(events);
        return e;
    }
    *out = json_pack("{s:s, s:o}", "stream_id", stream_id, "events", events);
    return ERR_OK;
}

enum err reads_feed(int64_t after, int64_t upto, int limit, json_t **out)
{
    char a[24], u[24], l[24];
    snprintf(a, sizeof a, "%" PRId64, after);
    snprintf(u, sizeof u, "%" PRId64, upto);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {a, u, l};
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_FEED, params, &e);
    if (!res)
        return e;
    int n = PQntuples(res);
    json_t *events = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(events, reads_event_json(res, i, true));
    int64_t next = n > 0 ? query_db_int(res, n - 1, EV_COL_POSITION) : after;
    PQclear(res);
    if ((e = reveal_events(events)) != ERR_OK) {
        json_decref(events);
        return e;
    }
    *out = json_pack("{s:o, s:I}", "events", events, "next_after_position", (json_int_t)next);
    return ERR_OK;
}

/* The server answering, whether it is a standby, and how far its replay is behind what it
 * received (0 when it has replayed everything: an idle primary is not lag). */
#define SQL_READ_DATABASE                                                                          \
    "SELECT coalesce(host(inet_server_addr()) || ':' || inet_server_port(), 'local'), "            \
    "pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() "         \
    "IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 ELSE greatest(0, (1000 * "               \
    "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()))::bigint) END"

enum err reads_database(json_t **out)
{
    struct db_conn *c;
    PGresult *res = NULL;
    enum err e = db_pool_get(pool, &c, NULL);
    if (e != ERR_OK)
        return e;
    e = db_sql(c, SQL_READ_DATABASE, 0, NULL, &res);
    db_pool_put(pool, c);
    if (e != ERR_OK)
        return e;
    bool standby = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    *out = json_pack("{s:s, s:s, s:o}", "server", PQgetvalue(res, 0, 0), "role",
                     standby ? "standby" : "primary", "replay_lag_ms", int_json(res, 0, 2));
    PQclear(res);
    return ERR_OK;
}

/* One row of ST_PROJECTIONS; a SQL view (issue 17) also says its version, generation and state
 * (building beside the live one, or live). */
static json_t *projection_json(const PGresult *res, int i)
{
    int64_t position = query_db_int(res, i, 1), head = query_db_int(res, i, 5);
    if (head < position)
        head = position;
    json_t *p = json_pack("{s:s, s:I, s:I, s:I, s:o, s:s}", "name", PQgetvalue(res, i, 0),
                          "position", (json_int_t)position, "head_position", (json_int_t)head,
                          "lag_events", (json_int_t)(head - position), "updated_at",
                          time_json(res, i, 2), "status", PQgetvalue(res, i, 3));
    if (*PQgetvalue(res, i, 4))
        json_object_set_new(p, "error", json_string(PQgetvalue(res, i, 4)));
    if (!PQgetisnull(res, i, 6)) {
        json_object_set_new(p, "version", json_string(PQgetvalue(res, i, 6)));
        json_object_set_new(p, "generation", json_integer(query_db_int(res, i, 7)));
        json_object_set_new(p, "state", json_string(PQgetvalue(res, i, 8)));
    }
    return p;
}

enum err reads_projections(json_t **out)
{
    enum err e = ERR_OK;
    PGresult *res = reads_run(ST_PROJECTIONS, NULL, &e);
    if (!res)
        return e;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(arr, projection_json(res, i));
    PQclear(res);
    *out = arr;
    return ERR_OK;
}
