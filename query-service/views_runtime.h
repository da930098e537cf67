/* SQL-defined projections at run time (issue 17, docs/views-runtime.md). The database does the
 * work (migrations/0010_views.sql); this module decides when: the projector's batch hook applies
 * every live view inside the batch transaction, and a builder thread on the leader catches each
 * new (building) view up from position 0 until it swaps itself in. */
#ifndef QUERY_VIEWS_RUNTIME_H
#define QUERY_VIEWS_RUNTIME_H

#include "err.h"
#include "store/db.h"
#include <stdbool.h>
#include <stdint.h>

/* Starts the builder thread (its own connection to database_url, open only while this instance
 * leads and a view is building); false if the thread cannot start. database_url must outlive
 * views_stop. */
bool views_start(const char *database_url);
/* Joins the builder; a step in flight commits or rolls back as a whole. */
void views_stop(void);
/* The projector says whether this instance leads; only a leader builds. */
void views_leading(bool leading);
/* The leading projector, between batches on its own session: at most once per second reads
 * the catalog (for views_metrics) and wakes the builder when a view is building. False on a
 * database error. */
bool views_watch(struct db_conn *c) __attribute__((warn_unused_result));

/* A batch_hook (project_batch.h): applies the events in (from, to] to every live, running view
 * inside the caller's transaction, each view in its own subtransaction (a handler that raises
 * fails only its view). ERR_OK, or the mapped database error (the batch rolls back). */
enum err views_apply_live(struct db_conn *c, int64_t from, int64_t to)
    __attribute__((warn_unused_result));

/* metrics_set_extra piece: orderly_view_live_events_total (events live views' handlers got in
 * this instance's batches), orderly_view_build_steps_total, and per view (leader only, as
 * views_watch last read the catalog) orderly_view_position and orderly_view_failed. */
void views_metrics(void *buf);

#endif
