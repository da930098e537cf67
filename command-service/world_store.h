/* Loading a command's world from snapshots + tails, and storing snapshots after appends: the
 * write side's only use of the snapshots table (a cache; see docs/architecture.md). */
#ifndef ORDERLY_WORLD_STORE_H
#define ORDERLY_WORLD_STORE_H

#include "domain/domain.h"
#include "err.h"
#include "store/store.h"

/* What a load saw per stream, for deciding whether to store a fresher snapshot. */
struct loaded_world {
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n;
    int64_t snap_version[WORLD_STREAMS_MAX]; /* the snapshot the load started from, 0 if none */
    int64_t last_ms[WORLD_STREAMS_MAX];      /* latest recorded_at folded into the state */
};

/* every: SNAPSHOT_EVERY (0 disables reading and writing snapshots). Call before serving. */
void world_store_init(int every);

/* Loads every stream the command reads into w, each from its snapshot (if usable) plus the
 * events after it, in one statement per round; CancelOrder learns its refund account from the
 * order, so the list is recomputed until it stops growing. A snapshot that does not decode or
 * does not match its stream is logged and ignored: the streams are then loaded in full. */
enum err world_store_load(struct db_conn *db, const struct command *c, struct world *w,
                          struct loaded_world *lw, struct err_detail *why)
    __attribute__((warn_unused_result));

/* After a successful append: stores the loaded state of every stream at least `every` events
 * past its snapshot. The state is the one loaded (committed, with real timestamps), not the one
 * after the append, whose recorded_at only the database knows. Best effort: never fails. */
void world_store_after_append(struct db_conn *db, const struct world *w,
                              const struct loaded_world *lw);

#endif
