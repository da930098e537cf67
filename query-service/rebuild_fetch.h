/* The rebuild's reader: the next page of events is read on a second connection in a thread
 * while the page before is applied, so the scan runs on one core while decoding and writing
 * run on the other. Every event read is at or below a settled horizon or the live checkpoint,
 * committed, so any session reads the same rows. */
#ifndef QUERY_REBUILD_FETCH_H
#define QUERY_REBUILD_FETCH_H

#include "store/db.h"
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define FETCH_STREAM_MAX 104 /* events.stream_id is at most 100 characters */

struct fetch {
    struct db_conn *c; /* DB_LAZY */
    int limit;
    bool by_stream; /* pages in (stream_id, stream_version) order, else in position order */
    int64_t to;     /* only events at or below this position */
    /* The page starts after this: a position, or a (stream, version) pair. */
    int64_t after;
    char stream[FETCH_STREAM_MAX];
    int64_t version;
    pthread_t thread;
    bool threaded;
    PGresult *res; /* NULL when the read failed */
};

/* Starts reading the next page (inline when no thread can be made). */
void fetch_start(struct fetch *f);
/* The rows read (the caller clears them), or NULL when the read failed. */
PGresult *fetch_join(struct fetch *f);
/* Moves f past the last row of res, a page it read: the next fetch_start reads on from there. */
void fetch_past(struct fetch *f, const PGresult *res);

#endif
