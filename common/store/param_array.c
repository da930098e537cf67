/* PostgreSQL array literals built in one growing buffer (store/param_array.h). Every text
 * element is quoted, so no value (empty, NULL-like, with braces or commas) needs a special case.
 */
#include "store/param_array.h"

#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct param_array *a, size_t more)
{
    if (a->len + more + 1 <= a->cap)
        return;
    while (a->len + more + 1 > a->cap)
        a->cap *= 2;
    a->text = xrealloc(a->text, a->cap);
}

static void put(struct param_array *a, const char *s, size_t n)
{
    reserve(a, n);
    memcpy(a->text + a->len, s, n);
    a->len += n;
    a->text[a->len] = '\0';
}

/* The separator before every element but the first. */
static void next(struct param_array *a)
{
    if (a->n++ > 0)
        put(a, ",", 1);
}

void param_array_init(struct param_array *a)
{
    a->cap = 256;
    a->text = xmalloc(a->cap);
    a->len = 0;
    a->n = 0;
    put(a, "{", 1);
}

void param_array_text(struct param_array *a, const char *s)
{
    next(a);
    size_t n = strlen(s);
    reserve(a, 2 * n + 2); /* every byte escaped, and the quotes */
    char *o = a->text + a->len;
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    a->len = (size_t)(o - a->text);
}

void param_array_int(struct param_array *a, int64_t v)
{
    char buf[24];
    next(a);
    put(a, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

void param_array_null(struct param_array *a)
{
    next(a);
    put(a, "NULL", 4);
}

const char *param_array_done(struct param_array *a)
{
    put(a, "}", 1);
    return a->text;
}

void param_array_free(struct param_array *a)
{
    free(a->text);
    a->text = NULL;
}
