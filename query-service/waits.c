/* Parked min_position waits: a list of suspended requests and one waker thread that follows the
 * read database's checkpoint (waits_wait on the next position) and each request's deadline, and
 * resumes the requests that are due; their handlers then run again and answer. With
 * READ_DATABASE_URL that checkpoint is the one a standby has replayed, which no NOTIFY reports:
 * a poller thread reads it there, every few ms while anyone waits for it. */
#include "waits.h"
#include "waits_internal.h"

#include "clock.h"
#include "projector.h"
#include "query_db.h"
#include "xalloc.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define WAKER_IDLE_MS 250 /* the waker checks for stop at least this often */
#define POLL_BUSY_MS  2   /* replica checkpoint polls while a request or subscriber waits */
#define POLL_IDLE_MS  100 /* ... and otherwise, so X-Projection-Position stays recent */
#define POLL_DOWN_MS  500 /* ... and while the read database cannot be reached */

/* The checkpoint as visible on READ_DATABASE_URL (on = one is set). */
static struct {
    bool on, known, stop, started;
    pthread_mutex_t mu;
    pthread_cond_t advanced; /* the position moved */
    pthread_cond_t wanted;   /* demand arose: poll now */
    int64_t position;
    long demand; /* waiting requests and live subscribers */
    struct db_config config;
    struct db_conn *c;
    pthread_t thread;
} rp = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct wait {
    struct wait *next;
    struct request *r;
    int64_t min_position, deadline_ms;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t parked_one; /* a request parked: the waker recomputes its deadline */
    struct wait *list;
    long parked;
    uint64_t total;
    bool draining, stop, started;
    pthread_t thread;
} w = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
    struct timespec until = clock_deadline_after(ms);
    pthread_cond_timedwait(cv, mu, &until);
}

/* One read of the checkpoint row on the read database; false when it cannot be read. */
static bool poll_once(void)
{
    PGresult *res;
    if (db_read(rp.c, ST_PROJ_LOAD, NULL, &res) != ERR_OK)
        return false;
    bool ok = PQntuples(res) == 1;
    if (ok) {
        int64_t position = query_db_int(res, 0, 0);
        pthread_mutex_lock(&rp.mu);
        if (!rp.known || position != rp.position) {
            rp.position = position;
            rp.known = true;
            pthread_cond_broadcast(&rp.advanced);
        }
        pthread_mutex_unlock(&rp.mu);
    }
    PQclear(res);
    return ok;
}

/* Polls fast only while a parked request or a live subscriber waits for the next position;
 * otherwise slowly, and a new demand wakes it at once (see demand_add). */
static void *poller_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rp.mu);
    while (!rp.stop) {
        pthread_mutex_unlock(&rp.mu);
        bool ok = poll_once();
        pthread_mutex_lock(&rp.mu);
        if (rp.stop)
            break;
        if (ok && rp.demand > 0) {
            pthread_mutex_unlock(&rp.mu);
            nanosleep(&(struct timespec){0, POLL_BUSY_MS * 1000000L}, NULL);
            pthread_mutex_lock(&rp.mu);
        } else {
            cond_wait_ms(&rp.wanted, &rp.mu, ok ? POLL_IDLE_MS : POLL_DOWN_MS);
        }
    }
    pthread_mutex_unlock(&rp.mu);
    return NULL;
}

static void demand_add(long delta)
{
    if (!rp.on)
        return;
    pthread_mutex_lock(&rp.mu);
    rp.demand += delta;
    if (delta > 0)
        pthread_cond_signal(&rp.wanted);
    pthread_mutex_unlock(&rp.mu);
}

void waits_demand(int delta)
{
    demand_add(delta);
}

void waits_progress(struct projector_progress *out)
{
    projector_progress(out);
    if (!rp.on)
        return;
    pthread_mutex_lock(&rp.mu);
    out->position = rp.position;
    /* Until the read database answered once, its checkpoint is unknown: not ready. */
    if (!rp.known && out->status != PROJECTOR_FAILED)
        out->status = PROJECTOR_STARTING;
    pthread_mutex_unlock(&rp.mu);
    if (out->head < out->position)
        out->head = out->position;
}

bool waits_wait(int64_t min_position, int timeout_ms, int64_t *position)
{
    if (!rp.on)
        return projector_wait(min_position, timeout_ms, position);
    struct projector_progress p;
    projector_progress(&p);
    pthread_mutex_lock(&rp.mu);
    if (timeout_ms > 0 && rp.position < min_position && p.status != PROJECTOR_FAILED) {
        struct timespec until = clock_deadline_after(timeout_ms);
        while (rp.position < min_position &&
               pthread_cond_timedwait(&rp.advanced, &rp.mu, &until) == 0)
            ;
    }
    *position = rp.position;
    bool reached = rp.position >= min_position;
    pthread_mutex_unlock(&rp.mu);
    return reached;
}

bool waits_due(int64_t min_position, int64_t deadline_ms, int64_t position, int64_t now_ms,
               bool failed, bool draining)
{
    return position >= min_position || now_ms >= deadline_ms || failed || draining;
}

