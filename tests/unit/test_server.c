/* End-to-end tests of common/http: server_run over loopback sockets, with routing, auth,
 * problem responses, keep-alive, metrics and graceful shutdown on SIGTERM. */
#include "http/http.h"
#include "log.h"

#include "run_suite.h"
#include <arpa/inet.h>

#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------- end to end: server_run over loopback ---------- */

static void item_get(struct request *r)
{
    http_respond_json(r, 200, json_pack("{s:s}", "id", http_param(r, 0)));
}

static void item_post(struct request *r)
{
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    if (!body) {
        problem_send(r, ERR_BAD_JSON, NULL);
        return;
    }
    http_add_header(r, "Location", "/items/1");
    http_respond_json(r, 201, json_pack("{s:o, s:s?}", "got", body, "q", http_query(r, "q")));
}

/* Set once /slow's handler runs: SIGTERM must find that request in flight, and on a loaded
 * machine a fixed pause before the signal can still leave it unaccepted in the backlog. */
static atomic_bool slow_started;

static void item_slow(struct request *r)
{
    atomic_store(&slow_started, true);
    usleep(300 * 1000);
    http_respond_raw(r, 200, "text/plain", "done", 4);
}

static void item_silent(struct request *r)
{
    (void)r; /* a handler bug: no response set */
}

static const struct route e2e_routes[] = {
    {"GET", "/items/{id}", item_get},
    {"POST", "/items", item_post},
    {"GET", "/slow", item_slow},
    {"GET", "/silent", item_silent},
    {"GET", "/metrics", http_handle_metrics},
    {"GET", "/healthz", http_handle_healthz},
};

struct e2e_response {
    int status;
    char head[4096];
    char body[131072];
};

static int e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static int e2e_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int tries = 0; tries < 200; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        close(fd);
        usleep(10 * 1000);
    }
    ck_abort_msg("cannot connect to port %d", port);
    return -1;
}

static void e2e_send(int fd, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        ck_assert_int_gt(n, 0);
        off += (size_t)n;
    }
}

