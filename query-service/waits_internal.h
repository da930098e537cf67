/* waits.c's decisions, for its unit suite: when a request may park and when a parked one is
 * due, on explicit times (no clock, no thread). Not for other modules: they call waits.h. */
#ifndef QUERY_WAITS_INTERNAL_H
#define QUERY_WAITS_INTERNAL_H

#include "projector.h"
#include <stdbool.h>
#include <stdint.h>

/* A request may park while the waker runs, the service is not draining, the read model is
 * below min_position and can still get there (not failed), and its deadline is ahead. */
bool waits_may_park(bool started, bool draining, const struct projector_progress *p,
                    int64_t min_position, int64_t now_ms, int64_t deadline_ms);
/* A parked request runs again once the checkpoint reached its position, its deadline came, the
 * projection failed (it will not move) or the service drains. */
bool waits_due(int64_t min_position, int64_t deadline_ms, int64_t position, int64_t now_ms,
               bool failed, bool draining);

#endif
