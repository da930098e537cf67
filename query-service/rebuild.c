/* `query-service rebuild`: shadow tables filled in bulk, stream by stream, by the projector's own
 * batch code below a safe horizon (rebuild_fill.c), caught up to the head in position order,
 * indexed, then swapped in while the live projector waits on a lock. */
#include "rebuild.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "project_batch.h"
#include "query_db.h"
#include "read_model.h"
#include "rebuild_fetch.h"
#include "rebuild_fill.h"
#include "rebuild_sql.h"
#include "views_rebuild.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWAP_GAP_EVENTS  2000 /* swap once no more than this is left: the lock stays short */
#define CATCH_UP_ROUNDS  20   /* a log growing faster than we replay still gets swapped */
#define SWAP_TRIES       3    /* a deadlock (the batch's lock order changed?) is retried */
#define SETTLE_NOTICE_MS 5000
#define PROGRESS_EVERY   100000

/* Bulk fill (issue 13): the shadow tables are filled with only their primary keys (the batch
 * looks rows up by them); the live tables' other indexes and unique constraints are built once
 * after the fill, from their definitions, still before the swap. Only the shadow schema is
 * touched, so a kill at any instant leaves the live tables as they were. These server-side
 * steps are SQL functions (migrations/0009 and 0011). */

struct rebuild {
    struct db_conn *c;      /* DB_SESSION: the rebuild lock and search_path are this session's */
    struct db_conn *reader; /* DB_LAZY: reads the next batch of events (struct fetch) */
    const char *name;       /* the projection */
    char live[128];         /* the live tables' schema */
    int64_t pos;            /* shadow checkpoint */
    int64_t events;         /* events applied */
    int batch;
    bool locked; /* holds the rebuild lock, so the shadow schema is ours */
};

bool rebuild_known(const char *name)
{
    return strcmp(name, READ_MODEL_NAME) == 0;
}

/* Runs sql (text parameters, not prepared: it names the shadow schema); copies the first
 * column of the first row into out when given. *e (when given) is the mapped error, which db.c
 * has logged with the server's message. */
