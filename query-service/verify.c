/* The audit trail's verifier: runs the chain checks of statements.h (ST_VERIFY_*) and turns
 * their rows into the HTTP answer or the CLI's report. */
#include "verify.h"
#include "verify_internal.h"

#include "config.h"
#include "log.h"
#include "query_db.h"
#include <inttypes.h>
#include <stdio.h>

#define VERIFY_EXIT_BROKEN 1
#define VERIFY_EXIT_CONFIG 2
#define VERIFY_EXIT_DB     3

static struct db_pool *pool;

void verify_init(struct db_pool *p)
{
    pool = p;
}

enum err verify_stream(const char *stream_id, json_t **out)
{
    struct db_conn *c;
    enum err e = db_pool_get(pool, &c, NULL);
    if (e != ERR_OK)
        return e;
    const char *params[] = {stream_id};
    PGresult *res;
    e = db_read(c, ST_VERIFY_STREAM, params, &res);
    if (e != ERR_OK)
        goto out;
    int64_t checked = query_db_int(res, 0, 0);
    bool ok = PQgetisnull(res, 0, 1);
    if (checked == 0)
        e = ERR_NOT_FOUND;
    else
        *out = json_pack("{s:s, s:b, s:I, s:o}", "stream_id", stream_id, "ok", ok, "checked",
                         (json_int_t)checked, "first_broken_position",
                         ok ? json_null() : json_integer(query_db_int(res, 0, 1)));
    PQclear(res);
out:
    db_pool_put(pool, c);
    return e;
}

int64_t verify_report(const PGresult *res)
{
    int64_t events = 0, streams = 0, broken = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0)) {
            events = query_db_int(res, i, 1);
            streams = query_db_int(res, i, 2);
            continue;
        }
        broken++;
        printf("broken: stream %s, first broken position %" PRId64 " (%" PRId64
               " events checked)\n",
               PQgetvalue(res, i, 0), query_db_int(res, i, 2), query_db_int(res, i, 1));
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
    struct db_config config;
    query_db_config(&config, cfg.database_url, "orderly-query-verify", NULL);
    struct db_conn *c = db_conn_new(&config, DB_LAZY);
    PGresult *res;
    enum err e = db_read(c, ST_VERIFY_ALL, NULL, &res);
    int rc = VERIFY_EXIT_DB;
    if (e == ERR_OK) {
        rc = verify_report(res) > 0 ? VERIFY_EXIT_BROKEN : 0;
        PQclear(res);
    } else {
        fprintf(stderr, "query-service verify: %s\n",
                e == ERR_DB_DOWN ? "cannot reach the database" : err_title(e));
    }
    fflush(stdout);
    db_conn_free(c);
    return rc;
}
