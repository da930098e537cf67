/* The one libpq layer of both services: connections that connect and prepare lazily, every
 * statement run through here, one SQLSTATE -> enum err map, one read-retry policy, and a bounded
 * pool that HTTP requests borrow from. No other file connects, prepares or executes. */
#ifndef ORDERLY_DB_H
#define ORDERLY_DB_H

#include "err.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* A service's statement table is an X-macro of rows X(id, nparams, sql); the service turns it
 * into its enum with its own macro and into this table with DB_STATEMENT_ROW. The name sent to
 * PostgreSQL is the enum's name. */
struct db_statement {
    const char *name;
    int nparams;
    const char *sql;
};
#define DB_STATEMENT_ROW(id, n, text) [id] = {#id, n, text},

/* What a connection is opened with; borrowed, so it must outlive every connection made from
 * it. options are server settings ("-c lock_timeout=5s"), NULL for none. */
struct db_config {
    const char *conninfo;
    const char *app_name;
    const char *options;
    const struct db_statement *statements;
    int statement_count;
};

/* DB_COMMIT_TIMEOUT_MS: how long a command's write may wait, a synchronous standby included. */
#define DB_COMMIT_TIMEOUT_DEFAULT 10000
/* From now on in this process, a write (db_write, db_sql) still unanswered after ms is
 * cancelled and reported ERR_DB_DOWN, even when the cancel finds it committed: a commit waiting
 * for a synchronous standby is then committed on the primary alone and must not be
 * acknowledged. 0 (the default): no bound. */
void db_bound_writes(int ms);
/* Reads DB_COMMIT_TIMEOUT_MS into *ms; on a bad value writes "VARIABLE: why" into err and
 * returns false. */
bool db_commit_timeout_load(int *ms, char *err, size_t err_len);

/* Seconds libpq waits for a connection (the URL may set another connect_timeout). */
#define DB_CONNECT_TIMEOUT_S "3"

/* DB_LAZY: (re)connects on first use and after a lost connection, for stateless work (pools,
 * the notifier). DB_SESSION: connects only through db_connect, so session state the owner
 * relies on (an advisory lock, LISTEN, search_path) is never silently replaced. */
enum db_mode { DB_LAZY, DB_SESSION };

struct db_conn;

/* Never fails and does not connect. */
struct db_conn *db_conn_new(const struct db_config *cfg, enum db_mode mode);
void db_conn_free(struct db_conn *c);
/* (Re)opens the connection now; ERR_DB_DOWN when the server cannot be reached. */
enum err db_connect(struct db_conn *c) __attribute__((warn_unused_result));
void db_disconnect(struct db_conn *c);
bool db_connected(const struct db_conn *c);

/* Every runner below returns ERR_OK or the mapped error, logged once here. *out (may be NULL
 * when no result is wanted) is the result on ERR_OK, which the caller clears, else NULL. */

/* A prepared statement that changes data: one attempt, sent only after the idle socket was
 * checked for the server's goodbye. constraint (may be NULL) gets the refused constraint's
 * name on an error ("" if none), for callers that must tell two unique keys apart. */
enum err db_write(struct db_conn *c, int id, const char *const *params, PGresult **out,
                  char constraint[64]) __attribute__((warn_unused_result));
/* A read-only prepared statement under the read-retry policy: a connection lost on a
 * connection that was already open, a deadlock, a serialization failure or a lock timeout is
 * retried once (on a fresh connection for a lost one); then ERR_DB_DOWN. */
enum err db_read(struct db_conn *c, int id, const char *const *params, PGresult **out)
    __attribute__((warn_unused_result));
/* Unprepared SQL: transaction control, LISTEN, migrations and DDL whose names exist only for a
 * while. With nparams 0 the text may hold several statements. Mapped as a write. */
enum err db_sql(struct db_conn *c, const char *sql, int nparams, const char *const *params,
                PGresult **out) __attribute__((warn_unused_result));

/* COPY ... FROM STDIN (copy_sql) with data, rows in COPY's text format (store/copy_text.h).
 * Mapped as a write. */
enum err db_copy_in(struct db_conn *c, const char *copy_sql, const char *data, size_t len)
    __attribute__((warn_unused_result));

/* LISTEN on channel (a fixed identifier); the connection's idle socket may then carry
 * notifications, which db_wait consumes. */
enum err db_listen(struct db_conn *c, const char *channel) __attribute__((warn_unused_result));
/* Sleeps until a notification arrives or timeout_ms passes, and drops the notifications
 * (they only wake); *notified says whether one came, including one libpq took in while a
 * statement ran. ERR_DB_DOWN when the connection broke. */
enum err db_wait(struct db_conn *c, int timeout_ms, bool *notified)
    __attribute__((warn_unused_result));

/* The one SQLSTATE map. sqlstate NULL means no answer (the connection is gone). read selects
 * the mapping for reads (conflicts and lock waits become 503) or writes (409). */
struct db_fault {
    enum err err;
    bool lost;  /* the connection must be dropped */
    bool retry; /* a read may be retried once */
};
struct db_fault db_classify(const char *sqlstate, bool read);

/* A bounded set of DB_LAZY connections that requests borrow and give back. */
struct db_pool;

/* Pool settings from the environment: DB_POOL_SIZE, DB_POOL_WAIT_MS, DB_LOCK_TIMEOUT_MS. */
struct db_settings {
    int pool_size;       /* connections per process, default DB_POOL_SIZE_DEFAULT */
    int pool_wait_ms;    /* how long a request queues for one before 503 */
    int lock_timeout_ms; /* the pool's lock_timeout: a lock wait never holds one for long */
};
#define DB_POOL_SIZE_DEFAULT    8
#define DB_POOL_WAIT_MS_DEFAULT 5000
#define DB_LOCK_TIMEOUT_DEFAULT 5000
/* Fills s; on a bad value writes "VARIABLE: why" into err and returns false. */
bool db_settings_load(struct db_settings *s, char *err, size_t err_len);

/* cfg is borrowed (see struct db_config). */
struct db_pool *db_pool_new(const struct db_config *cfg, int size, int wait_ms);
/* Closes every connection; none may be borrowed any more. */
void db_pool_free(struct db_pool *p);
/* Borrows a connection, queueing (first come, first served) up to the pool's wait. On
 * ERR_DB_DOWN nothing was borrowed and why (may be NULL) says the pool was exhausted. */
enum err db_pool_get(struct db_pool *p, struct db_conn **out, struct err_detail *why)
    __attribute__((warn_unused_result));
void db_pool_put(struct db_pool *p, struct db_conn *c);

struct db_pool_stats {
    int size, in_use, waiting;
    uint64_t acquired, timeouts;
    double wait_seconds; /* summed over every borrow */
};
void db_pool_stats(struct db_pool *p, struct db_pool_stats *out);
/* metrics_set_extra piece: orderly_db_pool_* gauges, counters and the wait histogram. */
void db_pool_metrics(struct db_pool *p, void *buf);

#endif
