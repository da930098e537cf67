/* The one parser for integers a client sends (query parameters, X-Min-Position, Last-Event-ID,
 * If-Match): strict decimal, overflow detected rather than capped. */
#ifndef ORDERLY_NUMPARSE_H
#define ORDERLY_NUMPARSE_H

#include <stdbool.h>
#include <stdint.h>

/* True when s is one or more ASCII digits (no sign, space, prefix or suffix) whose value lies
 * in [min, max] (min >= 0); *out is set only then. A value past INT64_MAX is rejected (strtoll
 * reports ERANGE), never clamped, so "9999999999999999999" cannot pass as INT64_MAX. */
bool numparse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
    __attribute__((warn_unused_result));

#endif
