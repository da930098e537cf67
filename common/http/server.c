/* libmicrohttpd glue: one struct request per HTTP request, routing, auth (auth.c) and body
 * limits in front of the handlers, the response, access log and metrics, and the SIGTERM drain. */
#include "http/internal.h"
#include "log.h"
#include "metrics.h"
#include "uuid.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Oversized bodies up to this size are read and discarded before the 413; larger ones are
 * answered at once (declared length) or cut off (chunked) and the connection closed. */
#define HTTP_DRAIN_MAX (16 * 1024 * 1024)

/* What the server keeps per request beyond what handlers see; handlers get &sr->r. */
struct server_request {
    struct request r;
    struct router_match match;
    char *raw_path; /* the target's path as sent, still %-encoded: what the router matches */
    size_t body_cap;
    size_t body_dropped; /* bytes read and discarded after the cap was crossed */
    bool started;        /* the headers arrived and the access handler took it (in_flight) */
    bool responded;
};

/* How long the drain waits with nothing in flight before it stops running handlers. */
#define SERVER_QUIET_MS 100

struct server_state {
    const struct server_options *o;
    struct http_tokens tokens;
    atomic_int in_flight;
    atomic_bool stopping; /* SIGTERM seen: answers carry Connection: close */
    atomic_bool closing;  /* drained: handlers no longer run, so nothing starts that the
                           * daemon's stop could cut off after it committed */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "application/json" with optional parameters (";charset=utf-8"), any case. */
static bool is_json_content_type(const char *ct)
{
    static const char json[] = "application/json";
    if (!ct)
        return false;
    ct += strspn(ct, " \t");
    if (strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    ct += sizeof json - 1;
    ct += strspn(ct, " \t");
    return *ct == '\0' || *ct == ';';
}

static void correlation_id_set(struct request *r)
{
    const char *h = http_header(r, "X-Correlation-ID");
    size_t len = h ? strlen(h) : 0;
    bool ok = len >= 1 && len <= CORRELATION_ID_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = h[i] >= 0x21 && h[i] <= 0x7e;
    if (ok)
        memcpy(r->correlation_id, h, len + 1);
    else
        uuid_v4(r->correlation_id);
}

/* libmicrohttpd's URI callback: runs once per request with the target as sent, before the
 * header fields arrive. What it returns becomes *req_cls, and request_completed frees it even
 * when the access handler never runs (a head too large for the connection's pool). The path
 * is kept encoded because libmicrohttpd's decoded url ends at a "%00": from it,
 * "/v1/accounts/a%00b" would read account a. */
static void *request_create(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    struct server_request *sr = xcalloc(1, sizeof *sr);
    sr->r.conn = conn;
    sr->raw_path = xstrndup(uri, strcspn(uri, "?"));
    sr->r.started_ns = now_ns();
    return sr;
}

/* The first access-handler call: the request line and header fields are complete. Only from
 * here does the request count as in flight, so a client still sending its header fields
 * does not hold up the drain. */
static void request_start(struct server_state *st, struct server_request *sr, const char *url,
                          const char *method)
{
    sr->started = true;
    sr->r.method = method;
    sr->r.path = url;
    correlation_id_set(&sr->r);
    atomic_fetch_add(&st->in_flight, 1);
}

static void request_free(struct server_request *sr)
{
    if (sr->r.stream_fill && sr->r.stream_done) /* a stream that was never queued */
        sr->r.stream_done(sr->r.stream_cls);
    router_match_free(&sr->match);
    free(sr->raw_path);
    free(sr->r.body);
    free(sr->r.response_body);
    for (int i = 0; i < sr->r.header_count; i++) {
        free(sr->r.headers[i].name);
        free(sr->r.headers[i].value);
    }
    free(sr);
}

/* Keeps at most HTTP_BODY_MAX bytes; past that the body is dropped and only flagged, while
 * libmicrohttpd still reads the rest (up to HTTP_DRAIN_MAX) so the client can read the 413. */
static void body_append(struct server_request *sr, const char *data, size_t size)
{
    struct request *r = &sr->r;
    if (r->body_too_large) {
        sr->body_dropped += size;
        return;
    }
    if (size > HTTP_BODY_MAX - r->body_len) {
        r->body_too_large = true;
        sr->body_dropped = r->body_len + size;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return;
    }
    if (r->body_len + size + 1 > sr->body_cap) {
        size_t cap = sr->body_cap ? sr->body_cap : 1024;
        while (cap < r->body_len + size + 1)
            cap *= 2;
        r->body = xrealloc(r->body, cap);
        sr->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, size);
    r->body_len += size;
    r->body[r->body_len] = '\0';
}

static void handler_run(struct request *r)
{
    r->route->handler(r);
    if (!r->parked && (r->status < 100 || r->status > 599)) {
        log_msg(LOG_ERROR, "handler for %s %s set no response", r->method, r->route->pattern);
        problem_send(r, ERR_INTERNAL, NULL);
    }
}

/* Runs everything the server answers by itself, then the handler. */
static void request_dispatch(struct server_state *st, struct server_request *sr)
{
    const struct server_options *o = st->o;
    struct request *r = &sr->r;
    enum router_result rr =
        router_match(o->routes, o->route_count, r->method, sr->raw_path, true, &sr->match);
    if (rr == ROUTER_NO_PATH) {
        problem_send(r, ERR_NOT_FOUND, NULL);
        return;
    }
    if (rr == ROUTER_NO_METHOD) {
        http_add_header(r, MHD_HTTP_HEADER_ALLOW, sr->match.allow);
        problem_send(r, ERR_METHOD, NULL);
        return;
    }
    r->route = sr->match.route;
    for (int i = 0; i < sr->match.param_count; i++)
        r->params[i] = sr->match.params[i];
    if (!http_auth_ok(&st->tokens, r->method, r->path,
                      http_header(r, MHD_HTTP_HEADER_AUTHORIZATION))) {
        http_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        problem_send(r, ERR_UNAUTHORIZED, NULL);
        return;
    }
    struct err_detail why = {0};
    if (!input_query_valid(r, &why)) {
        problem_send(r, ERR_BAD_PARAM, &why);
        return;
    }
    if (r->body_too_large) {
        problem_send(r, ERR_TOO_LARGE, NULL);
        return;
    }
    if (strcmp(r->method, "POST") == 0 &&
        !is_json_content_type(http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        problem_send(r, ERR_MEDIA_TYPE, NULL);
        return;
    }
    /* seq_cst with server_run's store and in_flight read: either this request sees closing,
     * or the drain sees it in flight and waits for its answer to be sent. */
    if (atomic_load(&st->closing)) {
        http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        problem_send(r, ERR_NOT_READY, NULL);
        return;
    }
    handler_run(r);
}

/* What a streaming response's callbacks need; owned by the MHD response, freed with it. */
struct stream_ctx {
    http_stream_fill_fn fill;
    http_stream_done_fn done;
    void *cls;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *c = cls;
    long n = c->fill(c->cls, buf, max);
    if (n == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_ctx *c = cls;
    if (c->done)
        c->done(c->cls);
    free(c);
}

/* A buffer response, or for a stream a chunked one whose done callback runs exactly once.
 * libmicrohttpd sends no body for HEAD, but 0.9.75 still writes a chunked body's last chunk
 * ("0\r\n\r\n") after the headers, which a keep-alive client would read as the next answer:
 * a stream answering HEAD is therefore not chunked (HTTP/1.0 framing), which ends the
 * response with its headers and closes the connection. */
static struct MHD_Response *response_create(struct request *r)
{
    if (!r->stream_fill)
        return MHD_create_response_from_buffer(r->response_len, r->response_body,
                                               MHD_RESPMEM_MUST_COPY);
    struct stream_ctx *c = xmalloc(sizeof *c);
    *c = (struct stream_ctx){r->stream_fill, r->stream_done, r->stream_cls};
    r->stream_fill = NULL; /* from here the response owns the stream */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, c, stream_free);
    if (!resp) {
        stream_free(c);
        return NULL;
    }
    if (strcmp(r->method, "HEAD") == 0)
        MHD_set_response_options(resp, MHD_RF_HTTP_VERSION_1_0_ONLY, MHD_RO_END);
    return resp;
}

static enum MHD_Result request_queue(struct server_state *st, struct server_request *sr)
{
    struct request *r = &sr->r;
    struct MHD_Response *resp = response_create(r);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    for (int i = 0; i < r->header_count; i++)
        if (MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value) != MHD_YES)
            log_msg(LOG_WARN, "response header %s refused", r->headers[i].name);
    MHD_add_response_header(resp, "X-Correlation-ID", r->correlation_id);
    if (atomic_load(&st->stopping)) /* draining: let clients reconnect elsewhere */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    sr->responded = ret == MHD_YES;
    return ret;
}

/* True when Content-Length announces more than HTTP_DRAIN_MAX. Smaller oversized bodies are
 * drained for a clean 413 (clients usually send the whole body before reading); chunked bodies
 * announce nothing and are cut off in access_handler once HTTP_DRAIN_MAX is crossed. */
static bool declared_body_too_large(struct server_request *sr)
{
    const char *cl = http_header(&sr->r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && (errno == ERANGE || n > HTTP_DRAIN_MAX);
}

/* What is refused from the head alone: header fields over HTTP_HEADER_BYTES_MAX (431), a
 * declared body over HTTP_DRAIN_MAX (413). ERR_OK when the request goes on. */
static enum err head_refusal(struct server_request *sr)
{
    if (input_header_bytes(&sr->r) > HTTP_HEADER_BYTES_MAX)
        return ERR_HEADER_TOO_LARGE;
    if (declared_body_too_large(sr)) {
        sr->r.body_too_large = true;
        return ERR_TOO_LARGE;
    }
    return ERR_OK;
}

/* Answers only on the last call: libmicrohttpd 0.9.75 closes keep-alive connections whose
 * response is queued on the first (headers-only) call. The exceptions are refusals of the
 * head itself (head_refusal), where closing is the point. */
static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    struct server_state *st = cls;
    struct server_request *sr = *req_cls;
    if (!sr) /* not reached: the URI callback sets it first; no request goes without one */
        *req_cls = sr = request_create(st, url, conn);
    if (!sr->started) {
        request_start(st, sr, url, method);
        enum err refusal = head_refusal(sr);
        if (refusal == ERR_OK)
            return MHD_YES;
        /* Answer before reading a byte of the body: libmicrohttpd then closes the connection
         * instead of draining a body that may be gigabytes long. */
        problem_send(&sr->r, refusal, NULL);
        return request_queue(st, sr);
    }
    if (*upload_data_size > 0) {
        body_append(sr, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* Reading gigabytes only to refuse them is a free denial of service: hang up. */
        return sr->body_dropped > HTTP_DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (sr->responded)
        return MHD_YES;
    if (sr->r.parked) { /* resumed by http_unpark: the checks are done, the handler runs again */
        sr->r.parked = false;
        handler_run(&sr->r);
    } else {
        request_dispatch(st, sr);
    }
    /* Parked: suspended with no answer yet; libmicrohttpd calls again once resumed. */
    return sr->r.parked ? MHD_YES : request_queue(st, sr);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct server_state *st = cls;
    struct server_request *sr = *req_cls;
    if (!sr)
        return;
    *req_cls = NULL;
    const char *route = sr->r.route ? sr->r.route->pattern : "unmatched";
    double seconds = (double)(now_ns() - sr->r.started_ns) / 1e9;
    if (sr->responded) {
        log_request(sr->r.correlation_id, sr->r.method, route, sr->r.status, seconds * 1e3);
        metrics_observe_request(route, sr->r.method, sr->r.status, seconds);
    }
    bool started = sr->started;
    request_free(sr);
    if (started)
        atomic_fetch_sub(&st->in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_msg(LOG_WARN, "libmicrohttpd: %s", msg);
}

const char *http_header(struct request *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *http_query(struct request *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

const char *http_param(struct request *r, int index)
{
    return (index >= 0 && index < HTTP_PARAMS_MAX) ? r->params[index] : NULL;
}

/* body becomes the response; content_type is borrowed and must outlive the request (use a
 * string literal). */
static void respond_take(struct request *r, int status, const char *content_type, char *body,
                         size_t len)
{
    free(r->response_body);
    r->status = status;
    r->content_type = content_type;
    r->response_body = body;
    r->response_len = len;
}

void http_respond_json(struct request *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    respond_take(r, status, "application/json", text, text ? strlen(text) : 0);
}

void http_respond_raw(struct request *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    char *copy = xmalloc(len + 1);
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    respond_take(r, status, content_type, copy, len);
}

struct http_stream *http_respond_stream(struct request *r, int status, const char *content_type,
                                        http_stream_fill_fn fill, http_stream_done_fn done,
                                        void *cls)
{
    respond_take(r, status, content_type, NULL, 0);
    r->stream_fill = fill;
    r->stream_done = done;
    r->stream_cls = cls;
    return (struct http_stream *)r->conn;
}

void http_stream_pause(struct http_stream *s)
{
    MHD_suspend_connection((struct MHD_Connection *)s);
}

void http_stream_resume(struct http_stream *s)
{
    MHD_resume_connection((struct MHD_Connection *)s);
}

void http_add_header(struct request *r, const char *name, const char *value)
{
    if (r->header_count >= HTTP_HEADERS_MAX) {
        log_msg(LOG_WARN, "response header %s dropped: more than %d headers", name,
                HTTP_HEADERS_MAX);
        return;
    }
    r->headers[r->header_count].name = xstrdup(name);
    r->headers[r->header_count].value = xstrdup(value);
    r->header_count++;
}

static struct MHD_Daemon *daemon_start(struct server_state *st)
{
    const struct server_options *o = st->o;
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port)};
    /* Suspend/resume lets a stream with nothing to send leave the event loop: without it an
     * idle Server-Sent Events connection would be polled (or hold a thread) all the time. */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    const struct sockaddr *addr = (const struct sockaddr *)&v4;
    if (inet_pton(AF_INET, o->bind_address, &v4.sin_addr) != 1) {
        if (inet_pton(AF_INET6, o->bind_address, &v6.sin6_addr) != 1)
            return NULL;
        addr = (const struct sockaddr *)&v6;
        flags |= MHD_USE_IPv6;
    }
    /* The logger goes first so libmicrohttpd reports option errors through it too. A pool
     * size of 0 or 1 draws a warning, so one thread means no pool option at all (the slot is
     * then the end marker). */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, (void *)addr},
        {MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s > 0 ? o->connection_timeout_s : 30,
         NULL},
        {MHD_OPTION_CONNECTION_LIMIT, o->connection_limit > 0 ? o->connection_limit : 4096, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)request_create, st},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, st},
        {MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    size_t last = sizeof opts / sizeof opts[0] - 1;
    if (o->threads <= 1)
        opts[last - 1].option = MHD_OPTION_END;
    return MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, access_handler, st,
                            MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

/* Waits until no request has been in flight for quiet_ms (0: until none is) or the deadline.
 * The quiet period lets connections accepted just before the quiesce send their request and
 * get a real answer instead of the 503 that follows. */
static bool wait_drained(struct server_state *st, int64_t deadline_ns, int quiet_ms)
{
    int64_t idle_since = 0;
    while (now_ns() < deadline_ns) {
        int64_t now = now_ns();
        if (atomic_load(&st->in_flight) > 0)
            idle_since = 0;
        else if (!idle_since)
            idle_since = now;
        if (idle_since && now - idle_since >= (int64_t)quiet_ms * 1000000)
            return true;
        struct timespec pause = {.tv_nsec = 2 * 1000000};
        nanosleep(&pause, NULL);
    }
    int left = atomic_load(&st->in_flight);
    if (left > 0)
        log_msg(LOG_WARN, "shutdown timeout: %d requests still in flight", left);
    return left == 0;
}

/* Quiesce, refuse new connections, drain, stop running handlers, drain what slipped in. */
static void server_drain(struct server_state *st, struct MHD_Daemon *d, int timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    atomic_store(&st->stopping, true);
    if (st->o->on_drain) /* streams end now, so they do not hold the drain until its deadline */
        st->o->on_drain();
    MHD_socket listen_fd = MHD_quiesce_daemon(d);
    /* libmicrohttpd's threads may still hold the fd, so it is closed only after the stop; but
     * shutdown() ends listening now: new connects are refused instead of waiting in the
     * backlog for a close that would reset them. */
    if (listen_fd != MHD_INVALID_SOCKET)
        shutdown(listen_fd, SHUT_RDWR);
    wait_drained(st, deadline, SERVER_QUIET_MS);
    atomic_store(&st->closing, true);
    wait_drained(st, deadline, 0);
    MHD_stop_daemon(d);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
}

/* The signals stay blocked on return so a second SIGTERM during the caller's cleanup cannot
 * kill the process before it exits 0. */
enum err server_run(const struct server_options *o)
{
    struct server_state st = {.o = o};
    http_tokens_load(&st.tokens, o->api_tokens, o->read_tokens);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    /* Before the daemon starts, so every worker thread inherits the mask and sigwait below
     * is the only taker. */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    struct MHD_Daemon *d = daemon_start(&st);
    if (!d) {
        log_msg(LOG_ERROR, "cannot listen on %s port %d", o->bind_address, o->port);
        http_tokens_free(&st.tokens);
        return ERR_INTERNAL;
    }
    log_msg(LOG_INFO, "%s listening on %s port %d with %d threads", o->service_name,
            o->bind_address, o->port, o->threads);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_msg(LOG_INFO, "%s received, draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_drain(&st, d, o->shutdown_timeout_ms);
    http_tokens_free(&st.tokens);
    log_msg(LOG_INFO, "stopped");
    return ERR_OK;
}
