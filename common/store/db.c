/* The one libpq layer: connecting, lazy prepares, running statements, the SQLSTATE map and the
 * read-retry policy. The only file that calls PQconnect*, PQprepare or PQexec*
 * (tests/integration/test_db_lint.py checks it). */
#include "store/db.h"

#include "clock.h"

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A read is tried at most this often (one retry). */
#define DB_READ_TRIES 2

struct db_conn {
    const struct db_config *cfg;
    enum db_mode mode;
    PGconn *pg;     /* NULL while disconnected */
    bool listening; /* the idle socket may carry notifications */
    bool *prepared; /* per statement, on this connection */
};

static const struct db_fault fault_ok = {ERR_OK, false, false};
static const struct db_fault fault_lost = {ERR_DB_DOWN, true, true};

/* The SQLSTATE map. Writes see conflicts as 409 (the command pipeline retries or answers
 * them); reads have no conflict to report, so after their retry they are 503. */
static const struct {
    const char *prefix;
    enum err write, read;
    bool lost, retry;
} faults[] = {
    {"08", ERR_DB_DOWN, ERR_DB_DOWN, true, true},        /* connection exception */
    {"57P", ERR_DB_DOWN, ERR_DB_DOWN, true, true},       /* shutdown, crash, cannot connect now */
    {"53300", ERR_DB_DOWN, ERR_DB_DOWN, true, false},    /* too many connections */
    {"53", ERR_DB_DOWN, ERR_DB_DOWN, false, false},      /* out of memory, disk or locks */
    {"57014", ERR_DB_DOWN, ERR_DB_DOWN, false, false},   /* statement cancelled or timed out */
    {"40001", ERR_CONFLICT, ERR_DB_DOWN, false, true},   /* serialization failure */
    {"40P01", ERR_CONFLICT, ERR_DB_DOWN, false, true},   /* deadlock */
    {"55P03", ERR_IDEM_BUSY, ERR_DB_DOWN, false, true},  /* lock_timeout: on a write, a key
                                                          * another request still holds */
    {"23505", ERR_CONFLICT, ERR_INTERNAL, false, false}, /* a lost race on a unique key */
    {"22", ERR_BAD_PARAM, ERR_BAD_PARAM, false, false},  /* data exception: the input's fault */
};

struct db_fault db_classify(const char *sqlstate, bool read)
{
    if (!sqlstate || !*sqlstate)
        return fault_lost;
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        if (strncmp(sqlstate, faults[i].prefix, strlen(faults[i].prefix)) == 0)
            return (struct db_fault){read ? faults[i].read : faults[i].write, faults[i].lost,
                                     faults[i].retry};
    }
    return (struct db_fault){ERR_INTERNAL, false, false};
}

/* libpq's messages end with a newline and may span lines; logs want the first line. */
static int line_len(const char *msg)
{
    return msg ? (int)strcspn(msg, "\n") : 0;
}

/* Server notices (and a listening connection's goodbye) go to the log, not to stderr. */
static void notice_to_log(void *arg, const char *message)
{
    const struct db_conn *c = arg;
    log_msg(LOG_INFO, "%s: postgres says: %.*s", c->cfg->app_name, line_len(message), message);
}

struct db_conn *db_conn_new(const struct db_config *cfg, enum db_mode mode)
{
    struct db_conn *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->mode = mode;
    c->prepared = xcalloc((size_t)cfg->statement_count + 1, sizeof *c->prepared);
    return c;
}

void db_disconnect(struct db_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->listening = false;
}

void db_conn_free(struct db_conn *c)
{
    if (!c)
        return;
    db_disconnect(c);
    free(c->prepared);
    free(c);
}

bool db_connected(const struct db_conn *c)
{
    return c->pg != NULL;
}

/* The URL may set connect_timeout (it comes later in the array); application_name and options
 * are ours (they come after it). */
