/* verify.c's report, for its unit suite: what `query-service verify` prints for the rows of
 * ST_VERIFY_ALL. Not for other modules: they call verify.h. */
#ifndef QUERY_VERIFY_INTERNAL_H
#define QUERY_VERIFY_INTERNAL_H

#include <libpq-fe.h>
#include <stdint.h>

/* Prints one line per broken stream and the summary on stdout; returns how many are broken. */
int64_t verify_report(const PGresult *res);

#endif
