/* What the server checks in a request's head before any handler runs: query parameters must be
 * UTF-8 text without NUL (http_text_valid, the router's check for path captures too), and
 * header fields are counted against their cap; and the walk over query parameters handlers
 * use to refuse the ones they do not know. */
#include "http/internal.h"

#include <microhttpd.h>
#include <stdio.h>

struct query_check {
    bool ok;
    char name[64]; /* the offending parameter's name when it is itself valid text */
};

static enum MHD_Result query_value_check(void *cls, enum MHD_ValueKind kind, const char *key,
                                         size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct query_check *q = cls;
    bool key_ok = key && http_text_valid(key, key_size);
    if (key_ok && (!value || http_text_valid(value, value_size)))
        return MHD_YES;
    q->ok = false;
    if (key_ok)
        snprintf(q->name, sizeof q->name, "%s", key);
    return MHD_NO;
}

bool input_query_valid(struct request *r, struct err_detail *why)
{
    struct query_check q = {.ok = true};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_value_check, &q);
    if (q.ok)
        return true;
    if (q.name[0])
        err_set(why, ERR_BAD_PARAM, "query parameter %s must be UTF-8 text without NUL bytes",
                q.name);
    else
        err_set(why, ERR_BAD_PARAM, "query parameter names must be UTF-8 text without NUL bytes");
    return false;
}

struct query_each {
    bool (*fn)(void *cls, const char *name, const char *value);
    void *cls;
    bool ok;
};

static enum MHD_Result query_each_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct query_each *q = cls;
    q->ok = q->fn(q->cls, key, value);
    return q->ok ? MHD_YES : MHD_NO;
}

bool http_query_each(struct request *r, bool (*fn)(void *cls, const char *name, const char *value),
                     void *cls)
{
    struct query_each q = {fn, cls, true};
    if (r->conn)
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_each_one, &q);
    return q.ok;
}

static enum MHD_Result header_bytes_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                        size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key;
    (void)value;
    *(size_t *)cls += key_size + value_size + 4; /* ": " and CRLF */
    return MHD_YES;
}

size_t input_header_bytes(struct request *r)
{
    size_t n = 0;
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, header_bytes_add, &n);
    return n;
}
