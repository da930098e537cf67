/* Builds and runs GET /v1/views' statements. Identifiers come quoted from the catalog
 * (views_catalog.c); values travel as parameters, their types inferred from the columns they
 * are compared with, so a value the column refuses is the database's 400 (SQLSTATE class 22). */
#include "views_query.h"

#include "query_db.h"
#include "reads.h"
#include "xalloc.h"
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* Columns of every answer row: the catalog's, then the page's (NULL when no row matched). */
enum { COL_POSITION, COL_STATUS, COL_ERROR, COL_STATE, COL_ORD, COL_DOC, COL_SORT };

/* The catalog row and the rows of the view in one statement, one snapshot: the position read
 * is the one the rows reflect. The rows' order travels in a column so the join cannot lose it. */
#define SQL_HEAD                                                                                   \
    "WITH v AS (SELECT position, status, coalesce(error, '') AS error, state "                     \
    "FROM orderly_views WHERE schema_name = $1) "                                                  \
    "SELECT v.position, v.status, v.error, v.state, r.* FROM v LEFT JOIN LATERAL ("

struct sql {
    char *text;
    size_t len, cap;
    const char *params[2 + VIEW_FILTERS + VIEW_SORT_MAX];
    int nparams;
};

static void __attribute__((format(printf, 2, 3))) add(struct sql *s, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(s->text + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        s->cap = 2 * s->cap + (size_t)n;
        s->text = xrealloc(s->text, s->cap);
    }
}

/* The parameter number of value, added. */
static int param(struct sql *s, const char *value)
{
    s->params[s->nparams++] = value;
    return s->nparams;
}

static void sql_init(struct sql *s, const struct view_def *def, const char *limit)
{
    *s = (struct sql){.cap = 1024};
    s->text = xmalloc(s->cap);
    s->text[0] = '\0';
    param(s, def->schema);
    param(s, limit);
}

/* The sort columns as one list: the order columns, then the key columns not among them. */
static int sort_cols(const struct view_def *def, const struct view_column *out[VIEW_SORT_MAX])
{
    int n = 0;
    for (int i = 0; i < def->order_count; i++)
        out[n++] = &def->order[i];
    for (int i = 0; i < def->key_count; i++) {
        bool seen = false;
        for (int j = 0; j < def->order_count; j++)
            seen = seen || strcmp(def->order[j].name, def->key[i].name) == 0;
        if (!seen)
            out[n++] = &def->key[i];
    }
    return n;
}

static void add_order_by(struct sql *s, const struct view_column **cols, int n)
{
    for (int i = 0; i < n; i++)
        add(s, "%st.%s", i ? ", " : "", cols[i]->quoted);
}

/* After the cursor's row in ORDER BY's order (ascending, NULLs last). With NOT NULL columns
 * one row comparison, which an index on them serves; else column by column. */
static void add_keyset(struct sql *s, const struct view_page *p, const struct view_column **c,
                       int n)
{
    int at[VIEW_SORT_MAX];
    for (int i = 0; i < n; i++)
        at[i] = p->after[i] ? param(s, p->after[i]) : 0;
    if (p->def->sort_not_null) {
        add(s, " AND (");
        add_order_by(s, c, n);
        add(s, ") > (");
        for (int i = 0; i < n; i++)
            add(s, "%s$%d", i ? ", " : "", at[i]);
        add(s, ")");
        return;
    }
    add(s, " AND (false");
    for (int i = 0; i < n; i++) {
        if (!at[i])
            continue; /* nothing sorts after NULL in this column */
        add(s, " OR (");
        for (int j = 0; j < i; j++) {
            if (at[j])
                add(s, "t.%s = $%d AND ", c[j]->quoted, at[j]);
            else
                add(s, "t.%s IS NULL AND ", c[j]->quoted);
        }
        add(s, "(t.%s > $%d OR t.%s IS NULL))", c[i]->quoted, at[i], c[i]->quoted);
    }
    add(s, ")");
}

static void add_select(struct sql *s, const struct view_def *def, const struct view_column **c,
                       int n)
{
    add(s, "%s SELECT row_number() OVER (ORDER BY ", SQL_HEAD);
    add_order_by(s, c, n);
    add(s, ") AS orderly_ord, row_to_json(t)::text AS orderly_doc");
    for (int i = 0; i < n; i++)
        add(s, ", t.%s::text", c[i]->quoted);
    add(s, " FROM %s t WHERE true", def->relation);
}

static void add_tail(struct sql *s, const struct view_column **c, int n)
{
    add(s, " ORDER BY ");
    add_order_by(s, c, n);
    add(s, " LIMIT $2) r ON v.state = 'live' ORDER BY r.orderly_ord");
}

static PGresult *run(const struct sql *s, enum err *e)
{
    struct db_conn *c;
    PGresult *res = NULL;
    *e = db_pool_get(reads_pool(), &c, NULL);
    if (*e != ERR_OK)
        return NULL;
    *e = db_sql(c, s->text, s->nparams, s->params, &res);
    db_pool_put(reads_pool(), c);
    return res;
}

