/* Unit tests of query-service's route table and handlers, run on request structs without a
 * server: the table against docs/openapi.yaml, the console's embedded files, and what a read
 * answers when the database cannot be reached (its pool connects lazily, to nowhere). */
#include "console/console.h"
#include "query_rows.h"
#include "reads.h"
#include "routes.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATHS_MAX 64

/* The GET operations of docs/openapi.yaml as "GET /path" lines. */
static int openapi_gets(char out[][128])
{
    FILE *f = fopen(ORDERLY_OPENAPI, "r");
    ck_assert_msg(f != NULL, "cannot open %s", ORDERLY_OPENAPI);
    char line[512], path[100] = "";
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "  /", 3) == 0 && sscanf(line, "  %99[^:]:", path) == 1)
            continue;
        if (strcmp(line, "    get:\n") == 0 && n < PATHS_MAX)
            snprintf(out[n++], 128, "GET %s", path);
    }
    fclose(f);
    return n;
}

static bool has(char list[][128], int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* The query service serves every documented GET and nothing undocumented, each once. */
START_TEST(test_routes_match_openapi)
{
    static char documented[PATHS_MAX][128], served[PATHS_MAX][128];
    int nd = openapi_gets(documented);
    size_t count;
    const struct route *routes = routes_table(&count);
    ck_assert_uint_le(count, PATHS_MAX);
    ck_assert_int_ge(nd, 16);
    for (size_t i = 0; i < count; i++) {
        ck_assert_str_eq(routes[i].method, "GET"); /* the read side takes no writes */
        ck_assert_msg(routes[i].handler != NULL, "%s", routes[i].pattern);
        char key[128];
        snprintf(key, sizeof key, "%s %s", routes[i].method, routes[i].pattern);
        ck_assert_msg(!has(served, (int)i, key), "%s twice in the table", key);
        ck_assert_msg(has(documented, nd, key), "%s is not in docs/openapi.yaml", key);
        snprintf(served[i], 128, "%s", key);
    }
    for (int i = 0; i < nd; i++)
        ck_assert_msg(has(served, (int)count, documented[i]), "%s is documented, not served",
                      documented[i]);
}
END_TEST

static handler_fn route(const char *pattern)
{
    size_t count;
    const struct route *routes = routes_table(&count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(routes[i].pattern, pattern) == 0)
            return routes[i].handler;
    ck_abort_msg("no route %s", pattern);
    return NULL;
}

static const char *header(const struct request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void request_free(struct request *r)
{
    for (int i = 0; i < r->header_count; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->response_body);
}

/* Runs the GET handler of pattern with one {id} capture (NULL: none). */
static void get(struct request *r, const char *pattern, const char *param)
{
    *r = (struct request){.method = "GET", .path = pattern, .params = {param}};
    route(pattern)(r);
}

static void assert_problem(const struct request *r, int status, const char *type)
{
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert_msg(strstr(r->response_body, type) != NULL, "%s", r->response_body);
}

/* The generated table holds exactly the page and its two assets, each non-empty, and the page
 * loads the other two (a file missing from the build would break the console silently). */
START_TEST(test_console_files)
{
    const char *want[] = {"index.html", "console.css", "console.js"};
    ck_assert_uint_eq(console_file_count, 3);
    const struct console_file *index = NULL;
    for (int w = 0; w < 3; w++) {
        const struct console_file *f = NULL;
        for (size_t i = 0; i < console_file_count; i++)
            if (strcmp(console_files[i].name, want[w]) == 0)
                f = &console_files[i];
        ck_assert_msg(f != NULL, "%s not embedded", want[w]);
        ck_assert_uint_gt(f->len, 100);
        ck_assert_uint_eq(strlen((const char *)f->data), f->len); /* NUL-ended, no NUL inside */
        if (w == 0)
            index = f;
    }
    ck_assert_ptr_nonnull(strstr((const char *)index->data, "console.js"));
    ck_assert_ptr_nonnull(strstr((const char *)index->data, "console.css"));
}
END_TEST

START_TEST(test_console_serves)
{
    struct request r;
    get(&r, "/console", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(header(&r, "Content-Security-Policy"), "default-src 'none'"));
    ck_assert_str_eq(header(&r, "X-Content-Type-Options"), "nosniff");
    ck_assert_str_eq(header(&r, "X-Projection-Position"), "0");
    ck_assert_ptr_nonnull(strstr(r.response_body, "<html"));
    request_free(&r);
    get(&r, "/console/{file}", "console.js");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/javascript; charset=utf-8");
    request_free(&r);
    /* the page has one address; names the console does not have are 404 problems */
    const char *missing[] = {"index.html", "nope.js", "../main.c", ""};
    for (int i = 0; i < 4; i++) {
        get(&r, "/console/{file}", missing[i]);
        assert_problem(&r, 404, "not-found");
        request_free(&r);
    }
}
END_TEST

/* An id that can never exist is 404 without asking the database. */
START_TEST(test_bad_id_not_found)
{
    const char *patterns[] = {"/v1/orders/{id}", "/v1/accounts/{id}", "/v1/customers/{id}"};
    for (int i = 0; i < 3; i++) {
        struct request r;
        get(&r, patterns[i], "no spaces allowed");
        assert_problem(&r, 404, "not-found");
        request_free(&r);
    }
}
END_TEST

/* With no database to reach every read is a 503 worth retrying, never a 500 or a hang. */
static const char *const unreachable_reads[][2] = {
    {"/v1/orders/{id}", "o-1"},
    {"/v1/accounts/{id}", "a-1"},
    {"/v1/orders", NULL},
    {"/v1/accounts", NULL},
    {"/v1/customers/{id}", "c-1"},
    {"/v1/streams/{stream_id}/events", "order-o-1"},
    {"/v1/events", NULL},
    {"/v1/projections", NULL},
    {"/readyz", NULL},
};

START_TEST(test_unreachable_database)
{
    struct request r;
    get(&r, unreachable_reads[_i][0], unreachable_reads[_i][1]);
    assert_problem(&r, 503, "db-unavailable");
    ck_assert_str_eq(header(&r, "Retry-After"), "1");
    ck_assert_str_eq(header(&r, "X-Projection-Position"), "0");
    request_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_routes");
    TCase *t = tcase_create("table");
    tcase_add_test(t, test_routes_match_openapi);
    tcase_add_test(t, test_console_files);
    tcase_add_test(t, test_console_serves);
    tcase_add_test(t, test_bad_id_not_found);
    suite_add_tcase(s, t);
    TCase *db = tcase_create("unreachable");
    tcase_add_unchecked_fixture(db, rows_reads_nowhere, reads_close_all);
    tcase_add_loop_test(db, test_unreachable_database, 0,
                        (int)(sizeof unreachable_reads / sizeof unreachable_reads[0]));
    suite_add_tcase(s, db);
    return run_suite(s);
}
