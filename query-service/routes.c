/* The query service's route table and handlers: parse and check parameters, wait for
 * read-your-writes, ask reads.c, answer. Every answer carries X-Projection-Position. */
#include "routes.h"

#include "console/console.h"
#include "domain/domain.h"
#include "live.h"
#include "numparse.h"
#include "prelude.h"
#include "projector.h"
#include "reads.h"
#include "timefmt.h"
#include "verify.h"
#include "views_http.h"
#include "waits.h"
#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST_DEFAULT    50
#define LIST_MAX        500
#define EVENTS_DEFAULT  100
#define EVENTS_MAX_PAGE 1000
#define CURSOR_PREFIX   'c'

/* Every 503 here (database unavailable, not ready) is worth a retry soon. */
static void fail(struct request *r, enum err e)
{
    if (err_status(e) == 503)
        http_add_header(r, "Retry-After", "1");
    problem_send(r, e, NULL);
}

/* routes.c's GETs report the read model's checkpoint (views_http.c reports a view's). */
static bool prelude(struct request *r, int64_t *position)
{
    int64_t min;
    return prelude_wait(r, true, position, &min);
}

static void answer(struct request *r, enum err e, json_t *body)
{
    if (e == ERR_OK)
        http_respond_json(r, 200, body);
    else if (e == ERR_BAD_PARAM) /* the database refused a value (SQLSTATE class 22) */
        prelude_bad_param(r, "a parameter is outside what the database accepts");
    else
        fail(r, e);
}

/* ?as_of= may arrive with its '+' offset decoded to a space; put it back. */
static bool parse_as_of(const char *s, int64_t *ms)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return false;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *p = buf; *p; p++)
        if (*p == ' ')
            *p = '+';
    return timefmt_parse(buf, ms);
}

/* answer() for a body of stored bytes (documents, joined or not); frees body. */
static void answer_bytes(struct request *r, enum err e, char *body, size_t len)
{
    if (e == ERR_OK)
        http_respond_raw(r, 200, "application/json", body, len);
    else
        answer(r, e, NULL);
    free(body);
}

/* The stored document as is: one lookup, one copy; the ETag is the quoted stream version, as
 * the command side's. */
static void answer_document(struct request *r, bool order, const char *id)
{
    char *doc = NULL, etag[32];
    size_t len = 0;
    int64_t version = 0;
    enum err e = reads_document(order, id, &doc, &len, &version);
    if (e == ERR_OK) {
        snprintf(etag, sizeof etag, "\"%" PRId64 "\"", version);
        http_add_header(r, "ETag", etag);
    }
    answer_bytes(r, e, doc, len);
}

static void get_aggregate(struct request *r, bool order)
{
    int64_t position, bound;
    if (!prelude(r, &position))
        return;
    const char *id = http_param(r, 0);
    const char *as_of = http_query(r, "as_of"), *version = http_query(r, "version");
    json_t *body = NULL;
    enum err e;
    if (as_of && version) {
        prelude_bad_param(r, "as_of and version cannot be combined");
        return;
    }
    if (as_of && !parse_as_of(as_of, &bound)) {
        prelude_bad_param(r, "as_of must be an RFC 3339 timestamp");
        return;
    }
    if (version && !numparse_int64(version, 1, INT64_MAX, &bound)) {
        prelude_bad_param(r, "version must be an integer between 1 and 9223372036854775807");
        return;
    }
    if (id && id_is_valid(id) && !as_of && !version) {
        answer_document(r, order, id);
        return;
    }
    if (!id || !id_is_valid(id))
        e = ERR_NOT_FOUND;
    else
        e = reads_aggregate_at(order, id, version != NULL, bound, &body);
    answer(r, e, body);
}

static void handle_order(struct request *r)
{
    get_aggregate(r, true);
}

static void handle_account(struct request *r)
{
    get_aggregate(r, false);
}

/* An empty filter (?status=) means no filter. */
static const char *query_filter(struct request *r, const char *name)
{
    const char *v = http_query(r, name);
    return v && *v ? v : NULL;
}

static bool parse_cursor(struct request *r, int64_t *before)
{
    const char *c = http_query(r, "cursor");
    *before = INT64_MAX;
    if (!c || !*c)
        return true;
    if (c[0] == CURSOR_PREFIX && numparse_int64(c + 1, 1, INT64_MAX, before))
        return true;
    prelude_bad_param(r, "cursor is not one this service returned");
    return false;
}

