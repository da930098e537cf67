/* The audit trail's verifier: runs the chain checks of statements.h (ST_VERIFY_*) on a
 * connection of its own and turns their rows into the HTTP answer or the CLI's report. */
#include "verify.h"

#include "config.h"
#include "log.h"
#include "readmodel.h"
#include <inttypes.h>
#include <stdio.h>

#define VERIFY_EXIT_BROKEN 1
#define VERIFY_EXIT_CONFIG 2
#define VERIFY_EXIT_DB     3

static const char *db_url;

void verify_init(const char *database_url)
{
    db_url = database_url;
}

/* A fresh connection per call rather than one kept per worker: verification is a rare audit
 * request, and it leaves the read path's connection pool (reads.c) alone. */
static PGconn *verify_connect(void)
{
    char err[512];
    PGconn *c = readmodel_connect(db_url, err, sizeof err);
    if (!c)
        log_msg(LOG_WARN, "verify: cannot connect: %s", err);
    return c;
}

/* Runs st; returns its tuples (the caller clears them) or NULL with *e set. */
static PGresult *verify_run(PGconn *c, enum stmt st, const char *const *params, enum err *e)
{
    PGresult *res = readmodel_exec(c, st, params);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    (void)readmodel_ok(c, st, res);
    *e = PQstatus(c) == CONNECTION_OK ? ERR_INTERNAL : ERR_DB_DOWN;
    PQclear(res);
    return NULL;
}

enum err verify_stream(const char *stream_id, json_t **out)
{
    PGconn *c = verify_connect();
    if (!c)
        return ERR_DB_DOWN;
    enum err e = ERR_OK;
    const char *params[] = {stream_id};
    PGresult *res = verify_run(c, ST_VERIFY_STREAM, params, &e);
    if (!res)
        goto out;
    int64_t checked = readmodel_int(res, 0, 0);
    bool ok = PQgetisnull(res, 0, 1);
    if (checked == 0)
        e = ERR_NOT_FOUND;
    else
        *out = json_pack("{s:s, s:b, s:I, s:o}", "stream_id", stream_id, "ok", ok, "checked",
                         (json_int_t)checked, "first_broken_position",
                         ok ? json_null() : json_integer(readmodel_int(res, 0, 1)));
    PQclear(res);
out:
    PQfinish(c);
    return e;
}

/* Prints the report of ST_VERIFY_ALL's rows; returns how many streams are broken. */
static int64_t verify_report(const PGresult *res)
{
    int64_t events = 0, streams = 0, broken = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0)) {
            events = readmodel_int(res, i, 1);
            streams = readmodel_int(res, i, 2);
            continue;
        }
        broken++;
        printf("broken: stream %s, first broken position %" PRId64 " (%" PRId64
               " events checked)\n",
               PQgetvalue(res, i, 0), readmodel_int(res, i, 2), readmodel_int(res, i, 1));
    }
    printf("verify: %" PRId64 " streams, %" PRId64 " events checked, ", streams, events);
    if (broken)
        printf("%" PRId64 " broken\n", broken);
    else
        printf("every chain intact\n");
    return broken;
}

int verify_main(void)
{
    struct config cfg;
    char err[256];
    if (!config_load(&cfg, 0, ORDERLY_SOURCE_MIGRATIONS, err, sizeof err)) {
        fprintf(stderr, "query-service verify: %s\n", err);
        return VERIFY_EXIT_CONFIG;
    }
    if (!log_init("query-service", cfg.log_level, cfg.log_format)) {
        fprintf(stderr, "query-service verify: bad LOG_LEVEL or LOG_FORMAT\n");
        return VERIFY_EXIT_CONFIG;
    }
    verify_init(cfg.database_url);
    PGconn *c = verify_connect();
    if (!c) {
        fprintf(stderr, "query-service verify: cannot connect to the database\n");
        return VERIFY_EXIT_DB;
    }
    enum err e = ERR_OK;
    PGresult *res = verify_run(c, ST_VERIFY_ALL, NULL, &e);
    int rc = VERIFY_EXIT_DB;
    if (res) {
        rc = verify_report(res) > 0 ? VERIFY_EXIT_BROKEN : 0;
        PQclear(res);
    } else {
        fprintf(stderr, "query-service verify: %s\n", err_title(e));
    }
    fflush(stdout);
    PQfinish(c);
    return rc;
}
