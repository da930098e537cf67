/* Rows in COPY's text format (fields separated by tabs, one line per row, \N for NULL): a batch
 * with many new rows sends them with db_copy_in, which the server reads straight into the table,
 * instead of as array parameters that it parses with array_in and unnests. */
#ifndef ORDERLY_COPY_TEXT_H
#define ORDERLY_COPY_TEXT_H

#include "json_text.h"
#include <stdint.h>

/* The rows built so far: buf.text, buf.len bytes; grows with them. */
struct copy_text {
    struct render_buf buf;
    int rows;
    int fields; /* in the row being built */
};

void copy_text_init(struct copy_text *t);
/* Appends s as the row's next field, escaping backslash, tab, newline and carriage return. */
void copy_text_text(struct copy_text *t, const char *s);
void copy_text_int(struct copy_text *t, int64_t v);
void copy_text_null(struct copy_text *t);
/* Ends the row being built. */
void copy_text_end_row(struct copy_text *t);
void copy_text_free(struct copy_text *t);

#endif