static bool run(struct db_conn *c, const char *sql, int n, const char *const *params, char *out,
                size_t out_len, enum err *e)
{
    PGresult *res;
    enum err rc = db_sql(c, sql, n, params, &res);
    if (e)
        *e = rc;
    if (rc != ERR_OK)
        return false;
    if (out)
        snprintf(out, out_len, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return true;
}

static bool run_stmt(struct db_conn *c, enum query_stmt st, char out[][32], int cols)
{
    PGresult *res;
    if (db_read(c, st, NULL, &res) != ERR_OK)
        return false;
    bool ok = PQntuples(res) == 1;
    for (int i = 0; ok && i < cols; i++)
        snprintf(out[i], 32, "%s", PQgetvalue(res, 0, i));
    PQclear(res);
    return ok;
}

/* The projector's horizon (docs/projector.md), blocking: read the sequence's last value L, take
 * an xid N in a later statement, wait until no transaction older than N runs. Then no position
 * <= L can still appear. *head is L. */
static bool settle_horizon(struct rebuild *r, int64_t *horizon)
{
    char seq[1][32], snap[2][32];
    if (!run_stmt(r->c, ST_SEQ_LAST, seq, 1) || !run_stmt(r->c, ST_XID_SNAPSHOT, snap, 2))
        return false;
    uint64_t xid = strtoull(snap[0], NULL, 10);
    uint64_t xmin = strtoull(snap[1], NULL, 10);
    int64_t start = clock_now_ms();
    bool noticed = false;
    while (xmin < xid) {
        nanosleep(&(struct timespec){0, 2 * 1000000L}, NULL);
        if (!run_stmt(r->c, ST_SNAPSHOT, &snap[1], 1))
            return false;
        xmin = strtoull(snap[1], NULL, 10);
        if (!noticed && clock_now_ms() - start > SETTLE_NOTICE_MS) {
            log_msg(LOG_WARN, "rebuild: waiting for a long transaction (xid < %s) to end", snap[0]);
            noticed = true;
        }
    }
    *horizon = strtoll(seq[0], NULL, 10);
    return true;
}

/* Applies one batch read by fetch (cleared here) and moves r->pos to target. */
static bool apply_batch(struct rebuild *r, PGresult *res, int64_t target, enum batch_txn txn)
{
    int n = PQntuples(res);
    struct err_detail why = {0};
    enum err rc = batch_apply_txn(r->c, res, r->pos, target, txn, &why);
    PQclear(res);
    if (rc != ERR_OK) {
        log_msg(LOG_ERROR, "rebuild: batch after position %" PRId64 " failed: %s", r->pos,
                rc == ERR_BAD_EVENT ? why.detail : err_title(rc));
        return false;
    }
    if (r->events / PROGRESS_EVERY != (r->events + n) / PROGRESS_EVERY)
        log_msg(LOG_INFO, "rebuild: %" PRId64 " events, at position %" PRId64, r->events + n,
                target);
    r->events += n;
    r->pos = target;
    return true;
}

/* Applies every event in (r->pos, to] to the shadow tables, in batches of r->batch, each read
 * while the one before is applied. */
static bool apply_to(struct rebuild *r, int64_t to, enum batch_txn txn)
{
    struct fetch f = {.c = r->reader, .limit = r->batch, .after = r->pos, .to = to};
    if (r->pos >= to)
        return true;
    fetch_start(&f);
    PGresult *res = fetch_join(&f);
    while (res) {
        int n = PQntuples(res);
        int64_t target = n == r->batch ? query_db_int(res, n - 1, EV_COL_POSITION) : to;
        bool more = target < to;
        if (more) {
            f.after = target;
            fetch_start(&f);
        }
        bool ok = apply_batch(r, res, target, txn);
        PGresult *next = more ? fetch_join(&f) : NULL;
        if (!ok || !more) {
            PQclear(next);
            return ok;
        }
        res = next;
    }
    log_msg(LOG_ERROR, "rebuild: cannot read the events after position %" PRId64, r->pos);
    return false;
}

/* Everything up to a settled horizon, stream by stream (rebuild_fill.c). Its commits do not
 * wait for the WAL flush: they write only the shadow schema, which a crash leaves to the next
 * rebuild to drop, and the swap's commit flushes everything before it. */
static bool fill(struct rebuild *r)
{
    int64_t horizon, start = clock_now_ms();
    if (!settle_horizon(r, &horizon) ||
        !run(r->c, "SET synchronous_commit TO off", 0, NULL, NULL, 0, NULL) ||
        !rebuild_fill(r->c, r->reader, r->batch, horizon, &r->events) ||
        !run(r->c, "RESET synchronous_commit", 0, NULL, NULL, 0, NULL))
        return false;
    r->pos = horizon;
    log_msg(LOG_INFO, "rebuild: bulk fill: %" PRId64 " events to position %" PRId64 " in %.2f s",
            r->events, horizon, (double)(clock_now_ms() - start) / 1000.0);
    return true;
}

/* Replays up to a fresh horizon until what is left fits in one short swap. */
static bool catch_up(struct rebuild *r)
{
    for (int round = 0; round < CATCH_UP_ROUNDS; round++) {
        int64_t horizon;
        char seq[1][32];
        if (!settle_horizon(r, &horizon) || !apply_to(r, horizon, BATCH_OWN_TXN) ||
            !run_stmt(r->c, ST_SEQ_LAST, seq, 1))
            return false;
        if (strtoll(seq[0], NULL, 10) - r->pos <= SWAP_GAP_EVENTS)
            break;
    }
    return true;
}

/* Wakes the projectors (and the readers waiting on them) when the swap commits, as a batch's
 * checkpoint move does. */
static bool notify(struct rebuild *r, const char *pos, enum err *e)
{
    const char *params[] = {pos};
    *e = db_write(r->c, ST_PROJ_NOTIFY, params, NULL, NULL);
    return *e == ERR_OK;
}

/* One transaction: pause the live projector, replay up to its checkpoint if it is ahead (its
 * checkpoint is a settled horizon, so no gap), swap, drop the shadow schema. Readers wait on
 * the lock for its duration and then see the new tables; never an empty one. */
static bool swap_once(struct rebuild *r, enum err *e)
{
    char live_pos[32], target[24];
    const char *lp[] = {r->live, r->name};
    if (!run(r->c, "BEGIN", 0, NULL, NULL, 0, e) ||
        !run(r->c, REBUILD_LOCK_LIVE_SQL, 2, lp, live_pos, sizeof live_pos, e))
        return false;
    int64_t live = strtoll(live_pos, NULL, 10);
    if (live > r->pos && !apply_to(r, live, BATCH_IN_CALLER_TXN))
        return false;
    snprintf(target, sizeof target, "%" PRId64, r->pos);
    const char *sp[] = {REBUILD_SCHEMA, r->live, r->name, target};
    if (!run(r->c, REBUILD_SWAP_IN_SQL, 4, sp, NULL, 0, e) || !notify(r, target, e) ||
        !run(r->c, REBUILD_DROP_SQL, 0, NULL, NULL, 0, e) ||
        !run(r->c, "COMMIT", 0, NULL, NULL, 0, e))
        return false;
    log_msg(LOG_INFO, "rebuild: swapped in at position %" PRId64 " (live was at %" PRId64 ")",
            r->pos, live);
    return true;
}

static bool swap(struct rebuild *r)
{
    for (int i = 0; i < SWAP_TRIES; i++) {
        enum err e = ERR_OK;
        int64_t pos = r->pos, events = r->events;
        if (swap_once(r, &e))
            return true;
        run(r->c, "ROLLBACK", 0, NULL, NULL, 0, NULL);
        r->pos = pos; /* the shadow rows of the tail rolled back with it */
        r->events = events;
        if (e != ERR_CONFLICT) /* a deadlock (or serialization failure) is worth another try */
            return false;
        log_msg(LOG_WARN, "rebuild: deadlock while swapping; retrying");
    }
    return false;
}

/* Connects, takes the rebuild lock, creates the shadow schema and points search_path at it. */
static bool prepare(struct rebuild *r)
{
    char locked[8];
    if (db_connect(r->c) != ERR_OK) {
        log_msg(LOG_ERROR, "rebuild: cannot connect to the database");
        return false;
    }
    /* DROP ... CASCADE's notices would reach stderr through libpq's default processor. */
    if (!run(r->c, "SET client_min_messages TO warning", 0, NULL, NULL, 0, NULL) ||
        !run(r->c, REBUILD_LOCK_SQL, 0, NULL, locked, sizeof locked, NULL) ||
        !run(r->c, REBUILD_LIVE_SCHEMA_SQL, 0, NULL, r->live, sizeof r->live, NULL))
        return false;
    if (strcmp(locked, "t") != 0) {
        log_msg(LOG_ERROR, "rebuild: another rebuild is running");
        return false;
    }
    r->locked = true;
    const char *sp[] = {REBUILD_SCHEMA, r->live, r->name};
    return run(r->c, "BEGIN", 0, NULL, NULL, 0, NULL) &&
           run(r->c, REBUILD_SETUP_SQL, 0, NULL, NULL, 0, NULL) &&
           run(r->c, REBUILD_CREATE_SQL, 3, sp, NULL, 0, NULL) &&
           run(r->c, REBUILD_FILL_START_SQL, 2, sp, NULL, 0, NULL) &&
           run(r->c, "COMMIT", 0, NULL, NULL, 0, NULL) &&
           run(r->c, REBUILD_SEARCH_PATH_SQL, 1, &sp[1], NULL, 0, NULL);
}

/* After the bulk fill: the shadow tables fully indexed, as the live ones are. */
static bool bulk_finish(struct rebuild *r)
{
    const char *sp[] = {REBUILD_SCHEMA, r->live};
    int64_t start = clock_now_ms();
    bool ok = run(r->c, REBUILD_INDEX_MEM_SQL, 0, NULL, NULL, 0, NULL) &&
              run(r->c, REBUILD_BULK_FINISH_SQL, 2, sp, NULL, 0, NULL) &&
              run(r->c, REBUILD_ADD_UNIQUE_SQL, 2, sp, NULL, 0, NULL) &&
              run(r->c, "RESET maintenance_work_mem", 0, NULL, NULL, 0, NULL);
    if (ok)
        log_msg(LOG_INFO, "rebuild: shadow tables indexed in %.2f s",
                (double)(clock_now_ms() - start) / 1000.0);
    return ok;
}

/* REBUILD_BATCH_EVENTS (common/config_table.c); rebuild_main refuses a bad value. */
static int batch_size(void)
{
    int n;
    char err[128];
    return config_int("REBUILD_BATCH_EVENTS", &n, err, sizeof err) ? n : 1;
}

int rebuild_run(const char *database_url, const char *name)
{
    struct db_config cfg;
    query_db_config(&cfg, database_url, "orderly-query-rebuild", NULL);
    struct rebuild r = {.name = name,
                        .batch = batch_size(),
                        .c = db_conn_new(&cfg, DB_SESSION),
                        .reader = db_conn_new(&cfg, DB_LAZY)};
    int64_t start = clock_now_ms();
    log_msg(LOG_INFO, "rebuild: %s into schema " REBUILD_SCHEMA ", batches of %d", name, r.batch);
    /* The second catch_up replays what arrived while the indexes were built. */
    bool ok =
        prepare(&r) && fill(&r) && catch_up(&r) && bulk_finish(&r) && catch_up(&r) && swap(&r);
    if (ok) {
        double s = (double)(clock_now_ms() - start) / 1000.0;
        log_msg(LOG_INFO,
                "rebuild: %s done: %" PRId64 " events to position %" PRId64
                " in %.2f s (%.0f events/s)",
                name, r.events, r.pos, s, s > 0 ? (double)r.events / s : 0.0);
    } else {
        log_msg(LOG_ERROR, "rebuild: %s failed; the live tables are unchanged", name);
        if (r.locked && db_connected(r.c)) {
            run(r.c, "ROLLBACK", 0, NULL, NULL, 0, NULL);
            run(r.c, REBUILD_CLEANUP_SQL, 0, NULL, NULL, 0, NULL);
        }
    }
    db_conn_free(r.reader);
    db_conn_free(r.c);
    return ok ? 0 : 1;
}

int rebuild_main(const char *name)
{
    struct config cfg;
    char err[256];
    int batch;
    if (!config_load(&cfg, 0, ORDERLY_SOURCE_MIGRATIONS, err, sizeof err) ||
        !config_int("REBUILD_BATCH_EVENTS", &batch, err, sizeof err)) {
        fprintf(stderr, "query-service rebuild: %s\n", err);
        return 2;
    }
    if (!log_init("query-service", cfg.log_level, cfg.log_format)) {
        fprintf(stderr, "query-service rebuild: bad LOG_LEVEL or LOG_FORMAT\n");
        return 2;
    }
    if (!name)
        name = READ_MODEL_NAME;
    /* Any other name is a SQL view's, or unknown (exit 2 there). */
    if (!rebuild_known(name))
        return views_rebuild_run(cfg.database_url, name);
    return rebuild_run(cfg.database_url, name);
}
