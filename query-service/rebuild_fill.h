/* The bulk fill of `query-service rebuild`: every event at or below a settled horizon, read
 * stream by stream, so each row is written once. */
#ifndef QUERY_REBUILD_FILL_H
#define QUERY_REBUILD_FILL_H

#include "store/db.h"
#include <stdbool.h>
#include <stdint.h>

/* Fills the tables c's search_path resolves rm_* to (the empty shadow tables) with every event
 * at or below horizon, read on reader in pages of batch events, and moves c's checkpoint from
 * 0 to horizon. *events counts the events applied. False (logged) on any error: the tables are
 * then half filled and only fit for dropping. */
bool rebuild_fill(struct db_conn *c, struct db_conn *reader, int batch, int64_t horizon,
                  int64_t *events) __attribute__((warn_unused_result));

#endif
