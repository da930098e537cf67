/* Unit tests for common/http (router, problem+json, metrics), log, config and uuid, and one
 * end-to-end run of server_run over loopback sockets. */
#include "config.h"
#include "http/http.h"
#include "http/internal.h"
#include "log.h"
#include "uuid.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------- router ---------- */

static void noop(struct request *r)
{
    (void)r;
}

static const struct route router_routes[] = {
    {"GET", "/v1/orders", noop},
    {"POST", "/v1/orders", noop},
    {"GET", "/v1/orders/{id}", noop},
    {"POST", "/v1/orders/{id}/pay", noop},
    {"GET", "/v1/streams/{stream_id}/events", noop},
    {"GET", "/healthz", noop},
};

static const struct router_case {
    const char *method, *path;
    bool decode;
    enum router_result result;
    int route;         /* index into router_routes when matched */
    const char *param; /* first capture, or NULL */
    const char *allow; /* Allow list for 405 */
} router_cases[] = {
    {"GET", "/v1/orders", true, ROUTER_MATCH, 0, NULL, NULL},
    {"POST", "/v1/orders", true, ROUTER_MATCH, 1, NULL, NULL},
    {"GET", "/v1/orders/abc-1", true, ROUTER_MATCH, 2, "abc-1", NULL},
    {"GET", "/v1/orders/a%2Fb%20c", true, ROUTER_MATCH, 2, "a/b c", NULL},
    {"GET", "/v1/orders/a%2Fb", false, ROUTER_MATCH, 2, "a%2Fb", NULL},
    {"POST", "/v1/orders/x/pay", true, ROUTER_MATCH, 3, "x", NULL},
    {"GET", "/v1/streams/order-7/events", true, ROUTER_MATCH, 4, "order-7", NULL},
    {"GET", "/healthz", true, ROUTER_MATCH, 5, NULL, NULL},
    {"GET", "/v1/orders/x/pay", true, ROUTER_NO_METHOD, -1, NULL, "POST"},
    {"DELETE", "/v1/orders", true, ROUTER_NO_METHOD, -1, NULL, "GET, POST"},
    {"POST", "/healthz", true, ROUTER_NO_METHOD, -1, NULL, "GET"},
    {"GET", "/v1/orders/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/order", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/x/y", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/healthz/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%zz", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%4", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%00", true, ROUTER_NO_PATH, -1, NULL, NULL},
};

START_TEST(test_router_match)
{
    const struct router_case *c = &router_cases[_i];
    struct router_match m;
    enum router_result got =
        router_match(router_routes, N(router_routes), c->method, c->path, c->decode, &m);
    ck_assert_msg(got == c->result, "%s %s: result %d, want %d", c->method, c->path, got,
                  c->result);
    if (c->result == ROUTER_MATCH) {
        ck_assert_ptr_eq(m.route, &router_routes[c->route]);
        if (c->param)
            ck_assert_str_eq(m.params[0], c->param);
        else
            ck_assert_int_eq(m.param_count, 0);
    } else {
        ck_assert_ptr_null(m.route);
    }
    if (c->allow)
        ck_assert_str_eq(m.allow, c->allow);
    router_match_free(&m);
}
END_TEST

/* ---------- problem+json ---------- */

static const struct problem_case {
    enum err e;
    const char *detail; /* NULL: none set */
    int fields;
    int status;
    const char *slug;
} problem_cases[] = {
    {ERR_NOT_FOUND, NULL, 0, 404, "not-found"},
    {ERR_VALIDATION, "2 fields are invalid", 2, 422, "validation-error"},
    {ERR_NO_FUNDS, "balance 5 is below 10", 0, 409, "insufficient-funds"},
    {ERR_TOO_LARGE, NULL, 0, 413, "payload-too-large"},
    {ERR_DB_DOWN, "say \"why\"\n", 0, 503, "db-unavailable"},
    {ERR_BAD_JSON, "byte \xff is not UTF-8", 0, 400, "malformed-json"},
};

static void problem_check_fields(json_t *errors, int count)
{
    ck_assert_msg(json_is_array(errors), "errors must be an array");
    ck_assert_int_eq((int)json_array_size(errors), count);
    for (int i = 0; i < count; i++) {
        char want[32];
        snprintf(want, sizeof want, "items[%d].sku", i);
        json_t *e = json_array_get(errors, (size_t)i);
        ck_assert_str_eq(json_string_value(json_object_get(e, "field")), want);
        ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "must not be empty");
    }
}

