/* A fixed table of account states (stream_cache.h). Entries hash like the stream turns; two
 * streams sharing an entry merely evict each other. Only account states are kept (under 1 KiB
 * each): order streams are rarely hot, and an order's items would make the table 9 MiB. */
#include "stream_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define ENTRIES 4096 /* ~3 MiB, touched only as streams come: 1 000 accounts mostly fit */

struct entry {
    pthread_mutex_t mu; /* the turn is per slot of another table: two streams may share this */
    bool valid;
    int uses;
    int loads_due; /* batches on stream_id that must load (stream_cache_stale) */
    char stream_id[STREAM_ID_MAX + 1];
    struct account_state account;
    int64_t snap_version, last_ms;
};

static struct entry entries[ENTRIES];
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

bool stream_cache_get(const char *stream_id, struct world *w, struct loaded_world *lw)
{
    if (!is_account(stream_id))
        return false;
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    if (same && e->loads_due > 0)
        e->loads_due--;
    bool hit = same && e->valid && e->uses < STREAM_CACHE_USES && e->loads_due == 0;
    if (hit) {
        memset(w, 0, sizeof *w);
        w->account[0] = e->account;
        memset(lw, 0, sizeof *lw);
        memcpy(lw->ids[0], stream_id, strlen(stream_id) + 1);
        lw->n = 1;
        lw->snap_version[0] = e->snap_version;
        lw->last_ms[0] = e->last_ms;
    }
    pthread_mutex_unlock(&e->mu);
    return hit;
}

void stream_cache_put(const char *stream_id, const struct world *w, const struct loaded_world *lw,
                      bool loaded)
{
    if (!is_account(stream_id) || lw->n != 1 || strcmp(lw->ids[0], stream_id) != 0)
        return;
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    bool same = strcmp(e->stream_id, stream_id) == 0;
    e->uses = loaded || !same || !e->valid ? 0 : e->uses + 1;
    e->loads_due = same ? e->loads_due : 0;
    e->valid = true;
    memcpy(e->stream_id, stream_id, strlen(stream_id) + 1);
    e->account = w->account[0];
    e->snap_version = lw->snap_version[0];
    e->last_ms = lw->last_ms[0];
    pthread_mutex_unlock(&e->mu);
}

void stream_cache_forget(const char *stream_id)
{
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    if (e->valid && strcmp(e->stream_id, stream_id) == 0)
        e->valid = false;
    pthread_mutex_unlock(&e->mu);
}

void stream_cache_stale(const char *stream_id)
{
    if (!is_account(stream_id))
        return;
    struct entry *e = entry_of(stream_id);
    pthread_mutex_lock(&e->mu);
    e->valid = false;
    e->loads_due = STREAM_CACHE_STALE_LOADS;
    memcpy(e->stream_id, stream_id, strlen(stream_id) + 1);
    pthread_mutex_unlock(&e->mu);
}
