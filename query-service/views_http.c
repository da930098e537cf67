/* The /v1/views handlers: check the request against the catalog (names, declared columns),
 * wait for min_position, read through views_query.c, and answer once at the end with
 * X-Projection-Position: the projection's own position when it was read, else the read
 * model's (a 400 or 404 before any read). */
#include "views_http.h"

#include "numparse.h"
#include "prelude.h"
#include "views_catalog.h"
#include "views_query.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX     500

/* The query parameters every view GET takes; any other must be a declared filter. */
static bool is_common(const char *name, bool list)
{
    return strcmp(name, "min_position") == 0 || strcmp(name, "wait_ms") == 0 ||
           (list && (strcmp(name, "limit") == 0 || strcmp(name, "cursor") == 0));
}

struct param_check {
    struct view_page *page; /* NULL: a row, which takes no filters */
    struct err_detail *why;
};

/* http_query_each: each declared filter once, with a value; nothing undeclared. */
static bool param_one(void *cls, const char *name, const char *value)
{
    struct param_check *c = cls;
    struct view_page *p = c->page;
    if (is_common(name, p != NULL))
        return true;
    const struct view_column *col = p ? views_catalog_filter(p->def, name) : NULL;
    if (!col) {
        err_set(c->why, ERR_BAD_PARAM, "%.64s is not a parameter of this view", name);
        return false;
    }
    for (int i = 0; i < p->filter_count; i++)
        if (p->filters[i].col == col) {
            err_set(c->why, ERR_BAD_PARAM, "%s is given twice", col->name);
            return false;
        }
    if (!value) {
        err_set(c->why, ERR_BAD_PARAM, "%s needs a value", col->name);
        return false;
    }
    p->filters[p->filter_count++] = (struct view_filter){col, value};
    return true;
}

static enum err check_params(struct request *r, struct view_page *page, struct err_detail *why)
{
    struct param_check c = {page, why};
    return http_query_each(r, param_one, &c) ? ERR_OK : ERR_BAD_PARAM;
}

/* The page asked for: filters, limit, cursor (p->after is freed by views_page_free). */
static enum err page_request(struct request *r, struct view_page *p, struct err_detail *why)
{
    int64_t limit = LIST_DEFAULT;
    const char *l = http_query(r, "limit"), *cursor = http_query(r, "cursor");
    if (check_params(r, p, why) != ERR_OK)
        return ERR_BAD_PARAM;
    if (l && !numparse_int64(l, 1, LIST_MAX, &limit))
        return err_set(why, ERR_BAD_PARAM, "limit must be an integer between 1 and %d", LIST_MAX);
    p->limit = (int)limit;
    if (cursor && !views_cursor_decode(cursor, p))
        return err_set(why, ERR_BAD_PARAM, "cursor is not one this view returned");
    return ERR_OK;
}

/* The key values from the path, one segment per key column; ERR_NOT_FOUND when they do not
 * fit the view's key, which then names no row. */
static enum err path_keys(struct request *r, const struct view_def *def, const char **keys)
{
    int n = 0;
    while (n < HTTP_PARAMS_MAX - 1 && http_param(r, n + 1))
        n++;
    if (n != def->key_count)
        return ERR_NOT_FOUND;
    for (int i = 0; i < n; i++)
        keys[i] = http_param(r, i + 1);
    return ERR_OK;
}

/* One read of the live version (list or row); ERR_OK means a->live, ERR_CONFLICT that the
 * cached version is no longer the live one. */
static enum err read_once(struct request *r, bool list, struct view_def *def, struct view_answer *a,
                          struct err_detail *why)
{
    enum err e = views_catalog_get(http_param(r, 0), def);
    if (e != ERR_OK)
        return e;
    if (!list) {
        const char *keys[VIEW_KEYS_MAX];
        if ((e = check_params(r, NULL, why)) != ERR_OK || (e = path_keys(r, def, keys)) != ERR_OK)
            return e;
        e = views_query_row(def, keys, a);
    } else {
        struct view_page page = {.def = def};
        if ((e = page_request(r, &page, why)) == ERR_OK)
            e = views_query_page(&page, a);
        views_page_free(&page);
    }
    return e != ERR_OK ? e : a->live ? ERR_OK : ERR_CONFLICT;
}

/* A version retired (or dropped) since the catalog was cached is looked up again, once. */
static enum err read_view(struct request *r, bool list, struct view_def *def, struct view_answer *a,
                          struct err_detail *why)
{
    enum err e = read_once(r, list, def, a, why);
    if (e == ERR_INTERNAL || e == ERR_CONFLICT) {
        free(a->body);
        a->body = NULL;
        views_catalog_forget(http_param(r, 0));
        e = read_once(r, list, def, a, why);
    }
    return e == ERR_CONFLICT ? ERR_NOT_FOUND : e;
}

static void answer_error(struct request *r, enum err e, struct err_detail *why)
{
    if (e == ERR_BAD_PARAM && !why->detail[0]) /* the database refused a value (class 22) */
        err_set(why, ERR_BAD_PARAM, "a value is not one its column accepts");
    if (err_status(e) == 503)
        http_add_header(r, "Retry-After", "1");
    problem_send(r, e, why->detail[0] ? why : NULL);
}

static void serve(struct request *r, bool list)
{
    int64_t position, min;
    struct view_def def = {0};
    struct view_answer a = {0};
    struct err_detail why = {0};
    if (!prelude_wait(r, false, &position, &min))
        return;
    enum err e = read_view(r, list, &def, &a, &why);
    prelude_position_header(r, e == ERR_OK ? a.position : position);
    if (e == ERR_OK && a.position < min) /* the read model is there: the view failed */
        e = err_set(&why, ERR_BEHIND,
                    "projection %s is at position %" PRId64 ", %" PRId64 " requested%s%s", def.name,
                    a.position, min, a.failed ? ": " : "", a.error);
    else if (e == ERR_OK && !a.body)
        e = ERR_NOT_FOUND;
    if (e == ERR_OK)
        http_respond_raw(r, 200, "application/json", a.body, a.len);
    else
        answer_error(r, e, &why);
    free(a.body);
}

void views_http_list(struct request *r)
{
    serve(r, true);
}

void views_http_row(struct request *r)
{
    serve(r, false);
}
