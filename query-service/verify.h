/* The audit trail's verifier: recomputes each stream's hash chain (migrations/0005) and reports
 * the first broken link, for GET /v1/streams/{stream_id}/verify and `query-service verify`. */
#ifndef QUERY_VERIFY_H
#define QUERY_VERIFY_H

#include "err.h"
#include "store/db.h"
#include <jansson.h>

/* The pool verify_stream borrows from (reads_pool). */
void verify_init(struct db_pool *pool);

/* {stream_id, ok, checked, first_broken_position} as a new reference in *out, ERR_NOT_FOUND for
 * a stream without events, ERR_DB_DOWN when the database cannot be reached, else ERR_INTERNAL. */
enum err verify_stream(const char *stream_id, json_t **out) __attribute__((warn_unused_result));

/* `query-service verify`: checks every stream, prints one line per broken stream and a summary
 * on stdout. Returns the exit status: 0 intact, 1 a chain is broken, 2 bad configuration,
 * 3 database error. */
int verify_main(void);

#endif
