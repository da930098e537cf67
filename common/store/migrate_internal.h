/* What migrate.c and migrate_views.c share: `command-service migrate`'s steps. */
#ifndef ORDERLY_MIGRATE_INTERNAL_H
#define ORDERLY_MIGRATE_INTERNAL_H

#include "store/db.h"

#include <stdbool.h>
#include <stddef.h>

/* The file's bytes, NUL-terminated (caller frees), or NULL if it cannot be read. */
char *migrate_read_file(const char *path);

/* db_sql; on failure err says what went wrong (the server's message is in the log line before). */
bool migrate_exec(struct db_conn *c, const char *sql, int n, const char *const *params, char *err,
                  size_t err_len);

/* Registers every new or changed NAME.sql of dir (migrations/0010_views.sql), then drops the
 * schemas of retired versions. A missing dir is an error only when required. */
bool migrate_views(struct db_conn *c, const char *dir, bool required, char *err, size_t err_len);

#endif
