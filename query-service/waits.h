/* Parked read-your-writes waits: a GET whose min_position the read model has not reached yet
 * leaves the event loop (http_park: no thread, no database connection) until one waker thread,
 * woken by the projector's progress, sees the position applied or the request's deadline pass. */
#ifndef QUERY_WAITS_H
#define QUERY_WAITS_H

#include "http/http.h"
#include <stdbool.h>
#include <stdint.h>

/* Starts the waker thread (call after projector_start); false if it cannot start. */
bool waits_start(void);
/* server_options.on_drain: every parked request runs again now and none parks any more. */
void waits_drain(void);
/* Joins the waker; call after server_run returned. */
void waits_stop(void);

/* Monotonic milliseconds, the clock of deadlines. */
int64_t waits_now_ms(void);

/* From a handler: parks r until the checkpoint reaches min_position or deadline_ms passes; the
 * handler then returns without answering and runs again from the start once woken. False when
 * it may not park (draining, or the position is already there): answer now. */
bool waits_park(struct request *r, int64_t min_position, int64_t deadline_ms);

/* metrics_set_extra piece: orderly_min_position_parked (gauge), _parked_total (counter). */
void waits_metrics(void *buf);

#endif