static bool status_is_valid(const char *s)
{
    for (int st = ORDER_PLACED; st <= ORDER_CANCELLED; st++)
        if (strcmp(s, order_status_name((enum order_status)st)) == 0)
            return true;
    return false;
}

static void list(struct request *r, bool order)
{
    int64_t position, limit = LIST_DEFAULT, before, next = 0;
    if (!prelude(r, &position) || !prelude_int(r, "limit", 1, LIST_MAX, &limit) ||
        !parse_cursor(r, &before))
        return;
    const char *f1 = query_filter(r, order ? "customer_id" : "owner");
    const char *f2 = order ? query_filter(r, "status") : NULL;
    if (f2 && !status_is_valid(f2)) {
        prelude_bad_param(r, "status must be one of placed, paid, shipped, cancelled");
        return;
    }
    char *items = NULL;
    size_t len = 0;
    enum err e = reads_list(order, f1, f2, before, (int)limit, &items, &len, &next);
    if (e != ERR_OK) {
        answer(r, e, NULL);
        return;
    }
    /* The bytes jansson wrote for {"items":[...],"next_cursor":...} before lists were documents. */
    char cursor[40] = "null";
    if (next)
        snprintf(cursor, sizeof cursor, "\"%c%" PRId64 "\"", CURSOR_PREFIX, next);
    size_t cap = len + sizeof cursor + 32;
    char *body = xmalloc(cap);
    int n = snprintf(body, cap, "{\"items\":%s,\"next_cursor\":%s}", items, cursor);
    answer_bytes(r, ERR_OK, body, (size_t)n);
    free(items);
}

static void handle_orders(struct request *r)
{
    list(r, true);
}

static void handle_accounts(struct request *r)
{
    list(r, false);
}

static void handle_customer(struct request *r)
{
    int64_t position;
    if (!prelude(r, &position))
        return;
    const char *id = http_param(r, 0);
    char *doc = NULL;
    size_t len = 0;
    enum err e = id && id_is_valid(id) ? reads_customer(id, &doc, &len) : ERR_NOT_FOUND;
    answer_bytes(r, e, doc, len);
}

static void handle_revenue(struct request *r)
{
    int64_t position, from_ms, to_ms;
    if (!prelude(r, &position))
        return;
    const char *from = http_query(r, "from"), *to = http_query(r, "to");
    if (!from || !to) {
        prelude_bad_param(r, "from and to are required (YYYY-MM-DD)");
        return;
    }
    if (strlen(from) != 10 || !timefmt_parse_date(from, &from_ms)) {
        prelude_bad_param(r, "from must be a date YYYY-MM-DD");
        return;
    }
    if (strlen(to) != 10 || !timefmt_parse_date(to, &to_ms)) {
        prelude_bad_param(r, "to must be a date YYYY-MM-DD");
        return;
    }
    if (from_ms > to_ms) {
        prelude_bad_param(r, "from must not be after to");
        return;
    }
    char *body = NULL;
    size_t len = 0;
    enum err e = reads_revenue(from, to, &body, &len);
    answer_bytes(r, e, body, len);
}

static void handle_stream(struct request *r)
{
    int64_t position, from_version = 1, limit = EVENTS_DEFAULT;
    if (!prelude(r, &position) || !prelude_int(r, "from_version", 0, INT64_MAX, &from_version) ||
        !prelude_int(r, "limit", 1, EVENTS_MAX_PAGE, &limit))
        return;
    const char *stream = http_param(r, 0);
    json_t *body = NULL;
    enum err e = ERR_NOT_FOUND;
    if (stream && *stream && strlen(stream) <= 100)
        e = reads_stream(stream, from_version, (int)limit, &body);
    answer(r, e, body);
}

/* The feed stops at the checkpoint: above it a late commit may still fill a gap, and a client
 * that had moved past that position would never see the event. */
static void handle_feed(struct request *r)
{
    int64_t position, after = 0, limit = EVENTS_DEFAULT;
    if (!prelude(r, &position) || !prelude_int(r, "after_position", 0, INT64_MAX, &after) ||
        !prelude_int(r, "limit", 1, EVENTS_MAX_PAGE, &limit))
        return;
    json_t *body = NULL;
    enum err e = reads_feed(after, position, (int)limit, &body);
    answer(r, e, body);
}

