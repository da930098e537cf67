/* Per-stream turns. A stream's turn exists while some command holds it: an entry in one of a
 * fixed table of locked slots (the stream id's hash picks the slot), with the FIFO of commands
 * waiting for it. Streams are told apart by their full id, so two streams that share a slot
 * never wait for each other. A turn is handed straight to the oldest waiter, so a command
 * arriving later cannot overtake it. A waiter may offer itself to be decided by the holder
 * instead (stream_queue_take): then it leaves the queue without ever holding the turn and sleeps
 * until the holder has answered it. The queue is its own rather than common/handoff's because
 * the holder must see what each waiter carries. */
#include "stream_queue.h"

#include "clock.h"
#include "metrics.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024 /* lock striping only: a slot holds any number of streams' turns */

enum waiter_state { W_WAITING, W_GRANTED, W_TAKEN, W_ANSWERED };

struct stream_waiter {
    struct stream_waiter *next;
    pthread_cond_t cond;
    enum waiter_state state;
    void *joinable; /* what the holder may decide for it; NULL: it needs the turn itself */
};

/* One stream's turn, from its first holder until the last holder leaves with nobody waiting. */
struct stream_hold {
    struct stream_hold *next;          /* in its slot */
    unsigned slot;                     /* slots[slot] holds it */
    struct stream_waiter *head, *tail; /* oldest first */
    char stream_id[STREAM_ID_MAX + 1];
};

struct slot {
    pthread_mutex_t mu;
    struct stream_hold *held;
};

static struct slot slots[SLOTS];
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static atomic_long waiting;
static atomic_ullong waited, timeouts;

static void slots_init(void)
{
    for (int i = 0; i < SLOTS; i++)
        pthread_mutex_init(&slots[i].mu, NULL);
}

static unsigned slot_of(const char *stream_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)stream_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SLOTS;
}

static void unlink_waiter(struct stream_hold *h, struct stream_waiter *w)
{
    struct stream_waiter **link = &h->head, *prev = NULL;
    while (*link && *link != w) {
        prev = *link;
        link = &(*link)->next;
    }
    if (!*link)
        return;
    *link = w->next;
    if (h->tail == w)
        h->tail = prev;
}

static struct stream_waiter *pop_head(struct stream_hold *h)
{
    struct stream_waiter *w = h->head;
    h->head = w->next;
    if (!h->head)
        h->tail = NULL;
    return w;
}

/* Under s->mu: queues on h behind its current holder until handed the turn, taken and answered
 * by the holder, or the deadline (which no longer applies once taken). h outlives the wait: it
 * is only freed by a holder leaving with nobody queued. */
static enum stream_turn wait_turn(struct slot *s, struct stream_hold *h, int wait_ms,
                                  void *joinable)
{
    struct stream_waiter w = {.joinable = joinable};
    clock_cond_init(&w.cond);
    if (h->tail)
        h->tail->next = &w;
    else
        h->head = &w;
    h->tail = &w;
    atomic_fetch_add(&waiting, 1);
    atomic_fetch_add(&waited, 1);
    struct timespec until = clock_deadline_after(wait_ms);
    while (w.state == W_WAITING && pthread_cond_timedwait(&w.cond, &s->mu, &until) == 0)
        ;
    while (w.state == W_TAKEN)
        pthread_cond_wait(&w.cond, &s->mu);
    if (w.state == W_WAITING) {
        unlink_waiter(h, &w);
        atomic_fetch_add(&timeouts, 1);
    }
    atomic_fetch_sub(&waiting, 1);
    pthread_cond_destroy(&w.cond);
    return w.state == W_GRANTED    ? STREAM_TURN_HELD
           : w.state == W_ANSWERED ? STREAM_TURN_ANSWERED
                                   : STREAM_TURN_TIMEOUT;
}

static struct stream_hold *find_hold(const struct slot *s, const char *stream_id)
{
    struct stream_hold *h = s->held;
    while (h && strcmp(h->stream_id, stream_id) != 0)
        h = h->next;
    return h;
}

/* The turn of stream_id, at once when nobody holds it; it becomes t's (t->n-th) turn. */
static enum stream_turn take(struct stream_turns *t, const char *stream_id, int wait_ms,
                             void *joinable)
{
    unsigned i = slot_of(stream_id);
    struct slot *s = &slots[i];
    pthread_mutex_lock(&s->mu);
    enum stream_turn got = STREAM_TURN_HELD;
    struct stream_hold *h = find_hold(s, stream_id);
    if (!h) {
        h = xcalloc(1, sizeof *h);
        h->slot = i;
        snprintf(h->stream_id, sizeof h->stream_id, "%s", stream_id);
        h->next = s->held;
        s->held = h;
    } else if (wait_ms > 0) {
        got = wait_turn(s, h, wait_ms, joinable);
    } else {
        got = STREAM_TURN_TIMEOUT;
        atomic_fetch_add(&timeouts, 1);
    }
    pthread_mutex_unlock(&s->mu);
    if (got == STREAM_TURN_HELD)
        t->hold[t->n++] = h;
    return got;
}

