/* A field-spec table rendered straight from the struct to compact JSON text, the bytes
 * json_dumps(validate_to_json(specs, in), JSON_COMPACT) gives, without building a jansson tree:
 * the projector renders a document per touched row, and the tree was ~38% of a rebuild's CPU
 * (issue 13). tests/unit/test_render.c compares the two on random states. */
#ifndef ORDERLY_RENDER_H
#define ORDERLY_RENDER_H

#include "codec/validate.h"
#include <stdbool.h>
#include <stddef.h>

/* A growing text, always NUL-terminated once it has been appended to. */
struct render_buf {
    char *text;
    size_t len, cap;
};

/* Appends n bytes as they are. */
void render_put(struct render_buf *b, const char *s, size_t n);
/* Appends s quoted and escaped as jansson's dump_string does without flags (the caller knows s
 * is valid UTF-8, which jansson would otherwise refuse). */
void render_string(struct render_buf *b, const char *s, size_t n);
/* s is printable ASCII: text jansson accepts as it is and writes back with only '"' and '\\'
 * escaped, which a writer may take as the gate for its fast path. */
bool render_printable_ascii(const char *s);

/* Appends the object of specs taken from in. */
void render_object(struct render_buf *b, const struct field_spec *specs, const void *in);
/* Empties b, keeping its memory for the next document. */
void render_reset(struct render_buf *b);
void render_free(struct render_buf *b);

#endif
