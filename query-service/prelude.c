/* The query parameters and the read-your-writes wait every GET of the query service starts
 * with (routes.c, views_http.c). */
#include "prelude.h"

#include "clock.h"
#include "numparse.h"
#include "waits.h"
#include <inttypes.h>
#include <stdio.h>

#define WAIT_DEFAULT_MS 2000
#define WAIT_MAX_MS     30000

bool prelude_int(struct request *r, const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *v = http_query(r, name);
    if (!v || numparse_int64(v, min, max, out))
        return true;
    struct err_detail why = {0};
    err_set(&why, ERR_BAD_PARAM, "%s must be an integer between %" PRId64 " and %" PRId64, name,
            min, max);
    problem_send(r, ERR_BAD_PARAM, &why);
    return false;
}

void prelude_bad_param(struct request *r, const char *detail)
{
    struct err_detail why = {0};
    err_set(&why, ERR_BAD_PARAM, "%s", detail);
    problem_send(r, ERR_BAD_PARAM, &why);
}

void prelude_position_header(struct request *r, int64_t position)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, position);
    http_add_header(r, "X-Projection-Position", v);
}

bool prelude_wait(struct request *r, bool header, int64_t *position, int64_t *min)
{
    int64_t wait_ms = WAIT_DEFAULT_MS;
    const char *h = http_header(r, "X-Min-Position");
    *min = 0;
    if (!http_query(r, "min_position") && h && !numparse_int64(h, 0, INT64_MAX, min)) {
        prelude_bad_param(r, "X-Min-Position must be an integer between 0 and "
                             "9223372036854775807");
        return false;
    }
    if (!prelude_int(r, "min_position", 0, INT64_MAX, min) ||
        !prelude_int(r, "wait_ms", 0, WAIT_MAX_MS, &wait_ms))
        return false;
    bool reached = waits_wait(*min, 0, position);
    if (!reached && wait_ms > 0) {
        if (!r->park_deadline_ms)
            r->park_deadline_ms = clock_now_ms() + wait_ms;
        if (waits_park(r, *min, r->park_deadline_ms))
            return false;
        reached = waits_wait(*min, 0, position); /* not parked: it may have arrived */
    }
    if (header || !reached)
        prelude_position_header(r, *position);
    if (reached)
        return true;
    struct err_detail why = {0};
    err_set(&why, ERR_BEHIND, "read model is at position %" PRId64 ", %" PRId64 " requested",
            *position, *min);
    http_add_header(r, "Retry-After", "1");
    problem_send(r, ERR_BEHIND, &why);
    return false;
}