/* Reads exactly one response (headers, then Content-Length bytes); false if the peer closed. */
static bool e2e_read(int fd, struct e2e_response *resp)
{
    size_t got = 0;
    char *end = NULL;
    memset(resp, 0, sizeof *resp);
    while (!end) {
        ssize_t n = read(fd, resp->head + got, sizeof resp->head - 1 - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
        resp->head[got] = '\0';
        end = strstr(resp->head, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - resp->head) + 4;
    const char *cl = strcasestr(resp->head, "\r\nContent-Length:");
    size_t body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    ck_assert_uint_lt(body_len, sizeof resp->body);
    size_t have = got - head_len;
    memcpy(resp->body, resp->head + head_len, have);
    resp->head[head_len] = '\0';
    while (have < body_len) {
        ssize_t n = read(fd, resp->body + have, body_len - have);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    resp->status = (int)strtol(resp->head + 9, NULL, 10);
    return true;
}

static void e2e_exchange(int port, const char *req, struct e2e_response *resp)
{
    int fd = e2e_connect(port);
    e2e_send(fd, req, strlen(req));
    ck_assert_msg(e2e_read(fd, resp), "no response to %s", req);
    close(fd);
}

#define H "Host: t\r\n"
#define JSON_POST(auth, ct, body)                                                                  \
    "POST /items?q=z HTTP/1.1\r\n" H auth "Content-Type: " ct "\r\nContent-Length: "               \
    "%zu\r\n\r\n" body
static const struct e2e_case {
    const char *request; /* %zu, when present, is the length of the text after the head */
    int status;
    const char *header; /* expected in the response head, or NULL */
    const char *body;   /* expected in the response body, or NULL */
} e2e_cases[] = {
    {"GET /items/abc HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 200,
     "\r\nContent-Type: application/json", "{\"id\":\"abc\"}"},
    {"GET /items/a%20b HTTP/1.1\r\n" H "Authorization: bearer t2\r\n\r\n", 200, NULL,
     "{\"id\":\"a b\"}"},
    {"GET /items/abc HTTP/1.1\r\n" H "Authorization: Bearer r1\r\nX-Correlation-ID: cid-42\r\n\r\n",
     200, "\r\nX-Correlation-ID: cid-42\r\n", NULL},
    {"GET /items/abc HTTP/1.1\r\n" H "\r\n", 401, "\r\nWWW-Authenticate: Bearer", "/unauthorized"},
    {"GET /items/abc HTTP/1.1\r\n" H "Authorization: Bearer r2\r\n\r\n", 401, NULL, NULL},
    {"GET /metrics HTTP/1.1\r\n" H "\r\n", 200, "\r\nContent-Type: text/plain; version=0.0.4",
     "# TYPE orderly_http_requests_total counter"},
    {"GET /healthz HTTP/1.1\r\n" H "\r\n", 200, NULL, "{\"status\":\"ok\"}"},
    {JSON_POST("Authorization: Bearer t1\r\n", "Application/JSON; charset=utf-8", "{\"a\":1}"), 201,
     "\r\nLocation: /items/1\r\n", "{\"got\":{\"a\":1},\"q\":\"z\"}"},
    {JSON_POST("", "application/json", "{}"), 401, "\r\nWWW-Authenticate: Bearer", NULL},
    {JSON_POST("Authorization: Bearer r1\r\n", "application/json", "{}"), 401, NULL, NULL},
    {JSON_POST("Authorization: Bearer t2\r\n", "text/plain", "{}"), 415,
     "\r\nContent-Type: application/problem+json", "/unsupported-media-type"},
    {JSON_POST("Authorization: Bearer t2\r\n", "application/jsonx", "{}"), 415, NULL, NULL},
    {JSON_POST("Authorization: Bearer t2\r\n", "application/json", "{\"a\":"), 400, NULL,
     "/malformed-json"},
    {"GET /nope HTTP/1.1\r\n" H "\r\n", 404, "\r\nContent-Type: application/problem+json",
     "\"status\":404"},
    {"DELETE /items/abc HTTP/1.1\r\n" H "\r\n", 405, "\r\nAllow: GET, HEAD\r\n",
     "/method-not-allowed"},
    {"POST /healthz HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 405, "\r\nAllow: GET, HEAD\r\n",
     NULL},
    {"PUT /items HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 405, "\r\nAllow: POST\r\n", NULL},
    /* libmicrohttpd's decoded path ends at %00 ("/items/a"): routing the path as sent refuses it */
    {"GET /items/a%00b HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 404, NULL, "/not-found"},
    {"GET /items/%FF HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 404, NULL, "/not-found"},
    {"GET /items/%C3%A9 HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 200, NULL,
     "{\"id\":\"\xc3\xa9\"}"},
    {"GET /items/abc?q=%00 HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 400,
     "\r\nContent-Type: application/problem+json", "query parameter q must be UTF-8"},
    {"GET /items/abc?x=1&q=a%00 HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 400, NULL,
     "/bad-parameter"},
    {"GET /items/abc?q=%FF HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 400, NULL,
     "query parameter q must be UTF-8"},
    {"GET /items/abc?%FF=1 HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 400, NULL,
     "query parameter names must be UTF-8"},
    {"GET /items/abc?%00=1 HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 400, NULL,
     "/bad-parameter"},
    {"GET /items/abc?q=%C3%A9&flag HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 200, NULL,
     NULL},
    {"GET /silent HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n", 500, NULL, "/internal-error"},
};

static void e2e_run_case(int port, int i)
{
    const struct e2e_case *c = &e2e_cases[i];
    char req[1024];
    const char *head_end = strstr(c->request, "\r\n\r\n");
    if (strstr(c->request, "%zu")) /* only the POST cases carry a length to fill in */
        snprintf(req, sizeof req, c->request, strlen(head_end + 4));
    else
        snprintf(req, sizeof req, "%s", c->request);
    struct e2e_response resp;
    e2e_exchange(port, req, &resp);
    ck_assert_msg(resp.status == c->status, "case %d: status %d, want %d\n%s%s", i, resp.status,
                  c->status, resp.head, resp.body);
    ck_assert_msg(strcasestr(resp.head, "\r\nX-Correlation-ID: ") != NULL, "case %d: no cid", i);
    ck_assert_msg(!c->header || strcasestr(resp.head, c->header), "case %d: no %s in\n%s", i,
                  c->header, resp.head);
    ck_assert_msg(!c->body || strstr(resp.body, c->body), "case %d: no %s in %s", i, c->body,
                  resp.body);
}

/* Two requests on one connection, the first a 413 whose body the server must still consume. */
static void e2e_keep_alive(int port)
{
    size_t big = HTTP_BODY_MAX + 100;
    char *req = malloc(big + 256);
    int n = snprintf(req, 256,
                     "POST /items HTTP/1.1\r\n" H "Authorization: Bearer t1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     big);
    memset(req + n, ' ', big);
    int fd = e2e_connect(port);
    e2e_send(fd, req, (size_t)n + big);
    free(req);
    struct e2e_response resp;
    ck_assert(e2e_read(fd, &resp));
    ck_assert_int_eq(resp.status, 413);
    ck_assert_ptr_nonnull(strstr(resp.body, "/payload-too-large"));
    const char *get = "GET /items/x HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n"
                      "X-Correlation-ID: bad id with spaces\r\n\r\n";
    e2e_send(fd, get, strlen(get));
    ck_assert_msg(e2e_read(fd, &resp), "connection closed after the first response");
    ck_assert_int_eq(resp.status, 200);
    const char *cid = strcasestr(resp.head, "\r\nX-Correlation-ID: ") + 20;
    ck_assert_int_eq((int)strcspn(cid, "\r"), 36); /* a generated UUID replaced the bad one */
    close(fd);
}

/* Reads one response head (up to the blank line) and nothing more; false if the peer closed. */
static bool e2e_read_head(int fd, char *head, size_t cap)
{
    size_t got = 0;
    while (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4) != 0) {
        if (got + 1 >= cap || read(fd, head + got, 1) != 1)
            return false;
        got++;
    }
    head[got] = '\0';
    return true;
}

/* HEAD is GET without the body: same status and Content-Length, and the connection stays
 * usable (the next answer is not preceded by body bytes). */
static void e2e_head(int port)
{
    const char *head = "HEAD /items/abc HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n";
    const char *get = "GET /items/xyz HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n";
    int fd = e2e_connect(port);
    e2e_send(fd, head, strlen(head));
    char text[4096];
    ck_assert(e2e_read_head(fd, text, sizeof text));
    ck_assert_msg(strncmp(text, "HTTP/1.1 200 ", 13) == 0, "%s", text);
    ck_assert_msg(strcasestr(text, "\r\nContent-Length: 12\r\n"), "%s", text); /* {"id":"abc"} */
    ck_assert_msg(strcasestr(text, "\r\nContent-Type: application/json\r\n"), "%s", text);
    e2e_send(fd, get, strlen(get));
    struct e2e_response resp;
    ck_assert(e2e_read(fd, &resp));
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "{\"id\":\"xyz\"}");
    close(fd);
}

/* Header fields up to HTTP_HEADER_BYTES_MAX are served; past it, while the head still fits the
 * connection's pool, the answer is a problem+json 431 (past the pool, libmicrohttpd's own). */
static void e2e_header_limit(int port)
{
    static const struct {
        size_t bytes;
        int status;
    } cases[] = {
        {HTTP_HEADER_BYTES_MAX - 512, 200},
        {HTTP_HEADER_BYTES_MAX + 1, 431},
        {HTTP_CONN_MEMORY - 2048, 431},
    };
    for (int i = 0; i < N(cases); i++) {
        size_t n = cases[i].bytes;
        char *req = malloc(n + 256);
        int len = snprintf(req, 256,
                           "GET /items/abc HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n"
                           "X-Big: ");
        memset(req + len, 'a', n);
        memcpy(req + len + n, "\r\n\r\n", 5);
        struct e2e_response resp;
        e2e_exchange(port, req, &resp);
        free(req);
        ck_assert_msg(resp.status == cases[i].status, "%zu header bytes: status %d", n,
                      resp.status);
        if (cases[i].status == 431) {
            ck_assert_ptr_nonnull(
                strcasestr(resp.head, "\r\nContent-Type: application/problem+json"));
            ck_assert_ptr_nonnull(strstr(resp.body, "/header-too-large"));
        }
    }
}

/* Metrics are recorded when libmicrohttpd reports completion, just after the client has its
 * bytes, so poll briefly. */
static void e2e_metrics(int port)
{
    static const char *const want[] = {
        "orderly_http_requests_total{route=\"/items/{id}\",method=\"GET\",status=\"200\"}",
        "orderly_http_requests_total{route=\"unmatched\",method=\"DELETE\",status=\"405\"}",
        "orderly_http_requests_total{route=\"/items\",method=\"POST\",status=\"413\"} 1",
        "orderly_http_request_duration_seconds_count{route=\"/items\"}",
    };
    struct e2e_response resp;
    for (int tries = 0; tries < 500; tries++) { /* 10 s: only a failure waits that long */
        e2e_exchange(port, "GET /metrics HTTP/1.1\r\n" H "\r\n", &resp);
        bool all = true;
        for (int i = 0; i < N(want); i++)
            all = all && strstr(resp.body, want[i]);
        if (all)
            return;
        usleep(20 * 1000);
    }
    ck_abort_msg("metrics incomplete:\n%s", resp.body);
}

static enum err e2e_result = ERR__COUNT;

static void *e2e_serve(void *arg)
{
    e2e_result = server_run(arg);
    return NULL;
}

START_TEST(test_server_end_to_end)
{
    int port = e2e_free_port();
    struct server_options o = {.service_name = "test",
                               .bind_address = "127.0.0.1",
                               .port = port,
                               .threads = 4,
                               .routes = e2e_routes,
                               .route_count = N(e2e_routes),
                               .shutdown_timeout_ms = 5000,
                               .connection_timeout_s = 10,
                               .connection_limit = 64,
                               .api_tokens = " t1, t2 ",
                               .read_tokens = "r1"};
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL); /* so only the server's sigwait takes it */
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, e2e_serve, &o), 0);
    for (int i = 0; i < N(e2e_cases); i++)
        e2e_run_case(port, i);
    e2e_keep_alive(port);
    e2e_head(port);
    e2e_header_limit(port);
    e2e_metrics(port);
    /* A request in flight when SIGTERM arrives still gets its answer. */
    int fd = e2e_connect(port);
    const char *slow = "GET /slow HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n";
    e2e_send(fd, slow, strlen(slow));
    for (int waited_ms = 0; !atomic_load(&slow_started); waited_ms++) {
        ck_assert_msg(waited_ms < 20000, "/slow never started");
        usleep(1000);
    }
    kill(getpid(), SIGTERM);
    struct e2e_response resp;
    ck_assert(e2e_read(fd, &resp));
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, "done");
    ck_assert_ptr_nonnull(strcasestr(resp.head, "\r\nConnection: close\r\n"));
    close(fd);
    pthread_join(th, NULL);
    ck_assert_int_eq(e2e_result, ERR_OK);
}
END_TEST

START_TEST(test_server_port_in_use)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    struct server_options o = {.service_name = "test",
                               .bind_address = "127.0.0.1",
                               .port = ntohs(a.sin_port),
                               .threads = 1,
                               .routes = e2e_routes,
                               .route_count = N(e2e_routes)};
    ck_assert_int_eq(server_run(&o), ERR_INTERNAL);
    close(fd);
}
END_TEST

static void e2e_add_tests(TCase *t)
{
    tcase_add_test(t, test_server_port_in_use);
    tcase_add_test(t, test_server_end_to_end);
}

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *e = tcase_create("server");
    tcase_set_timeout(e, 30);
    e2e_add_tests(e);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    log_init("test_server", "warn", "json");
    return run_suite(server_suite());
}
