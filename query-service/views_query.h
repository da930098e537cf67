/* The reads of GET /v1/views: one statement per request over the read pool, which returns the
 * rows and the projection's catalog position from one snapshot. SQL text is built here from
 * the catalog's quoted identifiers (views_catalog.h) only; every request value is a
 * parameter. */
#ifndef QUERY_VIEWS_QUERY_H
#define QUERY_VIEWS_QUERY_H

#include "err.h"
#include "views_catalog.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIEW_SORT_MAX   (VIEW_ORDER_MAX + VIEW_KEYS_MAX)
#define VIEW_FILTERS    (VIEW_KEYS_MAX + VIEW_FILTER_MAX)
#define VIEW_CURSOR_MAX 4096

struct view_filter {
    const struct view_column *col; /* borrowed from the def */
    const char *value;             /* borrowed from the request */
};

/* One page: the rows matching every filter, after the cursor's row, in sort order (the order
 * columns, then the key columns). */
struct view_page {
    const struct view_def *def;
    struct view_filter filters[VIEW_FILTERS];
    int filter_count;
    bool has_after;
    char *after[VIEW_SORT_MAX]; /* the cursor's values (NULL: SQL NULL), views_cursor_decode */
    int limit;
};

/* What a read saw. body: "{...}" (a row) or "{"items":[...],"next_cursor":...}" (a page), NUL-
 * ended, free() it; NULL when live is false or, for a row, when none has that key. */
struct view_answer {
    bool live;        /* the def's version is still the live one */
    int64_t position; /* the projection's catalog position in the rows' snapshot */
    bool failed;
    char error[256];
    char *body;
    size_t len;
};

/* Either ERR_OK with *a filled, ERR_BAD_PARAM (the database refused a value), ERR_DB_DOWN or
 * ERR_INTERNAL (a version dropped under the read among others). */
enum err views_query_page(const struct view_page *p, struct view_answer *a)
    __attribute__((warn_unused_result));
/* keys: one value per key column, in order. */
enum err views_query_row(const struct view_def *def, const char *const *keys, struct view_answer *a)
    __attribute__((warn_unused_result));

/* The opaque cursor: base64url of a JSON array of the last row's sort values as text. Decoding
 * fills p->after (xmalloc'd; views_page_free) and fails for anything not that shape. */
bool views_cursor_decode(const char *cursor, struct view_page *p);
void views_page_free(struct view_page *p);

#endif
