/* command_decode's two readers, named for the unit tests that compare them
 * (tests/unit/test_command_scan.c): the scanner (codec/scan.h) and the jansson tree. */
#ifndef ORDERLY_COMMAND_SCAN_H
#define ORDERLY_COMMAND_SCAN_H

#include "domain/domain.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>

/* true: out->as holds what the tree path would write for this body (out zeroed first by the
 * caller). false: the scanner is unsure, and out->as is zero again. */
bool command_scan_body(enum command_type t, const char *body, size_t len, struct command *out);

/* command_decode through json_loadb and validate_object alone. */
enum err command_decode_tree(enum command_type t, const char *path_id, const char *body, size_t len,
                             struct command *out, struct err_detail *why)
    __attribute__((warn_unused_result));

#endif
