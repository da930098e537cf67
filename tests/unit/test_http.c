/* Unit tests for common/http (router, problem+json, metrics), log, config and uuid. The
 * end-to-end server_run tests over loopback sockets are in test_server.c. */
#include "capture.h"
#include "config.h"
#include "http/http.h"
#include "http/internal.h"
#include "log.h"
#include "uuid.h"

#include <pthread.h>

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    {"GET", "/v1/views/{name}", noop},
    {"GET", "/v1/views/{name}/{key...}", noop},
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
    {"DELETE", "/v1/orders", true, ROUTER_NO_METHOD, -1, NULL, "GET, HEAD, POST"},
    {"POST", "/healthz", true, ROUTER_NO_METHOD, -1, NULL, "GET, HEAD"},
    {"HEAD", "/v1/orders/abc-1", true, ROUTER_MATCH, 2, "abc-1", NULL},
    {"HEAD", "/healthz", true, ROUTER_MATCH, 5, NULL, NULL},
    {"HEAD", "/v1/orders/x/pay", true, ROUTER_NO_METHOD, -1, NULL, "POST"},
    {"GET", "/v1/orders/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/order", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/x/y", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/healthz/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%zz", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%4", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%00", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/a%00b", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%FF", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/%C3%A9t%C3%A9", true, ROUTER_MATCH, 2, "\xc3\xa9t\xc3\xa9", NULL},
    {"GET", "/v1/streams/%ED%A0%80/events", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/orders/\xff", false, ROUTER_NO_PATH, -1, NULL, NULL},
    {"POST", "/v1/orders/%C0%AF/pay", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/views/v1", true, ROUTER_MATCH, 6, "v1", NULL},
    {"GET", "/v1/views/v1/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/views/v1/a//b", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/views/v1/a/", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"GET", "/v1/views/v1/a/b/c/d/e/f/g/h/i", true, ROUTER_NO_PATH, -1, NULL, NULL},
    {"POST", "/v1/views/v1/a/b", true, ROUTER_NO_METHOD, -1, NULL, "GET, HEAD"},
};

/* A last "{key...}" captures each remaining segment as its own param, up to HTTP_PARAMS_MAX. */
static const struct rest_case {
    const char *path;
    int count;
    const char *params[HTTP_PARAMS_MAX];
} rest_cases[] = {
    {"/v1/views/v1/k", 2, {"v1", "k"}},
    {"/v1/views/v1/acc-1/2026-11-29", 3, {"v1", "acc-1", "2026-11-29"}},
    {"/v1/views/v1/a%2Fb/c%20d", 3, {"v1", "a/b", "c d"}},
    {"/v1/views/v/1/2/3/4/5/6/7/8", 9, {"v", "1", "2", "3", "4", "5", "6", "7", "8"}},
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

START_TEST(test_router_rest_capture)
{
    const struct rest_case *c = &rest_cases[_i];
    struct router_match m;
    ck_assert_int_eq(router_match(router_routes, N(router_routes), "GET", c->path, true, &m),
                     ROUTER_MATCH);
    ck_assert_ptr_eq(m.route, &router_routes[7]);
    ck_assert_int_eq(m.param_count, c->count);
    for (int i = 0; i < c->count; i++)
        ck_assert_str_eq(m.params[i], c->params[i]);
    router_match_free(&m);
}
END_TEST

/* ---------- text validity (UTF-8 without NUL) ---------- */

static const struct text_case {
    const char *bytes;
    size_t len;
    bool ok;
} text_cases[] = {
    {"", 0, true},
    {"alice-1", 7, true},
    {"\xc3\xa9", 2, true},         /* U+00E9 */
    {"\xe2\x82\xac", 3, true},     /* U+20AC */
    {"\xf0\x9f\x98\x80", 4, true}, /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", 4, true}, /* U+10FFFF, the last code point */
    {"\xef\xbf\xbf", 3, true},     /* U+FFFF: a noncharacter, still valid UTF-8 */
    {"a\0b", 3, false},            /* NUL inside */
    {"\0", 1, false},
    {"\xff", 1, false},
    {"\xfe", 1, false},
    {"\x80", 1, false},             /* a lone continuation byte */
    {"\xc3", 1, false},             /* truncated */
    {"\xe2\x82", 2, false},         /* truncated */
    {"\xc0\xaf", 2, false},         /* overlong '/' */
    {"\xc1\xbf", 2, false},         /* overlong */
    {"\xe0\x80\xaf", 3, false},     /* overlong */
    {"\xf0\x80\x80\xaf", 4, false}, /* overlong */
    {"\xed\xa0\x80", 3, false},     /* U+D800, a surrogate */
    {"\xed\xbf\xbf", 3, false},     /* U+DFFF */
    {"\xf4\x90\x80\x80", 4, false}, /* U+110000 */
    {"\xf5\x80\x80\x80", 4, false},
    {"\xe2\x28\xa1", 3, false}, /* bad second byte */
    {"\xe2\x82\x28", 3, false}, /* bad third byte */
    {"\xc3\xa9\xff", 3, false},
};

START_TEST(test_text_valid)
{
    const struct text_case *c = &text_cases[_i];
    ck_assert_msg(http_text_valid(c->bytes, c->len) == c->ok, "case %d: want %d", _i, c->ok);
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
    {ERR_HEADER_TOO_LARGE, NULL, 0, 431, "header-too-large"},
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
                                          "CONNECTION_LIMIT",
                                          "SNAPSHOT_EVERY"};

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
    {"SNAPSHOT_EVERY", "-1", "SNAPSHOT_EVERY: must be an integer between 0 and 1000000"},
    {"SNAPSHOT_EVERY", "1000001", "SNAPSHOT_EVERY: must be an integer between 0 and 1000000"},
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
    ck_assert_int_eq(c.snapshot_every, 20);
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
    setenv("SNAPSHOT_EVERY", "0", 1);
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
    ck_assert_int_eq(c.snapshot_every, 0);
    config_env_reset();
}
END_TEST

/* ---------- auth ---------- */

static const struct auth_case {
    const char *api, *read, *method, *path, *authorization;
    bool ok;
} auth_cases[] = {
    {NULL, NULL, "POST", "/v1/orders", NULL, true}, /* no tokens configured: open */
    {"a, b", NULL, "POST", "/v1/orders", NULL, false},
    {"a, b", NULL, "POST", "/v1/orders", "Bearer b", true},
    {"a, b", NULL, "POST", "/v1/orders", "bearer   a", true}, /* scheme in any case */
    {"a, b", NULL, "POST", "/v1/orders", "Bearer ab", false},
    {"a, b", NULL, "POST", "/v1/orders", "Basic a", false},
    {"a, b", NULL, "POST", "/v1/orders", "Bearer ", false},
    {"a, b", NULL, "GET", "/v1/orders/1", NULL, true}, /* reads open without READ_TOKENS */
    {"a", "r", "GET", "/v1/orders/1", NULL, false},
    {"a", "r", "GET", "/v1/orders/1", "Bearer r", true},
    {"a", "r", "HEAD", "/v1/orders/1", "Bearer a", true}, /* an API token reads too */
    {"a", "r", "POST", "/v1/orders", "Bearer r", false},  /* a read token never writes */
    {"a", "r", "GET", "/healthz", NULL, true},
    {"a", "r", "GET", "/readyz", NULL, true},
    {"a", "r", "GET", "/metrics", NULL, true},
    {"a", "r", "GET", "/console/console.js", NULL, true},
    {"a", "r", "GET", "/consoles", NULL, false},
    {"a", "r", "POST", "/healthz", NULL, false},
};

START_TEST(test_auth_tokens)
{
    const struct auth_case *c = &auth_cases[_i];
    struct http_tokens t;
    http_tokens_load(&t, c->api, c->read);
    ck_assert_msg(http_auth_ok(&t, c->method, c->path, c->authorization) == c->ok,
                  "case %d: %s %s with %s", _i, c->method, c->path,
                  c->authorization ? c->authorization : "(none)");
    http_tokens_free(&t);
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

/* Ids are drawn from per-thread blocks of random bytes: two threads, many blocks each, and
 * still no id twice. */
#define UUIDS_PER_THREAD 200
static void *uuid_batch(void *arg)
{
    char(*ids)[UUID_STR_LEN] = arg;
    for (int i = 0; i < UUIDS_PER_THREAD; i++)
        uuid_v4(ids[i]);
    return NULL;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_uuid_unique_across_threads)
{
    static char ids[2 * UUIDS_PER_THREAD][UUID_STR_LEN];
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, uuid_batch, ids[UUIDS_PER_THREAD]), 0);
    uuid_batch(ids);
    pthread_join(t, NULL);
    qsort(ids, 2 * UUIDS_PER_THREAD, UUID_STR_LEN, str_cmp);
    for (int i = 1; i < 2 * UUIDS_PER_THREAD; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
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

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *t = tcase_create("units");
    tcase_add_loop_test(t, test_router_match, 0, N(router_cases));
    tcase_add_loop_test(t, test_router_rest_capture, 0, N(rest_cases));
    tcase_add_loop_test(t, test_text_valid, 0, N(text_cases));
    tcase_add_loop_test(t, test_problem_render, 0, N(problem_cases));
    tcase_add_test(t, test_problem_send);
    tcase_add_test(t, test_metrics_text);
    tcase_add_loop_test(t, test_config_bad, 0, N(config_bad_cases));
    tcase_add_test(t, test_config_defaults);
    tcase_add_test(t, test_config_values);
    tcase_add_loop_test(t, test_auth_tokens, 0, (int)(sizeof auth_cases / sizeof auth_cases[0]));
    tcase_add_test(t, test_uuid_format);
    tcase_add_test(t, test_uuid_unique_across_threads);
    tcase_add_loop_test(t, test_log_init, 0, N(log_cases));
    tcase_add_test(t, test_log_json_lines);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    log_init("test_http", "warn", "json");
    return run_suite(http_suite());
}
