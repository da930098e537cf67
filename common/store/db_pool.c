/* The bounded connection pool: at most DB_POOL_SIZE lazily opened connections per process,
 * borrowed by requests for their statements and handed first come, first served to the
 * requests queued for one, which give up after DB_POOL_WAIT_MS. Also its settings and metrics. */
#include "store/db.h"

#include "clock.h"
#include "config.h"
#include "handoff.h"
#include "metrics.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double wait_le[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0};
#define WAIT_BUCKETS (sizeof wait_le / sizeof wait_le[0])

struct db_pool {
    const struct db_config *cfg;
    int size, wait_ms;
    pthread_mutex_t mu;
    struct db_conn **conns; /* created so far, up to size */
    int created;
    struct db_conn **idle; /* a stack: the warmest connection is reused first */
    int nidle;
    struct handoff_queue queue; /* requests waiting for a connection, oldest first */
    int waiting;
    uint64_t acquired, timeouts;
    double wait_sum;
    uint64_t wait_buckets[WAIT_BUCKETS + 1]; /* non-cumulative; the last is +Inf */
};

struct db_pool *db_pool_new(const struct db_config *cfg, int size, int wait_ms)
{
    struct db_pool *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    p->size = size > 0 ? size : 1;
    p->wait_ms = wait_ms > 0 ? wait_ms : 0;
    pthread_mutex_init(&p->mu, NULL);
    p->conns = xcalloc((size_t)p->size, sizeof *p->conns);
    p->idle = xcalloc((size_t)p->size, sizeof *p->idle);
    return p;
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->created; i++)
        db_conn_free(p->conns[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->conns);
    free(p->idle);
    free(p);
}

/* Under p->mu: queues for the next connection returned, until the pool's wait ends. */
static struct db_conn *wait_for_one(struct db_pool *p)
{
    p->waiting++;
    struct db_conn *c = handoff_wait(&p->queue, &p->mu, p->wait_ms);
    p->waiting--;
    return c;
}

static void record_wait(struct db_pool *p, double s)
{
    p->wait_sum += s;
    size_t i = 0;
    while (i < WAIT_BUCKETS && s > wait_le[i])
        i++;
    p->wait_buckets[i]++;
}

enum err db_pool_get(struct db_pool *p, struct db_conn **out, struct err_detail *why)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&p->mu);
    struct db_conn *c = NULL;
    if (p->nidle > 0)
        c = p->idle[--p->nidle];
    else if (p->created < p->size)
        c = p->conns[p->created++] = db_conn_new(p->cfg, DB_LAZY);
    else if (p->wait_ms > 0)
        c = wait_for_one(p);
    if (c) {
        p->acquired++;
        record_wait(p, clock_seconds_since(&t0));
    } else {
        p->timeouts++;
    }
    pthread_mutex_unlock(&p->mu);
    *out = c;
    if (c)
        return ERR_OK;
    return err_set(why, ERR_DB_DOWN, "no database connection came free within %d ms", p->wait_ms);
}

void db_pool_put(struct db_pool *p, struct db_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&p->mu);
    if (!handoff_give(&p->queue, c))
        p->idle[p->nidle++] = c;
    pthread_mutex_unlock(&p->mu);
}

void db_pool_stats(struct db_pool *p, struct db_pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = (struct db_pool_stats){p->size,     p->created - p->nidle, p->waiting,
                                  p->acquired, p->timeouts,           p->wait_sum};
    pthread_mutex_unlock(&p->mu);
}

/* Ranges and defaults are the rows of common/config_table.c. */
bool db_settings_load(struct db_settings *s, char *err, size_t err_len)
{
    return config_int("DB_POOL_SIZE", &s->pool_size, err, err_len) &&
           config_int("DB_POOL_WAIT_MS", &s->pool_wait_ms, err, err_len) &&
           config_int("DB_LOCK_TIMEOUT_MS", &s->lock_timeout_ms, err, err_len);
}

void db_pool_metrics(struct db_pool *p, void *buf)
{
    uint64_t buckets[WAIT_BUCKETS + 1];
    struct db_pool_stats s;
    pthread_mutex_lock(&p->mu);
    memcpy(buckets, p->wait_buckets, sizeof buckets);
    pthread_mutex_unlock(&p->mu);
    db_pool_stats(p, &s);
    metrics_gauge(buf, "orderly_db_pool_size", "connections the pool may open (DB_POOL_SIZE)",
                  s.size);
    metrics_gauge(buf, "orderly_db_pool_in_use", "pool connections borrowed now", s.in_use);
    metrics_gauge(buf, "orderly_db_pool_waiting", "requests queued for a pool connection now",
                  s.waiting);
    metrics_counter(buf, "orderly_db_pool_acquired_total", "pool connections borrowed", s.acquired);
    metrics_counter(
        buf, "orderly_db_pool_timeouts_total",
        "requests answered 503 because no pool connection came free within DB_POOL_WAIT_MS",
        s.timeouts);
    metrics_printf(buf, "# HELP orderly_db_pool_wait_seconds time spent waiting for a pool "
                        "connection\n# TYPE orderly_db_pool_wait_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < WAIT_BUCKETS; i++) {
        cumulative += buckets[i];
        metrics_printf(buf, "orderly_db_pool_wait_seconds_bucket{le=\"%g\"} %llu\n", wait_le[i],
                       (unsigned long long)cumulative);
    }
    cumulative += buckets[WAIT_BUCKETS];
    metrics_printf(buf,
                   "orderly_db_pool_wait_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "orderly_db_pool_wait_seconds_sum %.6f\n"
                   "orderly_db_pool_wait_seconds_count %llu\n",
                   (unsigned long long)cumulative, s.wait_seconds, (unsigned long long)cumulative);
}