/* The catalog columns of the answer; false when the version is no longer live. */
static bool read_head(const PGresult *res, struct view_answer *a)
{
    memset(a, 0, sizeof *a);
    if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, COL_STATE), "live") != 0)
        return false;
    a->live = true;
    a->position = query_db_int(res, 0, COL_POSITION);
    a->failed = strcmp(PQgetvalue(res, 0, COL_STATUS), "failed") == 0;
    snprintf(a->error, sizeof a->error, "%s", PQgetvalue(res, 0, COL_ERROR));
    return true;
}

static char *cursor_encode(const PGresult *res, int row, int n)
{
    json_t *vals = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(vals, PQgetisnull(res, row, COL_SORT + i)
                                        ? json_null()
                                        : json_string(PQgetvalue(res, row, COL_SORT + i)));
    char *text = json_dumps(vals, JSON_COMPACT);
    json_decref(vals);
    size_t len = strlen(text), cap = sodium_base64_ENCODED_LEN(len, B64);
    char *out = xmalloc(cap + 2);
    sodium_bin2base64(out + 1, cap, (const unsigned char *)text, len, B64);
    size_t end = strlen(out + 1) + 1;
    out[0] = out[end] = '"';
    out[end + 1] = '\0';
    free(text);
    return out;
}

/* {"items":[doc,...],"next_cursor":"..."|null} from the first limit rows. */
static void page_body(const PGresult *res, const struct view_page *p, int nsort,
                      struct view_answer *a)
{
    int rows = PQgetisnull(res, 0, COL_DOC) ? 0 : PQntuples(res);
    int n = rows > p->limit ? p->limit : rows;
    char *cursor = rows > p->limit ? cursor_encode(res, n - 1, nsort) : xstrdup("null");
    size_t cap = 48 + strlen(cursor);
    for (int i = 0; i < n; i++)
        cap += (size_t)PQgetlength(res, i, COL_DOC) + 1;
    char *out = xmalloc(cap);
    size_t len = (size_t)snprintf(out, cap, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        size_t l = (size_t)PQgetlength(res, i, COL_DOC);
        if (i > 0)
            out[len++] = ',';
        memcpy(out + len, PQgetvalue(res, i, COL_DOC), l);
        len += l;
    }
    len += (size_t)snprintf(out + len, cap - len, "],\"next_cursor\":%s}", cursor);
    free(cursor);
    a->body = out;
    a->len = len;
}

enum err views_query_page(const struct view_page *p, struct view_answer *a)
{
    const struct view_column *c[VIEW_SORT_MAX];
    int n = sort_cols(p->def, c);
    char limit[16];
    snprintf(limit, sizeof limit, "%d", p->limit + 1); /* one more tells a next page exists */
    struct sql s;
    sql_init(&s, p->def, limit);
    add_select(&s, p->def, c, n);
    for (int i = 0; i < p->filter_count; i++)
        add(&s, " AND t.%s = $%d", p->filters[i].col->quoted, param(&s, p->filters[i].value));
    if (p->has_after)
        add_keyset(&s, p, c, n);
    add_tail(&s, c, n);
    enum err e = ERR_OK;
    PGresult *res = run(&s, &e);
    free(s.text);
    if (res && read_head(res, a))
        page_body(res, p, n, a);
    PQclear(res);
    return e;
}

enum err views_query_row(const struct view_def *def, const char *const *keys, struct view_answer *a)
{
    const struct view_column *c[VIEW_SORT_MAX];
    int n = sort_cols(def, c);
    struct sql s;
    sql_init(&s, def, "1");
    add_select(&s, def, c, n);
    for (int i = 0; i < def->key_count; i++)
        add(&s, " AND t.%s = $%d", def->key[i].quoted, param(&s, keys[i]));
    add_tail(&s, c, n);
    enum err e = ERR_OK;
    PGresult *res = run(&s, &e);
    free(s.text);
    if (res && read_head(res, a) && !PQgetisnull(res, 0, COL_DOC)) {
        a->len = (size_t)PQgetlength(res, 0, COL_DOC);
        a->body = xstrndup(PQgetvalue(res, 0, COL_DOC), a->len);
    }
    PQclear(res);
    return e;
}

bool views_cursor_decode(const char *cursor, struct view_page *p)
{
    const struct view_column *c[VIEW_SORT_MAX];
    int n = sort_cols(p->def, c);
    size_t len = strlen(cursor), got = 0;
    if (len == 0 || len > VIEW_CURSOR_MAX)
        return false;
    unsigned char *bin = xmalloc(len + 1);
    bool ok = sodium_base642bin(bin, len, cursor, len, NULL, &got, NULL, B64) == 0;
    json_t *vals = ok ? json_loadb((const char *)bin, got, 0, NULL) : NULL;
    free(bin);
    ok = json_is_array(vals) && (int)json_array_size(vals) == n;
    for (int i = 0; ok && i < n; i++) {
        json_t *v = json_array_get(vals, (size_t)i);
        ok = json_is_string(v) || (json_is_null(v) && !p->def->sort_not_null);
        p->after[i] = ok && json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
    }
    json_decref(vals);
    p->has_after = ok;
    if (!ok)
        views_page_free(p);
    return ok;
}

void views_page_free(struct view_page *p)
{
    for (int i = 0; i < VIEW_SORT_MAX; i++) {
        free(p->after[i]);
        p->after[i] = NULL;
    }
    p->has_after = false;
}
