/* Structured logs: one JSON object per line on stdout (LOG_FORMAT=json, the default) or a
 * readable line (LOG_FORMAT=text). Thread-safe; secrets must never be passed in. */
#ifndef ORDERLY_LOG_H
#define ORDERLY_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Returns false for an unknown level or format name. */
bool log_init(const char *service, const char *level, const char *format);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One access-log line per request; successful GET/HEAD lines are sampled (log_sample_gets). */
void log_request(const char *correlation_id, const char *method, const char *route, int status,
                 double duration_ms);

/* Writes 1 in every_n successful (status < 400) GET/HEAD lines of each route, the route's first
 * one included; errors and other methods are always written. 1 (the default) writes all. */
void log_sample_gets(int every_n);
/* Whether a request's line is subject to sampling at all. */
bool log_request_sampleable(const char *method, int status);
/* Whether the line with this per-route sequence number (from 0) is written. */
bool log_sample_keep(unsigned long long seq, int every_n);

#endif
