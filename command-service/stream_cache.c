/* Fixed tables of account and order states (stream_cache.h). Entries hash like the stream turns;
 * two streams sharing an entry merely evict each other. An account state is under 1 KiB, an
 * order's about 9 KiB (its items), so orders get fewer entries; pages are touched only as
 * streams come. */
#include "stream_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define ACCOUNT_ENTRIES 4096 /* ~3 MiB: 1 000 busy accounts mostly fit */
#define ORDER_ENTRIES   1024 /* ~9 MiB: an order is busy briefly (placed, paid, shipped) */

struct entry {
    pthread_mutex_t mu; /* the turn is per slot of another table: two streams may share this */
    bool valid;
    int uses;
    int loads_due; /* batches on stream_id that must load (stream_cache_stale) */
    int penalty;   /* loads_due the last stale state set: doubles on the next, halves on a fresh */
    char stream_id[STREAM_ID_MAX + 1];
    int64_t snap_version, last_ms;
};

static struct entry account_entries[ACCOUNT_ENTRIES], order_entries[ORDER_ENTRIES];
static struct account_state accounts[ACCOUNT_ENTRIES];
static struct order_state orders[ORDER_ENTRIES];
static atomic_ulong stale_total;
static pthread_once_t entries_once = PTHREAD_ONCE_INIT;

static void entries_init(void)
{
    for (int i = 0; i < ACCOUNT_ENTRIES; i++)
        pthread_mutex_init(&account_entries[i].mu, NULL);
    for (int i = 0; i < ORDER_ENTRIES; i++)
        pthread_mutex_init(&order_entries[i].mu, NULL);
}

/* Where stream_id's state is kept: its entry and one of *a and *o; NULL for another kind. */
static struct entry *entry_of(const char *stream_id, struct account_state **a,
                              struct order_state **o)
{
    pthread_once(&entries_once, entries_init);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)stream_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    *a = NULL;
    *o = NULL;
    if (strncmp(stream_id, "account-", 8) == 0) {
        *a = &accounts[h % ACCOUNT_ENTRIES];
        return &account_entries[h % ACCOUNT_ENTRIES];
    }
    if (strncmp(stream_id, "order-", 6) == 0) {
        *o = &orders[h % ORDER_ENTRIES];
        return &order_entries[h % ORDER_ENTRIES];
    }
    return NULL;
}

/* One stream's kept state into its world slot (wa or wo) and slot i of lw; false when it is
 * not usable. */
static bool get_one(const char *stream_id, struct account_state *wa, struct order_state *wo,
                    struct loaded_world *lw, int i)
{
    struct account_state *a;
    struct order_state *o;
    struct entry *e = entry_of(stream_id, &a, &o);
    if (!e || (a && !wa) || (o && !wo))
        return false;
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    bool due = same && e->loads_due > 0;
    e->loads_due -= due;
    bool hit = same && e->valid && e->uses < STREAM_CACHE_USES && !due;
    if (hit) {
        if (a)
            *wa = *a;
        else
            *wo = *o;
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
        if (!get_one(ids[i], a, o, lw, i))
            return false;
    }
    return n > 0;
}

static void put_one(const char *stream_id, const struct account_state *wa,
                    const struct order_state *wo, const struct loaded_world *lw, int i, bool loaded)
{
    struct account_state *a;
    struct order_state *o;
    struct entry *e = entry_of(stream_id, &a, &o);
    if (!e || (a && !wa) || (o && !wo))
        return;
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    e->uses = loaded || !same || !e->valid ? 0 : e->uses + 1;
    e->loads_due = same ? e->loads_due : 0;
    e->penalty = !same ? 0 : loaded ? e->penalty : e->penalty / 2; /* a kept state was fresh */
    e->valid = true;
    memcpy(e->stream_id, stream_id, strlen(stream_id) + 1);
    if (a)
        *a = *wa;
    else
        *o = *wo;
    e->snap_version = lw->snap_version[i];
    e->last_ms = lw->last_ms[i];
    pthread_mutex_unlock(&e->mu);
}

void stream_cache_put(const struct world *w, const struct loaded_world *lw, bool loaded)
{
    for (int i = 0; i < lw->n; i++) {
        struct order_state *o;
        struct account_state *a;
        world_slot((struct world *)w, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n, lw->ids[i],
                   &o, &a);
        put_one(lw->ids[i], a, o, lw, i, loaded);
    }
}

void stream_cache_forget(const char *stream_id)
{
    struct account_state *a;
    struct order_state *o;
    struct entry *e = entry_of(stream_id, &a, &o);
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    if (e->valid && strcmp(e->stream_id, stream_id) == 0)
        e->valid = false;
    pthread_mutex_unlock(&e->mu);
}

void stream_cache_stale(const char ids[][STREAM_ID_MAX + 1], int n)
{
    atomic_fetch_add(&stale_total, 1);
    for (int i = 0; i < n; i++) {
        struct account_state *a;
        struct order_state *o;
        struct entry *e = entry_of(ids[i], &a, &o);
        if (!e)
            continue;
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
