/* The projector thread: leadership by advisory lock, the safe horizon, and the progress it
 * publishes (checkpoint, head, status) for handlers to read and wait on. */
#ifndef QUERY_PROJECTOR_H
#define QUERY_PROJECTOR_H

#include <stdbool.h>
#include <stdint.h>

enum projector_status {
    PROJECTOR_STARTING,     /* no database session yet */
    PROJECTOR_LEADER,       /* holds the lock and projects */
    PROJECTOR_STANDBY,      /* another instance leads; position follows the table */
    PROJECTOR_FAILED,       /* an event could not be projected; see error */
    PROJECTOR_DISCONNECTED, /* lost the database, reconnecting with backoff */
};

struct projector_progress {
    int64_t position; /* checkpoint: every event <= it is in the read tables */
    int64_t head;     /* highest position seen in the log */
    enum projector_status status;
    char error[256];
};

/* Starts the thread; database_url must outlive projector_stop. False if it cannot start. */
bool projector_start(const char *database_url);
/* Stops and joins the thread (within about 250 ms); closes its connection. */
void projector_stop(void);

void projector_progress(struct projector_progress *out);
const char *projector_status_name(enum projector_status s);
/* True when the service may be called ready: leader or standby. */
bool projector_running(void);

/* A min_position request parked here (+1) or left (-1): while any waits, the projector re-reads
 * the checkpoint every few ms as well as on the leader's notifications. */
void projector_parked(int delta);

/* Blocks until the checkpoint reaches min_position or timeout_ms passes (or the projection
 * fails); returns whether it was reached and the checkpoint seen last in *position. */
bool projector_wait(int64_t min_position, int timeout_ms, int64_t *position);

/* metrics_set_extra callback: orderly_projection_{position,head,lag_events,failed},
 * orderly_projector_leader, orderly_projector_moves_total{woken_by}. */
void projector_metrics(void *buf);

#endif
