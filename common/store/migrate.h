/* Registering a SQL-defined projection (docs/views.md) outside `command-service migrate`:
 * `query-service rebuild NAME` builds the live version's text again as a new generation. */
#ifndef ORDERLY_MIGRATE_H
#define ORDERLY_MIGRATE_H

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>

/* In one transaction on c (a session of the migrating role): orderly_view_prepare(name,
 * source, force), the source itself, orderly_view_finish(). schema_out gets the new schema, or ""
 * when that version was already registered and force is false. False with a reason in err; the
 * server's message is in the log line before. */
bool migrate_view_register(struct db_conn *c, const char *name, const char *source, bool force,
                           char *schema_out, size_t schema_len, char *err, size_t err_len);

#endif
