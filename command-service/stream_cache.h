/* The state a hot account stream was left in by this process's last batch on it, so the next
 * batch can decide without loading it again (issue 15). Safe because every append is checked
 * by the database: a state that another writer made stale only ever proposes versions that
 * are taken (a unique violation, then a real load), and a refusal decided over it is checked
 * against a real load before it is answered (hot_batch.c). Call only under the stream's turn. */
#ifndef ORDERLY_STREAM_CACHE_H
#define ORDERLY_STREAM_CACHE_H

#include "world_store.h"

#include <stdbool.h>

/* Batches decided from one cached state before a real load (which also stores the snapshot
 * that is due): the cache never lets a stream's tail grow unboundedly. */
#define STREAM_CACHE_USES 16

/* Copies stream_id's state into w and lw (as world_store_load would have filled them); false
 * when there is none, it is for another stream, it was used STREAM_CACHE_USES times, or the
 * stream is not hot: neither did the batch that kept it have company nor does this one
 * (company). A command alone on its stream always loads, so it sees snapshots and writes
 * them exactly as without the cache. */
bool stream_cache_get(const char *stream_id, bool company, struct world *w,
                      struct loaded_world *lw);

/* Keeps w (an account stream's state after a committed append; others are not kept) for the
 * next batch. loaded: the state was decided from a real load (starts a new count of uses);
 * company: the batch had more than one command. */
void stream_cache_put(const char *stream_id, const struct world *w, const struct loaded_world *lw,
                      bool loaded, bool company);

/* After any write to stream_id that did not go through stream_cache_put, or any doubt. */
void stream_cache_forget(const char *stream_id);

#endif
