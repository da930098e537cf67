/* The projector thread: one database session (a fixed connection outside the pool) that leads by
 * advisory lock, finds the safe horizon (see docs/projector.md), applies batches below it, and
 * publishes its progress. */
#include "projector.h"

#include "clock.h"
#include "http/http.h"
#include "log.h"
#include "project_batch.h"
#include "query_db.h"
#include "views_runtime.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 1000
/* Far behind (a replay from 0, a long outage): 4x the rows per upsert and checkpoint; each new
 * order of a batch holds a ~9 KiB slot (ITEMS_MAX items), so more would cost RSS. Near the
 * head, small batches keep the lag short. */
#define CATCH_UP_BATCH 4000
#define WAKE_MS        250 /* fallback timer: notifications are lost while disconnected */
#define POLL_MS        5   /* first re-read after a move, and while requests wait (wait_wakeup) */
#define PENDING_MS     2   /* re-check soon while a horizon candidate waits to settle */
#define LOCK_RETRY_MS  1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CANDIDATES_MAX 4096
/* How long a batch keeps looking past the horizon while stuck below the sequence's last value:
 * an append in flight commits within milliseconds; longer means a gap (a rolled-back append)
 * that only the horizon can pass. */
#define GAP_PATIENCE_MS 100

static struct {
    pthread_mutex_t mu;
    pthread_cond_t advanced;
    struct projector_progress p;
} pub = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_t thread;
static bool thread_started;
static atomic_bool stopping;
static atomic_long parked; /* min_position requests waiting on this instance (waits.c) */

/* What ended the projector's last sleep (WOKEN_NONE: it did not sleep). A step that then found
 * work (a leader new events, a follower a new checkpoint) is counted by it: the idle timer
 * finding work means a notification was missed. */
enum woken { WOKEN_NOTIFICATION, WOKEN_POLL, WOKEN_TIMER, WOKEN_NONE };
static atomic_uint_fast64_t moves[WOKEN_NONE];
/* No lock_timeout: a batch waits out a rebuild's swap instead of losing its session. */
static struct db_config config;

/* (L, N): the sequence's last value L, then an xid N assigned after L was read. */
struct candidate {
    int64_t last;
    uint64_t xid;
};

struct session {
    struct db_conn *c; /* DB_SESSION: the advisory lock and LISTEN live as long as it */
    bool leader;
    bool failed; /* this leader met an event it cannot project */
    int64_t checkpoint;
    int64_t horizon;
    int64_t head;
    int ncand;
    struct candidate cand[CANDIDATES_MAX];
    int64_t stuck_at;       /* where the batches stopped below head, since stuck_since_ms */
    int64_t stuck_since_ms; /* 0: not stuck */
    int64_t next_lock_try_ms;
    enum woken woken;
};

static void publish(int64_t position, int64_t head, enum projector_status st, const char *error)
{
    pthread_mutex_lock(&pub.mu);
    pub.p.position = position;
    pub.p.head = head > position ? head : position;
    pub.p.status = st;
    views_leading(st == PROJECTOR_LEADER);
    if (error)
        snprintf(pub.p.error, sizeof pub.p.error, "%s", error);
    else if (st != PROJECTOR_FAILED)
        pub.p.error[0] = '\0';
    pthread_cond_broadcast(&pub.advanced);
    pthread_mutex_unlock(&pub.mu);
}

static void publish_status(enum projector_status st)
{
    pthread_mutex_lock(&pub.mu);
    pub.p.status = st;
    views_leading(st == PROJECTOR_LEADER);
    pthread_cond_broadcast(&pub.advanced);
    pthread_mutex_unlock(&pub.mu);
}

/* Runs a statement that returns one row; copies up to three text columns. */
static bool query_row(struct db_conn *c, enum query_stmt st, const char *const *params,
                      char out[][32], int cols)
{
    PGresult *res;
    if (db_read(c, st, params, &res) != ERR_OK)
        return false;
    bool ok = PQntuples(res) == 1 && PQnfields(res) >= cols;
    for (int i = 0; ok && i < cols; i++)
        snprintf(out[i], 32, "%s", PQgetvalue(res, 0, i));
    PQclear(res);
    return ok;
}