START_TEST(test_problem_render)
{
    const struct problem_case *c = &problem_cases[_i];
    struct err_detail why = {0};
    if (c->detail)
        snprintf(why.detail, sizeof why.detail, "%s", c->detail);
    for (int i = 0; i < c->fields; i++) {
        snprintf(why.fields[i].field, sizeof why.fields[i].field, "items[%d].sku", i);
        snprintf(why.fields[i].message, sizeof why.fields[i].message, "must not be empty");
    }
    why.field_count = c->fields;
    size_t len = 0;
    char *text = problem_render(c->e, &why, &len);
    ck_assert_uint_eq(len, strlen(text));
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    ck_assert_msg(doc != NULL, "not JSON: %s", text);
    char type[128];
    snprintf(type, sizeof type, "%s%s", ERR_TYPE_BASE, c->slug);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "type")), type);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "title")), err_title(c->e));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), c->status);
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    ck_assert_ptr_nonnull(detail);
    if (!c->detail)
        ck_assert_str_eq(detail, err_title(c->e));
    else if (strchr(c->detail, '\xff') == NULL)
        ck_assert_str_eq(detail, c->detail);
    else
        ck_assert_str_eq(detail, "byte ? is not UTF-8");
    if (c->fields)
        problem_check_fields(json_object_get(doc, "errors"), c->fields);
    else
        ck_assert_ptr_null(json_object_get(doc, "errors"));
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(test_problem_send)
{
    struct request r = {0};
    http_respond_json(&r, 200, json_pack("{s:i}", "a", 1)); /* replaced below */
    problem_send(&r, ERR_PRECONDITION, NULL);
    ck_assert_int_eq(r.status, 412);
    ck_assert_str_eq(r.content_type, "application/problem+json");
    ck_assert_ptr_nonnull(strstr(r.response_body, "precondition-failed"));
    ck_assert_uint_eq(r.response_len, strlen(r.response_body));
    free(r.response_body);
}
END_TEST

/* ---------- metrics ---------- */

static void extra_metrics(void *buf)
{
    metrics_printf(buf, "orderly_projection_position %d\n", 42);
}

static const char *const metrics_expected[] = {
    "# TYPE orderly_http_requests_total counter\n",
    "orderly_http_requests_total{route=\"/t/{id}\",method=\"GET\",status=\"200\"} 2\n",
    "orderly_http_requests_total{route=\"/t/{id}\",method=\"GET\",status=\"404\"} 1\n",
    "orderly_http_requests_total{route=\"a\\\"b\\\\c\\nd\",method=\"POST\",status=\"201\"} 1\n",
    "# TYPE orderly_http_request_duration_seconds histogram\n",
    "orderly_http_request_duration_seconds_bucket{route=\"/t/{id}\",le=\"0.001\"} 0\n",
    "orderly_http_request_duration_seconds_bucket{route=\"/t/{id}\",le=\"0.005\"} 2\n",
    "orderly_http_request_duration_seconds_bucket{route=\"/t/{id}\",le=\"5\"} 2\n",
    "orderly_http_request_duration_seconds_bucket{route=\"/t/{id}\",le=\"+Inf\"} 3\n",
    "orderly_http_request_duration_seconds_sum{route=\"/t/{id}\"} 10.006000\n",
    "orderly_http_request_duration_seconds_count{route=\"/t/{id}\"} 3\n",
    "orderly_commands_total{type=\"PlaceOrder\",outcome=\"ok\"} 2\n",
    "orderly_commands_total{type=\"PlaceOrder\",outcome=\"order-state\"} 1\n",
    "orderly_events_appended_total 5\n",
    "orderly_db_errors_total 1\n",
    "orderly_projection_position 42\n",
};

START_TEST(test_metrics_text)
{
    metrics_observe_request("/t/{id}", "GET", 200, 0.003);
    metrics_observe_request("/t/{id}", "GET", 200, 0.003);
    metrics_observe_request("/t/{id}", "GET", 404, 10.0);
    metrics_observe_request("a\"b\\c\nd", "POST", 201, 0.0001);
    metrics_count_command("PlaceOrder", "ok");
    metrics_count_command("PlaceOrder", "ok");
    metrics_count_command("PlaceOrder", "order-state");
    metrics_add_events(2);
    metrics_add_events(3);
    metrics_count_db_error();
    metrics_set_extra(extra_metrics);
    size_t len;
    char *text = metrics_render(&len);
    metrics_set_extra(NULL);
    ck_assert_uint_eq(len, strlen(text));
    for (int i = 0; i < N(metrics_expected); i++)
        ck_assert_msg(strstr(text, metrics_expected[i]) != NULL, "missing: %s\nin:\n%s",
                      metrics_expected[i], text);
    free(text);
}
END_TEST

/* ---------- config ---------- */

