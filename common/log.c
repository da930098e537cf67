/* Structured logging: one JSON object (or readable text line) per event on stdout, written
 * whole under a mutex so lines from worker threads never interleave. */
#include "log.h"
#include "timefmt.h"

#include <jansson.h>
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
    json_t *obj = json_object();
    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(level_names[level]));
    json_t *m = json_string(msg);
    json_object_set_new(obj, "msg", m ? m : json_string("(message is not valid UTF-8)"));
    json_object_set_new(obj, "service", json_string(log_service));
    if (fields)
        json_object_update(obj, fields);
    json_decref(fields);
    char *line = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(obj);
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
    json_t *f = json_object();
    json_object_set_new(f, "correlation_id", json_string(correlation_id));
    json_object_set_new(f, "method", json_string(method));
    json_object_set_new(f, "route", json_string(route));
    json_object_set_new(f, "status", json_integer(status));
    json_object_set_new(f, "duration_ms", json_real(duration_ms));
    if (weight > 1) /* this line stands for `weight` such requests */
        json_object_set_new(f, "sample_1_in", json_integer(weight));
    log_emit(LOG_INFO, "request", NULL, f);
}
