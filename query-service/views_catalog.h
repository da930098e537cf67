/* The live version of each SQL-defined projection (table orderly_views, docs/views.md) as the
 * HTTP handlers need it: its relation and declared columns, each name as written and quoted
 * by the database, looked up through the read pool and cached briefly. The only source of the
 * identifiers views_http.c puts into SQL. */
#ifndef QUERY_VIEWS_CATALOG_H
#define QUERY_VIEWS_CATALOG_H

#include "err.h"
#include "http/http.h"
#include <stdbool.h>
#include <stdint.h>

#define VIEW_NAME_MAX   40
#define VIEW_KEYS_MAX   (HTTP_PARAMS_MAX - 1) /* one path segment each after the name */
#define VIEW_FILTER_MAX 16
#define VIEW_ORDER_MAX  8
#define VIEW_IDENT_MAX  64  /* NAMEDATALEN */
#define VIEW_QUOTED_MAX 132 /* quoted: doubled quotes and the two around */
#define VIEW_CACHE_MS   1000

struct view_column {
    char name[VIEW_IDENT_MAX];
    char quoted[VIEW_QUOTED_MAX];
};

/* A copy: the caller owns it, nothing to free. */
struct view_def {
    char name[VIEW_NAME_MAX + 1];
    char schema[VIEW_IDENT_MAX];            /* catalog key, a parameter of every read */
    char relation[2 * VIEW_QUOTED_MAX + 1]; /* "schema"."table", quoted */
    int key_count, filter_count, order_count;
    struct view_column key[VIEW_KEYS_MAX], filter[VIEW_FILTER_MAX], order[VIEW_ORDER_MAX];
    bool sort_not_null; /* every order and key column is NOT NULL */
};

/* Whether name can name a projection (^[a-z][a-z0-9_]{0,39}$). */
bool views_catalog_name_valid(const char *name);
/* The live version of name into *out: from the cache when fetched under VIEW_CACHE_MS ago,
 * else from the catalog. ERR_NOT_FOUND when no version of name is live, ERR_DB_DOWN,
 * ERR_INTERNAL for a catalog row this service cannot serve (more columns than it holds). */
enum err views_catalog_get(const char *name, struct view_def *out)
    __attribute__((warn_unused_result));
/* Drops name's cached entry (its version was retired under a request); the next get reads
 * the catalog. */
void views_catalog_forget(const char *name);

/* The column of def named name among its key and filter columns, or NULL. */
const struct view_column *views_catalog_filter(const struct view_def *def, const char *name);

#endif
