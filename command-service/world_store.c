/* The write side's snapshots: a command's streams load as snapshot + tail in one statement, and
 * after an append a stream far enough past its snapshot gets a fresh one, outside the append. */
#include "world_store.h"

#include "codec/snapshot_codec.h"
#include "log.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int snapshot_every; /* SNAPSHOT_EVERY, set by world_store_init before serving */

void world_store_init(int every)
{
    snapshot_every = every;
}

struct load_ctx {
    struct world *world;
    struct loaded_world *lw;
    bool snapshot_bad;
};

static int stream_index(const struct loaded_world *lw, const char *stream_id)
{
    for (int i = 0; i < lw->n; i++)
        if (strcmp(lw->ids[i], stream_id) == 0)
            return i;
    return -1;
}

static void fold_event(void *p, const struct event *e)
{
    struct load_ctx *ctx = p;
    world_evolve(ctx->world, (const char(*)[STREAM_ID_MAX + 1]) ctx->lw->ids, ctx->lw->n, e);
    int i = stream_index(ctx->lw, e->stream_id);
    if (i >= 0 && e->recorded_at_ms > ctx->lw->last_ms[i])
        ctx->lw->last_ms[i] = e->recorded_at_ms;
}

/* Restores the snapshot into its world slot; a bad one marks the load for a full reload. */
static void restore_snapshot(void *p, const struct store_snapshot *snap)
{
    struct load_ctx *ctx = p;
    struct order_state *o;
    struct account_state *a;
    struct err_detail why = {0};
    int i = stream_index(ctx->lw, snap->stream_id);
    world_slot(ctx->world, (const char(*)[STREAM_ID_MAX + 1]) ctx->lw->ids, ctx->lw->n,
               snap->stream_id, &o, &a);
    if (i < 0 || !snapshot_decode(snap->stream_id, snap->version, snap->state_text, o, a, &why)) {
        log_msg(LOG_WARN, "ignoring the snapshot of %s at version %lld: %s", snap->stream_id,
                (long long)snap->version, why.detail);
        ctx->snapshot_bad = true;
        return;
    }
    ctx->lw->snap_version[i] = snap->version;
    ctx->lw->last_ms[i] = snap->last_recorded_ms;
}

/* One load of the n streams in lw->ids; schema 0 reads no snapshot. */
static enum err load_once(struct db_conn *db, int schema, struct world *w, struct loaded_world *lw,
                          bool *snapshot_bad, struct err_detail *why)
{
    memset(w, 0, sizeof *w);
    memset(lw->snap_version, 0, sizeof lw->snap_version);
    memset(lw->last_ms, 0, sizeof lw->last_ms);
    struct load_ctx ctx = {w, lw, false};
    enum err rc = store_load_snapshots(db, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n,
                                       schema, fold_event, restore_snapshot, &ctx, why);
    *snapshot_bad = ctx.snapshot_bad;
    return rc;
}

struct load_pass {
    struct db_conn *db;
    struct loaded_world *lw; /* world_load lists the streams into lw->ids and lw->n */
    struct err_detail *why;
};

/* world_load's loader: snapshot + tail, or every event again when a snapshot is bad. */
static enum err load_pass(void *p, struct world *w, const char ids[][STREAM_ID_MAX + 1], int n)
{
    struct load_pass *lp = p;
    (void)ids;
    (void)n;
    bool bad = false;
    enum err rc =
        load_once(lp->db, snapshot_every > 0 ? SNAPSHOT_SCHEMA : 0, w, lp->lw, &bad, lp->why);
    if (rc == ERR_OK && bad)
        rc = load_once(lp->db, 0, w, lp->lw, &bad, lp->why);
    return rc;
}

enum err world_store_load(struct db_conn *db, const struct command *c, struct world *w,
                          struct loaded_world *lw, struct err_detail *why)
{
    memset(lw, 0, sizeof *lw);
    struct load_pass lp = {db, lw, why};
    return world_load(c, w, lw->ids, &lw->n, load_pass, &lp);
}

void world_store_after_append(struct db_conn *db, const struct world *w,
                              const struct loaded_world *lw)
{
    if (snapshot_every <= 0)
        return;
    for (int i = 0; i < lw->n; i++) {
        struct order_state *o;
        struct account_state *a;
        world_slot((struct world *)w, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n, lw->ids[i],
                   &o, &a);
        int64_t version = o ? o->version : a ? a->version : 0;
        if (version == 0 || version - lw->snap_version[i] < snapshot_every)
            continue;
        json_t *state = o ? snapshot_order_to_json(o) : snapshot_account_to_json(a);
        char *text = json_dumps(state, JSON_COMPACT);
        json_decref(state);
        if (store_snapshot_save(db, lw->ids[i], version, SNAPSHOT_SCHEMA, text, lw->last_ms[i]) !=
            ERR_OK)
            log_msg(LOG_WARN, "snapshot of %s at version %lld not stored", lw->ids[i],
                    (long long)version);
        free(text);
    }
}
