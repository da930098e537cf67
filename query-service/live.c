/* The live feed: one fetcher thread follows the projector's checkpoint, renders new events as
 * SSE frames into a shared ring once, and resumes the paused subscribers that want them. */
#include "live.h"
#include "live_ring.h"

#include "clock.h"
#include "log.h"
#include "numparse.h"
#include "projector.h"
#include "reads.h"
#include "waits.h"
#include "xalloc.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_FETCH_PAGE 1000        /* events per fetcher query */
#define LIVE_CATCHUP    200         /* events per query for a subscriber behind the ring */
#define LIVE_TAKE_MAX   (32 * 1024) /* bytes one fill takes from the ring */
#define LIVE_WAIT_MS    250         /* the fetcher checks for stop at least this often */
#define LIVE_HELLO      ": live\n\n"
#define LIVE_BEAT       ": heartbeat\n\n"

/* One subscriber: a socket (held by libmicrohttpd) and this struct; out holds bytes that did
 * not fit into the connection's buffer yet. */
struct live_sub {
    struct live_sub *prev, *next;
    struct http_stream *stream;
    int64_t cursor; /* the last position sent (or skipped as not wanted) */
    uint64_t beat_seen;
    bool from_now; /* no start given: the cursor is set once the checkpoint is known */
    bool paused;
    char *out;
    size_t out_len, out_off;
};

/* A subscriber the ring serves (live_ring_serves) reads from memory; one below its floor reads
 * the database until it catches up. */
static struct {
    pthread_mutex_t mu;
    struct live_sub *subs;
    long nsubs;
    struct live_ring ring; /* only the fetcher moves its head */
    uint64_t beat;
    bool known; /* the projector has loaded its checkpoint at least once */
    bool draining;
    atomic_bool stop;
    atomic_ullong queries;
    pthread_t thread;
    bool started;
    int heartbeat_ms;
} live = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* One page of the global feed in (after, upto]: frames in *out (the caller frees each text
 * and the array), and the position the next page starts after. */
static enum err feed_page(int64_t after, int64_t upto, int limit, struct frame **out, size_t *n,
                          int64_t *next)
{
    json_t *page = NULL;
    enum err e = reads_feed(after, upto, limit, &page);
    atomic_fetch_add(&live.queries, 1);
    if (e != ERR_OK)
        return e;
    json_t *events = json_object_get(page, "events");
    *n = json_array_size(events);
    *out = xcalloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = live_frame_render(json_array_get(events, i));
    *next = *n == (size_t)limit ? (*out)[*n - 1].position : upto;
    json_decref(page);
    return ERR_OK;
}

/* Under live.mu: resumes every paused subscriber that has something to do. */
static void wake_locked(void)
{
    for (struct live_sub *s = live.subs; s; s = s->next) {
        if (!s->paused)
            continue;
        bool more = s->from_now ? live.known : s->cursor < live.ring.head;
        if (more || s->beat_seen != live.beat || live.draining) {
            s->paused = false;
            http_stream_resume(s->stream);
        }
    }
}

/* Brings the ring up to upto (a checkpoint), one query per page for all subscribers. A gap
 * wider than the ring (first start, a long outage) is not worth reading: the ring restarts
 * empty at upto and the few subscribers behind it read the database themselves. */
static bool nobody_listens(void)
{
    pthread_mutex_lock(&live.mu);
    bool none = live.nsubs == 0;
    pthread_mutex_unlock(&live.mu);
    return none;
}

/* With nobody subscribed the ring is not filled: rendering every event for it was about half
 * of query-service's CPU during a replay. A subscriber who comes later reads what is below the
 * floor from the database, as after a gap wider than the ring. */
static bool fetch_to(int64_t upto)
{
    int64_t after = live.ring.head; /* only this thread moves head */
    if (upto - after > (int64_t)live.ring.cap || nobody_listens()) {
        pthread_mutex_lock(&live.mu);
        live_ring_restart(&live.ring, upto);
        wake_locked();
        pthread_mutex_unlock(&live.mu);
        return true;
    }
    while (after < upto && !atomic_load(&live.stop)) {
        struct frame *frames;
        size_t n;
        if (feed_page(after, upto, LIVE_FETCH_PAGE, &frames, &n, &after) != ERR_OK)
            return false;
        pthread_mutex_lock(&live.mu);
        /* A forgetting empties the ring: a subscriber further back reads the database again,
         * where the key is gone. */
        live_ring_add(&live.ring, frames, n, after);
        wake_locked();
        pthread_mutex_unlock(&live.mu);
        free(frames);
    }
    return true;
}

/* Whether p's checkpoint was read from the table, so that "now" means something. */
static bool projector_loaded(const struct projector_progress *p)
{
    return p->status == PROJECTOR_LEADER || p->status == PROJECTOR_STANDBY ||
           p->status == PROJECTOR_FAILED;
}

