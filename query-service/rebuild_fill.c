/* The bulk fill (issue 13). Below a settled horizon every event is known, so the order of
 * application is free as long as each stream's events come in version order: reading the log
 * in (stream_id, stream_version) order (its unique index) hands the projector's batch code
 * pages in which every stream but the first is new, so it loads at most one row per page and
 * writes each row once, where position order writes a long-lived stream's row once per page it
 * appears in. The documents are rendered by the same code as the projector's. Customer and
 * revenue deltas are summed over pages in bounded maps and written when one fills and at the
 * end. The checkpoint means "every event at or below it is applied", true only once the fill
 * is done: it moves from 0 to the horizon in the last step. */
#include "rebuild_fill.h"

#include "log.h"
#include "project_batch_internal.h"
#include "query_db.h"
#include "rebuild_fetch.h"
#include "store/event_sql.h"
#include <inttypes.h>
#include <stdio.h>

#define SUMS_MAX       32768 /* customers (and revenue days) summed before a flush: ~5 MB */
#define PROGRESS_EVERY 100000

/* Applies one page (cleared by the caller) and adds its deltas to sums. */
static bool fill_page(struct db_conn *c, const PGresult *res, struct batch *sums)
{
    struct batch b = {.c = c};
    struct err_detail why = {0};
    enum err rc = batch_apply_rows(&b, res, &why);
    bool ok = rc == ERR_OK && batch_sums_add(sums, &b);
    batch_free(&b);
    if (!ok)
        log_msg(LOG_ERROR, "rebuild: bulk fill of the page from stream %.100s failed: %s",
                PQntuples(res) > 0 ? PQgetvalue(res, 0, EV_COL_STREAM) : "",
                rc == ERR_BAD_EVENT ? why.detail : err_title(rc == ERR_OK ? ERR_DB_DOWN : rc));
    return ok;
}

static void progress(int64_t before, int64_t after)
{
    if (before / PROGRESS_EVERY != after / PROGRESS_EVERY)
        log_msg(LOG_INFO, "rebuild: bulk fill: %" PRId64 " events", after);
}

/* Every page in stream order, each read while the one before is applied. */
static bool fill_pages(struct fetch *f, struct batch *sums, int64_t *events)
{
    fetch_start(f);
    PGresult *res = fetch_join(f);
    while (res) {
        int n = PQntuples(res);
        bool more = n == f->limit;
        if (more) {
            fetch_past(f, res);
            fetch_start(f);
        }
        bool ok = fill_page(sums->c, res, sums);
        PQclear(res);
        progress(*events, *events + n);
        *events += n;
        res = more ? fetch_join(f) : NULL;
        if (!ok || !more) {
            PQclear(res);
            return ok;
        }
    }
    log_msg(LOG_ERROR, "rebuild: bulk fill: cannot read the events after stream %.100s", f->stream);
    return false;
}

static bool move_checkpoint(struct db_conn *c, int64_t horizon)
{
    char to[24];
    snprintf(to, sizeof to, "%" PRId64, horizon);
    const char *params[] = {"0", to};
    PGresult *res;
    if (db_write(c, ST_PROJ_CHECKPOINT, params, &res, NULL) != ERR_OK)
        return false;
    bool moved = PQcmdTuples(res)[0] == '1';
    PQclear(res);
    if (!moved)
        log_msg(LOG_ERROR, "rebuild: the shadow checkpoint was not at 0");
    return moved;
}

bool rebuild_fill(struct db_conn *c, struct db_conn *reader, int batch, int64_t horizon,
                  int64_t *events)
{
    struct fetch f = {.c = reader, .limit = batch, .by_stream = true, .to = horizon};
    struct batch sums;
    batch_sums_init(&sums, c, SUMS_MAX);
    bool ok =
        fill_pages(&f, &sums, events) && batch_sums_flush(&sums) && move_checkpoint(c, horizon);
    batch_free(&sums);
    return ok;
}
