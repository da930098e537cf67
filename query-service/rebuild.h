/* `query-service rebuild [NAME]`: replays the whole log into shadow tables while the service
 * keeps serving the live ones, then swaps them in with one short transaction. */
#ifndef QUERY_REBUILD_H
#define QUERY_REBUILD_H

#include <stdbool.h>

/* True when name is a projection this binary can rebuild. */
bool rebuild_known(const char *name);

/* Runs the rebuild of a known projection on database_url; logs progress and a summary line
 * (events, seconds, events/s). Returns the process exit code: 0 swapped in, 1 failed (the live
 * tables are untouched: every change before the swap is in the shadow schema). */
int rebuild_run(const char *database_url, const char *name);

/* The subcommand: configuration from the environment (DATABASE_URL, LOG_*, and
 * REBUILD_BATCH_EVENTS, default 5000), name NULL for the default. Returns the exit code: 2 for
 * bad configuration or an unknown projection, else as rebuild_run. */
int rebuild_main(const char *name);

#endif