enum err db_connect(struct db_conn *c)
{
    db_disconnect(c);
    const struct db_config *cfg = c->cfg;
    const char *keys[] = {"connect_timeout", "dbname", "application_name", "options", NULL};
    const char *vals[] = {DB_CONNECT_TIMEOUT_S, cfg->conninfo, cfg->app_name,
                          cfg->options ? cfg->options : "", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(pg);
        log_msg(LOG_WARN, "%s: cannot connect to the database: %.*s", cfg->app_name, line_len(msg),
                msg);
        metrics_count_db_error();
        PQfinish(pg);
        return ERR_DB_DOWN;
    }
    PQsetNoticeProcessor(pg, notice_to_log, c);
    c->pg = pg;
    memset(c->prepared, 0, (size_t)cfg->statement_count * sizeof *c->prepared);
    return ERR_OK;
}

/* Before a statement goes out on an idle socket. A connection that does not LISTEN has nothing
 * to read while idle except the server's goodbye (a FATAL message or EOF after a restart), so a
 * readable socket means dead; a listening one reads what is there and looks again. */
static bool conn_alive(struct db_conn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK)
        return false;
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (poll(&pfd, 1, 0) == 0)
        return true;
    return c->listening && PQconsumeInput(c->pg) && PQstatus(c->pg) == CONNECTION_OK;
}

/* check_idle false skips conn_alive's poll(): for a pooled read, whose statement on a
 * connection that died while idle fails as lost and db_read runs it once more on a fresh one,
 * the check is a syscall per GET that buys nothing. */
static struct db_fault conn_ready(struct db_conn *c, bool check_idle)
{
    if (c->pg && (check_idle ? conn_alive(c) : PQstatus(c->pg) == CONNECTION_OK))
        return fault_ok;
    if (c->pg)
        log_msg(LOG_WARN, "%s: database connection lost while idle", c->cfg->app_name);
    db_disconnect(c);
    if (c->mode == DB_SESSION || db_connect(c) != ERR_OK)
        return (struct db_fault){ERR_DB_DOWN, true, false};
    return fault_ok;
}

/* Maps a failed result (NULL: nothing came back), logs it once and drops a lost connection. */
static struct db_fault fault_of(struct db_conn *c, const PGresult *r, const char *what, bool read)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg);
    struct db_fault f = db_classify(state, read);
    msg = msg ? msg : "";
    state = state ? state : "none";
    if (PQstatus(c->pg) == CONNECTION_BAD)
        f.lost = f.retry = true, f.err = ERR_DB_DOWN;
    const char *app = c->cfg->app_name;
    if (f.lost)
        log_msg(LOG_WARN, "%s: %s: database connection lost: %.*s", app, what, line_len(msg), msg);
    else if (f.err == ERR_INTERNAL)
        log_msg(LOG_ERROR, "%s: %s failed: sqlstate %s: %.*s", app, what, state, line_len(msg),
                msg);
    else if (f.err == ERR_DB_DOWN)
        log_msg(LOG_WARN, "%s: %s: sqlstate %s: %.*s", app, what, state, line_len(msg), msg);
    else
        log_msg(LOG_DEBUG, "%s: %s: sqlstate %s: %.*s", app, what, state, line_len(msg), msg);
    if (f.err == ERR_DB_DOWN || f.err == ERR_INTERNAL)
        metrics_count_db_error();
    if (f.lost)
        db_disconnect(c);
    return f;
}

/* Hands a successful result to *out (or clears it); maps and clears a failed one. */
static struct db_fault settle(struct db_conn *c, PGresult *r, const char *what, bool read,
                              PGresult **out, char constraint[64])
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = r;
        else
            PQclear(r);
        return fault_ok;
    }
    if (constraint) {
        const char *name = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
        snprintf(constraint, 64, "%s", name ? name : "");
    }
    struct db_fault f = fault_of(c, r, what, read);
    PQclear(r);
    return f;
}

static struct db_fault prepare_once(struct db_conn *c, int id, bool read)
{
    if (c->prepared[id])
        return fault_ok;
    const struct db_statement *st = &c->cfg->statements[id];
    PGresult *r = PQprepare(c->pg, st->name, st->sql, st->nparams, NULL);
    struct db_fault f = settle(c, r, st->name, read, NULL, NULL);
    if (f.err == ERR_OK)
        c->prepared[id] = true;
    return f;
}

