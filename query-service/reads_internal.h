/* reads.c's pure steps, for its unit suite: which statement a list runs and how rows become
 * the contract's JSON; and its runner, for read_batch.c. Not for other modules: they call
 * reads.h. */
#ifndef QUERY_READS_INTERNAL_H
#define QUERY_READS_INTERNAL_H

#include "err.h"
#include "statements.h"
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns tuples or NULL with *e set: st on a connection borrowed from the read pool, under the
 * read-retry policy (store/db.h); SQLSTATE class 22, a value the client sent that the database
 * refuses, is ERR_BAD_PARAM. For read_batch.c too. */
PGresult *reads_run(enum query_stmt st, const char *const *params, enum err *e);
/* The list statement for the filters present (f1: customer_id or owner, f2: status). */
enum query_stmt reads_list_stmt(bool order, const char *f1, const char *f2);
/* "[doc,doc,...]" of the first n rows' column 0 in one allocation (free() it); *len bytes. */
char *reads_join_docs(const PGresult *res, int n, size_t *len);
/* One row of SQL_EVENT_COLS as the feed's event object (a new reference): data upcast to its
 * type's current shape, stream_id only when with_stream. */
json_t *reads_event_json(const PGresult *res, int row, bool with_stream);
/* Folds rows of ST_STREAM_AS_OF / ST_STREAM_TO_VERSION (a snapshot row first when there is one)
 * into the view in *out (a new reference). ERR_NOT_FOUND when no event made the aggregate,
 * ERR_CONFLICT for an unusable snapshot, ERR_BAD_EVENT for an event that does not decode. A
 * sealed account owner is opened with a key read from the database. */
enum err reads_fold_rows(bool order, const PGresult *res, json_t **out);

#endif
