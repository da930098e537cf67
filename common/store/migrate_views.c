/* The SQL-defined projections of PROJECTIONS_DIR (docs/views.md): `command-service migrate`
 * registers each new or changed NAME.sql after the numbered migrations, through the
 * orderly_view_* functions of migrations/0010_views.sql; `query-service rebuild NAME` registers
 * the live one's text again as a new generation. */
#include "log.h"
#include "migrate_internal.h"
#include "store/db.h"
#include "store/migrate.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEWS_MAX 256

/* NAME.sql; the name's rule (^[a-z][a-z0-9_]{0,39}$) is orderly_view_prepare's alone. */
static bool is_sql_file(const char *file)
{
    size_t n = strlen(file);
    return n > 4 && strcmp(file + n - 4, ".sql") == 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.sql names of dir, or -1 if it cannot be opened. */
static int list_views(const char *dir, char **files)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) && count < VIEWS_MAX)
        if (is_sql_file(ent->d_name))
            files[count++] = xstrdup(ent->d_name);
    closedir(d);
    if (count > 0)
        qsort(files, (size_t)count, sizeof files[0], compare_names);
    return count;
}

/* prepare: the schema of the new registration in *schema (caller frees), NULL when there is
 * nothing to do. */
static bool prepare(struct db_conn *c, const char *name, const char *source, bool force,
                    char **schema, char *err, size_t err_len)
{
    const char *params[] = {name, source, force ? "true" : "false"};
    PGresult *r;
    *schema = NULL;
    if (db_sql(c, "SELECT orderly_view_prepare($1, $2, $3)", 3, params, &r) != ERR_OK) {
        snprintf(err, err_len, "orderly_view_prepare failed");
        return false;
    }
    if (!PQgetisnull(r, 0, 0))
        *schema = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return true;
}

bool migrate_view_register(struct db_conn *c, const char *name, const char *source, bool force,
                           char *schema_out, size_t schema_len, char *err, size_t err_len)
{
    char *schema = NULL;
    if (schema_out && schema_len)
        schema_out[0] = '\0';
    bool ok = migrate_exec(c, "BEGIN", 0, NULL, err, err_len) &&
              prepare(c, name, source, force, &schema, err, err_len) &&
              (!schema || (migrate_exec(c, source, 0, NULL, err, err_len) &&
                           migrate_exec(c, "SELECT orderly_view_finish()", 0, NULL, err, err_len)));
    if (ok && migrate_exec(c, "COMMIT", 0, NULL, err, err_len)) {
        if (schema)
            log_msg(LOG_INFO, "registered projection %s as schema %s (building from 0)", name,
                    schema);
        if (schema && schema_out)
            snprintf(schema_out, schema_len, "%s", schema);
        free(schema);
        return true;
    }
    free(schema);
    char ignored[64];
    migrate_exec(c, "ROLLBACK", 0, NULL, ignored, sizeof ignored);
    return false;
}

static bool register_file(struct db_conn *c, const char *dir, const char *file, char *err,
                          size_t err_len)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
    char *source = migrate_read_file(path);
    if (!source) {
        snprintf(err, err_len, "%s: cannot read", path);
        return false;
    }
    bool ok = migrate_view_register(c, name, source, false, NULL, 0, err, err_len);
    free(source);
    if (!ok) {
        size_t used = strlen(err);
        snprintf(err + used, err_len - used, " (in %s)", path);
    }
    return ok;
}

bool migrate_views(struct db_conn *c, const char *dir, bool required, char *err, size_t err_len)
{
    char *files[VIEWS_MAX];
    int count = list_views(dir, files);
    if (count == -1 && !required && errno == ENOENT) {
        log_msg(LOG_INFO, "no projections folder at %s: no SQL-defined projections", dir);
        return true;
    }
    if (count == -1) {
        snprintf(err, err_len, "PROJECTIONS_DIR: cannot open %s", dir);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < count && ok; i++)
        ok = register_file(c, dir, files[i], err, err_len);
    for (int i = 0; i < count; i++)
        free(files[i]);
    /* Versions a swap retired: their readers have moved on to the live version's schema. */
    return ok && migrate_exec(c, "SELECT orderly_views_drop_retired()", 0, NULL, err, err_len);
}
