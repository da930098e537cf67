/* libmicrohttpd glue shared by both services: a route table, one struct request per HTTP
 * request, a worker-thread pool, problem+json errors, request logs and metrics. */
#ifndef ORDERLY_HTTP_H
#define ORDERLY_HTTP_H

#include "err.h"
#include "metrics.h" /* services add their series to /metrics (metrics_set_extra) */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BODY_MAX      (64 * 1024) /* the one request body cap */
#define HTTP_PARAMS_MAX    9           /* captures per route ({name} + 8 key columns) */
#define HTTP_HEADERS_MAX   8           /* extra response headers */
#define CORRELATION_ID_MAX 128

/* Request header fields (names + values + 4 bytes each) over HTTP_HEADER_BYTES_MAX answer a
 * problem+json 431. libmicrohttpd 0.9.75 reads the whole request head into one per-connection
 * pool of HTTP_CONN_MEMORY bytes and has no hook for a head that does not fit: it sends its own
 * HTML 431 and closes (within ~300 bytes of the pool size it closes without an answer).
 * The pool is also what a connection costs, measured: 0.9.75 zeroes all of it after every
 * request, so an idle keep-alive connection holds the whole pool and a live stream about half
 * of it plus 12 KiB. Rejected: a 128 KiB pool, which answers 100 KB heads in problem+json but
 * makes every keep-alive connection cost 128 KiB (512 MiB at CONNECTION_LIMIT 4096, 4x) and a
 * live stream 77 KiB instead of 29. */
#define HTTP_HEADER_BYTES_MAX (16 * 1024)
#define HTTP_CONN_MEMORY      (32 * 1024) /* libmicrohttpd's default, set explicitly */

struct request;
typedef void (*handler_fn)(struct request *req);

/* Streaming responses (Server-Sent Events). fill writes up to max bytes into buf and returns
 * how many, HTTP_STREAM_END to finish the body, or HTTP_STREAM_ERROR to cut the connection;
 * it returns 0 only right after calling http_stream_pause, so an idle stream costs no CPU.
 * done runs once when the connection is finished with the stream (also when it never
 * started); after it the stream handle must not be used. */
#define HTTP_STREAM_END   (-1L)
#define HTTP_STREAM_ERROR (-2L)
struct http_stream; /* a paused or running streaming connection */
typedef long (*http_stream_fill_fn)(void *cls, char *buf, size_t max);
typedef void (*http_stream_done_fn)(void *cls);

/* One row of a service's route table. pattern segments "{id}" capture one path segment
 * (URL-decoded) into the request's params, in order; a last segment "{key...}" captures one
 * or more, each as its own param (up to HTTP_PARAMS_MAX in all). name labels metrics and logs. */
struct route {
    const char *method;
    const char *pattern;
    handler_fn handler;
};

struct http_header {
    char *name;
    char *value;
};

/* Owned by the server; created on the first access-handler call and freed when libmicrohttpd
 * reports the request completed. Handlers fill the response fields through http_respond_* and
 * never free anything here. */
struct request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const struct route *route; /* NULL until matched */
    const char *params[HTTP_PARAMS_MAX];
    char *body; /* NUL-terminated; NULL when empty */
    size_t body_len;
    bool body_too_large;
    char correlation_id[CORRELATION_ID_MAX + 1]; /* from X-Correlation-ID or generated */
    int64_t started_ns;
    /* response, set by the handler */
    int status;
    const char *content_type;
    char *response_body;
    size_t response_len;
    int header_count;
    struct http_header headers[HTTP_HEADERS_MAX];
    /* set by http_respond_stream: the body comes from stream_fill instead */
    http_stream_fill_fn stream_fill;
    http_stream_done_fn stream_done;
    void *stream_cls;
    /* set by http_park; park_deadline_ms is the handler's own value (0 until it sets one), kept
     * across the runs of a parked handler */
    bool parked;
    int64_t park_deadline_ms;
};

/* Request accessors; returned strings are borrowed from libmicrohttpd or the request and live
 * until the request completes. */
