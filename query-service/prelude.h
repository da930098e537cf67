/* What every GET of the query service does first: its integer query parameters, the 400 for a
 * bad one, and read-your-writes (min_position, X-Min-Position, wait_ms). */
#ifndef QUERY_PRELUDE_H
#define QUERY_PRELUDE_H

#include "http/http.h"
#include <stdbool.h>
#include <stdint.h>

/* An optional integer query parameter: absent leaves *out at its default; a value outside
 * [min, max] answers 400 and returns false. */
bool prelude_int(struct request *r, const char *name, int64_t min, int64_t max, int64_t *out);
/* Answers 400 bad-parameter with detail. */
void prelude_bad_param(struct request *r, const char *detail);
/* Sets X-Projection-Position. */
void prelude_position_header(struct request *r, int64_t position);

/* Read-your-writes for every GET: a min_position the read tables do not hold yet parks the
 * request (waits.h: no thread, no database connection) until they do or wait_ms passed; the
 * handler then runs again from the start, and the deadline set on its first run still holds.
 * *position is the read model's checkpoint, *min the position asked for (0: none). With
 * header, X-Projection-Position is the checkpoint on every answer; without it only on the 503
 * this answers (a view sets its own). Returns false when it has answered (400 or 503) or
 * parked. */
bool prelude_wait(struct request *r, bool header, int64_t *position, int64_t *min);

#endif
