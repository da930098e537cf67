/* Per-stream turns inside one process: commands on the same stream run one after another, in
 * order of arrival, instead of racing each other to a unique violation and retrying. */
#ifndef ORDERLY_STREAM_QUEUE_H
#define ORDERLY_STREAM_QUEUE_H

#include "domain/domain.h"

#include <stdbool.h>

/* The turns one command holds: slots in ascending order, each once. */
struct stream_turns {
    int n;
    unsigned slot[WORLD_STREAMS_MAX];
};

/* Waits for the turn of every stream in ids, taken in slot order so that two commands on the
 * same pair of streams never hold one each. false: a turn did not come within wait_ms (0: a busy
 * stream is not waited for, as DB_POOL_WAIT_MS=0 does not queue); then none is held. */
bool stream_queue_enter(struct stream_turns *t, const char ids[][STREAM_ID_MAX + 1], int n,
                        int wait_ms);

/* Hands each turn to the next command waiting for it, if any. */
void stream_queue_leave(struct stream_turns *t);

/* Commands waiting for a turn now, and totals since start: turns that had to wait, turns given
 * up at the deadline. */
struct stream_queue_stats {
    long waiting;
    unsigned long long waited, timeouts;
};
void stream_queue_stats(struct stream_queue_stats *out);

/* The counters above in Prometheus text (metrics_fn's buffer). */
void stream_queue_metrics(void *buf);

#endif
