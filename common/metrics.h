/* Process-wide counters and their Prometheus text rendering. A module of its own so that the
 * HTTP server (requests), the store (database errors) and the services (their own series) all
 * depend on it and not on each other. */
#ifndef ORDERLY_METRICS_H
#define ORDERLY_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

/* Appends service-specific Prometheus text to the rendering; set by a service before it
 * serves. The callback appends to buf with metrics_printf. */
typedef void (*metrics_fn)(void *buf);
void metrics_set_extra(metrics_fn fn);
void metrics_printf(void *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One gauge or counter series with its HELP and TYPE lines. */
void metrics_gauge(void *buf, const char *name, const char *help, long long v);
void metrics_counter(void *buf, const char *name, const char *help, unsigned long long v);

/* Counters a service bumps: commands by type and outcome, events appended, database errors. */
void metrics_count_command(const char *command_type, const char *outcome);
void metrics_add_events(int n);
void metrics_count_db_error(void);

/* A histogram of how many commands one step carried (a hot stream's batch, an append group),
 * buckets 1, 2, 4 ... 64; zero-initialised static storage is an empty one. */
#define METRICS_SIZE_BUCKETS 7
struct metrics_sizes {
    atomic_ullong bucket[METRICS_SIZE_BUCKETS], count, sum;
};
void metrics_sizes_observe(struct metrics_sizes *h, int n);
/* Prometheus text (HELP, TYPE, buckets, sum, count) of h as name. */
void metrics_sizes_print(void *buf, struct metrics_sizes *h, const char *name, const char *help);

/* Records one finished HTTP request; route is the pattern or "unmatched". */
void metrics_observe_request(const char *route, const char *method, int status, double seconds);
/* Renders the whole exposition; the caller frees it. */
char *metrics_render(size_t *len_out);

#endif
