/* The steps migrate.c and migrate_views.c share: reading a file, running one of its statements. */
#include "migrate_internal.h"
#include "xalloc.h"

#include <stdio.h>

char *migrate_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

bool migrate_exec(struct db_conn *c, const char *sql, int n, const char *const *params, char *err,
                  size_t err_len)
{
    enum err e = db_sql(c, sql, n, params, NULL);
    if (e != ERR_OK)
        snprintf(err, err_len, "%s",
                 e == ERR_DB_DOWN ? "database connection lost" : "a statement failed");
    return e == ERR_OK;
}
