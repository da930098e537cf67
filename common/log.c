/* Structured logging: one JSON object (or readable text line) per event on stdout, written
 * whole under a mutex so lines from worker threads never interleave. */
#include "log.h"
#include "json_text.h"
#include "log_line.h"
#include "timefmt.h"
#include "xalloc.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_service[64] = "orderly";
static enum log_level log_min = LOG_INFO;
static bool log_text;

static int level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

bool log_init(const char *service, const char *level, const char *format)
{
    int lv = level_parse(level ? level : "info");
    const char *fmt = format ? format : "json";
    bool text = strcmp(fmt, "text") == 0;
    if (lv < 0 || (!text && strcmp(fmt, "json") != 0))
        return false;
    pthread_mutex_lock(&log_lock);
    snprintf(log_service, sizeof log_service, "%s", service ? service : "orderly");
    log_min = (enum log_level)lv;
    log_text = text;
    pthread_mutex_unlock(&log_lock);
    return true;
}

static void now_rfc3339(char out[TIMEFMT_LEN])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    timefmt_rfc3339((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

/* stdout is buffered, so the line and its newline reach the fd in one write at the flush. */
static void log_write(const char *line)
{
    pthread_mutex_lock(&log_lock);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&log_lock);
}

/* The JSON line of a message with extra keys; consumes fields (may be NULL). */
static char *line_tree(const char *ts, const char *service, enum log_level level, const char *msg,
                       json_t *fields)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(level_names[level]));
    json_t *m = json_string(msg);
    json_object_set_new(obj, "msg", m ? m : json_string("(message is not valid UTF-8)"));
    json_object_set_new(obj, "service", json_string(service));
    if (fields)
        json_object_update(obj, fields);
    json_decref(fields);
    char *line = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(obj);
    return line;
}

