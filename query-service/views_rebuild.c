/* `query-service rebuild NAME` for a SQL view (issue 17): registers the live version's file text
 * again as a new generation, which the leader's builder (views_runtime.c) fills from position 0
 * beside the live one and swaps in; this command only registers and watches. */
#include "views_rebuild.h"

#include "clock.h"
#include "log.h"
#include "query_db.h"
#include "read_model.h"
#include "store/migrate.h"
#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS     200
#define PROGRESS_MS 5000
/* A build that has not moved for this long has no leader to run it: give up, it stays
 * registered and a leader that comes up later still builds it. */
#define STALL_MS 120000

#define SQL_SOURCE "SELECT orderly_view_source($1)"
#define SQL_WATCH                                                                                  \
    "SELECT state, status, position, coalesce(error, '') FROM orderly_views "                      \
    "WHERE schema_name = $1"

/* The live (else building) version's text into *source (caller frees); NULL when name is not
 * a registered view. False on a database error (logged). */
static bool load_source(struct db_conn *c, const char *name, char **source)
{
    const char *params[] = {name};
    PGresult *res;
    *source = NULL;
    if (db_sql(c, SQL_SOURCE, 1, params, &res) != ERR_OK)
        return false;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        *source = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

struct watch {
    char state[16], status[16], error[512];
    int64_t position;
};

static bool look(struct db_conn *c, const char *schema, struct watch *w)
{
    const char *params[] = {schema};
    PGresult *res;
    if (db_sql(c, SQL_WATCH, 1, params, &res) != ERR_OK)
        return false;
    bool ok = PQntuples(res) == 1;
    if (ok) {
        snprintf(w->state, sizeof w->state, "%s", PQgetvalue(res, 0, 0));
        snprintf(w->status, sizeof w->status, "%s", PQgetvalue(res, 0, 1));
        w->position = query_db_int(res, 0, 2);
        snprintf(w->error, sizeof w->error, "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return ok;
}

/* Polls the new generation until it is live (0) or failed, retired by a newer registration, or
 * stalled (1), logging its position every PROGRESS_MS. */
static int watch(struct db_conn *c, const char *name, const char *schema)
{
    struct watch w;
    int64_t moved_ms = clock_now_ms(), logged_ms = moved_ms, last = -1;
    while (look(c, schema, &w)) {
        if (strcmp(w.status, "failed") == 0) {
            log_msg(LOG_ERROR, "rebuild: %s (%s) failed at position %" PRId64 ": %s", name, schema,
                    w.position, w.error);
            return 1;
        }
        if (strcmp(w.state, "building") != 0) {
            bool live = strcmp(w.state, "live") == 0;
            log_msg(live ? LOG_INFO : LOG_ERROR, "rebuild: %s (%s) is %s at position %" PRId64,
                    name, schema, w.state, w.position);
            return live ? 0 : 1;
        }
        int64_t now = clock_now_ms();
        if (w.position != last) {
            last = w.position;
            moved_ms = now;
        } else if (now - moved_ms > STALL_MS) {
            log_msg(LOG_ERROR,
                    "rebuild: %s (%s) has not moved from position %" PRId64
                    " in %d s: is a query-service running (its leader builds)?",
                    name, schema, w.position, STALL_MS / 1000);
            return 1;
        }
        if (now - logged_ms >= PROGRESS_MS) {
            log_msg(LOG_INFO, "rebuild: %s (%s) building, at position %" PRId64, name, schema,
                    w.position);
            logged_ms = now;
        }
        nanosleep(&(struct timespec){0, POLL_MS * 1000000L}, NULL);
    }
    log_msg(LOG_ERROR, "rebuild: lost track of %s (%s)", name, schema);
    return 1;
}

int views_rebuild_run(const char *database_url, const char *name)
{
    struct db_config cfg;
    query_db_config(&cfg, database_url, "orderly-query-rebuild", NULL);
    struct db_conn *c = db_conn_new(&cfg, DB_SESSION);
    char *source = NULL, schema[128], err[256];
    int rc = 1;
    if (db_connect(c) != ERR_OK || !load_source(c, name, &source)) {
        log_msg(LOG_ERROR,
                "rebuild: cannot read projection %s (DATABASE_URL must be the "
                "migrating role's)",
                name);
    } else if (!source) {
        fprintf(stderr,
                "query-service rebuild: unknown projection \"%s\" (known: " READ_MODEL_NAME
                " and the SQL views registered by migrate)\n",
                name);
        rc = 2;
    } else if (!migrate_view_register(c, name, source, true, schema, sizeof schema, err,
                                      sizeof err)) {
        log_msg(LOG_ERROR, "rebuild: cannot register %s again: %s", name, err);
    } else {
        log_msg(LOG_INFO, "rebuild: %s registered again as %s; the leader builds it", name, schema);
        rc = watch(c, name, schema);
    }
    free(source);
    db_conn_free(c);
    return rc;
}