static void give(struct stream_hold *h)
{
    struct slot *s = &slots[h->slot];
    pthread_mutex_lock(&s->mu);
    if (h->head) { /* the turn stays held: it passes to the oldest waiter */
        struct stream_waiter *w = pop_head(h);
        w->state = W_GRANTED;
        pthread_cond_signal(&w->cond);
    } else {
        struct stream_hold **link = &s->held;
        while (*link != h)
            link = &(*link)->next;
        *link = h->next;
        free(h);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Distinct ids in ascending (strcmp) order, the order every command takes turns in: two
 * commands on the same pair of streams then never hold one each. Returns how many. */
static int sorted_ids(const char *out[WORLD_STREAMS_MAX], const char ids[][STREAM_ID_MAX + 1],
                      int n)
{
    int m = 0;
    for (int i = 0; i < n && i < WORLD_STREAMS_MAX; i++) {
        bool dup = false;
        for (int k = 0; k < m; k++)
            dup = dup || strcmp(out[k], ids[i]) == 0;
        if (dup)
            continue;
        int j = m++;
        while (j > 0 && strcmp(out[j - 1], ids[i]) > 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = ids[i];
    }
    return m;
}

bool stream_queue_enter(struct stream_turns *t, const char ids[][STREAM_ID_MAX + 1], int n,
                        int wait_ms)
{
    pthread_once(&slots_once, slots_init);
    const char *order[WORLD_STREAMS_MAX];
    int m = sorted_ids(order, ids, n);
    t->n = 0;
    for (int i = 0; i < m; i++) {
        if (take(t, order[i], wait_ms, NULL) != STREAM_TURN_HELD) {
            stream_queue_leave(t);
            return false;
        }
    }
    return true;
}

enum stream_turn stream_queue_enter_joinable(struct stream_turns *t, const char *stream_id,
                                             int wait_ms, void *joinable)
{
    pthread_once(&slots_once, slots_init);
    t->n = 0;
    return take(t, stream_id, wait_ms, joinable);
}

int stream_queue_take(const struct stream_turns *t, stream_fits_fn fits, void *cls,
                      struct stream_taken *out, int max)
{
    int before = out->n;
    if (t->n != 1)
        return 0;
    struct stream_hold *h = t->hold[0];
    struct slot *s = &slots[h->slot];
    pthread_mutex_lock(&s->mu);
    while (h->head && out->n < max && out->n < STREAM_TAKE_MAX && h->head->joinable &&
           fits(cls, h->head->joinable)) {
        struct stream_waiter *w = pop_head(h);
        w->state = W_TAKEN;
        out->waiter[out->n] = w;
        out->joinable[out->n++] = w->joinable;
    }
    pthread_mutex_unlock(&s->mu);
    return out->n - before;
}

void stream_queue_answered(const struct stream_turns *t, struct stream_taken *taken)
{
    if (taken->n == 0)
        return;
    struct slot *s = &slots[t->hold[0]->slot];
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < taken->n; i++) {
        taken->waiter[i]->state = W_ANSWERED;
        pthread_cond_signal(&taken->waiter[i]->cond);
    }
    pthread_mutex_unlock(&s->mu);
    taken->n = 0;
}

void stream_queue_leave(struct stream_turns *t)
{
    for (int i = t->n - 1; i >= 0; i--)
        give(t->hold[i]);
    t->n = 0;
}

void stream_queue_stats(struct stream_queue_stats *out)
{
    *out = (struct stream_queue_stats){atomic_load(&waiting), atomic_load(&waited),
                                       atomic_load(&timeouts)};
}

void stream_queue_metrics(void *buf)
{
    struct stream_queue_stats s;
    stream_queue_stats(&s);
    metrics_printf(buf,
                   "# HELP orderly_stream_queue_waiting commands waiting for their stream's turn "
                   "now\n# TYPE orderly_stream_queue_waiting gauge\norderly_stream_queue_waiting "
                   "%ld\n",
                   s.waiting);
    metrics_printf(buf,
                   "# HELP orderly_stream_queue_waits_total commands that waited behind another "
                   "on their stream\n# TYPE orderly_stream_queue_waits_total counter\n"
                   "orderly_stream_queue_waits_total %llu\n",
                   s.waited);
    metrics_printf(buf,
                   "# HELP orderly_stream_queue_timeouts_total commands answered 503 because "
                   "their stream's turn did not come within DB_POOL_WAIT_MS\n"
                   "# TYPE orderly_stream_queue_timeouts_total counter\n"
                   "orderly_stream_queue_timeouts_total %llu\n",
                   s.timeouts);
}