static void *fetcher_main(void *arg)
{
    (void)arg;
    int64_t next_beat = clock_now_ms() + live.heartbeat_ms;
    while (!atomic_load(&live.stop)) {
        int64_t wait = next_beat - clock_now_ms(), position;
        wait = wait < 1 ? 1 : wait > LIVE_WAIT_MS ? LIVE_WAIT_MS : wait;
        bool reached = waits_wait(live.ring.head + 1, (int)wait, &position);
        struct projector_progress p;
        waits_progress(&p);
        if (!reached && p.status == PROJECTOR_FAILED) /* waits_wait returns at once then */
            nanosleep(&(struct timespec){0, wait * 1000000L}, NULL);
        if (position > live.ring.head && !fetch_to(position)) {
            log_msg(LOG_WARN, "live: cannot read new events; retrying");
            nanosleep(&(struct timespec){0, LIVE_WAIT_MS * 1000000L}, NULL);
        }
        /* Until the projector has loaded its checkpoint, "now" is unknown: a subscriber
         * starting at 0 then would replay the whole log. */
        bool loaded = projector_loaded(&p);
        if (!live.known && loaded) {
            pthread_mutex_lock(&live.mu);
            live.known = true;
            wake_locked();
            pthread_mutex_unlock(&live.mu);
        }
        if (clock_now_ms() >= next_beat) {
            next_beat = clock_now_ms() + live.heartbeat_ms;
            pthread_mutex_lock(&live.mu);
            live.beat++;
            wake_locked();
            pthread_mutex_unlock(&live.mu);
        }
    }
    return NULL;
}

static void out_set(struct live_sub *s, char *text, size_t len)
{
    free(s->out);
    s->out = text;
    s->out_len = len;
    s->out_off = 0;
}

static long out_copy(struct live_sub *s, char *buf, size_t max)
{
    size_t n = s->out_len - s->out_off;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    if (s->out_off == s->out_len)
        out_set(s, NULL, 0);
    return (long)n;
}

/* Concatenates frames into s->out up to about cap bytes (at least one frame) and moves the
 * cursor past them; owned: frees every text. */
static void out_frames(struct live_sub *s, struct frame *f, size_t n, bool owned, size_t cap)
{
    size_t len = 0, i = 0;
    for (; i < n && (i == 0 || len + f[i].len <= cap); i++)
        len += f[i].len;
    char *text = xmalloc(len + 1);
    size_t off = 0;
    for (size_t j = 0; j < i; j++) {
        memcpy(text + off, f[j].text, f[j].len);
        off += f[j].len;
    }
    for (size_t j = 0; owned && j < n; j++)
        free(f[j].text);
    if (i > 0)
        s->cursor = f[i - 1].position;
    out_set(s, text, len);
}

/* Under live.mu, on a cursor the ring serves: the ring's frames after the cursor, if any. */
static void take_ring_locked(struct live_sub *s)
{
    struct frame batch[64];
    size_t n = live_ring_after(&live.ring, &s->cursor, batch, 64);
    if (n > 0)
        out_frames(s, batch, n, false, LIVE_TAKE_MAX);
}

/* Behind the ring: one page from the database, on a pooled connection borrowed for it. */
static bool catch_up(struct live_sub *s, int64_t upto)
{
    struct frame *frames;
    size_t n;
    int64_t next;
    if (feed_page(s->cursor, upto, LIVE_CATCHUP, &frames, &n, &next) != ERR_OK)
        return false;
    if (n > 0)
        out_frames(s, frames, n, true, SIZE_MAX);
    free(frames);
    if (s->cursor < next) /* a short page: nothing else up to upto */
        s->cursor = next;
    return true;
}

/* libmicrohttpd asks for bytes: pending ones, the ring's, a catch-up page, a heartbeat, or
 * nothing, and then the connection is paused until wake_locked resumes it. */
static long sub_fill(void *cls, char *buf, size_t max)
{
    struct live_sub *s = cls;
    for (int round = 0; s->out_len == 0; round++) {
        pthread_mutex_lock(&live.mu);
        if (live.draining) {
            pthread_mutex_unlock(&live.mu);
            return HTTP_STREAM_END;
        }
        if (s->from_now && live.known) {
            struct projector_progress p;
            waits_progress(&p);
            s->from_now = false;
            s->cursor = p.position > live.ring.head ? p.position : live.ring.head;
        }
        if (!live_ring_serves(&live.ring, s->cursor) && !s->from_now && round < 4) {
            int64_t upto = live.ring.head;
            pthread_mutex_unlock(&live.mu);
            if (!catch_up(s, upto))
                return HTTP_STREAM_ERROR; /* the client reconnects with Last-Event-ID */
            continue;
        }
        if (live_ring_serves(&live.ring, s->cursor) && !s->from_now)
            take_ring_locked(s);
        if (s->out_len == 0 && s->beat_seen != live.beat) {
            s->beat_seen = live.beat;
            out_set(s, xstrdup(LIVE_BEAT), strlen(LIVE_BEAT));
        }
        if (s->out_len == 0) {
            /* Paused under the lock, so wake_locked never resumes a running connection. */
            s->paused = true;
            http_stream_pause(s->stream);
            pthread_mutex_unlock(&live.mu);
            return 0;
        }
        pthread_mutex_unlock(&live.mu);
    }
    return out_copy(s, buf, max);
}

