/* `query-service rebuild NAME` for a SQL-defined projection (docs/views-runtime.md). */
#ifndef QUERY_VIEWS_REBUILD_H
#define QUERY_VIEWS_REBUILD_H

/* Registers view name's live (else building) file text again as a new generation, on
 * database_url (the migrating role: registration is its alone), and waits while the leader's
 * builder fills it beside the live one. Returns the exit code: 0 once it is live, 1 if it
 * failed (the error is logged and in /v1/projections), stalled or the database refused, 2 when
 * no view has that name. */
int views_rebuild_run(const char *database_url, const char *name);

#endif
