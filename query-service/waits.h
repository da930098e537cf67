/* Parked read-your-writes waits: a GET whose min_position the read model has not reached yet
 * leaves the event loop (http_park: no thread, no database connection) until one waker thread,
 * woken by the projector's progress, sees the position applied or the request's deadline pass. */
#ifndef QUERY_WAITS_H
#define QUERY_WAITS_H

#include "http/http.h"
#include "projector.h"
#include <stdbool.h>
#include <stdint.h>

/* Starts the waker thread (call after projector_start), and with read_url (READ_DATABASE_URL;
 * NULL for none) the poller of the checkpoint as visible there; false if one cannot start. */
bool waits_start(const char *read_url);
/* server_options.on_drain: every parked request runs again now and none parks any more. */
void waits_drain(void);
/* Joins the waker; call after server_run returned. */
void waits_stop(void);

/* From a handler: parks r until the checkpoint reaches min_position or deadline_ms (clock_now_ms)
 * passes; the handler then returns without answering and runs again from the start once woken.
 * False when it may not park (draining, or the position is already there): answer now. */
bool waits_park(struct request *r, int64_t min_position, int64_t deadline_ms);

/* The progress reads are served at: the projector's, except that with a read database the
 * checkpoint is the one visible there (a standby's replay lags the primary). */
void waits_progress(struct projector_progress *out);
/* projector_wait on that progress: until the checkpoint reaches min_position or timeout_ms
 * passes (at once when the projection failed); *position is the checkpoint seen last. */
bool waits_wait(int64_t min_position, int timeout_ms, int64_t *position);
/* A live subscriber arrived (+1) or left (-1): the read database is polled fast while any
 * subscriber or parked request waits. No-op without a read database. */
void waits_demand(int delta);

/* metrics_set_extra piece: orderly_min_position_parked (gauge), _parked_total (counter). */
void waits_metrics(void *buf);

#endif
