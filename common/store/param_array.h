/* PostgreSQL array literals ('{"a","b"}', '{1,NULL}') as statement parameters: a batch passes
 * each column as one text parameter that unnest() reads back, with no JSON on either side. */
#ifndef ORDERLY_PARAM_ARRAY_H
#define ORDERLY_PARAM_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* One literal being built; grows with its elements (a batch's rows bound it). */
struct param_array {
    char *text;
    size_t len, cap;
    int n; /* elements so far */
};

void param_array_init(struct param_array *a);
/* Appends s quoted, with backslash and double quote escaped (the array input syntax). */
void param_array_text(struct param_array *a, const char *s);
void param_array_int(struct param_array *a, int64_t v);
void param_array_null(struct param_array *a);
/* The finished literal, borrowed from a (valid until param_array_free); call once. */
const char *param_array_done(struct param_array *a);
void param_array_free(struct param_array *a);

#endif
