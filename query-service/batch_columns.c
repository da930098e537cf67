/* A batch statement's columns (project_batch_internal.h): one array literal per column, or the
 * rows as COPY text, filled through the same calls. */
#include "project_batch_internal.h"

#include "query_db.h"

void batch_columns_init(struct batch_columns *t, int n, const char *copy_sql)
{
    t->n = n;
    t->copy_sql = copy_sql;
    if (copy_sql) {
        copy_text_init(&t->copy);
        return;
    }
    for (int i = 0; i < n; i++)
        param_array_init(&t->col[i]);
}

void batch_column_text(struct batch_columns *t, int i, const char *s)
{
    if (t->copy_sql)
        copy_text_text(&t->copy, s);
    else
        param_array_text(&t->col[i], s);
}

void batch_column_int(struct batch_columns *t, int i, int64_t v)
{
    if (t->copy_sql)
        copy_text_int(&t->copy, v);
    else
        param_array_int(&t->col[i], v);
}

void batch_row_end(struct batch_columns *t)
{
    if (t->copy_sql)
        copy_text_end_row(&t->copy);
}

bool batch_columns_run(struct db_conn *c, enum query_stmt st, struct batch_columns *t)
{
    bool ok;
    if (t->copy_sql) {
        ok = t->copy.rows == 0 ||
             db_copy_in(c, t->copy_sql, t->copy.buf.text, t->copy.buf.len) == ERR_OK;
    } else {
        const char *params[BATCH_COLS_MAX];
        for (int i = 0; i < t->n; i++)
            params[i] = param_array_done(&t->col[i]);
        ok = t->col[0].n == 0 || db_write(c, st, params, NULL, NULL) == ERR_OK;
    }
    batch_columns_free(t);
    return ok;
}

void batch_columns_free(struct batch_columns *t)
{
    if (t->copy_sql) {
        copy_text_free(&t->copy);
        t->copy_sql = NULL;
        return;
    }
    for (int i = 0; i < t->n; i++)
        param_array_free(&t->col[i]);
}
