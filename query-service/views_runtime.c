/* SQL views at run time: the projector's batch hook and the builder thread (see the header and
 * docs/views-runtime.md). Every step is one SQL function of migrations/0010_views.sql run in
 * one transaction, so a kill at any instant loses at most the step in flight, never applies an
 * event twice. */
#include "views_runtime.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "query_db.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_EVENTS    5000 /* events per catch-up step: one transaction each */
#define WATCH_MS       1000 /* how often the leading projector reads the catalog */
#define IDLE_MS        250  /* how soon the builder notices there is work */
#define BACKOFF_MAX_MS 5000
#define VIEWS_MAX      64 /* views the metrics show (the catalog's non-retired rows) */
#define SCHEMA_MAX     64 /* "v_" + 40-char name + "_" + 8 hex + "_" + generation */

struct view_row {
    char name[48];
    int generation;
    char state[12];
    bool failed;
    int64_t position;
};

static struct {
    pthread_t thread;
    bool started;
    atomic_bool stopping, leading;
    atomic_bool wanted; /* some view is building: the builder connects until none is */
    struct db_config config;
    struct db_conn *c; /* DB_SESSION: its role (as_query_role) lives as long as it */
    int64_t watched_ms;
    /* The catalog as the projector read it last, for /metrics (mu). */
    pthread_mutex_t mu;
    struct view_row rows[VIEWS_MAX];
    int nrows;
    atomic_uint_fast64_t live_events, build_steps;
} vr = {.mu = PTHREAD_MUTEX_INITIALIZER};

void views_leading(bool leading)
{
    atomic_store(&vr.leading, leading);
}

/* Handlers run with orderly_query's rights even when the service connects as a more powerful
 * role (a superuser in the test cluster): they must never write events. SET LOCAL (is_local)
 * ends with the transaction; the rows the projector writes next are orderly_query's own. */
static enum err as_query_role(struct db_conn *c, bool is_local)
{
    const char *params[] = {is_local ? "true" : "false"};
    return db_write(c, ST_VIEWS_QUERY_ROLE, params, NULL, NULL);
}

enum err views_apply_live(struct db_conn *c, int64_t from, int64_t to)
{
    char f[24], t[24];
    snprintf(f, sizeof f, "%" PRId64, from);
    snprintf(t, sizeof t, "%" PRId64, to);
    const char *params[] = {f, t};
    PGresult *res;
    enum err rc = as_query_role(c, true);
    if (rc == ERR_OK)
        rc = db_write(c, ST_VIEWS_APPLY_LIVE, params, &res, NULL);
    if (rc != ERR_OK)
        return rc;
    atomic_fetch_add(&vr.live_events, (uint64_t)query_db_int(res, 0, 0));
    PQclear(res);
    return ERR_OK;
}

bool views_watch(struct db_conn *c)
{
    int64_t now = clock_now_ms();
    if (now - vr.watched_ms < WATCH_MS)
        return true;
    vr.watched_ms = now;
    PGresult *res;
    if (db_read(c, ST_VIEWS_STATE, NULL, &res) != ERR_OK)
        return false;
    bool building = false;
    pthread_mutex_lock(&vr.mu);
    vr.nrows = 0;
    for (int i = 0; i < PQntuples(res) && vr.nrows < VIEWS_MAX; i++) {
        struct view_row *r = &vr.rows[vr.nrows++];
        snprintf(r->name, sizeof r->name, "%s", PQgetvalue(res, i, 0));
        r->generation = (int)query_db_int(res, i, 1);
        snprintf(r->state, sizeof r->state, "%s", PQgetvalue(res, i, 2));
        r->failed = strcmp(PQgetvalue(res, i, 3), "failed") == 0;
        r->position = query_db_int(res, i, 4);
        building |= strcmp(r->state, "building") == 0 && !r->failed;
    }
    pthread_mutex_unlock(&vr.mu);
    PQclear(res);
    if (building)
        atomic_store(&vr.wanted, true);
    return true;
}

/* One catch-up step of the view in schema (of view name), logging when it went live or failed;
 * false if the session broke. */