const char *http_header(struct request *r, const char *name);
const char *http_query(struct request *r, const char *name);
const char *http_param(struct request *r, int index);
/* Calls fn for every query parameter in request order (value NULL for "?name" without '='),
 * until fn returns false; returns false when fn did. Names and values are borrowed. */
bool http_query_each(struct request *r, bool (*fn)(void *cls, const char *name, const char *value),
                     void *cls);

/* Responses. Each replaces any earlier response body; headers accumulate. */
void http_respond_json(struct request *r, int status, json_t *body); /* steals body */
void http_respond_raw(struct request *r, int status, const char *content_type, const char *body,
                      size_t len);                                            /* copies body */
void http_add_header(struct request *r, const char *name, const char *value); /* copies */

/* Answers status with a body of unknown length (chunked) produced by fill; content_type is
 * borrowed (a literal). Returns the handle for pause/resume; cls belongs to the caller, who
 * frees it in done. */
struct http_stream *http_respond_stream(struct request *r, int status, const char *content_type,
                                        http_stream_fill_fn fill, http_stream_done_fn done,
                                        void *cls);
/* Only from inside fill, which then returns 0: the connection leaves the event loop (no
 * polling, no timeout) until http_stream_resume. */
void http_stream_pause(struct http_stream *s);
/* Any thread, only on a stream paused by http_stream_pause and not resumed since: fill runs
 * again soon on the connection's worker thread. */
void http_stream_resume(struct http_stream *s);

/* Only from a handler, which then returns without answering: the request's connection leaves
 * the event loop (no thread, no polling, no timeout) and the handler runs again from the start
 * after http_unpark. Every parked request must be unparked before the server stops (on_drain). */
void http_park(struct request *r);
/* Any thread, exactly once per http_park. */
void http_unpark(struct request *r);

/* Renders a problem+json body (RFC 9457) for e and why (may be NULL); the caller frees it. */
char *problem_render(enum err e, const struct err_detail *why, size_t *len_out);
/* Sends a problem+json response with e's status. The only place that writes error bodies. */
void problem_send(struct request *r, enum err e, const struct err_detail *why);

struct server_options {
    const char *service_name; /* "command-service" / "query-service" (logs, metrics) */
    const char *bind_address;
    int port;
    int threads; /* worker pool size */
    const struct route *routes;
    size_t route_count;
    int shutdown_timeout_ms;  /* how long requests in flight may take after SIGTERM */
    int connection_timeout_s; /* idle/slow connections are closed after this */
    int connection_limit;     /* concurrent connections accepted */
    const char *api_tokens;   /* comma-separated; when set, POSTs need a bearer token */
    const char *read_tokens;  /* comma-separated; when set, GETs (but /healthz, /readyz,
                               * /metrics) need one of these or of api_tokens */
    void (*on_drain)(void);   /* optional: at SIGTERM, before the drain; ends open streams
                               * (paused streams must be resumed before the daemon stops) */
};

/* Worker threads are libmicrohttpd's pool threads; handlers borrow database connections from
 * their service's pool (store/db.h) only while their statements run.
 *
 * Before calling a handler the server answers by itself: 404/405 for unmatched routes (a path
 * segment that is not UTF-8 or holds %00 names nothing: 404), 431 for header fields over
 * HTTP_HEADER_BYTES_MAX, 401 for a missing or wrong token, 400 for a query parameter name or
 * value that is not UTF-8 or holds a NUL, 413 for a body over HTTP_BODY_MAX, 415 for a POST
 * whose Content-Type is not application/json. So handlers only ever see valid UTF-8 text
 * without NUL in params and queries. HEAD is served wherever GET is, by the GET handler (no
 * body is sent; a streaming answer ends after its headers and the connection closes).
 * Every response carries X-Correlation-ID.
 *
 * Serves until SIGTERM or SIGINT, then stops accepting (quiesce), lets requests in flight
 * finish up to shutdown_timeout_ms, and returns ERR_OK. Fails if the port cannot be bound. */
enum err server_run(const struct server_options *o);

/* The built-in handlers every service routes (builtin.c): /healthz and /metrics, the text of
 * common/metrics.c. */
void http_handle_healthz(struct request *r);
void http_handle_metrics(struct request *r);

#endif