/* The audit trail's chain check: not behind min_position (it reads the log, not the read
 * tables), but the prelude keeps the header and the 400s the same as every GET. */
static void handle_stream_verify(struct request *r)
{
    int64_t position;
    if (!prelude(r, &position))
        return;
    const char *stream = http_param(r, 0);
    json_t *body = NULL;
    enum err e = ERR_NOT_FOUND;
    if (stream && *stream && strlen(stream) <= 100)
        e = verify_stream(stream, &body);
    answer(r, e, body);
}

/* Who answers: this instance, its projector's role (leader or standby projector) and the
 * database its reads come from (borrowed: database gets another reference). */
static json_t *served_by(json_t *database)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    char instance[300];
    snprintf(instance, sizeof instance, "%s/%ld", host, (long)getpid());
    struct projector_progress p;
    projector_progress(&p); /* this instance's own projector, not the read database's */
    return json_pack("{s:s, s:s, s:O}", "instance", instance, "role",
                     projector_status_name(p.status), "read_database", database);
}

static void handle_projections(struct request *r)
{
    int64_t position;
    if (!prelude(r, &position))
        return;
    json_t *body = NULL, *database = NULL;
    enum err e = reads_projections(&body);
    if (e == ERR_OK && (e = reads_database(&database)) != ERR_OK) {
        json_decref(body);
        body = NULL;
    }
    size_t i;
    json_t *row;
    json_array_foreach(body, i, row) json_object_set_new(row, "served_by", served_by(database));
    json_decref(database);
    answer(r, e, body);
}

static void handle_readyz(struct request *r)
{
    int64_t position;
    if (!prelude(r, &position))
        return;
    struct projector_progress p;
    waits_progress(&p);
    struct err_detail why = {0};
    if (reads_ping() != ERR_OK) {
        fail(r, ERR_DB_DOWN);
        return;
    }
    if (p.status != PROJECTOR_LEADER && p.status != PROJECTOR_STANDBY) {
        err_set(&why, ERR_NOT_READY, "projector is %s%s%s", projector_status_name(p.status),
                p.error[0] ? ": " : "", p.error);
        http_add_header(r, "Retry-After", "1");
        problem_send(r, ERR_NOT_READY, &why);
        return;
    }
    json_t *body = json_pack("{s:s}", "status", "ready"), *database = NULL;
    if (reads_database(&database) == ERR_OK)
        json_object_set_new(body, "served_by", served_by(database));
    json_decref(database);
    http_respond_json(r, 200, body);
}

static void handle_healthz(struct request *r)
{
    int64_t position;
    if (prelude(r, &position))
        http_handle_healthz(r);
}

static void handle_metrics(struct request *r)
{
    int64_t position;
    if (prelude(r, &position))
        http_handle_metrics(r);
}

/* The web console's static files (console/console.c); /console is its page. */
static void handle_console(struct request *r)
{
    int64_t position;
    if (prelude(r, &position))
        console_serve(r, http_param(r, 0));
}

static const struct route routes[] = {
    {"GET", "/v1/orders", handle_orders},
    {"GET", "/v1/orders/{id}", handle_order},
    {"GET", "/v1/accounts", handle_accounts},
    {"GET", "/v1/accounts/{id}", handle_account},
    {"GET", "/v1/customers/{id}", handle_customer},
    {"GET", "/v1/stats/revenue", handle_revenue},
    {"GET", "/v1/streams/{stream_id}/events", handle_stream},
    {"GET", "/v1/streams/{stream_id}/verify", handle_stream_verify},
    {"GET", "/v1/events", handle_feed},
    {"GET", "/v1/events/live", live_handle},
    {"GET", "/v1/projections", handle_projections},
    {"GET", "/v1/views/{name}", views_http_list},
    {"GET", "/v1/views/{name}/{key...}", views_http_row},
    {"GET", "/readyz", handle_readyz},
    {"GET", "/healthz", handle_healthz},
    {"GET", "/metrics", handle_metrics},
    {"GET", "/console", handle_console},
    {"GET", "/console/{file}", handle_console},
};

const struct route *routes_table(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
