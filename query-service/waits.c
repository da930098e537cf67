/* Parked min_position waits: a list of suspended requests and one waker thread that follows the
 * projector's checkpoint (projector_wait on the next position) and each request's deadline, and
 * resumes the requests that are due; their handlers then run again and answer. */
#include "waits.h"

#include "projector.h"
#include "xalloc.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define WAKER_IDLE_MS 250 /* the waker checks for stop at least this often */

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

int64_t waits_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under w.mu: resumes every parked request whose position, deadline or end has come. */
static void wake_due_locked(int64_t position, bool failed)
{
    int64_t now = waits_now_ms();
    for (struct wait **link = &w.list; *link;) {
        struct wait *x = *link;
        if (position < x->min_position && now < x->deadline_ms && !failed && !w.draining) {
            link = &x->next;
            continue;
        }
        *link = x->next;
        w.parked--;
        http_unpark(x->r);
        free(x);
    }
}

/* Under w.mu: how long the waker may sleep before the earliest deadline. */
static int sleep_ms_locked(void)
{
    int64_t now = waits_now_ms(), ms = WAKER_IDLE_MS;
    for (struct wait *x = w.list; x; x = x->next)
        if (x->deadline_ms - now < ms)
            ms = x->deadline_ms - now;
    return ms < 1 ? 1 : (int)ms;
}

static void idle_wait_locked(int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&w.parked_one, &w.mu, &until);
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
            idle_wait_locked(WAKER_IDLE_MS);
            continue;
        }
        int ms = sleep_ms_locked();
        pthread_mutex_unlock(&w.mu);
        int64_t position;
        projector_wait(seen + 1, ms, &position);
        struct projector_progress p;
        projector_progress(&p);
        seen = position;
        pthread_mutex_lock(&w.mu);
        wake_due_locked(position, p.status == PROJECTOR_FAILED);
    }
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

bool waits_start(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.parked_one, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&w.thread, NULL, waker_main, NULL) != 0)
        return false;
    pthread_mutex_lock(&w.mu);
    w.started = true;
    pthread_mutex_unlock(&w.mu);
    return true;
}

/* Parked under w.mu, so the waker can only resume a request that is really suspended. */
bool waits_park(struct request *r, int64_t min_position, int64_t deadline_ms)
{
    struct projector_progress p;
    pthread_mutex_lock(&w.mu);
    projector_progress(&p);
    bool park = w.started && !w.draining && p.position < min_position &&
                p.status != PROJECTOR_FAILED && waits_now_ms() < deadline_ms;
    if (park) {
        struct wait *x = xmalloc(sizeof *x);
        *x = (struct wait){w.list, r, min_position, deadline_ms};
        w.list = x;
        w.parked++;
        w.total++;
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