static bool load_checkpoint(struct session *s, char *status, size_t status_len, char *error,
                            size_t error_len)
{
    PGresult *res;
    if (db_read(s->c, ST_PROJ_LOAD, NULL, &res) != ERR_OK)
        return false;
    bool ok = PQntuples(res) == 1;
    if (ok) {
        s->checkpoint = query_db_int(res, 0, 0);
        snprintf(status, status_len, "%s", PQgetvalue(res, 0, 1));
        snprintf(error, error_len, "%s", PQgetvalue(res, 0, 2));
    } else {
        log_msg(LOG_ERROR,
                "projector: no '" READ_MODEL_NAME "' row in projections (migrations run?)");
    }
    PQclear(res);
    return ok;
}

static bool open_session(struct session *s)
{
    if (db_connect(s->c) != ERR_OK)
        return false;
    /* A follower wakes only on the leader's commits; the appends (orderly_events) matter only
     * to a leader (try_lead), and each wake on one would cost a follower two queries. */
    if (db_listen(s->c, "LISTEN orderly_projection") != ERR_OK) {
        db_disconnect(s->c);
        return false;
    }
    s->leader = false;
    s->failed = false;
    s->ncand = 0;
    s->horizon = 0;
    s->next_lock_try_ms = 0;
    s->woken = WOKEN_NONE;
    log_msg(LOG_INFO, "projector: connected");
    return true;
}

static void close_session(struct session *s)
{
    if (s->leader)
        log_msg(LOG_WARN, "projector: lost the database session; leadership released");
    db_disconnect(s->c);
    s->leader = false;
}

/* Leadership: the lock lives as long as the session; a new leader reloads the checkpoint and
 * clears an earlier failure so that a fixed deployment retries the event. */
static bool try_lead(struct session *s)
{
    char row[1][32];
    s->next_lock_try_ms = clock_now_ms() + LOCK_RETRY_MS;
    if (!query_row(s->c, ST_TRY_LOCK, NULL, row, 1))
        return false;
    if (strcmp(row[0], "t") != 0)
        return true;
    bool ok = db_listen(s->c, "LISTEN orderly_events") == ERR_OK &&
              db_write(s->c, ST_PROJ_RUNNING, NULL, NULL, NULL) == ERR_OK;
    char status[32], error[256];
    if (!ok || !load_checkpoint(s, status, sizeof status, error, sizeof error))
        return false;
    s->leader = true;
    log_msg(LOG_INFO, "projector: leader from position %" PRId64, s->checkpoint);
    publish(s->checkpoint, s->head, PROJECTOR_LEADER, NULL);
    return true;
}

/* One horizon step (docs/projector.md): read L; when it is new, take an xid N in a later
 * statement, so every transaction holding a position <= L has an xid below N; candidate (L, N)
 * settles once a snapshot's xmin reaches N. A snapshot's xmax would not do: it is only
 * latestCompletedXid + 1, and a running transaction may hold an xid at or above it. */
static bool advance_horizon(struct session *s)
{
    char seq[1][32], snap[2][32];
    if (!query_row(s->c, ST_SEQ_LAST, NULL, seq, 1))
        return false;
    int64_t last = strtoll(seq[0], NULL, 10);
    if (last > s->head)
        s->head = last;
    /* A candidate with a last value no higher than the previous one's settles no sooner. */
    bool fresh = last > s->horizon && (s->ncand == 0 || last > s->cand[s->ncand - 1].last) &&
                 s->ncand < CANDIDATES_MAX;
    if (fresh ? !query_row(s->c, ST_XID_SNAPSHOT, NULL, snap, 2)
              : !query_row(s->c, ST_SNAPSHOT, NULL, &snap[1], 1))
        return false;
    uint64_t xmin = strtoull(snap[1], NULL, 10);
    if (fresh)
        s->cand[s->ncand++] = (struct candidate){last, strtoull(snap[0], NULL, 10)};
    int kept = 0;
    for (int i = 0; i < s->ncand; i++) {
        if (s->cand[i].xid <= xmin) {
            if (s->cand[i].last > s->horizon)
                s->horizon = s->cand[i].last;
        } else {
            s->cand[kept++] = s->cand[i];
        }
    }
    s->ncand = kept;
    return true;
}

