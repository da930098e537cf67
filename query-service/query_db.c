/* The query service's statement table (run through store/db.h). Read rows hold documents
 * (codec/view_codec.c); event rows decode through store/event_row.h. */
#include "query_db.h"

static const struct db_statement statements[ST__COUNT] = {STATEMENT_TABLE(DB_STATEMENT_ROW)};

void query_db_config(struct db_config *cfg, const char *database_url, const char *app_name,
                     const char *options)
{
    *cfg = (struct db_config){database_url, app_name, options, statements, ST__COUNT};
}

int64_t query_db_int(const PGresult *res, int row, int col)
{
    return event_row_int(res, row, col);
}
