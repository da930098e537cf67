/* COPY text rows built in one growing buffer (store/copy_text.h). */
#include "store/copy_text.h"

#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct copy_text *t, size_t more)
{
    if (t->len + more + 1 <= t->cap)
        return;
    while (t->len + more + 1 > t->cap)
        t->cap *= 2;
    t->text = xrealloc(t->text, t->cap);
}

static void put(struct copy_text *t, const char *s, size_t n)
{
    reserve(t, n);
    memcpy(t->text + t->len, s, n);
    t->len += n;
    t->text[t->len] = '\0';
}

/* The tab before every field of a row but its first. */
static void next(struct copy_text *t)
{
    if (t->fields++ > 0)
        put(t, "\t", 1);
}

void copy_text_init(struct copy_text *t)
{
    t->cap = 4096;
    t->text = xmalloc(t->cap);
    t->text[0] = '\0';
    t->len = 0;
    t->rows = 0;
    t->fields = 0;
}

/* The one character after the backslash for the bytes COPY's text format would misread. */
static char escaped(char c)
{
    switch (c) {
    case '\\':
        return '\\';
    case '\t':
        return 't';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    default:
        return 0;
    }
}

void copy_text_text(struct copy_text *t, const char *s)
{
    next(t);
    size_t n = strlen(s);
    reserve(t, 2 * n); /* every byte escaped */
    char *o = t->text + t->len;
    for (const char *p = s; *p; p++) {
        char e = escaped(*p);
        if (e) {
            *o++ = '\\';
            *o++ = e;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    t->len = (size_t)(o - t->text);
}

void copy_text_int(struct copy_text *t, int64_t v)
{
    char buf[24];
    next(t);
    put(t, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

void copy_text_null(struct copy_text *t)
{
    next(t);
    put(t, "\\N", 2);
}

void copy_text_end_row(struct copy_text *t)
{
    put(t, "\n", 1);
    t->rows++;
    t->fields = 0;
}

void copy_text_free(struct copy_text *t)
{
    free(t->text);
    t->text = NULL;
}
