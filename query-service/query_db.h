/* The query service's statement table and connection settings for store/db.h. */
#ifndef QUERY_DB_H
#define QUERY_DB_H

#include "domain/domain.h"
#include "err.h"
#include "statements.h"
#include "store/db.h"
#include "store/event_row.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Settings for connections running STATEMENT_TABLE; every argument is borrowed. */
void query_db_config(struct db_config *cfg, const char *database_url, const char *app_name,
                     const char *options);

/* A bigint column; NULL reads as 0 (event_row_int). */
int64_t query_db_int(const PGresult *res, int row, int col);
/* Rows of SQL_EVENT_COLS decode with event_row_decode (store/event_row.h). */

#endif
