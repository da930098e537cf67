/* Shared by command-service's unit suites: requests built in memory (no connection, as the
 * server hands them to handlers), their answers, and a database that cannot be reached. */
#ifndef TESTS_COMMAND_FIXTURE_H
#define TESTS_COMMAND_FIXTURE_H

#include "http/http.h"
#include "metrics.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nothing listens on a socket in a directory that does not exist: connecting fails at once. */
#define NOWHERE "host=/nonexistent-orderly-dir port=1 dbname=x"

/* Frees what a handler attached to r and clears the answer, so r can be used again. */
static inline void fixture_reset(struct request *r)
{
    free(r->response_body);
    for (int i = 0; i < r->header_count; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->response_body = NULL;
    r->response_len = 0;
    r->header_count = 0;
    r->status = 0;
    r->content_type = NULL;
}

/* The value of response header name, NULL when r has none. */
static inline const char *fixture_header(const struct request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Asserts r answered a problem+json with status and type suffix; returns its detail text
 * (a copy the caller frees) for further checks. */
static inline char *fixture_problem(const struct request *r, int status, const char *type)
{
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    json_t *doc = json_loadb(r->response_body, r->response_len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), status);
    const char *t = json_string_value(json_object_get(doc, "type"));
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(strlen(t) >= strlen(type) && strcmp(t + strlen(t) - strlen(type), type) == 0,
                  "type %s, wanted %s", t, type);
    char *detail = strdup(json_string_value(json_object_get(doc, "detail")));
    json_decref(doc);
    return detail;
}

/* orderly_db_errors_total as /metrics shows it. */
static inline long fixture_db_errors(void)
{
    size_t len;
    char *text = metrics_render(&len);
    const char *line = strstr(text, "\norderly_db_errors_total ");
    ck_assert_ptr_nonnull(line);
    long n = strtol(line + strlen("\norderly_db_errors_total "), NULL, 10);
    free(text);
    return n;
}

#endif