/* Set once at start-up, before any connection is used (db_bound_writes). */
static int write_timeout_ms;

/* What one PQputCopyData call takes: large enough to be few calls, an int for libpq. */
#define COPY_CHUNK (1 << 20)

void db_bound_writes(int ms)
{
    write_timeout_ms = ms;
}

static void cancel_running(struct db_conn *c)
{
    char why[256] = "";
    PGcancel *k = PQgetCancel(c->pg);
    if (!k || !PQcancel(k, why, sizeof why))
        log_msg(LOG_WARN, "%s: cancel failed: %s", c->cfg->app_name, why);
    PQfreeCancel(k);
}

/* The last result of what was sent (NULL when nothing came back). */
static PGresult *last_result(struct db_conn *c)
{
    PGresult *r = NULL, *next;
    while ((next = PQgetResult(c->pg)) != NULL) {
        PQclear(r);
        r = next;
    }
    return r;
}

/* Waits for the answer to what was sent until timeout_ms, then cancels it (the server answers
 * a cancel at once, a commit waiting for a synchronous standby with success and a WARNING
 * "canceling wait for synchronous replication"). *late says the deadline passed. */
static PGresult *await_bounded(struct db_conn *c, int timeout_ms, bool *late)
{
    long long deadline = clock_now_ms() + timeout_ms;
    *late = false;
    while (PQisBusy(c->pg)) {
        long long left = deadline - clock_now_ms();
        if (left <= 0) {
            cancel_running(c);
            *late = true;
            break;
        }
        struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
        if ((poll(&pfd, 1, (int)left) < 0 && errno != EINTR) || !PQconsumeInput(c->pg))
            break;
    }
    return last_result(c);
}

/* The answer to a write just sent, within write_timeout_ms. Past it, whatever the server
 * answers is ERR_DB_DOWN: the statement may have committed, but not provably on a synchronous
 * standby. */
static struct db_fault write_bounded(struct db_conn *c, bool sent, const char *what, PGresult **out,
                                     char constraint[64])
{
    if (!sent)
        return settle(c, NULL, what, false, out, constraint);
    bool late;
    PGresult *r = await_bounded(c, write_timeout_ms, &late);
    if (!late)
        return settle(c, r, what, false, out, constraint);
    log_msg(LOG_WARN, "%s: %s: no answer within DB_COMMIT_TIMEOUT_MS (%d ms), cancelled: %s",
            c->cfg->app_name, what, write_timeout_ms,
            PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                ? "committed on this server only, not acknowledged"
                : "not committed");
    PQclear(r);
    metrics_count_db_error();
    return (struct db_fault){ERR_DB_DOWN, PQstatus(c->pg) == CONNECTION_BAD, false};
}

static struct db_fault run_prepared(struct db_conn *c, int id, const char *const *params, bool read,
                                    PGresult **out, char constraint[64])
{
    if (out)
        *out = NULL;
    if (constraint)
        constraint[0] = '\0';
    if (id < 0 || id >= c->cfg->statement_count) {
        log_msg(LOG_ERROR, "%s: no statement %d", c->cfg->app_name, id);
        return (struct db_fault){ERR_INTERNAL, false, false};
    }
    struct db_fault f = conn_ready(c, !read || c->mode != DB_LAZY || c->listening);
    if (f.err == ERR_OK)
        f = prepare_once(c, id, read);
    if (f.err != ERR_OK)
        return f;
    const struct db_statement *st = &c->cfg->statements[id];
    if (!read && write_timeout_ms > 0)
        return write_bounded(
            c, PQsendQueryPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0), st->name,
            out, constraint);
    PGresult *r = PQexecPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0);
    return settle(c, r, st->name, read, out, constraint);
}

enum err db_write(struct db_conn *c, int id, const char *const *params, PGresult **out,
                  char constraint[64])
{
    return run_prepared(c, id, params, false, out, constraint).err;
}