static void fail_projection(struct session *s, const char *why)
{
    log_msg(LOG_ERROR, "projector: stopped at position %" PRId64 ": %s", s->checkpoint, why);
    const char *params[] = {why};
    if (db_write(s->c, ST_PROJ_FAIL, params, NULL, NULL) != ERR_OK)
        log_msg(LOG_WARN, "projector: the failure could not be recorded in projections");
    s->failed = true;
    publish(s->checkpoint, s->head, PROJECTOR_FAILED, why);
}

/* Whether a batch may look past the horizon for settled events (ST_PROJ_EVENTS_SETTLED): not
 * while stuck below head past GAP_PATIENCE_MS, when re-reading up to a gap every poll would be
 * wasted, until the horizon passes where it stopped. */
static bool look_past_horizon(const struct session *s)
{
    return s->head > s->horizon && (s->stuck_since_ms == 0 || s->horizon > s->stuck_at ||
                                    clock_now_ms() - s->stuck_since_ms < GAP_PATIENCE_MS);
}

/* Where the checkpoint now is: any move restarts the patience. */
static void note_reached(struct session *s, int64_t reached)
{
    if (reached >= s->head) {
        s->stuck_since_ms = 0;
    } else if (s->stuck_since_ms == 0 || reached != s->stuck_at) {
        s->stuck_at = reached;
        s->stuck_since_ms = clock_now_ms();
    }
}

/* Applies the next batch of settled events; *more when it was full. */
static bool project_once(struct session *s, bool *more)
{
    char from[24], to[24], limit[24], upto[24];
    int64_t last_read = look_past_horizon(s) ? s->head : s->horizon;
    snprintf(from, sizeof from, "%" PRId64, s->checkpoint);
    snprintf(to, sizeof to, "%" PRId64, s->horizon);
    snprintf(upto, sizeof upto, "%" PRId64, last_read);
    int batch = last_read - s->checkpoint > CATCH_UP_BATCH ? CATCH_UP_BATCH : BATCH_MAX;
    snprintf(limit, sizeof limit, "%d", batch);
    const char *params[] = {from, to, limit, upto};
    PGresult *res;
    /* Catch-up and replay read below the horizon: no run above it to check. */
    enum query_stmt st = last_read > s->horizon ? ST_PROJ_EVENTS_SETTLED : ST_PROJ_EVENTS;
    if (db_read(s->c, st, params, &res) != ERR_OK)
        return false;
    int n = PQntuples(res);
    *more = n == batch;
    /* Not full: every event up to the horizon is in the batch, and those above it run without
     * a gap, so the checkpoint may move to whichever is higher. */
    int64_t last = n > 0 ? query_db_int(res, n - 1, EV_COL_POSITION) : s->checkpoint;
    int64_t target = *more || last > s->horizon ? last : s->horizon;
    note_reached(s, target);
    if (target == s->checkpoint) { /* nothing settled yet: no empty transaction */
        PQclear(res);
        return true;
    }
    struct err_detail why = {0};
    enum err rc = batch_apply(s->c, res, s->checkpoint, target, &why);
    PQclear(res);
    if (rc == ERR_OK) {
        s->checkpoint = target;
        publish(s->checkpoint, s->head, PROJECTOR_LEADER, NULL);
    } else if (rc == ERR_BAD_EVENT) {
        *more = false;
        fail_projection(s, why.detail);
    } else if (rc == ERR_CONFLICT) {
        char status[32], error[256];
        log_msg(LOG_WARN, "projector: checkpoint moved by someone else; reloading");
        return load_checkpoint(s, status, sizeof status, error, sizeof error);
    }
    return rc != ERR_DB_DOWN;
}

/* Standby (or stopped by a failure): follow the table so handlers can wait on it. The
 * checkpoint is read last: a notification that arrives during a query is one poll() cannot see
 * (see wait_wakeup), and one for a commit that checkpoint read already saw is harmless. */