#define SECRET_URL "postgresql://app:s3cretpw@db.internal:5432/orderly"
static const char *const config_vars[] = {"DATABASE_URL",
                                          "PORT",
                                          "BIND_ADDRESS",
                                          "WORKER_THREADS",
                                          "LOG_LEVEL",
                                          "LOG_FORMAT",
                                          "MIGRATIONS_DIR",
                                          "API_TOKENS",
                                          "READ_TOKENS",
                                          "SHUTDOWN_TIMEOUT_MS",
                                          "CONNECTION_TIMEOUT_S",
                                          "CONNECTION_LIMIT"};

static void config_env_reset(void)
{
    for (int i = 0; i < N(config_vars); i++)
        unsetenv(config_vars[i]);
    setenv("DATABASE_URL", SECRET_URL, 1);
}

static const struct config_bad {
    const char *var, *value, *message;
} config_bad_cases[] = {
    {"DATABASE_URL", "", "DATABASE_URL: is required"},
    {"DATABASE_URL", "host=db s3cretpw", "DATABASE_URL: is not a valid libpq connection string"},
    {"DATABASE_URL", "postgresql://u:s3cretpw@[::1/db",
     "DATABASE_URL: is not a valid libpq connection string"},
    {"PORT", "abc", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "0", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "65536", "PORT: must be an integer between 1 and 65535"},
    {"PORT", " 80", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "+80", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "-1", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "80x", "PORT: must be an integer between 1 and 65535"},
    {"PORT", "99999999999999999999999", "PORT: must be an integer between 1 and 65535"},
    {"BIND_ADDRESS", "localhost", "BIND_ADDRESS: must be an IPv4 or IPv6 address"},
    {"WORKER_THREADS", "0", "WORKER_THREADS: must be an integer between 1 and 256"},
    {"WORKER_THREADS", "257", "WORKER_THREADS: must be an integer between 1 and 256"},
    {"LOG_LEVEL", "verbose", "LOG_LEVEL: must be one of debug, info, warn, error"},
    {"LOG_FORMAT", "xml", "LOG_FORMAT: must be one of json, text"},
    {"SHUTDOWN_TIMEOUT_MS", "1.5", "SHUTDOWN_TIMEOUT_MS: must be an integer between 0 and 3600000"},
    {"CONNECTION_TIMEOUT_S", "0", "CONNECTION_TIMEOUT_S: must be an integer between 1 and 86400"},
    {"CONNECTION_LIMIT", "lots", "CONNECTION_LIMIT: must be an integer between 1 and 1000000"},
};

START_TEST(test_config_bad)
{
    const struct config_bad *c = &config_bad_cases[_i];
    config_env_reset();
    setenv(c->var, c->value, 1);
    struct config cfg;
    char err[256];
    ck_assert_msg(!config_load(&cfg, 8081, "/m", err, sizeof err), "%s=%s accepted", c->var,
                  c->value);
    ck_assert_str_eq(err, c->message);
    ck_assert_ptr_null(strstr(err, "s3cretpw"));
    config_env_reset();
}
END_TEST

START_TEST(test_config_defaults)
{
    config_env_reset();
    setenv("API_TOKENS", "", 1);
    struct config c;
    char err[256];
    ck_assert(config_load(&c, 8082, "/src/migrations", err, sizeof err));
    ck_assert_str_eq(c.database_url, SECRET_URL);
    ck_assert_int_eq(c.port, 8082);
    ck_assert_str_eq(c.bind_address, "127.0.0.1");
    ck_assert_int_eq(c.threads, 16);
    ck_assert_str_eq(c.log_level, "info");
    ck_assert_str_eq(c.log_format, "json");
    ck_assert_str_eq(c.migrations_dir, "/src/migrations");
    ck_assert_ptr_null(c.api_tokens);
    ck_assert_ptr_null(c.read_tokens);
    ck_assert_int_eq(c.shutdown_timeout_ms, 10000);
    ck_assert_int_eq(c.connection_timeout_s, 30);
    ck_assert_int_eq(c.connection_limit, 4096);
}
END_TEST

START_TEST(test_config_values)
{
    config_env_reset();
    setenv("PORT", "65535", 1);
    setenv("BIND_ADDRESS", "::", 1);
    setenv("WORKER_THREADS", "256", 1);
    setenv("LOG_LEVEL", "debug", 1);
    setenv("LOG_FORMAT", "text", 1);
    setenv("MIGRATIONS_DIR", "/opt/m", 1);
    setenv("API_TOKENS", "a,b", 1);
    setenv("READ_TOKENS", "r", 1);
    setenv("SHUTDOWN_TIMEOUT_MS", "0", 1);
    struct config c;
    char err[256];
    ck_assert_msg(config_load(&c, 8081, "/m", err, sizeof err), "%s", err);
    ck_assert_int_eq(c.port, 65535);
    ck_assert_str_eq(c.bind_address, "::");
    ck_assert_int_eq(c.threads, 256);
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_str_eq(c.log_format, "text");
    ck_assert_str_eq(c.migrations_dir, "/opt/m");
    ck_assert_str_eq(c.api_tokens, "a,b");
    ck_assert_str_eq(c.read_tokens, "r");
    ck_assert_int_eq(c.shutdown_timeout_ms, 0);
    config_env_reset();
}
END_TEST