enum err db_read(struct db_conn *c, int id, const char *const *params, PGresult **out)
{
    struct db_fault f = fault_ok;
    for (int attempt = 0; attempt < DB_READ_TRIES; attempt++) {
        bool was_open = c->pg != NULL;
        f = run_prepared(c, id, params, true, out, NULL);
        /* A connection that failed to open now will not open on a second try either, and a
         * session's connection is only reopened by its owner. */
        if (f.err == ERR_OK || !f.retry || (f.lost && (!was_open || c->mode == DB_SESSION)))
            break;
    }
    return f.err;
}

enum err db_sql(struct db_conn *c, const char *sql, int nparams, const char *const *params,
                PGresult **out)
{
    if (out)
        *out = NULL;
    struct db_fault f = conn_ready(c, true);
    if (f.err != ERR_OK)
        return f.err;
    char what[48];
    snprintf(what, sizeof what, "%.40s", sql);
    if (write_timeout_ms > 0) {
        bool sent = nparams > 0
                        ? PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)
                        : PQsendQuery(c->pg, sql);
        return write_bounded(c, sent, what, out, NULL).err;
    }
    PGresult *r = nparams > 0 ? PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)
                              : PQexec(c->pg, sql);
    return settle(c, r, what, false, out, NULL).err;
}

/* Blocking, like every query-service write: only command-service bounds its writes
 * (db_bound_writes), and it never copies. An error in the data comes back as the COPY's result,
 * after the end is sent. */
enum err db_copy_in(struct db_conn *c, const char *copy_sql, const char *data, size_t len)
{
    struct db_fault f = conn_ready(c, true);
    if (f.err != ERR_OK)
        return f.err;
    PGresult *r = PQexec(c->pg, copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return settle(c, r, "COPY", false, NULL, NULL).err;
    PQclear(r);
    for (size_t sent = 0; sent < len;) {
        int n = len - sent > COPY_CHUNK ? COPY_CHUNK : (int)(len - sent);
        if (PQputCopyData(c->pg, data + sent, n) != 1)
            break; /* the connection is gone: the result below says so */
        sent += (size_t)n;
    }
    PQputCopyEnd(c->pg, NULL);
    f = settle(c, PQgetResult(c->pg), "COPY", false, NULL, NULL);
    while ((r = PQgetResult(c->pg)) != NULL)
        PQclear(r);
    return f.err;
}

enum err db_listen(struct db_conn *c, const char *listen_sql)
{
    enum err e = db_sql(c, listen_sql, 0, NULL, NULL);
    if (e == ERR_OK)
        c->listening = true;
    return e;
}

/* A notification that arrived while a statement ran is already in libpq's queue, where the
 * socket shows nothing more: it ends the wait at once instead of after timeout_ms. */
static bool drain_notifications(struct db_conn *c)
{
    PGnotify *n;
    bool any = false;
    while ((n = PQnotifies(c->pg)) != NULL) {
        PQfreemem(n);
        any = true;
    }
    return any;
}

enum err db_wait(struct db_conn *c, int timeout_ms, bool *notified)
{
    *notified = false;
    if (!c->pg)
        return ERR_DB_DOWN;
    if (drain_notifications(c)) {
        *notified = true;
        return ERR_OK;
    }
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    bool ok =
        pfd.fd >= 0 && (poll(&pfd, 1, timeout_ms) >= 0 || errno == EINTR) && PQconsumeInput(c->pg);
    if (ok)
        *notified = drain_notifications(c);
    if (ok && PQstatus(c->pg) == CONNECTION_OK)
        return ERR_OK;
    log_msg(LOG_WARN, "%s: database connection lost while waiting", c->cfg->app_name);
    db_disconnect(c);
    return ERR_DB_DOWN;
}

bool db_commit_timeout_load(int *ms, char *err, size_t err_len)
{
    return config_int("DB_COMMIT_TIMEOUT_MS", ms, err, err_len);
}