static bool follow(struct session *s)
{
    char status[32], error[256], seq[1][32];
    if (!query_row(s->c, ST_SEQ_LAST, NULL, seq, 1) ||
        !load_checkpoint(s, status, sizeof status, error, sizeof error))
        return false;
    int64_t last = strtoll(seq[0], NULL, 10);
    if (last > s->head)
        s->head = last;
    bool failed = strcmp(status, "failed") == 0;
    if (s->failed && !failed) {
        log_msg(LOG_INFO, "projector: failure cleared in the table; retrying");
        s->failed = false;
        return true;
    }
    enum projector_status st = failed      ? PROJECTOR_FAILED
                               : s->leader ? PROJECTOR_LEADER
                                           : PROJECTOR_STANDBY;
    publish(s->checkpoint, s->head, st, failed ? error : NULL);
    return true;
}

static bool step(struct session *s, bool *more)
{
    *more = false;
    if (!s->leader && clock_now_ms() >= s->next_lock_try_ms && !try_lead(s))
        return false;
    if (!s->leader || s->failed)
        return follow(s);
    if (!advance_horizon(s) || !views_watch(s->c))
        return false;
    if (s->horizon > s->checkpoint || (s->head > s->checkpoint && look_past_horizon(s)))
        return project_once(s, more);
    publish(s->checkpoint, s->head, PROJECTOR_LEADER, NULL);
    return true;
}

/* Leader: whether events were appended since advance_horizon last read the sequence. Their
 * notification may have come while a batch ran, into libpq's queue (see wait_wakeup); read just
 * before sleeping, the sequence leaves that only the window of this one statement. */
static bool appended_since(struct session *s, bool *fresh)
{
    char seq[1][32];
    if (!query_row(s->c, ST_SEQ_LAST, NULL, seq, 1))
        return false;
    *fresh = strtoll(seq[0], NULL, 10) > s->head;
    return true;
}

/* Sleeps until a notification, the timer or stop; false if the session broke. A notification
 * libpq took in while one of our queries ran wakes at once (db_wait). Notifications sent while
 * disconnected are lost, so while min_position requests wait here the projector also looks
 * every POLL_MS: one poll per instance, never one per request, none on an idle system. */
static bool wait_wakeup(struct session *s)
{
    bool notified;
    /* An unsettled candidate settles as soon as the transactions in flight end, which is
     * usually within milliseconds; don't leave it to the fallback timer. */
    if (s->leader && !s->failed && s->ncand > 0) {
        s->woken = WOKEN_POLL;
        return db_wait(s->c, PENDING_MS, &notified) == ERR_OK;
    }
    int timeout_ms = atomic_load(&parked) > 0 ? POLL_MS : WAKE_MS;
    if (db_wait(s->c, timeout_ms, &notified) != ERR_OK)
        return false;
    s->woken = notified ? WOKEN_NOTIFICATION : timeout_ms < WAKE_MS ? WOKEN_POLL : WOKEN_TIMER;
    return true;
}

/* One step, then a sleep unless there is more to do at once; false if the session broke. */
static bool run_once(struct session *s)
{
    bool more;
    int64_t checkpoint = s->checkpoint, head = s->head;
    if (!step(s, &more))
        return false;
    bool found = s->leader ? s->head > head : s->checkpoint > checkpoint;
    if (found && s->woken != WOKEN_NONE)
        atomic_fetch_add(&moves[s->woken], 1);
    s->woken = WOKEN_NONE;
    if (more)
        return true;
    /* A batch's statements are where an append's notification is most likely swallowed. */
    bool fresh = false;
    if (s->leader && !s->failed && s->checkpoint != checkpoint && !appended_since(s, &fresh))
        return false;
    if (fresh) {
        s->woken = WOKEN_POLL;
        return true;
    }
    return wait_wakeup(s);
}

static void sleep_ms(int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&stopping); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static void *projector_main(void *arg)
{
    struct session *s = arg;
    int backoff_ms = BACKOFF_MIN_MS;
    /* The live SQL views move inside every batch, before its checkpoint (issue 17). */
    batch_before_checkpoint(views_apply_live);
    while (!atomic_load(&stopping)) {
        if (!db_connected(s->c) && !open_session(s)) {
            publish_status(PROJECTOR_DISCONNECTED);
            sleep_ms(backoff_ms);
            backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
            continue;
        }
        if (!run_once(s)) {
            close_session(s);
            publish_status(PROJECTOR_DISCONNECTED);
            continue;
        }
        backoff_ms = BACKOFF_MIN_MS;
    }
    db_conn_free(s->c);
    free(s);
    return NULL;
}

