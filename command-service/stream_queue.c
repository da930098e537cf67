/* Per-stream turns. Streams hash onto a fixed table of slots, each a FIFO of the commands
 * waiting for it; two streams that share a slot merely take turns too. A turn is handed
 * straight to the oldest waiter, so a command arriving later cannot overtake it. A waiter may
 * offer itself to be decided by the holder instead (stream_queue_take): then it leaves the
 * queue without ever holding the turn and sleeps until the holder has answered it. The queue is
 * its own rather than common/handoff's because the holder must see what each waiter carries. */
#include "stream_queue.h"

#include "clock.h"
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SLOTS 1024 /* hash collisions only serialize two unrelated streams; rare at this size */

enum waiter_state { W_WAITING, W_GRANTED, W_TAKEN, W_ANSWERED };

struct stream_waiter {
    struct stream_waiter *next;
    pthread_cond_t cond;
    enum waiter_state state;
    void *joinable; /* what the holder may decide for it; NULL: it needs the turn itself */
};

struct slot {
    pthread_mutex_t mu;
    bool busy;
    struct stream_waiter *head, *tail; /* oldest first */
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

static void unlink_waiter(struct slot *s, struct stream_waiter *w)
{
    struct stream_waiter **link = &s->head, *prev = NULL;
    while (*link && *link != w) {
        prev = *link;
        link = &(*link)->next;
    }
    if (!*link)
        return;
    *link = w->next;
    if (s->tail == w)
        s->tail = prev;
}

static struct stream_waiter *pop_head(struct slot *s)
{
    struct stream_waiter *w = s->head;
    s->head = w->next;
    if (!s->head)
        s->tail = NULL;
    return w;
}

/* Under s->mu: queues behind the current holder until handed the turn, taken and answered by
 * the holder, or the deadline (which no longer applies once taken). */
static enum stream_turn wait_turn(struct slot *s, int wait_ms, void *joinable)
{
    struct stream_waiter w = {.joinable = joinable};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cond, &attr);
    pthread_condattr_destroy(&attr);
    if (s->tail)
        s->tail->next = &w;
    else
        s->head = &w;
    s->tail = &w;
    atomic_fetch_add(&waiting, 1);
    atomic_fetch_add(&waited, 1);
    struct timespec until = clock_deadline_after(wait_ms);
    while (w.state == W_WAITING && pthread_cond_timedwait(&w.cond, &s->mu, &until) == 0)
        ;
    while (w.state == W_TAKEN)
        pthread_cond_wait(&w.cond, &s->mu);
    if (w.state == W_WAITING) {
        unlink_waiter(s, &w);
        atomic_fetch_add(&timeouts, 1);
    }
    atomic_fetch_sub(&waiting, 1);
    pthread_cond_destroy(&w.cond);
    return w.state == W_GRANTED    ? STREAM_TURN_HELD
           : w.state == W_ANSWERED ? STREAM_TURN_ANSWERED
                                   : STREAM_TURN_TIMEOUT;
}

static enum stream_turn take(unsigned i, int wait_ms, void *joinable)
{
    struct slot *s = &slots[i];
    pthread_mutex_lock(&s->mu);
    enum stream_turn got = STREAM_TURN_HELD;
    if (!s->busy)
        s->busy = true;
    else if (wait_ms > 0)
        got = wait_turn(s, wait_ms, joinable);
    else
        got = STREAM_TURN_TIMEOUT, atomic_fetch_add(&timeouts, 1);
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void give(unsigned i)
{
    struct slot *s = &slots[i];
    pthread_mutex_lock(&s->mu);
    if (s->head) { /* the slot stays busy: it passes to the oldest waiter */
        struct stream_waiter *w = pop_head(s);
        w->state = W_GRANTED;
        pthread_cond_signal(&w->cond);
    } else {
        s->busy = false;
    }
    pthread_mutex_unlock(&s->mu);
}

/* Distinct slots of ids, ascending: the order every command takes them in. */
static void sorted_slots(struct stream_turns *t, const char ids[][STREAM_ID_MAX + 1], int n)
{
    t->n = 0;
    for (int i = 0; i < n && i < WORLD_STREAMS_MAX; i++) {
        unsigned v = slot_of(ids[i]);
        int j = t->n;
        bool dup = false;
        for (int k = 0; k < t->n; k++)
            dup = dup || t->slot[k] == v;
        if (dup)
            continue;
        while (j > 0 && t->slot[j - 1] > v) {
            t->slot[j] = t->slot[j - 1];
            j--;
        }
        t->slot[j] = v;
        t->n++;
    }
}

bool stream_queue_enter(struct stream_turns *t, const char ids[][STREAM_ID_MAX + 1], int n,
                        int wait_ms)
{
    pthread_once(&slots_once, slots_init);
    sorted_slots(t, ids, n);
    for (int i = 0; i < t->n; i++) {
        if (take(t->slot[i], wait_ms, NULL) != STREAM_TURN_HELD) {
            while (i-- > 0)
                give(t->slot[i]);
            t->n = 0;
            return false;
        }
    }
    return true;
}

enum stream_turn stream_queue_enter_joinable(struct stream_turns *t, const char *stream_id,
                                             int wait_ms, void *joinable)
{
    pthread_once(&slots_once, slots_init);
    t->n = 1;
    t->slot[0] = slot_of(stream_id);
    enum stream_turn got = take(t->slot[0], wait_ms, joinable);
    if (got != STREAM_TURN_HELD)
        t->n = 0;
    return got;
}

int stream_queue_take(const struct stream_turns *t, stream_fits_fn fits, void *cls,
                      struct stream_taken *out, int max)
{
    int before = out->n;
    if (t->n != 1)
        return 0;
    struct slot *s = &slots[t->slot[0]];
    pthread_mutex_lock(&s->mu);
    while (s->head && out->n < max && out->n < STREAM_TAKE_MAX && s->head->joinable &&
           fits(cls, s->head->joinable)) {
        struct stream_waiter *w = pop_head(s);
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
    struct slot *s = &slots[t->slot[0]];
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
        give(t->slot[i]);
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
