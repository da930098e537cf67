/* A field-spec table rendered straight from the struct to compact JSON text, the bytes
 * json_dumps(validate_to_json(specs, in), JSON_COMPACT) gives, without building a jansson tree:
 * the projector renders a document per touched row, and the tree was ~38% of a rebuild's CPU
 * (issue 13). tests/unit/test_render.c compares the two on random states. */
#ifndef ORDERLY_RENDER_H
#define ORDERLY_RENDER_H

#include "codec/validate.h"
#include "json_text.h"
#include <stddef.h>

/* Appends the object of specs taken from in. */
void render_object(struct render_buf *b, const struct field_spec *specs, const void *in);
/* Empties b, keeping its memory for the next document. */
void render_reset(struct render_buf *b);
void render_free(struct render_buf *b);

#endif
