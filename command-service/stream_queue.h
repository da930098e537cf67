/* Per-stream turns inside one process: commands on the same stream run one after another, in
 * order of arrival, instead of racing each other to a unique violation and retrying. */
#ifndef ORDERLY_STREAM_QUEUE_H
#define ORDERLY_STREAM_QUEUE_H

#include "domain/domain.h"

#include <stdbool.h>

struct stream_hold; /* one stream's turn, while someone holds it */

/* The turns one command holds, in ascending stream id order, each stream once. */
struct stream_turns {
    int n;
    struct stream_hold *hold[WORLD_STREAMS_MAX];
};

/* Waits for the turn of every stream in ids, taken in stream id order so that two commands on the
 * same pair of streams never hold one each. false: a turn did not come within wait_ms (0: a busy
 * stream is not waited for, as DB_POOL_WAIT_MS=0 does not queue); then none is held. */
bool stream_queue_enter(struct stream_turns *t, const char ids[][STREAM_ID_MAX + 1], int n,
                        int wait_ms);

/* How a joinable command's wait for its turn ended. */
enum stream_turn {
    STREAM_TURN_HELD,     /* it holds the turn, as after stream_queue_enter */
    STREAM_TURN_ANSWERED, /* the holder took it (stream_queue_take) and has answered it */
    STREAM_TURN_TIMEOUT   /* no turn within wait_ms; none is held */
};

/* stream_queue_enter for a command on one stream that the turn's holder may decide for it:
 * joinable (not NULL) is what the holder's fits() and stream_queue_take see. */
enum stream_turn stream_queue_enter_joinable(struct stream_turns *t, const char *stream_id,
                                             int wait_ms, void *joinable)
    __attribute__((warn_unused_result));

#define STREAM_TAKE_MAX 32

struct stream_waiter; /* on the waiting thread's stack */

/* Waiters taken by the holder, oldest first, until stream_queue_answered. */
struct stream_taken {
    int n;
    void *joinable[STREAM_TAKE_MAX];
    struct stream_waiter *waiter[STREAM_TAKE_MAX];
};

/* Under the slot's lock, so it must only look at joinable. */
typedef bool (*stream_fits_fn)(void *cls, void *joinable);

/* Only while holding t for one stream: takes from the front of its queue, oldest first,
 * joinable waiters that fits() accepts, and stops at the first it does not (a later one never
 * overtakes it) or when out (start it with n = 0; each call adds to it) holds max. They stay
 * asleep, no longer queued, until stream_queue_answered. Returns how many this call took. */
int stream_queue_take(const struct stream_turns *t, stream_fits_fn fits, void *cls,
                      struct stream_taken *out, int max);

/* Wakes every taken waiter: each has its answer. Call before stream_queue_leave. */
void stream_queue_answered(const struct stream_turns *t, struct stream_taken *taken);

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
