/* The rebuild's reader thread (rebuild_fetch.h). */
#include "rebuild_fetch.h"

#include "query_db.h"
#include "rebuild_sql.h"
#include "store/event_sql.h"
#include <inttypes.h>
#include <stdio.h>

static void *fetch_main(void *arg)
{
    struct fetch *f = arg;
    char after[24], version[24], upto[24], limit[24];
    snprintf(after, sizeof after, "%" PRId64, f->after);
    snprintf(version, sizeof version, "%" PRId64, f->version);
    snprintf(upto, sizeof upto, "%" PRId64, f->to);
    snprintf(limit, sizeof limit, "%d", f->limit);
    enum err rc;
    if (f->by_stream) {
        const char *params[] = {f->stream, version, upto, limit};
        rc = db_sql(f->c, REBUILD_EVENTS_BY_STREAM_SQL, 4, params, &f->res);
    } else {
        const char *params[] = {after, upto, limit};
        rc = db_read(f->c, ST_PROJ_EVENTS, params, &f->res);
    }
    if (rc != ERR_OK)
        f->res = NULL;
    return NULL;
}

void fetch_start(struct fetch *f)
{
    f->threaded = pthread_create(&f->thread, NULL, fetch_main, f) == 0;
    if (!f->threaded)
        fetch_main(f);
}

PGresult *fetch_join(struct fetch *f)
{
    if (f->threaded)
        pthread_join(f->thread, NULL);
    f->threaded = false;
    return f->res;
}

void fetch_past(struct fetch *f, const PGresult *res)
{
    int last = PQntuples(res) - 1;
    if (last < 0)
        return;
    f->after = query_db_int(res, last, EV_COL_POSITION);
    snprintf(f->stream, sizeof f->stream, "%s", PQgetvalue(res, last, EV_COL_STREAM));
    f->version = query_db_int(res, last, EV_COL_VERSION);
}
