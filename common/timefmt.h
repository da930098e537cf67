/* RFC 3339 UTC timestamps with milliseconds, as the contract prints them. */
#ifndef ORDERLY_TIMEFMT_H
#define ORDERLY_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define TIMEFMT_LEN 32

/* Epoch milliseconds -> "2026-11-25T17:36:08.123Z". */
void timefmt_rfc3339(int64_t ms, char out[TIMEFMT_LEN]);
/* Accepts RFC 3339 with 'Z' or a numeric offset and optional fraction; false if malformed. */
bool timefmt_parse(const char *s, int64_t *ms_out);
/* "YYYY-MM-DD" -> epoch ms of that day's 00:00 UTC; false if malformed. */
bool timefmt_parse_date(const char *s, int64_t *ms_out);

#endif
