/* The state an account or order stream was left in by this process's last batch on it, so the
 * next batch can decide without loading it again (issue 15). Safe because every append is checked
 * by the database: a state that another writer made stale proposes a version that is taken,
 * and the append writes nothing (statements.h), then the batch loads; a refusal decided over
 * it is checked against a real load before it is answered (hot_batch.c, commands.c). Call only
 * under the streams' turns. */
#ifndef ORDERLY_STREAM_CACHE_H
#define ORDERLY_STREAM_CACHE_H

#include "world_store.h"

#include <stdbool.h>

/* Batches decided from one cached state before a real load (which also stores the snapshot
 * that is due): the cache never lets a stream's tail grow unboundedly. */
#define STREAM_CACHE_USES 16

/* After a stale state the stream's next batches load: 1 after the first, twice as many after
 * each stale state that follows, up to STREAM_CACHE_STALE_LOADS, and half as many again after
 * each kept state that proves fresh. A writer elsewhere that takes turns with this process
 * (another replica) soon has it load every time instead of paying for stale states; a one-off
 * write (a script, a ceiling's pgbench) costs one load. */
#define STREAM_CACHE_STALE_LOADS 64

/* Copies the kept states of the n streams in ids (command_streams' order) into their slots of
 * w, and lw as world_store_load would have filled it; false when one is missing, was used
 * STREAM_CACHE_USES times, or still has loads due after a stale state. */
bool stream_cache_get(const char ids[][STREAM_ID_MAX + 1], int n, struct world *w,
                      struct loaded_world *lw);

/* Keeps each of lw's streams' states in w (the states after a committed append) for the next
 * batch. loaded: w was decided from a real load, or from nothing for a stream the command
 * created (starts a new count of uses). */
void stream_cache_put(const struct world *w, const struct loaded_world *lw, bool loaded);

/* After a write to stream_id that kept no state: its next batch loads instead of meeting a
 * stale state (which would cost an append that writes nothing, never a wrong answer). */
void stream_cache_forget(const char *stream_id);

/* After an append over the kept states of ids wrote nothing (one of them was stale): drops
 * them, and the next batches on each of those streams load (STREAM_CACHE_STALE_LOADS). */
void stream_cache_stale(const char ids[][STREAM_ID_MAX + 1], int n);

/* Appends over stale kept states so far: orderly_command_retries_total{cause="stale_state"}. */
unsigned long stream_cache_stale_total(void);

#endif