/* ---------- uuid ---------- */

START_TEST(test_uuid_format)
{
    char prev[UUID_STR_LEN] = "";
    for (int n = 0; n < 200; n++) {
        char u[UUID_STR_LEN];
        uuid_v4(u);
        ck_assert_uint_eq(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ck_assert_int_eq(u[i], '-');
            else
                ck_assert_msg(strchr("0123456789abcdef", u[i]) && u[i], "bad char in %s", u);
        }
        ck_assert_int_eq(u[14], '4');
        ck_assert_ptr_nonnull(strchr("89ab", u[19]));
        ck_assert_str_ne(u, prev);
        memcpy(prev, u, sizeof u);
    }
}
END_TEST

/* ---------- log ---------- */

static const struct log_case {
    const char *level, *format;
    bool ok;
} log_cases[] = {
    {"debug", "json", true}, {"info", "text", true},     {"warn", "json", true},
    {"error", "json", true}, {"verbose", "json", false}, {"INFO", "json", false},
    {"info", "xml", false},  {"", "json", false},
};

START_TEST(test_log_init)
{
    const struct log_case *c = &log_cases[_i];
    ck_assert_int_eq(log_init("test", c->level, c->format), c->ok);
    ck_assert(log_init("test", "info", "json"));
}
END_TEST

/* Runs fn with stdout redirected to a temp file and returns what it wrote (caller frees). */
static char *capture_stdout(void (*fn)(void))
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    off_t size = lseek(fileno(tmp), 0, SEEK_END);
    char *out = calloc(1, (size_t)size + 1);
    ck_assert_int_eq(pread(fileno(tmp), out, (size_t)size, 0), size);
    fclose(tmp);
    return out;
}

static void log_some_lines(void)
{
    log_msg(LOG_DEBUG, "hidden at info");
    log_msg(LOG_WARN, "quote \" and newline\n%d", 7);
    log_request("cid-1", "GET", "/v1/orders/{id}", 404, 1.5);
}

START_TEST(test_log_json_lines)
{
    ck_assert(log_init("svc", "info", "json"));
    char *out = capture_stdout(log_some_lines);
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    json_t *a = json_loads(out, 0, NULL);
    json_t *b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_msg(a && b, "not two JSON lines: %s", out);
    ck_assert_str_eq(json_string_value(json_object_get(a, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(a, "msg")), "quote \" and newline\n7");
    ck_assert_str_eq(json_string_value(json_object_get(a, "service")), "svc");
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(a, "ts"))), 24);
    ck_assert_str_eq(json_string_value(json_object_get(b, "correlation_id")), "cid-1");
    ck_assert_str_eq(json_string_value(json_object_get(b, "route")), "/v1/orders/{id}");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "status")), 404);
    ck_assert(json_real_value(json_object_get(b, "duration_ms")) == 1.5);
    json_decref(a);
    json_decref(b);
    free(out);
    log_init("test_http", "warn", "json");
}
END_TEST

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

static void item_slow(struct request *r)
{
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
    {"DELETE /items/abc HTTP/1.1\r\n" H "\r\n", 405, "\r\nAllow: GET\r\n", "/method-not-allowed"},
    {"POST /healthz HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 405, "\r\nAllow: GET\r\n", NULL},
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
    for (int tries = 0; tries < 50; tries++) {
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
    e2e_metrics(port);
    /* A request in flight when SIGTERM arrives still gets its answer. */
    int fd = e2e_connect(port);
    const char *slow = "GET /slow HTTP/1.1\r\n" H "Authorization: Bearer r1\r\n\r\n";
    e2e_send(fd, slow, strlen(slow));
    usleep(100 * 1000);
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

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *t = tcase_create("units");
    tcase_add_loop_test(t, test_router_match, 0, N(router_cases));
    tcase_add_loop_test(t, test_problem_render, 0, N(problem_cases));
    tcase_add_test(t, test_problem_send);
    tcase_add_test(t, test_metrics_text);
    tcase_add_loop_test(t, test_config_bad, 0, N(config_bad_cases));
    tcase_add_test(t, test_config_defaults);
    tcase_add_test(t, test_config_values);
    tcase_add_test(t, test_uuid_format);
    tcase_add_loop_test(t, test_log_init, 0, N(log_cases));
    tcase_add_test(t, test_log_json_lines);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("server");
    tcase_set_timeout(e, 30);
    e2e_add_tests(e);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    log_init("test_http", "warn", "json");
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
