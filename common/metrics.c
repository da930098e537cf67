/* Process-wide counters and their Prometheus text exposition (version 0.0.4): HTTP requests by
 * route/method/status, latency histograms by route, commands, events, database errors. No HTTP
 * here: the server records requests and serves the text, the store counts its errors. */
#include "metrics.h"

#include "xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_OUT_MAX (8u << 20) /* a /metrics body never grows past this */
#define LABEL_MAX       128

static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define BUCKETS (sizeof bucket_le / sizeof bucket_le[0])

/* Series are few (routes x methods x statuses), so a linear scan under one mutex is cheaper
 * than it looks and keeps the code obvious. */
struct request_series {
    char route[LABEL_MAX], method[16];
    int status;
    uint64_t count;
};
struct latency_series {
    char route[LABEL_MAX];
    uint64_t buckets[BUCKETS]; /* non-cumulative; summed when rendered */
    uint64_t count;
    double sum;
};
struct command_series {
    char type[LABEL_MAX], outcome[LABEL_MAX];
    uint64_t count;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request_series *req_series;
static size_t req_count, req_cap;
static struct latency_series *lat_series;
static size_t lat_count, lat_cap;
static struct command_series *cmd_series;
static size_t cmd_count, cmd_cap;
static atomic_uint_fast64_t events_appended;
static atomic_uint_fast64_t db_errors;
static _Atomic(metrics_fn) extra_fn;

struct metrics_buf {
    char *data;
    size_t len, cap;
    bool too_big;
};

/* Returns arr grown so that index count fits; *cap tracks its capacity in elements. */
static void *series_grow(void *arr, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(arr, *cap * size);
}

static void label_copy(char *dst, const char *src)
{
    snprintf(dst, LABEL_MAX, "%s", src ? src : "");
}

void metrics_observe_request(const char *route, const char *method, int status, double seconds)
{
    pthread_mutex_lock(&metrics_lock);
    struct request_series *rs = NULL;
    for (size_t i = 0; i < req_count && !rs; i++)
        if (req_series[i].status == status && strcmp(req_series[i].route, route) == 0 &&
            strcmp(req_series[i].method, method) == 0)
            rs = &req_series[i];
    if (!rs) {
        req_series = series_grow(req_series, req_count, &req_cap, sizeof *rs);
        rs = memset(&req_series[req_count++], 0, sizeof *rs);
        label_copy(rs->route, route);
        snprintf(rs->method, sizeof rs->method, "%s", method);
        rs->status = status;
    }
    rs->count++;
    struct latency_series *ls = NULL;
    for (size_t i = 0; i < lat_count && !ls; i++)
        if (strcmp(lat_series[i].route, route) == 0)
            ls = &lat_series[i];
    if (!ls) {
        lat_series = series_grow(lat_series, lat_count, &lat_cap, sizeof *ls);
        ls = memset(&lat_series[lat_count++], 0, sizeof *ls);
        label_copy(ls->route, route);
    }
    for (size_t b = 0; b < BUCKETS; b++)
        if (seconds <= bucket_le[b]) {
            ls->buckets[b]++;
            break;
        }
    ls->count++;
    ls->sum += seconds;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_count_command(const char *command_type, const char *outcome)
{
    pthread_mutex_lock(&metrics_lock);
    struct command_series *cs = NULL;
    for (size_t i = 0; i < cmd_count && !cs; i++)
        if (strcmp(cmd_series[i].type, command_type) == 0 &&
            strcmp(cmd_series[i].outcome, outcome) == 0)
            cs = &cmd_series[i];
    if (!cs) {
        cmd_series = series_grow(cmd_series, cmd_count, &cmd_cap, sizeof *cs);
        cs = memset(&cmd_series[cmd_count++], 0, sizeof *cs);
        label_copy(cs->type, command_type);
        label_copy(cs->outcome, outcome);
    }
    cs->count++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_add_events(int n)
{
    if (n > 0)
        atomic_fetch_add(&events_appended, (uint_fast64_t)n);
}

void metrics_count_db_error(void)
{
    atomic_fetch_add(&db_errors, 1);
}

void metrics_set_extra(metrics_fn fn)
{
    atomic_store(&extra_fn, fn);
}

static void buf_vappend(struct metrics_buf *b, const char *fmt, va_list ap)
{
    if (b->too_big)
        return;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if (b->len + (size_t)n >= b->cap) {
        size_t need = b->len + (size_t)n + 1;
        if (need > METRICS_OUT_MAX) {
            b->too_big = true;
            b->data[b->len] = '\0';
            return;
        }
        while (b->cap < need)
            b->cap *= 2;
        b->data = xrealloc(b->data, b->cap);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void metrics_printf(void *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappend(buf, fmt, ap);
    va_end(ap);
}

/* Label values escape backslash, double quote and newline, as the text format requires. */
static const char *label_escape(const char *in, char *out, size_t out_len)
{
    size_t o = 0;
    for (const char *c = in; *c && o + 3 < out_len; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            out[o++] = '\\';
            out[o++] = *c == '\n' ? 'n' : *c;
        } else {
            out[o++] = *c;
        }
    }
    out[o] = '\0';
    return out;
}

static void render_requests(struct metrics_buf *b)
{
    char route[2 * LABEL_MAX], method[32];
    metrics_printf(b, "# HELP orderly_http_requests_total HTTP requests answered.\n"
                      "# TYPE orderly_http_requests_total counter\n");
    for (size_t i = 0; i < req_count; i++)
        metrics_printf(
            b, "orderly_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
            label_escape(req_series[i].route, route, sizeof route),
            label_escape(req_series[i].method, method, sizeof method), req_series[i].status,
            (unsigned long long)req_series[i].count);
}

static void render_latency(struct metrics_buf *b)
{
    char route[2 * LABEL_MAX];
    metrics_printf(b, "# HELP orderly_http_request_duration_seconds HTTP request latency.\n"
                      "# TYPE orderly_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < lat_count; i++) {
        const struct latency_series *s = &lat_series[i];
        label_escape(s->route, route, sizeof route);
        uint64_t cumulative = 0;
        for (size_t k = 0; k < BUCKETS; k++) {
            cumulative += s->buckets[k];
            metrics_printf(b,
                           "orderly_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                           "%llu\n",
                           route, bucket_le[k], (unsigned long long)cumulative);
        }
        metrics_printf(b,
                       "orderly_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                       "%llu\n"
                       "orderly_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                       "orderly_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       route, (unsigned long long)s->count, route, s->sum, route,
                       (unsigned long long)s->count);
    }
}

static void render_commands(struct metrics_buf *b)
{
    char type[2 * LABEL_MAX], outcome[2 * LABEL_MAX];
    metrics_printf(b, "# HELP orderly_commands_total Commands handled, by type and outcome.\n"
                      "# TYPE orderly_commands_total counter\n");
    for (size_t i = 0; i < cmd_count; i++)
        metrics_printf(b, "orderly_commands_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                       label_escape(cmd_series[i].type, type, sizeof type),
                       label_escape(cmd_series[i].outcome, outcome, sizeof outcome),
                       (unsigned long long)cmd_series[i].count);
}

char *metrics_render(size_t *len_out)
{
    struct metrics_buf b = {.data = xmalloc(4096), .cap = 4096};
    b.data[0] = '\0';
    pthread_mutex_lock(&metrics_lock);
    render_requests(&b);
    render_latency(&b);
    render_commands(&b);
    pthread_mutex_unlock(&metrics_lock);
    metrics_printf(&b,
                   "# HELP orderly_events_appended_total Events appended to the store.\n"
                   "# TYPE orderly_events_appended_total counter\n"
                   "orderly_events_appended_total %llu\n"
                   "# HELP orderly_db_errors_total Database errors seen.\n"
                   "# TYPE orderly_db_errors_total counter\n"
                   "orderly_db_errors_total %llu\n",
                   (unsigned long long)atomic_load(&events_appended),
                   (unsigned long long)atomic_load(&db_errors));
    metrics_fn extra = atomic_load(&extra_fn);
    if (extra)
        extra(&b); /* outside the lock: the callback may take its own locks */
    if (len_out)
        *len_out = b.len;
    return b.data;
}

void metrics_gauge(void *buf, const char *name, const char *help, long long v)
{
    metrics_printf(buf, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

void metrics_counter(void *buf, const char *name, const char *help, unsigned long long v)
{
    metrics_printf(buf, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

void metrics_sizes_observe(struct metrics_sizes *h, int n)
{
    for (int i = 0; i < METRICS_SIZE_BUCKETS; i++)
        if (n <= 1 << i)
            atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum, (unsigned long long)n);
}

void metrics_sizes_print(void *buf, struct metrics_sizes *h, const char *name, const char *help)
{
    metrics_printf(buf, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (int i = 0; i < METRICS_SIZE_BUCKETS; i++)
        metrics_printf(buf, "%s_bucket{le=\"%d\"} %llu\n", name, 1 << i,
                       atomic_load(&h->bucket[i]));
    unsigned long long count = atomic_load(&h->count);
    metrics_printf(buf, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %llu\n%s_count %llu\n", name, count,
                   name, atomic_load(&h->sum), name, count);
}
