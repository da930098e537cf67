/* Looks up the live version of a SQL-defined projection in orderly_views through the read pool
 * and keeps it for VIEW_CACHE_MS: a swap to a new version is seen within that time, or at once
 * by a request that found its version retired (views_catalog_forget). */
#include "views_catalog.h"

#include "clock.h"
#include "log.h"
#include "reads.h"
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CACHE_SLOTS 32

/* Each declared column as [name, quoted name] in declared order (NULL for none), and whether
 * the sort columns (order, then key) are all NOT NULL, which lets a page continue with one row
 * comparison. Identifiers are quoted here, by the database, and nowhere else. */
#define SQL_VIEW_COLS(col)                                                                         \
    "(SELECT json_agg(json_build_array(c, quote_ident(c)) ORDER BY i) FROM unnest(v." col ") "     \
    "WITH ORDINALITY AS u(c, i))::text"
#define SQL_VIEW_DEF                                                                                                                                                               \
    "SELECT v.schema_name, format('%I.%I', v.schema_name, v.view_table), " SQL_VIEW_COLS(                                                                                          \
        "key_columns") ", " SQL_VIEW_COLS("filter_columns") ", " SQL_VIEW_COLS("order_columns") ", "                                                                               \
                                                                                                "coalesce((SELECT bool_and(a.attnotnull) FROM pg_attribute a "                     \
                                                                                                "WHERE a.attrelid = to_regclass(format('%I.%I', v.schema_name, v.view_table)) "    \
                                                                                                "AND a.attname = ANY (v.key_columns || coalesce(v.order_columns, '{}'))), false) " \
                                                                                                "FROM orderly_views v WHERE v.name = $1 AND v.state = 'live'"

struct slot {
    bool used;
    int64_t fetched_ms;
    struct view_def def;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];
static unsigned next_evict;

bool views_catalog_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > VIEW_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Fills cols from [[name, quoted], ...] text (NULL: none); false when it does not fit. */
static bool parse_cols(const char *text, struct view_column *cols, int max, int *count)
{
    *count = 0;
    if (!text || !*text)
        return true;
    json_t *arr = json_loads(text, 0, NULL);
    bool ok = json_is_array(arr) && (int)json_array_size(arr) <= max;
    size_t i;
    json_t *pair;
    json_array_foreach(arr, i, pair)
    {
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *quoted = json_string_value(json_array_get(pair, 1));
        if (!ok || !name || !quoted || strlen(name) >= VIEW_IDENT_MAX ||
            strlen(quoted) >= VIEW_QUOTED_MAX) {
            ok = false;
            break;
        }
        snprintf(cols[i].name, sizeof cols[i].name, "%s", name);
        snprintf(cols[i].quoted, sizeof cols[i].quoted, "%s", quoted);
        (*count)++;
    }
    json_decref(arr);
    return ok;
}

static enum err def_from_row(const char *name, const PGresult *res, struct view_def *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    if (PQgetlength(res, 0, 0) >= (int)sizeof d->schema ||
        PQgetlength(res, 0, 1) >= (int)sizeof d->relation ||
        !parse_cols(PQgetvalue(res, 0, 2), d->key, VIEW_KEYS_MAX, &d->key_count) ||
        !parse_cols(PQgetvalue(res, 0, 3), d->filter, VIEW_FILTER_MAX, &d->filter_count) ||
        !parse_cols(PQgetvalue(res, 0, 4), d->order, VIEW_ORDER_MAX, &d->order_count) ||
        d->key_count == 0) {
        log_msg(LOG_ERROR, "views: projection %s declares more columns than are served", name);
        return ERR_INTERNAL;
    }
    snprintf(d->schema, sizeof d->schema, "%s", PQgetvalue(res, 0, 0));
    snprintf(d->relation, sizeof d->relation, "%s", PQgetvalue(res, 0, 1));
    d->sort_not_null = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    return ERR_OK;
}

static enum err fetch(const char *name, struct view_def *out)
{
    struct db_conn *c;
    PGresult *res = NULL;
    const char *params[] = {name};
    enum err e = db_pool_get(reads_pool(), &c, NULL);
    if (e != ERR_OK)
        return e;
    e = db_sql(c, SQL_VIEW_DEF, 1, params, &res);
    db_pool_put(reads_pool(), c);
    if (e != ERR_OK)
        return e;
    e = PQntuples(res) == 1 ? def_from_row(name, res, out) : ERR_NOT_FOUND;
    PQclear(res);
    return e;
}

static struct slot *find(const char *name)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].used && strcmp(cache[i].def.name, name) == 0)
            return &cache[i];
    return NULL;
}

static void store(const struct view_def *d)
{
    struct slot *s = find(d->name);
    for (int i = 0; !s && i < CACHE_SLOTS; i++)
        if (!cache[i].used)
            s = &cache[i];
    if (!s)
        s = &cache[next_evict++ % CACHE_SLOTS];
    *s = (struct slot){true, clock_now_ms(), *d};
}

enum err views_catalog_get(const char *name, struct view_def *out)
{
    if (!views_catalog_name_valid(name))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&lock);
    struct slot *s = find(name);
    bool fresh = s && clock_now_ms() - s->fetched_ms < VIEW_CACHE_MS;
    if (fresh)
        *out = s->def;
    pthread_mutex_unlock(&lock);
    if (fresh)
        return ERR_OK;
    enum err e = fetch(name, out);
    pthread_mutex_lock(&lock);
    if (e == ERR_OK)
        store(out);
    else if (e == ERR_NOT_FOUND && (s = find(name)) != NULL)
        s->used = false;
    pthread_mutex_unlock(&lock);
    return e;
}

void views_catalog_forget(const char *name)
{
    pthread_mutex_lock(&lock);
    struct slot *s = find(name);
    if (s)
        s->used = false;
    pthread_mutex_unlock(&lock);
}

const struct view_column *views_catalog_filter(const struct view_def *def, const char *name)
{
    for (int i = 0; i < def->key_count; i++)
        if (strcmp(def->key[i].name, name) == 0)
            return &def->key[i];
    for (int i = 0; i < def->filter_count; i++)
        if (strcmp(def->filter[i].name, name) == 0)
            return &def->filter[i];
    return NULL;
}