/* Under w.mu: resumes every parked request whose position, deadline or end has come. */
static void wake_due_locked(int64_t position, bool failed)
{
    int64_t now = clock_now_ms();
    for (struct wait **link = &w.list; *link;) {
        struct wait *x = *link;
        if (!waits_due(x->min_position, x->deadline_ms, position, now, failed, w.draining)) {
            link = &x->next;
            continue;
        }
        *link = x->next;
        w.parked--;
        demand_add(-1);
        projector_parked(-1);
        http_unpark(x->r);
        free(x);
    }
}

/* Under w.mu: how long the waker may sleep before the earliest deadline. */
static int sleep_ms_locked(void)
{
    int64_t now = clock_now_ms(), ms = WAKER_IDLE_MS;
    for (struct wait *x = w.list; x; x = x->next)
        if (x->deadline_ms - now < ms)
            ms = x->deadline_ms - now;
    return ms < 1 ? 1 : (int)ms;
}

/* Wakes on every advance of the checkpoint (not only on the smallest wanted position), so a
 * request parked while the waker slept is never left waiting for a later one. */
static void *waker_main(void *arg)
{
    (void)arg;
    int64_t seen = -1;
    pthread_mutex_lock(&w.mu);
    while (!w.stop) {
        if (!w.list) {
            cond_wait_ms(&w.parked_one, &w.mu, WAKER_IDLE_MS);
            continue;
        }
        int ms = sleep_ms_locked();
        pthread_mutex_unlock(&w.mu);
        int64_t position;
        waits_wait(seen + 1, ms, &position);
        struct projector_progress p;
        waits_progress(&p);
        seen = position;
        pthread_mutex_lock(&w.mu);
        wake_due_locked(position, p.status == PROJECTOR_FAILED);
    }
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* The poller of the read database's checkpoint; its own connection, outside the pool. */
static bool poller_start(const char *read_url)
{
    rp.on = true;
    cond_init_monotonic(&rp.advanced);
    cond_init_monotonic(&rp.wanted);
    query_db_config(&rp.config, read_url, "orderly-query-poll", NULL);
    rp.c = db_conn_new(&rp.config, DB_LAZY);
    if (pthread_create(&rp.thread, NULL, poller_main, NULL) != 0)
        return false;
    rp.started = true;
    return true;
}

bool waits_start(const char *read_url)
{
    cond_init_monotonic(&w.parked_one);
    if (read_url && !poller_start(read_url))
        return false;
    if (pthread_create(&w.thread, NULL, waker_main, NULL) != 0)
        return false;
    pthread_mutex_lock(&w.mu);
    w.started = true;
    pthread_mutex_unlock(&w.mu);
    return true;
}

bool waits_may_park(bool started, bool draining, const struct projector_progress *p,
                    int64_t min_position, int64_t now_ms, int64_t deadline_ms)
{
    return started && !draining && p->position < min_position && p->status != PROJECTOR_FAILED &&
           now_ms < deadline_ms;
}

/* Parked under w.mu, so the waker can only resume a request that is really suspended. */
bool waits_park(struct request *r, int64_t min_position, int64_t deadline_ms)
{
    struct projector_progress p;
    pthread_mutex_lock(&w.mu);
    waits_progress(&p);
    bool park =
        waits_may_park(w.started, w.draining, &p, min_position, clock_now_ms(), deadline_ms);
    if (park) {
        struct wait *x = xmalloc(sizeof *x);
        *x = (struct wait){w.list, r, min_position, deadline_ms};
        w.list = x;
        w.parked++;
        w.total++;
        demand_add(1);
        projector_parked(1);
        http_park(r);
        pthread_cond_signal(&w.parked_one);
    }
    pthread_mutex_unlock(&w.mu);
    return park;
}

void waits_drain(void)
{
    pthread_mutex_lock(&w.mu);
    w.draining = true;
    wake_due_locked(0, false);
    pthread_mutex_unlock(&w.mu);
}

void waits_stop(void)
{
    pthread_mutex_lock(&w.mu);
    bool started = w.started;
    w.started = false;
    w.stop = true;
    wake_due_locked(0, true);
    pthread_cond_signal(&w.parked_one);
    pthread_mutex_unlock(&w.mu);
    if (started)
        pthread_join(w.thread, NULL);
    if (!rp.started)
        return;
    pthread_mutex_lock(&rp.mu);
    rp.stop = true;
    pthread_cond_signal(&rp.wanted);
    pthread_mutex_unlock(&rp.mu);
    pthread_join(rp.thread, NULL);
    rp.started = false;
    db_conn_free(rp.c);
    rp.c = NULL;
}

void waits_metrics(void *buf)
{
    pthread_mutex_lock(&w.mu);
    long parked = w.parked;
    uint64_t total = w.total;
    pthread_mutex_unlock(&w.mu);
    metrics_printf(buf,
                   "# HELP orderly_min_position_parked GETs parked until the read model reaches "
                   "their min_position\n# TYPE orderly_min_position_parked gauge\n"
                   "orderly_min_position_parked %ld\n",
                   parked);
    metrics_printf(buf,
                   "# HELP orderly_min_position_parked_total GETs that were parked for "
                   "min_position\n# TYPE orderly_min_position_parked_total counter\n"
                   "orderly_min_position_parked_total %" PRIu64 "\n",
                   total);
}
