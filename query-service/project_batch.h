/* One projector batch: fold a run of events into the read tables and move the checkpoint, all in
 * one transaction, with a handful of statements however many events the batch holds. */
#ifndef QUERY_PROJECT_BATCH_H
#define QUERY_PROJECT_BATCH_H

#include "err.h"
#include "store/db.h"
#include <stdint.h>

/* events: rows of ST_PROJ_EVENTS (SQL_EVENT_COLS, position order); may be empty. Applies them
 * and moves the checkpoint from `from` to `to` in one transaction, notifying
 * orderly_projection on commit. Returns ERR_OK; ERR_BAD_EVENT (nothing written) when an event
 * cannot be decoded, with why naming it; ERR_CONFLICT when the checkpoint was not at `from`
 * (another leader moved it); ERR_DB_DOWN for any database error (rolled back). */
enum err batch_apply(struct db_conn *c, const PGresult *events, int64_t from, int64_t to,
                     struct err_detail *why) __attribute__((warn_unused_result));

/* The tables written are the ones c's search_path resolves rm_* and projections to: the live
 * ones for the projector, the shadow copies for `rebuild` (rebuild.c sets the path), so both run
 * this one code path over the same prepared statements. c is a DB_SESSION connection: a
 * transaction must never continue on a silently replaced one. */
enum batch_txn {
    BATCH_OWN_TXN,       /* BEGIN ... COMMIT around the batch, as batch_apply */
    BATCH_IN_CALLER_TXN, /* inside the caller's transaction; on error the caller rolls back */
};
enum err batch_apply_txn(struct db_conn *c, const PGresult *events, int64_t from, int64_t to,
                         enum batch_txn txn, struct err_detail *why)
    __attribute__((warn_unused_result));

/* Issue 17: a step the calling thread's batches run inside their transaction after the rows
 * are written and before the checkpoint moves (the SQL views: their catalog rows are locked
 * before the projections row). Thread-local, so `rebuild`'s batches never run the projector's;
 * NULL (the default) for none. An error other than ERR_OK rolls the batch back. */
typedef enum err (*batch_hook)(struct db_conn *c, int64_t from, int64_t to);
void batch_before_checkpoint(batch_hook hook);

#endif
