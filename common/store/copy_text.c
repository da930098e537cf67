/* COPY text rows built in a render_buf (store/copy_text.h, json_text.h). */
#include "store/copy_text.h"

#include "codec/render.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The tab before every field of a row but its first. */
static void next(struct copy_text *t)
{
    if (t->fields++ > 0)
        render_put(&t->buf, "\t", 1);
}

void copy_text_init(struct copy_text *t)
{
    memset(t, 0, sizeof *t);
    render_put(&t->buf, "", 0); /* an empty text, never NULL */
}

/* The character after the backslash for the bytes COPY's text format would misread, else 0. */
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
    const char *run = s;
    for (const char *p = s; *p; p++) {
        char e = escaped(*p);
        if (!e)
            continue;
        char pair[2] = {'\\', e};
        render_put(&t->buf, run, (size_t)(p - run));
        render_put(&t->buf, pair, 2);
        run = p + 1;
    }
    render_put(&t->buf, run, strlen(run));
}

void copy_text_int(struct copy_text *t, int64_t v)
{
    char buf[24];
    next(t);
    render_put(&t->buf, buf, (size_t)snprintf(buf, sizeof buf, "%" PRId64, v));
}

void copy_text_null(struct copy_text *t)
{
    next(t);
    render_put(&t->buf, "\\N", 2);
}

void copy_text_end_row(struct copy_text *t)
{
    render_put(&t->buf, "\n", 1);
    t->rows++;
    t->fields = 0;
}

void copy_text_free(struct copy_text *t)
{
    render_free(&t->buf);
}