static bool build_step(const char *schema, const char *name)
{
    char max[16];
    snprintf(max, sizeof max, "%d", STEP_EVENTS);
    const char *params[] = {schema, max};
    PGresult *res;
    if (db_write(vr.c, ST_VIEW_BUILD_STEP, params, &res, NULL) != ERR_OK)
        return false;
    atomic_fetch_add(&vr.build_steps, 1);
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "failed") == 0)
        log_msg(LOG_ERROR,
                "views: %s (%s) failed while building at position %s; its error is in "
                "/v1/projections",
                name, schema, PQgetvalue(res, 0, 0));
    else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "live") == 0)
        log_msg(LOG_INFO, "views: %s (%s) is live at position %s", name, schema,
                PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

/* The views to build, oldest first: up to max schema/name pairs. */
static bool building(char (*schemas)[SCHEMA_MAX], char (*names)[48], int max, int *n)
{
    PGresult *res;
    if (db_read(vr.c, ST_VIEWS_BUILDING, NULL, &res) != ERR_OK)
        return false;
    *n = 0;
    for (int i = 0; i < PQntuples(res) && *n < max; i++, (*n)++) {
        snprintf(schemas[*n], SCHEMA_MAX, "%s", PQgetvalue(res, i, 0));
        snprintf(names[*n], 48, "%s", PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return true;
}

/* One round: a step of every building view, so one long build does not starve a newer one.
 * When none is left the builder is no longer wanted (views_watch wants it again). */
static bool build_round(void)
{
    char schemas[8][SCHEMA_MAX], names[8][48];
    int n;
    if (!building(schemas, names, 8, &n))
        return false;
    for (int i = 0; i < n && !atomic_load(&vr.stopping) && atomic_load(&vr.leading); i++) {
        if (!build_step(schemas[i], names[i]))
            return false;
    }
    if (n == 0)
        atomic_store(&vr.wanted, false);
    return true;
}

static bool open_session(void)
{
    if (db_connect(vr.c) != ERR_OK)
        return false;
    if (as_query_role(vr.c, false) != ERR_OK) {
        db_disconnect(vr.c);
        return false;
    }
    log_msg(LOG_INFO, "views: builder connected");
    return true;
}

static void sleep_ms(int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&vr.stopping); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

/* Connected only while this instance leads and some view builds: otherwise the service holds
 * the connections it held before SQL views existed (the pool and the projector's). */
static void *builder_main(void *arg)
{
    (void)arg;
    int backoff_ms = IDLE_MS;
    while (!atomic_load(&vr.stopping)) {
        if (!atomic_load(&vr.leading) || !atomic_load(&vr.wanted)) {
            if (db_connected(vr.c)) {
                db_disconnect(vr.c);
                log_msg(LOG_INFO, "views: builder idle, disconnected");
            }
            sleep_ms(IDLE_MS);
            continue;
        }
        if ((!db_connected(vr.c) && !open_session()) || !build_round()) {
            db_disconnect(vr.c);
            sleep_ms(backoff_ms);
            backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
            continue;
        }
        backoff_ms = IDLE_MS;
    }
    return NULL;
}

bool views_start(const char *database_url)
{
    query_db_config(&vr.config, database_url, "orderly-query-views", NULL);
    vr.c = db_conn_new(&vr.config, DB_SESSION);
    atomic_store(&vr.stopping, false);
    if (pthread_create(&vr.thread, NULL, builder_main, NULL) != 0) {
        db_conn_free(vr.c);
        vr.c = NULL;
        return false;
    }
    vr.started = true;
    return true;
}

void views_stop(void)
{
    if (!vr.started)
        return;
    atomic_store(&vr.stopping, true);
    pthread_join(vr.thread, NULL);
    db_conn_free(vr.c);
    vr.c = NULL;
    vr.started = false;
}

void views_metrics(void *buf)
{
    metrics_printf(buf,
                   "# HELP orderly_view_live_events_total events the live SQL views' "
                   "handlers got in this instance's projector batches\n"
                   "# TYPE orderly_view_live_events_total counter\n"
                   "orderly_view_live_events_total %" PRIu64 "\n",
                   (uint64_t)atomic_load(&vr.live_events));
    metrics_printf(buf,
                   "# HELP orderly_view_build_steps_total catch-up steps this instance's "
                   "builder ran\n# TYPE orderly_view_build_steps_total counter\n"
                   "orderly_view_build_steps_total %" PRIu64 "\n",
                   (uint64_t)atomic_load(&vr.build_steps));
    pthread_mutex_lock(&vr.mu);
    metrics_printf(buf, "# HELP orderly_view_position last event position applied to a SQL view "
                        "(leader only)\n# TYPE orderly_view_position gauge\n");
    for (int i = 0; i < vr.nrows; i++)
        metrics_printf(buf,
                       "orderly_view_position{view=\"%s\",generation=\"%d\",state=\"%s\"} "
                       "%" PRId64 "\n",
                       vr.rows[i].name, vr.rows[i].generation, vr.rows[i].state,
                       vr.rows[i].position);
    metrics_printf(buf, "# HELP orderly_view_failed 1 when a handler of the SQL view raised "
                        "(leader only)\n# TYPE orderly_view_failed gauge\n");
    for (int i = 0; i < vr.nrows; i++)
        metrics_printf(buf, "orderly_view_failed{view=\"%s\",generation=\"%d\",state=\"%s\"} %d\n",
                       vr.rows[i].name, vr.rows[i].generation, vr.rows[i].state, vr.rows[i].failed);
    pthread_mutex_unlock(&vr.mu);
}
