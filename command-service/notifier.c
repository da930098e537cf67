/* Wakes the query side after appends commit: one NOTIFY per NOTIFY_INTERVAL_MS at most, sent
 * from its own connection. A NOTIFY inside the append transaction would take PostgreSQL's
 * cluster-wide notify lock through the commit's WAL flush and serialize every append (measured
 * in bench/README.md). Also expires idempotency keys past their retention. */
#include "notifier.h"
#include "log.h"
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define NOTIFY_INTERVAL_MS 2
#define KEY_RETENTION_S    (48 * 3600) /* the contract promises at least 24 hours */
#define EXPIRE_EVERY_S     600

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool pending, stopping, running;
static pthread_t thread;

void notifier_poke(void)
{
    pthread_mutex_lock(&lock);
    if (!pending) {
        pending = true;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits up to one second for a poke; returns whether a NOTIFY is due. */
static bool wait_for_poke(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&lock);
    while (!pending && !stopping)
        if (pthread_cond_timedwait(&wake, &lock, &until) != 0)
            break;
    bool due = pending;
    pending = false;
    pthread_mutex_unlock(&lock);
    return due;
}

static void expire_keys(struct db_conn *c, time_t *last)
{
    time_t now = time(NULL);
    if (now - *last < EXPIRE_EVERY_S)
        return;
    *last = now;
    long deleted = 0;
    if (store_expire_keys(c, KEY_RETENTION_S, &deleted) == ERR_OK && deleted > 0)
        log_msg(LOG_INFO, "expired %ld idempotency keys", deleted);
}

static struct db_config config;

static void *notifier_main(void *arg)
{
    (void)arg;
    struct db_conn *c = db_conn_new(&config, DB_LAZY);
    time_t last_expiry = 0;
    for (;;) {
        bool due = wait_for_poke();
        pthread_mutex_lock(&lock);
        bool stop = stopping;
        pthread_mutex_unlock(&lock);
        if (stop)
            break;
        /* A lost NOTIFY only delays the projector until its timer; nothing to retry here. */
        if (due && store_notify(c) == ERR_OK)
            sleep_ms(NOTIFY_INTERVAL_MS);
        expire_keys(c, &last_expiry);
    }
    db_conn_free(c);
    return NULL;
}

void notifier_start(const char *conninfo, const char *options)
{
    store_db_config(&config, conninfo, "orderly-command-notifier", options);
    stopping = false; /* a stopped notifier can start again */
    running = pthread_create(&thread, NULL, notifier_main, NULL) == 0;
    if (!running)
        log_msg(LOG_ERROR, "cannot start the notifier thread");
}

void notifier_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
