/* One attempt at a batch of commands on one hot stream (hot_batch.h). Refusals are answered
 * (and stored under their keys) only after the accepted commands before them committed, since
 * they were decided over those commands' events. */
#include "hot_batch.h"

#include "command_target.h"
#include "group_append.h"
#include "metrics.h"
#include "notifier.h"
#include "store/store.h"
#include "stream_cache.h"
#include "world_store.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static struct metrics_sizes sizes;

void hot_batch_observe(int n)
{
    metrics_sizes_observe(&sizes, n);
}

void hot_batch_metrics(void *buf)
{
    metrics_sizes_print(buf, &sizes, "orderly_command_batch_size",
                        "commands a stream's turn holder decided and appended together (1: alone)");
}

/* Decides each member over w as the accepted ones before it left it; returns how many were
 * accepted. */
static int decide_all(struct hot_member *const *m, int n, struct world *w,
                      const struct loaded_world *lw)
{
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        memset(&m[i]->why, 0, sizeof m[i]->why);
        m[i]->rc = batch_decide(m[i]->c, m[i]->cr->if_match, w, &m[i]->d, &m[i]->why);
        if (m[i]->rc != ERR_OK)
            continue;
        batch_fold(w, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n, &m[i]->d);
        accepted++;
    }
    return accepted;
}

/* The accepted members' rows: a and etags hold what the statement borrows. */
struct batch_rows {
    struct append_request a[BATCH_MAX];
    struct hot_member *member[BATCH_MAX];
    char etag[BATCH_MAX][COMMANDS_ETAG_MAX];
    char *body[BATCH_MAX];
    size_t len[BATCH_MAX];
    int n, events;
};

static void add_row(struct batch_rows *b, struct hot_member *m)
{
    struct command_target t;
    commands_target_of(m->c, &t);
    int64_t version;
    commands_etag(&m->d, m->stream_id, &version, b->etag[b->n]);
    b->a[b->n] = (struct append_request){
        .decision = &m->d,
        .metadata_json = commands_metadata_json(m->cr),
        .stream_id = m->stream_id,
        .id = t.id,
        .version = version,
        .status = t.status,
        .location = NULL, /* joinable commands answer 200 without Location */
        .etag = b->etag[b->n],
        .idem_key = m->cr->idem_key,
        .request_text = m->cr->request_text,
    };
    b->member[b->n++] = m;
    b->events += m->d.count;
}

enum append_outcome { APPENDED, ANSWERED, AGAIN, ALONE };

static enum append_outcome append_accepted(struct hot_member *const *m, int n)
{
    struct batch_rows *b = xcalloc(1, sizeof *b);
    for (int i = 0; i < n; i++)
        if (m[i]->rc == ERR_OK)
            add_row(b, m[i]);
    bool key_taken = false;
    enum err rc = group_append_batch(m[0]->cr->db, b->a, b->n, b->body, b->len, &key_taken);
    enum append_outcome out = APPENDED;
    if (rc == ERR_OK) {
        metrics_add_events(b->events);
        notifier_poke();
        for (int i = 0; i < b->n; i++)
            respond_success(b->member[i]->cr, b->a[i].status, NULL, b->etag[i], b->body[i],
                            b->len[i]);
    } else if (key_taken || rc == ERR_IDEM_BUSY) {
        out = ALONE;
    } else if (rc == ERR_CONFLICT) {
        out = AGAIN;
    } else {
        for (int i = 0; i < n; i++)
            respond_transient(m[i]->cr, rc, NULL);
        out = ANSWERED;
    }
    for (int i = 0; i < b->n; i++)
        free((char *)b->a[i].metadata_json);
    free(b);
    return out;
}

/* The batch's starting state: the one the stream's last batch here left (no round trip), or
 * a real load, during which more commands may have queued. */
static enum err start_state(struct hot_batch *b, bool use_cache, struct world *loaded,
                            struct loaded_world *lw, bool *cached, struct err_detail *why)
{
    *cached = use_cache && stream_cache_get((const char(*)[STREAM_ID_MAX + 1]) b->m[0]->stream_id,
                                            1, loaded, lw);
    enum err rc = *cached ? ERR_OK : world_store_load(b->m[0]->cr->db, b->m[0]->c, loaded, lw, why);
    if (rc == ERR_OK) /* a failed load answers only those who were there */
        b->take(b, b->cls);
    return rc;
}

static enum hot_outcome attempt(struct hot_batch *b, bool use_cache)
{
    struct world *loaded = xcalloc(1, sizeof *loaded), *w = xmalloc(sizeof *w);
    struct loaded_world lw;
    struct err_detail why = {0};
    enum hot_outcome next = HOT_DONE;
    const char *sid = b->m[0]->stream_id;
    bool cached;
    enum err rc = start_state(b, use_cache, loaded, &lw, &cached, &why);
    struct hot_member *const *m = b->m;
    int n = b->n;
    if (rc != ERR_OK) {
        for (int i = 0; i < n; i++)
            respond_transient(m[i]->cr, rc, rc == ERR_BAD_EVENT ? why.detail : NULL);
        goto out;
    }
    memcpy(w, loaded, sizeof *w);
    int accepted = decide_all(m, n, w, &lw);
    if (cached && accepted < n) { /* a refusal is only ever decided over a real load */
        stream_cache_forget(sid);
        next = attempt(b, false);
        goto out;
    }
    enum append_outcome appended = accepted ? append_accepted(m, n) : APPENDED;
    if (cached && appended == AGAIN) { /* another writer moved the stream: load, at once */
        stream_cache_stale((const char(*)[STREAM_ID_MAX + 1]) lw.ids, lw.n);
        next = attempt(b, false);
        goto out;
    }
    if (appended != APPENDED)
        stream_cache_forget(sid);
    if (appended == AGAIN || appended == ALONE) {
        next = appended == AGAIN ? HOT_RETRY : HOT_ALONE;
        goto out;
    }
    if (appended == APPENDED) {
        for (int i = 0; i < n; i++)
            if (m[i]->rc != ERR_OK)
                respond_refusal(m[i]->cr, m[i]->rc, &m[i]->why);
        if (accepted && !cached)
            world_store_after_append(m[0]->cr->db, loaded, &lw);
        if (accepted)
            stream_cache_put(w, &lw, !cached);
    }
out:
    free(loaded);
    free(w);
    return next;
}

enum hot_outcome hot_batch_attempt(struct hot_batch *b)
{
    return attempt(b, true);
}
