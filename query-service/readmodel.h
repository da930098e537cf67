/* The query service's statement table and connection settings for store/db.h, and the row
 * decoders that turn read-table and event rows into domain structs. */
#ifndef QUERY_READMODEL_H
#define QUERY_READMODEL_H

#include "domain/domain.h"
#include "err.h"
#include "statements.h"
#include "store/db.h"
#include "store/event_row.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* Settings for connections running STATEMENT_TABLE; every argument is borrowed. */
void readmodel_db_config(struct db_config *cfg, const char *database_url, const char *app_name,
                         const char *options);

/* Opens a connection (application_name orderly-query) and prepares STATEMENT_TABLE on it.
 * Returns NULL and writes why into err when the database cannot be reached. */
PGconn *readmodel_connect(const char *database_url, char *err, size_t err_len);

/* Runs a prepared statement with the table's parameter count; params are text or NULL.
 * Returns the result, which the caller clears, or NULL when libpq could not even send it. */
PGresult *readmodel_exec(PGconn *c, enum stmt id, const char *const *params);
/* True if res is a successful command or tuples result; else logs the error as stmt's. */
bool readmodel_ok(PGconn *c, enum stmt id, const PGresult *res);
/* Runs plain SQL without parameters (BEGIN, COMMIT, LISTEN); true on success. */
bool readmodel_command(PGconn *c, const char *sql);

int64_t readmodel_int(const PGresult *res, int row, int col);
/* The database name of a statement, for logs. */
const char *readmodel_stmt_name(enum stmt id);

/* Decode one row of SQL_ORDER_COLS / SQL_ACCOUNT_COLS; the position is the keyset column. */
void readmodel_order_row(const PGresult *res, int row, struct order_state *s, int64_t *position);
void readmodel_account_row(const PGresult *res, int row, struct account_state *s,
                           int64_t *position);
/* event_row_decode (store/event_row.h). */
enum err readmodel_event_row(const PGresult *res, int row, struct event *e, struct err_detail *why)
    __attribute__((warn_unused_result));

#endif
