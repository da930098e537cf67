/* The state an account stream was left in by this process's last batch on it, so the next
 * batch can decide without loading it again (issue 15). Safe because every append is checked
 * by the database: a state that another writer made stale proposes a version that is taken,
 * and the append writes nothing (statements.h), then the batch loads; a refusal decided over
 * it is checked against a real load before it is answered (hot_batch.c). Call only under the
 * stream's turn. */
#ifndef ORDERLY_STREAM_CACHE_H
#define ORDERLY_STREAM_CACHE_H

#include "world_store.h"

#include <stdbool.h>

/* Batches decided from one cached state before a real load (which also stores the snapshot
 * that is due): the cache never lets a stream's tail grow unboundedly. */
#define STREAM_CACHE_USES 16

/* After a stale state, the stream's next batches load: another writer is taking turns with
 * this process, so a cached state would mostly cost an append that writes nothing. */
#define STREAM_CACHE_STALE_LOADS 64

/* Copies stream_id's state into w and lw (as world_store_load would have filled them); false
 * when there is none, it is for another stream, it was used STREAM_CACHE_USES times, or a
 * stale state of the stream was met less than STREAM_CACHE_STALE_LOADS batches ago. */
bool stream_cache_get(const char *stream_id, struct world *w, struct loaded_world *lw);

/* Keeps w (an account stream's state after a committed append; others are not kept) for the
 * next batch. loaded: the state was decided from a real load (starts a new count of uses). */
void stream_cache_put(const char *stream_id, const struct world *w, const struct loaded_world *lw,
                      bool loaded);

/* After an append over stream_id's cached state wrote nothing: drops it, and the next
 * STREAM_CACHE_STALE_LOADS batches on the stream load. */
void stream_cache_stale(const char *stream_id);

/* After any write to stream_id that did not go through stream_cache_put, or any doubt. */
void stream_cache_forget(const char *stream_id);

#endif