bool projector_start(const char *database_url)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pub.advanced, &attr);
    pthread_condattr_destroy(&attr);
    query_db_config(&config, database_url, "orderly-query-projector", NULL);
    struct session *s = calloc(1, sizeof *s);
    if (s)
        s->c = db_conn_new(&config, DB_SESSION);
    if (!s || pthread_create(&thread, NULL, projector_main, s) != 0) {
        if (s)
            db_conn_free(s->c);
        free(s);
        return false;
    }
    thread_started = true;
    if (!views_start(database_url)) {
        projector_stop();
        return false;
    }
    return true;
}

void projector_stop(void)
{
    if (!thread_started)
        return;
    views_stop();
    atomic_store(&stopping, true);
    pthread_join(thread, NULL);
    thread_started = false;
    publish_status(PROJECTOR_STARTING);
}

void projector_progress(struct projector_progress *out)
{
    pthread_mutex_lock(&pub.mu);
    *out = pub.p;
    pthread_mutex_unlock(&pub.mu);
}

const char *projector_status_name(enum projector_status s)
{
    static const char *const names[] = {"starting", "leader", "standby", "failed", "disconnected"};
    return names[s];
}

bool projector_running(void)
{
    struct projector_progress p;
    projector_progress(&p);
    return p.status == PROJECTOR_LEADER || p.status == PROJECTOR_STANDBY;
}

void projector_parked(int delta)
{
    atomic_fetch_add(&parked, delta);
}

bool projector_wait(int64_t min_position, int timeout_ms, int64_t *position)
{
    struct timespec deadline = clock_deadline_after(timeout_ms);
    pthread_mutex_lock(&pub.mu);
    while (pub.p.position < min_position && pub.p.status != PROJECTOR_FAILED) {
        if (pthread_cond_timedwait(&pub.advanced, &pub.mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool reached = pub.p.position >= min_position;
    *position = pub.p.position;
    pthread_mutex_unlock(&pub.mu);
    return reached;
}

void projector_metrics(void *buf)
{
    struct projector_progress p;
    projector_progress(&p);
    int64_t lag = p.head > p.position ? p.head - p.position : 0;
    metrics_printf(buf,
                   "# HELP orderly_projection_position last position applied to the "
                   "read model\n# TYPE orderly_projection_position gauge\n"
                   "orderly_projection_position %" PRId64 "\n",
                   p.position);
    metrics_printf(buf,
                   "# HELP orderly_projection_head highest event position seen\n"
                   "# TYPE orderly_projection_head gauge\n"
                   "orderly_projection_head %" PRId64 "\n",
                   p.head);
    metrics_printf(buf,
                   "# HELP orderly_projection_lag_events head minus position\n"
                   "# TYPE orderly_projection_lag_events gauge\n"
                   "orderly_projection_lag_events %" PRId64 "\n",
                   lag);
    metrics_printf(buf,
                   "# HELP orderly_projection_failed 1 when the projection stopped on "
                   "an event\n# TYPE orderly_projection_failed gauge\n"
                   "orderly_projection_failed %d\n",
                   p.status == PROJECTOR_FAILED);
    metrics_printf(buf,
                   "# HELP orderly_projector_leader 1 when this instance holds the projector "
                   "lock and applies events\n# TYPE orderly_projector_leader gauge\n"
                   "orderly_projector_leader %d\n",
                   p.status == PROJECTOR_LEADER);
    static const char *const woken[] = {"notification", "poll", "timer"};
    metrics_printf(buf, "# HELP orderly_projector_moves_total steps that found work (a leader new "
                        "events, a follower a new checkpoint) by what woke the projector: a "
                        "notification, a poll after a move or while requests wait, or the idle "
                        "timer (a notification missed)\n"
                        "# TYPE orderly_projector_moves_total counter\n");
    for (int i = 0; i < WOKEN_NONE; i++)
        metrics_printf(buf, "orderly_projector_moves_total{woken_by=\"%s\"} %" PRIu64 "\n",
                       woken[i], (uint64_t)atomic_load(&moves[i]));
    views_metrics(buf);
}
