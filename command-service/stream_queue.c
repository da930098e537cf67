/* Per-stream turns. Streams hash onto a fixed table of slots, each a FIFO of the commands
 * waiting for it; two streams that share a slot merely take turns too. A turn is handed
 * straight to the oldest waiter, so a command arriving later cannot overtake it. */
#include "stream_queue.h"

#include "handoff.h"
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define SLOTS 1024 /* hash collisions only serialize two unrelated streams; rare at this size */

struct slot {
    pthread_mutex_t mu;
    bool busy;
    struct handoff_queue queue; /* commands waiting for this slot, oldest first */
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

/* Under s->mu: queues behind the current holder until handed the turn or the deadline. */
static bool wait_turn(struct slot *s, int wait_ms)
{
    atomic_fetch_add(&waiting, 1);
    atomic_fetch_add(&waited, 1);
    bool granted = handoff_wait(&s->queue, &s->mu, wait_ms) != NULL;
    if (!granted)
        atomic_fetch_add(&timeouts, 1);
    atomic_fetch_sub(&waiting, 1);
    return granted;
}

static bool take(unsigned i, int wait_ms)
{
    struct slot *s = &slots[i];
    pthread_mutex_lock(&s->mu);
    bool ok = true;
    if (!s->busy)
        s->busy = true;
    else if (wait_ms > 0)
        ok = wait_turn(s, wait_ms);
    else
        ok = false, atomic_fetch_add(&timeouts, 1);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void give(unsigned i)
{
    static char turn; /* the token handed over: any non-NULL pointer */
    struct slot *s = &slots[i];
    pthread_mutex_lock(&s->mu);
    if (!handoff_give(&s->queue, &turn))
        s->busy = false; /* else the slot stays busy: it passed to the oldest waiter */
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
        if (!take(t->slot[i], wait_ms)) {
            while (i-- > 0)
                give(t->slot[i]);
            t->n = 0;
            return false;
        }
    }
    return true;
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