/* Consumes fields (may be NULL): extra keys for the JSON line. */
static void log_emit(enum log_level level, const char *msg, const char *text_suffix, json_t *fields)
{
    char ts[TIMEFMT_LEN];
    now_rfc3339(ts);
    if (log_text) {
        char line[2048];
        snprintf(line, sizeof line, "%s %-5s %s: %s%s", ts, level_names[level], log_service, msg,
                 text_suffix ? text_suffix : "");
        log_write(line);
        json_decref(fields);
        return;
    }
    char *line = line_tree(ts, log_service, level, msg, fields);
    if (line)
        log_write(line);
    free(line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_emit(level, msg, NULL, NULL);
}

/* Per-route counters, so every route's first success shows up and one busy route does not hide
 * the others. Routes are a short fixed list; slots are appended under a lock and read without. */
#define SAMPLE_ROUTES 64
struct sample_slot {
    char route[96];
    atomic_ullong seq;
};
static struct sample_slot sample_slots[SAMPLE_ROUTES];
static atomic_int sample_used;
static atomic_ullong sample_overflow; /* shared by routes beyond the table */
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int sample_every = 1;

void log_sample_gets(int every_n)
{
    atomic_store(&sample_every, every_n > 1 ? every_n : 1);
}

bool log_request_sampleable(const char *method, int status)
{
    return status < 400 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

bool log_sample_keep(unsigned long long seq, int every_n)
{
    return every_n <= 1 || seq % (unsigned long long)every_n == 0;
}

static atomic_ullong *sample_find(const char *route, int used)
{
    for (int i = 0; i < used; i++)
        if (strcmp(sample_slots[i].route, route) == 0)
            return &sample_slots[i].seq;
    return NULL;
}

static atomic_ullong *sample_counter(const char *route)
{
    atomic_ullong *c = sample_find(route, atomic_load_explicit(&sample_used, memory_order_acquire));
    if (c)
        return c;
    pthread_mutex_lock(&sample_lock);
    int used = atomic_load_explicit(&sample_used, memory_order_relaxed);
    c = sample_find(route, used);
    if (!c && used < SAMPLE_ROUTES && strlen(route) < sizeof sample_slots[0].route) {
        snprintf(sample_slots[used].route, sizeof sample_slots[used].route, "%s", route);
        c = &sample_slots[used].seq;
        atomic_store_explicit(&sample_used, used + 1, memory_order_release);
    }
    pthread_mutex_unlock(&sample_lock);
    return c ? c : &sample_overflow;
}

/* 0 when the line is skipped, else how many requests it stands for (1 when not sampled). */
static int request_weight(const char *method, const char *route, int status)
{
    int every = atomic_load_explicit(&sample_every, memory_order_relaxed);
    if (every <= 1 || !log_request_sampleable(method, status))
        return 1;
    unsigned long long seq =
        atomic_fetch_add_explicit(sample_counter(route), 1, memory_order_relaxed);
    return log_sample_keep(seq, every) ? every : 0;
}

char *log_request_json_tree(const char *ts, const char *service, const char *correlation_id,
                            const char *method, const char *route, int status, double duration_ms,
                            int weight)
{
    json_t *f = json_object();
    json_object_set_new(f, "correlation_id", json_string(correlation_id));
    json_object_set_new(f, "method", json_string(method));
    json_object_set_new(f, "route", json_string(route));
    json_object_set_new(f, "status", json_integer(status));
    json_object_set_new(f, "duration_ms", json_real(duration_ms));
    if (weight > 1) /* this line stands for `weight` such requests */
        json_object_set_new(f, "sample_1_in", json_integer(weight));
    return line_tree(ts, service, LOG_INFO, "request", f);
}

/* jansson's jsonp_dtostr at precision 6: "%.6g", ".0" when it reads as an integer, and the
 * exponent without '+' or leading zeros. */
static void line_real(struct render_buf *l, const char *key, double v)
{
    char buf[64];
    size_t len = (size_t)snprintf(buf, sizeof buf - 3, "%.6g", v);
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    render_put(l, key, strlen(key));
    render_put(l, buf, len);
}

static void line_int(struct render_buf *l, const char *key, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    render_put(l, key, strlen(key));
    render_put(l, buf, (size_t)n);
}

/* The access line without a jansson tree (it was ~1/3 of a GET's line cost, issue 15): the
 * same bytes as log_request_json_tree whenever every text is printable ASCII and the duration
 * finite, which is what the server passes; anything else is built by the tree. */
char *log_request_json(const char *ts, const char *service, const char *correlation_id,
                       const char *method, const char *route, int status, double duration_ms,
                       int weight)
{
    if (!render_printable_ascii(ts) || !render_printable_ascii(service) ||
        !render_printable_ascii(correlation_id) || !render_printable_ascii(method) ||
        !render_printable_ascii(route) || !isfinite(duration_ms))
        return log_request_json_tree(ts, service, correlation_id, method, route, status,
                                     duration_ms, weight);
    struct render_buf l = {0};
    render_member(&l, "{\"ts\":", ts);
    render_member(&l, ",\"level\":", level_names[LOG_INFO]);
    render_member(&l, ",\"msg\":", "request");
    render_member(&l, ",\"service\":", service);
    render_member(&l, ",\"correlation_id\":", correlation_id);
    render_member(&l, ",\"method\":", method);
    render_member(&l, ",\"route\":", route);
    line_int(&l, ",\"status\":", status);
    line_real(&l, ",\"duration_ms\":", duration_ms);
    if (weight > 1)
        line_int(&l, ",\"sample_1_in\":", weight);
    render_put(&l, "}", 1);
    return l.text;
}

void log_request(const char *correlation_id, const char *method, const char *route, int status,
                 double duration_ms)
{
    if (LOG_INFO < log_min)
        return;
    int weight = request_weight(method, route, status);
    if (weight == 0)
        return;
    if (log_text) {
        char suffix[256];
        snprintf(suffix, sizeof suffix, " %d %.3fms cid=%s%s", status, duration_ms, correlation_id,
                 weight > 1 ? " sampled" : "");
        char msg[256];
        snprintf(msg, sizeof msg, "%s %s", method, route);
        log_emit(LOG_INFO, msg, suffix, NULL);
        return;
    }
    char ts[TIMEFMT_LEN];
    now_rfc3339(ts);
    char *line = log_request_json(ts, log_service, correlation_id, method, route, status,
                                  duration_ms, weight);
    if (line)
        log_write(line);
    free(line);
}