static void sub_done(void *cls)
{
    struct live_sub *s = cls;
    pthread_mutex_lock(&live.mu);
    if (s->prev)
        s->prev->next = s->next;
    else if (live.subs == s)
        live.subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    live.nsubs--;
    pthread_mutex_unlock(&live.mu);
    waits_demand(-1); /* a read database is polled fast only for waiting subscribers */
    free(s->out);
    free(s);
}

/* Last-Event-ID, else ?after_position=; *given false when neither is there. */
static bool start_position(struct request *r, int64_t *out, bool *given)
{
    const char *name = "Last-Event-ID", *v = http_header(r, name);
    if (!v || !*v) {
        name = "after_position";
        v = http_query(r, name);
    }
    *given = v != NULL;
    if (!v || numparse_int64(v, 0, INT64_MAX, out))
        return true;
    struct err_detail why = {0};
    err_set(&why, ERR_BAD_PARAM, "%s must be an integer between 0 and %" PRId64, name, INT64_MAX);
    problem_send(r, ERR_BAD_PARAM, &why);
    return false;
}

static long head_fill(void *cls, char *buf, size_t max)
{
    (void)cls;
    (void)buf;
    (void)max;
    return HTTP_STREAM_END;
}

void live_handle(struct request *r)
{
    int64_t after = 0;
    bool given;
    struct projector_progress p;
    waits_progress(&p);
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, p.position);
    http_add_header(r, "X-Projection-Position", v); /* on every answer, as for every GET */
    if (!start_position(r, &after, &given))
        return;
    if (strcmp(r->method, "HEAD") == 0) { /* GET's headers, and no subscriber to hold open */
        http_add_header(r, "Cache-Control", "no-cache");
        http_add_header(r, "X-Accel-Buffering", "no");
        http_respond_stream(r, 200, "text/event-stream", head_fill, NULL, NULL);
        return;
    }
    struct live_sub *s = xcalloc(1, sizeof *s);
    pthread_mutex_lock(&live.mu);
    bool refused = live.draining || !live.started;
    if (!refused) {
        /* "now" is the checkpoint this answer's X-Projection-Position shows */
        s->cursor = given ? after : p.position > live.ring.head ? p.position : live.ring.head;
        s->from_now = !given && !projector_loaded(&p);
        s->beat_seen = live.beat;
        s->next = live.subs;
        if (live.subs)
            live.subs->prev = s;
        live.subs = s;
        live.nsubs++;
    }
    pthread_mutex_unlock(&live.mu);
    if (refused) {
        free(s);
        http_add_header(r, "Retry-After", "1");
        problem_send(r, ERR_NOT_READY, NULL);
        return;
    }
    waits_demand(1);
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "X-Accel-Buffering", "no"); /* proxies must not hold frames back */
    out_set(s, xstrdup(LIVE_HELLO), strlen(LIVE_HELLO));
    /* No fill runs before this handler returns, and only a paused stream is resumed, so the
     * handle can be set after the subscriber became visible. */
    s->stream = http_respond_stream(r, 200, "text/event-stream", sub_fill, sub_done, s);
}

bool live_start(int heartbeat_ms, int ring_events)
{
    live.heartbeat_ms = heartbeat_ms > 0 ? heartbeat_ms : 15000;
    live_ring_init(&live.ring, ring_events);
    if (pthread_create(&live.thread, NULL, fetcher_main, NULL) != 0)
        return false;
    pthread_mutex_lock(&live.mu);
    live.started = true;
    pthread_mutex_unlock(&live.mu);
    return true;
}

void live_drain(void)
{
    pthread_mutex_lock(&live.mu);
    live.draining = true;
    wake_locked();
    pthread_mutex_unlock(&live.mu);
}

void live_stop(void)
{
    pthread_mutex_lock(&live.mu);
    bool started = live.started;
    live.started = false;
    pthread_mutex_unlock(&live.mu);
    if (!started)
        return;
    atomic_store(&live.stop, true);
    pthread_join(live.thread, NULL);
    pthread_mutex_lock(&live.mu);
    live_ring_restart(&live.ring, 0);
    pthread_mutex_unlock(&live.mu);
}

void live_metrics(void *buf)
{
    pthread_mutex_lock(&live.mu);
    long subs = live.nsubs;
    pthread_mutex_unlock(&live.mu);
    metrics_printf(buf,
                   "# HELP orderly_live_subscribers open GET /v1/events/live streams\n"
                   "# TYPE orderly_live_subscribers gauge\norderly_live_subscribers %ld\n",
                   subs);
    metrics_printf(buf,
                   "# HELP orderly_live_queries_total feed queries run for live streams\n"
                   "# TYPE orderly_live_queries_total counter\norderly_live_queries_total %llu\n",
                   (unsigned long long)atomic_load(&live.queries));
}
