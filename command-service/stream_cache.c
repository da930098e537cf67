/* A fixed table of account states (stream_cache.h). Entries hash like the stream turns; two
 * streams sharing an entry merely evict each other. Only account states are kept (under 1 KiB
 * each): order streams are rarely hot, and an order's items would make the table 9 MiB. */
#include "stream_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define ENTRIES 4096 /* ~3 MiB, touched only as streams come: 1 000 accounts mostly fit */

struct entry {
    pthread_mutex_t mu; /* the turn is per slot of another table: two streams may share this */
    bool valid;
    int uses;
    int loads_due; /* batches on stream_id that must load (stream_cache_stale) */
    int penalty;   /* loads_due the last stale state set: doubles on the next, halves on a fresh */
    char stream_id[STREAM_ID_MAX + 1];
    struct account_state account;
    int64_t snap_version, last_ms;
};

static struct entry entries[ENTRIES];
static atomic_ulong stale_total;
static pthread_once_t entries_once = PTHREAD_ONCE_INIT;

static void entries_init(void)
{
    for (int i = 0; i < ENTRIES; i++)
        pthread_mutex_init(&entries[i].mu, NULL);
}

static struct entry *entry_of(const char *stream_id)
{
    pthread_once(&entries_once, entries_init);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)stream_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &entries[h % ENTRIES];
}

static bool is_account(const char *stream_id)
{
    return strncmp(stream_id, "account-", 8) == 0;
}

/* One stream's kept state into *a and slot i of lw; false when it is not usable. */
static bool get_one(const char *stream_id, struct account_state *a, struct loaded_world *lw, int i)
{
    if (!is_account(stream_id))
        return false;
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    bool due = same && e->loads_due > 0;
    e->loads_due -= due;
    bool hit = same && e->valid && e->uses < STREAM_CACHE_USES && !due;
    if (hit) {
        *a = e->account;
        lw->snap_version[i] = e->snap_version;
        lw->last_ms[i] = e->last_ms;
    }
    pthread_mutex_unlock(&e->mu);
    return hit;
}

bool stream_cache_get(const char ids[][STREAM_ID_MAX + 1], int n, struct world *w,
                      struct loaded_world *lw)
{
    memset(w, 0, sizeof *w);
    memset(lw, 0, sizeof *lw);
    lw->n = n;
    for (int i = 0; i < n; i++) {
        memcpy(lw->ids[i], ids[i], strlen(ids[i]) + 1);
        struct order_state *o;
        struct account_state *a;
        world_slot(w, ids, n, ids[i], &o, &a);
        if (!a || !get_one(ids[i], a, lw, i))
            return false;
    }
    return n > 0;
}

static void put_one(const char *stream_id, const struct account_state *a,
                    const struct loaded_world *lw, int i, bool loaded)
{
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    e->uses = loaded || !same || !e->valid ? 0 : e->uses + 1;
    e->loads_due = same ? e->loads_due : 0;
    e->penalty = !same ? 0 : loaded ? e->penalty : e->penalty / 2; /* a kept state was fresh */
    e->valid = true;
    memcpy(e->stream_id, stream_id, strlen(stream_id) + 1);
    e->account = *a;
    e->snap_version = lw->snap_version[i];
    e->last_ms = lw->last_ms[i];
    pthread_mutex_unlock(&e->mu);
}

bool stream_cache_put(const struct world *w, const struct loaded_world *lw, bool loaded)
{
    for (int i = 0; i < lw->n; i++)
        if (!is_account(lw->ids[i]))
            return false;
    for (int i = 0; i < lw->n; i++) {
        struct order_state *o;
        struct account_state *a;
        world_slot((struct world *)w, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n, lw->ids[i],
                   &o, &a);
        if (a)
            put_one(lw->ids[i], a, lw, i, loaded);
    }
    return lw->n > 0;
}

void stream_cache_forget(const char *stream_id)
{
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    if (e->valid && strcmp(e->stream_id, stream_id) == 0)
        e->valid = false;
    pthread_mutex_unlock(&e->mu);
}

void stream_cache_stale(const char ids[][STREAM_ID_MAX + 1], int n)
{
    atomic_fetch_add(&stale_total, 1);
    for (int i = 0; i < n; i++) {
        if (!is_account(ids[i]))
            continue;
        struct entry *e = entry_of(ids[i]);
        pthread_mutex_lock(&e->mu);
        int was = strcmp(e->stream_id, ids[i]) == 0 ? e->penalty : 0;
        e->valid = false;
        e->penalty = was ? 2 * was : 1;
        e->penalty = e->penalty < STREAM_CACHE_STALE_LOADS ? e->penalty : STREAM_CACHE_STALE_LOADS;
        e->loads_due = e->penalty;
        memcpy(e->stream_id, ids[i], strlen(ids[i]) + 1);
        pthread_mutex_unlock(&e->mu);
    }
}

unsigned long stream_cache_stale_total(void)
{
    return atomic_load(&stale_total);
}
