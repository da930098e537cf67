/* `command-service migrate`: applies pending migrations/NNNN_*.sql files in name order, each in
 * its own transaction with its schema_migrations row, under an advisory lock; then registers the
 * SQL-defined projections (migrate_views.c). */
#include "config.h"
#include "log.h"
#include "migrate_internal.h"
#include "store/db.h"
#include "store/store.h"
#include "xalloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed key works; it only has to differ from the projector's. */
#define MIGRATE_LOCK_KEY "7291001"

#define MIGRATIONS_MAX 256

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_migration_name(const char *name)
{
    size_t n = strlen(name);
    return n > 9 && name[0] >= '0' && name[0] <= '9' && strcmp(name + n - 4, ".sql") == 0;
}

/* Sorted file names of dir; returns the count or -1. */
static int list_migrations(const char *dir, char **names)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) && count < MIGRATIONS_MAX)
        if (is_migration_name(ent->d_name))
            names[count++] = xstrdup(ent->d_name);
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], compare_names);
    return count;
}

static bool is_applied(struct db_conn *c, const char *name)
{
    const char *params[] = {name};
    PGresult *r;
    if (db_sql(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &r) != ERR_OK)
        return false;
    bool applied = PQntuples(r) == 1;
    PQclear(r);
    return applied;
}

/* One file in one transaction with its bookkeeping row. */
static bool apply_one(struct db_conn *c, const char *dir, const char *name, char *err,
                      size_t err_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = migrate_read_file(path);
    if (!sql) {
        snprintf(err, err_len, "%s: cannot read", path);
        return false;
    }
    const char *params[] = {name};
    bool ok = migrate_exec(c, "BEGIN", 0, NULL, err, err_len) &&
              migrate_exec(c, sql, 0, NULL, err, err_len) &&
              migrate_exec(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params, err,
                           err_len);
    free(sql);
    if (ok && migrate_exec(c, "COMMIT", 0, NULL, err, err_len)) {
        log_msg(LOG_INFO, "applied migration %s", name);
        return true;
    }
    char ignored[64];
    migrate_exec(c, "ROLLBACK", 0, NULL, ignored, sizeof ignored);
    size_t used = strlen(err);
    snprintf(err + used, err_len - used, " (in %s)", name);
    return false;
}

static bool apply_pending(struct db_conn *c, const char *dir, char *err, size_t err_len)
{
    char *names[MIGRATIONS_MAX];
    int count = list_migrations(dir, names);
    if (count < 0) {
        snprintf(err, err_len, "MIGRATIONS_DIR: cannot open %s", dir);
        return false;
    }
    bool ok = true;
    int applied = 0;
    for (int i = 0; i < count && ok; i++) {
        if (is_applied(c, names[i]))
            continue;
        ok = apply_one(c, dir, names[i], err, err_len);
        applied += ok;
    }
    for (int i = 0; i < count; i++)
        free(names[i]);
    if (ok)
        log_msg(LOG_INFO, "migrations up to date (%d applied now, %d files)", applied, count);
    return ok;
}

static bool apply_views(struct db_conn *c, const char *migrations_dir, char *err, size_t err_len)
{
    char dir[4096];
    bool required;
    config_projections_dir(migrations_dir, dir, sizeof dir, &required);
    return migrate_views(c, dir, required, err, err_len);
}

enum err migrate_run(const char *conninfo, const char *dir, char *err, size_t err_len)
{
    /* A session: the advisory lock must not be lost to a silent reconnect. */
    struct db_config cfg = {conninfo, "orderly-migrate", NULL, NULL, 0};
    struct db_conn *c = db_conn_new(&cfg, DB_SESSION);
    if (db_connect(c) != ERR_OK) {
        snprintf(err, err_len, "cannot connect to the database (see the log)");
        db_conn_free(c);
        return ERR_DB_DOWN;
    }
    bool ok =
        migrate_exec(c, "SET client_min_messages = warning", 0, NULL, err, err_len) &&
        migrate_exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, err, err_len) &&
        migrate_exec(c,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, err, err_len) &&
        apply_pending(c, dir, err, err_len) && apply_views(c, dir, err, err_len);
    db_conn_free(c); /* ends the session, which releases the advisory lock */
    return ok ? ERR_OK : ERR_INTERNAL;
}
